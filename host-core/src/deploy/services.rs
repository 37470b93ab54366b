//! [`Services`]: the data folder's services, live in this process or
//! stored on disk, and the verbs that read them (invoke, status, history,
//! close). Deploys are in `phases`. Every process opening the same folder
//! sees the same state:
//!
//! ```text
//! DATA/services/<name>.json   ServiceSpec, written atomically when a rollout succeeds
//! DATA/rollouts.jsonl         one RolloutRecord per line, appended and fsynced
//! ```

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use tracing::instrument;

use super::{
    Deployment, PoolMode, RolloutEvent, RoutingTable, Service, ServiceSpec, ServiceStatus, VersionStatus,
    rollout::{self, EventBus},
};
use crate::{
    ComponentKind, Error, Health, Input, Output, Result,
    component::{CompileTier, LoadedComponent},
    engine::Engine,
    fsutil,
    journal::{self, Journal},
    metrics::{HealthReading, Metrics},
    registry::{ComponentRef, Registry, VersionRecord},
    security::{SandboxPolicy, Security},
    types::{Digest, RolloutRecord},
};

/// The rollout history's file name in a data folder.
const ROLLOUTS_FILE: &str = "rollouts.jsonl";

/// Whether a line is a whole rollout record.
pub(crate) fn is_rollout_record(text: &[u8]) -> bool {
    serde_json::from_slice::<RolloutRecord>(text).is_ok()
}

/// The services of a data folder.
pub(crate) struct Services {
    dir: PathBuf,
    pub(super) engine: Engine,
    pub(super) registry: Registry,
    pub(super) security: Arc<Security>,
    pub(super) metrics: Arc<Metrics>,
    rollouts: Journal,
    live: RwLock<HashMap<String, Arc<Service>>>,
    pub(super) events: EventBus,
    /// Bumped whenever a service starts or stops in this process: cached
    /// pipeline plans holding services check it.
    generation: AtomicU64,
}

impl Services {
    /// The services of data folder `dir` (its `services` folder is made,
    /// private, if missing).
    pub(crate) fn open(
        dir: &Path,
        engine: Engine,
        registry: Registry,
        security: Arc<Security>,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        let services = dir.join("services");
        fsutil::create_private_dir_all(&services).map_err(|e| Error::io("create the services folder", &services, e))?;
        Ok(Services {
            dir: dir.to_path_buf(),
            engine,
            registry,
            security,
            metrics,
            rollouts: Journal::new(dir.join(ROLLOUTS_FILE), dir.join("rollouts.lock.d")),
            live: RwLock::new(HashMap::new()),
            events: EventBus::default(),
            generation: AtomicU64::new(0),
        })
    }

    /// Changes whenever a service starts or stops in this process.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(super) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The rollout history.
    pub(crate) fn rollout_journal(&self) -> &Journal {
        &self.rollouts
    }

    pub(super) fn spec_path(&self, service: &str) -> PathBuf {
        self.dir.join("services").join(format!("{service}.json"))
    }

    fn read_spec(&self, service: &str) -> Result<Option<ServiceSpec>> {
        fsutil::read_json(&self.spec_path(service))
    }

