//! A call's deadline covers the time a guest spends waiting inside the host,
//! not only its own code: sleeps, `poll` on several pollables, blocking
//! socket reads, outgoing HTTP to a peer that never answers or stalls its
//! body, an embedder's async host function. Each ends with
//! `Error::Timeout` at the deadline, the instance is discarded, and the
//! service (and its neighbours) keep serving. The waits used here are
//! minutes to forever, so an unbounded wait shows as a test that never ends.

use std::{
    io::{Read, Write},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use host_core::{
    CallLimits, Capability, Error, Host, HostConfig, Input, PoolConfig,
    deploy::{DeployRequest, PoolMode},
    security::{CustomCapability, SandboxPolicy},
};
use serde_json::{Value as Json, json};

use crate::{
    common::{add_sample, r},
    common::{sample, sample_path, shared_host},
    tiny,
};

const DEADLINE: Duration = Duration::from_millis(300);

/// How long past the deadline a cut call may take (thread wake-ups on a
/// loaded machine); the waits under test are minutes or forever.
const SLACK: Duration = Duration::from_secs(5);

fn limits() -> CallLimits {
    CallLimits { timeout: DEADLINE, ..CallLimits::default() }
}

fn request(value: Json) -> Input {
    Input::new(value.to_string().into_bytes())
}

/// Calls `execute` with `input` under [`DEADLINE`] and returns the error,
/// checking that it came at the deadline.
fn expect_cut(instance: &mut host_core::Instance, input: &Input) -> Error {
    let started = Instant::now();
    let err = instance.execute(input).expect_err("the wait must not complete");
    let took = started.elapsed();
    assert!(took >= DEADLINE, "cut before the deadline: {took:?}");
    assert!(took < DEADLINE + SLACK, "the wait outlived its deadline: {took:?}");
    assert!(matches!(err, Error::Timeout { function: "execute", limit } if limit == DEADLINE), "{err:?}");
    assert!(err.to_string().contains("timed out after 300 ms"), "{err}");
    err
}

fn waiter_instance(host: &Host, grants: &[Capability]) -> host_core::Instance {
    let component = host.load_file(sample_path("security-probes", "waiter")).unwrap();
    let policy = SandboxPolicy::from_grants("waiter", grants, None).unwrap();
    let mut instance = host.instantiate_sandboxed(&component, limits(), policy).unwrap();
    instance.init(&[]).unwrap();
    instance
}

#[test]
fn a_guest_sleeping_in_the_host_is_cut_at_its_deadline() {
    let host = shared_host();
    let mut instance = waiter_instance(host, &[]);
    expect_cut(&mut instance, &request(json!({"op": "sleep", "ms": 60_000})));
    // The cut instance is discarded; a fresh one works.
    assert!(instance.is_poisoned());
    assert!(matches!(instance.execute(&request(json!({"op": "sleep", "ms": 1}))), Err(Error::Poisoned)));
    let mut fresh = waiter_instance(host, &[]);
    let out = fresh.execute(&request(json!({"op": "sleep", "ms": 1}))).unwrap();
    assert_eq!(serde_json::from_slice::<Json>(&out.data).unwrap(), json!({"ok": true, "value": 1}));
}

#[test]
fn a_sleep_that_never_ends_is_cut_at_its_deadline() {
    // u64::MAX nanoseconds: wasmtime-wasi waits forever for this pollable.
    let mut instance = waiter_instance(shared_host(), &[]);
    expect_cut(&mut instance, &request(json!({"op": "poll", "ms": [u64::MAX / 1_000_000]})));
}

#[test]
fn poll_on_several_pollables_is_cut_at_its_deadline() {
    let mut instance = waiter_instance(shared_host(), &[]);
    expect_cut(&mut instance, &request(json!({"op": "poll", "ms": [60_000, 90_000, 120_000]})));
    // A poll whose shortest pollable is due before the deadline answers.
    let mut instance = waiter_instance(shared_host(), &[]);
    let out = instance.execute(&request(json!({"op": "poll", "ms": [60_000, 5]}))).unwrap();
    assert_eq!(serde_json::from_slice::<Json>(&out.data).unwrap(), json!({"ok": true, "value": [1]}));
}

/// A loopback listener that accepts connections and never writes; each
/// accepted socket is held until the test ends.
fn silent_peer() -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let done = stop.clone();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        while !done.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((socket, _)) => held.push(socket),
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (port, stop)
}

/// A loopback HTTP server that answers the headers of a 1 MB body, sends
/// three bytes of it, then stalls.
fn stalling_http_peer() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for mut socket in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf);
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nabc");
            let _ = socket.flush();
            held.push(socket);
        }
    });
    port
}

