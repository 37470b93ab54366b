//! Audit or refuse: with the audit log's (or the rollout history's) last
//! line torn, as a crash during an append leaves it, every state change is
//! refused before anything changes, naming the file and the line;
//! `repair_logs` moves exactly the torn bytes aside, and the same changes
//! then go through, each recorded in a chain that verifies.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use host_core::{
    Capability, Error, Host, Input, Result, Runtime,
    deploy::{DeployRequest, Strategy},
    project::Project,
    security::{audit::MovedTail, signing},
    watch::WatchEvent,
};

use crate::{
    common::sample_path,
    common::{data_host, r},
};

fn wasm(name: &str) -> Vec<u8> {
    std::fs::read(sample_path("text-tools", name)).unwrap()
}

fn cap(text: &str) -> Capability {
    text.parse().unwrap()
}

/// `svc` runs text@2.0.0 (word-count), deployed after text@1.0.0 (upper)
/// with `env:APP_A` granted; `spare@1.0.0` is stored and unused.
pub fn two_deploys(dir: &Path) -> Host {
    let host = data_host(dir);
    host.add_component(&r("text@1.0.0"), &wasm("upper")).unwrap();
    host.add_component(&r("text@2.0.0"), &wasm("word-count")).unwrap();
    host.add_component(&r("spare@1.0.0"), &wasm("json-pretty")).unwrap();
    let mut first = DeployRequest::new("svc", r("text@1.0.0"));
    first.grants = Some(vec![cap("env:APP_A")]);
    host.deploy(first).unwrap();
    host.deploy(DeployRequest::new("svc", r("text@2.0.0"))).unwrap();
    host
}

/// Cuts the last `n` bytes off `file` of the data folder, as a crash during
/// an append leaves it. Returns the torn line's number and its bytes.
pub fn tear(dir: &Path, file: &str, n: usize) -> (usize, Vec<u8>) {
    let path = dir.join(file);
    let mut content = std::fs::read(&path).unwrap();
    content.truncate(content.len() - n);
    std::fs::write(&path, &content).unwrap();
    let start = content.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (content.iter().filter(|&&b| b == b'\n').count() + 1, content[start..].to_vec())
}