    /// The service if this process runs it.
    pub(super) fn live(&self, service: &str) -> Option<Arc<Service>> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).get(service).cloned()
    }

    /// Makes `service` live (a first deploy).
    pub(super) fn insert(&self, service: Arc<Service>) {
        self.live.write().unwrap_or_else(|p| p.into_inner()).insert(service.name.clone(), service);
        self.changed();
    }

    /// Appends to the rollout history; refused, with nothing written, when
    /// its last line is torn.
    pub(super) fn append_rollout(&self, record: &RolloutRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record).map_err(Error::encode("the rollout record"))?;
        line.push(b'\n');
        let _lock = self.rollouts.lock()?;
        self.rollouts.intact_last_line(is_rollout_record)?;
        self.rollouts.append_line(&line)
    }

    /// Refuses unless the audit log and the rollout history can take a
    /// record now ([`Error::LogTorn`], [`Error::LogUnwritable`]). Called
    /// before a change, so a refusal leaves everything as it was.
    pub(crate) fn check_recordable(&self) -> Result<()> {
        self.security.check_recordable()?;
        self.rollouts.check_appendable(is_rollout_record)
    }

    /// Names of the services stored in the data folder, sorted.
    pub(crate) fn names(&self) -> Result<Vec<String>> {
        fsutil::json_stems(&self.dir.join("services"), "list the services")
    }

    /// The stored description of a service ([`Error::UnknownService`]).
    pub(crate) fn spec(&self, service: &str) -> Result<ServiceSpec> {
        self.read_spec(service)?.ok_or_else(|| Error::UnknownService { name: service.to_string() })
    }

    /// The services whose live version has `digest`.
    pub(crate) fn using(&self, digest: &Digest) -> Result<Vec<String>> {
        Ok(self.names()?.into_iter().filter(|s| self.spec(s).is_ok_and(|spec| spec.digest == *digest)).collect())
    }

    /// A stored version, loaded.
    pub(crate) fn load_version(&self, reference: &ComponentRef) -> Result<(VersionRecord, Arc<LoadedComponent>)> {
        let version = self.registry.resolve(reference)?;
        let bytes = self.registry.read_blob(&version.digest)?;
        let component = self.engine.load_named(&bytes, Some(reference.name.clone()))?;
        Ok((version, component))
    }

    /// Starts `reference` for `spec`'s service with `mode` and `policy`; its
    /// calls count in the version's metrics.
    /// Swaps every live service whose primary version runs `optimized`'s
    /// digest on baseline code to `optimized` (the engine's tier-up): a new
    /// pool starts, calls move to it at once, the old pool drains its calls
    /// in flight. Not a deploy: nothing is recorded, the spec is unchanged.
    /// A stateful service keeps its baseline code (its state lives in its
    /// instance) until its next deploy or restart, which find the
    /// optimised code in the cache.
    pub(crate) fn tier_up(&self, optimized: &Arc<LoadedComponent>) {
        let _span = tracing::debug_span!(target: "airssys::deploy", "tier up", component = %optimized.name()).entered();
        let services: Vec<Arc<Service>> =
            self.live.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for service in services {
            // After any rollout in progress.
            let _one = service.rollout_lock.lock().unwrap_or_else(|p| p.into_inner());
            let old = service.table.load().primary.clone();
            let component = &old.component;
            let baseline = component.digest() == optimized.digest() && component.tier() == CompileTier::Baseline;
            if !baseline || matches!(component.kind(), ComponentKind::Contract { state: true, .. }) {
                continue;
            }
            let spec = service.spec();
            let started =
                self.start_deployment(&spec, old.reference(), optimized.clone(), spec.pool, old.policy().clone());
            match started {
                Ok(new) => {
                    service.table.store(Arc::new(RoutingTable::only(new)));
                    old.drain(rollout::DRAIN_GRACE);
                    old.shutdown();
                    self.changed();
                    tracing::info!(target: "airssys::deploy", service = %service.name, version = %old.reference(), "now on optimised code");
                }
                Err(e) => {
                    tracing::warn!(target: "airssys::deploy", service = %service.name, error = %e, "optimised code did not start; the baseline code keeps serving")
                }
            }
        }
    }

    /// Starts the thread that applies the engine's tier-ups to these
    /// services; it ends when they are dropped.
    pub(crate) fn follow_tier_ups(self: &Arc<Self>) -> Result<()> {
        let tier_ups = self.engine.subscribe_tier_ups();
        let services = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("airssys-tier-ups".into())
            .spawn(move || {
                while let Ok(optimized) = tier_ups.recv() {
                    let Some(services) = services.upgrade() else { return };
                    services.tier_up(&optimized);
                }
            })
            .map_err(Error::thread("tier-ups"))?;
        Ok(())
    }

    pub(super) fn start_deployment(
        &self,
        spec: &ServiceSpec,
        reference: &ComponentRef,
        component: Arc<LoadedComponent>,
        mode: PoolMode,
        policy: Arc<SandboxPolicy>,
    ) -> Result<Arc<Deployment>> {
        let stats = self.metrics.version(&spec.name, reference, component.digest());
        Deployment::start(&self.engine, spec, reference.clone(), component, mode, policy, stats)
    }

    /// The live service, started from its stored spec if this process has
    /// not started it yet; `None` when there is no such service.
    pub(super) fn activate(&self, service: &str) -> Result<Option<Arc<Service>>> {
        if let Some(live) = self.live(service) {
            return Ok(Some(live));
        }
        let Some(spec) = self.read_spec(service)? else { return Ok(None) };
        let (_, component) = self.load_version(&spec.component)?;
        let policy = self.security.policy(&spec.name, &spec.grants)?;
        let deployment = self.start_deployment(&spec, &spec.component, component, spec.pool, policy)?;
        let mut services = self.live.write().unwrap_or_else(|p| p.into_inner());
        // Another thread may have started it meanwhile: keep the first.
        let live = services.entry(service.to_string()).or_insert_with(|| Arc::new(Service::new(spec, deployment)));
        let live = live.clone();
        drop(services);
        self.changed();
        Ok(Some(live))
    }

    /// The service, started in this process if it is not running here yet.
    pub(crate) fn live_service(&self, service: &str) -> Result<Arc<Service>> {
        self.activate(service)?.ok_or_else(|| Error::UnknownService { name: service.to_string() })
    }

    /// Calls a service.
    #[instrument(target = "airssys::call", name = "invoke", level = "debug", skip_all, fields(%service))]
    pub(crate) fn invoke(&self, service: &str, input: &Input) -> Result<Output> {
        self.live_service(service)?.invoke(input, None, std::time::Instant::now())
    }

    /// The health of a service's primary version.
    pub(crate) fn health(&self, service: &str) -> Result<Health> {
        self.live_service(service)?.table.load().primary.health()
    }

    /// Calls `health()` of a service (starting it here if needed) and
    /// records the reading.
    pub(crate) fn check_health(&self, service: &str) -> HealthReading {
        let reading = HealthReading::of(self.health(service));
        self.metrics.set_health(service, reading.clone());
        reading
    }

    /// Services running in this process, sorted.
    pub(crate) fn live_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.live.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        names.sort();
        names
    }

    /// Live instances per (service, version) in this process.
    pub(crate) fn live_instances(&self) -> BTreeMap<(String, ComponentRef), usize> {
        let mut live = BTreeMap::new();
        for (name, service) in self.live.read().unwrap_or_else(|p| p.into_inner()).iter() {
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

    /// The digest and component name a service runs in this process, if it
    /// is live here.
    pub(crate) fn live_digest(&self, service: &str) -> Option<(Digest, String)> {
        let live = self.live(service)?;
        let primary = &live.table.load().primary;
        Some((primary.digest(), primary.reference().name.clone()))
    }

    /// Receives rollout progress events from now on.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<RolloutEvent> {
        self.events.subscribe()
    }

    /// Status of one service or all of them. Services this process runs
    /// show live traffic figures; the others show their stored state.
    pub(crate) fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>> {
        let names = match service {
            Some(name) => vec![name.to_string()],
            None => self.names()?,
        };
        names
            .iter()
            .map(|name| match self.live(name) {
                Some(live) => Ok(live.status()),
                None => {
                    let spec = self.spec(name)?;
                    let versions = vec![VersionStatus {
                        component: spec.component.clone(),
                        digest: spec.digest,
                        weight_percent: 100.0,
                        calls: 0,
                        errors: 0,
                        live_instances: 0,
                        tier: Default::default(),
                    }];
                    Ok(ServiceStatus { spec, versions })
                }
            })
            .collect()
    }

    /// Rollout history, oldest first, optionally of one service. An
    /// unreadable line is skipped with a warning naming the file and line
    /// (a torn last line: `airssys audit repair` moves it aside).
    pub(crate) fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        let journal = &self.rollouts;
        let bytes = journal.read().map_err(|e| Error::io("read the rollout history", journal.path(), e))?;
        let lines = journal::split(&bytes);
        let mut records = Vec::new();
        for line in journal::before_torn_tail(journal.path(), &lines, is_rollout_record) {
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

    /// Drains and shuts down every service this process runs.
    pub(crate) fn close(&self) {
        let services: Vec<Arc<Service>> =
            self.live.write().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, s)| s).collect();
        self.changed();
        for service in services {
            let table = service.table.load();
            for deployment in std::iter::once(&table.primary).chain(table.secondary.as_ref().map(|(d, _)| d)) {
                deployment.drain(rollout::DRAIN_GRACE);
                deployment.shutdown();
            }
            if let Some((standby, _)) = service.standby.lock().unwrap_or_else(|p| p.into_inner()).take() {
                standby.shutdown();
            }
        }
    }
}
