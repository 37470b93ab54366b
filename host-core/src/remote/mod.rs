//! One interface for the embedded host and a remote one: the [`Runtime`]
//! trait, its implementation for the [`Host`] facade, the request and
//! response bodies of the HTTP API, and its client and server. Above the
//! facade; nothing below knows it.
//!
//! [`Runtime`] is what the studio and the CLI do with a runtime. [`Host`]
//! implements it in-process; [`RemoteRuntime`] implements it as an HTTP
//! client of `airssys serve` ([`server`]). Code written against
//! `&dyn Runtime` behaves the same on both.
//!
//! The HTTP API (every `/v1/` route needs `Authorization: Bearer TOKEN`):
//!
//! ```text
//! GET    /healthz                          200 "ok" (no token)
//! GET    /metrics                          Prometheus text
//! GET    /v1/components                    [NameRecord]
//! PUT    /v1/components/{name}/{version}   body: the .wasm bytes -> VersionRecord   (413 when too large)
//! GET    /v1/services                      [ServiceStatus]
//! GET    /v1/services/{name}               ServiceStatus                            (404 when unknown)
//! POST   /v1/deploy                        DeployRequest -> RolloutRecord
//! POST   /v1/services/{name}/rollback      RolloutRecord
//! POST   /v1/services/{name}/grant         {"capability": "..."} -> RolloutRecord
//! POST   /v1/services/{name}/revoke        {"capability": "..."} -> RolloutRecord
//! POST   /v1/services/{name}/invoke        body: input bytes -> output bytes, header airssys-metadata: JSON
//! POST   /v1/services/{name}/invoke-batch  input frames -> result frames, in order   (413 over the body limit)
//! POST   /v1/pipelines/run                 PipelineRequest -> PipelineRun, or raw input bytes (below)
//! GET    /v1/traces?pipeline=P&last=N      [RunTrace], oldest first (the last N runs; N=0 or none: all kept)
//! GET    /v1/components/{name}/{version}   Description (metadata, required capabilities, imports, exports)
//! DELETE /v1/components/{name}/{version}   204                                      (409 while in use)
//! PUT    /v1/signatures                    ComponentSignature -> 204
//! GET    /v1/trust                         TrustPolicy
//! PUT    /v1/trust                         TrustPolicy -> 204
//! GET    /v1/audit/verify                  AuditCheck
//! POST   /v1/audit/repair                  LogRepair (torn tails moved aside; 409 when the log was edited)
//! POST   /v1/services/{name}/decisions     {"capability": "...", "allowed": bool} -> 204 (audited)
//! GET    /v1/metrics                       MetricsSnapshot
//! GET    /v1/audit?service=S&since_ms=T    [AuditRecord]
//! GET    /v1/rollouts?service=S            [RolloutRecord]
//! GET    /v1/events?metrics_ms=N           server-sent events, each `data:` a RuntimeEvent (JSON)
//! ```
//!
//! **Batches** (`invoke-batch`, content type `application/vnd.airssys.frames`,
//! both ways): many inputs in one request, one call each, the results in
//! the same order. Every length is a 4-byte big-endian unsigned integer;
//! metadata is the JSON of `invoke`'s `airssys-metadata` header
//! (`[["key", {"Text": "v"}], ...]`), or nothing (length 0) for none.
//!
//! ```text
//! request  = input*    input  = len metadata  len data
//! response = result*   result = 0x00  len metadata  len data        (the output)
//!                             | 0x01  len error-body  len(=0)       (this input's error, JSON as below)
//! ```
//!
//! One input's error (a trap, a deadline, an unknown service) is its
//! result's and the others go on; a body that is cut short is a 400, and
//! the body limit (`--max-body-mib`) applies to the whole batch: 413.
//!
//! **Raw pipeline input**: `POST /v1/pipelines/run` with `content-type:
//! application/octet-stream` takes the input bytes as the body (no JSON,
//! no copy into an array of numbers), the pipeline (JSON) in the
//! `airssys-pipeline` header, and optionally `airssys-metadata` (input
//! metadata), `airssys-deadline-ms` and `airssys-trace: true`.
//!
//! **TLS**: `airssys serve --tls-cert FILE --tls-key FILE` serves HTTPS
//! only (rustls); [`RemoteRuntime`] verifies an `https://` server against
//! the system's roots, or against a CA file
//! ([`RemoteRuntime::with_ca_file`]).
//!
//! Every error is JSON: `{"error": "what happened and what to do", "kind": "not-found", "code":
//! "unknown-service", "detail": {...}}`; the status comes from the kind, and
//! [`RemoteRuntime`] rebuilds the same [`crate::Error`] variant from `code` and
//! `detail`.

pub mod batch;
mod client;
pub mod server;
mod status;
mod tls;
mod token;
mod transport;

use std::{sync::mpsc, time::Duration};

use serde::{Deserialize, Serialize};

pub use client::RemoteRuntime;

