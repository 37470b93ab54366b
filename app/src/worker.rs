//! The studio's runtime thread. Every action is a call of host-core's
//! `Runtime` trait made here, off the UI thread; results come back as
//! messages and wake the UI. Deploys and rollbacks (a canary takes many
//! seconds and needs traffic) run on threads of their own, so pipeline runs
//! keep working while a rollout is under way. Rollout progress, guest log
//! lines and metrics arrive from one subscription per runtime.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{Receiver, Sender, TryRecvError, channel},
    },
    time::Duration,
};

use host_core::{
    Capability, Description, Digest, Error, Host, HostConfig, Input, RemoteRuntime, Runtime,
    deploy::{RolloutRecord, ServiceStatus, Strategy},
    events::RuntimeEvent,
    pipeline::{NodeContract, Pipeline, PipelineRun, RunOptions},
    project::Project,
    registry::{ComponentRef, VersionRecord},
    security::audit::AuditRecord,
};

/// Where the studio deploys and runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The runtime inside the studio, on the project's `.airssys/` folder.
    Embedded,
    /// An `airssys serve` at a URL, with its token file.
    Remote { url: String, token_file: PathBuf },
}

/// What the UI asks for.
#[derive(Debug)]
pub enum Request {
    /// Open a project folder: store and deploy its services on the target.
    Open(PathBuf),
    /// Use another target from now on, and apply the project there.
    Connect { target: Target, project: Option<PathBuf> },
    /// Run a pipeline on an input, keeping every node's output.
    Run { pipeline: Pipeline, input: Vec<u8> },
    /// Store and deploy the project's changed services with `strategy`.
    Deploy { project: Box<Project>, strategy: Strategy },
    /// Roll a service back to the version it ran before.
    Rollback { service: String },
    /// The user's answers in the grant dialog for `service`: each requested
    /// capability (its scope possibly narrowed) and whether it is allowed.
    /// Every answer is audited; the allowed ones become the service's grants
    /// and the project is applied again (with `strategy`).
    Decide { project: Box<Project>, service: String, decisions: Vec<(Capability, bool)>, strategy: Option<Strategy> },
    /// Store a `.wasm` file (dropped on the window) in the registry.
    AddFile(PathBuf),
    /// The registry, the audit log and the rollouts, now.
    Refresh,
}

/// A service of the open project as the studio shows it.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// `name@version` deployed.
    pub version: String,
    /// Its component's description.
    pub description: Description,
    /// What the runtime holds for it: config, grants, history, weights.
    pub status: ServiceStatus,
}

impl ServiceInfo {
    /// Media types, for the wiring rule.
    pub fn contract(&self) -> NodeContract {
        contract_of(&self.description)
    }
}

/// The media types a description declares.
pub fn contract_of(description: &Description) -> NodeContract {
    NodeContract { accepts: description.metadata.accepts.clone(), produces: description.metadata.produces.clone() }
}

/// A component name in the registry, for the palette.
#[derive(Debug, Clone)]
pub struct RegistryEntry {
    /// The name.
    pub name: String,
    /// Its versions, oldest first.
    pub versions: Vec<VersionRecord>,
    /// The newest version's description (`None` if it cannot be described).
    pub description: Option<Description>,
}

impl RegistryEntry {
    /// `name@newest version`.
    pub fn latest(&self) -> Option<ComponentRef> {
        self.versions.last().map(|v| ComponentRef { name: self.name.clone(), version: v.version.clone() })
    }
}

/// What comes back.
#[derive(Debug)]
pub enum Reply {
    /// The project is applied (opened, deployed, or granted) and its
    /// services described; `granted`: the user's grants were added to it.
    Opened { project: Box<Project>, services: BTreeMap<String, ServiceInfo>, granted: bool },
    /// Opening or applying the project failed.
    OpenFailed { dir: PathBuf, message: String },
    /// Something the user asked for failed (deploy, rollback, add).
    Failed { action: String, message: String },
    /// The target changed (no project to apply).
    Connected,
    /// The new target could not be used; `kept` is still in use.
    ConnectFailed { kept: Target, message: String },
    /// A service needs capabilities nobody granted: ask the user.
    NeedsGrants {
        project: Box<Project>,
        service: String,
        component: String,
        missing: Vec<Capability>,
        strategy: Option<Strategy>,
    },
    /// A run finished.
    Ran(Result<PipelineRun, String>),
    /// A rollback finished.
    RolledBack { record: Box<RolloutRecord>, services: BTreeMap<String, ServiceInfo> },
    /// A dropped file is in the registry (`reused`: those bytes were
    /// already stored under this version).
    Added { reference: ComponentRef, reused: bool },
    /// The registry, the audit log and recent rollouts.
    Refreshed { registry: Vec<RegistryEntry>, audit: Vec<AuditRecord>, rollouts: Vec<RolloutRecord> },
    /// Rollout progress, a guest log line or metrics, as they happen.
    Event(Box<RuntimeEvent>),
}

