//! The data-folder runtime on [`Host`]: registry, services, deploy,
//! invoke, rollback, status and rollout history, persisted so that every
//! process opening the same folder sees the same state.
//!
//! ```text
//! DATA/services/<name>.json   ServiceSpec, written atomically when a rollout succeeds
//! DATA/rollouts.jsonl         one RolloutRecord per line, appended and fsynced
//! DATA/audit.jsonl            the hash-chained audit log (security::audit)
//! ```
//!
//! Audit or refuse: every state change here (registry add and remove,
//! signatures, deploy, rollback, grant, revoke, the trust policy, watch
//! redeploys) first checks that its records can be appended (the logs'
//! last lines are complete records, the files open for appending) and is
//! refused before anything changes otherwise ([`Error::LogTorn`],
//! [`Error::LogUnwritable`]); then it appends the record of its outcome. If
//! that append still fails after the change took effect, the change reports
//! [`Error::Unrecorded`]. [`Host::repair_logs`] moves torn tails aside.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, RwLock, mpsc},
};

use super::{
    DeployRequest, DeployedVersion, Deployment, PoolMode, Service, ServiceSpec, ServiceStatus, Strategy, VersionStatus,
    RolloutOutcome, RolloutRecord,
    rollout::{EventBus, Rollout, RolloutEvent, migrate_state},
};
use crate::{
    Capability, ComponentKind, Error, Health, Host, Input, LoadedComponent, Output, Result, fsutil,
    journal::{self, Journal},
    metrics::Metrics,
    registry::{self, ComponentRef, Registry, VersionRecord},
    security::{
        self, SandboxPolicy,
        audit::{AuditEvent, AuditLog, LogRepair},
        signing::{self, ComponentSignature, TrustPolicy},
    },
    types::Trigger,
};

/// The rollout history's file name in a data folder.
const ROLLOUTS_FILE: &str = "rollouts.jsonl";

/// Whether a line is a whole rollout record.
fn is_rollout_record(text: &[u8]) -> bool {
    serde_json::from_slice::<RolloutRecord>(text).is_ok()
}

/// The data folder's part of a host.
pub(crate) struct DataStore {
    dir: PathBuf,
    registry: Registry,
    audit: AuditLog,
    rollouts: Journal,
    services: RwLock<HashMap<String, Arc<Service>>>,
    events: EventBus,
    pub(crate) metrics: Metrics,
    /// Bumped whenever a service starts or stops in this process: cached
    /// pipeline plans holding services check it.
    generation: std::sync::atomic::AtomicU64,
}

