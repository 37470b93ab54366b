//! Message traces over real sample services: a run's node calls in order
//! with previews and ports, the bounded ring (memory and
//! `DATA/traces.jsonl`), failures, tracing turned off, and traces through
//! `airssys serve`.

use host_core::{
    Host, HostConfig, Input, PoolConfig, RemoteRuntime, Runtime, Value,
    deploy::DeployRequest,
    pipeline::{ErrorPolicy, PREVIEW_BYTES, Pipeline, RunOptions, RunTrace, TRACES_FILE},
    remote::server::{self, ServerConfig},
};

use crate::common::{add_sample, r};

fn host(dir: &std::path::Path, trace_runs: usize) -> Host {
    Host::new(HostConfig {
        data_dir: Some(dir.to_path_buf()),
        cache_dir: Some(dir.join("cache")),
        pool: PoolConfig { max_instances: 32, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        trace_runs,
        ..HostConfig::default()
    })
    .unwrap()
}

fn deploy_samples(host: &Host) {
    for (reference, project, name) in [
        ("upper@1.0.0", "text-tools", "upper"),
        ("wc@1.0.0", "text-tools", "word-count"),
        ("pretty@1.0.0", "text-tools", "json-pretty"),
        ("csv@1.0.0", "iot-sensors", "sensor-csv"),
        ("alert@1.0.0", "iot-sensors", "threshold-alert"),
        ("stats@1.0.0", "iot-sensors", "sensor-stats"),
    ] {
        add_sample(host, reference, project, name);
        let service = reference.split('@').next().unwrap();
        let mut request = DeployRequest::new(service, r(reference));
        if service == "alert" {
            request = request.config([("threshold", "40")]);
        }
        host.deploy(request).unwrap();
    }
}

fn text_pipeline() -> Pipeline {
    Pipeline::new("text").node("up", "upper").node("count", "wc").wire("up", "out", "count")
}

fn file_lines(dir: &std::path::Path) -> Vec<RunTrace> {
    let text = std::fs::read_to_string(dir.join(TRACES_FILE)).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_runs_trace_lists_its_node_calls_in_order_with_previews_and_ports() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), 10);
    deploy_samples(&host);
    let iot = Pipeline::new("iot")
        .node("parse", "csv")
        .node_with("check", "alert", ErrorPolicy::Fail, &["alert", "ok"])
        .node("summary", "stats")
        .wire("parse", "out", "check")
        .wire("check", "alert", "summary");
    let input = b"t1,1700000000,55.5\nt2,1700000001,12\n";
    let run = host.run_pipeline(&iot, Input::new(input.to_vec()), &RunOptions::default()).unwrap();
    let id = run.trace_id.expect("a traced run carries its trace id");
    assert_eq!(id.to_string().len(), 32);

    let traces = host.traces(Some("iot"), 0).unwrap();
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    assert_eq!((trace.trace_id, trace.pipeline.as_str(), trace.ok()), (id, "iot", true));
    assert_eq!((trace.results, trace.dropped), (1, 0));
    let nodes: Vec<(&str, &str)> = trace.steps.iter().map(|s| (s.node.as_str(), s.service.as_str())).collect();
    assert_eq!(nodes, [("parse", "csv"), ("check", "alert"), ("summary", "stats")], "in the order they ran");
    let parse = &trace.steps[0];
    assert_eq!((parse.input.size, parse.input.preview.as_bytes()), (input.len() as u64, &input[..]));
    assert_eq!(parse.port.as_deref(), Some("out"));
    let parsed = parse.output.as_ref().unwrap();
    assert!(parsed.preview.contains("t1") && parsed.size > 0, "{parsed:?}");
    assert_eq!(trace.steps[1].input, *parsed, "what left one node is what the next received");
    assert_eq!(trace.steps[1].port.as_deref(), Some("alert"), "the port the component chose");
    let summary = trace.steps[2].output.as_ref().unwrap();
    assert_eq!(summary.preview.as_bytes(), &run.results[0].data[..summary.preview.len()]);
    assert!(trace.steps.windows(2).all(|w| w[0].start_us <= w[1].start_us));
    let calls: u64 = trace.steps.iter().map(|s| s.duration_us).sum();
    assert!(calls > 0 && calls <= trace.duration_us, "{calls} µs of calls in {} µs", trace.duration_us);
    assert!(trace.steps.iter().all(|s| s.error.is_none()));

    // A 1 KiB body with its media type: the trace keeps only the first bytes.
    let mut big = Input::new(vec![b'a'; 1024]);
    big.metadata = vec![("content-type".into(), Value::Text("text/plain".into()))];
    let run = host.run_pipeline(&text_pipeline(), big, &RunOptions::default()).unwrap();
    let trace = host.traces(Some("text"), 1).unwrap().remove(0);
    assert_eq!(Some(trace.trace_id), run.trace_id);
    let up = &trace.steps[0];
    assert_eq!((up.input.size, up.input.preview.len()), (1024, PREVIEW_BYTES));
    assert_eq!(up.input.media_type.as_deref(), Some("text/plain"));
    assert_eq!(up.output.as_ref().unwrap().preview, "A".repeat(PREVIEW_BYTES));
    assert_eq!(host.traces(None, 0).unwrap().len(), 2);
}

