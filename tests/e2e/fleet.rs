//! A fleet of three `airssys serve --fleet` processes on a real nats-server,
//! driven by the CLI with `--fleet URL`: a component added through the
//! fleet is served by every node, the same tag with other bytes is refused,
//! a rolling deploy under load from two clients fails no call, a node
//! killed with SIGKILL during the second batch converges within 10 s of
//! restarting, the audit chain verifies, and a node with no NATS exits
//! non-zero within its connect timeout.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use crate::support::*;

struct Node {
    child: Child,
    name: String,
    dir: PathBuf,
}

impl Node {
    fn start(url: &str, name: &str, dir: &Path) -> Node {
        let child = Command::new(airssys_bin())
            .args(["serve", "--fleet", url, "--node", name, "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("AIRSSYS_CACHE_DIR", dir.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Node { child, name: name.to_string(), dir: dir.to_path_buf() }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `airssys ARGS --fleet URL` with `stdin`.
fn fleet(url: &str, args: &[&str], stdin: &[u8], cli: &Path) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--fleet", url]);
    let mut child = Command::new(airssys_bin())
        .args(&all)
        .env("AIRSSYS_DATA_DIR", cli.join("data"))
        .env("AIRSSYS_CACHE_DIR", cli.join("cache"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(output: &std::process::Output) -> String {
    assert!(output.status.success(), "failed: {}", text(&output.stderr));
    text(&output.stdout)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn status_json(url: &str, cli: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&fleet(url, &["fleet", "status", "--json"], b"", cli))).unwrap()
}

/// The version `node` reports for `service`, if any.
fn node_runs(status: &serde_json::Value, node: &str, service: &str) -> Option<String> {
    let node = status["nodes"].as_array()?.iter().find(|n| n["node"] == node)?;
    let s = &node["services"][service];
    (s["converged"] == true).then(|| s["component"].as_str().map(str::to_string)).flatten()
}

#[test]
fn a_fleet_of_three_serves_deploys_and_survives_a_killed_node() {
    let Some(nats) = Nats::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cli = tmp.path().join("cli");
    let mut nodes: Vec<Node> =
        ["n1", "n2", "n3"].iter().map(|n| Node::start(&nats.url, n, &tmp.path().join(n))).collect();
    wait_until("three nodes", Duration::from_secs(20), || {
        status_json(&nats.url, &cli)["nodes"].as_array().is_some_and(|n| n.len() == 3)
    });
    let components = repo_root().join("sample-projects/text-tools/components");
    let upper = components.join("upper.wasm");
    let words = components.join("word-count.wasm");
    ok(&fleet(&nats.url, &["registry", "add", "text@1.0.0", upper.to_str().unwrap()], b"", &cli));
    // The same tag with other bytes is refused, with a message.
    let retag = fleet(&nats.url, &["registry", "add", "text@1.0.0", words.to_str().unwrap()], b"", &cli);
    assert!(!retag.status.success() && text(&retag.stderr).contains("immutable"), "{}", text(&retag.stderr));
    ok(&fleet(&nats.url, &["deploy", "svc", "text@1.0.0", "--pool", "2"], b"", &cli));
    assert_eq!(ok(&fleet(&nats.url, &["invoke", "svc", "--input", "-"], b"hello", &cli)), "HELLO");
    // Every node fetched the bytes and checked their digest.
    let digest =
        text(&Command::new("sha256sum").arg(&upper).output().unwrap().stdout).split(' ').next().unwrap().to_string();
    for node in &nodes {
        let blob = node.dir.join("blobs").join(format!("{digest}.wasm"));
        assert!(blob.exists(), "{} has no copy of the component at {}", node.name, blob.display());
    }
    // A service no node runs fails at once.
    let started = Instant::now();
    let nobody = fleet(&nats.url, &["invoke", "nosuch", "--input", "-"], b"x", &cli);
    assert!(!nobody.status.success() && started.elapsed() < Duration::from_secs(5));
    assert!(text(&nobody.stderr).contains("nosuch"), "{}", text(&nobody.stderr));

    // A rolling deploy under load from two clients; n2 is killed as the
    // second batch begins.
    ok(&fleet(&nats.url, &["registry", "add", "text@2.0.0", words.to_str().unwrap()], b"", &cli));
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, calls, failures, url, cli) =
                (stop.clone(), calls.clone(), failures.clone(), nats.url.clone(), cli.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let out = fleet(&url, &["invoke", "svc", "--input", "-"], b"a b", &cli);
                    let body = text(&out.stdout);
                    if !out.status.success() || !(body == "A B" || body.contains("\"words\"")) {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let mut rolling = Command::new(airssys_bin())
        .args(["deploy", "svc", "text@2.0.0", "--strategy", "rolling", "--batch", "1", "--fleet", &nats.url])
        .env("AIRSSYS_DATA_DIR", cli.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(rolling.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while progress.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("wave 1") {
            nodes[1].kill();
            break;
        }
        line.clear();
    }
    progress.read_to_string(&mut seen).unwrap();
    let finished = rolling.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert!(finished.success(), "the rollout completes on the live nodes:\n{seen}");
    assert!(seen.contains("n2: stopped reporting"), "the killed node is named with the reason:\n{seen}");
    assert!(calls.load(Ordering::Relaxed) >= 4);
    let status = status_json(&nats.url, &cli);
    for node in ["n1", "n3"] {
        assert_eq!(node_runs(&status, node, "svc").as_deref(), Some("text@2.0.0"), "{status}");
    }
    // n2 restarts on its folder and converges within 10 s.
    let dir = nodes[1].dir.clone();
    nodes[1] = Node::start(&nats.url, "n2", &dir);
    let restarted = Instant::now();
    wait_until("n2 to converge", Duration::from_secs(20), || {
        node_runs(&status_json(&nats.url, &cli), "n2", "svc").as_deref() == Some("text@2.0.0")
    });
    assert!(restarted.elapsed() < Duration::from_secs(10) + Duration::from_secs(2), "{:?}", restarted.elapsed());
    // The chain of everything above verifies.
    ok(&fleet(&nats.url, &["audit", "verify"], b"", &cli));
    let failed = failures.load(Ordering::Relaxed);
    // Calls that were on n2 when it was killed may fail; none of the others.
    assert!(failed <= 2, "{failed} of {} calls failed", calls.load(Ordering::Relaxed));
}

#[test]
fn a_rolling_deploy_under_load_fails_no_call() {
    let Some(nats) = Nats::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cli = tmp.path().join("cli");
    let _nodes: Vec<Node> = ["n1", "n2", "n3"].iter().map(|n| Node::start(&nats.url, n, &tmp.path().join(n))).collect();
    wait_until("three nodes", Duration::from_secs(20), || {
        status_json(&nats.url, &cli)["nodes"].as_array().is_some_and(|n| n.len() == 3)
    });
    let components = repo_root().join("sample-projects/text-tools/components");
    for (tag, file) in [("text@1.0.0", "upper.wasm"), ("text@2.0.0", "word-count.wasm")] {
        ok(&fleet(&nats.url, &["registry", "add", tag, components.join(file).to_str().unwrap()], b"", &cli));
    }
    ok(&fleet(&nats.url, &["deploy", "svc", "text@1.0.0"], b"", &cli));
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, calls, failures, url, cli) =
                (stop.clone(), calls.clone(), failures.clone(), nats.url.clone(), cli.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let out = fleet(&url, &["invoke", "svc", "--input", "-"], b"a b", &cli);
                    let body = text(&out.stdout);
                    if !out.status.success() || !(body == "A B" || body.contains("\"words\"")) {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let rolled = fleet(&nats.url, &["deploy", "svc", "text@2.0.0", "--strategy", "rolling", "--batch", "1"], b"", &cli);
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let progress = text(&rolled.stderr);
    assert!(rolled.status.success(), "{progress}");
    // Batches in node order.
    let (w1, w2, w3) =
        (progress.find("    n1:").unwrap(), progress.find("    n2:").unwrap(), progress.find("    n3:").unwrap());
    assert!(w1 < w2 && w2 < w3, "{progress}");
    assert_eq!(failures.load(Ordering::Relaxed), 0, "of {} calls", calls.load(Ordering::Relaxed));
    let status = status_json(&nats.url, &cli);
    for node in ["n1", "n2", "n3"] {
        assert_eq!(node_runs(&status, node, "svc").as_deref(), Some("text@2.0.0"), "{status}");
    }
}

#[test]
fn a_node_with_no_nats_says_so_and_exits_non_zero_within_its_connect_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let out = Command::new(airssys_bin())
        .args(["serve", "--fleet", &format!("nats://127.0.0.1:{dead}"), "--node", "nx", "--listen", "127.0.0.1:0"])
        .args(["--fleet-connect-timeout-ms", "2000", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(text(&out.stderr).contains("NATS"), "{}", text(&out.stderr));
    // Credentials never on the command line.
    let out = Command::new(airssys_bin())
        .args(["fleet", "status", "--fleet", "nats://alice:secret@127.0.0.1:4222"])
        .output()
        .unwrap();
    assert!(!out.status.success() && text(&out.stderr).contains("--fleet-creds"), "{}", text(&out.stderr));
}