impl DataStore {
    /// Opens the data folder `dir`, creating what is missing: folders
    /// airssys makes (`dir` itself included) are private (0700) from the
    /// start; a folder that exists keeps its mode (see `fsutil`).
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let registry = Registry::open(dir)?;
        let services = dir.join("services");
        fsutil::create_private_dir_all(&services).map_err(|e| Error::io("create the services folder", &services, e))?;
        Ok(DataStore {
            dir: dir.to_path_buf(),
            registry,
            audit: AuditLog::open(dir),
            rollouts: Journal::new(dir.join(ROLLOUTS_FILE), dir.join("rollouts.lock.d")),
            services: RwLock::new(HashMap::new()),
            events: EventBus::default(),
            metrics: Metrics::new(dir),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn services_changed(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn spec_path(&self, service: &str) -> PathBuf {
        self.dir.join("services").join(format!("{service}.json"))
    }

    fn read_spec(&self, service: &str) -> Result<Option<ServiceSpec>> {
        fsutil::read_json(&self.spec_path(service))
    }

    fn live(&self, service: &str) -> Option<Arc<Service>> {
        self.services.read().unwrap_or_else(|p| p.into_inner()).get(service).cloned()
    }

    /// Appends to the rollout history; refused, with nothing written, when
    /// its last line is torn.
    fn append_rollout(&self, record: &RolloutRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record).map_err(Error::encode("the rollout record"))?;
        line.push(b'\n');
        let _lock = self.rollouts.lock()?;
        self.rollouts.intact_last_line(is_rollout_record)?;
        self.rollouts.append_line(&line)
    }

    /// Refuses unless the audit log (and, for a deploy, the rollout history)
    /// can take a record now. Called before a change, so a refusal leaves
    /// everything as it was.
    fn check_recordable(&self, deploy: bool) -> Result<()> {
        self.audit.check_appendable()?;
        if deploy {
            self.rollouts.check_appendable(is_rollout_record)?;
        }
        Ok(())
    }

    /// Appends the audit record of a change that took effect; a failure
    /// becomes [`Error::Unrecorded`] naming the change.
    fn record_change(
        &self,
        change: impl FnOnce() -> String,
        event: AuditEvent,
        service: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()> {
        match self.audit.append(event, service, detail) {
            Ok(_) => Ok(()),
            Err(source) => Err(Error::Unrecorded {
                change: change(),
                path: self.audit.path().to_path_buf(),
                source: Box::new(source),
            }),
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn rollout_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{:x}-{}-{}", now_ms(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl Host {
    fn data(&self) -> Result<&DataStore> {
        self.data_store().ok_or(Error::NoDataDir)
    }

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
    /// before anything is stored ([`Error::LogTorn`]).
    pub fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        let data = self.data()?;
        let digest = crate::Digest::of(bytes);
        let known = data.registry.resolve(reference).ok().filter(|v| v.digest == digest);
        if known.is_none() {
            data.check_recordable(false)?;
        }
        self.load_named(bytes, Some(reference.name.clone()))?;
        data.registry.store_blob(bytes)?;
        let record = data.registry.tag(reference, digest, bytes.len() as u64)?;
        if known.is_none() {
            let detail =
                serde_json::json!({ "component": reference, "digest": record.digest, "size_bytes": record.size_bytes });
            data.record_change(|| format!("registry add of {reference}"), AuditEvent::RegistryAdd, None, detail)?;
        }
        Ok(record)
    }

    /// Keeps a signature (from `airssys sign`) beside the bytes it signs;
    /// recorded in the audit log (`signature-add`), refused before anything
    /// is stored while the log cannot take a record.
    pub fn add_signature(&self, signature: &ComponentSignature) -> Result<()> {
        let data = self.data()?;
        data.check_recordable(false)?;
        data.registry.store_signature(signature)?;
        let detail = serde_json::json!({ "digest": signature.digest, "public_key": signature.public_key });
        data.record_change(|| format!("the signature of {}", signature.digest), AuditEvent::SignatureAdd, None, detail)
    }

    /// Metadata, required capabilities, imports and exports of a stored
    /// version (its introspection exports run in a throw-away instance).
    pub fn describe_version(&self, reference: &ComponentRef) -> Result<crate::Description> {
        let (_, component) = self.load_version(reference)?;
        self.describe(&component)
    }

    /// Removes a version from the registry; refused while a service runs it.
    /// Recorded in the audit log (`registry-remove`: component, digest);
    /// refused before anything is removed while the log cannot take a
    /// record.
    pub fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        let data = self.data()?;
        let version = data.registry.resolve(reference)?;
        data.check_recordable(false)?;
        let services = self.services()?;
        let in_use = |digest: &crate::Digest| -> Vec<String> {
            services.iter().filter(|s| self.service_spec(s).is_ok_and(|spec| spec.digest == *digest)).cloned().collect()
        };
        data.registry.remove(reference, &in_use)?;
        let detail = serde_json::json!({ "component": reference, "digest": version.digest });
        data.record_change(|| format!("registry remove of {reference}"), AuditEvent::RegistryRemove, None, detail)
    }

    /// Names of the services stored in the data folder, sorted.
    pub fn services(&self) -> Result<Vec<String>> {
        fsutil::json_stems(&self.data()?.dir.join("services"), "list the services")
    }

    /// The stored description of a service.
    pub fn service_spec(&self, service: &str) -> Result<ServiceSpec> {
        self.data()?.read_spec(service)?.ok_or_else(|| Error::UnknownService { name: service.to_string() })
    }

    fn load_version(&self, reference: &ComponentRef) -> Result<(VersionRecord, Arc<LoadedComponent>)> {
        let registry = self.registry()?;
        let version = registry.resolve(reference)?;
        let bytes = registry.read_blob(&version.digest)?;
        let component = self.load_named(&bytes, Some(reference.name.clone()))?;
        Ok((version, component))
    }

    /// The live service, started from its stored spec if this process has
    /// not started it yet.
    fn activate(&self, service: &str) -> Result<Option<Arc<Service>>> {
        let data = self.data()?;
        if let Some(live) = data.live(service) {
            return Ok(Some(live));
        }
        let Some(spec) = data.read_spec(service)? else { return Ok(None) };
        let (_, component) = self.load_version(&spec.component)?;
        let policy = SandboxPolicy::from_grants(&spec.name, &spec.grants, Some(data.audit.clone()))?;
        let deployment = Deployment::start(self, &spec, spec.component.clone(), component, spec.pool, policy)?;
        let mut services = data.services.write().unwrap_or_else(|p| p.into_inner());
        // Another thread may have started it meanwhile: keep the first.
        let live = services.entry(service.to_string()).or_insert_with(|| Arc::new(Service::new(spec, deployment)));
        let live = live.clone();
        drop(services);
        data.services_changed();
        Ok(Some(live))
    }

    /// Calls a service.
    pub fn invoke(&self, service: &str, input: &Input) -> Result<Output> {
        self.live_service(service)?.invoke(input, None)
    }

    /// The service, started in this process if it is not running here yet.
    pub(crate) fn live_service(&self, service: &str) -> Result<Arc<Service>> {
        self.activate(service)?.ok_or_else(|| Error::UnknownService { name: service.to_string() })
    }

    /// The health of a service's primary version.
    pub(crate) fn service_health(&self, service: &str) -> Result<Health> {
        self.live_service(service)?.table.load().primary.health()
    }

    /// Services running in this process.
    pub(crate) fn live_services(&self) -> Vec<String> {
        let Some(data) = self.data_store() else { return Vec::new() };
        let mut names: Vec<String> = data.services.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        names.sort();
        names
    }

    /// Live instances per (service, version) in this process.
    pub(crate) fn live_instances(&self) -> BTreeMap<(String, ComponentRef), usize> {
        let mut live = BTreeMap::new();
        let Some(data) = self.data_store() else { return live };
        for (name, service) in data.services.read().unwrap_or_else(|p| p.into_inner()).iter() {
            let table = service.table.load();
            let standby = service.standby.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(d, _)| d.clone());
            let deployments =
                std::iter::once(&table.primary).chain(table.secondary.as_ref().map(|(d, _)| d)).chain(standby.as_ref());
            for d in deployments {
                *live.entry((name.clone(), d.reference().clone())).or_insert(0) += d.live_instances();
            }
        }
        live
    }

    /// The data folder's signature policy (`trust.json`; default: none required).
    pub fn trust_policy(&self) -> Result<TrustPolicy> {
        Ok(fsutil::read_json(&self.data()?.dir.join("trust.json"))?.unwrap_or_default())
    }

    /// Replaces the signature policy; recorded in the audit log (`trust`),
    /// and refused before anything changes while the log cannot take a
    /// record.
    pub fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        let data = self.data()?;
        data.check_recordable(false)?;
        fsutil::write_json(&data.dir.join("trust.json"), policy)?;
        let detail = serde_json::to_value(policy).unwrap_or_default();
        data.record_change(|| "the new signature policy".to_string(), AuditEvent::Trust, None, detail)
    }

    /// Refuses unless the audit log (and, for a deploy, the rollout
    /// history) can take a record now: [`Error::LogTorn`] names the file and
    /// the torn line, [`Error::LogUnwritable`] a file that cannot be
    /// appended to.
    pub(crate) fn ensure_recordable(&self, deploy: bool) -> Result<()> {
        self.data()?.check_recordable(deploy)
    }

    /// `airssys audit repair`: moves the torn tail of `audit.jsonl`, then of
    /// `rollouts.jsonl`, to a `NAME.torn-<UTC time>` file in the data folder
    /// and records each move in the audit log (`repair`). A log whose last
    /// line is a complete record is left alone. An edited audit log (a
    /// break that is not a torn last line) is refused with
    /// [`Error::LogCorrupt`] and nothing is touched.
    pub fn repair_logs(&self) -> Result<LogRepair> {
        let data = self.data()?;
        let audit = data.audit.repair()?;
        let rollouts = data.audit.repair_other(&data.rollouts, is_rollout_record)?;
        Ok(LogRepair { audit, rollouts })
    }

    /// The digest and component name a service runs in this process, if it
    /// is live here.
    pub(crate) fn live_digest(&self, service: &str) -> Option<(crate::Digest, String)> {
        let live = self.data_store()?.live(service)?;
        let primary = &live.table.load().primary;
        Some((primary.digest(), primary.reference().name.clone()))
    }

    /// The audit log of this host's data folder.
    pub fn audit_log(&self) -> Result<&AuditLog> {
        Ok(&self.data()?.audit)
    }

    /// Adds a grant to a service and redeploys its live version with it
    /// (Immediate). Recorded in the audit log.
    pub fn grant(&self, service: &str, capability: Capability) -> Result<RolloutRecord> {
        let mut grants = self.service_spec(service)?.grants;
        if !grants.contains(&capability) {
            grants.push(capability.clone());
        }
        self.redeploy_with_grants(service, grants, Trigger::Grant, &capability, true)
    }

    /// Removes a grant and redeploys the live version without it. The
    /// revoke always takes effect, even if the component asks for the
    /// capability: it then meets a denial when it tries to use it.
    pub fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        let mut grants = self.service_spec(service)?.grants;
        let before = grants.len();
        grants.retain(|g| g != capability);
        if grants.len() == before {
            return Err(Error::GrantInvalid {
                capability: capability.to_string(),
                reason: format!("service `{service}` does not hold this grant"),
            });
        }
        self.redeploy_with_grants(service, grants, Trigger::Revoke, capability, false)
    }

