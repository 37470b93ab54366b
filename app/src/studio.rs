//! The studio window: a palette of the project's services and the
//! registry's components, the pipeline node editor, an inspector, and
//! tabs for the run console, deploys, metrics, logs and the audit log.
//! Every action goes to the runtime thread (`worker`) as a call of
//! host-core's `Runtime` trait; `poll()` takes the answers, `show()` only
//! draws and edits.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    path::PathBuf,
    time::{Duration, Instant},
};

use egui::{Color32, Key, Modifiers, RichText, emath::TSTransform};
use egui_snarl::{NodeId, Snarl, ui::SnarlWidget};
use host_core::{
    Capability,
    deploy::{RolloutEvent, RolloutRecord},
    events::{LogLine, RuntimeEvent},
    metrics::MetricsSnapshot,
    pipeline::{NodeContract, Pipeline, PipelineRun},
    project::{Project, ServiceEntry},
    registry::ComponentRef,
    security::audit::AuditRecord,
};
use serde::{Deserialize, Serialize};

use crate::{
    canvas::Viewer,
    graph::{self, GraphNode, History},
    panels::{DeployForm, Series},
    worker::{RegistryEntry, Reply, Request, ServiceInfo, Target, Worker, contract_of},
};

/// How the run console shows bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyView {
    Text,
    Hex,
    Json,
}

/// The tabs under the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    Console,
    Deploy,
    Metrics,
    Logs,
    Audit,
}

/// Where the user goes when unsaved changes need an answer.
#[derive(Debug, Clone, PartialEq)]
enum Leave {
    Quit,
    Open(PathBuf),
}

/// What is dragged from the palette onto the canvas.
#[derive(Debug, Clone, PartialEq)]
pub enum PaletteItem {
    /// A service of the project.
    Service(String),
    /// A component version in the registry (becomes a new service).
    Component(ComponentRef),
}

/// The grant dialog: what a service asks for and what the user decides.
#[derive(Debug)]
pub struct GrantDialog {
    pub(crate) project: Box<Project>,
    pub(crate) service: String,
    pub(crate) component: String,
    pub(crate) rows: Vec<GrantRow>,
    pub(crate) problem: Option<String>,
    pub(crate) strategy: Option<host_core::deploy::Strategy>,
}

#[derive(Debug)]
pub(crate) struct GrantRow {
    pub(crate) requested: Capability,
    /// Editable: a narrower scope may be granted.
    pub(crate) scope: String,
    pub(crate) allow: bool,
}

/// What the studio remembers between runs (window and panel sizes are
/// remembered by eframe itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Projects opened, newest first.
    pub recent: Vec<PathBuf>,
    /// Dark theme (`None`: follow the system).
    pub dark: Option<bool>,
    /// The remote form's fields.
    pub remote_url: String,
    pub remote_token_file: String,
    /// The tab shown under the canvas.
    pub tab: Option<Tab>,
    /// How the console shows bodies.
    pub body_view: Option<BodyView>,
}

/// Recent projects kept.
const RECENT: usize = 8;
/// Guest log lines kept.
const LOG_LINES: usize = 2_000;

/// The scope the dialog proposes: a folder a component asks for is backed
/// by the same path inside the project (`file-read:/data=PROJECT/data`),
/// not by the machine's own `/data`; other capabilities as requested.
pub fn suggested_scope(requested: &Capability, project_dir: &std::path::Path) -> String {
    let text = requested.to_string();
    match text.split_once(':') {
        Some((kind @ ("file-read" | "file-write"), path)) if !path.contains('=') => {
            format!("{kind}:{path}={}", project_dir.join(path.trim_start_matches('/')).display())
        }
        _ => text,
    }
}

/// What granting a capability lets a component do, in plain words.
pub fn risk_note(capability: &Capability) -> &'static str {
    let text = capability.to_string();
    match text.split(':').next().unwrap_or_default() {
        "file-read" => "can read every file under this folder",
        "file-write" => "can create, change and delete files under this folder",
        "net-out" => "can open connections to these hosts and send them data",
        "net-in" => "can accept connections from anywhere on this port",
        "env" => "can read these environment variables (often secrets)",
        "syscall" => "can read the clock, get randomness or write to the console",
        _ => "a capability defined by the embedding program",
    }
}

