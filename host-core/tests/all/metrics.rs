//! Metrics through real calls: counters, latency, memory, fuel, health,
//! pipeline nodes; persistence across hosts (processes) on one data folder;
//! Prometheus text.

use host_core::{
    Health, Host, HostConfig, Input, PoolConfig,
    deploy::{DeployRequest, PoolMode},
    metrics::MetricsSnapshot,
    pipeline::{ErrorPolicy, Pipeline, RunOptions},
};

use crate::{
    common::{add_sample, data_host, r},
    tiny,
};

fn version<'a>(snapshot: &'a MetricsSnapshot, service: &str) -> &'a host_core::metrics::VersionMetrics {
    let found = snapshot.service(service).unwrap_or_else(|| panic!("no metrics for {service}: {snapshot:#?}"));
    &found.versions[0]
}

#[test]
fn calls_errors_latency_memory_and_live_instances_are_counted_per_version() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "pretty@1.0.0", "text-tools", "json-pretty");
    host.deploy(DeployRequest::new("pretty", r("pretty@1.0.0")).pool(PoolMode::Pooled { size: 2 })).unwrap();
    for _ in 0..20 {
        host.invoke("pretty", &Input::new(br#"{"a": 1}"#.to_vec())).unwrap();
    }
    for _ in 0..3 {
        host.invoke("pretty", &Input::new(b"{broken".to_vec())).unwrap_err();
    }
    let snapshot = host.metrics().unwrap();
    let v = version(&snapshot, "pretty");
    assert_eq!((v.version.as_str(), v.calls, v.errors), ("pretty@1.0.0", 23, 3));
    assert_eq!(v.latency.count, 23);
    assert!(v.latency.p50_us >= 1 && v.latency.p50_us <= v.latency.p95_us && v.latency.p95_us <= v.latency.p99_us);
    assert!(v.latency.p99_us <= v.latency.max_us);
    assert!(v.memory_high_water_bytes >= 64 * 1024, "at least one wasm page: {}", v.memory_high_water_bytes);
    assert_eq!(v.live_instances, 2);
    assert_eq!(v.fuel_used, 0, "fuel is off by default");
    let health = snapshot.service("pretty").unwrap().health.as_ref().expect("the deploy read its health");
    assert_eq!(health.health, Health::Healthy);
}

#[test]
fn counts_from_several_processes_add_up_in_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    {
        let host = data_host(dir.path());
        add_sample(&host, "upper@1.0.0", "text-tools", "upper");
        host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
        for _ in 0..5 {
            host.invoke("upper", &Input::new(b"a".to_vec())).unwrap();
        }
        host.close();
    }
    // Two more "processes": one flushes twice (nothing is counted twice).
    let second = data_host(dir.path());
    let third = data_host(dir.path());
    for _ in 0..4 {
        second.invoke("upper", &Input::new(b"b".to_vec())).unwrap();
    }
    second.flush_metrics().unwrap();
    second.invoke("upper", &Input::new(b"c".to_vec())).unwrap();
    third.invoke("upper", &Input::new(b"d".to_vec())).unwrap();
    // Unflushed counts of this process show in its snapshot.
    assert_eq!(version(&third.metrics().unwrap(), "upper").calls, 5 + 4 + 1);
    second.close();
    third.close();
    let reader = data_host(dir.path());
    let v = version(&reader.metrics().unwrap(), "upper").clone();
    assert_eq!(v.calls, 11);
    assert_eq!(v.latency.count, 11, "the histogram is merged too");
    assert_eq!(v.live_instances, 0, "nothing runs in the reading process");
}

#[test]
fn an_unreadable_metrics_file_is_moved_aside_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "upper@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
    std::fs::write(dir.path().join("metrics.json"), b"{ torn").unwrap();
    host.invoke("upper", &Input::new(b"a".to_vec())).unwrap();
    assert_eq!(version(&host.metrics().unwrap(), "upper").calls, 1, "a torn file reads as empty");
    host.flush_metrics().unwrap();
    let kept: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("metrics.json.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "the unreadable file is kept for inspection");
    assert_eq!(std::fs::read(dir.path().join(&kept[0])).unwrap(), b"{ torn");
    assert_eq!(version(&data_host(dir.path()).metrics().unwrap(), "upper").calls, 1);
}

