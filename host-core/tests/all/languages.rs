//! One contract, four guest languages: the committed Python (componentize-py)
//! and JavaScript (componentize-js) samples go through the same lifecycle as
//! the Rust and C ones: instantiate, describe, init with config, execute,
//! health, required capabilities, and a guest error coming back as the
//! component's own kind and message. Plus jaq, a third-party WASI command
//! from crates.io, run under the host's wasmtime with the positional
//! arguments it needs (which a project cannot pass yet).

use std::sync::Arc;

use host_core::{Capability, ComponentKind, Error, GuestErrorKind, Health, Input, LoadedComponent, Output, Value};

use crate::common::*;

/// What the contract's own interfaces look like among a component's imports.
const CONTRACT_IMPORTS: [&str; 2] = ["airssys:component/host@0.1.0", "airssys:component/types@0.1.0"];

fn python() -> Arc<LoadedComponent> {
    sample("iot-sensors", "sensor-report")
}

fn javascript() -> Arc<LoadedComponent> {
    sample("blog-publisher", "toc")
}

fn call(component: &Arc<LoadedComponent>, pairs: &[(&str, &str)], input: &[u8]) -> Result<Output, Error> {
    let host = shared_host();
    host.call_once(component, &config(pairs), &Input::new(input.to_vec()), host.config().default_limits.clone())
}

fn text(output: &Output) -> &str {
    std::str::from_utf8(&output.data).unwrap()
}

fn meta<'a>(output: &'a Output, key: &str) -> Option<&'a Value> {
    output.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn guest_error(result: Result<Output, Error>, function: &str) -> host_core::GuestError {
    match result {
        Err(Error::Guest { function: f, error }) if f == function => error,
        other => panic!("expected a guest error from `{function}`, got {other:?}"),
    }
}

const READINGS: &[u8] = b"{\"sensor\":\"t1\",\"ts\":1700000000,\"value\":20}\n\
{\"sensor\":\"t1\",\"ts\":1700000060,\"value\":20.5}\n\
{\"sensor\":\"t1\",\"ts\":1700000120,\"value\":19.5}\n\
{\"sensor\":\"t1\",\"ts\":1700000180,\"value\":90}\n\
{\"sensor\":\"t2\",\"ts\":1700000000,\"value\":5}\n";

const PAGE: &[u8] =
    b"<h1>Hello World</h1>\n<p>x</p>\n<h2>Caf\xc3\xa9 &amp; tea</h2>\n<h2>Hello World</h2>\n<h3>Deep</h3>\n";

// ------------------------------------------------------------------ all four

/// (language, project, component, contract?) of one sample per language.
const LANGUAGES: [(&str, &str, &str, bool); 4] = [
    ("rust", "text-tools", "json-pretty", true),
    ("c", "iot-sensors", "sensor-csv", false),
    ("python", "iot-sensors", "sensor-report", true),
    ("javascript", "blog-publisher", "toc", true),
];

#[test]
fn a_sample_in_each_language_loads_describes_itself_and_asks_for_no_capability() {
    for (language, project, name, contract) in LANGUAGES {
        let component = sample(project, name);
        let description = shared_host().describe(&component).unwrap();
        assert_eq!(description.metadata.name, name, "{language}");
        assert_eq!(description.required_capabilities, Vec::<Capability>::new(), "{language}");
        match (&description.info.kind, contract) {
            (ComponentKind::Contract { version, state }, true) => {
                assert_eq!(version, host_core::CONTRACT_VERSION, "{language}");
                assert!(!state, "{language}: no state interface");
                assert_eq!(description.metadata.version, "1.0.0", "{language}");
            }
            (ComponentKind::WasiCommand, false) => {}
            (kind, _) => panic!("{language}: unexpected kind {kind:?}"),
        }
        let mut instance = shared_host().instantiate(&component).unwrap();
        instance.init(&[]).unwrap();
        assert_eq!(instance.health().unwrap(), Health::Healthy, "{language}");
        instance.shutdown().unwrap();
    }
}

