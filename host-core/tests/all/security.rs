//! Capabilities: every kind allowed when granted and denied when not, with
//! the real `cap-probe` and `file-reader` components; attacks contained.

use std::{
    io::{Read, Write},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

use host_core::{
    CallLimits, Capability, Error, Host, HostConfig, Input, PoolConfig,
    deploy::{DeployRequest, PoolMode},
    security::CustomCapability,
};
use serde_json::{Value as Json, json};

use crate::{
    common::{add_sample, r},
    tiny,
};

/// A host with a data folder, tight limits, and an embedder capability
/// `kv` (host function `acme:kv/store#get`, parameters must name a bucket).
fn secure_host(dir: &std::path::Path) -> Host {
    let kv = CustomCapability {
        name: "kv".into(),
        validate: Arc::new(|params: &str| {
            let value: Json = serde_json::from_str(params).map_err(|e| e.to_string())?;
            value.get("bucket").and_then(Json::as_str).map(|_| ()).ok_or_else(|| "expected {\"bucket\": NAME}".into())
        }),
        link: Arc::new(|linker| {
            linker.instance("acme:kv/store")?.func_wrap(
                "get",
                |store: wasmtime::StoreContextMut<'_, host_core::HostState>, (): ()| -> wasmtime::Result<(u32,)> {
                    match store.data().custom_grant("kv") {
                        Some(_) => Ok((42,)),
                        None => {
                            store.data().audit_denial("custom:kv get", "not granted");
                            Err(wasmtime::format_err!("capability custom:kv is not granted to this service"))
                        }
                    }
                },
            )?;
            Ok(())
        }),
    };
    Host::new(HostConfig {
        data_dir: Some(dir.to_path_buf()),
        cache_dir: Some(dir.join("cache")),
        pool: PoolConfig { max_instances: 64, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        default_limits: CallLimits {
            timeout: Duration::from_millis(500),
            max_memory_bytes: 64 << 20,
            ..CallLimits::default()
        },
        custom_capabilities: vec![kv],
        ..HostConfig::default()
    })
    .unwrap()
}

fn cap(s: &str) -> Capability {
    s.parse().unwrap()
}

/// Deploys cap-probe as `service` with `grants`.
fn probe_with(host: &Host, service: &str, grants: &[String]) {
    if host.registry().unwrap().resolve(&r("probe@1.0.0")).is_err() {
        add_sample(host, "probe@1.0.0", "security-probes", "cap-probe");
    }
    let mut request = DeployRequest::new(service, r("probe@1.0.0")).pool(PoolMode::PerCall);
    request.grants = Some(grants.iter().map(|g| cap(g)).collect());
    host.deploy(request).unwrap();
}

fn ask(host: &Host, service: &str, request: Json) -> Json {
    let out = host.invoke(service, &Input::new(request.to_string().into_bytes())).unwrap();
    serde_json::from_slice(&out.data).unwrap()
}

fn ok(answer: &Json) -> bool {
    answer["ok"] == true
}

/// `DIR/in/a.txt`, `DIR/out/b.txt`, and `DIR/secret.txt` beside them.
fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("in/a.txt"), "inside").unwrap();
    std::fs::write(dir.path().join("out/b.txt"), "sibling").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    dir
}

#[test]
fn file_read_is_allowed_when_granted_and_denied_when_not() {
    let (data, f) = (tempfile::tempdir().unwrap(), files());
    let host = secure_host(data.path());
    let inside = f.path().join("in");
    probe_with(&host, "granted", &[format!("file-read:/data/in={}", inside.display())]);
    probe_with(&host, "bare", &[]);
    let read = json!({"op": "read", "path": "/data/in/a.txt"});
    assert_eq!(ask(&host, "granted", read.clone())["value"], "inside");
    assert!(!ok(&ask(&host, "bare", read)));
}

