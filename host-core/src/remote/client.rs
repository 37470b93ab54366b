//! `RemoteRuntime`: the [`Runtime`] trait over HTTP, a blocking client of
//! `airssys serve`. It rebuilds the server's typed errors from their JSON;
//! it knows nothing of the host's internals.

use std::{path::Path, time::Duration};

use serde::{Serialize, de::DeserializeOwned};

use super::{AuditCheck, CapabilityBody, DecisionBody, ErrorBody, METADATA_HEADER, PipelineRequest, Runtime};
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

/// A runtime served by `airssys serve` at a URL.
#[derive(Debug, Clone)]
pub struct RemoteRuntime {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl RemoteRuntime {
    /// A client of the server at `url` (e.g. `http://127.0.0.1:7411`) using `token`.
    pub fn new(url: &str, token: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            // Deploys wait for rollouts (a canary takes minutes).
            .timeout_global(Some(Duration::from_secs(3600)))
            .build()
            .into();
        RemoteRuntime { base: url.trim_end_matches('/').to_string(), token: token.trim().to_string(), agent }
    }

    /// A client reading its token from `token_file` (as `airssys serve` wrote it).
    pub fn from_token_file(url: &str, token_file: &Path) -> Result<Self> {
        let token = std::fs::read_to_string(token_file).map_err(|e| Error::io("read the token file", token_file, e))?;
        if token.trim().is_empty() {
            return Err(Error::TokenFile { path: token_file.to_path_buf(), problem: "it is empty".into() });
        }
        Ok(RemoteRuntime::new(url, &token))
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> Error {
        Error::RemoteUnreachable { url: self.base.clone(), reason: reason.to_string() }
    }

    /// Sends a request; returns the body of a 2xx answer, the server's error otherwise.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, String)],
    ) -> Result<(Vec<u8>, Option<String>)> {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token));
        let request = headers.iter().fold(request, |r, (k, v)| r.header(*k, v));
        let request = match &body {
            Some((content_type, _)) => request.header("content-type", *content_type),
            None => request,
        };
        let bytes = body.map(|(_, b)| b).unwrap_or_default();
        let request = request.body(bytes).map_err(|e| self.unreachable(e))?;
        let mut response = self.agent.run(request).map_err(|e| self.unreachable(e))?;
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
        let (body, _) = self.send("POST", path, Some(("application/json", json)), &[])?;
        self.parse(&body)
    }

    fn put_json<B: Serialize>(&self, path: &str, body: &B) -> Result<()> {
        let json = serde_json::to_vec(body).map_err(Error::encode("the request"))?;
        self.send("PUT", path, Some(("application/json", json)), &[]).map(|_| ())
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
        let (body, _) = self.send("PUT", &path, Some(("application/wasm", bytes.to_vec())), &[])?;
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
        let metadata = serde_json::to_string(&input.metadata).map_err(Error::encode("the input metadata"))?;
        let (data, metadata) = self.send(
            "POST",
            &format!("/v1/services/{}/invoke", segment(service)),
            Some(("application/octet-stream", input.data.clone())),
            &[(METADATA_HEADER, metadata)],
        )?;
        let metadata: Vec<(String, Value)> = match metadata {
            Some(text) => serde_json::from_str(&text).map_err(|e| self.unreachable(format!("bad metadata: {e}")))?,
            None => Vec::new(),
        };
        Ok(Output { data, metadata })
    }

    fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        let request = PipelineRequest {
            pipeline: pipeline.clone(),
            input: input.data,
            deadline_ms: options.deadline.as_millis() as u64,
            trace: options.trace,
        };
        self.post("/v1/pipelines/run", &request)
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
        self.send("POST", &path, Some(("application/json", json)), &[]).map(|_| ())
    }

    fn subscribe(&self, metrics_every: Duration) -> Result<std::sync::mpsc::Receiver<RuntimeEvent>> {
        let url = format!("{}/v1/events?metrics_ms={}", self.base, metrics_every.as_millis());
        // No overall timeout: the stream lasts as long as the subscriber.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        let response = agent
            .get(&url)
            .header("authorization", &format!("Bearer {}", self.token))
            .call()
            .map_err(|e| self.unreachable(e))?;
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
