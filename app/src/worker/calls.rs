//! The runtime thread's side: it owns the `Runtime` in use (the embedded
//! `Host` on the project's data folder, a `RemoteRuntime`, or a
//! `FleetRuntime` whose node status it polls), turns each
//! [`Request`] into host-core calls (and the studio's file I/O), and sends
//! the [`Reply`] back through the [`Outbox`], which wakes the UI. Deploys,
//! grants and rollbacks run on threads of their own. Knows nothing of the
//! studio's state or widgets.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{Receiver, Sender},
    },
    time::Duration,
};

use host_core::{
    Capability, Digest, Error, Host, HostConfig, Input, RemoteRuntime, Runtime,
    deploy::Strategy,
    fleet::{FleetConfig, FleetRuntime},
    pipeline::RunOptions,
    project::{PROJECT_FILE, Project},
    registry::{self, ComponentRef},
};

use crate::worker::messages::{RegistryEntry, Reply, Request, ServiceInfo, Target};

/// How often the subscription brings metrics.
const METRICS_EVERY: Duration = Duration::from_secs(1);
/// How often a fleet's node status is read (nodes report every 2 s).
const FLEET_EVERY: Duration = Duration::from_secs(2);
/// Audit records the studio keeps.
const AUDIT_SHOWN: usize = 500;

type Wake = Arc<dyn Fn() + Send + Sync>;

/// Sends replies to the UI and wakes it; cloned into deploy threads.
#[derive(Clone)]
pub struct Outbox {
    tx: Sender<Reply>,
    wake: Wake,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// Replies go into `tx`; `wake` is called after each.
    pub fn new(tx: Sender<Reply>, wake: impl Fn() + Send + Sync + 'static) -> Self {
        Outbox { tx, wake: Arc::new(wake) }
    }

    fn send(&self, reply: Reply) -> bool {
        let sent = self.tx.send(reply).is_ok();
        (self.wake)();
        sent
    }
}

/// A runtime made for the target, with the project it opened.
struct Started {
    runtime: Arc<dyn Runtime>,
    /// The same runtime when it is a fleet (its node status is polled).
    fleet: Option<Arc<FleetRuntime>>,
    project: Project,
}

/// What the runtime thread holds.
struct Thread {
    runtime: Option<Arc<dyn Runtime>>,
    target: Target,
    cache_dir: Option<PathBuf>,
    outbox: Outbox,
    /// Bumped with every new runtime; a subscription of an older one stops.
    generation: Arc<AtomicU64>,
}

/// The runtime thread: answers each request of `inbox` through `outbox`
/// until the UI is gone; `cache_dir` is the compile cache (`None`: the
/// user's default).
pub fn run(inbox: Receiver<Request>, outbox: Outbox, cache_dir: Option<PathBuf>) {
    let mut thread =
        Thread { runtime: None, target: Target::Embedded, cache_dir, outbox, generation: Arc::new(AtomicU64::new(0)) };
    for request in inbox {
        if let Some(reply) = thread.handle(request)
            && !thread.outbox.send(reply)
        {
            break;
        }
    }
    // The window closed: store this session's metrics.
    thread.replace_runtime(None, None);
}

