//! Services and hot deployment under load, with real components: v1 is the
//! `upper` sample, v2 the `word-count` sample, so every response shows which
//! version served it. Tiny components play the failing versions.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

use host_core::{
    Error, Host, HostConfig, Input, PoolConfig,
    deploy::{DeployRequest, PoolMode, RolloutOutcome, ServiceLimits, Strategy},
};

use crate::{common::*, tiny};

/// v1 = upper, v2 = word-count; `svc` runs v1 with `pool`.
fn two_versions(dir: &std::path::Path, pool: PoolMode) -> Host {
    let host = data_host(dir);
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    add_sample(&host, "text@2.0.0", "text-tools", "word-count");
    host.deploy(DeployRequest::new("svc", r("text@1.0.0")).pool(pool)).unwrap();
    host
}

#[derive(Default)]
struct Tally {
    v1: AtomicU64,
    v2: AtomicU64,
    failed: AtomicU64,
    foreign: AtomicU64,
}

const V1_OUT: &[u8] = b"HELLO WORLD";
const V2_OUT: &[u8] = br#"{"lines":1,"words":2,"chars":11,"bytes":11}"#;

/// Runs `threads` callers against `svc` until `stop`.
fn load(host: &Host, threads: usize, stop: &Arc<AtomicBool>, tally: &Arc<Tally>) -> Vec<thread::JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            let (host, stop, tally) = (host.clone(), stop.clone(), tally.clone());
            thread::spawn(move || {
                let input = Input::new(b"hello world".to_vec());
                while !stop.load(Ordering::Relaxed) {
                    match host.invoke("svc", &input) {
                        Ok(out) if out.data == V1_OUT => tally.v1.fetch_add(1, Ordering::Relaxed),
                        Ok(out) if out.data == V2_OUT => tally.v2.fetch_add(1, Ordering::Relaxed),
                        Ok(_) => tally.foreign.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("call failed: {e}");
                            tally.failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect()
}

fn swap_under_load(strategy: Strategy, pool: PoolMode) -> (Arc<Tally>, host_core::deploy::RolloutRecord) {
    let dir = tempfile::tempdir().unwrap();
    let host = two_versions(dir.path(), pool);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let workers = load(&host, 4, &stop, &tally);
    thread::sleep(Duration::from_millis(100));
    let record = host.deploy(DeployRequest::new("svc", r("text@2.0.0")).strategy(strategy)).unwrap();
    let v2_at_switch = tally.v2.load(Ordering::Relaxed);
    thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(tally.failed.load(Ordering::Relaxed), 0, "no call may fail during a swap");
    assert_eq!(tally.foreign.load(Ordering::Relaxed), 0, "every response is wholly v1's or v2's");
    assert!(tally.v1.load(Ordering::Relaxed) > 0);
    assert!(tally.v2.load(Ordering::Relaxed) > v2_at_switch, "v2 serves after the rollout");
    // After the rollout, v2 serves everything.
    for _ in 0..50 {
        assert_eq!(host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap().data, V2_OUT);
    }
    host.close();
    (tally, record)
}

#[test]
fn immediate_swap_under_load_fails_no_call() {
    swap_under_load(Strategy::Immediate, PoolMode::Pooled { size: 2 });
}

#[test]
fn immediate_swap_of_a_per_call_service_fails_no_call() {
    swap_under_load(Strategy::Immediate, PoolMode::PerCall);
}

#[test]
fn blue_green_swap_under_load_fails_no_call() {
    swap_under_load(Strategy::blue_green(), PoolMode::Pooled { size: 3 });
}

#[test]
fn rolling_swap_under_load_replaces_batch_by_batch() {
    let (_, record) = swap_under_load(Strategy::Rolling { batch: 1 }, PoolMode::Pooled { size: 4 });
    let weights: Vec<f64> = record.steps.iter().map(|s| s.new_weight_percent).collect();
    assert_eq!(weights, vec![25.0, 50.0, 75.0, 100.0]);
}

#[test]
fn canary_under_load_shifts_traffic_by_the_step_weights() {
    let canary =
        Strategy::Canary { steps: vec![10, 30, 60, 100], interval_ms: 150, min_calls: 30, max_error_increase: 0.05 };
    let (_, record) = swap_under_load(canary, PoolMode::Pooled { size: 4 });
    assert_eq!(record.outcome, RolloutOutcome::Succeeded);
    assert_eq!(record.steps.len(), 3);
    for step in &record.steps {
        let total = step.new_calls + step.old_calls;
        let share = 100.0 * step.new_calls as f64 / total as f64;
        // The router splits by a deterministic walk over 10 000 buckets, so
        // the share stays close to the weight even over a few hundred calls.
        assert!(
            (share - step.new_weight_percent).abs() <= 5.0,
            "step {}: {share:.1}% of {total} calls, weight {}%",
            step.index,
            step.new_weight_percent
        );
    }
}

#[test]
fn canary_rolls_back_when_errors_rise() {
    let dir = tempfile::tempdir().unwrap();
    let host = two_versions(dir.path(), PoolMode::Pooled { size: 2 });
    host.add_component(&r("text@3.0.0"), &tiny::Tiny { execute: tiny::FLAKY, ..Default::default() }.bytes()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let workers = load(&host, 3, &stop, &tally);
    let canary =
        Strategy::Canary { steps: vec![20, 50, 100], interval_ms: 100, min_calls: 20, max_error_increase: 0.05 };
    let err = host.deploy(DeployRequest::new("svc", r("text@3.0.0")).strategy(canary)).unwrap_err();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let Error::RolloutFailed(record) = err else { panic!("expected a rolled-back rollout, got {err}") };
    let RolloutOutcome::RolledBack(reason) = &record.outcome else { panic!("{:?}", record.outcome) };
    assert!(reason.contains("error rate"), "{reason}");
    assert_eq!(record.steps.len(), 1, "judged and rolled back at the first step");
    // Afterwards every call is v1's, and the stored service still names v1.
    for _ in 0..100 {
        assert_eq!(host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap().data, V1_OUT);
    }
    assert_eq!(host.service_spec("svc").unwrap().component, r("text@1.0.0"));
    let history = host.rollouts(Some("svc")).unwrap();
    assert!(matches!(history.last().unwrap().outcome, RolloutOutcome::RolledBack(_)));
}

#[test]
fn blue_green_with_an_unhealthy_new_version_never_goes_live() {
    let dir = tempfile::tempdir().unwrap();
    let host = two_versions(dir.path(), PoolMode::Pooled { size: 2 });
    host.add_component(&r("text@3.0.0"), &tiny::Tiny { health: tiny::UNHEALTHY, ..Default::default() }.bytes())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let workers = load(&host, 2, &stop, &tally);
    let err = host.deploy(DeployRequest::new("svc", r("text@3.0.0")).strategy(Strategy::blue_green())).unwrap_err();
    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let Error::RolloutFailed(record) = err else { panic!("{err}") };
    assert!(matches!(&record.outcome, RolloutOutcome::Failed(r) if r.contains("unhealthy")), "{:?}", record.outcome);
    // The echoing v3 never answered a call.
    assert_eq!(tally.foreign.load(Ordering::Relaxed), 0);
    assert_eq!(tally.failed.load(Ordering::Relaxed), 0);
    assert_eq!(host.service_spec("svc").unwrap().component, r("text@1.0.0"));
}

fn reading(value: f64) -> Input {
    Input::new(format!("{{\"sensor\":\"t1\",\"ts\":1,\"value\":{value}}}\n").into_bytes())
}

fn count(out: &host_core::Output) -> u64 {
    let summary: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
    summary["sensors"]["t1"]["count"].as_u64().unwrap()
}

#[test]
fn stateful_count_survives_an_upgrade_and_a_failed_restore_keeps_v1() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "stats@1.0.0", "iot-sensors", "sensor-stats");
    add_sample(&host, "stats@1.1.0", "iot-sensors", "sensor-stats");
    host.deploy(DeployRequest::new("stats", r("stats@1.0.0"))).unwrap();
    for v in [1.0, 2.0, 3.0] {
        host.invoke("stats", &reading(v)).unwrap();
    }
    host.deploy(DeployRequest::new("stats", r("stats@1.1.0"))).unwrap();
    assert_eq!(count(&host.invoke("stats", &reading(4.0)).unwrap()), 4, "count carried across the upgrade");

    let refusing = tiny::Tiny { state: Some((tiny::SNAPSHOT_EMPTY, tiny::RESTORE_REFUSES)), ..Default::default() };
    host.add_component(&r("stats@2.0.0"), &refusing.bytes()).unwrap();
    let err = host.deploy(DeployRequest::new("stats", r("stats@2.0.0"))).unwrap_err();
    let Error::RolloutFailed(record) = err else { panic!("{err}") };
    assert!(
        matches!(&record.outcome, RolloutOutcome::Failed(r) if r.contains("state migration")),
        "{:?}",
        record.outcome
    );
    assert_eq!(count(&host.invoke("stats", &reading(5.0)).unwrap()), 5, "v1.1 serves on with its count");
}

#[test]
fn stateful_service_refuses_canary_and_rolling() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "stats@1.0.0", "iot-sensors", "sensor-stats");
    add_sample(&host, "stats@1.1.0", "iot-sensors", "sensor-stats");
    host.deploy(DeployRequest::new("stats", r("stats@1.0.0"))).unwrap();
    for strategy in [Strategy::canary(), Strategy::Rolling { batch: 1 }] {
        let err = host.deploy(DeployRequest::new("stats", r("stats@1.1.0")).strategy(strategy)).unwrap_err();
        assert!(matches!(err, Error::StatefulStrategy { .. }), "{err:?}");
        assert!(err.to_string().contains("two live versions cannot share one state"), "{err}");
    }
}

