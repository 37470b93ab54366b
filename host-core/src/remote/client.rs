//! `RemoteRuntime`: the [`Runtime`] trait over HTTP(S), a blocking client
//! of `airssys serve`. It rebuilds the server's typed errors from their
//! JSON; it knows nothing of the host's internals.
//!
//! A call costs what the wire costs: one agent per client (and its clones)
//! keeps connections alive (TCP_NODELAY on, each request in one write:
//! [`super::transport`]; no proxy), the token is read once, a
//! host name is resolved once, bodies are sent from the caller's bytes
//! without a copy, and no socket timeout is rewritten per read (calls are
//! bounded by the server's deadlines; connecting has 10 s). `https://`
//! URLs are verified against the system's roots, or a CA file
//! ([`RemoteRuntime::with_ca_file`]).

use std::{net::SocketAddr, path::Path, sync::Mutex, time::Duration};

use serde::{Serialize, de::DeserializeOwned};

use super::{
    AuditCheck, CapabilityBody, DecisionBody, ErrorBody, METADATA_HEADER, PIPELINE_DEADLINE_HEADER, PIPELINE_HEADER,
    PIPELINE_TRACE_HEADER, Runtime, batch, transport::OneWriteConnector,
};
use crate::{
    Capability, Description, Error, Input, Output, Result, Value,
    deploy::{DeployRequest, RolloutRecord, ServiceStatus},
    events::RuntimeEvent,
    metrics::MetricsSnapshot,
    pipeline::{Pipeline, PipelineRun, RunOptions, RunTrace},
    registry::{ComponentRef, NameRecord, VersionRecord},
    security::{
        audit::{AuditRecord, LogRepair},
        signing::{ComponentSignature, TrustPolicy},
    },
};

/// Responses larger than this are refused (a runaway server cannot exhaust
/// the client).
const MAX_RESPONSE_BYTES: u64 = 512 << 20;

/// A runtime served by `airssys serve` at a URL. Clones share the agent
/// (and its pool of kept-alive connections).
#[derive(Debug, Clone)]
pub struct RemoteRuntime {
    base: String,
    authorization: String,
    agent: ureq::Agent,
}

/// The roots an `https://` server is checked against.
#[derive(Debug, Clone)]
enum Roots {
    /// The system's CA certificates (Mozilla's when the system has none).
    System,
    /// The certificates of a CA file, only.
    Ca(Vec<ureq::tls::Certificate<'static>>),
}

/// The agent every request of a client goes through.
fn agent(roots: &Roots, https: bool) -> ureq::Agent {
    use ureq::unversioned::transport::Connector;
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .no_delay(true)
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(10)))
        .max_idle_connections_per_host(16);
    if https {
        let root_certs = match roots {
            Roots::Ca(certs) => ureq::tls::RootCerts::new_with_certs(certs),
            Roots::System => system_roots(),
        };
        config = config.tls_config(
            ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls).root_certs(root_certs).build(),
        );
    }
    let connector = ().chain(OneWriteConnector).chain(ureq::unversioned::transport::RustlsConnector::default());
    ureq::Agent::with_parts(config.build(), connector, OnceResolver::default())
}

/// The system's CA certificates (`rustls-native-certs`: the OS store or
/// `SSL_CERT_FILE`), read once per process; Mozilla's roots when there are none.
fn system_roots() -> ureq::tls::RootCerts {
    static ROOTS: std::sync::OnceLock<Vec<ureq::tls::Certificate<'static>>> = std::sync::OnceLock::new();
    let certs = ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!(error = %e, "skipping a system CA certificate");
        }
        found.certs.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect()
    });
    if certs.is_empty() { ureq::tls::RootCerts::WebPki } else { ureq::tls::RootCerts::new_with_certs(certs) }
}

/// Resolves each host once and keeps the answer (a client talks to one
/// server; re-resolving per call costs a `getaddrinfo` for a name).
#[derive(Debug, Default)]
struct OnceResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    known: Mutex<Option<(String, Vec<SocketAddr>)>>,
}