impl Thread {
    /// Handles one request; `None` when a thread of its own answers.
    fn handle(&mut self, request: Request) -> Option<Reply> {
        match request {
            Request::Open(dir) => Some(self.open(dir)),
            Request::Connect { target, project } => {
                let previous = std::mem::replace(&mut self.target, target);
                let Some(dir) = project else {
                    self.replace_runtime(None, None);
                    return Some(Reply::Connected);
                };
                match self.start(&dir) {
                    Ok(started) => Some(self.take_runtime(started)),
                    Err(e) => {
                        // Nothing changes: the runtime in use stays.
                        let kept = std::mem::replace(&mut self.target, previous);
                        let what = match &kept {
                            Target::Embedded => "start the embedded runtime".to_string(),
                            other => format!("connect to {}", other.describe()),
                        };
                        Some(Reply::ConnectFailed { kept: self.target.clone(), cause: format!("cannot {what}: {e}") })
                    }
                }
            }
            Request::Deploy { project, strategy } => {
                self.in_background(Reply::DeployFailed { cause: NO_RUNTIME.into() }, move |rt| {
                    match apply(rt, *project, Some(strategy)) {
                        Applied::Done(project, services) => Reply::Deployed { project, services },
                        Applied::NeedsGrants(reply) => reply,
                        Applied::Failed(_, cause) => Reply::DeployFailed { cause },
                    }
                })
            }
            Request::Decide { project, service, decisions, strategy } => {
                let dir = project.dir.clone();
                self.in_background(Reply::GrantFailed { dir, cause: NO_RUNTIME.into() }, move |rt| {
                    decide(rt, *project, &service, decisions, strategy)
                })
            }
            Request::Rollback { service } => {
                let failed = Reply::Failed { action: format!("roll back `{service}`"), cause: NO_RUNTIME.into() };
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
                        cause: "open a project first".into(),
                    });
                };
                self.outbox.send(add_file(rt.as_ref(), &path));
                Some(refresh(rt.as_ref()))
            }
            Request::PullOci { reference, origins_dir } => {
                let Some(rt) = &self.runtime else {
                    return Some(Reply::Failed {
                        action: format!("pull {reference}"),
                        cause: "open a project first".into(),
                    });
                };
                self.outbox.send(pull_oci(rt.as_ref(), &reference, &origins_dir));
                Some(refresh(rt.as_ref()))
            }
            Request::Refresh => self.runtime.as_deref().map(refresh),
            Request::Save { project, revision } => Some(match project.save() {
                Ok(()) => Reply::Saved { file: project.dir.join(PROJECT_FILE), revision },
                Err(e) => Reply::SaveFailed { cause: e.to_string() },
            }),
            Request::SaveAs { mut project, dir } => Some(match project.save_as(&dir) {
                Ok(()) => Reply::SavedAs { dir: project.dir },
                Err(e) => Reply::SaveFailed { cause: e.to_string() },
            }),
            Request::LoadInput(path) => Some(match std::fs::read(&path) {
                Ok(bytes) => Reply::InputLoaded { text: String::from_utf8_lossy(&bytes).into_owned() },
                Err(e) => Reply::InputFailed { path, cause: e.to_string() },
            }),
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
            Err(e) => Some(Reply::Failed { action: "start a rollout".into(), cause: e.to_string() }),
        }
    }

    /// Closes the current runtime (storing its metrics) and uses `next`;
    /// a new runtime gets a subscription whose events reach the UI, and a
    /// fleet's node status is polled while it is in use.
    fn replace_runtime(&mut self, next: Option<Arc<dyn Runtime>>, fleet: Option<Arc<FleetRuntime>>) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(old) = std::mem::replace(&mut self.runtime, next) {
            old.close();
        }
        let Some(rt) = &self.runtime else { return };
        if let Some(fleet) = fleet {
            self.poll_fleet(fleet, generation);
        }
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

    /// Sends the fleet's status every [`FLEET_EVERY`] until another
    /// runtime is in use or the UI is gone.
    fn poll_fleet(&self, fleet: Arc<FleetRuntime>, generation: u64) {
        let (outbox, current) = (self.outbox.clone(), self.generation.clone());
        let spawned = std::thread::Builder::new().name("studio-fleet".into()).spawn(move || {
            while current.load(Ordering::SeqCst) == generation {
                let status = fleet.fleet_status().map(Box::new).map_err(|e| e.to_string());
                if current.load(Ordering::SeqCst) != generation || !outbox.send(Reply::Fleet(status)) {
                    return;
                }
                std::thread::sleep(FLEET_EVERY);
            }
        });
        if let Err(e) = spawned {
            self.outbox.send(Reply::Fleet(Err(format!("cannot follow the fleet's nodes: {e}"))));
        }
    }

    /// The runtime for the target (embedded: on the project's folder), with
    /// the project applied.
    fn open(&mut self, dir: PathBuf) -> Reply {
        match self.start(&dir) {
            Ok(started) => self.take_runtime(started),
            Err(e) => Reply::OpenFailed { dir, cause: e.to_string() },
        }
    }

    /// Opens the project and makes a runtime for the target; a server or a
    /// fleet must answer (and accept the credentials) before it is used.
    fn start(&self, dir: &Path) -> host_core::Result<Started> {
        let project = Project::open(dir)?;
        let (runtime, fleet): (Arc<dyn Runtime>, _) = match &self.target {
            Target::Embedded => {
                let mut config = HostConfig { data_dir: Some(project.data_dir()), ..HostConfig::default() };
                if let Some(cache) = &self.cache_dir {
                    config.cache_dir = Some(cache.clone());
                }
                (Arc::new(Host::new(config)?), None)
            }
            Target::Remote { url, token_file } => {
                let remote = RemoteRuntime::from_token_file(url, token_file)?;
                remote.status(None)?;
                (Arc::new(remote), None)
            }
            Target::Fleet { url, name, credentials } => {
                let mut config = FleetConfig::new(url).named(name);
                config.credentials.clone_from(credentials);
                let fleet = Arc::new(FleetRuntime::connect(config)?);
                (fleet.clone(), Some(fleet))
            }
        };
        Ok(Started { runtime, fleet, project })
    }

    /// Uses the started runtime from now on and applies the project there.
    fn take_runtime(&mut self, started: Started) -> Reply {
        let Started { runtime: rt, fleet, project } = started;
        self.replace_runtime(Some(rt.clone()), fleet);
        let reply = match apply(rt.as_ref(), project, None) {
            Applied::Done(project, services) => Reply::Opened { project, services },
            Applied::NeedsGrants(reply) => reply,
            Applied::Failed(dir, cause) => Reply::OpenFailed { dir, cause },
        };
        self.outbox.send(refresh(rt.as_ref()));
        reply
    }
}