    /// Audits a grant change (`event`) and redeploys the live version with
    /// `grants` (Immediate); `require` checks the component's requests.
    fn redeploy_with_grants(
        &self,
        service: &str,
        grants: Vec<Capability>,
        trigger: Trigger,
        capability: &Capability,
        require: bool,
    ) -> Result<RolloutRecord> {
        let data = self.data()?;
        data.check_recordable(true)?;
        data.audit.append(
            AuditEvent::Changed(trigger),
            Some(service),
            serde_json::json!({ "capability": capability }),
        )?;
        let request = DeployRequest {
            service: service.to_string(),
            grants: Some(grants),
            strategy: Some(Strategy::Immediate),
            ..Default::default()
        };
        self.deploy_checked(request, trigger, require)
    }

    /// Refuses a pool that cannot fit next to the instances alive now (the
    /// old version's pool included: both live during a switch).
    fn check_capacity(&self, pool_size: usize) -> Result<()> {
        let capacity = self.config().pool.max_instances;
        let in_use = self.engine().pooling_allocator_metrics().map_or(0, |m| m.component_instances());
        if in_use.saturating_add(pool_size as u64) > u64::from(capacity) {
            return Err(Error::HostCapacity { needed: pool_size as u64, capacity, in_use });
        }
        Ok(())
    }

