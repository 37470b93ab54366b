//! Running the real `airssys` binary from the e2e tests: spawn, feed
//! stdin, collect output, with a private compile cache.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The `airssys` binary of this build.
pub fn airssys_bin() -> PathBuf {
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
