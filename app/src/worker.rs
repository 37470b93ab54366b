//! The studio's runtime thread. Every action is a call of host-core's
//! `Runtime` trait made here, off the UI thread; results come back as
//! messages and wake the UI.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::mpsc::{Receiver, Sender, TryRecvError, channel},
};

use host_core::{
    Capability, Description, Error, Host, HostConfig, Input, RemoteRuntime, Runtime,
    metrics::MetricsSnapshot,
    pipeline::{NodeContract, Pipeline, PipelineRun, RunOptions},
    project::Project,
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
    /// A fresh metrics snapshot.
    Metrics,
    /// The user's answers in the grant dialog for `service`: each requested
    /// capability (its scope possibly narrowed) and whether it is allowed.
    /// Every answer is audited; the allowed ones become the service's grants
    /// and the project is applied again.
    Decide { project: Box<Project>, service: String, decisions: Vec<(Capability, bool)> },
}

/// A service of the open project as the studio shows it.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// `name@version` deployed.
    pub version: String,
    /// Its component's description.
    pub description: Description,
}

impl ServiceInfo {
    /// Media types, for the wiring rule.
    pub fn contract(&self) -> NodeContract {
        NodeContract {
            accepts: self.description.metadata.accepts.clone(),
            produces: self.description.metadata.produces.clone(),
        }
    }
}

/// What comes back.
#[derive(Debug)]
pub enum Reply {
    /// The project is open and its services deployed.
    Opened { project: Box<Project>, services: BTreeMap<String, ServiceInfo> },
    /// Opening failed.
    OpenFailed { dir: PathBuf, message: String },
    /// The target changed (no project to apply).
    Connected,
    /// A service needs capabilities nobody granted: ask the user.
    NeedsGrants { project: Box<Project>, service: String, component: String, missing: Vec<Capability> },
    /// A run finished.
    Ran(Result<PipelineRun, String>),
    /// Metrics now.
    Metrics(MetricsSnapshot),
}

/// The handle the UI holds.
#[derive(Debug)]
pub struct Worker {
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    /// Requests sent and not answered yet.
    pub pending: usize,
}

impl Worker {
    /// Starts the thread; `wake` is called after each reply (repaint).
    /// `cache_dir` is the compile cache (`None`: the user's default).
    pub fn start(wake: impl Fn() + Send + 'static, cache_dir: Option<PathBuf>) -> Self {
        let (requests, inbox) = channel::<Request>();
        let (outbox, replies) = channel::<Reply>();
        std::thread::Builder::new()
            .name("studio-runtime".into())
            .spawn(move || {
                let mut runtime: Option<Box<dyn Runtime>> = None;
                let mut target = Target::Embedded;
                for request in inbox {
                    let reply = handle(&mut runtime, &mut target, request, cache_dir.as_ref());
                    if outbox.send(reply).is_err() {
                        return;
                    }
                    wake();
                }
                // The window closed: store this session's metrics.
                if let Some(runtime) = runtime {
                    runtime.close();
                }
            })
            .ok();
        Worker { requests, replies, pending: 0 }
    }

    /// Sends a request.
    pub fn send(&mut self, request: Request) {
        if self.requests.send(request).is_ok() {
            self.pending += 1;
        }
    }