#[test]
fn python_and_javascript_components_import_only_the_contract_while_rust_and_c_import_wasi() {
    for component in [python(), javascript()] {
        let mut imports = component.info().imports.clone();
        imports.sort();
        assert_eq!(imports, CONTRACT_IMPORTS, "{}: WASI is stubbed or disabled", component.name());
        assert!(component.info().exports.iter().any(|e| e == "airssys:component/guest@0.1.0"));
    }
    for (project, name) in [("text-tools", "json-pretty"), ("iot-sensors", "sensor-csv")] {
        let component = sample(project, name);
        assert!(
            component.info().imports.iter().any(|i| i.starts_with("wasi:cli/")),
            "{name} imports what its standard library uses: {:?}",
            component.info().imports
        );
    }
}

#[test]
fn the_same_lifecycle_works_in_every_language_including_a_guest_error_round_trip() {
    // Rust: config `indent` changes the output; bad JSON is its own invalid-input error.
    let rust = sample("text-tools", "json-pretty");
    assert_eq!(text(&call(&rust, &[("indent", "0")], b"{ \"a\": [1, 2] }").unwrap()), "{\"a\":[1,2]}");
    assert_eq!(text(&call(&rust, &[("indent", "1")], b"{\"a\":1}").unwrap()), "{\n \"a\": 1\n}");
    let error = guest_error(call(&rust, &[], b"{oops"), "execute");
    assert_eq!(error.kind, GuestErrorKind::InvalidInput);
    assert!(error.message.starts_with("invalid JSON: key must be a string at line 1 column 2"), "{}", error.message);

    // C (a WASI command): config becomes `--KEY=VALUE` arguments, which sensor-csv
    // refuses, naming them; a bad line is exit status 1 with the line named on stderr.
    let c = sample("iot-sensors", "sensor-csv");
    let out = call(&c, &[], b"t1,1700000000,21.5\n").unwrap();
    assert_eq!(text(&out), "{\"sensor\":\"t1\",\"ts\":1700000000,\"value\":21.5}\n");
    match call(&c, &[("unused", "1")], b"t1,1700000000,21.5\n") {
        Err(Error::CommandFailed { code: 1, stderr }) => {
            assert!(stderr.starts_with("sensor-csv: unexpected argument \"--unused=1\""), "{stderr}")
        }
        other => panic!("{other:?}"),
    }
    match call(&c, &[], b"t1,1700000000,21.5\nbroken\n") {
        Err(Error::CommandFailed { code: 1, stderr }) => assert!(stderr.contains("line 2"), "{stderr}"),
        other => panic!("{other:?}"),
    }

    // Python and JavaScript: see the tests below, one behaviour each.
    let out = call(&python(), &[], READINGS).unwrap();
    assert!(text(&out).starts_with("{\"readings\":5,"), "{}", text(&out));
    let out = call(&javascript(), &[], PAGE).unwrap();
    assert!(text(&out).starts_with("<nav class=\"toc\">"), "{}", text(&out));
}

// ------------------------------------------------------------------ Python

#[test]
fn python_component_reports_statistics_per_sensor_and_routes_a_spike_to_its_port() {
    let out = call(&python(), &[], READINGS).unwrap();
    assert_eq!(
        text(&out),
        "{\"readings\":5,\"sensors\":{\
         \"t1\":{\"count\":4,\"min\":19.5,\"max\":90.0,\"mean\":37.5,\"median\":20.25,\"stdev\":35.0,\"outliers\":[1700000180]},\
         \"t2\":{\"count\":1,\"min\":5.0,\"max\":5.0,\"mean\":5.0,\"median\":5.0,\"stdev\":null,\"outliers\":[]}}}"
    );
    assert_eq!(meta(&out, "content-type"), Some(&Value::Text("application/json".into())));
    assert_eq!(meta(&out, "port"), Some(&Value::Text("outliers".into())));
    assert_eq!(meta(&out, "outliers"), Some(&Value::S64(1)));
}