impl ureq::unversioned::resolver::Resolver for OnceResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> std::result::Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        if let Ok(known) = self.known.lock()
            && let Some((host, addrs)) = known.as_ref()
            && *host == key
        {
            let mut out = self.inner.empty();
            for addr in addrs.iter().take(16) {
                out.push(*addr);
            }
            return Ok(out);
        }
        let resolved = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut known) = self.known.lock() {
            *known = Some((key, resolved.iter().copied().collect()));
        }
        Ok(resolved)
    }
}

impl RemoteRuntime {
    /// A client of the server at `url` (e.g. `http://127.0.0.1:7411`, or
    /// `https://...`, checked against the system's roots) using `token`.
    pub fn new(url: &str, token: &str) -> Self {
        let base = url.trim_end_matches('/').to_string();
        let token = token.trim().to_string();
        RemoteRuntime {
            agent: agent(&Roots::System, base.starts_with("https://")),
            authorization: format!("Bearer {token}"),
            base,
        }
    }

    /// A client reading its token from `token_file` (as `airssys serve` wrote it).
    pub fn from_token_file(url: &str, token_file: &Path) -> Result<Self> {
        let token = std::fs::read_to_string(token_file).map_err(|e| Error::io("read the token file", token_file, e))?;
        if token.trim().is_empty() {
            return Err(Error::TokenFile { path: token_file.to_path_buf(), problem: "it is empty".into() });
        }
        Ok(RemoteRuntime::new(url, &token))
    }

    /// The same client checking an `https://` server against the CA
    /// certificates (PEM) in `ca_file` only, instead of the system's roots:
    /// for a server whose certificate your own CA signed.
    pub fn with_ca_file(self, ca_file: &Path) -> Result<Self> {
        let pem = std::fs::read(ca_file).map_err(|e| Error::io("read the CA file", ca_file, e))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Tls {
                what: format!("the CA file {}", ca_file.display()),
                problem: format!("{e}; it must hold PEM certificates"),
            })?;
        if certs.is_empty() {
            return Err(Error::Tls {
                what: format!("the CA file {}", ca_file.display()),
                problem: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            });
        }
        Ok(RemoteRuntime { agent: agent(&Roots::Ca(certs), true), ..self })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> Error {
        Error::RemoteUnreachable { url: self.base.clone(), reason: reason.to_string() }
    }

    /// A transport error: a refused certificate is [`Error::TlsCertificate`]
    /// (named in words), anything else [`Error::RemoteUnreachable`].
    fn failed(&self, e: ureq::Error) -> Error {
        use tokio_rustls::rustls;
        let tls = match &e {
            ureq::Error::Rustls(e) => Some(e),
            ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
            _ => None,
        };
        let Some(rustls::Error::InvalidCertificate(problem)) = tls else {
            if self.base.starts_with("http://") && e.to_string().contains("InvalidContentType") {
                return self.unreachable(format!("{e} (is it an https:// server?)"));
            }
            return self.unreachable(e);
        };
        let problem = match problem {
            rustls::CertificateError::UnknownIssuer => "unknown issuer: no CA this client trusts signed it".to_string(),
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => "expired".into(),
            rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. } => {
                "not valid for this host name".into()
            }
            other => format!("{other:?}"),
        };
        Error::TlsCertificate { url: self.base.clone(), problem }
    }

    /// Sends a request; returns the body of a 2xx answer (and its
    /// metadata header), the server's error otherwise.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
        headers: &[(&str, &str)],
    ) -> Result<(Vec<u8>, Option<String>)> {
        let mut url = String::with_capacity(self.base.len() + path.len());
        url.push_str(&self.base);
        url.push_str(path);
        let request =
            ureq::http::Request::builder().method(method).uri(url).header("authorization", &self.authorization);
        let request = headers.iter().fold(request, |r, (k, v)| r.header(*k, *v));
        let (request, bytes) = match body {
            Some((content_type, bytes)) => (request.header("content-type", content_type), bytes),
            None => (request, &[][..]),
        };
        let request = request.body(bytes).map_err(|e| self.unreachable(e))?;
        let mut response = self.agent.run(request).map_err(|e| self.failed(e))?;
        let status = response.status().as_u16();
        let metadata = response.headers().get(METADATA_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| self.unreachable(format!("reading the answer: {e}")))?;
        if (200..300).contains(&status) {
            return Ok((body, metadata));
        }
        Err(match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => e.into_error(status),
            Err(_) => Error::Remote {
                status,
                code: "http".into(),
                message: format!("the server answered {status}: {}", String::from_utf8_lossy(&body)),
            },
        })
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let (body, _) = self.send("GET", path, None, &[])?;
        self.parse(&body)
    }

    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let json = serde_json::to_vec(body).map_err(Error::encode("the request"))?;
        let (body, _) = self.send("POST", path, Some(("application/json", &json)), &[])?;
        self.parse(&body)
    }

    fn put_json<B: Serialize>(&self, path: &str, body: &B) -> Result<()> {
        let json = serde_json::to_vec(body).map_err(Error::encode("the request"))?;
        self.send("PUT", path, Some(("application/json", &json)), &[]).map(|_| ())
    }

    fn parse<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| self.unreachable(format!("unexpected answer: {e}")))
    }
}