/// Application state.
#[allow(missing_debug_implementations)] // holds a Snarl, which has no Debug
pub struct Studio {
    pub(crate) worker: Worker,
    pub(crate) opening: Option<PathBuf>,
    pub(crate) project: Option<Box<Project>>,
    pub(crate) services: BTreeMap<String, ServiceInfo>,
    pub(crate) pipeline: String,
    pub(crate) snarl: Snarl<GraphNode>,
    pub(crate) history: History,
    /// The project differs from the saved file.
    pub(crate) dirty: bool,
    pub(crate) metrics: MetricsSnapshot,
    previous: Option<(Instant, MetricsSnapshot)>,
    pub(crate) rates: BTreeMap<String, f64>,
    /// Live plots' data per service.
    pub(crate) series: BTreeMap<String, Series>,
    pub(crate) started: Instant,
    pub(crate) input: String,
    pub(crate) running: bool,
    pub(crate) run: Option<Result<PipelineRun, String>>,
    pub(crate) body_view: BodyView,
    /// The last problem or notice, shown in the status bar.
    pub(crate) notice: Option<(String, bool)>,
    pub(crate) grants: Option<GrantDialog>,
    /// The shortcuts window is open.
    pub(crate) help: bool,
    /// Leaving the project with unsaved changes waits for the user's answer.
    leaving: Option<Leave>,
    /// The target in use, and the remote form's fields.
    pub(crate) target: Target,
    pub(crate) remote_url: String,
    pub(crate) remote_token_file: String,
    pub(crate) tab: Tab,
    pub(crate) deploy_form: DeployForm,
    /// A deploy or rollback is under way.
    pub(crate) deploying: bool,
    /// The pipeline as it was when the running deploy was asked for.
    deploy_snapshot: Option<Pipeline>,
    /// Rollout progress events, oldest first.
    pub(crate) rollout_events: Vec<RolloutEvent>,
    pub(crate) rollouts: Vec<RolloutRecord>,
    /// Errors of deploys, rollbacks and additions, newest last.
    pub(crate) errors: Vec<String>,
    /// Keep running the pipeline (traffic for a canary).
    pub(crate) traffic: bool,
    pub(crate) logs: VecDeque<LogLine>,
    pub(crate) log_filter: Option<String>,
    pub(crate) audit: Vec<AuditRecord>,
    pub(crate) registry: Vec<RegistryEntry>,
    /// What the last deploy put live: the project's service entries and
    /// each pipeline as it was.
    deployed_services: BTreeMap<String, ServiceEntry>,
    deployed_pipelines: BTreeMap<String, Pipeline>,
    /// Nodes selected on the canvas.
    pub(crate) selected: Vec<NodeId>,
    /// The node last clicked.
    inspected: Option<NodeId>,
    /// Where each node was drawn last frame (graph coordinates).
    node_rects: Vec<(NodeId, egui::Rect)>,
    /// Fit the view to the nodes on the next frame.
    fit_view: bool,
    /// The last refused wire: when, where the pointer was, and why.
    refused: Option<(Instant, egui::Pos2, String)>,
    /// The canvas's graph-to-screen transform (for drops).
    to_screen: Option<TSTransform>,
    pub(crate) recent: Vec<PathBuf>,
    /// The theme chosen (`None`: the system's).
    dark: Option<bool>,
    /// Set the theme on the next frame (restored from the settings).
    apply_theme: bool,
}

pub(crate) const BAD: Color32 = Color32::from_rgb(220, 80, 60);
pub(crate) const GOOD: Color32 = Color32::from_rgb(70, 180, 90);
pub(crate) const WARN: Color32 = Color32::from_rgb(230, 170, 40);
const CANVAS: &str = "pipeline-canvas";

impl Studio {
    /// A studio; `wake` asks the window to repaint (an answer arrived).
    pub fn new(wake: impl Fn() + Send + Sync + 'static, project: Option<PathBuf>) -> Self {
        Self::with_cache_dir(wake, project, None)
    }

    /// A studio compiling into `cache_dir` (tests keep it in a temporary folder).
    pub fn with_cache_dir(
        wake: impl Fn() + Send + Sync + 'static,
        project: Option<PathBuf>,
        cache_dir: Option<PathBuf>,
    ) -> Self {
        let mut studio = Studio {
            worker: Worker::start(wake, cache_dir),
            opening: None,
            project: None,
            services: BTreeMap::new(),
            pipeline: String::new(),
            snarl: Snarl::new(),
            history: History::default(),
            dirty: false,
            metrics: MetricsSnapshot::default(),
            previous: None,
            rates: BTreeMap::new(),
            series: BTreeMap::new(),
            started: Instant::now(),
            input: String::new(),
            running: false,
            run: None,
            body_view: BodyView::Text,
            notice: None,
            grants: None,
            help: false,
            leaving: None,
            target: Target::Embedded,
            remote_url: "http://127.0.0.1:7411".to_string(),
            remote_token_file: String::new(),
            tab: Tab::Console,
            deploy_form: DeployForm::default(),
            deploying: false,
            deploy_snapshot: None,
            rollout_events: Vec::new(),
            rollouts: Vec::new(),
            errors: Vec::new(),
            traffic: false,
            logs: VecDeque::new(),
            log_filter: None,
            audit: Vec::new(),
            registry: Vec::new(),
            deployed_services: BTreeMap::new(),
            deployed_pipelines: BTreeMap::new(),
            selected: Vec::new(),
            inspected: None,
            node_rects: Vec::new(),
            fit_view: false,
            refused: None,
            to_screen: None,
            recent: Vec::new(),
            dark: None,
            apply_theme: false,
        };
        if let Some(dir) = project {
            studio.open(dir);
        }
        studio
    }

    /// Takes remembered settings (recent projects, theme, remote form, tab).
    pub fn restore(&mut self, settings: Settings) {
        self.recent = settings.recent;
        self.dark = settings.dark;
        self.apply_theme = settings.dark.is_some();
        if !settings.remote_url.is_empty() {
            self.remote_url = settings.remote_url;
        }
        self.remote_token_file = settings.remote_token_file;
        self.tab = settings.tab.unwrap_or(Tab::Console);
        self.body_view = settings.body_view.unwrap_or(BodyView::Text);
    }

    /// What to remember for the next run.
    pub fn settings(&self) -> Settings {
        Settings {
            recent: self.recent.clone(),
            dark: self.dark,
            remote_url: self.remote_url.clone(),
            remote_token_file: self.remote_token_file.clone(),
            tab: Some(self.tab),
            body_view: Some(self.body_view),
        }
    }

    /// Opens a project folder (on the runtime thread).
    pub fn open(&mut self, dir: PathBuf) {
        self.opening = Some(dir.clone());
        self.project = None;
        self.notice = None;
        self.worker.send(Request::Open(dir));
    }

    /// Deploys and runs on `target` from now on; the open project is
    /// applied there (one code path for the embedded runtime and a server).
    /// The canvas, with its unsaved edits, stays.
    pub fn connect(&mut self, target: Target) {
        let project = self.project.as_ref().map(|p| p.dir.clone()).or_else(|| self.opening.clone());
        self.opening = project.clone();
        self.target = target.clone();
        self.notice = None;
        self.worker.send(Request::Connect { target, project });
    }

