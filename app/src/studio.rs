//! The studio window: a palette of the project's services, the pipeline
//! node editor, and a run console. Every action goes to the runtime thread
//! (`worker`) as a call of host-core's `Runtime` trait; `poll()` takes the
//! answers, `show()` only draws and edits the graph.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use egui::{Color32, Key, Modifiers, RichText};
use egui_snarl::{Snarl, ui::SnarlWidget};
use host_core::{
    Capability,
    metrics::MetricsSnapshot,
    pipeline::{Pipeline, PipelineRun},
    project::Project,
};

use crate::{
    canvas::Viewer,
    graph::{self, GraphNode, History},
    worker::{Reply, Request, ServiceInfo, Target, Worker},
};

/// How the run console shows bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyView {
    Text,
    Hex,
    Json,
}

/// The grant dialog: what a service asks for and what the user decides.
#[derive(Debug)]
pub struct GrantDialog {
    project: Box<Project>,
    service: String,
    component: String,
    rows: Vec<GrantRow>,
    problem: Option<String>,
}

#[derive(Debug)]
struct GrantRow {
    requested: Capability,
    /// Editable: a narrower scope may be granted.
    scope: String,
    allow: bool,
}

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
    worker: Worker,
    opening: Option<PathBuf>,
    project: Option<Box<Project>>,
    services: BTreeMap<String, ServiceInfo>,
    pipeline: String,
    snarl: Snarl<GraphNode>,
    history: History,
    /// The graph differs from the saved file.
    dirty: bool,
    metrics: MetricsSnapshot,
    previous: Option<(Instant, MetricsSnapshot)>,
    rates: BTreeMap<String, f64>,
    metrics_asked: Option<Instant>,
    input: String,
    running: bool,
    run: Option<Result<PipelineRun, String>>,
    body_view: BodyView,
    /// The last problem or notice, shown in the status bar.
    notice: Option<(String, bool)>,
    grants: Option<GrantDialog>,
    /// The shortcuts window is open.
    help: bool,
    /// The window was asked to close with unsaved changes.
    confirm_close: bool,
    /// The target in use, and the remote form's fields.
    target: Target,
    remote_url: String,
    remote_token_file: String,
}

const BAD: Color32 = Color32::from_rgb(220, 80, 60);

impl Studio {
    /// A studio; `wake` asks the window to repaint (an answer arrived).
    pub fn new(wake: impl Fn() + Send + 'static, project: Option<PathBuf>) -> Self {
        Self::with_cache_dir(wake, project, None)
    }