#[test]
fn narrow_grant_does_not_reach_siblings_parents_or_symlink_targets() {
    let (data, f) = (tempfile::tempdir().unwrap(), files());
    std::os::unix::fs::symlink(f.path().join("secret.txt"), f.path().join("in/link.txt")).unwrap();
    std::os::unix::fs::symlink(f.path(), f.path().join("in/up")).unwrap();
    let host = secure_host(data.path());
    probe_with(&host, "narrow", &[format!("file-read:/data/in={}", f.path().join("in").display())]);
    for path in [
        "/data/out/b.txt",
        "/data/in/../out/b.txt",
        "/data/in/../secret.txt",
        "/data/in/link.txt",
        "/data/in/up/secret.txt",
    ] {
        let answer = ask(&host, "narrow", json!({"op": "read", "path": path}));
        assert!(!ok(&answer), "{path} must not be readable: {answer}");
    }
    assert!(ok(&ask(&host, "narrow", json!({"op": "read", "path": "/data/in/a.txt"}))));
}

#[test]
fn read_only_grant_refuses_writes_and_write_grant_allows_them() {
    let (data, f) = (tempfile::tempdir().unwrap(), files());
    let host = secure_host(data.path());
    let out = f.path().join("out");
    probe_with(&host, "ro", &[format!("file-read:/data/out={}", out.display())]);
    probe_with(&host, "rw", &[format!("file-write:/data/out={}", out.display())]);
    let write = json!({"op": "write", "path": "/data/out/new.txt", "data": "hello"});
    assert!(!ok(&ask(&host, "ro", write.clone())));
    assert!(!out.join("new.txt").exists());
    assert!(ok(&ask(&host, "rw", write)));
    assert_eq!(std::fs::read_to_string(out.join("new.txt")).unwrap(), "hello");
}

#[test]
fn file_reader_sample_needs_its_grant_to_deploy() {
    let (data, f) = (tempfile::tempdir().unwrap(), files());
    let host = secure_host(data.path());
    add_sample(&host, "reader@1.0.0", "text-tools", "file-reader");
    let err = host.deploy(DeployRequest::new("reader", r("reader@1.0.0"))).unwrap_err();
    let Error::MissingCapabilities { missing, .. } = &err else { panic!("{err:?}") };
    assert_eq!(missing, &vec![cap("file-read:/data")]);
    let text = err.to_string();
    assert!(text.contains("\n  file-read:/data\n") && text.contains("Grant them to `reader`"), "{text}");
    assert!(!text.contains("--grant"), "the library names no CLI flag: {text}");
    let refused = host.audit_log().unwrap().records().unwrap();
    assert_eq!(refused.last().unwrap().body.event, "deploy-refused");

    // A narrower grant than requested is enough.
    let mut request = DeployRequest::new("reader", r("reader@1.0.0")).config([("root", "/data/in")]);
    request.grants = Some(vec![cap(&format!("file-read:/data/in={}", f.path().join("in").display()))]);
    host.deploy(request).unwrap();
    assert_eq!(host.invoke("reader", &Input::new(b"a.txt".to_vec())).unwrap().data, b"inside");
}

#[test]
fn environment_holds_only_granted_variables_with_host_values() {
    // SAFETY: these names are set once, here, and read by no other test.
    unsafe {
        std::env::set_var("AIRSSYS_T_APP_ONE", "1");
        std::env::set_var("AIRSSYS_T_APP_TWO", "2");
        std::env::set_var("AIRSSYS_T_OTHER", "x");
    }
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    probe_with(&host, "env", &["env:AIRSSYS_T_APP_*".into(), "env:AIRSSYS_T_MISSING".into()]);
    probe_with(&host, "noenv", &[]);
    let all = ask(&host, "env", json!({"op": "env-all"}));
    assert_eq!(all["value"], json!({"AIRSSYS_T_APP_ONE": "1", "AIRSSYS_T_APP_TWO": "2"}));
    assert_eq!(ask(&host, "noenv", json!({"op": "env-all"}))["value"], json!({}));
}