    /// The target in use.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The tab shown under the canvas.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The live plots' samples of a service, oldest first.
    pub fn metrics_series(&self, service: &str) -> Option<Vec<crate::panels::Sample>> {
        self.series.get(service).map(|s| s.samples())
    }

    /// The open project.
    pub fn project(&self) -> Option<&Project> {
        self.project.as_deref()
    }

    /// The open grant dialog, if a service waits for the user's decision.
    pub fn grant_dialog(&self) -> Option<&GrantDialog> {
        self.grants.as_ref()
    }

    /// Whether the runtime thread is still working on something.
    pub fn busy(&self) -> bool {
        self.worker.pending > 0
    }

    /// Whether the project has changes not saved to project.ron.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether a deploy or rollback is under way.
    pub fn deploying(&self) -> bool {
        self.deploying
    }

    /// The last run's outcome.
    pub fn last_run(&self) -> Option<&Result<PipelineRun, String>> {
        self.run.as_ref()
    }

    /// The run console's input.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Sets the run console's input.
    pub fn set_input(&mut self, input: &str) {
        self.input = input.to_string();
    }

    /// Whether a run is under way.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Shows another tab under the canvas.
    pub fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
    }

    /// The services deployed, as last described.
    pub fn services(&self) -> &BTreeMap<String, ServiceInfo> {
        &self.services
    }

    /// The registry as last listed.
    pub fn registry(&self) -> &[RegistryEntry] {
        &self.registry
    }

    /// Guest log lines received.
    pub fn logs(&self) -> &VecDeque<LogLine> {
        &self.logs
    }

    /// Audit records as last listed.
    pub fn audit(&self) -> &[AuditRecord] {
        &self.audit
    }

    /// Rollout progress received.
    pub fn rollout_events(&self) -> &[RolloutEvent] {
        &self.rollout_events
    }

    /// Errors of deploys, rollbacks and additions.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// The pipeline on the canvas.
    pub fn current_pipeline(&self) -> Pipeline {
        graph::from_snarl(&self.pipeline, &self.snarl)
    }

    /// Nodes of the canvas changed since the last deploy.
    pub fn changed_since_deploy(&self) -> BTreeSet<String> {
        let Some(project) = &self.project else { return BTreeSet::new() };
        let services: BTreeSet<String> = project
            .file
            .services
            .iter()
            .filter(|(name, entry)| self.deployed_services.get(name.as_str()) != Some(entry))
            .map(|(name, _)| name.clone())
            .collect();
        let empty = Pipeline::new(&self.pipeline);
        let deployed = self.deployed_pipelines.get(&self.pipeline).unwrap_or(&empty);
        graph::changed_nodes(&self.current_pipeline(), deployed, &services)
    }

    /// Takes the runtime thread's answers.
    pub fn poll(&mut self) {
        while let Some(reply) = self.worker.poll() {
            self.take(reply);
        }
        if self.traffic && !self.running && self.project.is_some() {
            self.run_pipeline();
        }
    }

    fn take(&mut self, reply: Reply) {
        match reply {
            Reply::Opened { project, services, granted } => {
                let same = self.project.as_ref().is_some_and(|p| p.dir == project.dir);
                self.opening = None;
                self.services = services;
                self.deployed_services = project.file.services.clone();
                if let Some(pipeline) = self.deploy_snapshot.take() {
                    self.deployed_pipelines.insert(pipeline.name.clone(), pipeline);
                }
                if self.deploying {
                    self.deploying = false;
                    self.notice = Some(("deployed".into(), false));
                }
                if same {
                    // A deploy or a grant: keep the canvas and its edits.
                    if let Some(current) = &mut self.project {
                        current.file.services = project.file.services;
                    }
                    // Grants the user allowed: kept in project.ron with the next Save.
                    self.dirty |= granted;
                    self.refresh_contracts();
                    return;
                }
                self.deployed_pipelines = project
                    .file
                    .pipelines
                    .keys()
                    .filter_map(|name| project.pipeline(name).ok().map(|p| (name.clone(), p)))
                    .collect();
                self.remember(project.dir.clone());
                let name = project
                    .file
                    .default_pipeline
                    .clone()
                    .or_else(|| project.file.pipelines.keys().next().cloned())
                    .unwrap_or_else(|| "main".to_string());
                self.project = Some(project);
                self.load_pipeline(&name);
                self.dirty = granted;
            }
            Reply::NeedsGrants { project, service, component, missing, strategy } => {
                let rows = missing
                    .into_iter()
                    .map(|requested| GrantRow {
                        scope: suggested_scope(&requested, &project.dir),
                        requested,
                        allow: false,
                    })
                    .collect();
                self.grants = Some(GrantDialog { project, service, component, rows, problem: None, strategy });
            }
            Reply::OpenFailed { dir, message } => {
                self.opening = None;
                self.deploy_snapshot = None;
                let text = if self.deploying || self.project.is_some() {
                    format!("deploy failed: {message}")
                } else {
                    format!("cannot open {}: {message}", dir.display())
                };
                self.deploying = false;
                self.fail(text);
            }
            Reply::Failed { action, message } => {
                self.deploying = false;
                self.fail(format!("cannot {action}: {message}"));
            }
            Reply::Connected => {}
            Reply::ConnectFailed { kept, message } => {
                self.opening = None;
                self.target = kept;
                self.fail(message);
            }
            Reply::Ran(outcome) => {
                self.running = false;
                if outcome.is_err() {
                    self.traffic = false;
                }
                self.run = Some(outcome);
            }
            Reply::RolledBack { record, services } => {
                self.deploying = false;
                self.notice = Some((format!("{} rolled back to {}", record.service, record.to), false));
                for (name, info) in services {
                    if self.services.contains_key(&name) {
                        self.services.insert(name, info);
                    }
                }
            }
            Reply::Added { reference, reused } => {
                let how = if reused { "already in the registry as" } else { "added to the registry as" };
                self.notice = Some((format!("{how} {reference}: drag it from the palette onto the canvas"), false));
            }
            Reply::Refreshed { registry, audit, rollouts } => {
                self.registry = registry;
                self.audit = audit;
                self.rollouts = rollouts;
            }
            Reply::Event(event) => match *event {
                RuntimeEvent::Metrics { snapshot } => self.take_metrics(snapshot),
                RuntimeEvent::Rollout { event } => self.rollout_events.push(event),
                RuntimeEvent::Log { line } => {
                    self.logs.push_back(line);
                    while self.logs.len() > LOG_LINES {
                        self.logs.pop_front();
                    }
                }
            },
        }
    }

    fn fail(&mut self, text: String) {
        self.errors.push(text.clone());
        self.notice = Some((text, true));
    }

    fn remember(&mut self, dir: PathBuf) {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        self.recent.retain(|d| *d != dir);
        self.recent.insert(0, dir);
        self.recent.truncate(RECENT);
    }

    fn take_metrics(&mut self, snapshot: MetricsSnapshot) {
        let now = Instant::now();
        if let Some((at, before)) = &self.previous {
            let seconds = now.duration_since(*at).as_secs_f64().max(0.001);
            let t = now.duration_since(self.started).as_secs_f64();
            self.rates.clear();
            for service in &snapshot.services {
                let old = before.service(&service.service);
                let sample = crate::panels::sample(t, seconds, service, old);
                self.rates.insert(service.service.clone(), sample.calls_per_s);
                self.series.entry(service.service.clone()).or_default().push(sample);
            }
        }
        self.previous = Some((now, snapshot.clone()));
        self.metrics = snapshot;
    }

    /// The media types of a service: deployed, or planned from the registry.
    fn contract_for(&self, service: &str) -> Option<NodeContract> {
        if let Some(info) = self.services.get(service) {
            return Some(info.contract());
        }
        let entry = self.project.as_ref()?.file.services.get(service)?;
        let reference: ComponentRef = entry.component.parse().ok()?;
        self.registry.iter().find(|r| r.name == reference.name)?.description.as_ref().map(contract_of)
    }

    /// Gives every node the contract of its service as known now.
    fn refresh_contracts(&mut self) {
        let contracts: Vec<(NodeId, Option<NodeContract>)> =
            self.snarl.nodes_ids_data().map(|(id, node)| (id, self.contract_for(&node.value.service))).collect();
        for (id, contract) in contracts {
            if let Some(node) = self.snarl.get_node_mut(id) {
                node.contract = contract;
            }
        }
    }

    fn load_pipeline(&mut self, name: &str) {
        let Some(project) = &self.project else { return };
        let pipeline = project.pipeline(name).unwrap_or_else(|_| Pipeline::new(name));
        self.snarl = graph::to_snarl(&pipeline, |s| self.contract_for(s));
        self.pipeline = name.to_string();
        self.history = History::default();
        self.run = None;
        self.selected.clear();
        self.inspected = None;
        self.node_rects.clear();
        self.fit_view = true;
    }

    pub(crate) fn set_graph(&mut self, pipeline: &Pipeline) {
        self.snarl = graph::to_snarl(pipeline, |s| self.contract_for(s));
        self.selected.clear();
        self.inspected = None;
        self.dirty = true;
    }

    /// Adds a node calling `service` to the canvas (at `at`, graph
    /// coordinates, or next to the others).
    pub fn add_node(&mut self, service: &str) {
        self.add_node_at(service, None);
    }

    fn add_node_at(&mut self, service: &str, at: Option<egui::Pos2>) {
        let before = self.current_pipeline();
        let id = graph::fresh_id(&self.snarl, service);
        let contract = self.contract_for(service);
        let at = at.unwrap_or_else(|| egui::pos2(60.0 + 30.0 * self.snarl.nodes().count() as f32, 60.0));
        let node =
            GraphNode { id, service: service.to_string(), on_error: Default::default(), ports: Vec::new(), contract };
        self.snarl.insert_node(at, node);
        self.history.push(before);
        self.dirty = true;
    }

    /// Adds a registry component to the canvas: it becomes a service of the
    /// project (named after the component), deployed with the next Deploy.
    pub fn add_component_node(&mut self, reference: &ComponentRef, at: Option<egui::Pos2>) {
        let Some(project) = &mut self.project else { return };
        let text = reference.to_string();
        let services = &mut project.file.services;
        let name = match services.iter().find(|(_, e)| e.component == text) {
            Some((name, _)) => name.clone(),
            None => {
                let base = &reference.name;
                let name = std::iter::once(base.clone())
                    .chain((2..).map(|n| format!("{base}-{n}")))
                    .find(|n| !services.contains_key(n))
                    .unwrap_or_else(|| base.clone());
                services.insert(
                    name.clone(),
                    ServiceEntry {
                        component: text,
                        config: BTreeMap::new(),
                        grants: Vec::new(),
                        pool: 2,
                        limits: None,
                    },
                );
                name
            }
        };
        self.add_node_at(&name, at);
    }

    /// Adds what was dropped from the palette.
    pub fn drop_item(&mut self, item: &PaletteItem, at: Option<egui::Pos2>) {
        match item {
            PaletteItem::Service(name) => self.add_node_at(name, at),
            PaletteItem::Component(reference) => self.add_component_node(reference, at),
        }
    }

    /// Deletes the nodes selected on the canvas (one undo step).
    pub fn delete_selected(&mut self) {
        if self.selected.is_empty() {
            return;
        }
        let before = self.current_pipeline();
        self.inspected = None;
        for id in std::mem::take(&mut self.selected) {
            if self.snarl.get_node(id).is_some() {
                self.snarl.remove_node(id);
            }
        }
        self.history.push(before);
        self.dirty = true;
    }

    pub fn undo(&mut self) {
        if let Some(previous) = self.history.undo(self.current_pipeline()) {
            self.set_graph(&previous);
        }
    }

    pub fn redo(&mut self) {
        if let Some(next) = self.history.redo(self.current_pipeline()) {
            self.set_graph(&next);
        }
    }

    /// Runs the pipeline on the canvas with the console's input.
    pub fn run_pipeline(&mut self) {
        self.running = true;
        if !self.traffic {
            self.run = None;
        }
        self.worker.send(Request::Run { pipeline: self.current_pipeline(), input: self.input.clone().into_bytes() });
    }

    /// Deploys the project's changed services with the strategy of the
    /// deploy tab, on the current target.
    pub fn deploy(&mut self) {
        let strategy = match self.deploy_form.strategy() {
            Ok(strategy) => strategy,
            Err(message) => return self.fail(format!("cannot deploy: {message}")),
        };
        let Some(project) = &self.project else { return };
        self.deploying = true;
        self.deploy_snapshot = Some(self.current_pipeline());
        self.notice = Some((format!("deploying with {}…", strategy.name()), false));
        self.worker.send(Request::Deploy { project: project.clone(), strategy });
    }

    /// Rolls `service` back to the version it ran before.
    pub fn rollback(&mut self, service: &str) {
        self.deploying = true;
        self.notice = Some((format!("rolling back {service}…"), false));
        self.worker.send(Request::Rollback { service: service.to_string() });
    }

    /// Asks for the registry, audit log and rollouts again.
    pub fn refresh(&mut self) {
        self.worker.send(Request::Refresh);
    }

    /// Stores a `.wasm` file in the registry (what dropping it on the
    /// window does).
    pub fn add_file(&mut self, path: PathBuf) {
        self.worker.send(Request::AddFile(path));
    }

    /// Writes the canvas back into `project.ron`.
    pub fn save(&mut self) {
        let pipeline = self.current_pipeline();
        let Some(project) = &mut self.project else { return };
        project.set_pipeline(&pipeline);
        match project.save() {
            Ok(()) => {
                self.dirty = false;
                self.notice = Some((format!("saved {}", project.dir.join("project.ron").display()), false));
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Writes the project into another folder (with its component files)
    /// and opens it there.
    pub fn save_as(&mut self, dir: PathBuf) {
        let pipeline = self.current_pipeline();
        let Some(project) = &mut self.project else { return };
        let mut copy = (**project).clone();
        copy.set_pipeline(&pipeline);
        match copy.save_as(&dir) {
            Ok(()) => {
                self.dirty = false;
                self.open(copy.dir);
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn pick_folder(&mut self) {
        if let Some(dir) = rfd::FileDialog::new().set_title("Open a project folder").pick_folder() {
            self.open_asking(dir);
        }
    }

    fn pick_save_as(&mut self) {
        if let Some(dir) = rfd::FileDialog::new().set_title("Save the project into a folder").pick_folder() {
            self.save_as(dir);
        }
    }

    fn shortcuts(&mut self, ui: &egui::Ui) {
        // Delete only when no text field has the keyboard.
        let typing = ui.ctx().memory(|m| m.focused().is_some());
        let (redo, undo, save, help, delete) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z),
                i.consume_key(Modifiers::COMMAND, Key::Z),
                i.consume_key(Modifiers::COMMAND, Key::S),
                i.consume_key(Modifiers::NONE, Key::F1),
                !typing && i.consume_key(Modifiers::NONE, Key::Delete),
            )
        });
        if !typing && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F)) {
            self.fit_view = true;
        }
        if help {
            self.help = !self.help;
        }
        if redo {
            self.redo();
        } else if undo {
            self.undo();
        }
        if save {
            self.save();
        }
        if delete {
            self.delete_selected();
        }
    }

    /// Draws the whole window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if std::mem::take(&mut self.apply_theme)
            && let Some(dark) = self.dark
        {
            ui.ctx().set_theme(if dark { egui::Theme::Dark } else { egui::Theme::Light });
        }
        if self.project.is_some() {
            // Live figures: come back for the next metrics snapshot.
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
        self.shortcuts(ui);
        self.dropped_files(ui);
        self.close_guard(ui);
        self.help_window(ui);
        self.grant_dialog_ui(ui);
        self.toolbar(ui);
        self.target_bar(ui);
        self.status_bar(ui);
        if self.project.is_some() {
            self.palette(ui);
            self.tabs(ui);
            self.inspector(ui);
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(dir) = &self.opening {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Opening {} and deploying its services…", dir.display()));
                });
                return;
            }
            if self.project.is_none() {
                self.welcome(ui);
                return;
            }
            self.canvas(ui);
        });
    }

    fn welcome(&mut self, ui: &mut egui::Ui) {
        let mut open = None;
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() / 4.0);
            ui.heading("Open a project folder to edit its pipelines (Open project…).");
            if !self.recent.is_empty() {
                ui.add_space(12.0);
                ui.label(RichText::new("Recent projects").strong());
                for dir in &self.recent {
                    if ui.link(dir.display().to_string()).clicked() {
                        open = Some(dir.clone());
                    }
                }
            }
        });
        if let Some(dir) = open {
            self.open(dir);
        }
    }

    /// `.wasm` files dropped on the window go into the registry.
    fn dropped_files(&mut self, ui: &egui::Ui) {
        let (dropped, hovering) = ui.input(|i| {
            (
                i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect::<Vec<_>>(),
                !i.raw.hovered_files.is_empty(),
            )
        });
        if hovering {
            egui::Area::new(egui::Id::new("drop-hint")).anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0]).show(
                ui.ctx(),
                |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.heading("Drop a .wasm component to add it to the registry");
                    });
                },
            );
        }
        for path in dropped {
            if self.project.is_none() && path.is_dir() {
                self.open(path);
            } else {
                self.add_file(path);
            }
        }
    }

    /// The modal asking the user to allow or deny each capability a service
    /// requests. Nothing is allowed until the user ticks it.
    fn grant_dialog_ui(&mut self, ui: &mut egui::Ui) {
        let Some(dialog) = &mut self.grants else { return };
        let mut answer: Option<bool> = None; // Some(true) = continue with the ticks, Some(false) = deny all
        egui::Modal::new(egui::Id::new("grant-dialog")).show(ui.ctx(), |ui| {
            ui.set_max_width(560.0);
            ui.heading("Capabilities requested");
            ui.label(format!(
                "Service `{}` ({}) asks for capabilities that nobody has granted. Allow only what you trust it with; \
                 you can narrow a scope (a folder, a host pattern, a port) before allowing it.",
                dialog.service, dialog.component
            ));
            ui.add_space(6.0);
            for row in &mut dialog.rows {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(RichText::new(format!("requests {}", row.requested)).strong());
                    ui.label(RichText::new(risk_note(&row.requested)).weak());
                    ui.horizontal(|ui| {
                        ui.checkbox(&mut row.allow, format!("Allow {}", row.requested));
                        let scope = ui.label("scope");
                        ui.add(egui::TextEdit::singleline(&mut row.scope).desired_width(260.0)).labelled_by(scope.id);
                    });
                });
            }
            if let Some(problem) = &dialog.problem {
                ui.colored_label(BAD, problem);
            }
            ui.horizontal(|ui| {
                if ui.button("Continue").clicked() {
                    answer = Some(true);
                }
                if ui.button("Deny all").clicked() {
                    answer = Some(false);
                }
            });
        });
        let Some(continue_with_ticks) = answer else { return };
        let mut decisions = Vec::new();
        for row in &dialog.rows {
            let allowed = continue_with_ticks && row.allow;
            let capability = if allowed {
                match row.scope.trim().parse::<Capability>() {
                    Ok(narrowed) => narrowed,
                    Err(e) => {
                        dialog.problem = Some(format!("`{}` is not a capability: {e}", row.scope));
                        return;
                    }
                }
            } else {
                row.requested.clone()
            };
            decisions.push((capability, allowed));
        }
        if let Some(dialog) = self.grants.take() {
            self.worker.send(Request::Decide {
                project: dialog.project,
                service: dialog.service,
                decisions,
                strategy: dialog.strategy,
            });
        }
    }

    /// Leaving the project (quitting, or opening another one) with unsaved
    /// changes asks first.
    fn close_guard(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) && self.dirty && self.leaving.is_none() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.leaving = Some(Leave::Quit);
        }
        let Some(leave) = self.leaving.clone() else { return };
        let (save_label, discard_label) = match &leave {
            Leave::Quit => ("Save and quit", "Quit without saving"),
            Leave::Open(_) => ("Save and open", "Open without saving"),
        };
        let mut choice = None;
        egui::Modal::new(egui::Id::new("unsaved")).show(&ctx, |ui| {
            ui.heading("Unsaved changes");
            ui.label(format!("The project has changes that are not in project.ron (pipeline `{}`).", self.pipeline));
            ui.horizontal(|ui| {
                if ui.button(save_label).clicked() {
                    choice = Some(true);
                }
                if ui.button(discard_label).clicked() {
                    choice = Some(false);
                }
                if ui.button("Cancel").clicked() {
                    self.leaving = None;
                }
            });
        });
        let Some(save) = choice else { return };
        self.leaving = None;
        if save {
            self.save();
            if self.dirty {
                return; // the save failed: its error is shown, nothing is left
            }
        }
        self.dirty = false;
        match leave {
            Leave::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Leave::Open(dir) => self.open(dir),
        }
    }

    /// Opens `dir`, asking first when the open project has unsaved changes.
    pub fn open_asking(&mut self, dir: PathBuf) {
        if self.dirty && self.project.is_some() {
            self.leaving = Some(Leave::Open(dir));
        } else {
            self.open(dir);
        }
    }

    fn help_window(&mut self, ui: &mut egui::Ui) {
        let mut open = self.help;
        egui::Window::new("Keyboard shortcuts").open(&mut open).resizable(false).show(ui.ctx(), |ui| {
            egui::Grid::new("shortcuts").num_columns(2).spacing([24.0, 4.0]).show(ui, |ui| {
                for (keys, what) in [
                    ("Ctrl+S", "save the project into project.ron"),
                    ("Ctrl+Z", "undo the last graph edit"),
                    ("Ctrl+Shift+Z", "redo"),
                    ("Delete", "delete the selected nodes"),
                    ("F", "fit the view to every node"),
                    ("F1", "show or hide this window"),
                    ("drag from the palette", "add a node where you drop it"),
                    ("drop a .wasm file", "add it to the registry and the palette"),
                    ("drag a pin to a pin", "wire two nodes (refused when media types do not match)"),
                    ("click / Shift+drag / Shift+click", "select a node / select several"),
                    ("right-click a node", "duplicate or delete it"),
                    ("drag the background / scroll", "pan / zoom the canvas"),
                ] {
                    ui.label(RichText::new(keys).monospace());
                    ui.label(what);
                    ui.end_row();
                }
            });
        });
        self.help = open;
    }

    fn target_bar(&mut self, ui: &mut egui::Ui) {
        let mut chosen = None;
        egui::Panel::top("target").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label("Target");
                let embedded = self.target == Target::Embedded;
                if ui.selectable_label(embedded, "Embedded").clicked() && !embedded {
                    chosen = Some(Target::Embedded);
                }
                ui.separator();
                let url = ui.label("Server URL");
                ui.add(egui::TextEdit::singleline(&mut self.remote_url).desired_width(220.0)).labelled_by(url.id);
                let token = ui.label("Token file");
                ui.add(egui::TextEdit::singleline(&mut self.remote_token_file).desired_width(260.0))
                    .labelled_by(token.id);
                if ui.button("Connect").clicked() {
                    chosen = Some(Target::Remote {
                        url: self.remote_url.trim().to_string(),
                        token_file: PathBuf::from(self.remote_token_file.trim()),
                    });
                }
                if let Target::Remote { url, .. } = &self.target {
                    ui.label(RichText::new(format!("connected to {url}")).color(GOOD));
                }
            });
        });
        if let Some(target) = chosen {
            self.connect(target);
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("airssys studio");
                ui.separator();
                if ui.button("Open project…").clicked() {
                    self.pick_folder();
                }
                let mut open_recent = None;
                ui.add_enabled_ui(!self.recent.is_empty(), |ui| {
                    ui.menu_button("Recent", |ui| {
                        for dir in &self.recent {
                            if ui.button(dir.display().to_string()).clicked() {
                                open_recent = Some(dir.clone());
                            }
                        }
                    });
                });
                if let Some(dir) = open_recent {
                    self.open_asking(dir);
                }
                let has_project = self.project.is_some();
                if ui
                    .add_enabled(has_project && self.dirty, egui::Button::new("Save"))
                    .on_hover_text("Ctrl+S")
                    .clicked()
                {
                    self.save();
                }
                if ui.add_enabled(has_project, egui::Button::new("Save As…")).clicked() {
                    self.pick_save_as();
                }
                if ui.add_enabled(self.history.can_undo(), egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked()
                {
                    self.undo();
                }
                if ui
                    .add_enabled(self.history.can_redo(), egui::Button::new("Redo"))
                    .on_hover_text("Ctrl+Shift+Z")
                    .clicked()
                {
                    self.redo();
                }
                if ui
                    .add_enabled(has_project, egui::Button::new("Fit view"))
                    .on_hover_text("show every node (F)")
                    .clicked()
                {
                    self.fit_view = true;
                }
                let shown = self
                    .project
                    .as_ref()
                    .map(|p| (p.file.pipelines.keys().cloned().collect::<Vec<_>>(), p.dir.clone()));
                ui.separator();
                if ui.button("Help").on_hover_text("F1").clicked() {
                    self.help = !self.help;
                }
                let dark = ui.ctx().theme() == egui::Theme::Dark;
                if ui.button(if dark { "Light theme" } else { "Dark theme" }).clicked() {
                    ui.ctx().set_theme(if dark { egui::Theme::Light } else { egui::Theme::Dark });
                    self.dark = Some(!dark);
                }
                if let Some((names, dir)) = shown {
                    ui.separator();
                    let mut chosen = self.pipeline.clone();
                    egui::ComboBox::from_id_salt("pipeline").selected_text(&chosen).show_ui(ui, |ui| {
                        for name in names {
                            ui.selectable_value(&mut chosen, name.clone(), name);
                        }
                    });
                    ui.label(RichText::new(dir.display().to_string()).monospace().weak());
                    if self.dirty {
                        ui.label(RichText::new("unsaved changes").color(WARN));
                    }
                    if chosen != self.pipeline {
                        // Keep this pipeline's edits in the project (saved with the next Save).
                        let current = self.current_pipeline();
                        if let Some(project) = &mut self.project {
                            project.set_pipeline(&current);
                        }
                        self.load_pipeline(&chosen);
                    }
                }
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                if (self.busy() && self.opening.is_none() && self.running) || self.deploying {
                    ui.spinner();
                }
                match &self.notice {
                    Some((text, true)) => ui.colored_label(BAD, text),
                    Some((text, false)) => ui.label(text),
                    None => ui.label(RichText::new("ready").weak()),
                };
            });
        });
    }

    fn palette(&mut self, ui: &mut egui::Ui) {
        let mut add = None;
        egui::Panel::left("palette").resizable(true).default_size(250.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Services");
                ui.label(RichText::new("Drag one onto the canvas, or press Add.").weak());
                for (name, info) in &self.services {
                    let m = &info.description.metadata;
                    let item = PaletteItem::Service(name.clone());
                    if palette_card(ui, name, &info.version, &m.description, &m.accepts, &m.produces, item) {
                        add = Some(PaletteItem::Service(name.clone()));
                    }
                }
                let published: Vec<&RegistryEntry> = self
                    .registry
                    .iter()
                    .filter(|r| r.versions.last().is_some_and(|v| !host_core::project::is_local(&v.version)))
                    .collect();
                ui.add_space(8.0);
                ui.heading("Registry");
                if published.is_empty() {
                    ui.label(RichText::new("Drop a .wasm file on the window to add a component.").weak());
                }
                for entry in published {
                    let Some(reference) = entry.latest() else { continue };
                    let (text, accepts, produces) = entry.description.as_ref().map_or_else(
                        || ("(cannot be described)".to_string(), Vec::new(), Vec::new()),
                        |d| (d.metadata.description.clone(), d.metadata.accepts.clone(), d.metadata.produces.clone()),
                    );
                    let label = reference.to_string();
                    let item = PaletteItem::Component(reference.clone());
                    if palette_card(ui, &entry.name, &label, &text, &accepts, &produces, item) {
                        add = Some(PaletteItem::Component(reference));
                    }
                }
            });
        });
        if let Some(item) = add {
            self.drop_item(&item, None);
        }
    }

    fn canvas(&mut self, ui: &mut egui::Ui) {
        let before = self.current_pipeline();
        let changed = self.changed_since_deploy();
        let planned: BTreeSet<String> =
            self.project.as_ref().map(|p| p.file.services.keys().cloned().collect()).unwrap_or_default();
        let mut viewer = Viewer {
            services: &self.services,
            planned: &planned,
            metrics: &self.metrics,
            pipeline: &self.pipeline,
            rates: &self.rates,
            changed: &changed,
            refused: None,
            to_screen: None,
            rects: Vec::new(),
            set_view: None,
        };
        let area = ui.max_rect();
        // A newly loaded pipeline (drawn once, so its nodes' sizes are known)
        // is fitted into the canvas.
        if self.fit_view && !self.node_rects.is_empty() {
            viewer.set_view = crate::canvas::fit(&self.node_rects, area);
            self.fit_view = false;
        }
        SnarlWidget::new().id(egui::Id::new(CANVAS)).show(&mut self.snarl, &mut viewer, ui);
        if let Some(reason) = viewer.refused.take() {
            self.notice = Some((format!("wire refused: {reason}"), true));
            let at = ui.ctx().pointer_latest_pos().unwrap_or_else(|| ui.max_rect().center());
            self.refused = Some((Instant::now(), at, reason));
        }
        // The refusal's reason stays where the wire was dropped for a few seconds.
        if let Some((when, at, reason)) = &self.refused {
            if when.elapsed() < Duration::from_secs(4) {
                egui::Tooltip::always_open(
                    ui.ctx().clone(),
                    ui.layer_id(),
                    egui::Id::new("wire-refused"),
                    egui::PopupAnchor::Position(*at),
                )
                .show(|ui| {
                    ui.colored_label(BAD, format!("Wire refused: {reason}"));
                });
                ui.ctx().request_repaint_after(Duration::from_millis(250));
            } else {
                self.refused = None;
            }
        }
        self.to_screen = viewer.to_screen.or(self.to_screen);
        self.node_rects = std::mem::take(&mut viewer.rects);
        // Shift+click and Shift+drag select several nodes (egui-snarl); a
        // plain click on a node inspects it.
        let selection = egui_snarl::ui::get_selected_nodes(egui::Id::new(CANVAS), ui.ctx());
        let clicked = ui.input(|i| i.pointer.primary_clicked().then(|| i.pointer.interact_pos()).flatten());
        if let (Some(at), Some(to_screen)) = (clicked.filter(|p| area.contains(*p)), self.to_screen) {
            let hit =
                self.node_rects.iter().rev().find(|(_, rect)| (to_screen * *rect).contains(at)).map(|(id, _)| *id);
            if selection.is_empty() || hit.is_none() {
                self.inspected = hit;
            }
        }
        self.selected = if selection.is_empty() { self.inspected.into_iter().collect() } else { selection };
        // A palette card released over the canvas becomes a node there.
        let released = ui.input(|i| i.pointer.any_released().then(|| i.pointer.interact_pos()).flatten());
        if let Some(at) = released.filter(|p| area.contains(*p))
            && let Some(item) = egui::DragAndDrop::take_payload::<PaletteItem>(ui.ctx())
        {
            let graph_at = self.to_screen.map(|t| t.inverse() * at);
            self.drop_item(&item, graph_at);
            return;
        }
        let after = self.current_pipeline();
        if !graph::same_structure(&before, &after) {
            self.history.push(before);
            self.dirty = true;
        } else if before != after {
            self.dirty = true; // moved nodes
        }
    }

    /// Where the node `id` is on the screen (as last drawn).
    pub fn node_screen_rect(&self, id: &str) -> Option<egui::Rect> {
        let to_screen = self.to_screen?;
        self.node_rects
            .iter()
            .find(|(node, _)| self.snarl.get_node(*node).is_some_and(|n| n.id == id))
            .map(|(_, rect)| to_screen * *rect)
    }

    /// The node selected on the canvas (the first of several).
    pub(crate) fn selected_node(&self) -> Option<&GraphNode> {
        self.selected.first().and_then(|id| self.snarl.get_node(*id))
    }
}