#[test]
fn fuel_used_is_measured_when_the_host_meters_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new(HostConfig {
        data_dir: Some(dir.path().to_path_buf()),
        cache_dir: Some(dir.path().join("cache")),
        fuel_per_call: Some(10_000_000),
        pool: PoolConfig { max_instances: 16, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        ..HostConfig::default()
    })
    .unwrap();
    add_sample(&host, "wc@1.0.0", "text-tools", "word-count");
    host.deploy(DeployRequest::new("wc", r("wc@1.0.0"))).unwrap();
    host.invoke("wc", &Input::new(b"one two".to_vec())).unwrap();
    let small = version(&host.metrics().unwrap(), "wc").fuel_used;
    assert!(small > 0);
    host.invoke("wc", &Input::new(b"word ".repeat(2000))).unwrap();
    let total = version(&host.metrics().unwrap(), "wc").fuel_used;
    assert!(total - small > small, "a longer input burns more fuel: {small} then {}", total - small);
}

#[test]
fn health_is_polled_from_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    host.add_component(&r("sick@1.0.0"), &tiny::Tiny { health: tiny::UNHEALTHY, ..Default::default() }.bytes())
        .unwrap();
    add_sample(&host, "upper@1.0.0", "text-tools", "upper");
    // Immediate deploys do not gate on health; the reading records it.
    host.deploy(DeployRequest::new("sick", r("sick@1.0.0"))).unwrap();
    host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
    let polled = host.poll_health().unwrap();
    let names: Vec<&str> = polled.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["sick", "upper"]);
    assert!(matches!(polled[0].1.health, Health::Unhealthy(_)), "{polled:?}");
    assert_eq!(polled[1].1.health, Health::Healthy);
    host.close();
    let stored = data_host(dir.path()).metrics().unwrap();
    assert!(matches!(stored.service("sick").unwrap().health.as_ref().unwrap().health, Health::Unhealthy(_)));
}

#[test]
fn the_monitor_polls_and_stores_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "upper@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
    host.invoke("upper", &Input::new(b"a".to_vec())).unwrap();
    let monitor = host.monitor(std::time::Duration::from_millis(20)).unwrap();
    let reader = data_host(dir.path());
    let mut stored = 0;
    for _ in 0..500 {
        stored = reader.metrics().unwrap().service("upper").map_or(0, |s| s.versions.first().map_or(0, |v| v.calls));
        if stored == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(monitor);
    assert_eq!(stored, 1, "another process sees the call once the monitor flushed");
}

#[test]
fn pipeline_nodes_count_messages_in_out_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "pretty@1.0.0", "text-tools", "json-pretty");
    add_sample(&host, "upper@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("pretty", r("pretty@1.0.0"))).unwrap();
    host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
    let p = Pipeline::new("tidy")
        .node_with("parse", "pretty", ErrorPolicy::Route, &[])
        .node("ok", "pretty")
        .node("loud", "upper")
        .wire("parse", "out", "ok")
        .wire("parse", "error", "loud");
    for input in [&b"[1]"[..], b"[2]", b"{bad"] {
        host.run_pipeline(&p, Input::new(input.to_vec()), &RunOptions::default()).unwrap();
    }
    let snapshot = host.metrics().unwrap();
    let parse = snapshot.node("tidy", "parse").unwrap();
    assert_eq!((parse.messages_in, parse.messages_out, parse.errors), (3, 3, 1));
    let ok = snapshot.node("tidy", "ok").unwrap();
    assert_eq!((ok.messages_in, ok.messages_out, ok.errors), (2, 2, 0));
    let loud = snapshot.node("tidy", "loud").unwrap();
    assert_eq!((loud.messages_in, loud.messages_out), (1, 1));

    let text = snapshot.to_prometheus();
    assert!(text.contains("# TYPE airssys_calls_total counter"), "{text}");
    assert!(text.contains(r#"airssys_calls_total{service="pretty",version="pretty@1.0.0"} 5"#), "{text}");
    assert!(text.contains(r#"airssys_errors_total{service="pretty",version="pretty@1.0.0"} 1"#), "{text}");
    assert!(text.contains(r#"airssys_call_duration_seconds{service="upper",version="upper@1.0.0",quantile="0.99"}"#));
    assert!(text.contains(r#"airssys_pipeline_node_errors_total{pipeline="tidy",node="parse"} 1"#), "{text}");
    assert!(text.contains(r#"airssys_health{service="upper"} 1"#), "{text}");
    // Every sample line is `name{labels} value` with a numeric value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}
