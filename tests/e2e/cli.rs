//! The CLI's basic verbs end to end: inspect, call, errors and exit codes.

use crate::support::*;

#[test]
fn call_upper_prints_hello_in_capitals() {
    let cache = tempfile::tempdir().unwrap();
    let upper = repo_root().join("sample-projects/text-tools/components/upper.wasm");
    let out = airssys(&["call", upper.to_str().unwrap(), "--input", "-"], b"hello", cache.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "HELLO");
}

#[test]
fn call_reads_input_from_a_file_and_passes_config() {
    let cache = tempfile::tempdir().unwrap();
    let input = cache.path().join("doc.json");
    std::fs::write(&input, br#"{"b":1}"#).unwrap();
    let pretty = repo_root().join("sample-projects/text-tools/components/json-pretty.wasm");
    let out = airssys(
        &["call", pretty.to_str().unwrap(), "--input", input.to_str().unwrap(), "--config", "indent=3"],
        b"",
        cache.path(),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\n   \"b\": 1"), "{}", text(&out.stdout));
}

#[test]
fn inspect_json_parses_for_every_sample() {
    let cache = tempfile::tempdir().unwrap();
    let samples = sample_components();
    assert!(samples.len() >= 5, "{samples:?}");
    for wasm in samples {
        let out = airssys(&["inspect", "--json", wasm.to_str().unwrap()], b"", cache.path());
        assert!(out.status.success(), "{}: {}", wasm.display(), text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(doc["required_capabilities"].is_array());
        assert!(doc["metadata"]["name"].is_string());
        assert!(doc["kind"].is_string());
    }
}

#[test]
fn inspect_prints_a_readable_summary() {
    let cache = tempfile::tempdir().unwrap();
    let upper = repo_root().join("sample-projects/text-tools/components/upper.wasm");
    let out = airssys(&["inspect", upper.to_str().unwrap()], b"", cache.path());
    let shown = text(&out.stdout);
    assert!(out.status.success());
    for expected in ["digest", "sha256:", "airssys:component@0.1.0", "upper 1.0.0", "text/plain", "exports"] {
        assert!(shown.contains(expected), "missing {expected:?} in:\n{shown}");
    }
}

#[test]
fn garbage_file_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>()).unwrap();
    let out = airssys(&["call", garbage.to_str().unwrap()], b"", dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a WebAssembly component"), "{}", text(&out.stderr));
}

#[test]
fn core_module_is_refused_and_told_to_make_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let out = airssys(&["call", core.to_str().unwrap()], b"", dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("core WebAssembly module, not a component"), "{err}");
}

#[test]
fn missing_file_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = airssys(&["call", "/no/such/component.wasm"], b"", dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("/no/such/component.wasm"), "{}", text(&out.stderr));
}

#[test]
fn guest_error_exits_non_zero_with_the_components_message() {
    let cache = tempfile::tempdir().unwrap();
    let threshold = repo_root().join("sample-projects/iot-sensors/components/threshold-alert.wasm");
    let out = airssys(&["call", threshold.to_str().unwrap(), "--input", "-"], b"", cache.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("init") && err.contains("threshold"), "{err}");
}

#[test]
fn bad_config_flag_is_a_usage_error() {
    let cache = tempfile::tempdir().unwrap();
    let out = airssys(&["call", "x.wasm", "--config", "novalue"], b"", cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("KEY=VALUE"));
}

#[test]
fn bench_quick_json_compares_with_bare_wasmtime() {
    let cache = tempfile::tempdir().unwrap();
    let out = airssys(&["bench", "--quick", "--json"], b"", cache.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = report["results"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    for key in ["instantiate", "warm_execute_1k", "warm_execute_64k", "fresh_instance_execute", "load_cached"] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let swap = &report["swap"];
    assert!(swap["swap_live_ms_p50"].as_f64().unwrap() > 0.0);
    assert!(swap["swap_p99_ratio"].as_f64().unwrap() > 0.0);
    for (strategy, failed) in swap["swap_failed_calls"].as_array().unwrap().iter().map(|p| (&p[0], &p[1])) {
        assert_eq!(failed, 0, "{strategy} failed calls during a swap");
    }
    for r in report["results"].as_array().unwrap() {
        assert!(r["bare_us"].as_f64().unwrap() > 0.0);
        assert!(r["airssys_us"].as_f64().unwrap() > 0.0);
        assert!(r["ratio"].as_f64().unwrap() > 0.0);
    }
}
