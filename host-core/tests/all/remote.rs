//! The `Runtime` trait: one conformance suite run against the embedded host
//! and against a real `airssys serve` server on loopback; the HTTP edges
//! (auth, limits, malformed requests) checked with a raw client.

use host_core::{
    Capability, Error, ErrorKind, Host, Input, RemoteRuntime, Runtime,
    deploy::{DeployRequest, PoolMode, RolloutEvent},
    events::RuntimeEvent,
    pipeline::{Pipeline, RunOptions},
    remote::server::{self, RunningServer, ServerConfig, status_of},
    security::audit::LogRepair,
};

use crate::{
    common::sample_path,
    common::{data_host, r},
    tiny,
};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn upper() -> Vec<u8> {
    std::fs::read(sample_path("text-tools", "upper")).unwrap()
}

fn serve(dir: &std::path::Path) -> RunningServer {
    server::start(data_host(dir), ServerConfig::loopback(0, TOKEN)).unwrap()
}

/// Written once, run against every implementation.
pub fn conformance(rt: &dyn Runtime) {
    let live = rt.subscribe(std::time::Duration::from_millis(100)).unwrap();
    // Components.
    let record = rt.add_component(&r("text@1.0.0"), &upper()).unwrap();
    assert_eq!(record.size_bytes as usize, upper().len());
    rt.add_component(&r("count@1.0.0"), &std::fs::read(sample_path("text-tools", "word-count")).unwrap()).unwrap();
    let names: Vec<String> = rt.components().unwrap().into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["count", "text"]);
    let described = rt.describe(&r("text@1.0.0")).unwrap();
    assert_eq!(described.metadata.name, "upper");
    assert!(described.metadata.accepts.iter().any(|t| t.starts_with("text/")), "{:?}", described.metadata);
    assert!(rt.describe(&r("text@9.9.9")).is_err());
    let broken = rt.add_component(&r("broken@1.0.0"), b"\0asm garbage").unwrap_err();
    assert!(broken.to_string().contains("broken") || broken.to_string().contains("component"), "{broken}");

    // Deploy, invoke, status.
    let rollout = rt.deploy(DeployRequest::new("svc", r("text@1.0.0")).pool(PoolMode::Pooled { size: 2 })).unwrap();
    assert_eq!(rollout.to, r("text@1.0.0"));
    let out = rt.invoke("svc", &Input::new(b"hello".to_vec())).unwrap();
    assert_eq!(out.data, b"HELLO");
    let status = rt.status(Some("svc")).unwrap();
    assert_eq!(status[0].spec.component, r("text@1.0.0"));
    let unknown = rt.invoke("nope", &Input::new(Vec::new())).unwrap_err();
    assert!(unknown.to_string().contains("no service named `nope`"), "{unknown}");

    // A batch: one call per input, the results in order; an unknown
    // service is each input's error, not the batch's.
    let inputs: Vec<Input> = ["a", "bb", "ccc"].iter().map(|s| Input::new(s.as_bytes().to_vec())).collect();
    let outputs: Vec<Vec<u8>> = rt.invoke_batch("svc", &inputs).unwrap().into_iter().map(|o| o.unwrap().data).collect();
    assert_eq!(outputs, [b"A".to_vec(), b"BB".to_vec(), b"CCC".to_vec()]);
    let unknown = rt.invoke_batch("nope", &inputs[..2]).unwrap();
    assert_eq!(unknown.len(), 2);
    assert!(unknown.iter().all(|r| matches!(r, Err(Error::UnknownService { name }) if name == "nope")), "{unknown:?}");
    assert!(rt.invoke_batch("svc", &[]).unwrap().is_empty());

    // A new version, then rollback.
    rt.deploy(DeployRequest::new("svc", r("count@1.0.0"))).unwrap();
    let counted: serde_json::Value =
        serde_json::from_slice(&rt.invoke("svc", &Input::new(b"a b c".to_vec())).unwrap().data).unwrap();
    assert_eq!(counted["words"], 3);
    rt.rollback("svc").unwrap();
    assert_eq!(rt.invoke("svc", &Input::new(b"x".to_vec())).unwrap().data, b"X");
    let history = rt.rollouts(Some("svc")).unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2].trigger, "rollback");

    // A missing capability comes back typed, over the wire too (the studio's
    // grant dialog lists it), and the user's decisions are audited.
    rt.add_component(&r("reader@1.0.0"), &std::fs::read(sample_path("text-tools", "file-reader")).unwrap()).unwrap();
    let refused = rt.deploy(DeployRequest::new("files", r("reader@1.0.0"))).unwrap_err();
    let Error::MissingCapabilities { service, missing, .. } = &refused else { panic!("{refused:?}") };
    assert_eq!((service.as_str(), missing.len()), ("files", 1));
    rt.record_decision("files", &missing[0], false).unwrap();
    let decided: Vec<String> =
        rt.audit(Some("files"), None).unwrap().into_iter().map(|a| a.body.event.to_string()).collect();
    assert!(decided.contains(&"grant-denied".to_string()), "{decided:?}");

    // Grants and the audit log.
    let cap: Capability = "env:APP_MODE".parse().unwrap();
    rt.grant("svc", &cap).unwrap();
    assert!(rt.status(Some("svc")).unwrap()[0].spec.grants.contains(&cap));
    rt.revoke("svc", &cap).unwrap();
    let events: Vec<String> =
        rt.audit(Some("svc"), None).unwrap().into_iter().map(|a| a.body.event.to_string()).collect();
    assert!(events.contains(&"grant".to_string()) && events.contains(&"revoke".to_string()), "{events:?}");

    // A pipeline.
    rt.deploy(DeployRequest::new("count", r("count@1.0.0"))).unwrap();
    let p = Pipeline::new("p").node("up", "svc").node("n", "count").wire("up", "out", "n");
    let run = rt.run_pipeline(&p, Input::new(b"one two".to_vec()), &RunOptions::default()).unwrap();
    let counted: serde_json::Value = serde_json::from_slice(&run.results[0].data).unwrap();
    assert_eq!(counted["words"], 2);
    // Its trace: the node calls in order.
    let traces = rt.traces(Some("p"), 0).unwrap();
    let trace = traces.iter().find(|t| Some(t.trace_id) == run.trace_id).expect("the run's trace");
    assert_eq!(trace.steps.iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), ["up", "n"]);
    assert_eq!(trace.steps[1].input.preview, "ONE TWO");
    let invalid = Pipeline::new("bad").node("a", "ghost");
    let err = rt.run_pipeline(&invalid, Input::new(Vec::new()), &RunOptions::default()).unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");

    // Live events: rollout progress, guest log lines, metrics.
    let mut seen = (false, false, false);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen != (true, true, true) && std::time::Instant::now() < until {
        match live.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(RuntimeEvent::Rollout { event: RolloutEvent::Finished { service, .. } }) if service == "svc" => {
                seen.0 = true
            }
            Ok(RuntimeEvent::Log { line }) if line.component == "text" => {
                assert!(["trace", "debug", "info", "warn", "error"].contains(&line.level.name()), "{line:?}");
                seen.1 = true
            }
            Ok(RuntimeEvent::Metrics { snapshot }) if snapshot.service("svc").is_some() => seen.2 = true,
            _ => {}
        }
    }
    assert_eq!(seen, (true, true, true), "(rollout finished, guest log line, metrics snapshot)");

    // Registry removal, the signature policy, the audit chain.
    assert!(rt.remove_component(&r("text@1.0.0")).is_err(), "svc runs it");
    // Blobs are shared by digest: `spare` must not be bytes a service runs.
    rt.add_component(&r("spare@1.0.0"), &std::fs::read(sample_path("text-tools", "json-pretty")).unwrap()).unwrap();
    rt.remove_component(&r("spare@1.0.0")).unwrap();
    assert!(!rt.components().unwrap().iter().any(|n| n.name == "spare" && !n.versions.is_empty()));
    let mut policy = rt.trust_policy().unwrap();
    assert!(!policy.require_signatures);
    policy.require_signatures = true;
    rt.set_trust_policy(&policy).unwrap();
    let unsigned = rt.deploy(DeployRequest::new("other", r("count@1.0.0"))).unwrap_err();
    assert!(unsigned.to_string().contains("sign"), "{unsigned}");
    policy.require_signatures = false;
    rt.set_trust_policy(&policy).unwrap();
    let check = rt.verify_audit().unwrap();
    assert!(check.broken.is_none() && check.records > 5, "{check:?}");
    assert_eq!(rt.repair_audit().unwrap(), LogRepair::default(), "an intact log is left alone");

    // Metrics.
    let metrics = rt.metrics().unwrap();
    let svc = metrics.service("svc").unwrap();
    assert!(svc.versions.iter().map(|v| v.calls).sum::<u64>() >= 4, "{svc:?}");
    assert_eq!(metrics.node("p", "n").unwrap().messages_in, 1);
}

