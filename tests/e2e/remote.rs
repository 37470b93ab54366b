//! `airssys serve` and the same verbs with `--remote`.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use crate::support::*;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `airssys serve` on a free loopback port; returns it and its URL.
fn serve(data: &std::path::Path, token: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(airssys_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--token-file")
        .arg(token)
        .env("AIRSSYS_CACHE_DIR", data.join("cache"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut url = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("http://") {
            url = Some(line[at..].split_whitespace().next().unwrap().to_string());
            break;
        }
    }
    (server, url.expect("serve prints its URL"))
}

#[test]
fn the_cli_deploys_and_invokes_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let (_server, url) = serve(&dir.path().join("srv"), &token);
    let cache = dir.path().join("cache");
    let remote = |args: &[&str], stdin: &[u8]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--remote", &url, "--token-file", token.to_str().unwrap()]);
        airssys(&all, stdin, &cache)
    };
    let upper = repo_root().join("sample-projects/text-tools/components/upper.wasm");
    let added = remote(&["registry", "add", "text@1.0.0", upper.to_str().unwrap()], b"");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let deployed = remote(&["deploy", "svc", "text@1.0.0"], b"");
    assert!(deployed.status.success(), "{}", text(&deployed.stderr));
    assert!(text(&deployed.stdout).contains("svc: text@1.0.0 is live"), "{}", text(&deployed.stdout));
    let out = remote(&["invoke", "svc", "--input", "-"], b"hello");
    assert_eq!(text(&out.stdout), "HELLO", "{}", text(&out.stderr));

    // Errors read as they do locally, and exit non-zero.
    let missing = remote(&["invoke", "ghost"], b"");
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no service named `ghost`"), "{}", text(&missing.stderr));
    let status = remote(&["status", "--json"], b"");
    let services: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(services[0]["name"], "svc");
    let metrics = remote(&["metrics", "--prometheus"], b"");
    assert!(text(&metrics.stdout).contains(r#"airssys_calls_total{service="svc",version="text@1.0.0"} 1"#));

    // A project's tests, run on the server.
    let project = repo_root().join("sample-projects/text-tools");
    let tested = remote(&["test", project.to_str().unwrap()], b"");
    assert!(tested.status.success(), "{}{}", text(&tested.stdout), text(&tested.stderr));
    assert!(text(&tested.stdout).ends_with("3 passed, 0 failed\n"), "{}", text(&tested.stdout));
    let ran = remote(&["run", project.to_str().unwrap(), "--input", "-"], b"a b");
    assert!(text(&ran.stdout).contains("\"words\": 2"), "{}", text(&ran.stdout));

    // The audit log and the trust policy are the server's.
    let verify = remote(&["audit", "verify"], b"");
    assert!(text(&verify.stdout).starts_with("audit log intact"), "{}{}", text(&verify.stdout), text(&verify.stderr));
    let required = remote(&["trust", "require", "on"], b"");
    assert!(required.status.success(), "{}", text(&required.stderr));
    let listed = remote(&["trust", "list"], b"");
    assert!(text(&listed.stdout).contains("signatures required: yes"), "{}", text(&listed.stdout));
    let unsigned = remote(&["deploy", "svc2", "text@1.0.0"], b"");
    assert!(!unsigned.status.success(), "an unsigned deploy is refused by the server's policy");
    // Verbs that watch local files say so.
    let watch = remote(&["watch", project.to_str().unwrap()], b"");
    assert!(!watch.status.success());
    assert!(text(&watch.stderr).contains("drop --remote"), "{}", text(&watch.stderr));

    // A wrong token is refused.
    std::fs::write(dir.path().join("bad"), "not-the-token-not-the-token-0000").unwrap();
    let refused =
        airssys(&["status", "--remote", &url, "--token-file", dir.path().join("bad").to_str().unwrap()], b"", &cache);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("wrong token"), "{}", text(&refused.stderr));
}