/// Escapes a path segment (names are `[a-z0-9-_.]`, but be safe).
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", segment(v)))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

impl Runtime for RemoteRuntime {
    fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        let path = format!("/v1/components/{}/{}", segment(&reference.name), segment(&reference.version.to_string()));
        let (body, _) = self.send("PUT", &path, Some(("application/wasm", bytes)), &[])?;
        self.parse(&body)
    }

    fn components(&self) -> Result<Vec<NameRecord>> {
        self.get("/v1/components")
    }

    fn describe(&self, reference: &ComponentRef) -> Result<Description> {
        self.get(&format!("/v1/components/{}/{}", segment(&reference.name), segment(&reference.version.to_string())))
    }

    fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        let path = format!("/v1/components/{}/{}", segment(&reference.name), segment(&reference.version.to_string()));
        self.send("DELETE", &path, None, &[]).map(|_| ())
    }

    fn add_signature(&self, signature: &ComponentSignature) -> Result<()> {
        self.put_json("/v1/signatures", signature)
    }

    fn trust_policy(&self) -> Result<TrustPolicy> {
        self.get("/v1/trust")
    }

    fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        self.put_json("/v1/trust", policy)
    }

    fn verify_audit(&self) -> Result<AuditCheck> {
        self.get("/v1/audit/verify")
    }

    fn repair_audit(&self) -> Result<LogRepair> {
        self.post("/v1/audit/repair", &serde_json::json!({}))
    }

    fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord> {
        self.post("/v1/deploy", &request)
    }

    fn rollback(&self, service: &str) -> Result<RolloutRecord> {
        self.post(&format!("/v1/services/{}/rollback", segment(service)), &serde_json::json!({}))
    }

    fn grant(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        self.post(
            &format!("/v1/services/{}/grant", segment(service)),
            &CapabilityBody { capability: capability.clone() },
        )
    }

    fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        self.post(
            &format!("/v1/services/{}/revoke", segment(service)),
            &CapabilityBody { capability: capability.clone() },
        )
    }

    fn invoke(&self, service: &str, input: &Input) -> Result<Output> {
        let metadata = if input.metadata.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&input.metadata).map_err(Error::encode("the input metadata"))?
        };
        let headers: &[(&str, &str)] = if metadata.is_empty() { &[] } else { &[(METADATA_HEADER, &metadata)] };
        let (data, metadata) = self.send(
            "POST",
            &format!("/v1/services/{}/invoke", segment(service)),
            Some(("application/octet-stream", &input.data)),
            headers,
        )?;
        let metadata: Vec<(String, Value)> = match metadata.as_deref() {
            None | Some("[]") => Vec::new(),
            Some(text) => serde_json::from_str(text).map_err(|e| self.unreachable(format!("bad metadata: {e}")))?,
        };
        Ok(Output { data, metadata })
    }

    fn invoke_batch(&self, service: &str, inputs: &[Input]) -> Result<Vec<Result<Output>>> {
        let body = batch::encode_inputs(inputs);
        let (answer, _) = self.send(
            "POST",
            &format!("/v1/services/{}/invoke-batch", segment(service)),
            Some((batch::CONTENT_TYPE, &body)),
            &[],
        )?;
        let results =
            batch::decode_results(&answer).map_err(|e| self.unreachable(format!("unexpected answer: {e}")))?;
        if results.len() != inputs.len() {
            return Err(self.unreachable(format!(
                "unexpected answer: {} results for {} inputs",
                results.len(),
                inputs.len()
            )));
        }
        Ok(results)
    }

    /// Sends the input as raw bytes (no JSON), the pipeline in a header.
    fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        let pipeline = serde_json::to_string(pipeline).map_err(Error::encode("the pipeline"))?;
        let metadata = serde_json::to_string(&input.metadata).map_err(Error::encode("the input metadata"))?;
        let deadline = options.deadline.as_millis().to_string();
        let trace = if options.trace { "true" } else { "false" };
        let (body, _) = self.send(
            "POST",
            "/v1/pipelines/run",
            Some(("application/octet-stream", &input.data)),
            &[
                (PIPELINE_HEADER, &pipeline),
                (METADATA_HEADER, &metadata),
                (PIPELINE_DEADLINE_HEADER, &deadline),
                (PIPELINE_TRACE_HEADER, trace),
            ],
        )?;
        self.parse(&body)
    }

    fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>> {
        match service {
            Some(name) => Ok(vec![self.get(&format!("/v1/services/{}", segment(name)))?]),
            None => self.get("/v1/services"),
        }
    }

    fn metrics(&self) -> Result<MetricsSnapshot> {
        self.get("/v1/metrics")
    }

    fn audit(&self, service: Option<&str>, since_ms: Option<u64>) -> Result<Vec<AuditRecord>> {
        let q = query(&[("service", service.map(str::to_string)), ("since_ms", since_ms.map(|t| t.to_string()))]);
        self.get(&format!("/v1/audit{q}"))
    }

    fn traces(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>> {
        let q = query(&[("pipeline", pipeline.map(str::to_string)), ("last", Some(last.to_string()))]);
        self.get(&format!("/v1/traces{q}"))
    }

    fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        self.get(&format!("/v1/rollouts{}", query(&[("service", service.map(str::to_string))])))
    }

    fn record_decision(&self, service: &str, capability: &Capability, allowed: bool) -> Result<()> {
        let body = DecisionBody { capability: capability.clone(), allowed };
        let json = serde_json::to_vec(&body).map_err(Error::encode("the request"))?;
        let path = format!("/v1/services/{}/decisions", segment(service));
        self.send("POST", &path, Some(("application/json", &json)), &[]).map(|_| ())
    }

    fn subscribe(&self, metrics_every: Duration) -> Result<std::sync::mpsc::Receiver<RuntimeEvent>> {
        let url = format!("{}/v1/events?metrics_ms={}", self.base, metrics_every.as_millis());
        // No overall timeout: the stream lasts as long as the subscriber
        // (the agent sets none), on a connection of its own.
        let response =
            self.agent.get(&url).header("authorization", &self.authorization).call().map_err(|e| self.failed(e))?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.into_body().read_to_string().unwrap_or_default();
            return Err(match serde_json::from_str::<ErrorBody>(&body) {
                Ok(e) => e.into_error(status),
                Err(_) => Error::Remote { status, code: "http".into(), message: body },
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        std::thread::Builder::new()
            .name("airssys-remote-events".into())
            .spawn(move || {
                use std::io::BufRead;
                for line in reader.lines() {
                    let Ok(line) = line else { return };
                    let Some(data) = line.strip_prefix("data:") else { continue };
                    match serde_json::from_str::<RuntimeEvent>(data.trim()) {
                        Ok(event) => {
                            if tx.send(event).is_err() {
                                return; // the subscriber is gone
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "skipping an unreadable event"),
                    }
                }
            })
            .map_err(Error::thread("remote event stream"))?;
        Ok(rx)
    }
}
