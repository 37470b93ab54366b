//! The studio's runtime thread. Every action is a call of host-core's
//! `Runtime` trait made here, off the UI thread; results come back as
//! messages and wake the UI.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::mpsc::{Receiver, Sender, TryRecvError, channel},
};

use host_core::{
    Description, Host, HostConfig, Input, Runtime,
    metrics::MetricsSnapshot,
    pipeline::{NodeContract, Pipeline, PipelineRun, RunOptions},
    project::Project,
};

/// What the UI asks for.
#[derive(Debug)]
pub enum Request {
    /// Open a project folder: store and deploy its services on the embedded runtime.
    Open(PathBuf),
    /// Run a pipeline on an input, keeping every node's output.
    Run { pipeline: Pipeline, input: Vec<u8> },
    /// A fresh metrics snapshot.
    Metrics,
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
                for request in inbox {
                    let reply = handle(&mut runtime, request, cache_dir.as_ref());
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

fn handle(runtime: &mut Option<Box<dyn Runtime>>, request: Request, cache_dir: Option<&PathBuf>) -> Reply {
    match request {
        Request::Open(dir) => match open(&dir, cache_dir) {
            Ok((rt, project, services)) => {
                if let Some(old) = runtime.replace(rt) {
                    old.close();
                }
                Reply::Opened { project: Box::new(project), services }
            }
            Err(e) => Reply::OpenFailed { dir, message: e.to_string() },
        },
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

/// The embedded runtime on the project's `.airssys/` folder, with the
/// project's services stored and deployed.
type Opened = (Box<dyn Runtime>, Project, BTreeMap<String, ServiceInfo>);

fn open(dir: &std::path::Path, cache_dir: Option<&PathBuf>) -> host_core::Result<Opened> {
    let project = Project::open(dir)?;
    let mut config = HostConfig { data_dir: Some(project.dir.join(".airssys")), ..HostConfig::default() };
    if let Some(cache) = cache_dir {
        config.cache_dir = Some(cache.clone());
    }
    let host = Host::new(config)?;
    let runtime: Box<dyn Runtime> = Box::new(host);
    project.apply(runtime.as_ref())?;
    let mut services = BTreeMap::new();
    for status in runtime.status(None)? {
        if !project.file.services.contains_key(&status.spec.name) {
            continue;
        }
        let description = runtime.describe(&status.spec.component)?;
        services
            .insert(status.spec.name.clone(), ServiceInfo { version: status.spec.component.to_string(), description });
    }
    Ok((runtime, project, services))
}
