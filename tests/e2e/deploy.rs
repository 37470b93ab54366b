//! The deployment verbs, each run as its own process on one data folder.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use crate::support::*;

fn sample(project: &str, name: &str) -> String {
    repo_root().join(format!("sample-projects/{project}/components/{name}.wasm")).display().to_string()
}

/// `airssys ARGS --data-dir DATA`, expecting success; returns stdout.
fn ok(data: &Path, args: &[&str], stdin: &[u8]) -> String {
    let mut full: Vec<&str> = args.to_vec();
    let data_str = data.to_str().unwrap();
    full.extend(["--data-dir", data_str]);
    let out = airssys(&full, stdin, &data.join("cache"));
    assert!(out.status.success(), "airssys {args:?} failed: {}", text(&out.stderr));
    text(&out.stdout)
}

fn fails(data: &Path, args: &[&str]) -> String {
    let mut full: Vec<&str> = args.to_vec();
    let data_str = data.to_str().unwrap();
    full.extend(["--data-dir", data_str]);
    let out = airssys(&full, b"", &data.join("cache"));
    assert!(!out.status.success(), "airssys {args:?} should fail");
    text(&out.stderr)
}

#[test]
fn each_process_sees_what_the_previous_one_left() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(d, &["registry", "add", "text@1.0.0", &sample("text-tools", "upper")], b"");
    ok(d, &["registry", "add", "text@2.0.0", &sample("text-tools", "word-count")], b"");
    let err = fails(d, &["registry", "add", "text@1.0.0", &sample("text-tools", "word-count")]);
    assert!(err.contains("immutable"), "{err}");
    ok(d, &["registry", "add", "text@1.0.0", &sample("text-tools", "upper")], b"");
    assert!(ok(d, &["registry", "list"], b"").contains("1.0.0, 2.0.0"));
    assert!(ok(d, &["registry", "show", "text@2.0.0"], b"").contains("sha256:"));

    ok(d, &["deploy", "svc", "text@1.0.0"], b"");
    assert_eq!(ok(d, &["invoke", "svc", "--input", "-"], b"hello"), "HELLO");
    ok(d, &["deploy", "svc", "text@2.0.0", "--strategy", "blue-green"], b"");
    assert!(ok(d, &["invoke", "svc", "--input", "-"], b"hello").starts_with("{\"lines\""));
    ok(d, &["rollback", "svc"], b"");
    assert_eq!(ok(d, &["invoke", "svc", "--input", "-"], b"hello"), "HELLO");

    let status: serde_json::Value = serde_json::from_str(&ok(d, &["status", "--json"], b"")).unwrap();
    assert_eq!(status[0]["name"], "svc");
    assert_eq!(status[0]["component"], "text@1.0.0");
    assert!(ok(d, &["registry", "history", "text"], b"").contains("2.0.0"));
    let err = fails(d, &["deploy", "svc", "text@9.9.9"]);
    assert!(err.contains("known versions: 1.0.0, 2.0.0"), "{err}");
    let err = fails(d, &["deploy", "svc", "text@2.0.0", "--strategy", "canary", "--steps", "50,10"]);
    assert!(err.contains("must increase"), "{err}");
}

#[test]
fn a_deploy_killed_midway_leaves_a_consistent_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(d, &["registry", "add", "text@1.0.0", &sample("text-tools", "upper")], b"");
    ok(d, &["registry", "add", "text@2.0.0", &sample("text-tools", "word-count")], b"");
    ok(d, &["deploy", "svc", "text@1.0.0"], b"");

    // A canary with long steps: the process is killed in the middle of it.
    let mut child = Command::new(airssys_bin())
        .args(["deploy", "svc", "text@2.0.0", "--strategy", "canary", "--steps", "10,50,100"])
        .args(["--step-interval-ms", "10000", "--min-calls", "0", "--data-dir", d.to_str().unwrap()])
        .env("AIRSSYS_CACHE_DIR", d.join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "the deploy is still running when killed");
    child.kill().unwrap();
    child.wait().unwrap();

    // The folder opens; the old version is live and answers.
    let status: serde_json::Value = serde_json::from_str(&ok(d, &["status", "svc", "--json"], b"")).unwrap();
    assert_eq!(status[0]["component"], "text@1.0.0");
    assert_eq!(ok(d, &["invoke", "svc", "--input", "-"], b"hello"), "HELLO");
    // Every stored blob still matches its digest, and no temp file is left.
    for entry in std::fs::read_dir(d.join("blobs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.ends_with(".wasm") && !name.starts_with('.'), "stray file {name}");
        let bytes = std::fs::read(&path).unwrap();
        let digest = host_digest(&bytes);
        assert_eq!(format!("{digest}.wasm"), name);
    }
    // A new deploy goes through.
    ok(d, &["deploy", "svc", "text@2.0.0"], b"");
    assert!(ok(d, &["invoke", "svc", "--input", "-"], b"hello").starts_with("{\"lines\""));
}

/// sha256 hex, computed by the system's `sha256sum` so this test does not
/// trust the code under test.
fn host_digest(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_wasi_command_takes_its_arguments_from_call_and_from_deploy() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let jaq = sample("iot-sensors", "jaq");
    let input = b"{\"sensor\":\"t1\",\"value\":55.5}\n{\"sensor\":\"t2\",\"value\":12}\n";
    // `call FILE -- ARG...`: everything after `--` is the command's, flags included.
    let out =
        airssys(&["call", &jaq, "--input", "-", "--", "-c", "select(.value > 40) | .sensor"], input, &d.join("c"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\"t1\"\n");
    // `deploy --arg`, repeatable and in order, values starting with `-` included.
    ok(d, &["registry", "add", "jaq@1.5.1", &jaq], b"");
    ok(d, &["deploy", "hot", "jaq@1.5.1", "--arg", "-r", "--arg", "select(.value > 40) | .sensor"], b"");
    assert_eq!(ok(d, &["invoke", "hot", "--input", "-"], input), "t1\n");
    let status: serde_json::Value = serde_json::from_str(&ok(d, &["status", "hot", "--json"], b"")).unwrap();
    assert_eq!(status[0]["args"], serde_json::json!(["-r", "select(.value > 40) | .sensor"]));
    // A failing command: its status and its stderr reach the user.
    ok(d, &["deploy", "hot", "jaq@1.5.1", "--arg", "--arg", "--arg", "x"], b"");
    let err = fails(d, &["invoke", "hot", "--input", "-"]);
    assert!(err.contains("the command exited with status 1: error: 2 values required for '--arg <a> <v>'"), "{err}");
    assert!(err.contains("Usage: hot [OPTIONS]"), "argv[0] is the service name: {err}");
    // Arguments for a contract component are refused before anything changes.
    ok(d, &["registry", "add", "upper@1.0.0", &sample("text-tools", "upper")], b"");
    let err = fails(d, &["deploy", "upper", "upper@1.0.0", "--arg", "-x"]);
    assert!(err.contains("not a WASI command") && err.contains("pass settings as config instead"), "{err}");
    let out = airssys(&["call", &sample("text-tools", "upper"), "--", "-x"], b"", &d.join("c"));
    assert!(!out.status.success() && text(&out.stderr).contains("not a WASI command"), "{}", text(&out.stderr));
}