#[test]
fn python_component_config_changes_rounding_and_the_outlier_threshold() {
    let out = call(&python(), &[("decimals", "0"), ("outlier_z", "1000")], READINGS).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
    assert_eq!(summary["sensors"]["t1"]["median"], 20.0, "rounded to 0 places: {summary}");
    assert_eq!(summary["sensors"]["t1"]["outliers"], serde_json::json!([]), "{summary}");
    assert_eq!(meta(&out, "port"), Some(&Value::Text("ok".into())));
}

#[test]
fn python_component_refuses_bad_config_at_init_with_its_own_message() {
    let error = guest_error(call(&python(), &[("decimals", "9")], READINGS), "init");
    assert_eq!(error.kind, GuestErrorKind::InvalidConfig);
    assert_eq!(error.message, "decimals must be a whole number from 0 to 6, got '9'");
    assert!(!error.retryable);
    let error = guest_error(call(&python(), &[("outlier_z", "nan")], READINGS), "init");
    assert_eq!(error.kind, GuestErrorKind::InvalidConfig);
    assert!(error.message.contains("outlier_z"), "{}", error.message);
}

#[test]
fn python_guest_error_names_the_line_and_the_instance_keeps_serving() {
    let mut instance = shared_host().instantiate(&python()).unwrap();
    instance.init(&[]).unwrap();
    let bad = instance.execute(&Input::new(b"{\"sensor\":\"t1\",\"ts\":1,\"value\":2}\nnot json\n".to_vec()));
    let error = guest_error(bad, "execute");
    assert_eq!(error.kind, GuestErrorKind::InvalidInput);
    assert_eq!(error.message, "line 2: not JSON: Expecting value (column 1)");
    assert!(!error.retryable);
    let error = guest_error(instance.execute(&Input::new(b"\n".to_vec())), "execute");
    assert_eq!(error.message, "no readings: the input has no NDJSON lines");
    // A guest error is an answer, not a trap: the interpreter goes on.
    assert!(!instance.is_poisoned());
    for i in 0..50 {
        let line = format!("{{\"sensor\":\"s{i}\",\"ts\":{i},\"value\":{i}.5}}\n");
        let out = instance.execute(&Input::new(line.into_bytes())).unwrap();
        assert!(text(&out).contains(&format!("\"s{i}\":{{\"count\":1")), "{}", text(&out));
    }
    assert_eq!(instance.health().unwrap(), Health::Healthy);
    instance.shutdown().unwrap();
}

#[test]
fn python_component_describes_itself_without_init() {
    let description = shared_host().describe(&python()).unwrap();
    assert_eq!(description.metadata.accepts, ["application/x-ndjson"]);
    assert_eq!(description.metadata.produces, ["application/json"]);
    assert!(description.metadata.description.contains("Python"), "{}", description.metadata.description);
}

// ------------------------------------------------------------------ JavaScript

#[test]
fn javascript_component_adds_anchors_and_a_nested_table_of_contents() {
    let out = call(&javascript(), &[], PAGE).unwrap();
    assert_eq!(
        text(&out),
        "<nav class=\"toc\">\n<ul>\n<li><a href=\"#hello-world\">Hello World</a>\n<ul>\n\
         <li><a href=\"#café-tea\">Café &amp; tea</a></li>\n\
         <li><a href=\"#hello-world-1\">Hello World</a>\n<ul>\n<li><a href=\"#deep\">Deep</a></li>\n</ul>\n</li>\n\
         </ul>\n</li>\n</ul>\n</nav>\n\
         <h1 id=\"hello-world\">Hello World</h1>\n<p>x</p>\n<h2 id=\"café-tea\">Café &amp; tea</h2>\n\
         <h2 id=\"hello-world-1\">Hello World</h2>\n<h3 id=\"deep\">Deep</h3>\n"
    );
    assert_eq!(meta(&out, "content-type"), Some(&Value::Text("text/html".into())));
    assert_eq!(meta(&out, "headings"), Some(&Value::S64(4)));
}

