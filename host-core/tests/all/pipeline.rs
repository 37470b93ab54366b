//! Pipelines over real sample services: fan-out, port routing, error
//! policies, validation.

use host_core::{
    Error, Host, Input,
    deploy::DeployRequest,
    pipeline::{ErrorPolicy, Pipeline, PipelineError, RunOptions},
};

use crate::common::{add_sample, data_host, r};

fn services(dir: &std::path::Path) -> Host {
    let host = data_host(dir);
    for (reference, project, name) in [
        ("upper@1.0.0", "text-tools", "upper"),
        ("wc@1.0.0", "text-tools", "word-count"),
        ("pretty@1.0.0", "text-tools", "json-pretty"),
        ("csv@1.0.0", "iot-sensors", "sensor-csv"),
        ("alert@1.0.0", "iot-sensors", "threshold-alert"),
        ("stats@1.0.0", "iot-sensors", "sensor-stats"),
    ] {
        add_sample(&host, reference, project, name);
        let service = reference.split('@').next().unwrap();
        let mut request = DeployRequest::new(service, r(reference));
        if service == "alert" {
            request = request.config([("threshold", "40")]);
        }
        host.deploy(request).unwrap();
    }
    host
}

fn run(host: &Host, pipeline: &Pipeline, input: &[u8]) -> Result<host_core::pipeline::PipelineRun, Error> {
    host.run_pipeline(pipeline, Input::new(input.to_vec()), &RunOptions::default())
}

#[test]
fn a_message_fans_out_to_every_wired_node_and_sinks_give_the_results_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let host = services(dir.path());
    let p = Pipeline::new("text")
        .node("up", "upper")
        .node("shout", "upper")
        .node("count", "wc")
        .wire("up", "out", "count")
        .wire("up", "out", "shout");
    let traced = RunOptions { trace: true, ..RunOptions::default() };
    let result = host.run_pipeline(&p, Input::new(b"hello pipeline world".to_vec()), &traced).unwrap();
    let sinks: Vec<&str> = result.results.iter().map(|o| o.node.as_str()).collect();
    assert_eq!(sinks, ["count", "shout"], "sinks in topological order (ties by name)");
    assert_eq!(result.results[1].data, b"HELLO PIPELINE WORLD");
    let counted: serde_json::Value = serde_json::from_slice(&result.results[0].data).unwrap();
    assert_eq!(counted["words"], 3);
    assert_eq!(result.trace.len(), 3, "each node's output is traced");
}

#[test]
fn a_component_routes_by_port_and_unwired_ports_drop() {
    let dir = tempfile::tempdir().unwrap();
    let host = services(dir.path());
    let p = Pipeline::new("iot")
        .node("parse", "csv")
        .node_with("check", "alert", ErrorPolicy::Fail, &["alert", "ok"])
        .node("summary", "stats")
        .wire("parse", "out", "check")
        .wire("check", "alert", "summary");
    let hot = run(&host, &p, b"t1,1700000000,55.5\nt2,1700000001,12\n").unwrap();
    assert_eq!(hot.results.len(), 1);
    let summary: serde_json::Value = serde_json::from_slice(&hot.results[0].data).unwrap();
    assert_eq!(summary["sensors"]["t1"]["count"], 1, "only the reading over 40 reached the summary: {summary}");
    assert!(summary["sensors"].get("t2").is_none());

    let calm = run(&host, &p, b"t1,1700000002,20\n").unwrap();
    assert!(calm.results.is_empty());
    assert_eq!(calm.dropped, 1, "the `ok` port has no wire");
}

