//! What the CLI leaves on disk and how it behaves in a pipeline of Unix
//! tools: secret files, folders the user names, a closed stdout, log lines
//! without colour codes off a terminal.

#![cfg(unix)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output, Stdio},
};

use crate::support::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// `airssys ARGS` in the folder `cwd` under `umask`.
fn airssys_in(cwd: &Path, umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(airssys_bin())
        .args(args)
        .current_dir(cwd)
        .env("AIRSSYS_CACHE_DIR", cwd.join(".cache"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn upper() -> String {
    repo_root().join("sample-projects/text-tools/components/upper.wasm").display().to_string()
}

#[test]
fn keygen_writes_a_private_key_pair_and_never_replaces_one_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The README's own example: a bare file name.
    let out = airssys_in(dir, "022", &["keygen", "--out", "release.key"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&dir.join("release.key")), 0o600);
    assert!(std::fs::read_to_string(dir.join("release.key.pub")).unwrap().starts_with("airssys-ed25519-public:"));

    let out = airssys_in(dir, "022", &["keygen", "--out", "./sub/k.key"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (key, public) = (dir.join("sub/k.key"), dir.join("sub/k.key.pub"));
    assert_eq!((mode(&key), mode(&dir.join("sub"))), (0o600, 0o700));
    let (secret_before, public_before) = (std::fs::read(&key).unwrap(), std::fs::read(&public).unwrap());

    let again = airssys_in(dir, "022", &["keygen", "--out", "./sub/k.key"]);
    assert!(!again.status.success(), "a second keygen onto a key is refused");
    let stderr = text(&again.stderr);
    assert!(stderr.contains("already there") && stderr.contains("--force"), "{stderr}");
    assert!(stderr.contains("sub/k.key"), "{stderr}");
    assert_eq!(std::fs::read(&key).unwrap(), secret_before, "the secret key is unchanged");
    assert_eq!(std::fs::read(&public).unwrap(), public_before, "the public key is unchanged");

    let forced = airssys_in(dir, "022", &["keygen", "--out", "./sub/k.key", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_ne!(std::fs::read(&key).unwrap(), secret_before);
    assert_ne!(std::fs::read(&public).unwrap(), public_before);
    assert_eq!(mode(&key), 0o600);
    // The new pair belongs together: a signature by the key verifies with the .pub.
    let sig = dir.join("c.sig");
    let signed = airssys_in(dir, "022", &["sign", &upper(), "--key", "sub/k.key", "--out", sig.to_str().unwrap()]);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let verified =
        airssys_in(dir, "022", &["verify", &upper(), "--sig", sig.to_str().unwrap(), "--pub", "sub/k.key.pub"]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));

    let wide = airssys_in(dir, "000", &["keygen", "--out", "wide/w.key"]);
    assert!(wide.status.success(), "{}", text(&wide.stderr));
    assert_eq!(mode(&dir.join("wide/w.key")), 0o600, "0600 under umask 000 too");
    assert_eq!(mode(&dir.join("wide")), 0o700);

    let names: Vec<String> =
        std::fs::read_dir(dir.join("sub")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
}

#[test]
fn a_keygen_that_fails_leaves_no_secret_key() {
    let tmp = tempfile::tempdir().unwrap();
    // The folder cannot be made: a file is where it would go.
    std::fs::write(tmp.path().join("file"), b"").unwrap();
    let out = airssys_in(tmp.path(), "022", &["keygen", "--out", "file/k.key"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("file"), "{}", text(&out.stderr));
    // The public key cannot be put in place, even with --force: a folder has its name.
    std::fs::create_dir(tmp.path().join("k.key.pub")).unwrap();
    let out = airssys_in(tmp.path(), "022", &["keygen", "--out", "k.key", "--force"]);
    assert!(!out.status.success());
    let mut names: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["file", "k.key.pub"], "neither key nor a temporary file is left");
}

#[test]
fn the_server_token_is_a_private_file_from_the_start_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let start = || {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("umask 000 && exec \"$0\" \"$@\"")
            .arg(airssys_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
            .env("AIRSSYS_CACHE_DIR", tmp.path().join("cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        for line in stderr.lines() {
            if line.unwrap().contains("serving ") {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    start();
    let token = data.join("serve.token");
    assert_eq!(mode(&token), 0o600, "0600 under umask 000");
    assert_eq!(mode(&data), 0o700, "the data folder airssys made is private");
    let first = std::fs::read(&token).unwrap();
    assert_eq!(first.len(), 65);
    start();
    assert_eq!(std::fs::read(&token).unwrap(), first, "a restart keeps the token");
}

#[test]
fn folders_the_user_names_keep_their_mode() {
    let tmp = tempfile::tempdir().unwrap();
    for wide in [0o1777, 0o755] {
        let cache = tmp.path().join(format!("cache-{wide:o}"));
        let data = tmp.path().join(format!("data-{wide:o}"));
        for dir in [&cache, &data] {
            std::fs::create_dir(dir).unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(wide)).unwrap();
        }
        let flags = ["--cache-dir", cache.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
        for args in [vec!["registry", "add", "text@1.0.0", &upper()], vec!["deploy", "svc", "text@1.0.0"]] {
            let out = airssys_in(tmp.path(), "022", &[&args[..], &flags[..]].concat());
            assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        }
        // The env variable, like the flag.
        let mut child = Command::new(airssys_bin())
            .args(["invoke", "svc", "--input", "-", "--data-dir", data.to_str().unwrap()])
            .env("AIRSSYS_CACHE_DIR", &cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"hi").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(text(&out.stdout), "HI", "{}", text(&out.stderr));
        assert_eq!(mode(&cache), wide);
        assert_eq!(mode(&data), wide);
        assert_eq!(mode(&data.join("blobs")), 0o700, "what airssys makes inside is private");
    }
}

/// Runs `airssys ARGS` with `stdin`, closing its stdout before it writes
/// anything; returns its exit status and stderr.
fn with_stdout_closed(args: &[&str], stdin: &[u8], cache: &Path) -> (Option<i32>, String) {
    let mut child = spawn_airssys(args, cache);
    drop(child.stdout.take());
    // The verbs reading stdin write nothing before its end.
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn a_closed_stdout_ends_every_kind_of_output_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let project = repo_root().join("sample-projects/text-tools");
    let data = tmp.path().join("data");
    let upper = upper();
    let cases: Vec<(Vec<&str>, &[u8])> = vec![
        (vec!["inspect", &upper], b""),
        (vec!["inspect", "--json", &upper], b""),
        (vec!["call", &upper, "--input", "-"], b"hello"),
        (
            vec!["run", project.to_str().unwrap(), "--json", "--input", "-", "--data-dir", data.to_str().unwrap()],
            b"hello",
        ),
    ];
    for (args, stdin) in cases {
        let (status, stderr) = with_stdout_closed(&args, stdin, &cache);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} ends quietly: {stderr}");
        assert_eq!(status, Some(141), "{args:?}: the status of a tool whose reader has gone");
    }
    // Reading a little, then closing, as `| head -c 20` does.
    let mut child = Command::new(airssys_bin())
        .args(["registry", "list", "--data-dir", data.to_str().unwrap()])
        .env("AIRSSYS_CACHE_DIR", &cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut start = [0u8; 4];
    child.stdout.take().unwrap().read_exact(&mut start).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

#[test]
fn log_lines_off_a_terminal_carry_no_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let flags = ["--data-dir", data.to_str().unwrap()];
    let added =
        airssys(&[&["registry", "add", "text@1.0.0", &upper()][..], &flags].concat(), b"", &tmp.path().join("c"));
    assert!(added.status.success(), "{}", text(&added.stderr));
    // -v: the rollout's events are logged at info level.
    let out = airssys(&[&["-v", "deploy", "svc", "text@1.0.0"][..], &flags].concat(), b"", &tmp.path().join("c"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(" INFO ") && stderr.contains("airssys::rollout"), "a log line is there: {stderr}");
    assert!(!stderr.contains("\x1b["), "no colour codes: {stderr:?}");
}