/// Every file a change could touch (the compile cache, metrics and lock
/// files aside), with its bytes.
pub fn disk(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "cache" || name == "metrics.json" || name == ".lock" {
                continue;
            }
            if path.is_dir() {
                walk(&path, root, files);
            } else {
                files.insert(path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// The error names `file` and `line` and says what to do, embedded or over the wire.
pub fn assert_refused(err: &Error, file: &str, line: usize) {
    let typed = match err {
        Error::LogTorn { path, line: l, .. } => path.ends_with(file) && *l == line,
        _ => false,
    };
    assert!(typed, "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("{file} line {line}")), "{text}");
    assert!(text.contains("airssys audit repair") && text.contains("refusal itself cannot be recorded"), "{text}");
}

/// The torn-bytes files of the data folder.
fn moved_aside(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".jsonl.torn-"))
        .collect();
    files.sort();
    files
}

/// `moved` names a file of `dir` holding exactly `torn`.
fn assert_moved(dir: &Path, moved: &MovedTail, file: &str, line: usize, torn: &[u8]) {
    assert_eq!((moved.file.as_str(), moved.line, moved.bytes), (file, line, torn.len() as u64), "{moved:?}");
    assert!(moved.moved_to.starts_with(&format!("{file}.torn-")), "{moved:?}");
    assert_eq!(std::fs::read(dir.join(&moved.moved_to)).unwrap(), torn);
}

fn events_since_repair(host: &Host) -> Vec<String> {
    let records = host.audit_log().unwrap().records().unwrap();
    let repair = records.iter().rposition(|r| r.body.event == "repair").expect("a repair record");
    records[repair..].iter().map(|r| r.body.event.to_string()).collect()
}

fn word_count_serves(host: &Host) {
    let out = host.invoke("svc", &Input::new(b"a b".to_vec())).unwrap();
    assert!(out.data.starts_with(b"{\"lines\""), "{}", String::from_utf8_lossy(&out.data));
    assert_eq!(host.service_spec("svc").unwrap().component, r("text@2.0.0"));
}

type Change<'a> = (&'a str, Box<dyn Fn(&Host) -> Result<()> + 'a>);

#[test]
fn every_state_change_is_refused_on_a_torn_audit_tail_then_recorded_after_repair() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let host = two_deploys(dir);
    let keys = tempfile::tempdir().unwrap();
    signing::keygen(&keys.path().join("k"), false).unwrap();
    let signature = signing::sign(&wasm("upper"), &keys.path().join("k")).unwrap();
    let mut policy = host.trust_policy().unwrap();
    policy.trusted_keys.push(signature.public_key.clone());

    let changes: Vec<Change> = vec![
        ("registry add", Box::new(|h| h.add_component(&r("text@3.0.0"), &wasm("json-pretty")).map(drop))),
        ("registry remove", Box::new(|h| h.remove_component(&r("spare@1.0.0")))),
        ("signature", Box::new(|h| h.add_signature(&signature))),
        ("deploy", Box::new(|h| h.deploy(DeployRequest::new("svc", r("text@1.0.0"))).map(drop))),
        ("rollback", Box::new(|h| h.rollback("svc").map(drop))),
        ("grant", Box::new(|h| h.grant("svc", cap("env:APP_X")).map(drop))),
        ("revoke", Box::new(|h| h.revoke("svc", &cap("env:APP_A")).map(drop))),
        ("trust", Box::new(|h| h.set_trust_policy(&policy))),
        ("decision", Box::new(|h| Runtime::record_decision(h, "svc", &cap("env:APP_Y"), true))),
    ];

    let (line, torn) = tear(dir, "audit.jsonl", 20);
    assert_eq!(line, 5, "3 registry adds and 2 deploys, the last one torn");
    let before = disk(dir);
    for (what, change) in &changes {
        let err = change(&host).expect_err(what);
        assert_refused(&err, "audit.jsonl", line);
        assert!(disk(dir) == before, "{what}: refused, yet the data folder changed");
        word_count_serves(&host);
    }
    let broken = host.audit_log().unwrap().verify().unwrap().unwrap_err();
    assert_eq!((broken.line, broken.torn), (line, true));

    let repair = host.repair_logs().unwrap();
    assert_moved(dir, repair.audit.as_ref().unwrap(), "audit.jsonl", line, &torn);
    assert_eq!(repair.rollouts, None);
    assert_eq!(host.audit_log().unwrap().verify().unwrap(), Ok(5), "4 intact records and the repair");

    for (what, change) in &changes {
        change(&host).unwrap_or_else(|e| panic!("{what} after the repair: {e}"));
    }
    assert_eq!(
        events_since_repair(&host),
        [
            "repair",
            "registry-add",
            "registry-remove",
            "signature-add",
            "deploy",
            "rollback",
            "grant",
            "grant",
            "revoke",
            "revoke",
            "trust",
            "grant-allowed"
        ]
    );
    assert!(host.audit_log().unwrap().verify().unwrap().is_ok());
}

#[test]
fn a_record_cut_off_only_at_its_newline_is_torn_too() {
    let data = tempfile::tempdir().unwrap();
    let host = two_deploys(data.path());
    let (line, torn) = tear(data.path(), "audit.jsonl", 1);
    let err = host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap_err();
    assert_refused(&err, "audit.jsonl", line);
    word_count_serves(&host);
    let repair = host.repair_logs().unwrap();
    assert_moved(data.path(), repair.audit.as_ref().unwrap(), "audit.jsonl", line, &torn);
    host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    assert!(host.audit_log().unwrap().verify().unwrap().is_ok());
}

#[test]
fn a_torn_rollout_history_refuses_deploys_until_repaired() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let host = two_deploys(dir);
    let (line, torn) = tear(dir, "rollouts.jsonl", 15);
    assert_eq!(line, 2);
    assert_eq!(host.rollouts(None).unwrap().len(), 1, "the torn record is skipped (with a warning)");

    let before = disk(dir);
    let changes: Vec<Change> = vec![
        ("deploy", Box::new(|h| h.deploy(DeployRequest::new("svc", r("text@1.0.0"))).map(drop))),
        ("rollback", Box::new(|h| h.rollback("svc").map(drop))),
        ("grant", Box::new(|h| h.grant("svc", cap("env:APP_X")).map(drop))),
        ("revoke", Box::new(|h| h.revoke("svc", &cap("env:APP_A")).map(drop))),
    ];
    for (what, change) in &changes {
        let err = change(&host).expect_err(what);
        assert_refused(&err, "rollouts.jsonl", line);
        assert!(disk(dir) == before, "{what}: refused, yet the data folder (audit log included) changed");
        word_count_serves(&host);
    }

    let repair = host.repair_logs().unwrap();
    assert_eq!(repair.audit, None);
    let moved = repair.rollouts.as_ref().unwrap();
    assert_moved(dir, moved, "rollouts.jsonl", line, &torn);
    let last = host.audit_log().unwrap().records().unwrap().pop().unwrap();
    assert_eq!(
        (last.body.event.to_string().as_str(), &last.body.detail["file"]),
        ("repair", &serde_json::json!("rollouts.jsonl"))
    );
    assert_eq!(last.body.detail["moved_to"], moved.moved_to.as_str());

    host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    let history = host.rollouts(Some("svc")).unwrap();
    assert_eq!(history.len(), 2, "the first rollout and the new one; the torn one is kept aside");
    assert_eq!(history[1].to, r("text@1.0.0"));
    assert!(host.audit_log().unwrap().verify().unwrap().is_ok());
}

