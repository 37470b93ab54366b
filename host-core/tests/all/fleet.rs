//! A fleet on a real `nats-server` (JetStream, random loopback port, temp
//! folder), with nodes running in this process (each its own host and data
//! folder) and `FleetRuntime` clients: the same conformance suite as the
//! embedded host and the HTTP client, rollouts across nodes under load,
//! rollback of every node, conflicts, the shared audit chain. Under
//! `CI=true` a missing `nats-server` fails these tests instead of skipping.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use host_core::{
    Error, Host, HostConfig, Input, PoolConfig, Runtime,
    deploy::{DeployRequest, PoolMode, RolloutOutcome, Strategy},
    fleet::{FleetConfig, FleetNode, FleetRuntime, LocalNats, NodeConfig},
};

use crate::{
    common::{r, sample_path},
    tiny,
};

/// A nats-server for one test, or `None` (skipped, with a note) when the
/// program is missing outside CI.
pub fn nats() -> Option<LocalNats> {
    match LocalNats::start() {
        Ok(nats) => Some(nats),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("nats-server must run under CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// A node named `name` with its own data folder.
struct TestNode {
    node: Option<FleetNode>,
    _dir: tempfile::TempDir,
}

fn node(nats: &LocalNats, name: &str) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new(HostConfig {
        data_dir: Some(dir.path().to_path_buf()),
        cache_dir: Some(dir.path().join("cache")),
        pool: PoolConfig { max_instances: 32, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        trace_runs: host_core::pipeline::DEFAULT_TRACE_RUNS,
        ..HostConfig::default()
    })
    .unwrap();
    let config = NodeConfig { fleet: FleetConfig::new(nats.url()), node: name.to_string(), api: None };
    TestNode { node: Some(FleetNode::start(host, config).unwrap()), _dir: dir }
}

fn client(nats: &LocalNats) -> FleetRuntime {
    FleetRuntime::connect(FleetConfig::new(nats.url())).unwrap()
}

fn bytes(project: &str, name: &str) -> Vec<u8> {
    std::fs::read(sample_path(project, name)).unwrap()
}

#[test]
fn the_fleet_runtime_conforms() {
    let Some(nats) = nats() else { return };
    let _nodes = [node(&nats, "n1"), node(&nats, "n2")];
    let fleet = client(&nats);
    crate::remote::conformance(&fleet);
    // A service the fleet does not have is unknown at once.
    let started = Instant::now();
    let err = fleet.invoke("nope", &Input::new(Vec::new())).unwrap_err();
    assert!(matches!(err, Error::UnknownService { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "not a timeout");
}

#[test]
fn a_rolling_deploy_moves_nodes_in_order_under_load_with_no_failed_call() {
    let Some(nats) = nats() else { return };
    let _nodes = [node(&nats, "n1"), node(&nats, "n2"), node(&nats, "n3")];
    let fleet = Arc::new(client(&nats));
    fleet.add_component(&r("text@1.0.0"), &bytes("text-tools", "upper")).unwrap();
    fleet.add_component(&r("text@2.0.0"), &bytes("text-tools", "word-count")).unwrap();
    // The same tag with other bytes is refused fleet-wide.
    let err = fleet.add_component(&r("text@1.0.0"), &bytes("text-tools", "word-count")).unwrap_err();
    assert!(matches!(err, Error::VersionExists { .. }), "{err:?}");
    fleet.deploy(DeployRequest::new("svc", r("text@1.0.0")).pool(PoolMode::Pooled { size: 2 })).unwrap();
    assert_eq!(fleet.invoke("svc", &Input::new(b"hi".to_vec())).unwrap().data, b"HI");

    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, calls, failures) = (stop.clone(), calls.clone(), failures.clone());
            let fleet = client(&nats);
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match fleet.invoke("svc", &Input::new(b"a b".to_vec())) {
                        Ok(out) if out.data == b"A B" || out.data.starts_with(b"{") => {}
                        other => {
                            eprintln!("failed call: {other:?}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let record =
        fleet.deploy(DeployRequest::new("svc", r("text@2.0.0")).strategy(Strategy::Rolling { batch: 1 })).unwrap();
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(calls.load(Ordering::Relaxed) > 20, "the clients kept calling");
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no call failed during the rollout");
    // One wave per node, in node order, each converged.
    let waves: Vec<Vec<String>> =
        record.steps.iter().map(|s| s.nodes.iter().map(|n| n.node.clone()).collect()).collect();
    assert_eq!(waves, [["n1"], ["n2"], ["n3"]]);
    assert!(record.steps.iter().flat_map(|s| &s.nodes).all(|n| n.converged), "{record:?}");
    let status = fleet.fleet_status().unwrap();
    assert!(status.nodes.iter().all(|n| n.services["svc"].component == Some(r("text@2.0.0"))), "{status:?}");
    assert!(status.services[0].behind.is_empty(), "{status:?}");
    let check = fleet.verify_audit().unwrap();
    assert!(check.broken.is_none(), "{check:?}");
}

#[test]
fn a_canary_whose_new_version_fails_rolls_back_on_every_node() {
    let Some(nats) = nats() else { return };
    let _nodes = [node(&nats, "n1"), node(&nats, "n2")];
    let fleet = Arc::new(client(&nats));
    fleet.add_component(&r("echo@1.0.0"), &tiny::with_execute(tiny::ECHO)).unwrap();
    fleet.add_component(&r("echo@2.0.0"), &tiny::with_execute(tiny::FLAKY)).unwrap();
    fleet.deploy(DeployRequest::new("svc", r("echo@1.0.0"))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (stop, fleet) = (stop.clone(), client(&nats));
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = fleet.invoke("svc", &Input::new(b"x".to_vec()));
            }
        })
    };
    let canary = Strategy::Canary { steps: vec![50, 100], interval_ms: 300, min_calls: 5, max_error_increase: 0.05 };
    let err = fleet.deploy(DeployRequest::new("svc", r("echo@2.0.0")).strategy(canary)).unwrap_err();
    stop.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    let Error::RolloutFailed(record) = &err else { panic!("{err:?}") };
    assert!(
        matches!(&record.outcome, RolloutOutcome::RolledBack(reason) if reason.contains("every node")),
        "{record:?}"
    );
    // Every node went back to v1; the desired state names v1.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = fleet.fleet_status().unwrap();
        let back = status.nodes.iter().all(|n| n.services["svc"].component == Some(r("echo@1.0.0")));
        if back && status.nodes.len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "nodes did not go back: {status:?}");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(fleet.status(Some("svc")).unwrap()[0].spec.component, r("echo@1.0.0"));
    let audit: Vec<String> =
        fleet.audit(Some("svc"), None).unwrap().into_iter().map(|a| a.body.event.to_string()).collect();
    assert!(audit.contains(&"deploy-failed".to_string()), "{audit:?}");
}

#[test]
fn two_concurrent_deploys_of_one_service_one_wins_the_other_gets_a_conflict() {
    let Some(nats) = nats() else { return };
    let _nodes = [node(&nats, "n1")];
    let fleet = client(&nats);
    fleet.add_component(&r("text@1.0.0"), &bytes("text-tools", "upper")).unwrap();
    fleet.add_component(&r("text@2.0.0"), &bytes("text-tools", "word-count")).unwrap();
    fleet.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    let start = Arc::new(std::sync::Barrier::new(2));
    let results: Vec<_> = (0..2)
        .map(|_| {
            let (fleet, start) = (client(&nats), start.clone());
            thread::spawn(move || {
                // A canary of two 400 ms steps: the two deploys overlap.
                let slow =
                    Strategy::Canary { steps: vec![50, 100], interval_ms: 400, min_calls: 0, max_error_increase: 1.0 };
                start.wait();
                fleet.deploy(DeployRequest::new("svc", r("text@2.0.0")).strategy(slow))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(wins, 1, "{results:?}");
    assert!(matches!(conflicts[0], Error::FleetConflict { service, .. } if service == "svc"), "{conflicts:?}");
    let text = conflicts[0].to_string();
    assert!(text.contains("nothing was changed") && text.contains("revision"), "{text}");
    assert!(fleet.verify_audit().unwrap().broken.is_none());
}

#[test]
fn a_node_that_cannot_reach_nats_says_so_within_its_connect_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let host =
        Host::new(HostConfig { data_dir: Some(dir.path().to_path_buf()), cache_dir: None, ..HostConfig::default() })
            .unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = FleetConfig::new(format!("nats://127.0.0.1:{port}"));
    config.connect_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = FleetNode::start(host, NodeConfig { fleet: config, node: "lonely".into(), api: None }).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(matches!(err, Error::FleetUnreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("NATS"), "{err}");
}

#[test]
fn a_node_restarted_after_a_rollout_converges_to_the_desired_version() {
    let Some(nats) = nats() else { return };
    let _n1 = node(&nats, "n1");
    let mut n2 = node(&nats, "n2");
    let fleet = client(&nats);
    fleet.add_component(&r("text@1.0.0"), &bytes("text-tools", "upper")).unwrap();
    fleet.add_component(&r("text@2.0.0"), &bytes("text-tools", "word-count")).unwrap();
    fleet.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    // n2 leaves; the rollout completes on n1 and names n2 as gone.
    drop(n2.node.take());
    // Its leaving reaches the fleet's node list (a busy machine may take a while).
    let deadline = Instant::now() + Duration::from_secs(10);
    while fleet.fleet_status().unwrap().nodes.iter().any(|n| n.node == "n2") {
        assert!(Instant::now() < deadline, "n2 is still listed after it left");
        thread::sleep(Duration::from_millis(50));
    }
    let record =
        fleet.deploy(DeployRequest::new("svc", r("text@2.0.0")).strategy(Strategy::Rolling { batch: 1 })).unwrap();
    assert_eq!(record.steps.len(), 1, "only n1 was live: {record:?}");
    // n2 comes back on a new folder: it converges on its own.
    let _n2 = node(&nats, "n2");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = fleet.fleet_status().unwrap();
        if status.nodes.iter().any(|n| {
            n.node == "n2" && n.services.get("svc").is_some_and(|s| s.converged && s.component == Some(r("text@2.0.0")))
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "n2 did not converge: {status:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_node_refuses_bytes_that_do_not_match_their_digest() {
    let Some(nats) = nats() else { return };
    let _nodes = [node(&nats, "n1")];
    let fleet = client(&nats);
    let record = fleet.add_component(&r("text@1.0.0"), &bytes("text-tools", "upper")).unwrap();
    // Someone with write access to NATS swaps the stored bytes.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let blobs = js.get_object_store("airssys_default_blobs").await.unwrap();
        let other = bytes("text-tools", "word-count");
        blobs.put(record.digest.hex().as_str(), &mut other.as_slice()).await.unwrap();
    });
    let err = fleet.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap_err();
    // The node's own error, typed across the wire.
    assert!(matches!(&err, Error::BlobCorrupt { digest, .. } if *digest == record.digest), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert!(matches!(fleet.status(Some("svc")), Err(Error::UnknownService { .. })), "nothing was deployed");
}

#[test]
fn nats_credentials_come_from_a_private_file() {
    let Some(nats) = LocalNats::start_with_args(&["--user", "airssys", "--pass", "s3cret"]).ok() else {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "nats-server must run under CI");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("nats.creds");
    std::fs::write(&creds, "airssys:s3cret\n").unwrap();
    let with = |file: Option<std::path::PathBuf>| {
        let mut config = FleetConfig::new(nats.url());
        config.credentials = file;
        config.connect_timeout = Duration::from_secs(3);
        FleetRuntime::connect(config)
    };
    // Without credentials, or with a file others can read: refused.
    assert!(matches!(with(None), Err(Error::FleetUnreachable { .. })));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = with(Some(creds.clone())).unwrap_err();
    assert!(matches!(err, Error::FleetConfig(_)) && err.to_string().contains("chmod 600"), "{err}");
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fleet = with(Some(creds)).unwrap();
    assert!(fleet.components().unwrap().is_empty());
}