    /// Checks custom grants against the embedder's validators.
    fn validate_custom_grants(&self, grants: &[Capability]) -> Result<()> {
        for grant in grants {
            if let Capability::Custom { name, params } = grant {
                let Some(custom) = self.config().custom_capabilities.iter().find(|c| &c.name == name) else {
                    return Err(Error::GrantInvalid {
                        capability: grant.to_string(),
                        reason: format!("this host has no custom capability named `{name}`"),
                    });
                };
                (custom.validate)(params)
                    .map_err(|reason| Error::GrantInvalid { capability: grant.to_string(), reason })?;
            }
        }
        Ok(())
    }

    /// Receives rollout progress events from now on.
    pub fn subscribe_rollouts(&self) -> Result<mpsc::Receiver<RolloutEvent>> {
        Ok(self.data()?.events.subscribe())
    }

    /// Status of one service or all of them. Services this process runs
    /// show live traffic figures; the others show their stored state.
    pub fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>> {
        let data = self.data()?;
        let names = match service {
            Some(name) => vec![name.to_string()],
            None => self.services()?,
        };
        names
            .iter()
            .map(|name| match data.live(name) {
                Some(live) => Ok(live.status()),
                None => {
                    let spec = self.service_spec(name)?;
                    let versions = vec![VersionStatus {
                        component: spec.component.clone(),
                        digest: spec.digest,
                        weight_percent: 100.0,
                        calls: 0,
                        errors: 0,
                        live_instances: 0,
                    }];
                    Ok(ServiceStatus { spec, versions })
                }
            })
            .collect()
    }