    /// The next reply, if one arrived.
    pub fn poll(&mut self) -> Option<Reply> {
        match self.replies.try_recv() {
            Ok(reply) => {
                self.pending = self.pending.saturating_sub(1);
                Some(reply)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}

fn handle(
    runtime: &mut Option<Box<dyn Runtime>>,
    target: &mut Target,
    request: Request,
    cache_dir: Option<&PathBuf>,
) -> Reply {
    match request {
        Request::Open(dir) => open(runtime, target, dir, cache_dir),
        Request::Connect { target: chosen, project } => {
            *target = chosen;
            if let Some(old) = runtime.take() {
                old.close();
            }
            match project {
                Some(dir) => open(runtime, target, dir, cache_dir),
                None => Reply::Connected,
            }
        }
        Request::Decide { mut project, service, decisions } => {
            let Some(rt) = runtime.as_deref() else {
                return Reply::OpenFailed { dir: project.dir.clone(), message: "no runtime".into() };
            };
            for (capability, allowed) in &decisions {
                if let Err(e) = rt.record_decision(&service, capability, *allowed) {
                    return Reply::OpenFailed { dir: project.dir.clone(), message: format!("cannot audit: {e}") };
                }
            }
            let denied: Vec<String> =
                decisions.iter().filter(|(_, allowed)| !allowed).map(|(c, _)| c.to_string()).collect();
            if !denied.is_empty() {
                return Reply::OpenFailed {
                    dir: project.dir.clone(),
                    message: format!(
                        "service `{service}` was not deployed: it needs {}, which you denied",
                        denied.join(", ")
                    ),
                };
            }
            if let Some(entry) = project.file.services.get_mut(&service) {
                for (capability, allowed) in decisions {
                    let text = capability.to_string();
                    if allowed && !entry.grants.contains(&text) {
                        entry.grants.push(text);
                    }
                }
            }
            let dir = project.dir.clone();
            apply(Some(rt), *project, dir)
        }
        Request::Run { pipeline, input } => {
            let Some(rt) = runtime else { return Reply::Ran(Err("open a project first".into())) };
            let options = RunOptions { trace: true, ..RunOptions::default() };
            Reply::Ran(rt.run_pipeline(&pipeline, Input::new(input), &options).map_err(|e| e.to_string()))
        }
        Request::Metrics => match runtime.as_ref().map(|rt| rt.metrics()) {
            Some(Ok(snapshot)) => Reply::Metrics(snapshot),
            _ => Reply::Metrics(MetricsSnapshot::default()),
        },
    }
}

/// The runtime for `target` (embedded: on the project's folder), with the
/// project applied.
fn open(runtime: &mut Option<Box<dyn Runtime>>, target: &Target, dir: PathBuf, cache_dir: Option<&PathBuf>) -> Reply {
    let started = Project::open(&dir).and_then(|project| {
        let rt: Box<dyn Runtime> = match target {
            Target::Embedded => {
                let mut config = HostConfig { data_dir: Some(project.dir.join(".airssys")), ..HostConfig::default() };
                if let Some(cache) = cache_dir {
                    config.cache_dir = Some(cache.clone());
                }
                Box::new(Host::new(config)?)
            }
            Target::Remote { url, token_file } => Box::new(RemoteRuntime::from_token_file(url, token_file)?),
        };
        Ok((rt, project))
    });
    match started {
        Ok((rt, project)) => {
            if let Some(old) = runtime.replace(rt) {
                old.close();
            }
            apply(runtime.as_deref(), project, dir)
        }
        Err(e) => Reply::OpenFailed { dir, message: e.to_string() },
    }
}

/// Stores and deploys the project's services, then describes them; a
/// service whose capabilities are not granted goes to the user.
fn apply(runtime: Option<&dyn Runtime>, project: Project, dir: PathBuf) -> Reply {
    let Some(rt) = runtime else { return Reply::OpenFailed { dir, message: "no runtime".into() } };
    match project.apply(rt) {
        Ok(()) => {}
        Err(Error::MissingCapabilities { service, component, missing }) => {
            return Reply::NeedsGrants { project: Box::new(project), service, component, missing };
        }
        Err(e) => return Reply::OpenFailed { dir, message: e.to_string() },
    }
    match describe(rt, &project) {
        Ok(services) => Reply::Opened { project: Box::new(project), services },
        Err(e) => Reply::OpenFailed { dir, message: e.to_string() },
    }
}

fn describe(runtime: &dyn Runtime, project: &Project) -> host_core::Result<BTreeMap<String, ServiceInfo>> {
    let mut services = BTreeMap::new();
    for status in runtime.status(None)? {
        if !project.file.services.contains_key(&status.spec.name) {
            continue;
        }
        let description = runtime.describe(&status.spec.component)?;
        services
            .insert(status.spec.name.clone(), ServiceInfo { version: status.spec.component.to_string(), description });
    }
    Ok(services)
}
