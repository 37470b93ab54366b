//! Running the real `airssys` binary from the e2e tests: spawn, feed
//! stdin, collect output, with a private compile cache.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The `airssys` binary of this build.
pub fn airssys_bin() -> PathBuf {
    // `AIRSSYS=/path/to/airssys`: a copy of the binary (the build folder's
    // may be replaced by another checkout's build meanwhile).
    if let Some(bin) = std::env::var_os("AIRSSYS") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/airssys
    let bin = exe.parent().and_then(Path::parent).map(|dir| dir.join("airssys")).expect("target folder");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace --release`, which builds it",
        bin.display()
    );
    bin
}

/// The crate folder, read when the tests run: cargo sets it for the test
/// process. A path baked in at compile time goes stale when a build folder
/// is shared by two checkouts (a CI clone and a work tree).
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

pub fn repo_root() -> PathBuf {
    manifest_dir().join("..")
}

/// Every committed sample component, sorted.
pub fn sample_components() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for project in std::fs::read_dir(repo_root().join("sample-projects")).unwrap() {
        let dir = project.unwrap().path().join("components");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "wasm") {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
}

/// Starts `airssys ARGS` with a private compile cache, no RUST_LOG, and
/// stdin, stdout and stderr piped.
pub fn spawn_airssys(args: &[&str], cache: &Path) -> std::process::Child {
    Command::new(airssys_bin())
        .args(args)
        .env("AIRSSYS_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("airssys starts")
}

/// Runs `airssys ARGS` with `stdin`, a private compile cache, and returns
/// its output.
pub fn airssys(args: &[&str], stdin: &[u8], cache: &Path) -> Output {
    let mut child = spawn_airssys(args, cache);
    // A verb that does not read its input (or exits first) closes the pipe.
    if let Err(e) = child.stdin.take().expect("stdin").write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("airssys finishes")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `nats-server` with JetStream on a random loopback port, its storage in
/// a temporary folder; stopped on drop.
pub struct Nats {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    pub url: String,
}

impl Nats {
    /// Starts one, or returns `None` (the test is skipped, with a note)
    /// when `nats-server` is missing outside CI; under `CI=true` a missing
    /// server fails the test.
    pub fn start() -> Option<Nats> {
        let dir = tempfile::tempdir().unwrap();
        let spawned = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(dir.path())
            .arg("--ports_file_dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("nats-server must run under CI (apt-get install nats-server): {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: nats-server is not available ({e}); apt-get install nats-server");
                return None;
            }
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let ports = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .find(|e| e.file_name().to_string_lossy().ends_with(".ports"));
            if let Some(ports) = ports
                && let Ok(text) = std::fs::read_to_string(ports.path())
                && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(url) = json["nats"][0].as_str()
            {
                return Some(Nats { child, _dir: dir, url: url.to_string() });
            }
            assert!(std::time::Instant::now() < deadline, "nats-server did not report its port");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