    /// Rollout history, oldest first, optionally of one service. An
    /// unreadable line is skipped with a warning naming the file and line
    /// (a torn last line: `airssys audit repair` moves it aside).
    pub fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        let journal = &self.data()?.rollouts;
        let bytes = journal.read().map_err(|e| Error::io("read the rollout history", journal.path(), e))?;
        let lines = journal::split(&bytes);
        let torn = journal::torn_tail(&lines, is_rollout_record).map_or(usize::MAX, |l| l.number);
        let mut records = Vec::new();
        for line in &lines {
            if line.number >= torn {
                tracing::warn!(
                    "{} line {}: skipping a torn last record; `airssys audit repair` moves it aside",
                    journal.path().display(),
                    line.number
                );
                break;
            }
            // Every line before the torn tail ends in a newline.
            match serde_json::from_slice::<RolloutRecord>(line.text) {
                Ok(record) => {
                    if service.is_none_or(|s| s == record.service) {
                        records.push(record);
                    }
                }
                Err(e) => tracing::warn!(
                    "{} line {}: skipping an unreadable rollout record ({e})",
                    journal.path().display(),
                    line.number
                ),
            }
        }
        Ok(records)
    }

    /// Deploys a version to a service with a strategy, and records the
    /// rollout. A rollout that rolls back or fails returns
    /// [`Error::RolloutFailed`]; the old version keeps serving.
    pub fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord> {
        self.deploy_as(request, Trigger::Deploy)
    }

    /// Deploys the version that was live before the current one.
    pub fn rollback(&self, service: &str) -> Result<RolloutRecord> {
        let spec = self.service_spec(service)?;
        let Some(previous) = spec.history.len().checked_sub(2).and_then(|i| spec.history.get(i)) else {
            return Err(Error::NothingToRollBack { service: service.to_string() });
        };
        let request = DeployRequest {
            service: service.to_string(),
            component: Some(previous.component.clone()),
            strategy: Some(Strategy::Immediate),
            ..Default::default()
        };
        self.deploy_as(request, Trigger::Rollback)
    }

    pub(crate) fn deploy_as(&self, request: DeployRequest, trigger: Trigger) -> Result<RolloutRecord> {
        self.deploy_checked(request, trigger, true)
    }

    /// Deploys and writes the audit record of the outcome (refusals too).
    /// Refused before anything changes while the audit log or the rollout
    /// history cannot take a record.
    fn deploy_checked(&self, request: DeployRequest, trigger: Trigger, require: bool) -> Result<RolloutRecord> {
        let data = self.data()?;
        data.check_recordable(true)?;
        let service = request.service.clone();
        let wanted = request.component.as_ref().map(ToString::to_string);
        let mut unrecorded_rollout = None;
        let result = self.deploy_inner(request, trigger, require, &mut unrecorded_rollout);
        let (event, detail) = match &result {
            Ok(record) => (
                AuditEvent::Changed(trigger),
                serde_json::json!({ "from": record.from, "to": record.to, "strategy": record.strategy }),
            ),
            Err(Error::RolloutFailed(record)) => (
                AuditEvent::Failed(trigger),
                serde_json::json!({ "from": record.from, "to": record.to, "outcome": record.outcome }),
            ),
            Err(e) => {
                let event = match e {
                    Error::Signature(_) => AuditEvent::SignatureRefused,
                    _ => AuditEvent::Refused(trigger),
                };
                (event, serde_json::json!({ "component": wanted, "reason": e.to_string() }))
            }
        };
        let audited = data.audit.append(event, Some(&service), detail);
        match result {
            // Live: the change must not pass as recorded when a log missed it.
            Ok(record) => {
                let change = || format!("{trigger} of {} to `{}`", record.to, record.service);
                if let Err(source) = audited {
                    return Err(Error::Unrecorded {
                        change: change(),
                        path: data.audit.path().to_path_buf(),
                        source: Box::new(source),
                    });
                }
                if let Some(source) = unrecorded_rollout {
                    return Err(Error::Unrecorded {
                        change: change(),
                        path: data.rollouts.path().to_path_buf(),
                        source: Box::new(source),
                    });
                }
                Ok(record)
            }
            // Nothing changed: the refusal's own error is what the caller needs.
            Err(e) => {
                if let Err(audit_error) = audited {
                    tracing::error!(error = %audit_error, "cannot record this refusal in the audit log");
                }
                if let Some(rollout_error) = unrecorded_rollout {
                    tracing::error!(error = %rollout_error, "the failed rollout could not be recorded in the history");
                }
                Err(e)
            }
        }
    }

    /// `unrecorded_rollout` receives the error of a rollout record that
    /// could not be appended to the history after the rollout ran.
    fn deploy_inner(
        &self,
        request: DeployRequest,
        trigger: Trigger,
        require: bool,
        unrecorded_rollout: &mut Option<Error>,
    ) -> Result<RolloutRecord> {
        let data = self.data()?;
        registry::check_name(&request.service)?;
        let live = self.activate(&request.service)?;
        let _rollout_guard = live.as_ref().map(|s| s.rollout_lock.lock().unwrap_or_else(|p| p.into_inner()));
        let current = live.as_ref().map(|service| service.spec());
        let reference = request
            .component
            .clone()
            .or_else(|| current.as_ref().map(|c| c.component.clone()))
            .ok_or_else(|| Error::InvalidStrategy("a first deploy needs a NAME@VERSION".into()))?;
        let (version, component) = self.load_version(&reference)?;
        signing::check(&self.trust_policy()?, &version.digest, data.registry.signature(&version.digest)?.as_ref())?;

        let mut spec = current.clone().unwrap_or_else(|| ServiceSpec {
            name: request.service.clone(),
            component: reference.clone(),
            digest: version.digest,
            config: BTreeMap::new(),
            grants: Vec::new(),
            pool: PoolMode::default(),
            strategy: Strategy::Immediate,
            dev_strategy: Strategy::Immediate,
            limits: (&self.config().default_limits).into(),
            history: Vec::new(),
        });
        if let Some(config) = &request.config {
            spec.config = config.clone();
        }
        if let Some(grants) = &request.grants {
            spec.grants = grants.clone();
        }
        if let Some(pool) = request.pool {
            spec.pool = pool;
        }
        if let Some(limits) = request.limits {
            limits.validate(&self.config().pool)?;
            spec.limits = limits;
        }
        let strategy = request.strategy.clone().unwrap_or_else(|| spec.strategy.clone());
        strategy.validate()?;
        self.check_capacity(spec.pool_size())?;
        self.validate_custom_grants(&spec.grants)?;
        if require {
            let required = self.describe(&component)?.required_capabilities;
            let missing = security::missing(&required, &spec.grants);
            if !missing.is_empty() {
                return Err(Error::MissingCapabilities {
                    service: spec.name.clone(),
                    component: reference.to_string(),
                    missing,
                });
            }
        }
        let policy = SandboxPolicy::from_grants(&spec.name, &spec.grants, Some(data.audit.clone()))?;

        let new_has_state = matches!(component.kind(), ComponentKind::Contract { state: true, .. });
        let old_has_state = live.as_ref().is_some_and(|s| {
            matches!(s.table.load().primary.component.kind(), ComponentKind::Contract { state: true, .. })
        });
        if new_has_state || old_has_state {
            if matches!(strategy, Strategy::Canary { .. } | Strategy::Rolling { .. }) {
                return Err(Error::StatefulStrategy { service: request.service.clone(), strategy: strategy.kind() });
            }
            // One state, one instance.
            spec.pool = PoolMode::Pooled { size: 1 };
        }

        let mut record = RolloutRecord {
            id: rollout_id(),
            service: request.service.clone(),
            trigger,
            from: current.as_ref().map(|c| c.component.clone()),
            to: reference.clone(),
            strategy: strategy.kind(),
            steps: Vec::new(),
            outcome: RolloutOutcome::Succeeded,
            started_at_ms: now_ms(),
            finished_at_ms: 0,
        };
        data.events.emit(RolloutEvent::Started {
            service: record.service.clone(),
            id: record.id.clone(),
            from: record.from.clone(),
            to: reference.clone(),
            strategy: record.strategy,
        });

        let outcome = match &live {
            None => match Deployment::start(self, &spec, reference.clone(), component, spec.pool, policy.clone()) {
                Ok(deployment) => {
                    let service = Arc::new(Service::new(spec.clone(), deployment));
                    data.services.write().unwrap_or_else(|p| p.into_inner()).insert(spec.name.clone(), service);
                    data.services_changed();
                    RolloutOutcome::Succeeded
                }
                Err(e) => RolloutOutcome::Failed(format!("{reference} did not start: {e}")),
            },
            Some(service) => {
                let old = service.table.load().primary.clone();
                let migrate = new_has_state && old_has_state;
                let initial = if migrate || matches!(strategy, Strategy::Rolling { .. }) && spec.pool_size() > 0 {
                    PoolMode::Pooled { size: 0 }
                } else {
                    spec.pool
                };
                // A blue-green predecessor still warm is the instant way back.
                let standby = {
                    let mut slot = service.standby.lock().unwrap_or_else(|p| p.into_inner());
                    match slot.take() {
                        Some((d, until))
                            if std::time::Instant::now() < until && d.digest() == version.digest && !migrate =>
                        {
                            Some(d)
                        }
                        Some((expired, _)) => {
                            expired.shutdown();
                            None
                        }
                        None => None,
                    }
                };
                let started = match standby {
                    Some(warm) => {
                        warm.reactivate();
                        Ok(warm)
                    }
                    None => Deployment::start(self, &spec, reference.clone(), component, initial, policy.clone()),
                };
                match started {
                    Err(e) => RolloutOutcome::Failed(format!("{reference} did not start: {e}")),
                    Ok(new) => {
                        let hold = if migrate {
                            match migrate_state(&old, &new) {
                                Ok(hold) => Some(hold),
                                Err(e) => {
                                    new.shutdown();
                                    record.outcome = RolloutOutcome::Failed(format!(
                                        "state migration from {} failed: {e}",
                                        old.reference()
                                    ));
                                    None
                                }
                            }
                        } else {
                            None
                        };
                        if matches!(record.outcome, RolloutOutcome::Failed(_)) {
                            record.outcome.clone()
                        } else {
                            let mut rollout = Rollout { service, events: &data.events, record: record.clone() };
                            let outcome = rollout.run(&old, &new, &strategy);
                            record.steps = rollout.record.steps;
                            if let Some(hold) = hold {
                                hold.release(&old);
                                if outcome == RolloutOutcome::Succeeded {
                                    // Stale state must not come back through a standby.
                                    service.standby.lock().unwrap_or_else(|p| p.into_inner()).take();
                                    old.shutdown();
                                }
                            }
                            outcome
                        }
                    }
                }
            }
        };

        if outcome == RolloutOutcome::Succeeded {
            spec.component = reference.clone();
            spec.digest = version.digest;
            if trigger == Trigger::Rollback {
                spec.history.pop();
            } else {
                spec.history.push(DeployedVersion {
                    component: reference.clone(),
                    digest: version.digest,
                    at_ms: now_ms(),
                });
            }
            fsutil::write_json(&data.spec_path(&spec.name), &spec)?;
            if let Some(service) = data.live(&spec.name) {
                service.set_spec(spec.clone());
                // The first health reading of the new version.
                let reading = crate::metrics::HealthReading::of(service.table.load().primary.health());
                data.metrics.set_health(&spec.name, reading);
            }
        }
        record.outcome = outcome.clone();
        record.finished_at_ms = now_ms();
        if let Err(e) = data.append_rollout(&record) {
            *unrecorded_rollout = Some(e);
        }
        data.events.emit(RolloutEvent::Finished {
            service: record.service.clone(),
            id: record.id.clone(),
            outcome: outcome.clone(),
        });
        match outcome {
            RolloutOutcome::Succeeded => Ok(record),
            _ => Err(Error::RolloutFailed(Box::new(record))),
        }
    }

    /// Drains and shuts down every service this process runs, and stores
    /// its metrics.
    pub fn close(&self) {
        let Some(data) = self.data_store() else { return };
        if let Err(e) = data.metrics.flush(&data.dir) {
            tracing::warn!(error = %e, "cannot store metrics");
        }
        let services: Vec<Arc<Service>> =
            data.services.write().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, s)| s).collect();
        data.services_changed();
        for service in services {
            let table = service.table.load();
            for deployment in std::iter::once(&table.primary).chain(table.secondary.as_ref().map(|(d, _)| d)) {
                deployment.drain(super::rollout::DRAIN_GRACE);
                deployment.shutdown();
            }
            if let Some((standby, _)) = service.standby.lock().unwrap_or_else(|p| p.into_inner()).take() {
                standby.shutdown();
            }
        }
    }
}