#[test]
fn repair_refuses_a_line_edited_or_cut_in_the_middle_and_touches_nothing() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let host = two_deploys(dir);
    let path = dir.join("audit.jsonl");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    let cut = lines[1][..40].to_string();
    let edited = lines[1].replace("2.0.0", "9.9.9");
    for (how, line2) in [("cut short", cut), ("edited", edited)] {
        lines[1] = line2;
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let broken = host.audit_log().unwrap().verify().unwrap().unwrap_err();
        assert_eq!((broken.line, broken.torn), (2, false), "{how}");
        assert!(broken.to_string().starts_with("audit.jsonl line 2: "), "{broken}");
        let before = disk(dir);
        let err = host.repair_logs().unwrap_err();
        assert!(matches!(err, Error::LogCorrupt { line: 2, .. }), "{how}: {err:?}");
        assert!(err.to_string().contains("hide an edit"), "{err}");
        assert!(disk(dir) == before, "{how}: the refused repair changed the data folder");
        assert!(moved_aside(dir).is_empty());
    }
    // The tail is intact, so changes are still recorded (after the edit,
    // which verify keeps naming).
    host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    let last = std::fs::read_to_string(&path).unwrap().lines().last().unwrap().to_string();
    assert!(last.contains("\"event\":\"deploy\""), "{last}");
    assert_eq!(host.audit_log().unwrap().verify().unwrap().unwrap_err().line, 2);
}

#[test]
fn a_log_that_cannot_be_appended_to_refuses_changes() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let host = two_deploys(dir);
    for file in ["audit.jsonl", "rollouts.jsonl"] {
        // A folder where the log should be.
        let kept = dir.join(format!("{file}.kept"));
        std::fs::rename(dir.join(file), &kept).unwrap();
        std::fs::create_dir(dir.join(file)).unwrap();
        let before = disk(dir);
        let err = host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap_err();
        assert!(matches!(&err, Error::LogUnwritable { path, .. } if path.ends_with(file)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&format!("cannot append to {file}")), "{text}");
        assert!(text.contains("refusal itself cannot be recorded"), "{text}");
        assert!(disk(dir) == before, "{file}: refused, yet the data folder changed");
        word_count_serves(&host);
        std::fs::remove_dir(dir.join(file)).unwrap();
        std::fs::rename(&kept, dir.join(file)).unwrap();
    }
    host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    assert!(host.audit_log().unwrap().verify().unwrap().is_ok());
}