#[test]
fn clock_and_random_are_real_only_when_granted() {
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    probe_with(&host, "sys", &["syscall:clock".into(), "syscall:random".into()]);
    probe_with(&host, "nosys", &[]);
    assert!(ask(&host, "sys", json!({"op": "clock"}))["value"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(ask(&host, "nosys", json!({"op": "clock"}))["value"], 0, "the clock is frozen at the epoch");
    let fixed = ask(&host, "nosys", json!({"op": "random"}))["value"].as_str().unwrap().to_string();
    assert_eq!(fixed, "2a".repeat(16), "no entropy without the grant");
    let real = ask(&host, "sys", json!({"op": "random"}))["value"].as_str().unwrap().to_string();
    assert_ne!(real, fixed);
}

/// A loopback server answering `pong` once per connection, for `n` connections.
fn pong_server(n: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 16];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"pong");
        }
    });
    port
}

#[test]
fn outbound_connects_only_to_granted_addresses_and_denials_are_audited() {
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    let granted = pong_server(1);
    let other = pong_server(1);
    probe_with(&host, "net", &[format!("net-out:127.0.0.1:{granted}")]);
    let answer = ask(&host, "net", json!({"op": "connect", "addr": format!("127.0.0.1:{granted}")}));
    assert_eq!(answer["value"], "pong", "{answer}");
    let denied = ask(&host, "net", json!({"op": "connect", "addr": format!("127.0.0.1:{other}")}));
    assert!(!ok(&denied), "{denied}");
    let records = host.audit_log().unwrap().records().unwrap();
    let denial = records.iter().find(|r| r.body.event == "denied").expect("a denial record");
    assert_eq!(denial.body.service.as_deref(), Some("net"));
    assert!(denial.body.detail["attempt"].as_str().unwrap().contains(&format!("127.0.0.1:{other}")));
    assert_eq!(host.audit_log().unwrap().verify().unwrap(), Ok(records.len()));
}

#[test]
fn inbound_binds_only_granted_ports() {
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    probe_with(&host, "listen", &[format!("net-in:{free}")]);
    probe_with(&host, "nolisten", &[]);
    let addr = format!("127.0.0.1:{free}");
    assert_eq!(ask(&host, "listen", json!({"op": "bind", "addr": addr}))["value"], free);
    assert!(!ok(&ask(&host, "nolisten", json!({"op": "bind", "addr": addr}))));
    assert!(
        !ok(&ask(&host, "listen", json!({"op": "bind", "addr": "127.0.0.1:0"}))),
        "ephemeral ports are not granted"
    );
}

const KV_EXECUTE: &str = "(i32.store (i32.const 2048) (call $get))
      (i32.store8 (i32.const 32) (i32.const 0))
      (i32.store (i32.const 36) (i32.const 2048))
      (i32.store (i32.const 40) (i32.const 4))
      (i32.store (i32.const 44) (i32.const 0))
      (i32.store (i32.const 48) (i32.const 0))
      (i32.const 32)";

fn kv_component() -> Vec<u8> {
    tiny::importing("acme:kv/store", "get", "(func (result u32))", "(func (result i32))", KV_EXECUTE)
}