/// One palette card; the header can be dragged onto the canvas. Returns
/// whether its Add button was clicked.
fn palette_card(
    ui: &mut egui::Ui,
    name: &str,
    version: &str,
    description: &str,
    accepts: &[String],
    produces: &[String],
    item: PaletteItem,
) -> bool {
    let mut add = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let id = egui::Id::new(("palette", name, version));
        ui.dnd_drag_source(id, item, |ui| {
            ui.label(RichText::new(name).strong());
            ui.label(RichText::new(crate::canvas::short_version(version)).monospace().small()).on_hover_text(version);
        })
        .response
        .on_hover_cursor(egui::CursorIcon::Grab);
        ui.label(RichText::new(description).small());
        ui.label(RichText::new(format!("{} -> {}", accepts.join(", "), produces.join(", "))).small().weak());
        if ui.button(format!("Add {name}")).clicked() {
            add = true;
        }
    });
    add
}

/// A body as text, hex or pretty JSON.
pub fn render(data: &[u8], view: BodyView) -> String {
    match view {
        BodyView::Text => String::from_utf8_lossy(data).into_owned(),
        BodyView::Hex => data.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "),
        BodyView::Json => match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
            Err(_) => String::from_utf8_lossy(data).into_owned(),
        },
    }
}

impl eframe::App for Studio {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.poll();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings());
    }
}
