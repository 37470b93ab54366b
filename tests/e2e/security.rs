//! Signatures, grants and the audit log through the CLI.

use std::path::Path;

use crate::support::*;

fn run(data: &Path, args: &[&str]) -> std::process::Output {
    let mut full: Vec<&str> = args.to_vec();
    let data_str = data.to_str().unwrap();
    full.extend(["--data-dir", data_str]);
    airssys(&full, b"", &data.join("cache"))
}

fn upper() -> String {
    repo_root().join("sample-projects/text-tools/components/upper.wasm").display().to_string()
}

#[test]
fn signatures_are_required_when_the_runtime_says_so() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let key = |name: &str| d.join(name).display().to_string();
    for name in ["trusted", "stranger"] {
        assert!(run(d, &["keygen", "--out", &key(name)]).status.success());
    }
    let sig = |signer: &str| {
        let out = key(&format!("{signer}.sig"));
        assert!(run(d, &["sign", &upper(), "--key", &key(signer), "--out", &out]).status.success());
        out
    };
    let (good, strange) = (sig("trusted"), sig("stranger"));
    let verify = run(d, &["verify", &upper(), "--sig", &good, "--pub", &key("trusted.pub")]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let wrong = run(d, &["verify", &upper(), "--sig", &strange, "--pub", &key("trusted.pub")]);
    assert!(!wrong.status.success());

    assert!(run(d, &["trust", "add", &key("trusted.pub")]).status.success());
    assert!(run(d, &["trust", "require", "on"]).status.success());

    // Unsigned: refused.
    assert!(run(d, &["registry", "add", "plain@1.0.0", &upper()]).status.success());
    let refused = run(d, &["deploy", "a", "plain@1.0.0"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("unsigned"), "{}", text(&refused.stderr));
    // Signed by a key nobody trusts: refused.
    let other = repo_root().join("sample-projects/text-tools/components/word-count.wasm").display().to_string();
    let other_sig = key("other.sig");
    assert!(run(d, &["sign", &other, "--key", &key("stranger"), "--out", &other_sig]).status.success());
    assert!(run(d, &["registry", "add", "strange@1.0.0", &other, "--sig", &other_sig]).status.success());
    let refused = run(d, &["deploy", "b", "strange@1.0.0"]);
    assert!(text(&refused.stderr).contains("not trusted"), "{}", text(&refused.stderr));
    // A signature file for other bytes is refused at add.
    assert!(!run(d, &["registry", "add", "mixed@1.0.0", &other, "--sig", &good]).status.success());
    // Signed by the trusted key: deploys. (The blob already holds upper's
    // bytes, so the signature is added with them under a new version.)
    assert!(run(d, &["registry", "add", "signed@1.0.0", &upper(), "--sig", &good]).status.success());
    let ok = run(d, &["deploy", "c", "signed@1.0.0"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));

    let audit = text(&run(d, &["audit", "--json"]).stdout);
    let records: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let events: Vec<&str> = records.as_array().unwrap().iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events.iter().filter(|e| **e == "signature-refused").count(), 2, "{events:?}");
    assert!(events.contains(&"deploy"));
}

#[test]
fn audit_verify_names_the_first_bad_line() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    assert!(run(d, &["registry", "add", "text@1.0.0", &upper()]).status.success());
    for service in ["a", "b", "c"] {
        assert!(run(d, &["deploy", service, "text@1.0.0"]).status.success());
    }
    let verified = run(d, &["audit", "verify"]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert!(text(&verified.stdout).contains("4 records"), "the registry add and three deploys");

    let log = d.join("audit.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let check = |content: String, line: usize| {
        std::fs::write(&log, content).unwrap();
        let out = run(d, &["audit", "verify"]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(&format!("line {line}")), "{}", text(&out.stderr));
    };
    check(original.replacen("\"service\":\"b\"", "\"service\":\"x\"", 1), 3);
    check(format!("{}\n{}\n", lines[0], lines[2]), 2);
    check(format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]), 2);
}

fn word_count() -> String {
    repo_root().join("sample-projects/text-tools/components/word-count.wasm").display().to_string()
}

/// Cuts the last `n` bytes off `file` of the data folder (a crash during an
/// append); returns the torn line's number and bytes.
fn tear(data: &Path, file: &str, n: usize) -> (usize, Vec<u8>) {
    let path = data.join(file);
    let mut content = std::fs::read(&path).unwrap();
    content.truncate(content.len() - n);
    std::fs::write(&path, &content).unwrap();
    let start = content.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (content.iter().filter(|&&b| b == b'\n').count() + 1, content[start..].to_vec())
}