#[test]
fn custom_capability_is_checked_by_the_embedders_function() {
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    host.add_component(&r("kv@1.0.0"), &kv_component()).unwrap();

    let mut granted = DeployRequest::new("kv-granted", r("kv@1.0.0"));
    granted.grants = Some(vec![cap(r#"custom:kv={"bucket":"a"}"#)]);
    host.deploy(granted).unwrap();
    assert_eq!(host.invoke("kv-granted", &Input::new(vec![])).unwrap().data, 42u32.to_le_bytes());

    host.deploy(DeployRequest::new("kv-bare", r("kv@1.0.0"))).unwrap();
    let err = host.invoke("kv-bare", &Input::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("custom:kv is not granted"), "{err}");
    let records = host.audit_log().unwrap().records().unwrap();
    assert!(records.iter().any(|r| r.body.event == "denied" && r.body.service.as_deref() == Some("kv-bare")));

    let mut bad = DeployRequest::new("kv-bad", r("kv@1.0.0"));
    bad.grants = Some(vec![cap(r#"custom:kv={"shelf":1}"#)]);
    let err = host.deploy(bad).unwrap_err();
    assert!(matches!(err, Error::GrantInvalid { .. }) && err.to_string().contains("bucket"), "{err}");
    let mut unknown = DeployRequest::new("kv-unknown", r("kv@1.0.0"));
    unknown.grants = Some(vec![cap("custom:queue")]);
    assert!(matches!(host.deploy(unknown).unwrap_err(), Error::GrantInvalid { .. }));
}

#[test]
fn grant_and_revoke_take_effect_and_are_audited() {
    let (data, f) = (tempfile::tempdir().unwrap(), files());
    let host = secure_host(data.path());
    probe_with(&host, "p", &[]);
    let grant = cap(&format!("file-read:/data/in={}", f.path().join("in").display()));
    let read = json!({"op": "read", "path": "/data/in/a.txt"});
    assert!(!ok(&ask(&host, "p", read.clone())));
    host.grant("p", grant.clone()).unwrap();
    assert!(ok(&ask(&host, "p", read.clone())));
    host.revoke("p", &grant).unwrap();
    assert!(!ok(&ask(&host, "p", read)));
    let events: Vec<String> =
        host.audit_log().unwrap().records().unwrap().into_iter().map(|r| r.body.event.to_string()).collect();
    assert_eq!(events, ["registry-add", "deploy", "grant", "grant", "revoke", "revoke"]);
}

#[test]
fn attacks_are_contained_while_a_neighbour_serves_without_failures() {
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    add_sample(&host, "hostile@1.0.0", "security-probes", "hostile");
    add_sample(&host, "probe@1.0.0", "security-probes", "cap-probe");
    host.deploy(DeployRequest::new("neighbour", r("text@1.0.0")).pool(PoolMode::Pooled { size: 2 })).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (served, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (host, stop, served, failed) = (host.clone(), stop.clone(), served.clone(), failed.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match host.invoke("neighbour", &Input::new(b"ok".to_vec())) {
                        Ok(out) if out.data == b"OK" => served.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();

    let attack = |service: &str, mode: &str| -> Error {
        let request = DeployRequest::new(service, r("hostile@1.0.0")).config([("mode", mode)]).pool(PoolMode::PerCall);
        host.deploy(request).unwrap();
        host.invoke(service, &Input::new(b"x".to_vec())).unwrap_err()
    };
    assert!(matches!(attack("spin", "spin"), Error::Timeout { .. }));
    assert!(matches!(attack("bomb", "alloc-bomb"), Error::OutOfMemory { .. } | Error::Trap { .. }));
    let recursion = attack("deep", "recurse");
    let Error::Trap { source, .. } = &recursion else { panic!("{recursion:?}") };
    // Rust keeps a shadow stack in linear memory, which usually overflows
    // before the wasm call stack does.
    assert!(
        matches!(source.trap(), Some(wasmtime::Trap::StackOverflow | wasmtime::Trap::MemoryOutOfBounds)),
        "{recursion:?}"
    );
    assert!(matches!(attack("huge", "huge-output"), Error::OutOfMemory { .. } | Error::Trap { .. }));
    let panic = attack("panic", "panic");
    let Error::Trap { source, guest_stderr, .. } = &panic else { panic!("{panic:?}") };
    assert_eq!(source.trap(), Some(wasmtime::Trap::UnreachableCodeReached), "a Rust panic aborts: {panic}");
    // The panic message, from the guest's private stderr, is in the error.
    assert!(guest_stderr.contains("hostile: deliberate panic"), "{guest_stderr:?}");
    assert!(panic.to_string().contains("hostile: deliberate panic"), "{panic}");
    // A trap in init: the per-call service deploys, every call fails alone.
    assert!(matches!(attack("init", "panic-in-init"), Error::Trap { function: "init", .. }));
    // A pooled service whose init traps never goes live.
    let pooled = DeployRequest::new("init-pooled", r("hostile@1.0.0")).config([("mode", "panic-in-init")]);
    assert!(matches!(host.deploy(pooled).unwrap_err(), Error::RolloutFailed(_) | Error::Trap { .. }));
    // A table-growth bomb.
    let grow = tiny::Tiny {
        execute: "(loop $l (drop (table.grow $t (ref.null func) (i32.const 1000))) (br $l)) (i32.const 0)",
        extra: "(table $t 1 funcref)",
        ..Default::default()
    };
    host.add_component(&r("tables@1.0.0"), &grow.bytes()).unwrap();
    host.deploy(DeployRequest::new("tables", r("tables@1.0.0")).pool(PoolMode::PerCall)).unwrap();
    // Each refused growth gives the guest -1; the call fails with the limit
    // as its cause (this bomb keeps trying until its deadline).
    let err = host.invoke("tables", &Input::new(vec![])).unwrap_err();
    assert!(matches!(err, Error::TableLimit { function: "execute", .. }), "{err:?}");
    // Every WASI capability tried with no grants: all refused, nothing traps.
    host.deploy(DeployRequest::new("probe", r("probe@1.0.0")).pool(PoolMode::PerCall)).unwrap();
    let everything = ask(&host, "probe", json!({"op": "everything"}));
    for op in ["read", "write", "list", "connect", "bind"] {
        assert!(!ok(&everything["value"][op]), "{op} must be refused: {everything}");
    }
    assert_eq!(everything["value"]["env-all"]["value"], json!({}));
    assert_eq!(everything["value"]["clock"]["value"], 0);

    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "the neighbour never failed");
    assert!(served.load(Ordering::Relaxed) > 0);
}

/// A loopback HTTP/1.1 server answering `200 hello from loopback` to `n` requests.
fn http_server(n: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => request.extend_from_slice(&buf[..k]),
                }
            }
            let body = "hello from loopback";
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

#[test]
fn outgoing_http_goes_only_to_granted_hosts_and_denials_are_audited() {
    let data = tempfile::tempdir().unwrap();
    let host = secure_host(data.path());
    add_sample(&host, "http@1.0.0", "security-probes", "http-probe");
    let (granted, other) = (http_server(2), http_server(1));
    let mut request = DeployRequest::new("web", r("http@1.0.0")).pool(PoolMode::PerCall);
    request.grants =
        Some(vec![cap(&format!("net-out:127.0.0.1:{granted}")), cap(&format!("net-out:localhost:{granted}"))]);
    host.deploy(request).unwrap();

    let answer = ask(&host, "web", json!({"url": format!("http://127.0.0.1:{granted}/x")}));
    assert_eq!(answer["value"]["status"], 200, "{answer}");
    assert_eq!(answer["value"]["body"], "hello from loopback");
    // A grant by host name covers requests by that name.
    let by_name = ask(&host, "web", json!({"url": format!("http://localhost:{granted}/")}));
    assert_eq!(by_name["value"]["status"], 200, "{by_name}");

    let denied = ask(&host, "web", json!({"url": format!("http://127.0.0.1:{other}/")}));
    assert!(!ok(&denied) && denied["error"].as_str().unwrap().contains("HttpRequestDenied"), "{denied}");
    let records = host.audit_log().unwrap().records().unwrap();
    assert!(records.iter().any(|r| r.body.event == "denied"
        && r.body.detail["attempt"].as_str().unwrap().contains(&format!("127.0.0.1:{other}"))));
}