/// An error of every kind a runtime raises, through the trait: the same
/// variant, fields and kind embedded and over the wire (the server's own
/// kinds, bad requests, tokens and body limits, are checked below).
fn error_kinds_conformance(rt: &dyn Runtime, dir: &std::path::Path) {
    let kind_of = |e: &Error, kind: ErrorKind| assert_eq!(e.kind(), kind, "{e:?}");

    let e = rt.invoke("ghost", &Input::new(Vec::new())).unwrap_err();
    assert!(matches!(&e, Error::UnknownService { name } if name == "ghost"), "{e:?}");
    kind_of(&e, ErrorKind::NotFound);
    let e = rt.describe(&r("ghost@1.0.0")).unwrap_err();
    assert!(matches!(&e, Error::UnknownComponent { name } if name == "ghost"), "{e:?}");

    let e = rt.add_component(&r("core@1.0.0"), b"\0asm\x01\0\0\0").unwrap_err();
    assert!(matches!(e, Error::CoreModule), "{e:?}");
    kind_of(&e, ErrorKind::Invalid);

    let text = rt.add_component(&r("text@1.0.0"), &upper()).unwrap();
    let other = std::fs::read(sample_path("text-tools", "word-count")).unwrap();
    let e = rt.add_component(&r("text@1.0.0"), &other).unwrap_err();
    assert!(matches!(&e, Error::VersionExists { existing, .. } if *existing == text.digest), "{e:?}");
    kind_of(&e, ErrorKind::Conflict);

    rt.add_component(&r("reader@1.0.0"), &std::fs::read(sample_path("text-tools", "file-reader")).unwrap()).unwrap();
    let e = rt.deploy(DeployRequest::new("files", r("reader@1.0.0"))).unwrap_err();
    assert!(matches!(&e, Error::MissingCapabilities { missing, .. } if missing.len() == 1), "{e:?}");
    kind_of(&e, ErrorKind::Denied);

    rt.add_component(&r("trap@1.0.0"), &tiny::with_execute("unreachable")).unwrap();
    rt.deploy(DeployRequest::new("trap", r("trap@1.0.0")).pool(PoolMode::Pooled { size: 1 })).unwrap();
    let e = rt.invoke("trap", &Input::new(b"x".to_vec())).unwrap_err();
    assert!(matches!(&e, Error::Trap { function: "execute", .. }), "{e:?}");
    assert!(e.to_string().contains("unreachable"), "the trap's reason travels: {e}");
    kind_of(&e, ErrorKind::GuestFault);

    let e = rt.deploy(DeployRequest::new("huge", r("text@1.0.0")).pool(PoolMode::Pooled { size: 10_000 })).unwrap_err();
    assert!(matches!(&e, Error::HostCapacity { needed: 10_000, capacity: 64, .. }), "{e:?}");
    kind_of(&e, ErrorKind::Unavailable);

    let blob = dir.join("blobs").join(format!("{}.wasm", text.digest.hex()));
    std::fs::write(&blob, b"not the bytes any more").unwrap();
    let e = rt.describe(&r("text@1.0.0")).unwrap_err();
    assert!(matches!(&e, Error::BlobCorrupt { digest, .. } if *digest == text.digest), "{e:?}");
    kind_of(&e, ErrorKind::Internal);
}