#[test]
fn restart_brings_back_services_config_and_history() {
    let dir = tempfile::tempdir().unwrap();
    {
        let host = data_host(dir.path());
        add_sample(&host, "alert@1.0.0", "iot-sensors", "threshold-alert");
        host.deploy(DeployRequest::new("alerts", r("alert@1.0.0")).config([("threshold", "40")])).unwrap();
        host.close();
    }
    let host = data_host(dir.path());
    let spec = host.service_spec("alerts").unwrap();
    assert_eq!(spec.component, r("alert@1.0.0"));
    assert_eq!(spec.config.get("threshold").map(String::as_str), Some("40"));
    let out = host.invoke("alerts", &reading(50.0)).unwrap();
    assert!(out.metadata.iter().any(|(k, v)| k == "port" && *v == host_core::Value::Text("alert".into())));
    assert_eq!(host.rollouts(Some("alerts")).unwrap().len(), 1);
    assert_eq!(host.compilations(), 0, "the restarted host reads compiled code from the cache");
}

#[test]
fn rollback_deploys_the_previous_version_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let host = two_versions(dir.path(), PoolMode::Pooled { size: 1 });
    host.deploy(DeployRequest::new("svc", r("text@2.0.0"))).unwrap();
    let record = host.rollback("svc").unwrap();
    assert_eq!(record.trigger, "rollback");
    assert_eq!(record.to, r("text@1.0.0"));
    assert_eq!(host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap().data, V1_OUT);
    let err = host.rollback("svc").unwrap_err();
    assert!(matches!(err, Error::NothingToRollBack { .. }), "{err:?}");
    let triggers: Vec<String> =
        host.rollouts(Some("svc")).unwrap().into_iter().map(|r| r.trigger.to_string()).collect();
    assert_eq!(triggers, ["deploy", "deploy", "rollback"]);
}

