//! The wire of `airssys serve`: batches (order, per-input errors, the body
//! limit on the whole batch, cut frames), raw pipeline input, and HTTPS
//! with a CA made here (a client that has it, one that does not).

use host_core::{
    Error, ErrorKind, Input, RemoteRuntime, Runtime,
    deploy::{DeployRequest, PoolMode},
    pipeline::{Pipeline, RunOptions},
    remote::{
        batch,
        server::{self, ServerConfig, TlsFiles},
    },
};

use crate::{
    common::{data_host, r, sample_path},
    tiny,
};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Traps on an empty input, echoes any other.
fn trap_on_empty() -> Vec<u8> {
    tiny::with_execute(&format!("(if (i32.eqz (local.get 1)) (then unreachable)) {}", tiny::ECHO))
}

fn post(url: &str, content_type: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = ureq::http::Request::builder()
        .method("POST")
        .uri(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", content_type);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = agent.run(request.body(body).unwrap()).unwrap();
    (response.status().as_u16(), response.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap())
}

#[test]
fn a_batch_keeps_the_order_and_one_inputs_trap_does_not_fail_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let running = server::start(data_host(dir.path()), ServerConfig::loopback(0, TOKEN)).unwrap();
    let remote = RemoteRuntime::new(&running.url(), TOKEN);
    remote.add_component(&r("picky@1.0.0"), &trap_on_empty()).unwrap();
    remote.deploy(DeployRequest::new("picky", r("picky@1.0.0")).pool(PoolMode::Pooled { size: 1 })).unwrap();

    let inputs: Vec<Input> =
        ["first", "", "third", "", "fifth"].iter().map(|s| Input::new(s.as_bytes().to_vec())).collect();
    let results = remote.invoke_batch("picky", &inputs).unwrap();
    assert_eq!(results.len(), 5);
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(output) => assert_eq!(output.data, inputs[i].data, "result {i} is input {i}'s"),
            Err(e) => {
                assert!(inputs[i].data.is_empty(), "only the empty inputs fail: {i}: {e}");
                assert!(matches!(e, Error::Trap { .. }), "typed over the wire: {e:?}");
            }
        }
    }
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 2);
    // The embedded host answers the same batch the same way.
    let host = data_host(&dir.path().join("embedded"));
    host.add_component(&r("picky@1.0.0"), &trap_on_empty()).unwrap();
    Runtime::deploy(&host, DeployRequest::new("picky", r("picky@1.0.0"))).unwrap();
    let embedded = Runtime::invoke_batch(&host, "picky", &inputs).unwrap();
    let shape = |rs: &[host_core::Result<host_core::Output>]| -> Vec<Option<Vec<u8>>> {
        rs.iter().map(|r| r.as_ref().ok().map(|o| o.data.clone())).collect()
    };
    assert_eq!(shape(&embedded), shape(&results));
    host.close();
}

#[test]
fn a_batch_over_the_body_limit_is_refused_whole_with_413() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let running =
        server::start(host, ServerConfig { max_body_bytes: 64 * 1024, ..ServerConfig::loopback(0, TOKEN) }).unwrap();
    let remote = RemoteRuntime::new(&running.url(), TOKEN);
    remote.add_component(&r("echo@1.0.0"), &tiny::with_execute(tiny::ECHO)).unwrap();
    remote.deploy(DeployRequest::new("echo", r("echo@1.0.0"))).unwrap();
    // Each input is under the limit; the batch (100 KiB) is not.
    let inputs: Vec<Input> = (0..100).map(|_| Input::new(vec![b'x'; 1024])).collect();
    let e = remote.invoke_batch("echo", &inputs).unwrap_err();
    assert!(matches!(e, Error::BodyTooLarge { limit_bytes: 65_536 }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    let (status, body) = post(
        &format!("{}/v1/services/echo/invoke-batch", running.url()),
        batch::CONTENT_TYPE,
        &[],
        batch::encode_inputs(&inputs),
    );
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    // Half of it goes through, every input answered.
    let results = remote.invoke_batch("echo", &inputs[..50]).unwrap();
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|o| o.data.len() == 1024)));
}

#[test]
fn a_batch_frame_cut_short_is_a_400_naming_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    let running = server::start(data_host(dir.path()), ServerConfig::loopback(0, TOKEN)).unwrap();
    let mut body = batch::encode_inputs(&[Input::new(b"one".to_vec()), Input::new(b"two".to_vec())]);
    body.truncate(body.len() - 2);
    let (status, answer) =
        post(&format!("{}/v1/services/any/invoke-batch", running.url()), batch::CONTENT_TYPE, &[], body);
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("batch frame 1 is cut short (data)"), "{text}");
}