#[test]
fn the_embedded_host_raises_an_error_of_every_kind_typed() {
    let dir = tempfile::tempdir().unwrap();
    error_kinds_conformance(&data_host(dir.path()), dir.path());
}

#[test]
fn a_remote_runtime_raises_the_same_typed_errors_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path());
    error_kinds_conformance(&RemoteRuntime::new(&running.url(), TOKEN), dir.path());

    // The server's own kinds come back typed as well.
    let e = RemoteRuntime::new(&running.url(), "wrong-token-wrong-token-wrong-tok").components().unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    let (status, body) = raw("POST", &format!("{}/v1/deploy", running.url()), Some(TOKEN), b"{not json".to_vec());
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let e: Error =
        serde_json::from_value(serde_json::json!({ "code": body["code"], "detail": body["detail"] })).unwrap();
    assert!(matches!(&e, Error::BadRequest { reason } if reason.contains("not the JSON")), "{e:?}");
    assert_eq!((status, body["kind"].as_str()), (status_of(ErrorKind::BadRequest).as_u16(), Some("bad-request")));
}

#[test]
fn the_embedded_host_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let host: Host = data_host(dir.path());
    conformance(&host);
}

#[test]
fn a_remote_runtime_conforms_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path());
    let remote = RemoteRuntime::new(&running.url(), TOKEN);
    conformance(&remote);
    // Errors keep their variant across the wire.
    let err = remote.invoke("nope", &Input::new(Vec::new())).unwrap_err();
    assert!(matches!(&err, Error::UnknownService { name } if name == "nope"), "{err:?}");
}

