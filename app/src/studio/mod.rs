//! The studio window: [`Studio`] holds the state and the runtime thread's
//! handle, and runs each frame as take the answers (`replies`), draw
//! (`views`), carry out what the user asked (`apply`). It owns the order of
//! those steps and the read-only accessors the tests and benchmarks use;
//! the rules live in `state`, the drawing in `views`, the runtime calls in
//! `worker`.

mod apply;
mod replies;

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    path::PathBuf,
};

use host_core::{
    deploy::RolloutEvent,
    events::LogLine,
    fleet::FleetStatus,
    pipeline::{Pipeline, PipelineRun},
    project::Project,
    registry::ComponentRef,
    security::audit::AuditRecord,
};

use crate::{
    action::Action,
    state::State,
    views::{self, Frame, canvas::Canvas},
    worker::{RegistryEntry, ServiceInfo, Target, Worker},
};
pub use crate::{
    action::PaletteItem,
    state::{
        live::Sample,
        session::GrantDialog,
        settings::{BodyView, Settings, Tab},
    },
};

/// The application.
#[derive(Debug)]
pub struct Studio {
    state: State,
    worker: Worker,
}

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
        let mut studio = Studio { state: State::default(), worker: Worker::start(wake, cache_dir) };
        if let Some(dir) = project {
            studio.dispatch(Action::Open(dir));
        }
        studio
    }

    /// Carries out one action (`apply`, the one place that does).
    fn dispatch(&mut self, action: Action) {
        apply::apply(&mut self.state, &mut self.worker, action);
    }

    /// Takes remembered settings (recent projects, theme, remote form, tab).
    pub fn restore(&mut self, settings: Settings) {
        self.state.view.apply_theme = settings.dark.is_some();
        self.state.settings = settings.completed();
    }

    /// What to remember for the next run.
    pub fn settings(&self) -> Settings {
        self.state.settings.clone()
    }

    /// Takes the runtime thread's answers (and, with "Send traffic" on,
    /// runs the pipeline again once the last run answered).
    pub fn poll(&mut self) {
        while let Some(reply) = self.worker.poll() {
            let mut then = Vec::new();
            replies::on_reply(&mut self.state, reply, &mut then);
            for action in then {
                self.dispatch(action);
            }
        }
        let session = &self.state.session;
        if session.traffic && !session.running && self.state.doc.project.is_some() {
            self.run_pipeline();
        }
    }

    /// Draws the whole window, then carries out what the user asked.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let mut actions = Vec::new();
        let current = self.state.doc.current_pipeline();
        let changed = self.state.doc.changed_since_deploy(&current);
        let State { doc, live, session, settings, view } = &mut self.state;
        let frame = Frame { doc, live, session, changed: &changed };
        views::panels(ui, &frame, settings, view, &mut actions);
        let canvas = doc.project.as_deref().map(|project| Canvas {
            project,
            pipeline: &doc.pipeline,
            before: &current,
            changed: &changed,
            live,
        });
        views::center(ui, &mut doc.graph, canvas, session, settings, view, &mut actions);
        for action in actions {
            self.dispatch(action);
        }
    }

    // What the user can do, as the window's widgets do it.

    /// Opens a project folder (on the runtime thread).
    pub fn open(&mut self, dir: PathBuf) {
        self.dispatch(Action::Open(dir));
    }

    /// Opens `dir`, asking first when the open project has unsaved changes.
    pub fn open_asking(&mut self, dir: PathBuf) {
        self.dispatch(Action::OpenAsking(dir));
    }

    /// Deploys and runs on `target` from now on; the open project is
    /// applied there (one code path for the embedded runtime and a server).
    /// The canvas, with its unsaved edits, stays.
    pub fn connect(&mut self, target: Target) {
        self.dispatch(Action::Connect(target));
    }

    /// Adds a node calling `service` next to the others.
    pub fn add_node(&mut self, service: &str) {
        self.dispatch(Action::AddNode { item: PaletteItem::Service(service.to_string()), at: None });
    }

    /// Adds a registry component to the canvas (at `at`, graph
    /// coordinates): it becomes a service of the project (named after the
    /// component), deployed with the next Deploy. One undo step.
    pub fn add_component_node(&mut self, reference: &ComponentRef, at: Option<egui::Pos2>) {
        self.dispatch(Action::AddNode { item: PaletteItem::Component(reference.clone()), at });
    }

    /// Adds what was dropped from the palette.
    pub fn drop_item(&mut self, item: &PaletteItem, at: Option<egui::Pos2>) {
        self.dispatch(Action::AddNode { item: item.clone(), at });
    }

    /// What the canvas reports when the user drops a wire the wiring rule
    /// refuses: the status bar says why until the next edit.
    pub fn refuse_wire(&mut self, reason: &str) {
        self.dispatch(Action::WireRefused(reason.to_string()));
    }

    /// Deletes the nodes selected on the canvas (one undo step).
    pub fn delete_selected(&mut self) {
        let selected = self.state.view.canvas.selected.clone();
        self.dispatch(Action::DeleteNodes(selected));
    }

    /// Undoes the last edit of the project (graph, services, configuration,
    /// limits, error policies).
    pub fn undo(&mut self) {
        self.dispatch(Action::Undo);
    }

    /// Redoes the last undone edit.
    pub fn redo(&mut self) {
        self.dispatch(Action::Redo);
    }

    /// Runs the pipeline on the canvas with the console's input.
    pub fn run_pipeline(&mut self) {
        let input = self.state.view.input.clone();
        self.dispatch(Action::Run { input });
    }

    /// Deploys the project's changed services with the strategy of the
    /// deploy tab, on the current target.
    pub fn deploy(&mut self) {
        let form = self.state.view.deploy_form.clone();
        self.dispatch(Action::Deploy(form));
    }

    /// Rolls `service` back to the version it ran before.
    pub fn rollback(&mut self, service: &str) {
        self.dispatch(Action::Rollback(service.to_string()));
    }

    /// Asks for the registry, audit log and rollouts again.
    pub fn refresh(&mut self) {
        self.dispatch(Action::Refresh);
    }

    /// Stores a `.wasm` file in the registry (what dropping it on the
    /// window does).
    pub fn add_file(&mut self, path: PathBuf) {
        self.dispatch(Action::AddFile(path));
    }

    /// Writes the canvas back into `project.ron` (on the runtime thread;
    /// the document stays unsaved until it answers).
    pub fn save(&mut self) {
        self.dispatch(Action::Save);
    }

    /// Writes the project into another folder (with its component files)
    /// and opens it there.
    pub fn save_as(&mut self, dir: PathBuf) {
        self.dispatch(Action::SaveAs(dir));
    }

    /// Reads a file into the run console's input (on the runtime thread;
    /// what "Load input…" does with the file picked).
    pub fn load_input(&mut self, path: PathBuf) {
        self.dispatch(Action::LoadInput(path));
    }

    /// Sets the run console's input.
    pub fn set_input(&mut self, input: &str) {
        self.state.view.input = input.to_string();
    }

    /// Shows another tab under the canvas.
    pub fn set_tab(&mut self, tab: Tab) {
        self.state.settings.tab = Some(tab);
    }

    // What the window shows, for tests and benchmarks.

    /// The target in use.
    pub fn target(&self) -> &Target {
        &self.state.session.target
    }

    /// The tab shown under the canvas.
    pub fn tab(&self) -> Tab {
        self.state.settings.tab()
    }

    /// The live plots' samples of a service, oldest first.
    pub fn metrics_series(&self, service: &str) -> Option<Vec<Sample>> {
        self.state.live.series.get(service).map(|s| s.samples())
    }

    /// The open project.
    pub fn project(&self) -> Option<&Project> {
        self.state.doc.project.as_deref()
    }

    /// The open grant dialog, if a service waits for the user's decision.
    pub fn grant_dialog(&self) -> Option<&GrantDialog> {
        self.state.session.grant.as_ref()
    }

    /// Whether the runtime thread is still working on something.
    pub fn busy(&self) -> bool {
        self.worker.pending > 0
    }

    /// Whether the project has changes not saved to project.ron.
    pub fn is_dirty(&self) -> bool {
        self.state.doc.is_dirty()
    }

    /// Whether a deploy or rollback is under way.
    pub fn deploying(&self) -> bool {
        self.state.session.deploying
    }

    /// The last run's outcome.
    pub fn last_run(&self) -> Option<&Result<PipelineRun, String>> {
        self.state.session.run.as_ref()
    }

    /// The run console's input.
    pub fn input(&self) -> &str {
        &self.state.view.input
    }

    /// Whether a run is under way.
    pub fn running(&self) -> bool {
        self.state.session.running
    }

    /// The services deployed, as last described.
    pub fn services(&self) -> &BTreeMap<String, ServiceInfo> {
        &self.state.live.services
    }

    /// The registry as last listed.
    pub fn registry(&self) -> &[RegistryEntry] {
        &self.state.live.registry
    }

    /// Guest log lines received.
    pub fn logs(&self) -> &VecDeque<LogLine> {
        &self.state.live.logs
    }

    /// Audit records as last listed.
    pub fn audit(&self) -> &[AuditRecord] {
        &self.state.live.audit
    }

    /// The fleet's nodes as last read (the target is a fleet).
    pub fn fleet(&self) -> Option<&FleetStatus> {
        self.state.live.fleet.as_ref()
    }

    /// Rollout progress received.
    pub fn rollout_events(&self) -> &[RolloutEvent] {
        &self.state.live.rollout_events
    }

    /// Errors of deploys, rollbacks, additions and saves.
    pub fn errors(&self) -> &[String] {
        &self.state.session.errors
    }

    /// The pipeline on the canvas.
    pub fn current_pipeline(&self) -> Pipeline {
        self.state.doc.current_pipeline()
    }

    /// Nodes of the canvas changed since the last deploy.
    pub fn changed_since_deploy(&self) -> BTreeSet<String> {
        self.state.doc.changed_since_deploy(&self.current_pipeline())
    }

    /// Where the node `id` is on the screen (as last drawn).
    pub fn node_screen_rect(&self, id: &str) -> Option<egui::Rect> {
        self.state.view.canvas.screen_rect(self.state.doc.node_id(id)?)
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