#[test]
fn the_ring_keeps_the_last_n_runs_in_memory_and_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = host(dir.path(), 3);
    deploy_samples(&first);
    for i in 0..5 {
        first
            .run_pipeline(&text_pipeline(), Input::new(format!("run {i}").into_bytes()), &RunOptions::default())
            .unwrap();
    }
    let kept: Vec<String> = first.traces(None, 0).unwrap().iter().map(|t| t.steps[0].input.preview.clone()).collect();
    assert_eq!(kept, ["run 2", "run 3", "run 4"], "memory keeps the last 3");
    assert!(!dir.path().join(TRACES_FILE).exists(), "nothing written during runs");
    first.close();
    let stored: Vec<String> = file_lines(dir.path()).iter().map(|t| t.steps[0].input.preview.clone()).collect();
    assert_eq!(stored, kept, "the file keeps the same 3");
    drop(first);

    // Another process on the same folder: the file keeps the last 3 of both.
    let second = host(dir.path(), 3);
    for i in 5..7 {
        second
            .run_pipeline(&text_pipeline(), Input::new(format!("run {i}").into_bytes()), &RunOptions::default())
            .unwrap();
    }
    let seen: Vec<String> = second.traces(None, 0).unwrap().iter().map(|t| t.steps[0].input.preview.clone()).collect();
    assert_eq!(seen, ["run 4", "run 5", "run 6"], "the file plus this process's runs");
    assert_eq!(second.traces(None, 2).unwrap().len(), 2);
    second.close();
    let stored: Vec<String> = file_lines(dir.path()).iter().map(|t| t.steps[0].input.preview.clone()).collect();
    assert_eq!(stored, ["run 4", "run 5", "run 6"]);
}

#[test]
fn a_failing_nodes_step_carries_the_error_whatever_its_policy() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), 10);
    deploy_samples(&host);
    let strict = Pipeline::new("strict").node("parse", "pretty");
    let err = host.run_pipeline(&strict, Input::new(b"{not json".to_vec()), &RunOptions::default()).unwrap_err();
    let trace = host.traces(Some("strict"), 1).unwrap().remove(0);
    assert!(!trace.ok());
    assert_eq!(trace.error.as_deref(), Some(err.to_string().as_str()), "the run's error");
    let step = &trace.steps[0];
    assert_eq!(step.node, "parse");
    assert!(step.error.as_deref().unwrap().contains("invalid-input"), "{step:?}");
    assert_eq!((step.port.as_deref(), step.output.as_ref()), (None, None));
    assert_eq!(step.input.preview, "{not json");

    let routed = Pipeline::new("routed")
        .node_with("parse", "pretty", ErrorPolicy::Route, &[])
        .node("loud", "upper")
        .wire("parse", "error", "loud");
    host.run_pipeline(&routed, Input::new(b"{not json".to_vec()), &RunOptions::default()).unwrap();
    let trace = host.traces(Some("routed"), 1).unwrap().remove(0);
    assert!(trace.ok());
    let parse = &trace.steps[0];
    assert_eq!(parse.port.as_deref(), Some("error"));
    assert!(parse.error.as_deref().unwrap().contains("invalid-input"));
    assert!(parse.output.as_ref().unwrap().preview.contains("invalid-input"), "the routed message is the error");
    assert_eq!(trace.steps[1].node, "loud");

    let dropped = Pipeline::new("dropped").node_with("parse", "pretty", ErrorPolicy::Drop, &[]);
    host.run_pipeline(&dropped, Input::new(b"{not json".to_vec()), &RunOptions::default()).unwrap();
    let trace = host.traces(Some("dropped"), 1).unwrap().remove(0);
    assert_eq!(trace.dropped, 1);
    assert!(trace.steps[0].error.is_some() && trace.steps[0].output.is_none());

    // A pipeline that does not validate is traced too: no steps, the reason.
    let ghost = Pipeline::new("ghost").node("a", "nobody");
    host.run_pipeline(&ghost, Input::new(Vec::new()), &RunOptions::default()).unwrap_err();
    let trace = host.traces(Some("ghost"), 1).unwrap().remove(0);
    assert!(trace.steps.is_empty() && trace.error.as_deref().unwrap().contains("nobody"), "{trace:?}");
}

#[test]
fn a_host_with_tracing_off_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), 0);
    deploy_samples(&host);
    let run = host.run_pipeline(&text_pipeline(), Input::new(b"hi".to_vec()), &RunOptions::default()).unwrap();
    assert_eq!(run.trace_id, None);
    assert!(host.traces(None, 0).unwrap().is_empty());
    host.close();
    assert!(!dir.path().join(TRACES_FILE).exists());
}

#[test]
fn traces_come_through_http_as_they_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let served = host(dir.path(), 10);
    deploy_samples(&served);
    let token = "0123456789abcdef0123456789abcdef";
    let running = server::start(served, ServerConfig::loopback(0, token)).unwrap();
    let remote = RemoteRuntime::new(&running.url(), token);
    let mut ids = Vec::new();
    for word in ["one", "two"] {
        let run = remote.run_pipeline(&text_pipeline(), Input::new(word.into()), &RunOptions::default()).unwrap();
        ids.push(run.trace_id.expect("the trace id travels with the run"));
    }
    let upper = Pipeline::new("upper-only").node("up", "upper");
    remote.run_pipeline(&upper, Input::new(b"three".to_vec()), &RunOptions::default()).unwrap();

    let text = remote.traces(Some("text"), 0).unwrap();
    assert_eq!(text.iter().map(|t| t.trace_id).collect::<Vec<_>>(), ids);
    let steps: Vec<(&str, Option<&str>)> = text[1].steps.iter().map(|s| (s.node.as_str(), s.port.as_deref())).collect();
    assert_eq!(steps, [("up", Some("out")), ("count", Some("out"))]);
    assert_eq!(text[1].steps[1].input.preview, "TWO");
    let last = remote.traces(None, 1).unwrap();
    assert_eq!((last.len(), last[0].pipeline.as_str()), (1, "upper-only"));
    assert!(remote.traces(Some("nope"), 0).unwrap().is_empty());
    assert_eq!(remote.traces(None, 0).unwrap().len(), 3);
}