/// A torn audit log, through the trait: changes refused naming the file and
/// line (the server's), repair moves the torn bytes aside, changes recorded again.
fn torn_audit_conformance(rt: &dyn Runtime, dir: &std::path::Path) {
    rt.add_component(&r("text@1.0.0"), &upper()).unwrap();
    rt.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    let (line, torn) = crate::audit::tear(dir, "audit.jsonl", 20);
    let before = crate::audit::disk(dir);
    let cap: Capability = "env:APP_MODE".parse().unwrap();
    let refusals = [
        rt.deploy(DeployRequest::new("svc", r("text@1.0.0")).pool(PoolMode::PerCall)).map(drop).unwrap_err(),
        rt.grant("svc", &cap).map(drop).unwrap_err(),
        rt.record_decision("svc", &cap, false).unwrap_err(),
        rt.remove_component(&r("text@1.0.0")).unwrap_err(),
        rt.set_trust_policy(&rt.trust_policy().unwrap()).unwrap_err(),
    ];
    for err in &refusals {
        crate::audit::assert_refused(err, "audit.jsonl", line);
    }
    assert!(crate::audit::disk(dir) == before, "refused, yet the data folder changed");
    let broken = rt.verify_audit().unwrap().broken.unwrap();
    assert_eq!((broken.line, broken.torn), (line, true));
    assert!(broken.to_string().starts_with(&format!("audit.jsonl line {line}: torn")), "{broken}");

    let repair = rt.repair_audit().unwrap();
    let moved = repair.audit.unwrap();
    assert_eq!((moved.line, moved.bytes), (line, torn.len() as u64));
    assert_eq!(std::fs::read(dir.join(&moved.moved_to)).unwrap(), torn);
    assert!(rt.verify_audit().unwrap().broken.is_none());
    rt.grant("svc", &cap).unwrap();
    let events: Vec<String> = rt.audit(None, None).unwrap().into_iter().map(|a| a.body.event.to_string()).collect();
    assert_eq!(events[events.len() - 3..], ["repair", "grant", "grant"]);
    assert!(rt.verify_audit().unwrap().broken.is_none());
}