use crate::{
    Capability, Description, Host, Input, Output, Result,
    deploy::{DeployRequest, RolloutRecord, ServiceStatus},
    events::RuntimeEvent,
    metrics::MetricsSnapshot,
    pipeline::{Pipeline, PipelineRun, RunOptions, RunTrace},
    registry::{ComponentRef, NameRecord, VersionRecord},
    security::{
        audit::{AuditBreak, AuditRecord, LogRepair},
        signing::{ComponentSignature, TrustPolicy},
    },
};

/// What checking the audit log found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheck {
    /// Records in an intact log.
    pub records: usize,
    /// The first break, if the chain is broken.
    pub broken: Option<AuditBreak>,
}

/// What the studio and the CLI do with a runtime, embedded or remote.
///
/// Audit or refuse: every method that changes state (components,
/// signatures, the trust policy, deploys, rollbacks, grants, revokes,
/// decisions) appends its audit record, or is refused before anything
/// changes when the audit log (or, for deploys, the rollout history) cannot
/// take one: `Error::LogTorn` names the file and the torn line, and
/// [`Runtime::repair_audit`] moves the torn bytes aside.
pub trait Runtime: Send + Sync {
    /// Validates and stores a component version (audited).
    fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord>;
    /// Every component name with its versions.
    fn components(&self) -> Result<Vec<NameRecord>>;
    /// A stored version's metadata, required capabilities, imports and exports.
    fn describe(&self, reference: &ComponentRef) -> Result<Description>;
    /// Removes a version no service runs (audited).
    fn remove_component(&self, reference: &ComponentRef) -> Result<()>;
    /// Keeps a signature (from `airssys sign`) with the component it signs (audited).
    fn add_signature(&self, signature: &ComponentSignature) -> Result<()>;
    /// The signature policy.
    fn trust_policy(&self) -> Result<TrustPolicy>;
    /// Replaces the signature policy (audited).
    fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()>;
    /// Checks the audit log's hash chain.
    fn verify_audit(&self) -> Result<AuditCheck>;
    /// Moves the torn tails of the audit log and the rollout history (what a
    /// crash during an append leaves) aside to dated files in the data
    /// folder and records the repair; refuses an edited audit log.
    fn repair_audit(&self) -> Result<LogRepair>;
    /// Deploys with a strategy, config and grants.
    fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord>;
    /// Deploys the version live before the current one.
    fn rollback(&self, service: &str) -> Result<RolloutRecord>;
    /// Adds a grant and redeploys.
    fn grant(&self, service: &str, capability: &Capability) -> Result<RolloutRecord>;
    /// Removes a grant and redeploys.
    fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord>;
    /// Calls a service.
    fn invoke(&self, service: &str, input: &Input) -> Result<Output>;
    /// Calls a service once per input; the results come in the order of
    /// the inputs, each input's error its own (the others go on). `Err`
    /// only when the batch as a whole fails: too large for a remote
    /// runtime (`Error::BodyTooLarge`), malformed, unreachable. Over HTTP it
    /// is one request (`invoke-batch`).
    fn invoke_batch(&self, service: &str, inputs: &[Input]) -> Result<Vec<Result<Output>>> {
        Ok(inputs.iter().map(|input| self.invoke(service, input)).collect())
    }
    /// Runs a pipeline over the runtime's services.
    fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun>;
    /// Message traces of the last `last` pipeline runs (0: every run kept),
    /// of `pipeline` or of all, oldest first: each node call's input and
    /// output (size, media type, first bytes, metadata), port, duration and
    /// error. A fleet merges the traces of every node that answers.
    fn traces(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>>;
    /// Services (all, or one) with their live versions.
    fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>>;
    /// Metrics of every service and pipeline node.
    fn metrics(&self) -> Result<MetricsSnapshot>;
    /// Audit records, optionally of one service and since a time (ms since the epoch).
    fn audit(&self, service: Option<&str>, since_ms: Option<u64>) -> Result<Vec<AuditRecord>>;
    /// Rollout history, oldest first.
    fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>>;
    /// Records a person's decision on a capability (the studio's grant
    /// dialog) in the audit log.
    fn record_decision(&self, service: &str, capability: &Capability, allowed: bool) -> Result<()>;
    /// Live events (rollout progress, guest log lines, a metrics snapshot
    /// every `metrics_every`) until the receiver is dropped.
    fn subscribe(&self, metrics_every: Duration) -> Result<mpsc::Receiver<RuntimeEvent>>;
    /// Stops what this handle runs in-process and stores its metrics (a
    /// remote runtime keeps running).
    fn close(&self) {}
}

impl Runtime for Host {
    fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        Host::add_component(self, reference, bytes)
    }

    fn components(&self) -> Result<Vec<NameRecord>> {
        self.registry()?.list()
    }

    fn describe(&self, reference: &ComponentRef) -> Result<Description> {
        self.describe_version(reference)
    }

    fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        Host::remove_component(self, reference)
    }

    fn add_signature(&self, signature: &ComponentSignature) -> Result<()> {
        Host::add_signature(self, signature)
    }

    fn trust_policy(&self) -> Result<TrustPolicy> {
        Host::trust_policy(self)
    }

    fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        Host::set_trust_policy(self, policy)
    }

    fn verify_audit(&self) -> Result<AuditCheck> {
        Ok(match self.audit_log()?.verify()? {
            Ok(records) => AuditCheck { records, broken: None },
            Err(broken) => AuditCheck { records: 0, broken: Some(broken) },
        })
    }

    fn repair_audit(&self) -> Result<LogRepair> {
        self.repair_logs()
    }

    fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord> {
        Host::deploy(self, request)
    }

    fn rollback(&self, service: &str) -> Result<RolloutRecord> {
        Host::rollback(self, service)
    }

    fn grant(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        Host::grant(self, service, capability.clone())
    }

    fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        Host::revoke(self, service, capability)
    }

    fn invoke(&self, service: &str, input: &Input) -> Result<Output> {
        Host::invoke(self, service, input)
    }

    fn invoke_batch(&self, service: &str, inputs: &[Input]) -> Result<Vec<Result<Output>>> {
        Ok(inputs.iter().map(|input| Host::invoke(self, service, input)).collect())
    }

    fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        Host::run_pipeline(self, pipeline, input, options)
    }

    fn traces(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>> {
        Host::traces(self, pipeline, last)
    }

    fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>> {
        Host::status(self, service)
    }

    fn metrics(&self) -> Result<MetricsSnapshot> {
        Host::metrics(self)
    }

    fn audit(&self, service: Option<&str>, since_ms: Option<u64>) -> Result<Vec<AuditRecord>> {
        let records = self.audit_log()?.records()?;
        Ok(records
            .into_iter()
            .filter(|r| service.is_none_or(|s| r.body.service.as_deref() == Some(s)))
            .filter(|r| since_ms.is_none_or(|t| r.body.time_ms >= t))
            .collect())
    }

    fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        Host::rollouts(self, service)
    }

    fn subscribe(&self, metrics_every: Duration) -> Result<mpsc::Receiver<RuntimeEvent>> {
        Host::subscribe(self, metrics_every)
    }

    fn close(&self) {
        Host::close(self);
    }

    fn record_decision(&self, service: &str, capability: &Capability, allowed: bool) -> Result<()> {
        Host::record_decision(self, service, capability, allowed)
    }
}

/// `POST /v1/pipelines/run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRequest {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The input body.
    pub input: Vec<u8>,
    /// The message deadline in milliseconds.
    pub deadline_ms: u64,
    /// Keep every node's output.
    pub trace: bool,
}

impl PipelineRequest {
    /// The run options it carries.
    pub fn options(&self) -> RunOptions {
        RunOptions { deadline: Duration::from_millis(self.deadline_ms), trace: self.trace }
    }
}

/// The body of `grant` and `revoke`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CapabilityBody {
    capability: Capability,
}

/// The body of `decisions`: a person's answer about a capability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DecisionBody {
    capability: Capability,
    allowed: bool,
}

/// Every error body: the message, the kind (which decides the HTTP
/// status), and the error itself (`code` and `detail`, its serde form), so
/// that a client rebuilds the same variant. The fleet's error replies
/// carry the same body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    error: String,
    kind: crate::ErrorKind,
    code: String,
    #[serde(default)]
    detail: serde_json::Value,
}

impl ErrorBody {
    pub(crate) fn of(e: &crate::Error) -> Self {
        let mut wire = serde_json::to_value(e).unwrap_or_default();
        ErrorBody {
            error: e.to_string(),
            kind: e.kind(),
            code: match e {
                crate::Error::Remote { code, .. } => code.clone(),
                e => e.code().to_string(),
            },
            detail: wire.get_mut("detail").map(serde_json::Value::take).unwrap_or_default(),
        }
    }

    /// The error a client raises for this body: the server's own variant,
    /// or [`crate::Error::Remote`] for a code this client does not know.
    pub(crate) fn into_error(self, status: u16) -> crate::Error {
        let wire = serde_json::json!({ "code": self.code, "detail": self.detail });
        serde_json::from_value(wire).unwrap_or(crate::Error::Remote { status, code: self.code, message: self.error })
    }
}

/// The response header carrying an invoke's output metadata (JSON).
pub const METADATA_HEADER: &str = "airssys-metadata";

/// A raw pipeline run's pipeline (JSON).
pub const PIPELINE_HEADER: &str = "airssys-pipeline";

/// A raw pipeline run's deadline, milliseconds.
pub const PIPELINE_DEADLINE_HEADER: &str = "airssys-deadline-ms";

/// A raw pipeline run's trace flag (`true` keeps every node's output).
pub const PIPELINE_TRACE_HEADER: &str = "airssys-trace";
