//! Tiered compilation: a large new component serves at once on Winch's
//! baseline code while Cranelift compiles it in the background; live
//! services then swap to the optimised code with no failed call, and the
//! compile cache keeps only the optimised code.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use host_core::{CompileTier, Host, HostConfig, Input, LoadOrigin, PoolConfig, deploy::DeployRequest};

use crate::common::*;

/// A data host on `dir` that tiers components of at least `min` bytes.
fn tiering_host(dir: &std::path::Path, min: Option<u64>) -> Host {
    Host::new(HostConfig {
        data_dir: Some(dir.to_path_buf()),
        cache_dir: Some(dir.join("cache")),
        pool: PoolConfig { max_instances: 64, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        tiered_min_bytes: min,
        ..HostConfig::default()
    })
    .expect("host starts")
}

fn tier_of(host: &Host, service: &str) -> CompileTier {
    host.status(Some(service)).unwrap()[0].versions[0].tier
}

/// Calls `service` from two threads until `stop`; counts calls and failures.
fn load(
    host: &Host,
    service: &str,
    input: &'static [u8],
    stop: &Arc<AtomicBool>,
) -> Vec<thread::JoinHandle<(u64, Vec<String>)>> {
    (0..2)
        .map(|_| {
            let (host, service, stop) = (host.clone(), service.to_string(), stop.clone());
            thread::spawn(move || {
                let (mut calls, mut failures) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match host.invoke(&service, &Input::new(input.to_vec())) {
                        Ok(_) => calls += 1,
                        Err(e) => failures.push(e.to_string()),
                    }
                }
                (calls, failures)
            })
        })
        .collect()
}

/// Waits (up to `limit`) until `service` runs optimised code.
fn wait_for_optimised(host: &Host, service: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while tier_of(host, service) != CompileTier::Optimized {
        assert!(Instant::now() < deadline, "{service} still on baseline code after {limit:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_new_component_over_the_threshold_serves_on_baseline_code_then_swaps_under_load_with_no_failed_call() {
    let dir = tempfile::tempdir().unwrap();
    // Every component is "large" here, so a small one shows the mechanism fast.
    let host = tiering_host(dir.path(), Some(0));
    add_sample(&host, "upper@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let first = host.invoke("upper", &Input::new(b"first".to_vec())).unwrap();
    assert_eq!(first.data, b"FIRST");
    calls.fetch_add(1, Ordering::Relaxed);
    let workers = load(&host, "upper", b"hello", &stop);
    wait_for_optimised(&host, "upper", Duration::from_secs(120));
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for w in workers {
        let (n, f) = w.join().unwrap();
        calls.fetch_add(n, Ordering::Relaxed);
        failures.extend(f);
    }
    assert!(failures.is_empty(), "failed calls during the swap: {failures:?}");
    assert!(calls.load(Ordering::Relaxed) > 10);
    // The swap is not a deploy: one rollout, the spec unchanged.
    assert_eq!(host.rollouts(Some("upper")).unwrap().len(), 1);
    // The cache holds the optimised code: a new host loads it without tiering.
    drop(host);
    let again = tiering_host(dir.path(), Some(0));
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    let loaded = again.load_bytes(&bytes).unwrap();
    assert_eq!((loaded.tier(), loaded.origin()), (CompileTier::Optimized, LoadOrigin::DiskCache));
    assert_eq!(again.invoke("upper", &Input::new(b"x".to_vec())).unwrap().data, b"X");
    assert_eq!(tier_of(&again, "upper"), CompileTier::Optimized);
}

#[test]
fn components_under_the_threshold_or_with_tiering_off_compile_optimised_first() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    let host = tiering_host(&dir.path().join("a"), Some(4 << 20));
    assert_eq!(host.load_bytes(&bytes).unwrap().tier(), CompileTier::Optimized, "upper.wasm is far under 4 MiB");
    let host = tiering_host(&dir.path().join("b"), None);
    assert_eq!(host.load_bytes(&bytes).unwrap().tier(), CompileTier::Optimized, "tiering off");
}

#[test]
fn a_large_python_component_answers_before_its_optimised_code_is_ready_and_then_swaps() {
    const READINGS: &[u8] = b"{\"sensor\":\"t1\",\"ts\":1700000000,\"value\":20}\n\
{\"sensor\":\"t1\",\"ts\":1700000060,\"value\":20.5}\n";
    let dir = tempfile::tempdir().unwrap();
    let host = tiering_host(dir.path(), Some(4 << 20)); // the default threshold; the component is ~18 MB
    add_sample(&host, "report@1.0.0", "iot-sensors", "sensor-report");
    host.deploy(DeployRequest::new("report", r("report@1.0.0")).pool(host_core::deploy::PoolMode::Pooled { size: 1 }))
        .unwrap();
    assert_eq!(tier_of(&host, "report"), CompileTier::Baseline, "deploy returned before Cranelift finished");
    let bytes = std::fs::read(sample_path("iot-sensors", "sensor-report")).unwrap();
    assert_eq!(host.inspect(&bytes, None).unwrap().tier, Some(CompileTier::Baseline), "inspect shows the tier");
    let out = host.invoke("report", &Input::new(READINGS.to_vec())).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
    assert_eq!(summary["readings"], 2, "{summary}");
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(&host, "report", READINGS, &stop);
    wait_for_optimised(&host, "report", Duration::from_secs(600));
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.join().unwrap().1);
    }
    assert!(failures.is_empty(), "failed calls during the swap: {failures:?}");
    let out = host.invoke("report", &Input::new(READINGS.to_vec())).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.data).unwrap(), summary, "same answer on both tiers");
}