impl Reply {
    /// Whether this answers a request (events and refreshes come unasked
    /// or are not waited for).
    fn answers(&self) -> bool {
        !matches!(self, Reply::Event(_) | Reply::Refreshed { .. })
    }
}

/// How often the subscription brings metrics.
const METRICS_EVERY: Duration = Duration::from_secs(1);
/// Audit records the studio keeps.
const AUDIT_SHOWN: usize = 500;

/// The handle the UI holds.
#[derive(Debug)]
pub struct Worker {
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    /// Requests sent and not answered yet.
    pub pending: usize,
}

type Wake = Arc<dyn Fn() + Send + Sync>;

/// Sends replies to the UI and wakes it; cloned into deploy threads.
#[derive(Clone)]
struct Outbox {
    tx: Sender<Reply>,
    wake: Wake,
}

impl Outbox {
    fn send(&self, reply: Reply) -> bool {
        let sent = self.tx.send(reply).is_ok();
        (self.wake)();
        sent
    }
}

/// The runtime thread's state.
struct State {
    runtime: Option<Arc<dyn Runtime>>,
    target: Target,
    cache_dir: Option<PathBuf>,
    outbox: Outbox,
    /// Bumped with every new runtime; a subscription of an older one stops.
    generation: Arc<AtomicU64>,
}

impl Worker {
    /// Starts the thread; `wake` is called after each reply (repaint).
    /// `cache_dir` is the compile cache (`None`: the user's default).
    pub fn start(wake: impl Fn() + Send + Sync + 'static, cache_dir: Option<PathBuf>) -> Self {
        let (requests, inbox) = channel::<Request>();
        let (tx, replies) = channel::<Reply>();
        let outbox = Outbox { tx, wake: Arc::new(wake) };
        std::thread::Builder::new()
            .name("studio-runtime".into())
            .spawn(move || {
                let mut state = State {
                    runtime: None,
                    target: Target::Embedded,
                    cache_dir,
                    outbox,
                    generation: Arc::new(AtomicU64::new(0)),
                };
                for request in inbox {
                    if let Some(reply) = state.handle(request)
                        && !state.outbox.send(reply)
                    {
                        break;
                    }
                }
                // The window closed: store this session's metrics.
                state.replace_runtime(None);
            })
            .ok();
        Worker { requests, replies, pending: 0 }
    }

    /// Sends a request.
    pub fn send(&mut self, request: Request) {
        let counted = !matches!(request, Request::Refresh);
        if self.requests.send(request).is_ok() && counted {
            self.pending += 1;
        }
    }