#[test]
fn a_pipeline_takes_a_large_input_as_raw_bytes_with_the_pipeline_in_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let running = server::start(data_host(dir.path()), ServerConfig::loopback(0, TOKEN)).unwrap();
    let remote = RemoteRuntime::new(&running.url(), TOKEN);
    remote.add_component(&r("text@1.0.0"), &std::fs::read(sample_path("text-tools", "upper")).unwrap()).unwrap();
    remote.deploy(DeployRequest::new("up", r("text@1.0.0"))).unwrap();
    let pipeline = Pipeline::new("p").node("a", "up");
    let big: Vec<u8> = b"abc ".iter().copied().cycle().take(4 << 20).collect();

    // Through the client (which sends the raw form) ...
    let run = remote.run_pipeline(&pipeline, Input::new(big.clone()), &RunOptions::default()).unwrap();
    assert_eq!(run.results[0].data.len(), big.len());
    assert!(run.results[0].data.starts_with(b"ABC ABC"));

    // ... and by hand: the body is the input, the pipeline a header.
    let url = format!("{}/v1/pipelines/run", running.url());
    let json = serde_json::to_string(&pipeline).unwrap();
    let (status, answer) = post(
        &url,
        "application/octet-stream",
        &[("airssys-pipeline", &json), ("airssys-deadline-ms", "20000"), ("airssys-trace", "true")],
        b"hello".to_vec(),
    );
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(status, 200, "{text}");
    let run: host_core::pipeline::PipelineRun = serde_json::from_slice(&answer).unwrap();
    assert_eq!(run.results[0].data, b"HELLO");
    assert_eq!(run.trace.len(), 1, "trace: true keeps every node's output");

    let (status, answer) = post(&url, "application/octet-stream", &[], b"hello".to_vec());
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("airssys-pipeline"), "says which header is missing: {text}");
    let (status, answer) =
        post(&url, "application/octet-stream", &[("airssys-pipeline", &json), ("airssys-trace", "maybe")], Vec::new());
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&answer).contains("airssys-trace"));
}

/// A CA, and a server certificate for 127.0.0.1 and localhost signed by it,
/// as PEM files in `dir`: (ca.pem, cert.pem, key.pem).
fn make_ca(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "airssys test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn over_https_a_client_with_the_ca_works_and_one_without_is_refused_naming_the_unknown_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_ca(dir.path());
    let config = ServerConfig { tls: Some(TlsFiles { cert, key }), ..ServerConfig::loopback(0, TOKEN) };
    let running = server::start(data_host(&dir.path().join("data")), config).unwrap();
    let url = running.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let trusted = RemoteRuntime::new(&url, TOKEN).with_ca_file(&ca).unwrap();
    trusted.add_component(&r("echo@1.0.0"), &tiny::with_execute(tiny::ECHO)).unwrap();
    trusted.deploy(DeployRequest::new("echo", r("echo@1.0.0"))).unwrap();
    assert_eq!(trusted.invoke("echo", &Input::new(b"secret".to_vec())).unwrap().data, b"secret");
    let batch = trusted.invoke_batch("echo", &[Input::new(b"a".to_vec()), Input::new(b"b".to_vec())]).unwrap();
    assert_eq!(batch.len(), 2);
    // The same name by DNS: the certificate covers localhost too.
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_eq!(RemoteRuntime::new(&by_name, TOKEN).with_ca_file(&ca).unwrap().status(None).unwrap().len(), 1);

    // The system's roots do not know this CA.
    let e = RemoteRuntime::new(&url, TOKEN).status(None).unwrap_err();
    let Error::TlsCertificate { problem, .. } = &e else { panic!("{e:?}") };
    assert!(problem.contains("unknown issuer"), "{problem}");
    assert!(e.to_string().contains("CA file"), "says what to do: {e}");
    assert_eq!(e.kind(), ErrorKind::Unavailable);

    // Another CA is no better.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = make_ca(other.path());
    let e = RemoteRuntime::new(&url, TOKEN).with_ca_file(&other_ca).unwrap().invoke("echo", &Input::new(Vec::new()));
    assert!(matches!(e, Err(Error::TlsCertificate { .. })), "{e:?}");

    // Plain HTTP to the HTTPS port gets no answer it can use.
    let e = RemoteRuntime::new(&url.replace("https://", "http://"), TOKEN).status(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
}

#[test]
fn a_ca_file_without_certificates_and_a_bad_key_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let e = RemoteRuntime::new("https://127.0.0.1:1", TOKEN).with_ca_file(&empty).unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("empty.pem") && e.to_string().contains("no PEM certificate"), "{e}");

    let (_, cert, _) = make_ca(dir.path());
    let config =
        ServerConfig { tls: Some(TlsFiles { cert: cert.clone(), key: empty }), ..ServerConfig::loopback(0, TOKEN) };
    let e = server::start(data_host(&dir.path().join("data")), config).unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("empty.pem") && e.to_string().contains("private key"), "{e}");
}