#[test]
fn error_policies_fail_drop_or_route() {
    let dir = tempfile::tempdir().unwrap();
    let host = services(dir.path());
    let with_policy = |policy| {
        Pipeline::new("strict")
            .node_with("parse", "pretty", policy, &[])
            .node("loud", "upper")
            .wire("parse", "error", "loud")
    };
    let err = run(&host, &with_policy(ErrorPolicy::Fail), b"{not json").unwrap_err();
    // `fail` has no error port, so wiring it is refused before anything runs.
    assert!(
        matches!(&err, Error::InvalidPipeline { errors, .. } if matches!(errors[0], PipelineError::UnknownPort { .. })),
        "{err}"
    );

    let fail_only = Pipeline::new("strict").node("parse", "pretty");
    let err = run(&host, &fail_only, b"{not json").unwrap_err();
    assert!(matches!(&err, Error::PipelineNode { node, .. } if node == "parse"), "{err}");
    assert!(err.to_string().contains("invalid-input"), "{err}");

    let dropped =
        run(&host, &Pipeline::new("lenient").node_with("parse", "pretty", ErrorPolicy::Drop, &[]), b"{not json")
            .unwrap();
    assert!(dropped.results.is_empty());
    assert_eq!(dropped.dropped, 1);
    assert_eq!(dropped.handled_errors[0].0, "parse");

    let routed = run(&host, &with_policy(ErrorPolicy::Route), b"{not json").unwrap();
    assert_eq!(routed.results.len(), 1);
    assert_eq!(routed.results[0].node, "loud");
    assert!(String::from_utf8_lossy(&routed.results[0].data).contains("INVALID-INPUT"), "the error text, upper-cased");
}

#[test]
fn invalid_pipelines_are_refused_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let host = services(dir.path());
    let p = Pipeline::new("broken")
        .node("up", "upper")
        .node("pretty", "pretty")
        .node("ghost", "no-such-service")
        .wire("up", "out", "pretty")
        .wire("up", "out", "nowhere");
    let err = run(&host, &p, b"x").unwrap_err();
    let Error::InvalidPipeline { errors, .. } = &err else { panic!("{err}") };
    assert_eq!(errors.len(), 3, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("up.out -> pretty") && text.contains("no-such-service") && text.contains("nowhere"),
        "{text}"
    );
}

#[test]
fn the_message_deadline_bounds_each_node_call() {
    let dir = tempfile::tempdir().unwrap();
    let host = services(dir.path());
    add_sample(&host, "hostile@1.0.0", "security-probes", "hostile");
    // The service's own timeout (10 s default) is far longer than the message's.
    host.deploy(DeployRequest::new("spin", r("hostile@1.0.0")).config([("mode", "spin")])).unwrap();
    let p = Pipeline::new("slow").node_with("up", "upper", ErrorPolicy::Fail, &[]).node_with(
        "stuck",
        "spin",
        ErrorPolicy::Route,
        &[],
    );
    let p = p.wire("up", "out", "stuck");
    let options = RunOptions { deadline: std::time::Duration::from_millis(300), ..RunOptions::default() };
    let err = host.run_pipeline(&p, Input::new(b"x".to_vec()), &options).unwrap_err();
    // Not routed to `error` and not the service's 10 s timeout: the message ran out of time.
    assert!(
        matches!(&err, Error::PipelineTimeout { pipeline, limit } if pipeline == "slow" && limit.as_millis() == 300),
        "{err}"
    );
    let spun = host.metrics().unwrap().service("spin").unwrap().versions[0].latency;
    assert!(spun.max_us < 5_000_000, "the call was cut at the message's deadline: {spun:?}");
    // The spinning instance was replaced; the service still answers.
    host.deploy(DeployRequest::new("spin", r("hostile@1.0.0")).config([("mode", "echo")])).unwrap();
    assert_eq!(host.invoke("spin", &Input::new(b"hi".to_vec())).unwrap().data, b"hi");
}

#[test]
fn a_cached_plan_is_checked_again_when_a_node_gets_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let host = services(dir.path());
    add_sample(&host, "upper@2.0.0", "text-tools", "word-count");
    let p = Pipeline::new("chain").node("a", "upper").node("b", "upper").wire("a", "out", "b");
    assert_eq!(run(&host, &p, b"abc").unwrap().results[0].data, b"ABC");
    // `a` now produces JSON, which `b` (text/plain) does not accept.
    host.deploy(DeployRequest::new("upper", r("upper@2.0.0"))).unwrap();
    let err = run(&host, &p, b"abc").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPipeline { errors, .. } if matches!(errors[0], PipelineError::MediaTypeMismatch { .. })),
        "{err}"
    );
    // An edited pipeline with the same name is not served from the old plan.
    let edited = Pipeline::new("chain").node("a", "upper").node("b", "pretty").wire("a", "out", "b");
    let counted: serde_json::Value =
        serde_json::from_slice(&run(&host, &edited, b"a b").unwrap().results[0].data).unwrap();
    assert_eq!(counted["words"], 2);
}