#[test]
fn trapping_calls_fail_alone_and_the_pool_heals() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let trap_on_odd = tiny::FLAKY
        .replace("(i32.store8 (i32.const 32) (i32.const 1))", "unreachable (i32.store8 (i32.const 32) (i32.const 1))");
    host.add_component(&r("trappy@1.0.0"), &tiny::Tiny { execute: &trap_on_odd, ..Default::default() }.bytes())
        .unwrap();
    host.deploy(DeployRequest::new("t", r("trappy@1.0.0")).pool(PoolMode::Pooled { size: 1 })).unwrap();
    // The first call traps; its instance is replaced, so the next (a fresh
    // instance's first call) traps too: every call fails alone and typed.
    for _ in 0..5 {
        let err = host.invoke("t", &Input::new(b"x".to_vec())).unwrap_err();
        assert!(matches!(err, Error::Trap { .. }), "{err:?}");
    }
    let status = host.status(Some("t")).unwrap();
    assert_eq!(status[0].versions[0].live_instances, 1, "the pool keeps its size");
    assert_eq!(status[0].versions[0].errors, 5);
}

#[test]
fn blue_green_rollback_inside_the_window_reuses_the_warm_pool() {
    let dir = tempfile::tempdir().unwrap();
    let host = two_versions(dir.path(), PoolMode::Pooled { size: 2 });
    for _ in 0..5 {
        host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap();
    }
    host.deploy(DeployRequest::new("svc", r("text@2.0.0")).strategy(Strategy::BlueGreen { keep_old_ms: 60_000 }))
        .unwrap();
    host.rollback("svc").unwrap();
    // The warm v1 deployment came back, with its counters and instances.
    let status = &host.status(Some("svc")).unwrap()[0];
    assert_eq!(status.versions[0].component, r("text@1.0.0"));
    assert_eq!(status.versions[0].calls, 5);
    assert_eq!(status.versions[0].live_instances, 2);
    assert_eq!(host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap().data, V1_OUT);
}