/// The service's spec, the rollout history and the registry's names, as bytes.
fn state(data: &Path) -> Vec<Vec<u8>> {
    let mut files = vec![data.join("services/svc.json"), data.join("rollouts.jsonl")];
    let mut names: Vec<_> = std::fs::read_dir(data.join("names")).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    files.extend(names);
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn a_torn_audit_log_refuses_changes_until_audit_repair_moves_the_torn_bytes_aside() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    for args in [
        &["registry", "add", "text@1.0.0", &upper()][..],
        &["registry", "add", "text@2.0.0", &word_count()],
        &["deploy", "svc", "text@1.0.0"],
        &["deploy", "svc", "text@2.0.0"],
    ] {
        let out = run(d, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let (line, torn) = tear(d, "audit.jsonl", 20);
    assert_eq!(line, 4);

    let verify = run(d, &["audit", "verify"]);
    assert!(!verify.status.success());
    let said = text(&verify.stderr);
    assert!(said.contains("audit.jsonl line 4: torn/incomplete record"), "{said}");
    assert!(said.contains(&d.join("audit.jsonl").display().to_string()), "{said}");

    let before = state(d);
    for args in [
        &["deploy", "svc", "text@1.0.0", "--config", "y=2"][..],
        &["rollback", "svc"],
        &["grant", "svc", "env:APP_X"],
        &["registry", "add", "text@3.0.0", &upper()],
        &["trust", "require", "off"],
    ] {
        let out = run(d, args);
        assert!(!out.status.success(), "{args:?} went through on a torn log");
        let said = text(&out.stderr);
        assert!(said.contains("audit.jsonl line 4") && said.contains("airssys audit repair"), "{args:?}: {said}");
        assert!(state(d) == before, "{args:?}: refused, yet the service, history or registry changed");
    }
    let served = text(&run(d, &["invoke", "svc", "--input", "-"]).stdout);
    assert!(served.starts_with("{\"lines\""), "text@2.0.0 (word-count) still serves: {served}");

    let repair = run(d, &["audit", "repair"]);
    assert!(repair.status.success(), "{}", text(&repair.stderr));
    let said = text(&repair.stdout);
    assert!(
        said.contains("audit.jsonl: moved the torn tail (line 4 on") && said.contains("rollouts.jsonl: nothing torn"),
        "{said}"
    );
    let aside: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("audit.jsonl.torn-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(said.contains(&*aside[0].file_name().unwrap().to_string_lossy()), "{said}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), torn);
    assert!(run(d, &["audit", "verify"]).status.success());
    assert!(text(&run(d, &["audit"]).stdout).contains("repair"));

    let deploy = run(d, &["deploy", "svc", "text@1.0.0"]);
    assert!(deploy.status.success(), "{}", text(&deploy.stderr));
    let verify = run(d, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    assert!(text(&verify.stdout).contains("5 records"), "{}", text(&verify.stdout));
}

#[test]
fn audit_repair_refuses_an_edited_log_and_a_torn_rollout_history_is_repaired_too() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    assert!(run(d, &["registry", "add", "text@1.0.0", &upper()]).status.success());
    for _ in 0..2 {
        assert!(run(d, &["deploy", "svc", "text@1.0.0"]).status.success());
    }
    let (line, torn) = tear(d, "rollouts.jsonl", 10);
    let before = state(d);
    let refused = run(d, &["deploy", "svc", "text@1.0.0"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains(&format!("rollouts.jsonl line {line}")), "{}", text(&refused.stderr));
    assert!(state(d) == before);
    let repair = run(d, &["audit", "repair"]);
    assert!(repair.status.success(), "{}", text(&repair.stderr));
    assert!(text(&repair.stdout).contains("rollouts.jsonl: moved the torn tail"), "{}", text(&repair.stdout));
    let kept = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("rollouts.jsonl.torn-"))
        .unwrap();
    assert_eq!(std::fs::read(kept).unwrap(), torn);
    assert!(run(d, &["deploy", "svc", "text@1.0.0"]).status.success());

    // An edited line in the middle is not a crash: repair refuses and changes nothing.
    let log = d.join("audit.jsonl");
    let edited = std::fs::read_to_string(&log).unwrap().replacen("\"svc\"", "\"evil\"", 1);
    std::fs::write(&log, &edited).unwrap();
    let repair = run(d, &["audit", "repair"]);
    assert!(!repair.status.success());
    let said = text(&repair.stderr);
    assert!(said.contains("audit.jsonl line 2") && said.contains("hide an edit"), "{said}");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), edited);
}