#[test]
fn javascript_component_config_limits_the_listed_levels() {
    let out = call(&javascript(), &[("max_level", "1")], PAGE).unwrap();
    assert_eq!(meta(&out, "headings"), Some(&Value::S64(1)));
    assert!(
        text(&out).starts_with("<nav class=\"toc\">\n<ul>\n<li><a href=\"#hello-world\">Hello World</a></li>\n</ul>")
    );
    assert!(text(&out).contains("\n<h2>Hello World</h2>\n"), "deeper headings keep no id: {}", text(&out));
}

#[test]
fn javascript_component_refuses_bad_config_at_init_with_its_own_message() {
    let error = guest_error(call(&javascript(), &[("max_level", "7")], PAGE), "init");
    assert_eq!(error.kind, GuestErrorKind::InvalidConfig);
    assert_eq!(error.message, "max_level must be a whole number from 1 to 6, got \"7\"");
    assert!(!error.retryable);
}

#[test]
fn javascript_guest_errors_keep_their_kind_and_message_and_the_instance_keeps_serving() {
    let mut instance = shared_host().instantiate(&javascript()).unwrap();
    instance.init(&[]).unwrap();
    let error = guest_error(instance.execute(&Input::new(b" \n".to_vec())), "execute");
    assert_eq!(error.kind, GuestErrorKind::InvalidInput);
    assert_eq!(error.message, "the page is empty: there is no HTML to outline");
    let error = guest_error(instance.execute(&Input::new(vec![b'<', 0xff, b'>'])), "execute");
    assert_eq!((error.kind, error.message.as_str()), (GuestErrorKind::InvalidInput, "the page is not UTF-8"));
    assert!(!instance.is_poisoned());
    for i in 0..50 {
        let out = instance.execute(&Input::new(format!("<h2>Part {i}</h2>").into_bytes())).unwrap();
        assert!(text(&out).ends_with(&format!("<h2 id=\"part-{i}\">Part {i}</h2>")), "{}", text(&out));
    }
    assert_eq!(instance.health().unwrap(), Health::Healthy);
    instance.shutdown().unwrap();
}

#[test]
fn javascript_component_describes_itself_without_init() {
    let description = shared_host().describe(&javascript()).unwrap();
    assert_eq!(description.metadata.accepts, ["text/html"]);
    assert_eq!(description.metadata.produces, ["text/html"]);
    assert!(description.metadata.description.contains("JavaScript"), "{}", description.metadata.description);
}

// ------------------------------------------------------------------ jaq, a third-party WASI command

mod jaq {
    //! Through the host, as a service and as `call`: `argv[0]` is the
    //! service name, then its arguments; stdin is the input, stdout the
    //! output, stderr the guest log; a failure carries the last stderr
    //! lines; host variables only through `env:` grants.

    use std::time::{Duration, Instant};

    use host_core::{deploy::DeployRequest, events::RuntimeEvent};

    use super::*;

    const NDJSON: &[u8] = b"{\"sensor\":\"t1\",\"ts\":1700000000,\"value\":55.5}\n\
{\"sensor\":\"t2\",\"ts\":1700000001,\"value\":12}\n";

    /// `airssys call jaq.wasm -- ARGS` in library form.
    fn call_with(args: &[&str], stdin: &[u8]) -> Result<Output, Error> {
        let host = shared_host();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let limits = host.config().default_limits.clone();
        host.call_once_with_args(&sample("iot-sensors", "jaq"), &args, &[], &Input::new(stdin.to_vec()), limits)
    }

    /// A data host with jaq stored as `jaq@1.5.1`.
    fn host_with_jaq(dir: &std::path::Path) -> host_core::Host {
        let host = data_host(dir);
        add_sample(&host, "jaq@1.5.1", "iot-sensors", "jaq");
        host
    }

    #[test]
    fn jaq_is_a_wasi_command_that_asks_for_nothing() {
        let description = shared_host().describe(&sample("iot-sensors", "jaq")).unwrap();
        assert_eq!(description.info.kind, ComponentKind::WasiCommand);
        assert!(description.info.exports.iter().any(|e| e.starts_with("wasi:cli/run@0.2")));
        assert!(description.required_capabilities.is_empty());
    }