#[test]
fn a_log_lost_during_a_rollout_makes_the_live_change_say_it_is_unrecorded() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let host = two_deploys(dir);
    let canary = Strategy::Canary { steps: vec![50, 100], interval_ms: 500, min_calls: 0, max_error_increase: 1.0 };
    let result = std::thread::scope(|scope| {
        let rollout = scope.spawn(|| host.deploy(DeployRequest::new("svc", r("text@1.0.0")).strategy(canary)));
        // The check before the change passed; now the log goes away.
        std::thread::sleep(Duration::from_millis(250));
        std::fs::rename(dir.join("audit.jsonl"), dir.join("audit.jsonl.kept")).unwrap();
        std::fs::create_dir(dir.join("audit.jsonl")).unwrap();
        rollout.join().unwrap()
    });
    let err = result.unwrap_err();
    assert!(matches!(&err, Error::Unrecorded { path, .. } if path.ends_with("audit.jsonl")), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "deploy of text@1.0.0 to `svc` took effect, but its record could not be appended to audit.jsonl"
        ),
        "{text}"
    );
    assert_eq!(host.service_spec("svc").unwrap().component, r("text@1.0.0"), "it is live, as the error says");
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !ready() {
        assert!(Instant::now() < until, "{what} did not happen within 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_watch_redeploy_on_a_torn_audit_log_is_refused_and_stores_nothing() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("components")).unwrap();
    let file = project.path().join("components/text.wasm");
    std::fs::write(&file, wasm("upper")).unwrap();
    let host = data_host(dir);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let _watch = host.watch(project.path(), move |e| seen.lock().unwrap().push(e)).unwrap();
    assert_eq!(host.service_spec("text").unwrap().component, r("text@0.1.0"));

    let (line, _) = tear(dir, "audit.jsonl", 20);
    let before = disk(dir);
    std::fs::write(&file, wasm("word-count")).unwrap();
    let refusal = || {
        events.lock().unwrap().iter().find_map(|e| match e {
            WatchEvent::Rejected { error, .. } if error.contains("audit.jsonl") => Some(error.clone()),
            _ => None,
        })
    };
    wait_for("the change being refused", || refusal().is_some());
    let error = refusal().unwrap();
    assert!(error.contains(&format!("audit.jsonl line {line}")) && error.contains("airssys audit repair"), "{error}");
    assert!(disk(dir) == before, "refused, yet the data folder changed");
    assert_eq!(host.registry().unwrap().history("text").unwrap().versions.len(), 1);
    assert_eq!(host.invoke("text", &Input::new(b"hi".to_vec())).unwrap().data, b"HI");

    host.repair_logs().unwrap();
    std::fs::write(&file, wasm("word-count")).unwrap();
    wait_for("the change going live", || host.service_spec("text").is_ok_and(|s| s.component == r("text@0.1.1")));
    // The spec is written a moment before the outcome's record.
    wait_for("the redeploy recorded", || events_since_repair(&host).len() == 3);
    assert_eq!(events_since_repair(&host), ["repair", "registry-add", "watch"]);
    assert!(host.audit_log().unwrap().verify().unwrap().is_ok());
}

#[test]
fn a_project_apply_on_a_torn_audit_log_is_refused_and_changes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("components")).unwrap();
    std::fs::write(folder.path().join("components/up.wasm"), wasm("upper")).unwrap();
    let write_project = |config: &str| {
        let text = format!(
            "(schema: 1, name: \"p\", services: {{\"up\": (component: \"components/up.wasm\", config: {{{config}}})}})"
        );
        std::fs::write(folder.path().join("project.ron"), text).unwrap();
        Project::open(folder.path()).unwrap()
    };
    let host = data_host(dir);
    write_project("").apply(&host).unwrap();

    let (line, _) = tear(dir, "audit.jsonl", 20);
    let before = disk(dir);
    // A config change (the component is stored already) and a new component file.
    let err = write_project("\"mode\": \"loud\"").apply(&host).unwrap_err();
    assert_refused(&err, "audit.jsonl", line);
    std::fs::write(folder.path().join("components/up.wasm"), wasm("word-count")).unwrap();
    let err = write_project("").apply(&host).unwrap_err();
    assert_refused(&err, "audit.jsonl", line);
    assert!(disk(dir) == before, "refused, yet the data folder changed");
    assert_eq!(host.invoke("up", &Input::new(b"hi".to_vec())).unwrap().data, b"HI");

    host.repair_logs().unwrap();
    write_project("\"mode\": \"loud\"").apply(&host).unwrap();
    assert!(host.invoke("up", &Input::new(b"a b".to_vec())).unwrap().data.starts_with(b"{\"lines\""));
    assert_eq!(events_since_repair(&host), ["repair", "registry-add", "deploy"]);
    assert!(host.audit_log().unwrap().verify().unwrap().is_ok());
}