#[test]
fn blue_green_standby_is_stopped_when_its_window_ends() {
    let dir = tempfile::tempdir().unwrap();
    let host = two_versions(dir.path(), PoolMode::Pooled { size: 2 });
    host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap();
    host.deploy(DeployRequest::new("svc", r("text@2.0.0")).strategy(Strategy::BlueGreen { keep_old_ms: 50 })).unwrap();
    let live_v1 = || {
        let metrics = host.metrics().unwrap();
        let service = metrics.service("svc").unwrap();
        service.versions.iter().find(|v| v.version == "text@1.0.0").unwrap().live_instances
    };
    assert_eq!(live_v1(), 2, "the standby is warm inside the window");
    thread::sleep(Duration::from_millis(400));
    assert_eq!(live_v1(), 0, "the standby's pool was shut down when the window ended");
    host.rollback("svc").unwrap();
    assert_eq!(live_v1(), 2, "a fresh v1 pool");
    assert_eq!(host.invoke("svc", &Input::new(b"hello world".to_vec())).unwrap().data, V1_OUT);
}

#[test]
fn a_services_limits_are_one_set_stored_with_it_and_applied_to_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "waiter@1.0.0", "security-probes", "waiter");
    let limits = ServiceLimits { timeout_ms: 200, max_memory_mib: 32, max_table_elements: 5_000 };
    host.deploy(DeployRequest::new("w", r("waiter@1.0.0")).limits(limits)).unwrap();
    assert_eq!(host.service_spec("w").unwrap().limits, limits);
    // The stored spec keeps the flat field names data folders always had.
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("services/w.json")).unwrap()).unwrap();
    assert_eq!(stored["timeout_ms"], 200);
    assert_eq!(stored["max_table_elements"], 5_000);
    let err = host.invoke("w", &Input::new(br#"{"op":"sleep","ms":60000}"#.to_vec())).unwrap_err();
    assert!(matches!(err, Error::Timeout { limit, .. } if limit == Duration::from_millis(200)), "{err:?}");
    // A redeploy without limits keeps them; another process sees them.
    host.deploy(DeployRequest::new("w", r("waiter@1.0.0"))).unwrap();
    host.close();
    let again = data_host(dir.path());
    assert_eq!(again.service_spec("w").unwrap().limits, limits);
}

#[test]
fn limits_that_cannot_work_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    let before = host.service_spec("svc").unwrap();

    let zero = ServiceLimits { timeout_ms: 0, ..ServiceLimits::default() };
    let err = host.deploy(DeployRequest::new("svc", r("text@1.0.0")).limits(zero)).unwrap_err();
    assert!(matches!(err, Error::InvalidLimits(_)) && err.to_string().contains("timeout_ms"), "{err}");

    // The data host's maximum memory is 256 MiB.
    let huge = ServiceLimits { max_memory_mib: 1024, ..ServiceLimits::default() };
    let err = host.deploy(DeployRequest::new("svc", r("text@1.0.0")).limits(huge)).unwrap_err();
    assert!(matches!(err, Error::HostMaximum { .. }), "{err:?}");
    assert!(err.to_string().contains("needs 1024 MiB, the limit is 256 MiB"), "{err}");
    assert_eq!(host.service_spec("svc").unwrap(), before);
}

#[test]
fn a_pool_larger_than_the_host_capacity_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new(HostConfig {
        data_dir: Some(dir.path().to_path_buf()),
        cache_dir: Some(dir.path().join("cache")),
        pool: PoolConfig { max_instances: 4, ..PoolConfig::default() },
        ..HostConfig::default()
    })
    .unwrap();
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    let err = host.deploy(DeployRequest::new("many", r("text@1.0.0")).pool(PoolMode::Pooled { size: 5 })).unwrap_err();
    assert!(matches!(err, Error::HostCapacity { needed: 5, capacity: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("HostConfig::pool.max_instances"), "names the setting: {err}");
    assert!(host.services().unwrap().is_empty(), "nothing was deployed");
    // Within the capacity it deploys; a second pool that does not fit next
    // to the first is refused the same way.
    host.deploy(DeployRequest::new("three", r("text@1.0.0")).pool(PoolMode::Pooled { size: 3 })).unwrap();
    let err = host.deploy(DeployRequest::new("two", r("text@1.0.0")).pool(PoolMode::Pooled { size: 2 })).unwrap_err();
    assert!(matches!(err, Error::HostCapacity { needed: 2, capacity: 4, in_use: 3 }), "{err:?}");
}