    /// The next reply, if one arrived.
    pub fn poll(&mut self) -> Option<Reply> {
        match self.replies.try_recv() {
            Ok(reply) => {
                if reply.answers() {
                    self.pending = self.pending.saturating_sub(1);
                }
                Some(reply)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}

impl State {
    /// Handles one request; `None` when a thread of its own answers.
    fn handle(&mut self, request: Request) -> Option<Reply> {
        match request {
            Request::Open(dir) => Some(self.open(dir)),
            Request::Connect { target, project } => {
                let previous = std::mem::replace(&mut self.target, target);
                let Some(dir) = project else {
                    self.replace_runtime(None);
                    return Some(Reply::Connected);
                };
                match self.start(&dir) {
                    Ok((rt, project)) => Some(self.take_runtime(rt, project)),
                    Err(e) => {
                        // Nothing changes: the runtime in use stays.
                        let kept = std::mem::replace(&mut self.target, previous);
                        let what = match &kept {
                            Target::Embedded => "start the embedded runtime".to_string(),
                            Target::Remote { url, .. } => format!("connect to {url}"),
                        };
                        Some(Reply::ConnectFailed { kept: self.target.clone(), message: format!("cannot {what}: {e}") })
                    }
                }
            }
            Request::Deploy { project, strategy } => {
                let dir = project.dir.clone();
                self.in_background(Reply::OpenFailed { dir, message: "no runtime".into() }, move |rt| {
                    apply(rt, *project, Some(strategy))
                })
            }
            Request::Decide { project, service, decisions, strategy } => {
                let dir = project.dir.clone();
                self.in_background(Reply::OpenFailed { dir, message: "no runtime".into() }, move |rt| {
                    decide(rt, *project, &service, decisions, strategy)
                })
            }
            Request::Rollback { service } => {
                let failed = Reply::Failed { action: format!("roll back `{service}`"), message: "no runtime".into() };
                self.in_background(failed, move |rt| match rt.rollback(&service) {
                    Ok(record) => {
                        let services = describe_all(rt, None).unwrap_or_default();
                        Reply::RolledBack { record: Box::new(record), services }
                    }
                    Err(e) => failed_to(&format!("roll back `{service}`"), &e),
                })
            }
            Request::Run { pipeline, input } => {
                let Some(rt) = &self.runtime else { return Some(Reply::Ran(Err("open a project first".into()))) };
                let options = RunOptions { trace: true, ..RunOptions::default() };
                Some(Reply::Ran(rt.run_pipeline(&pipeline, Input::new(input), &options).map_err(|e| e.to_string())))
            }
            Request::AddFile(path) => {
                let Some(rt) = &self.runtime else {
                    return Some(Reply::Failed {
                        action: "add a component".into(),
                        message: "open a project first".into(),
                    });
                };
                self.outbox.send(add_file(rt.as_ref(), &path));
                Some(refresh(rt.as_ref()))
            }
            Request::Refresh => self.runtime.as_deref().map(refresh),
        }
    }

    /// Runs `work` on a thread of its own with the current runtime.
    fn in_background(
        &self,
        no_runtime: Reply,
        work: impl FnOnce(&dyn Runtime) -> Reply + Send + 'static,
    ) -> Option<Reply> {
        let Some(rt) = self.runtime.clone() else { return Some(no_runtime) };
        let outbox = self.outbox.clone();
        let spawned = std::thread::Builder::new().name("studio-rollout".into()).spawn(move || {
            outbox.send(work(rt.as_ref()));
            outbox.send(refresh(rt.as_ref()));
        });
        match spawned {
            Ok(_) => None,
            Err(e) => Some(Reply::Failed { action: "start a rollout".into(), message: e.to_string() }),
        }
    }

    /// Closes the current runtime (storing its metrics) and uses `next`;
    /// a new runtime gets a subscription whose events reach the UI.
    fn replace_runtime(&mut self, next: Option<Arc<dyn Runtime>>) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(old) = std::mem::replace(&mut self.runtime, next) {
            old.close();
        }
        let Some(rt) = &self.runtime else { return };
        match rt.subscribe(METRICS_EVERY) {
            Ok(events) => {
                let (outbox, current) = (self.outbox.clone(), self.generation.clone());
                let _ = std::thread::Builder::new().name("studio-events".into()).spawn(move || {
                    for event in events {
                        if current.load(Ordering::SeqCst) != generation || !outbox.send(Reply::Event(Box::new(event))) {
                            return;
                        }
                    }
                });
            }
            Err(e) => {
                self.outbox.send(failed_to("follow the runtime's events (no live metrics or logs)", &e));
            }
        }
    }

    /// The runtime for the target (embedded: on the project's folder), with
    /// the project applied.
    fn open(&mut self, dir: PathBuf) -> Reply {
        match self.start(&dir) {
            Ok((rt, project)) => self.take_runtime(rt, project),
            Err(e) => Reply::OpenFailed { dir, message: e.to_string() },
        }
    }

    /// Opens the project and makes a runtime for the target; a server must
    /// answer (and accept the token) before it is used.
    fn start(&self, dir: &Path) -> host_core::Result<(Arc<dyn Runtime>, Project)> {
        let project = Project::open(dir)?;
        let rt: Arc<dyn Runtime> = match &self.target {
            Target::Embedded => {
                let mut config = HostConfig { data_dir: Some(project.dir.join(".airssys")), ..HostConfig::default() };
                if let Some(cache) = &self.cache_dir {
                    config.cache_dir = Some(cache.clone());
                }
                Arc::new(Host::new(config)?)
            }
            Target::Remote { url, token_file } => {
                let remote = RemoteRuntime::from_token_file(url, token_file)?;
                remote.status(None)?;
                Arc::new(remote)
            }
        };
        Ok((rt, project))
    }

    /// Uses `rt` from now on and applies the project there.
    fn take_runtime(&mut self, rt: Arc<dyn Runtime>, project: Project) -> Reply {
        self.replace_runtime(Some(rt.clone()));
        let reply = apply(rt.as_ref(), project, None);
        self.outbox.send(refresh(rt.as_ref()));
        reply
    }
}

fn failed_to(action: &str, error: &Error) -> Reply {
    Reply::Failed { action: action.to_string(), message: error.to_string() }
}

/// Audits the user's decisions; applies the project with the allowed ones
/// added to the service's grants.
fn decide(
    rt: &dyn Runtime,
    mut project: Project,
    service: &str,
    decisions: Vec<(Capability, bool)>,
    strategy: Option<Strategy>,
) -> Reply {
    for (capability, allowed) in &decisions {
        if let Err(e) = rt.record_decision(service, capability, *allowed) {
            return Reply::OpenFailed { dir: project.dir.clone(), message: format!("cannot audit: {e}") };
        }
    }
    let denied: Vec<String> = decisions.iter().filter(|(_, allowed)| !allowed).map(|(c, _)| c.to_string()).collect();
    if !denied.is_empty() {
        return Reply::OpenFailed {
            dir: project.dir.clone(),
            message: format!("service `{service}` was not deployed: it needs {}, which you denied", denied.join(", ")),
        };
    }
    if let Some(entry) = project.file.services.get_mut(service) {
        for (capability, _) in decisions {
            let text = capability.to_string();
            if !entry.grants.contains(&text) {
                entry.grants.push(text);
            }
        }
    }
    let mut reply = apply(rt, project, strategy);
    if let Reply::Opened { granted, .. } = &mut reply {
        *granted = true;
    }
    reply
}

/// Stores and deploys the project's services, then describes them; a
/// service whose capabilities are not granted goes to the user.
fn apply(rt: &dyn Runtime, project: Project, strategy: Option<Strategy>) -> Reply {
    match project.apply_with(rt, strategy.as_ref()) {
        Ok(()) => {}
        Err(Error::MissingCapabilities { service, component, missing }) => {
            return Reply::NeedsGrants { project: Box::new(project), service, component, missing, strategy };
        }
        Err(e) => return Reply::OpenFailed { dir: project.dir.clone(), message: e.to_string() },
    }
    match describe_all(rt, Some(&project)) {
        Ok(services) => Reply::Opened { project: Box::new(project), services, granted: false },
        Err(e) => Reply::OpenFailed { dir: project.dir.clone(), message: e.to_string() },
    }
}

/// The services the runtime runs (those of `project` only, if given).
fn describe_all(rt: &dyn Runtime, project: Option<&Project>) -> host_core::Result<BTreeMap<String, ServiceInfo>> {
    let mut services = BTreeMap::new();
    for status in rt.status(None)? {
        if project.is_some_and(|p| !p.file.services.contains_key(&status.spec.name)) {
            continue;
        }
        let description = rt.describe(&status.spec.component)?;
        services.insert(
            status.spec.name.clone(),
            ServiceInfo { version: status.spec.component.to_string(), description, status },
        );
    }
    Ok(services)
}

/// The registry (each name's newest version described), the newest audit
/// records and rollouts. Parts that fail come back empty.
fn refresh(rt: &dyn Runtime) -> Reply {
    let registry = rt
        .components()
        .unwrap_or_default()
        .into_iter()
        .filter(|record| !record.versions.is_empty())
        .map(|record| {
            let mut entry = RegistryEntry { name: record.name, versions: record.versions, description: None };
            entry.description = entry.latest().and_then(|r| rt.describe(&r).ok());
            entry
        })
        .collect();
    let mut audit = rt.audit(None, None).unwrap_or_default();
    audit.drain(..audit.len().saturating_sub(AUDIT_SHOWN));
    let rollouts = rt.rollouts(None).unwrap_or_default();
    Reply::Refreshed { registry, audit, rollouts }
}

/// A registry name for a file: its stem in lower case, other characters
/// turned into `-`.
pub fn name_for(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
    let name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    let name = name.trim_matches(|c| c == '-' || c == '.').to_string();
    if name.is_empty() { "component".to_string() } else { name }
}

/// Stores a dropped file: the same bytes keep their version; new bytes get
/// the next patch version of the name (0.1.0 for a new name).
fn add_file(rt: &dyn Runtime, path: &Path) -> Reply {
    let action = format!("add {}", path.display());
    if path.extension().is_none_or(|e| e != "wasm") {
        return Reply::Failed { action, message: "only .wasm component files can be added to the registry".into() };
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Reply::Failed { action, message: e.to_string() },
    };
    let name = name_for(path);
    let digest = Digest::of(&bytes);
    let versions = match rt.components() {
        Ok(records) => records.into_iter().find(|r| r.name == name).map(|r| r.versions).unwrap_or_default(),
        Err(e) => return failed_to(&action, &e),
    };
    if let Some(same) = versions.iter().find(|v| v.digest == digest) {
        return Reply::Added { reference: ComponentRef { name, version: same.version.clone() }, reused: true };
    }
    let version = versions
        .iter()
        .map(|v| &v.version)
        .filter(|v| v.pre.is_empty())
        .max()
        .map_or(semver::Version::new(0, 1, 0), |v| semver::Version::new(v.major, v.minor, v.patch + 1));
    let reference = ComponentRef { name, version };
    match rt.add_component(&reference, &bytes) {
        Ok(_) => Reply::Added { reference, reused: false },
        Err(e) => failed_to(&action, &e),
    }
}
