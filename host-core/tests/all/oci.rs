//! OCI distribution against a real registry: `docker-registry` (the CNCF
//! distribution server, Debian's package) on a random loopback port with
//! its storage in a temp folder, started by each test. Outside CI a
//! missing binary skips the test with a note; under `CI=true` it fails.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use host_core::{
    Digest, Error, Host, Input, Runtime,
    deploy::DeployRequest,
    oci::{self, Credentials, Naming, OciOptions, OciReference, Origins},
    project::Project,
    security::signing,
};

use crate::common::{data_host, r, sample_path};

/// A docker-registry for one test.
pub struct LocalRegistry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl LocalRegistry {
    /// Starts one (with `htpasswd` auth when `users` is given), or `None`
    /// when the binary is missing outside CI.
    pub fn start(users: &[(&str, &str)]) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\nlog:\n  level: info\n",
            dir.path().join("store").display()
        );
        if !users.is_empty() {
            let lines: Vec<String> =
                users.iter().map(|(user, password)| format!("{user}:{}", bcrypt::hash(password, 4).unwrap())).collect();
            std::fs::write(dir.path().join("htpasswd"), lines.join("\n") + "\n").unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let spawned = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
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
        let registry = LocalRegistry { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !registry.answers() {
            assert!(Instant::now() < deadline, "docker-registry did not answer GET /v2/: {}", registry.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }

    /// Whether `GET /v2/` gets an HTTP answer (200, or 401 with auth).
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) else { return false };
        let request = format!("GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr);
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && (answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 401"))
    }

    /// `oci://127.0.0.1:PORT/REST`.
    pub fn reference(&self, rest: &str) -> OciReference {
        OciReference::parse(&format!("oci://{}/{rest}", self.addr)).unwrap()
    }

    /// The registry's own log (its access lines go to stdout, the rest to stderr: both here).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// How many times the blob `digest` of `repository` was downloaded.
    /// (The registry writes an access line once the response is sent:
    /// give it a moment.)
    pub fn blob_gets(&self, repository: &str, digest: &str) -> usize {
        std::thread::sleep(Duration::from_millis(500));
        self.log().matches(&format!("\"GET /v2/{repository}/blobs/{digest} ")).count()
    }

    /// The file that holds blob `digest` in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join("store/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sample_bytes(name: &str) -> Vec<u8> {
    std::fs::read(sample_path("text-tools", name)).unwrap()
}

/// A data host holding `upper@1.0.0` (the text-tools sample).
fn publisher(dir: &Path) -> Host {
    let host = data_host(dir);
    host.add_component(&r("upper@1.0.0"), &sample_bytes("upper")).unwrap();
    host
}

fn stored_versions(host: &Host) -> usize {
    host.components().unwrap().iter().map(|n| n.versions.len()).sum()
}

#[test]
fn a_pushed_component_pulls_back_with_the_same_digests_and_runs() {
    let Some(registry) = LocalRegistry::start(&[]) else { return };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = registry.reference("tools/upper:1.0.0");
    let pushed = oci::push(&publisher(a.path()), &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap();
    assert_eq!(pushed.layer_digest, Digest::of(&sample_bytes("upper")).to_string());
    assert_eq!(pushed.signature_tag, None);

    let host = data_host(b.path());
    let origins = Origins::in_dir(b.path());
    let pulled = oci::pull(&host, &target, Naming::FromArtifact, &origins, &OciOptions::default()).unwrap();
    // Named from the artifact's annotations; the same manifest and layer.
    assert_eq!(pulled.component, r("upper@1.0.0"));
    assert!(pulled.downloaded);
    assert_eq!(pulled.origin.manifest_digest, pushed.manifest_digest);
    assert_eq!(pulled.origin.layer_digest, pushed.layer_digest);
    assert_eq!(pulled.origin.reference, target.to_string());
    assert_eq!(host.registry().unwrap().resolve(&r("upper@1.0.0")).unwrap().digest.to_string(), pushed.layer_digest);
    assert_eq!(origins.origin("upper@1.0.0").unwrap().unwrap(), pulled.origin);

    // The pulled bytes run: deploy and call through the host.
    host.deploy(DeployRequest::new("upper", r("upper@1.0.0"))).unwrap();
    let output = host.invoke("upper", &Input::new(b"hello oci".to_vec())).unwrap();
    assert_eq!(output.data, b"HELLO OCI");

    // Pinned by the manifest digest: the same bytes, and nothing downloaded again.
    let pinned = target.with_digest(&pushed.manifest_digest);
    let again = oci::pull(&host, &pinned, Naming::FromArtifact, &origins, &OciOptions::default()).unwrap();
    assert!(!again.downloaded);
    assert_eq!(again.component, r("upper@1.0.0"));
    assert_eq!(registry.blob_gets("tools/upper", &pushed.layer_digest), 1, "{}", registry.log());
}

#[test]
fn a_signature_travels_beside_the_component_and_is_stored_with_it() {
    let Some(registry) = LocalRegistry::start(&[]) else { return };
    let (a, b, keys) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = publisher(a.path());
    let key = keys.path().join("key");
    signing::keygen(&key, false).unwrap();
    let signature = signing::sign(&sample_bytes("upper"), &key).unwrap();
    host.add_signature(&signature).unwrap();
    let target = registry.reference("signed/upper:1.0.0");
    let pushed = oci::push(&host, &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap();
    let tag = pushed.signature_tag.clone().unwrap();
    assert_eq!(tag, format!("{}.sig", pushed.manifest_digest.replace(':', "-")));

    let other = data_host(b.path());
    let pulled =
        oci::pull(&other, &target, Naming::FromArtifact, &Origins::in_dir(b.path()), &OciOptions::default()).unwrap();
    assert!(pulled.origin.signed);
    let digest = Digest::of(&sample_bytes("upper"));
    assert_eq!(other.registry().unwrap().signature(&digest).unwrap(), Some(signature));
}

#[test]
fn a_tag_pinned_to_a_digest_is_refused_once_the_tag_moved_and_nothing_is_stored() {
    let Some(registry) = LocalRegistry::start(&[]) else { return };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = publisher(a.path());
    host.add_component(&r("upper@1.0.1"), &sample_bytes("word-count")).unwrap();
    let target = registry.reference("tools/upper:stable");
    let first = oci::push(&host, &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap();
    let second = oci::push(&host, &r("upper@1.0.1"), &target, &OciOptions::default()).unwrap();
    assert_ne!(first.manifest_digest, second.manifest_digest);

    let other = data_host(b.path());
    let origins = Origins::in_dir(b.path());
    let pinned = OciReference::parse(&format!("{target}@{}", first.manifest_digest)).unwrap();
    let err = oci::pull(&other, &pinned, Naming::FromArtifact, &origins, &OciOptions::default()).unwrap_err();
    assert!(matches!(err, Error::OciDigestMismatch { .. }), "{err:?}");
    assert_eq!(err.code(), "oci-digest-mismatch");
    let text = err.to_string();
    for words in [first.manifest_digest.as_str(), second.manifest_digest.as_str(), "nothing was stored"] {
        assert!(text.contains(words), "{text}");
    }
    assert_eq!(stored_versions(&other), 0);
    assert!(origins.all().unwrap().is_empty());

    // By digest alone the first bytes are still there, and are what comes.
    let by_digest = target.with_digest(&first.manifest_digest);
    let pulled = oci::pull(&other, &by_digest, Naming::FromArtifact, &origins, &OciOptions::default()).unwrap();
    assert_eq!(pulled.origin.layer_digest, first.layer_digest);
}

#[test]
fn bytes_changed_inside_the_registry_are_refused_before_anything_is_stored() {
    let Some(registry) = LocalRegistry::start(&[]) else { return };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = registry.reference("tools/upper:1.0.0");
    let pushed = oci::push(&publisher(a.path()), &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap();
    // Flip one byte of the stored layer (same size): a registry or a
    // proxy serving other bytes under the digest.
    let file = registry.blob_file(&pushed.layer_digest);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();

    let other = data_host(b.path());
    let origins = Origins::in_dir(b.path());
    let err = oci::pull(&other, &target, Naming::FromArtifact, &origins, &OciOptions::default()).unwrap_err();
    assert!(matches!(&err, Error::OciDigestMismatch { what, .. } if what == "component layer"), "{err:?}");
    assert!(err.to_string().contains(&pushed.layer_digest), "{err}");
    assert_eq!(stored_versions(&other), 0);
    assert!(origins.all().unwrap().is_empty());
}

#[test]
fn a_tag_that_moved_since_the_last_pull_is_reported_with_both_digests() {
    let Some(registry) = LocalRegistry::start(&[]) else { return };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = publisher(a.path());
    host.add_component(&r("upper@1.0.1"), &sample_bytes("upper")).unwrap();
    let target = registry.reference("tools/upper:latest");
    let first = oci::push(&host, &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap();

    let other = data_host(b.path());
    let origins = Origins::in_dir(b.path());
    let pull = || oci::pull(&other, &target, Naming::FromArtifact, &origins, &OciOptions::default()).unwrap();
    let pulled = pull();
    assert_eq!(pulled.moved_from, None);
    assert_eq!(pull().moved_from, None, "an unchanged tag is no news");

    let second = oci::push(&host, &r("upper@1.0.1"), &target, &OciOptions::default()).unwrap();
    let moved = pull();
    assert_eq!(moved.moved_from.as_deref(), Some(first.manifest_digest.as_str()));
    assert_eq!(moved.origin.manifest_digest, second.manifest_digest);
    assert_eq!(moved.component, r("upper@1.0.1"));
    assert_eq!(origins.tag(&target.to_string()).unwrap().unwrap().manifest_digest, second.manifest_digest);
}

#[test]
fn a_project_naming_an_oci_component_applies_runs_and_downloads_once() {
    let Some(registry) = LocalRegistry::start(&[]) else { return };
    let (a, project_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = registry.reference("tools/upper:1.0.0");
    let pushed = oci::push(&publisher(a.path()), &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap();
    std::fs::write(
        project_dir.path().join("project.ron"),
        format!(
            "(schema: 1, name: \"from-oci\", services: {{\"upper\": (component: \"{target}\", pool: 1)}},\n\
             pipelines: {{\"main\": (nodes: {{\"up\": (service: \"upper\")}})}})"
        ),
    )
    .unwrap();
    let project = Project::open(project_dir.path()).unwrap();
    let run = || {
        let host = data_host(&project.data_dir());
        project.apply(&host).unwrap();
        let output = host.invoke("upper", &Input::new(b"from a registry".to_vec())).unwrap();
        assert_eq!(output.data, b"FROM A REGISTRY");
        let spec = host.service_spec("upper").unwrap();
        host.close();
        spec.component
    };
    let first = run();
    // Named by the service and the manifest digest.
    let expected = format!("upper@0.0.0-oci.d{}", &pushed.manifest_digest[7..19]);
    assert_eq!(first.to_string(), expected);
    assert_eq!(registry.blob_gets("tools/upper", &pushed.layer_digest), 1);
    // A second apply (a new process on the same folder): same digest, no download.
    assert_eq!(run(), first);
    assert_eq!(registry.blob_gets("tools/upper", &pushed.layer_digest), 1, "{}", registry.log());
    let origin = Origins::in_dir(&project.data_dir()).origin(&expected).unwrap().unwrap();
    assert_eq!(origin.manifest_digest, pushed.manifest_digest);
}

#[test]
fn credentials_from_a_docker_config_are_sent_and_their_absence_says_how_to_log_in() {
    let Some(registry) = LocalRegistry::start(&[("ci", "s3cret")]) else { return };
    let (a, config) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = publisher(a.path());
    let target = registry.reference("private/upper:1.0.0");

    let err = oci::push(&host, &r("upper@1.0.0"), &target, &OciOptions::default()).unwrap_err();
    assert!(matches!(err, Error::OciAuth { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("docker login {}", registry.addr)), "{err}");

    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
    let path = config.path().join("config.json");
    std::fs::write(&path, format!("{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}", registry.addr)).unwrap();
    let credentials = Credentials::from_docker_config(&path, &registry.addr).unwrap();
    assert_eq!(credentials, Credentials::Basic { username: "ci".into(), password: "s3cret".into() });
    assert!(format!("{credentials:?}").contains("redacted") && !format!("{credentials:?}").contains("s3cret"));
    let options = OciOptions { credentials, ..OciOptions::default() };
    let pushed = oci::push(&host, &r("upper@1.0.0"), &target, &options).unwrap();

    let b = tempfile::tempdir().unwrap();
    let other = data_host(b.path());
    let pulled = oci::pull(&other, &target, Naming::FromArtifact, &Origins::in_dir(b.path()), &options).unwrap();
    assert_eq!(pulled.origin.layer_digest, pushed.layer_digest);

    // An entry for another registry is not sent: anonymous.
    assert_eq!(Credentials::from_docker_config(&path, "127.0.0.1:1").unwrap(), Credentials::Anonymous);
    std::fs::write(&path, "{\"auths\": {\"h\": {\"auth\": \"***\"}}}").unwrap();
    let err = Credentials::from_docker_config(&path, "h").unwrap_err();
    assert!(matches!(err, Error::OciCredentials { .. }) && err.to_string().contains("base64"), "{err}");
}

#[test]
fn an_unreachable_registry_and_bad_references_say_what_to_do() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let source = OciReference::parse(&format!("oci://127.0.0.1:{port}/tools/upper:1.0.0")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let err = oci::pull(&host, &source, Naming::FromArtifact, &Origins::in_dir(dir.path()), &OciOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::OciUnreachable { .. }), "{err:?}");
    assert_eq!(err.kind(), host_core::ErrorKind::Unavailable);
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")) && err.to_string().contains("Check the address"));

    for (text, words) in [
        ("127.0.0.1:5000/tools/upper:1", "does not start with oci://"),
        ("oci://127.0.0.1:5000/tools/upper", "no tag"),
        ("oci://127.0.0.1:5000/tools/upper@sha256:abc", "64 lowercase hex"),
    ] {
        let err = OciReference::parse(text).unwrap_err();
        assert_eq!(err.code(), "oci-reference");
        assert!(err.to_string().contains(words) && err.to_string().contains("oci://REGISTRY/REPOSITORY:TAG"), "{err}");
    }
}

#[test]
fn plain_http_goes_only_to_loopback_registries_unless_insecure() {
    let options = OciOptions::default();
    let insecure = OciOptions { insecure: true, ..OciOptions::default() };
    let loopback = OciReference::parse("oci://localhost:5000/a:1").unwrap();
    let remote = OciReference::parse("oci://10.1.2.3:5000/a:1").unwrap();
    assert!(options.plain_http(&loopback));
    assert!(!options.plain_http(&remote), "a registry off loopback gets HTTPS");
    assert!(insecure.plain_http(&remote));
}