#[test]
fn the_embedded_host_refuses_and_repairs_a_torn_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    torn_audit_conformance(&data_host(dir.path()), dir.path());
}

#[test]
fn a_remote_runtime_refuses_and_repairs_a_torn_audit_log_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path());
    torn_audit_conformance(&RemoteRuntime::new(&running.url(), TOKEN), dir.path());
    // An edited log is refused over the wire too, typed.
    let path = dir.path().join("audit.jsonl");
    let edited = std::fs::read_to_string(&path).unwrap().replacen("text@1.0.0", "text@6.6.6", 1);
    std::fs::write(&path, edited).unwrap();
    let err = RemoteRuntime::new(&running.url(), TOKEN).repair_audit().unwrap_err();
    assert!(matches!(&err, Error::LogCorrupt { line: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("audit.jsonl line 1"), "{err}");
}

/// One raw HTTP request; every error answer's status is checked to be its
/// kind's (`status_of`).
fn raw(method: &str, url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = agent.run(request.body(body).unwrap()).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status >= 400 {
        let error: serde_json::Value = serde_json::from_str(&text).unwrap();
        let kind: ErrorKind = serde_json::from_value(error["kind"].clone()).unwrap();
        assert_eq!(status, status_of(kind).as_u16(), "{text}");
    }
    (status, text)
}

#[test]
fn the_http_edges_answer_with_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let running =
        server::start(host, ServerConfig { max_body_bytes: 64 * 1024, ..ServerConfig::loopback(0, TOKEN) }).unwrap();
    let url = running.url();

    assert_eq!(raw("GET", &format!("{url}/healthz"), None, Vec::new()), (200, "ok".to_string()));
    for token in [None, Some("wrong-token-wrong-token-wrong-tok")] {
        let (status, body) = raw("GET", &format!("{url}/v1/services"), token, Vec::new());
        assert_eq!(status, 401, "{body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["kind"], "unauthorized");
    }
    assert_eq!(raw("GET", &format!("{url}/metrics"), None, Vec::new()).0, 401);

    let (status, body) = raw("PUT", &format!("{url}/v1/components/big/1.0.0"), Some(TOKEN), vec![0; 200 * 1024]);
    assert_eq!(status, 413, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"].is_string());
    let e = RemoteRuntime::new(&url, TOKEN).add_component(&r("big@1.0.0"), &vec![0; 200 * 1024]).unwrap_err();
    assert!(matches!(e, Error::BodyTooLarge { limit_bytes: 65_536 }), "typed over the wire: {e:?}");
    assert_eq!(e.kind(), ErrorKind::TooLarge);

    let (status, body) = raw("POST", &format!("{url}/v1/deploy"), Some(TOKEN), b"{not json".to_vec());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not the JSON"), "{body}");

    let (status, body) = raw("GET", &format!("{url}/v1/audit?since_ms=yesterday"), Some(TOKEN), Vec::new());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bad query string"), "{body}");

    let (status, body) = raw("GET", &format!("{url}/v1/services/ghost"), Some(TOKEN), Vec::new());
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no service named `ghost`"), "{body}");

    let (status, body) = raw("PUT", &format!("{url}/v1/components/bad/1.0.0"), Some(TOKEN), b"garbage".to_vec());
    assert_eq!(status, 422, "{body}");

    let (status, body) = raw("GET", &format!("{url}/v1/nothing-here"), Some(TOKEN), Vec::new());
    assert_eq!(status, 404, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "{body}");
}

#[test]
fn a_request_body_naming_a_key_twice_is_refused_with_400_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path());
    let url = running.url();
    let rt = RemoteRuntime::new(&url, TOKEN);
    rt.add_component(&r("text@1.0.0"), &upper()).unwrap();

    let deploy = br#"{"service": "svc", "component": "text@1.0.0", "config": {"mode": "a", "mode": "b"}}"#;
    let (status, body) = raw("POST", &format!("{url}/v1/deploy"), Some(TOKEN), deploy.to_vec());
    assert_eq!(status, 400, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["kind"], "bad-request");
    assert!(error["error"].as_str().unwrap().contains("in config: duplicate key `mode`"), "{body}");
    assert!(matches!(rt.status(Some("svc")), Err(Error::UnknownService { .. })), "nothing was deployed");

    // The same request without the repeated key deploys, and runs real WASM.
    let deploy = br#"{"service": "svc", "component": "text@1.0.0", "config": {"mode": "b"}}"#;
    let (status, body) = raw("POST", &format!("{url}/v1/deploy"), Some(TOKEN), deploy.to_vec());
    assert_eq!(status, 200, "{body}");
    assert_eq!(rt.status(Some("svc")).unwrap()[0].spec.config.get("mode").map(String::as_str), Some("b"));

    let run = |nodes: &str| {
        let body = format!(
            r#"{{"pipeline": {{"name": "p", "nodes": {nodes}, "wires": []}}, "input": [104, 105], "deadline_ms": 5000, "trace": false}}"#
        );
        raw("POST", &format!("{url}/v1/pipelines/run"), Some(TOKEN), body.into_bytes())
    };
    let (status, body) = run(r#"{"n": {"service": "svc"}, "n": {"service": "other"}}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("in pipeline.nodes: duplicate key `n`"), "{body}");
    let (status, body) = run(r#"{"n": {"service": "svc"}}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("[72,73]"), "the run's result is HI: {body}");
}

#[test]
fn several_clients_deploy_and_invoke_at_once_and_a_restart_keeps_services() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path());
    let url = running.url();
    let setup = RemoteRuntime::new(&url, TOKEN);
    setup.add_component(&r("text@1.0.0"), &upper()).unwrap();
    std::thread::scope(|scope| {
        for client in 0..4 {
            let url = url.clone();
            scope.spawn(move || {
                let rt = RemoteRuntime::new(&url, TOKEN);
                let service = format!("svc-{client}");
                rt.deploy(DeployRequest::new(&service, r("text@1.0.0"))).unwrap();
                for i in 0..25 {
                    let out = rt.invoke(&service, &Input::new(format!("m{i}").into_bytes())).unwrap();
                    assert_eq!(out.data, format!("M{i}").into_bytes());
                }
            });
        }
    });
    assert_eq!(setup.status(None).unwrap().len(), 4);
    drop(running);

    // The same data folder, a new server process: services come back.
    let again = serve(dir.path());
    let rt = RemoteRuntime::new(&again.url(), TOKEN);
    assert_eq!(rt.status(None).unwrap().len(), 4);
    assert_eq!(rt.invoke("svc-2", &Input::new(b"back".to_vec())).unwrap().data, b"BACK");
    let calls: u64 = rt.metrics().unwrap().services.iter().flat_map(|s| &s.versions).map(|v| v.calls).sum();
    assert_eq!(calls, 101, "metrics of the first server were stored when it stopped");
}

#[test]
fn the_token_file_is_made_once_with_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/serve.token");
    let (token, created) = server::load_or_create_token(&path).unwrap();
    assert!(created && token.len() == 64);
    let (again, created) = server::load_or_create_token(&path).unwrap();
    assert_eq!((again.as_str(), created), (token.as_str(), false));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::write(&path, "").unwrap();
    assert!(server::load_or_create_token(&path).unwrap_err().to_string().contains("empty"));
}
