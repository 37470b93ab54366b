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
    assert!(text(&verified.stdout).contains("3 records"));

    let log = d.join("audit.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let check = |content: String, line: usize| {
        std::fs::write(&log, content).unwrap();
        let out = run(d, &["audit", "verify"]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(&format!("line {line}")), "{}", text(&out.stderr));
    };
    check(original.replacen("\"service\":\"b\"", "\"service\":\"x\"", 1), 2);
    check(format!("{}\n{}\n", lines[0], lines[2]), 2);
    check(format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]), 2);
}