    #[test]
    fn a_command_called_with_arguments_filters_with_its_positional_filter() {
        let out = call_with(&["-c", "select(.value > 40)"], NDJSON).unwrap();
        assert_eq!(text(&out), "{\"sensor\":\"t1\",\"ts\":1700000000,\"value\":55.5}\n");
        let out = call_with(&["-c", "{id: .sensor, hot: (.value > 40)}"], NDJSON).unwrap();
        assert_eq!(text(&out), "{\"id\":\"t1\",\"hot\":true}\n{\"id\":\"t2\",\"hot\":false}\n");
        let out = call_with(&["-r", ".sensor"], NDJSON).unwrap();
        assert_eq!(text(&out), "t1\nt2\n");
        // No arguments: jaq runs `.` (pretty-printed).
        let out = call_with(&[], b"{\"a\":[1,2]}").unwrap();
        assert_eq!(text(&out), "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
    }

    #[test]
    fn a_deployed_command_runs_with_its_arguments_and_the_service_name_as_argv0() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_jaq(dir.path());
        let request = DeployRequest::new("hot-readings", r("jaq@1.5.1")).args(["-c", "select(.value > 40) | .sensor"]);
        host.deploy(request).unwrap();
        let out = host.invoke("hot-readings", &Input::new(NDJSON.to_vec())).unwrap();
        assert_eq!(text(&out), "\"t1\"\n");
        assert_eq!(host.service_spec("hot-readings").unwrap().args, ["-c", "select(.value > 40) | .sensor"]);
        // jaq's usage line names its argv[0]: the service.
        host.deploy(DeployRequest::new("hot-readings", r("jaq@1.5.1")).args(["--no-such-flag"])).unwrap();
        match host.invoke("hot-readings", &Input::new(NDJSON.to_vec())) {
            Err(Error::CommandFailed { stderr, .. }) => {
                assert!(stderr.contains("Usage: hot-readings [OPTIONS]"), "{stderr}")
            }
            other => panic!("expected the command's failure, got {other:?}"),
        }
        // The arguments survive a restart of the host (they are in the service's spec).
        drop(host);
        let host = data_host(dir.path());
        assert_eq!(host.service_spec("hot-readings").unwrap().args, ["--no-such-flag"]);
    }

