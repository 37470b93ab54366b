//! `airssys push` and `airssys pull` against a real `docker-registry` on a
//! random loopback port (skipped with a note outside CI when the binary is
//! missing; under `CI=true` a missing binary fails), and a project whose
//! service names an `oci://` component.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::support::{airssys_bin, repo_root, text};

struct Registry {
    child: Child,
    _dir: tempfile::TempDir,
    addr: String,
}

impl Registry {
    fn start(users: &[(&str, &str)]) -> Option<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            dir.path().join("store").display()
        );
        if !users.is_empty() {
            let lines: Vec<String> =
                users.iter().map(|(u, p)| format!("{u}:{}", bcrypt::hash(p, 4).unwrap())).collect();
            std::fs::write(dir.path().join("htpasswd"), lines.join("\n") + "\n").unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let spawned = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("docker-registry must run under CI (apt-get install docker-registry): {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: docker-registry is not available ({e}); apt-get install docker-registry");
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Registry { child, _dir: dir, addr })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `airssys ARGS` with a private cache and Docker config folder.
fn run(args: &[&str], home: &Path, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(airssys_bin())
        .args(args)
        .env("AIRSSYS_CACHE_DIR", home.join("cache"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "stdout: {}\nstderr: {}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "should fail: {}", text(&output.stdout));
    text(&output.stderr)
}

fn sample(name: &str) -> String {
    repo_root().join("sample-projects/text-tools/components").join(format!("{name}.wasm")).display().to_string()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).unwrap()
}

#[test]
fn push_then_pull_gives_the_same_digests_shows_the_origin_and_runs() {
    let Some(registry) = Registry::start(&[]) else { return };
    let home = tempfile::tempdir().unwrap();
    let (a, b) = (home.path().join("a"), home.path().join("b"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    ok(&run(&["--data-dir", a, "registry", "add", "upper@1.0.0", &sample("upper")], home.path(), b""));
    let target = format!("oci://{}/tools/upper:1.0.0", registry.addr);
    let pushed = json(&run(&["--data-dir", a, "push", "upper@1.0.0", &target, "--json"], home.path(), b""));
    let pulled = json(&run(&["--data-dir", b, "pull", &target, "--as", "shout@2.0.0", "--json"], home.path(), b""));
    assert_eq!(pulled["origin"]["manifest_digest"], pushed["manifest_digest"]);
    assert_eq!(pulled["origin"]["layer_digest"], pushed["layer_digest"]);
    assert_eq!(pulled["component"], "shout@2.0.0");

    let show = ok(&run(&["--data-dir", b, "registry", "show", "shout@2.0.0"], home.path(), b""));
    assert!(show.contains(&format!("origin    {target}")), "{show}");
    assert!(show.contains(pushed["manifest_digest"].as_str().unwrap()), "{show}");

    ok(&run(&["--data-dir", b, "deploy", "shout", "shout@2.0.0"], home.path(), b""));
    let out = ok(&run(&["--data-dir", b, "invoke", "shout", "--input", "-"], home.path(), b"pulled"));
    assert_eq!(out, "PULLED");

    // Again: nothing downloaded, said so.
    let again = ok(&run(&["--data-dir", b, "pull", &target, "--as", "shout@2.0.0"], home.path(), b""));
    assert!(again.contains("already stored as shout@2.0.0"), "{again}");
}

#[test]
fn a_moved_tag_is_noted_with_both_digests_and_a_pinned_tag_that_moved_is_refused() {
    let Some(registry) = Registry::start(&[]) else { return };
    let home = tempfile::tempdir().unwrap();
    let (a, b) = (home.path().join("a"), home.path().join("b"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    ok(&run(&["--data-dir", a, "registry", "add", "upper@1.0.0", &sample("upper")], home.path(), b""));
    ok(&run(&["--data-dir", a, "registry", "add", "upper@1.1.0", &sample("word-count")], home.path(), b""));
    let target = format!("oci://{}/tools/upper:stable", registry.addr);
    let first = json(&run(&["--data-dir", a, "push", "upper@1.0.0", &target, "--json"], home.path(), b""));
    ok(&run(&["--data-dir", b, "pull", &target], home.path(), b""));
    let second = json(&run(&["--data-dir", a, "push", "upper@1.1.0", &target, "--json"], home.path(), b""));
    let (first, second) = (first["manifest_digest"].as_str().unwrap(), second["manifest_digest"].as_str().unwrap());

    let moved = run(&["--data-dir", b, "pull", &target], home.path(), b"");
    ok(&moved);
    let note = text(&moved.stderr);
    assert!(note.contains("moved since the last pull") && note.contains(first) && note.contains(second), "{note}");

    let pinned = format!("{target}@{first}");
    let err = failed(&run(&["--data-dir", home.path().join("c").to_str().unwrap(), "pull", &pinned], home.path(), b""));
    assert!(err.contains("nothing was stored") && err.contains(first) && err.contains(second), "{err}");
    let list = ok(&run(&["--data-dir", home.path().join("c").to_str().unwrap(), "registry", "list"], home.path(), b""));
    assert!(list.contains("the registry is empty"), "{list}");
}

#[test]
fn credentials_come_from_docker_config_json_or_a_token_file_never_the_command_line() {
    let Some(registry) = Registry::start(&[("ci", "s3cret")]) else { return };
    let home = tempfile::tempdir().unwrap();
    let a = home.path().join("a");
    let a = a.to_str().unwrap();
    ok(&run(&["--data-dir", a, "registry", "add", "upper@1.0.0", &sample("upper")], home.path(), b""));
    let target = format!("oci://{}/private/upper:1.0.0", registry.addr);
    let err = failed(&run(&["--data-dir", a, "push", "upper@1.0.0", &target], home.path(), b""));
    assert!(err.contains("refused access") && err.contains(&format!("docker login {}", registry.addr)), "{err}");

    // ~/.docker/config.json's form: auths.HOST.auth = base64(user:password).
    std::fs::create_dir_all(home.path().join("docker")).unwrap();
    let auth = "Y2k6czNjcmV0"; // base64("ci:s3cret")
    std::fs::write(
        home.path().join("docker/config.json"),
        format!("{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}", registry.addr),
    )
    .unwrap();
    ok(&run(&["--data-dir", a, "push", "upper@1.0.0", &target], home.path(), b""));
    std::fs::remove_file(home.path().join("docker/config.json")).unwrap();

    // A token file: user:password, private.
    let token = home.path().join("registry.token");
    std::fs::write(&token, "ci:s3cret\n").unwrap();
    let b = home.path().join("b");
    let pull = ["--data-dir", b.to_str().unwrap(), "pull", &target, "--registry-token-file", token.to_str().unwrap()];
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = failed(&run(&pull, home.path(), b""));
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = ok(&run(&pull, home.path(), b""));
    assert!(out.contains("pulled") && out.contains("upper@1.0.0"), "{out}");
}

#[test]
fn bad_references_and_an_unreachable_registry_fail_saying_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let d = home.path().join("d");
    let d = d.to_str().unwrap();
    for (reference, words) in [
        ("127.0.0.1:5000/tools/upper:1", "does not start with oci://"),
        ("oci://127.0.0.1:5000/tools/upper", "no tag"),
        ("oci://127.0.0.1:5000/tools/upper@sha256:123", "64 lowercase hex digits"),
    ] {
        let err = failed(&run(&["--data-dir", d, "pull", reference], home.path(), b""));
        assert!(err.contains(words) && err.contains("oci://REGISTRY/REPOSITORY:TAG"), "{reference}: {err}");
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let reference = format!("oci://127.0.0.1:{port}/tools/upper:1.0.0");
    let err = failed(&run(&["--data-dir", d, "pull", &reference], home.path(), b""));
    assert!(err.contains(&format!("cannot reach the OCI registry 127.0.0.1:{port}")), "{err}");
    assert!(err.contains("Check the address and that the registry runs"), "{err}");
}

#[test]
fn run_pulls_the_oci_component_a_project_names() {
    let Some(registry) = Registry::start(&[]) else { return };
    let home = tempfile::tempdir().unwrap();
    let a = home.path().join("a");
    let a = a.to_str().unwrap();
    ok(&run(&["--data-dir", a, "registry", "add", "upper@1.0.0", &sample("upper")], home.path(), b""));
    let target = format!("oci://{}/tools/upper:1.0.0", registry.addr);
    ok(&run(&["--data-dir", a, "push", "upper@1.0.0", &target], home.path(), b""));
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("project.ron"),
        format!(
            "(schema: 1, name: \"p\", services: {{\"upper\": (component: \"{target}\", pool: 1)}},\n\
             pipelines: {{\"main\": (nodes: {{\"up\": (service: \"upper\")}})}},\n\
             tests: [(name: \"shouts\", pipeline: \"main\", input: \"hi\", expect: Results([\"HI\"]))])"
        ),
    )
    .unwrap();
    let out = ok(&run(&["run", project.to_str().unwrap(), "--input", "-"], home.path(), b"from oci"));
    assert_eq!(out.trim_end(), "FROM OCI");
    let out = ok(&run(&["test", project.to_str().unwrap()], home.path(), b""));
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}