    /// A studio compiling into `cache_dir` (tests keep it in a temporary folder).
    pub fn with_cache_dir(
        wake: impl Fn() + Send + 'static,
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
            metrics_asked: None,
            input: String::new(),
            running: false,
            run: None,
            body_view: BodyView::Text,
            notice: None,
            grants: None,
            help: false,
            confirm_close: false,
            target: Target::Embedded,
            remote_url: "http://127.0.0.1:7411".to_string(),
            remote_token_file: String::new(),
        };
        if let Some(dir) = project {
            studio.open(dir);
        }
        studio
    }

    /// Opens a project folder (on the runtime thread).
    pub fn open(&mut self, dir: PathBuf) {
        self.opening = Some(dir.clone());
        self.notice = None;
        self.worker.send(Request::Open(dir));
    }

    /// Deploys and runs on `target` from now on; the open project is
    /// applied there (one code path for the embedded runtime and a server).
    pub fn connect(&mut self, target: Target) {
        let project = self.project.as_ref().map(|p| p.dir.clone()).or_else(|| self.opening.clone());
        self.opening = project.clone();
        self.project = None;
        self.target = target.clone();
        self.notice = None;
        self.worker.send(Request::Connect { target, project });
    }

    /// The target in use.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The open grant dialog, if a service waits for the user's decision.
    pub fn grant_dialog(&self) -> Option<&GrantDialog> {
        self.grants.as_ref()
    }

    /// Whether the runtime thread is still working on something.
    pub fn busy(&self) -> bool {
        self.worker.pending > 0
    }

    /// The last run's outcome.
    pub fn last_run(&self) -> Option<&Result<PipelineRun, String>> {
        self.run.as_ref()
    }

    /// The run console's input.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The pipeline on the canvas.
    pub fn current_pipeline(&self) -> Pipeline {
        graph::from_snarl(&self.pipeline, &self.snarl)
    }

    /// Takes the runtime thread's answers; asks for metrics every second.
    pub fn poll(&mut self) {
        while let Some(reply) = self.worker.poll() {
            match reply {
                Reply::Opened { project, services } => {
                    self.opening = None;
                    self.services = services;
                    let name = project
                        .file
                        .default_pipeline
                        .clone()
                        .or_else(|| project.file.pipelines.keys().next().cloned())
                        .unwrap_or_else(|| "main".to_string());
                    self.project = Some(project);
                    self.load_pipeline(&name);
                }
                Reply::NeedsGrants { project, service, component, missing } => {
                    let rows = missing
                        .into_iter()
                        .map(|requested| GrantRow {
                            scope: suggested_scope(&requested, &project.dir),
                            requested,
                            allow: false,
                        })
                        .collect();
                    self.grants = Some(GrantDialog { project, service, component, rows, problem: None });
                }
                Reply::OpenFailed { dir, message } => {
                    self.opening = None;
                    self.notice = Some((format!("cannot open {}: {message}", dir.display()), true));
                }
                Reply::Connected => {}
                Reply::Ran(outcome) => {
                    self.running = false;
                    self.run = Some(outcome);
                }
                Reply::Metrics(snapshot) => self.take_metrics(snapshot),
            }
        }
        let due = self.metrics_asked.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        if self.project.is_some() && due {
            self.metrics_asked = Some(Instant::now());
            self.worker.send(Request::Metrics);
        }
    }

    fn take_metrics(&mut self, snapshot: MetricsSnapshot) {
        let now = Instant::now();
        if let Some((at, before)) = &self.previous {
            let seconds = now.duration_since(*at).as_secs_f64().max(0.001);
            let calls = |m: &MetricsSnapshot, s: &str| {
                m.service(s).map_or(0, |s| s.versions.iter().map(|v| v.calls).sum::<u64>())
            };
            self.rates = snapshot
                .services
                .iter()
                .map(|s| {
                    let delta = calls(&snapshot, &s.service).saturating_sub(calls(before, &s.service));
                    (s.service.clone(), delta as f64 / seconds)
                })
                .collect();
        }
        self.previous = Some((now, snapshot.clone()));
        self.metrics = snapshot;
    }

    fn load_pipeline(&mut self, name: &str) {
        let Some(project) = &self.project else { return };
        let pipeline = project.pipeline(name).unwrap_or_else(|_| Pipeline::new(name));
        let services = &self.services;
        self.snarl = graph::to_snarl(&pipeline, |s| services.get(s).map(ServiceInfo::contract));
        self.pipeline = name.to_string();
        self.history = History::default();
        self.dirty = false;
        self.run = None;
    }

    fn set_graph(&mut self, pipeline: &Pipeline) {
        let services = &self.services;
        self.snarl = graph::to_snarl(pipeline, |s| services.get(s).map(ServiceInfo::contract));
        self.dirty = true;
    }

    /// Adds a node calling `service` to the canvas.
    pub fn add_node(&mut self, service: &str) {
        let before = self.current_pipeline();
        let id = graph::fresh_id(&self.snarl, service);
        let contract = self.services.get(service).map(ServiceInfo::contract);
        let at = egui::pos2(60.0 + 30.0 * self.snarl.nodes().count() as f32, 60.0);
        let node =
            GraphNode { id, service: service.to_string(), on_error: Default::default(), ports: Vec::new(), contract };
        self.snarl.insert_node(at, node);
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
        self.run = None;
        self.worker.send(Request::Run { pipeline: self.current_pipeline(), input: self.input.clone().into_bytes() });
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
            Err(e) => self.notice = Some((e.to_string(), true)),
        }
    }

    fn pick_folder(&mut self) {
        if let Some(dir) = rfd::FileDialog::new().set_title("Open a project folder").pick_folder() {
            self.open(dir);
        }
    }

    fn shortcuts(&mut self, ui: &egui::Ui) {
        let (redo, undo, save, help) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z),
                i.consume_key(Modifiers::COMMAND, Key::Z),
                i.consume_key(Modifiers::COMMAND, Key::S),
                i.consume_key(Modifiers::NONE, Key::F1),
            )
        });
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
    }

    /// Draws the whole window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        if self.project.is_some() {
            // Live figures: come back for the next metrics snapshot.
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
        self.shortcuts(ui);
        self.close_guard(ui);
        self.help_window(ui);
        self.grant_dialog_ui(ui);
        self.toolbar(ui);
        self.target_bar(ui);
        self.status_bar(ui);
        if self.project.is_some() {
            self.palette(ui);
            self.console(ui);
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
                ui.centered_and_justified(|ui| {
                    ui.label("Open a project folder to edit its pipelines (Open project…).");
                });
                return;
            }
            self.canvas(ui);
        });
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
            self.worker.send(Request::Decide { project: dialog.project, service: dialog.service, decisions });
        }
    }

    /// Closing with unsaved changes asks first.
    fn close_guard(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) && self.dirty && !self.confirm_close {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
        if !self.confirm_close {
            return;
        }
        let mut choice = None;
        egui::Modal::new(egui::Id::new("unsaved")).show(&ctx, |ui| {
            ui.heading("Unsaved changes");
            ui.label(format!("The pipeline `{}` has changes that are not in project.ron.", self.pipeline));
            ui.horizontal(|ui| {
                if ui.button("Save and quit").clicked() {
                    choice = Some("save");
                }
                if ui.button("Quit without saving").clicked() {
                    choice = Some("discard");
                }
                if ui.button("Cancel").clicked() {
                    choice = Some("cancel");
                }
            });
        });
        match choice {
            Some("save") => {
                self.save();
                if !self.dirty {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
                self.confirm_close = false;
            }
            Some("discard") => {
                self.dirty = false;
                self.confirm_close = false;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Some(_) => self.confirm_close = false,
            None => {}
        }
    }

    fn help_window(&mut self, ui: &mut egui::Ui) {
        let mut open = self.help;
        egui::Window::new("Keyboard shortcuts").open(&mut open).resizable(false).show(ui.ctx(), |ui| {
            egui::Grid::new("shortcuts").num_columns(2).spacing([24.0, 4.0]).show(ui, |ui| {
                for (keys, what) in [
                    ("Ctrl+S", "save the pipeline into project.ron"),
                    ("Ctrl+Z", "undo the last graph edit"),
                    ("Ctrl+Shift+Z", "redo"),
                    ("F1", "show or hide this window"),
                    ("drag a pin to a pin", "wire two nodes (refused when media types do not match)"),
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
                    ui.label(RichText::new(format!("connected to {url}")).color(Color32::from_rgb(70, 180, 90)));
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
                let has_project = self.project.is_some();
                if ui
                    .add_enabled(has_project && self.dirty, egui::Button::new("Save"))
                    .on_hover_text("Ctrl+S")
                    .clicked()
                {
                    self.save();
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
                        ui.label(RichText::new("unsaved changes").color(Color32::from_rgb(230, 170, 40)));
                    }
                    if chosen != self.pipeline {
                        self.load_pipeline(&chosen);
                    }
                }
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                if self.busy() && self.opening.is_none() && self.running {
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
        egui::Panel::left("palette").resizable(true).default_size(240.0).show(ui, |ui| {
            ui.heading("Services");
            ui.label(RichText::new("Add one to the canvas as a node.").weak());
            egui::ScrollArea::vertical().show(ui, |ui| {
                for (name, info) in &self.services {
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.label(RichText::new(name).strong());
                        ui.label(RichText::new(crate::canvas::short_version(&info.version)).monospace().small())
                            .on_hover_text(&info.version);
                        let m = &info.description.metadata;
                        ui.label(RichText::new(&m.description).small());
                        ui.label(
                            RichText::new(format!("{} -> {}", m.accepts.join(", "), m.produces.join(", ")))
                                .small()
                                .weak(),
                        );
                        if ui.button(format!("Add {name}")).clicked() {
                            add = Some(name.clone());
                        }
                    });
                }
            });
        });
        if let Some(service) = add {
            self.add_node(&service);
        }
    }

    fn canvas(&mut self, ui: &mut egui::Ui) {
        let before = self.current_pipeline();
        let mut viewer = Viewer {
            services: &self.services,
            metrics: &self.metrics,
            pipeline: &self.pipeline,
            rates: &self.rates,
            refused: None,
        };
        SnarlWidget::new().id(egui::Id::new("pipeline-canvas")).show(&mut self.snarl, &mut viewer, ui);
        if let Some(reason) = viewer.refused.take() {
            self.notice = Some((format!("wire refused: {reason}"), true));
        }
        let after = self.current_pipeline();
        if !graph::same_structure(&before, &after) {
            self.history.push(before);
            self.dirty = true;
        } else if before != after {
            self.dirty = true; // moved nodes
        }
    }

    fn console(&mut self, ui: &mut egui::Ui) {
        let mut run = false;
        egui::Panel::bottom("console").resizable(true).default_size(220.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Run console");
                ui.label(RichText::new(format!("pipeline `{}`", self.pipeline)).weak());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.selectable_value(&mut self.body_view, BodyView::Json, "JSON");
                    ui.selectable_value(&mut self.body_view, BodyView::Hex, "Hex");
                    ui.selectable_value(&mut self.body_view, BodyView::Text, "Text");
                });
            });
            ui.horizontal(|ui| {
                let label = ui.label("Input");
                ui.add(
                    egui::TextEdit::multiline(&mut self.input)
                        .desired_rows(2)
                        .hint_text("the message the pipeline's first nodes receive")
                        .desired_width(ui.available_width() - 80.0),
                )
                .labelled_by(label.id);
                if ui.add_enabled(!self.running, egui::Button::new("Run")).clicked() {
                    run = true;
                }
                if self.running {
                    ui.spinner();
                }
            });
            egui::ScrollArea::vertical().show(ui, |ui| match &self.run {
                None => {}
                Some(Err(message)) => {
                    ui.colored_label(BAD, message);
                }
                Some(Ok(outcome)) => {
                    ui.label(RichText::new("Results").strong());
                    for output in &outcome.results {
                        ui.label(format!("{}: {}", output.node, render(&output.data, self.body_view)));
                    }
                    if outcome.results.is_empty() {
                        ui.label(RichText::new("no results (every message was dropped)").weak());
                    }
                    ui.collapsing("Each node's output", |ui| {
                        for output in &outcome.trace {
                            ui.label(format!(
                                "{}.{}: {}",
                                output.node,
                                output.port,
                                render(&output.data, self.body_view)
                            ));
                        }
                    });
                    for (node, error) in &outcome.handled_errors {
                        ui.colored_label(BAD, format!("{node}: {error}"));
                    }
                }
            });
        });
        if run {
            self.run_pipeline();
        }
    }
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
}
