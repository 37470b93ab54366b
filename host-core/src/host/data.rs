//! The data-folder verbs of the [`Host`] facade: the registry (audited),
//! signatures and the trust policy, services (deploy, rollback, grant,
//! revoke, invoke, status, history), pipelines, log repair and close. Each
//! hands over to the subsystem that owns it; audit or refuse holds for
//! every change (see `deploy` and `security`).

use std::sync::mpsc;

use super::Host;
use crate::{
    Capability, Description, Input, Output, Result,
    deploy::{DeployRequest, RolloutEvent, RolloutRecord, ServiceSpec, ServiceStatus, is_rollout_record},
    pipeline::{NodeContract, Pipeline, PipelineRun, RunOptions, RunTrace},
    registry::{ComponentRef, Registry, VersionRecord},
    security::{
        audit::{AuditLog, LogRepair},
        signing::{ComponentSignature, TrustPolicy},
    },
    types::Trigger,
    watch::{Watch, WatchEvent},
};

impl Host {
    /// The registry of this host's data folder.
    pub fn registry(&self) -> Result<&Registry> {
        Ok(&self.data()?.registry)
    }

    /// Validates `bytes` as a component (compiling it), stores them and
    /// tags them `reference`. Adding the same bytes under the same version
    /// again is a no-op; other bytes under an existing version are refused.
    ///
    /// A new version is recorded in the audit log (`registry-add`: component,
    /// digest, size); while the log cannot take a record, it is refused
    /// before anything is stored ([`crate::Error::LogTorn`]).
    pub fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        self.data()?.services.add_component(reference, bytes)
    }

    /// Keeps a signature (from `airssys sign`) beside the bytes it signs;
    /// recorded in the audit log (`signature-add`), refused before anything
    /// is stored while the log cannot take a record.
    pub fn add_signature(&self, signature: &ComponentSignature) -> Result<()> {
        self.data()?.services.add_signature(signature)
    }

    /// Metadata, required capabilities, imports and exports of a stored
    /// version (its introspection exports run in a throw-away instance).
    pub fn describe_version(&self, reference: &ComponentRef) -> Result<Description> {
        let (_, component) = self.data()?.services.load_version(reference)?;
        self.describe(&component)
    }

    /// Removes a version from the registry; refused while a service runs it.
    /// Recorded in the audit log (`registry-remove`: component, digest);
    /// refused before anything is removed while the log cannot take a
    /// record.
    pub fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        self.data()?.services.remove_component(reference)
    }

    /// Names of the services stored in the data folder, sorted.
    pub fn services(&self) -> Result<Vec<String>> {
        self.data()?.services.names()
    }

    /// The stored description of a service.
    pub fn service_spec(&self, service: &str) -> Result<ServiceSpec> {
        self.data()?.services.spec(service)
    }

    /// The service, started in this process if it is not running here yet
    /// (a fleet node answering a call with the caller's deadline).
    #[cfg(feature = "fleet")]
    pub(crate) fn live_service(&self, service: &str) -> Result<std::sync::Arc<crate::deploy::Service>> {
        self.data()?.services.live_service(service)
    }

    /// Calls a service.
    pub fn invoke(&self, service: &str, input: &Input) -> Result<Output> {
        self.data()?.services.invoke(service, input)
    }

    /// The data folder's signature policy (`trust.json`; default: none required).
    pub fn trust_policy(&self) -> Result<TrustPolicy> {
        self.data()?.security.trust_policy()
    }

    /// Replaces the signature policy; recorded in the audit log (`trust`),
    /// and refused before anything changes while the log cannot take a
    /// record.
    pub fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        self.data()?.security.set_trust_policy(policy)
    }

    /// `airssys audit repair`: moves the torn tail of `audit.jsonl`, then of
    /// `rollouts.jsonl`, to a `NAME.torn-<UTC time>` file in the data folder
    /// and records each move in the audit log (`repair`). A log whose last
    /// line is a complete record is left alone. An edited audit log (a
    /// break that is not a torn last line) is refused with
    /// [`crate::Error::LogCorrupt`] and nothing is touched.
    pub fn repair_logs(&self) -> Result<LogRepair> {
        let data = self.data()?;
        let audit = data.security.audit().repair()?;
        let rollouts = data.security.audit().repair_other(data.services.rollout_journal(), is_rollout_record)?;
        Ok(LogRepair { audit, rollouts })
    }

    /// The audit log of this host's data folder.
    pub fn audit_log(&self) -> Result<&AuditLog> {
        Ok(self.data()?.security.audit())
    }

    /// Records a person's decision on a capability (the studio's grant
    /// dialog) in the audit log.
    pub fn record_decision(&self, service: &str, capability: &Capability, allowed: bool) -> Result<()> {
        self.data()?.security.record_decision(service, capability, allowed)
    }

    /// Adds a grant to a service and redeploys its live version with it
    /// (Immediate). Recorded in the audit log.
    pub fn grant(&self, service: &str, capability: Capability) -> Result<RolloutRecord> {
        self.data()?.services.grant(service, capability)
    }

    /// Removes a grant and redeploys the live version without it. The
    /// revoke always takes effect, even if the component asks for the
    /// capability: it then meets a denial when it tries to use it.
    pub fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        self.data()?.services.revoke(service, capability)
    }

    /// Receives rollout progress events from now on.
    pub fn subscribe_rollouts(&self) -> Result<mpsc::Receiver<RolloutEvent>> {
        Ok(self.data()?.services.subscribe())
    }

    /// Status of one service or all of them. Services this process runs
    /// show live traffic figures; the others show their stored state.
    pub fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>> {
        self.data()?.services.status(service)
    }

    /// Rollout history, oldest first, optionally of one service. An
    /// unreadable line is skipped with a warning naming the file and line
    /// (a torn last line: `airssys audit repair` moves it aside).
    pub fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        self.data()?.services.rollouts(service)
    }

    /// Deploys a version to a service with a strategy, and records the
    /// rollout. A rollout that rolls back or fails returns
    /// [`crate::Error::RolloutFailed`]; the old version keeps serving.
    pub fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord> {
        self.deploy_as(request, Trigger::Deploy)
    }

    /// Deploys the version that was live before the current one.
    pub fn rollback(&self, service: &str) -> Result<RolloutRecord> {
        self.data()?.services.rollback(service)
    }

    /// A deploy started by `trigger` (a redeploy of the bench, ...).
    pub(crate) fn deploy_as(&self, request: DeployRequest, trigger: Trigger) -> Result<RolloutRecord> {
        self.data()?.services.deploy(request, trigger)
    }

    /// Deploys every component file of `project` that is not live yet, then
    /// watches them and redeploys on change (see [`crate::watch`]).
    /// `on_event` hears about each deploy and each refused file.
    pub fn watch(&self, project: &std::path::Path, on_event: impl Fn(WatchEvent) + Send + 'static) -> Result<Watch> {
        Watch::start(self.data()?.services.clone(), project, on_event)
    }

    /// Runs `input` through `pipeline` over this host's services.
    pub fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        self.data()?.pipelines.run(pipeline, input, options)
    }

    /// The last `last` pipeline runs (0: every run kept), of `pipeline` or
    /// of all, oldest first: `DATA/traces.jsonl` plus the runs this process
    /// has not stored yet. See [`crate::pipeline::RunTrace`].
    pub fn traces(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>> {
        self.data()?.pipelines.traces.list(pipeline, last)
    }

    /// Adds this process's new run traces to `DATA/traces.jsonl` (trimmed
    /// to the last `HostConfig::trace_runs` runs). [`Host::close`] does it;
    /// long-running processes do it periodically ([`Host::monitor`]).
    pub fn flush_traces(&self) -> Result<()> {
        self.data()?.pipelines.traces.flush()
    }

    /// A service's media types from its component's metadata, or `None`
    /// when the service does not exist (or the host has no data folder).
    pub fn node_contract(&self, service: &str) -> Option<NodeContract> {
        self.data().ok()?.pipelines.node_contract(service)
    }

    /// Drains and shuts down every service this process runs, and stores
    /// its metrics.
    pub fn close(&self) {
        let Ok(data) = self.data() else { return };
        if let Err(e) = data.metrics.flush(&data.dir) {
            tracing::warn!(error = %e, "cannot store metrics");
        }
        if let Err(e) = data.pipelines.traces.flush() {
            tracing::warn!(error = %e, "cannot store run traces");
        }
        data.services.close();
    }
}