/// What the request fails with when no project opened a runtime yet.
const NO_RUNTIME: &str = "no runtime";

fn failed_to(action: &str, error: &Error) -> Reply {
    Reply::Failed { action: action.to_string(), cause: error.to_string() }
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
            return Reply::GrantFailed { dir: project.dir.clone(), cause: format!("cannot audit: {e}") };
        }
    }
    let denied: Vec<Capability> = decisions.iter().filter(|(_, allowed)| !allowed).map(|(c, _)| c.clone()).collect();
    if !denied.is_empty() {
        return Reply::Denied { dir: project.dir.clone(), service: service.to_string(), denied };
    }
    if let Some(entry) = project.file.services.get_mut(service) {
        for (capability, _) in decisions {
            let text = capability.to_string();
            if !entry.grants.contains(&text) {
                entry.grants.push(text);
            }
        }
    }
    match apply(rt, project, strategy) {
        Applied::Done(project, services) => Reply::Granted { project, services },
        Applied::NeedsGrants(reply) => reply,
        Applied::Failed(dir, cause) => Reply::GrantFailed { dir, cause },
    }
}

/// How applying a project went.
enum Applied {
    /// Live, with its services described.
    Done(Box<Project>, BTreeMap<String, ServiceInfo>),
    /// A service needs grants (a `Reply::NeedsGrants`).
    NeedsGrants(Reply),
    /// The project's folder and the cause.
    Failed(PathBuf, String),
}

/// Stores and deploys the project's services, then describes them; a
/// service whose capabilities are not granted goes to the user.
fn apply(rt: &dyn Runtime, project: Project, strategy: Option<Strategy>) -> Applied {
    match project.apply_with(rt, strategy.as_ref()) {
        Ok(()) => {}
        Err(Error::MissingCapabilities { service, component, missing }) => {
            return Applied::NeedsGrants(Reply::NeedsGrants {
                project: Box::new(project),
                service,
                component,
                missing,
                strategy,
            });
        }
        Err(e) => return Applied::Failed(project.dir.clone(), e.to_string()),
    }
    match describe_all(rt, Some(&project)) {
        Ok(services) => Applied::Done(Box::new(project), services),
        Err(e) => Applied::Failed(project.dir.clone(), e.to_string()),
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

/// Stores a dropped file under host-core's rule for new bytes
/// (`registry::next_version`): the same bytes keep their version, new bytes
/// get the next patch version of the name (0.1.0 for a new name).
fn add_file(rt: &dyn Runtime, path: &Path) -> Reply {
    let action = format!("add {}", path.display());
    if path.extension().is_none_or(|e| e != "wasm") {
        return Reply::Failed { action, cause: "only .wasm component files can be added to the registry".into() };
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Reply::Failed { action, cause: e.to_string() },
    };
    let name = name_for(path);
    let versions = match rt.components() {
        Ok(records) => records.into_iter().find(|r| r.name == name).map(|r| r.versions).unwrap_or_default(),
        Err(e) => return failed_to(&action, &e),
    };
    let (version, reused) = registry::next_version(&versions, &Digest::of(&bytes));
    let reference = ComponentRef { name, version };
    if reused {
        return Reply::Added { reference, reused };
    }
    match rt.add_component(&reference, &bytes) {
        Ok(_) => Reply::Added { reference, reused },
        Err(e) => failed_to(&action, &e),
    }
}

/// Pulls an `oci://` reference into the registry (named by the artifact's
/// annotations), with credentials from the Docker config.
fn pull_oci(rt: &dyn Runtime, reference: &str, origins_dir: &Path) -> Reply {
    use host_core::oci;
    let action = format!("pull {reference}");
    let pulled = oci::OciReference::parse(reference).and_then(|source| {
        let options = oci::OciOptions::for_reference(&source, None, false)?;
        oci::pull(rt, &source, oci::Naming::FromArtifact, &oci::Origins::in_dir(origins_dir), &options)
    });
    match pulled {
        Ok(report) => Reply::Pulled {
            reference: reference.to_string(),
            component: report.component,
            moved_from: report.moved_from,
        },
        Err(e) => failed_to(&action, &e),
    }
}
