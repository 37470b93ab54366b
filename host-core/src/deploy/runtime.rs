//! The data-folder runtime on [`Host`]: registry, services, deploy,
//! invoke, rollback, status and rollout history, persisted so that every
//! process opening the same folder sees the same state.
//!
//! ```text
//! DATA/services/<name>.json   ServiceSpec, written atomically when a rollout succeeds
//! DATA/rollouts.jsonl         one RolloutRecord per line, appended and fsynced
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, RwLock, mpsc},
};

use super::{
    DeployRequest, DeployedVersion, Deployment, PoolMode, Service, ServiceSpec, ServiceStatus, Strategy, VersionStatus,
    rollout::{EventBus, Rollout, RolloutEvent, RolloutOutcome, RolloutRecord, migrate_state},
};
use crate::{
    Capability, ComponentKind, Error, Health, Host, Input, LoadedComponent, Output, Result, fsutil,
    metrics::Metrics,
    registry::{self, ComponentRef, Registry, VersionRecord},
    security::{
        self, SandboxPolicy,
        audit::AuditLog,
        signing::{self, TrustPolicy},
    },
};

/// The data folder's part of a host.
pub(crate) struct DataStore {
    dir: PathBuf,
    registry: Registry,
    audit: AuditLog,
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

    fn append_rollout(&self, record: &RolloutRecord) -> Result<()> {
        let path = self.dir.join("rollouts.jsonl");
        let mut line = serde_json::to_vec(record).map_err(|e| Error::Config(format!("cannot serialize: {e}")))?;
        line.push(b'\n');
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(&line)?;
            file.sync_all()
        };
        write().map_err(|e| Error::io("append to the rollout history", &path, e))
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
    pub fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        let data = self.data()?;
        self.load_named(bytes, Some(reference.name.clone()))?;
        let digest = data.registry.store_blob(bytes)?;
        data.registry.tag(reference, digest, bytes.len() as u64)
    }

    /// Metadata, required capabilities, imports and exports of a stored
    /// version (its introspection exports run in a throw-away instance).
    pub fn describe_version(&self, reference: &ComponentRef) -> Result<crate::Description> {
        let (_, component) = self.load_version(reference)?;
        self.describe(&component)
    }

    /// Removes a version from the registry; refused while a service runs it.
    pub fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        let registry = self.registry()?;
        let services = self.services()?;
        let in_use = |digest: &crate::Digest| -> Vec<String> {
            services.iter().filter(|s| self.service_spec(s).is_ok_and(|spec| spec.digest == *digest)).cloned().collect()
        };
        registry.remove(reference, &in_use)
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

    /// Replaces the signature policy; recorded in the audit log.
    pub fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        let data = self.data()?;
        fsutil::write_json(&data.dir.join("trust.json"), policy)?;
        data.audit.append("trust", None, serde_json::to_value(policy).unwrap_or_default())?;
        Ok(())
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
        self.redeploy_with_grants(service, grants, "grant", &capability, true)
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
        self.redeploy_with_grants(service, grants, "revoke", capability, false)
    }

    /// Audits a grant change (`event`) and redeploys the live version with
    /// `grants` (Immediate); `require` checks the component's requests.
    fn redeploy_with_grants(
        &self,
        service: &str,
        grants: Vec<Capability>,
        event: &str,
        capability: &Capability,
        require: bool,
    ) -> Result<RolloutRecord> {
        self.data()?.audit.append(event, Some(service), serde_json::json!({ "capability": capability }))?;
        let request = DeployRequest {
            service: service.to_string(),
            grants: Some(grants),
            strategy: Some(Strategy::Immediate),
            ..Default::default()
        };
        self.deploy_checked(request, event, require)
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

    /// Rollout history, oldest first, optionally of one service.
    pub fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        let path = self.data()?.dir.join("rollouts.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read the rollout history", &path, e)),
        };
        let mut records = Vec::new();
        for (n, line) in text.lines().enumerate() {
            match serde_json::from_str::<RolloutRecord>(line) {
                Ok(record) => {
                    if service.is_none_or(|s| s == record.service) {
                        records.push(record);
                    }
                }
                // A process killed while appending leaves a torn last line.
                Err(e) => tracing::warn!(line = n + 1, error = %e, "skipping an unreadable rollout record"),
            }
        }
        Ok(records)
    }

    /// Deploys a version to a service with a strategy, and records the
    /// rollout. A rollout that rolls back or fails returns
    /// [`Error::RolloutFailed`]; the old version keeps serving.
    pub fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord> {
        self.deploy_as(request, "deploy")
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
        self.deploy_as(request, "rollback")
    }

    pub(crate) fn deploy_as(&self, request: DeployRequest, trigger: &str) -> Result<RolloutRecord> {
        self.deploy_checked(request, trigger, true)
    }

    /// Deploys and writes the audit record of the outcome (refusals too).
    fn deploy_checked(&self, request: DeployRequest, trigger: &str, require: bool) -> Result<RolloutRecord> {
        let data = self.data()?;
        let service = request.service.clone();
        let wanted = request.component.as_ref().map(ToString::to_string);
        let result = self.deploy_inner(request, trigger, require);
        let (event, detail) = match &result {
            Ok(record) => (
                trigger.to_string(),
                serde_json::json!({ "from": record.from, "to": record.to, "strategy": record.strategy }),
            ),
            Err(Error::RolloutFailed(record)) => (
                format!("{trigger}-failed"),
                serde_json::json!({ "from": record.from, "to": record.to, "outcome": record.outcome }),
            ),
            Err(e) => {
                let event = match e {
                    Error::Signature(_) => "signature-refused".to_string(),
                    _ => format!("{trigger}-refused"),
                };
                (event, serde_json::json!({ "component": wanted, "reason": e.to_string() }))
            }
        };
        if let Err(e) = data.audit.append(&event, Some(&service), detail) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
        result
    }

    fn deploy_inner(&self, request: DeployRequest, trigger: &str, require: bool) -> Result<RolloutRecord> {
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
                return Err(Error::StatefulStrategy { service: request.service.clone(), strategy: strategy.name() });
            }
            // One state, one instance.
            spec.pool = PoolMode::Pooled { size: 1 };
        }

        let mut record = RolloutRecord {
            id: rollout_id(),
            service: request.service.clone(),
            trigger: trigger.to_string(),
            from: current.as_ref().map(|c| c.component.clone()),
            to: reference.clone(),
            strategy: strategy.name().to_string(),
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
            strategy: record.strategy.clone(),
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
            if trigger == "rollback" {
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
        data.append_rollout(&record)?;
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