    #[test]
    fn a_missing_argument_fails_with_the_status_and_the_last_stderr_lines_which_also_reach_the_guest_log() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_jaq(dir.path());
        host.deploy(DeployRequest::new("pick", r("jaq@1.5.1")).args(["--arg", "threshold"])).unwrap();
        let events = host.subscribe(Duration::from_secs(3600)).unwrap();
        let err = host.invoke("pick", &Input::new(NDJSON.to_vec())).unwrap_err();
        // WASI 0.2's exit carries success or failure only: jaq's usage status 2 arrives as 1.
        let Error::CommandFailed { code: 1, stderr } = &err else { panic!("expected CommandFailed, got {err:?}") };
        assert!(stderr.starts_with("error: 2 values required for '--arg <a> <v>' but 1 was provided"), "{stderr}");
        assert!(err.to_string().starts_with("the command exited with status 1: error: 2 values required"), "{err}");
        assert!(stderr.lines().count() <= host_core::STDERR_TAIL_LINES, "{stderr}");
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut logged = Vec::new();
        while Instant::now() < deadline && !logged.iter().any(|l: &String| l.contains("2 values required")) {
            if let Ok(RuntimeEvent::Log { line }) = events.recv_timeout(Duration::from_millis(200)) {
                assert!(line.fields.contains(&("stream".to_string(), "stderr".to_string())), "{line:?}");
                logged.push(line.message);
            }
        }
        assert!(logged.iter().any(|l| l.contains("2 values required")), "stderr lines in the guest log: {logged:?}");
        // The service keeps serving once its arguments are fixed.
        host.deploy(DeployRequest::new("pick", r("jaq@1.5.1")).args(["-c", "."])).unwrap();
        assert_eq!(text(&host.invoke("pick", &Input::new(b"[1]".to_vec())).unwrap()), "[1]\n");
    }

    #[test]
    fn a_long_stderr_is_cut_to_its_last_lines() {
        // `debug` writes each of 50 inputs to stderr; the last one fails the run.
        let many: Vec<u8> = (0..50).flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes()).collect();
        let filter = "debug | if .n == 49 then error(\"stop at \\(.n)\") else empty end";
        let err = call_with(&["-c", filter], &many).unwrap_err();
        let Error::CommandFailed { stderr, .. } = &err else { panic!("{err:?}") };
        assert_eq!(stderr.lines().count(), host_core::STDERR_TAIL_LINES, "{stderr}");
        assert!(stderr.lines().last().unwrap().contains("stop at 49"), "the last line is kept: {stderr}");
        assert!(stderr.contains("{\"n\":48}"), "{stderr}");
        assert!(!stderr.contains("{\"n\":0}"), "the first lines are dropped: {stderr}");
    }

    #[test]
    fn host_environment_variables_reach_a_command_only_through_an_env_grant() {
        // Set once for this test binary; no other test reads it.
        // SAFETY: no other thread of this test binary reads or writes this variable.
        unsafe { std::env::set_var("AIRSSYS_JAQ_SECRET", "s3cret") };
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_jaq(dir.path());
        let args = ["-n", "-r", "$ENV.AIRSSYS_JAQ_SECRET // \"unset\""];
        host.deploy(DeployRequest::new("env", r("jaq@1.5.1")).args(args)).unwrap();
        assert_eq!(text(&host.invoke("env", &Input::new(Vec::new())).unwrap()), "unset\n");
        let mut granted = DeployRequest::new("env", r("jaq@1.5.1")).args(args);
        granted.grants = Some(vec!["env:AIRSSYS_JAQ_SECRET".parse::<Capability>().unwrap()]);
        host.deploy(granted).unwrap();
        assert_eq!(text(&host.invoke("env", &Input::new(Vec::new())).unwrap()), "s3cret\n");
        // A grant for another variable does not let this one through.
        let mut other = DeployRequest::new("env", r("jaq@1.5.1")).args(args);
        other.grants = Some(vec!["env:AIRSSYS_JAQ_OTHER".parse::<Capability>().unwrap()]);
        host.deploy(other).unwrap();
        assert_eq!(text(&host.invoke("env", &Input::new(Vec::new())).unwrap()), "unset\n");
    }

    #[test]
    fn without_arguments_a_command_gets_its_config_as_flag_arguments_as_before() {
        let out = call(&sample("iot-sensors", "jaq"), &[], b"[1,2]").unwrap();
        assert_eq!(text(&out), "[\n  1,\n  2\n]\n");
        match call(&sample("iot-sensors", "jaq"), &[("compact-output", "")], b"[1,2]") {
            Err(Error::CommandFailed { code: 1, stderr }) => {
                assert!(stderr.contains("unexpected value '' for '--compact-output'"), "{stderr}")
            }
            other => panic!("jaq refuses `--compact-output=`: {other:?}"),
        }
    }

    #[test]
    fn arguments_for_a_contract_component_are_refused_and_nothing_is_deployed() {
        let dir = tempfile::tempdir().unwrap();
        let host = data_host(dir.path());
        add_sample(&host, "upper@1.0.0", "text-tools", "upper");
        let err = host.deploy(DeployRequest::new("upper", r("upper@1.0.0")).args(["-x"])).unwrap_err();
        assert!(matches!(&err, Error::ArgsNeedCommand { service, .. } if service == "upper"), "{err:?}");
        assert!(err.to_string().contains("not a WASI command"), "{err}");
        assert!(err.to_string().contains("pass settings as config instead"), "{err}");
        assert!(matches!(host.service_spec("upper"), Err(Error::UnknownService { .. })));
        let upper = sample("text-tools", "upper");
        let limits = shared_host().config().default_limits.clone();
        let err = shared_host()
            .call_once_with_args(&upper, &["-x".to_string()], &[], &Input::new(Vec::new()), limits)
            .unwrap_err();
        assert!(matches!(err, Error::ArgsNeedCommand { .. }), "{err:?}");
    }
}