#[test]
fn a_blocking_socket_read_is_cut_at_its_deadline() {
    let (port, stop) = silent_peer();
    let grant: Capability = format!("net-out:127.0.0.1:{port}").parse().unwrap();
    let mut instance = waiter_instance(shared_host(), &[grant]);
    expect_cut(&mut instance, &request(json!({"op": "tcp-read", "addr": format!("127.0.0.1:{port}")})));
    stop.store(true, Ordering::Relaxed);
}

fn http_probe(grant_port: u16) -> host_core::Instance {
    let host = shared_host();
    let component = sample("security-probes", "http-probe");
    let grant: Capability = format!("net-out:127.0.0.1:{grant_port}").parse().unwrap();
    let policy = SandboxPolicy::from_grants("web", &[grant], None).unwrap();
    let mut instance = host.instantiate_sandboxed(&component, limits(), policy).unwrap();
    instance.init(&[]).unwrap();
    instance
}

#[test]
fn outgoing_http_to_a_peer_that_never_answers_is_cut_at_its_deadline() {
    let (port, stop) = silent_peer();
    let mut instance = http_probe(port);
    expect_cut(&mut instance, &request(json!({"url": format!("http://127.0.0.1:{port}/")})));
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn a_response_body_that_stalls_is_cut_at_its_deadline() {
    // The headers arrive; the guest's blocking read of the body stream waits.
    let port = stalling_http_peer();
    let mut instance = http_probe(port);
    expect_cut(&mut instance, &request(json!({"url": format!("http://127.0.0.1:{port}/")})));
}

/// A contract component whose `execute` calls the embedder's host function
/// `acme:clock/wait#forever` and echoes afterwards.
fn custom_waiting_component() -> Vec<u8> {
    tiny::importing("acme:clock/wait", "forever", "(func)", "(func)", &format!("(call $forever) {}", tiny::ECHO))
}

#[test]
fn an_embedders_async_host_function_that_waits_is_cut_at_its_deadline() {
    let wait = CustomCapability {
        name: "wait".into(),
        validate: Arc::new(|_: &str| Ok(())),
        link: Arc::new(|linker| {
            linker.instance("acme:clock/wait")?.func_wrap_async("forever", |_store, (): ()| {
                Box::new(async {
                    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
                    Ok(())
                })
            })
        }),
    };
    let host = Host::new(HostConfig {
        cache_dir: None,
        pool: PoolConfig { max_instances: 8, ..PoolConfig::default() },
        custom_capabilities: vec![wait],
        ..HostConfig::default()
    })
    .unwrap();
    let component = host.load_bytes(&custom_waiting_component()).unwrap();
    let mut instance = host.instantiate_with(&component, limits()).unwrap();
    instance.init(&[]).unwrap();
    expect_cut(&mut instance, &Input::new(b"x".to_vec()));
}

#[test]
fn a_service_cut_at_its_deadline_refills_its_pool_while_a_neighbour_keeps_serving() {
    let data = tempfile::tempdir().unwrap();
    let host = Host::new(HostConfig {
        data_dir: Some(data.path().to_path_buf()),
        cache_dir: Some(data.path().join("cache")),
        pool: PoolConfig { max_instances: 16, ..PoolConfig::default() },
        default_limits: limits(),
        ..HostConfig::default()
    })
    .unwrap();
    add_sample(&host, "waiter@1.0.0", "security-probes", "waiter");
    add_sample(&host, "upper@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("slow", r("waiter@1.0.0")).pool(PoolMode::Pooled { size: 1 })).unwrap();
    host.deploy(DeployRequest::new("neighbour", r("upper@1.0.0")).pool(PoolMode::Pooled { size: 1 })).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let neighbour = {
        let (host, stop) = (host.clone(), stop.clone());
        thread::spawn(move || {
            let mut served = 0u32;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(host.invoke("neighbour", &Input::new(b"hi".to_vec())).unwrap().data, b"HI");
                served += 1;
            }
            served
        })
    };
    for _ in 0..2 {
        let started = Instant::now();
        let err = host.invoke("slow", &request(json!({"op": "sleep", "ms": 60_000}))).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < DEADLINE + SLACK);
        // The one pooled instance was replaced: the service answers at once.
        let out = host.invoke("slow", &request(json!({"op": "sleep", "ms": 1}))).unwrap();
        assert_eq!(serde_json::from_slice::<Json>(&out.data).unwrap()["ok"], json!(true));
    }
    stop.store(true, Ordering::Relaxed);
    assert!(neighbour.join().unwrap() > 0, "the neighbour served during the timeouts");
    let status = host.status(Some("slow")).unwrap();
    assert_eq!(status[0].versions[0].live_instances, 1, "the pool is back to its size");
}
