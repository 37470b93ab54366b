//! The tabs under the canvas (run console, deploy, metrics, logs, audit)
//! and the inspector of the selected node. They draw the studio's state and
//! turn clicks into requests; nothing here talks to a runtime.

use std::collections::{BTreeMap, VecDeque};

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use host_core::{
    deploy::{RolloutEvent, RolloutOutcome, Strategy},
    metrics::ServiceMetrics,
    pipeline::ErrorPolicy,
    security,
    types::LogLevel,
};

use crate::studio::{BAD, BodyView, GOOD, Studio, Tab, WARN, render};

/// A service's color in the plots, by its place in the list.
const SERIES_COLORS: [egui::Color32; 6] = [
    egui::Color32::from_rgb(90, 170, 250),
    egui::Color32::from_rgb(240, 150, 60),
    egui::Color32::from_rgb(110, 200, 120),
    egui::Color32::from_rgb(230, 100, 160),
    egui::Color32::from_rgb(190, 160, 250),
    egui::Color32::from_rgb(230, 210, 90),
];

/// Live plots keep this many samples per service (one a second).
const SAMPLES: usize = 300;

/// One metrics sample of a service.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the studio started.
    pub t: f64,
    pub calls_per_s: f64,
    /// Latency quantiles over all calls so far (ms).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors_per_s: f64,
    /// Highest memory of any instance (MiB).
    pub memory_mib: f64,
}

/// A service's samples, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Series(VecDeque<Sample>);

impl Series {
    pub(crate) fn push(&mut self, sample: Sample) {
        self.0.push_back(sample);
        while self.0.len() > SAMPLES {
            self.0.pop_front();
        }
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.0.iter().copied().collect()
    }

    fn points(&self, value: impl Fn(&Sample) -> f64) -> PlotPoints<'static> {
        PlotPoints::new(self.0.iter().map(|s| [s.t, value(s)]).collect())
    }
}

/// Reads one figure of a sample.
type Measure = fn(&Sample) -> f64;

/// The sample of `now` against the snapshot `seconds` earlier.
pub fn sample(t: f64, seconds: f64, now: &ServiceMetrics, before: Option<&ServiceMetrics>) -> Sample {
    let sum = |m: Option<&ServiceMetrics>, f: fn(&host_core::metrics::VersionMetrics) -> u64| {
        m.map_or(0, |m| m.versions.iter().map(f).sum::<u64>())
    };
    let calls = sum(Some(now), |v| v.calls).saturating_sub(sum(before, |v| v.calls));
    let errors = sum(Some(now), |v| v.errors).saturating_sub(sum(before, |v| v.errors));
    // The version serving most calls speaks for the service's latency.
    let busiest = now.versions.iter().max_by_key(|v| v.calls);
    let ms = |us: u64| us as f64 / 1000.0;
    Sample {
        t,
        calls_per_s: calls as f64 / seconds,
        p50_ms: busiest.map_or(0.0, |v| ms(v.latency.p50_us)),
        p99_ms: busiest.map_or(0.0, |v| ms(v.latency.p99_us)),
        errors_per_s: errors as f64 / seconds,
        memory_mib: now.versions.iter().map(|v| v.memory_high_water_bytes).max().unwrap_or(0) as f64
            / (1024.0 * 1024.0),
    }
}

/// The strategy choice of the deploy tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    Immediate,
    BlueGreen,
    Canary,
    Rolling,
}

/// The deploy tab's form.
#[derive(Debug, Clone)]
pub struct DeployForm {
    pub kind: StrategyKind,
    pub keep_old_s: u64,
    /// Canary weights, `10,25,50,100`.
    pub steps: String,
    pub interval_ms: u64,
    pub min_calls: u64,
    /// Largest allowed error-rate increase, percent.
    pub max_error_increase_pct: f64,
    pub batch: usize,
}

impl Default for DeployForm {
    fn default() -> Self {
        DeployForm {
            kind: StrategyKind::Immediate,
            keep_old_s: 30,
            steps: "10,25,50,100".into(),
            interval_ms: 2_000,
            min_calls: 20,
            max_error_increase_pct: 5.0,
            batch: 1,
        }
    }
}

impl DeployForm {
    /// The strategy the form describes, checked by host-core.
    pub fn strategy(&self) -> Result<Strategy, String> {
        let strategy = match self.kind {
            StrategyKind::Immediate => Strategy::Immediate,
            StrategyKind::BlueGreen => Strategy::BlueGreen { keep_old_ms: self.keep_old_s * 1000 },
            StrategyKind::Canary => {
                let steps = self
                    .steps
                    .split(',')
                    .map(|s| s.trim().parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("canary steps `{}` are not numbers like 10,25,50,100", self.steps))?;
                Strategy::Canary {
                    steps,
                    interval_ms: self.interval_ms,
                    min_calls: self.min_calls,
                    max_error_increase: self.max_error_increase_pct / 100.0,
                }
            }
            StrategyKind::Rolling => Strategy::Rolling { batch: self.batch },
        };
        strategy.validate().map_err(|e| e.to_string())?;
        Ok(strategy)
    }
}

/// `HH:MM:SS` (UTC) of milliseconds since the Unix epoch.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// What a rollout looks like now, from its events.
#[derive(Debug, Clone, Default)]
struct Progress {
    title: String,
    weight: Option<f64>,
    health: Option<String>,
    outcome: Option<RolloutOutcome>,
}

fn progress(events: &[RolloutEvent]) -> Vec<Progress> {
    let mut by_id: BTreeMap<String, (usize, Progress)> = BTreeMap::new();
    for (order, event) in events.iter().enumerate() {
        match event {
            RolloutEvent::Started { service, id, from, to, strategy } => {
                let from = from.as_ref().map_or("nothing".to_string(), ToString::to_string);
                let title = format!("{service}: {from} -> {to} ({strategy})");
                by_id.insert(id.clone(), (order, Progress { title, ..Progress::default() }));
            }
            RolloutEvent::Health { id, health, version, .. } => {
                if let Some((_, p)) = by_id.get_mut(id) {
                    p.health = Some(format!("{version}: {health:?}"));
                }
            }
            RolloutEvent::Step { id, step, .. } => {
                if let Some((_, p)) = by_id.get_mut(id) {
                    p.weight = Some(step.new_weight_percent);
                }
            }
            RolloutEvent::Finished { id, outcome, .. } => {
                if let Some((_, p)) = by_id.get_mut(id) {
                    p.outcome = Some(outcome.clone());
                }
            }
        }
    }
    let mut list: Vec<(usize, Progress)> = by_id.into_values().collect();
    list.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
    list.into_iter().map(|(_, p)| p).collect()
}

impl Studio {
    /// The tabbed panel under the canvas.
    pub(crate) fn tabs(&mut self, ui: &mut Ui) {
        egui::Panel::bottom("tabs").resizable(true).default_size(300.0).min_size(230.0).show(ui, |ui| {
            ui.horizontal(|ui| {
                for (tab, name) in [
                    (Tab::Console, "Run console"),
                    (Tab::Deploy, "Deployment"),
                    (Tab::Metrics, "Metrics"),
                    (Tab::Logs, "Logs"),
                    (Tab::Audit, "Audit"),
                ] {
                    if ui.selectable_label(self.tab == tab, name).clicked() {
                        if tab == Tab::Audit {
                            self.refresh();
                        }
                        self.tab = tab;
                    }
                }
                if self.deploying {
                    ui.spinner();
                }
            });
            ui.separator();
            match self.tab {
                Tab::Console => self.console_tab(ui),
                Tab::Deploy => self.deploy_tab(ui),
                Tab::Metrics => self.metrics_tab(ui),
                Tab::Logs => self.logs_tab(ui),
                Tab::Audit => self.audit_tab(ui),
            }
        });
    }

    fn console_tab(&mut self, ui: &mut Ui) {
        let mut run = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("pipeline `{}`", self.pipeline)).weak());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.selectable_value(&mut self.body_view, BodyView::Json, "JSON");
                ui.selectable_value(&mut self.body_view, BodyView::Hex, "Hex");
                ui.selectable_value(&mut self.body_view, BodyView::Text, "Text");
                if ui.button("Load input…").clicked()
                    && let Some(path) = rfd::FileDialog::new().set_title("Load an input").pick_file()
                {
                    match std::fs::read(&path) {
                        Ok(bytes) => self.input = String::from_utf8_lossy(&bytes).into_owned(),
                        Err(e) => self.notice = Some((format!("cannot read {}: {e}", path.display()), true)),
                    }
                }
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
        egui::ScrollArea::vertical().id_salt("console").show(ui, |ui| match &self.run {
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
                        ui.label(format!("{}.{}: {}", output.node, output.port, render(&output.data, self.body_view)));
                    }
                });
                for (node, error) in &outcome.handled_errors {
                    ui.colored_label(BAD, format!("{node}: {error}"));
                }
            }
        });
        if run {
            self.run_pipeline();
        }
    }

    fn deploy_tab(&mut self, ui: &mut Ui) {
        let mut deploy = false;
        let mut rollback = None;
        ui.horizontal(|ui| {
            ui.label("Strategy");
            let form = &mut self.deploy_form;
            for (kind, name) in [
                (StrategyKind::Immediate, "Immediate"),
                (StrategyKind::BlueGreen, "Blue-green"),
                (StrategyKind::Canary, "Canary"),
                (StrategyKind::Rolling, "Rolling"),
            ] {
                ui.selectable_value(&mut form.kind, kind, name);
            }
            ui.separator();
            match form.kind {
                StrategyKind::Immediate => {
                    ui.label(RichText::new("swap at once; in-flight calls finish on the old version").weak());
                }
                StrategyKind::BlueGreen => {
                    let l = ui.label("keep old pool (s)");
                    ui.add(egui::DragValue::new(&mut form.keep_old_s).range(0..=3600)).labelled_by(l.id);
                }
                StrategyKind::Canary => {
                    let l = ui.label("weights %");
                    ui.add(egui::TextEdit::singleline(&mut form.steps).desired_width(110.0)).labelled_by(l.id);
                    let l = ui.label("step (ms)");
                    ui.add(egui::DragValue::new(&mut form.interval_ms).range(100..=600_000)).labelled_by(l.id);
                    let l = ui.label("min calls");
                    ui.add(egui::DragValue::new(&mut form.min_calls).range(0..=100_000)).labelled_by(l.id);
                    let l = ui.label("max error increase %");
                    ui.add(egui::DragValue::new(&mut form.max_error_increase_pct).range(0.0..=100.0)).labelled_by(l.id);
                }
                StrategyKind::Rolling => {
                    let l = ui.label("batch");
                    ui.add(egui::DragValue::new(&mut form.batch).range(1..=64)).labelled_by(l.id);
                }
            }
        });
        ui.horizontal(|ui| {
            let target = match &self.target {
                crate::worker::Target::Embedded => "the embedded runtime".to_string(),
                crate::worker::Target::Remote { url, .. } => url.clone(),
            };
            if ui
                .add_enabled(!self.deploying, egui::Button::new(RichText::new("Deploy").strong()))
                .on_hover_text(format!("store and roll out every changed service on {target}"))
                .clicked()
            {
                deploy = true;
            }
            ui.label(RichText::new(format!("to {target}")).weak());
            ui.checkbox(&mut self.traffic, "Send traffic")
                .on_hover_text("run the pipeline on the console's input again and again (a canary needs calls)");
            let changed = self.changed_since_deploy().len();
            if changed > 0 {
                ui.label(RichText::new(format!("{changed} node(s) changed since the last deploy")).color(WARN));
            }
        });
        ui.separator();
        // One scroll area for the rest: the panel may be short.
        egui::ScrollArea::vertical().id_salt("deploy-body").auto_shrink([false, true]).show(ui, |ui| {
            ui.columns(2, |columns| {
                columns[0].label(RichText::new("Rollouts").strong());
                self.rollout_list(&mut columns[0]);
                columns[1].label(RichText::new("Services").strong());
                rollback = self.service_list(&mut columns[1]);
            });
        });
        if deploy {
            self.deploy();
        }
        if let Some(service) = rollback {
            self.rollback(&service);
        }
    }

    /// Each rollout of this session, newest first, with its progress.
    fn rollout_list(&self, ui: &mut Ui) {
        let list = progress(&self.rollout_events);
        if list.is_empty() {
            ui.label(RichText::new("No rollout in this session yet.").weak());
        }
        for p in list.iter().take(8) {
            ui.label(&p.title);
            let (fraction, text, color) = match &p.outcome {
                None => {
                    let w = p.weight.unwrap_or(0.0);
                    (w / 100.0, format!("in progress · new version at {w:.0} %"), WARN)
                }
                Some(RolloutOutcome::Succeeded) => (1.0, "succeeded".to_string(), GOOD),
                Some(RolloutOutcome::RolledBack(why)) => (0.0, format!("rolled back: {why}"), BAD),
                Some(RolloutOutcome::Failed(why)) => (0.0, format!("failed: {why}"), BAD),
            };
            ui.add(egui::ProgressBar::new(fraction as f32).text(RichText::new(text).color(color)));
            if let Some(health) = &p.health {
                ui.label(RichText::new(format!("health {health}")).small().weak());
            }
        }
        for error in self.errors.iter().rev().take(5) {
            ui.colored_label(BAD, error);
        }
    }

    /// The deployed services with their versions' weights; returns the
    /// service whose Roll back button was clicked.
    fn service_list(&self, ui: &mut Ui) -> Option<String> {
        let mut rollback = None;
        egui::Grid::new("deployed-services").striped(true).show(ui, |ui| {
            for (name, info) in &self.services {
                ui.label(name);
                let weights: Vec<String> = info
                    .status
                    .versions
                    .iter()
                    .map(|v| {
                        format!("{} {:.0} %", crate::canvas::short_version(&v.component.to_string()), v.weight_percent)
                    })
                    .collect();
                ui.label(RichText::new(weights.join(" · ")).monospace().small());
                let previous = info.status.spec.history.len() >= 2;
                if ui
                    .add_enabled(previous && !self.deploying, egui::Button::new(format!("Roll back {name}")))
                    .on_disabled_hover_text("no earlier version to go back to")
                    .clicked()
                {
                    rollback = Some(name.clone());
                }
                ui.end_row();
            }
        });
        rollback
    }

    fn metrics_tab(&mut self, ui: &mut Ui) {
        ui.columns(5, |columns| {
            let ui = &mut columns[0];
            egui::Grid::new("metrics-table").striped(true).show(ui, |ui| {
                for h in ["service", "calls", "errors", "p99"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for s in &self.metrics.services {
                    let calls: u64 = s.versions.iter().map(|v| v.calls).sum();
                    let errors: u64 = s.versions.iter().map(|v| v.errors).sum();
                    let p99 = s.versions.iter().map(|v| v.latency.p99_us).max().unwrap_or(0);
                    ui.label(&s.service);
                    ui.label(calls.to_string());
                    ui.label(if errors > 0 { RichText::new(errors.to_string()).color(BAD) } else { "0".into() });
                    ui.label(format!("{:.2} ms", p99 as f64 / 1000.0));
                    ui.end_row();
                }
            });
            let plots: [(&str, &str, Measure, Option<Measure>); 4] = [
                ("calls/s", "calls-plot", |s| s.calls_per_s, None),
                ("latency p50 / p99 dashed (ms)", "latency-plot", |s| s.p50_ms, Some(|s| s.p99_ms)),
                ("errors/s", "errors-plot", |s| s.errors_per_s, None),
                ("memory high-water (MiB)", "memory-plot", |s| s.memory_mib, None),
            ];
            for (index, (column, (title, id, value, second))) in columns[1..].iter_mut().zip(plots).enumerate() {
                column.label(RichText::new(title).strong());
                let height = column.available_height().max(80.0);
                let mut plot = Plot::new(id).height(height).include_y(0.0).allow_scroll(false);
                if index == 0 {
                    // One legend: a service has the same color in every plot.
                    plot = plot.legend(Legend::default().position(egui_plot::Corner::LeftTop));
                }
                plot.show(column, |plot| {
                    for (n, (service, series)) in self.series.iter().enumerate() {
                        let color = SERIES_COLORS[n % SERIES_COLORS.len()];
                        let name = if second.is_some() { format!("{service} p50") } else { service.clone() };
                        plot.line(Line::new(name, series.points(value)).color(color));
                        if let Some(second) = second {
                            plot.line(
                                Line::new(format!("{service} p99"), series.points(second))
                                    .color(color)
                                    .style(egui_plot::LineStyle::dashed_loose()),
                            );
                        }
                    }
                });
            }
        });
    }

    fn logs_tab(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("Service");
            let shown = self.log_filter.clone().unwrap_or_else(|| "all".into());
            egui::ComboBox::from_id_salt("log-filter")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.log_filter, None, "all");
                    for name in self.services.keys() {
                        ui.selectable_value(&mut self.log_filter, Some(name.clone()), name);
                    }
                })
                .response
                .labelled_by(label.id);
            if ui.button("Clear").clicked() {
                self.logs.clear();
            }
            ui.label(RichText::new(format!("{} lines", self.logs.len())).weak());
        });
        // A service's lines are those of its component (registry or metadata name).
        let names: Option<Vec<String>> = self.log_filter.as_ref().map(|service| match self.services.get(service) {
            Some(s) => vec![s.status.spec.component.name.clone(), s.description.metadata.name.clone()],
            None => vec![service.clone()],
        });
        egui::ScrollArea::vertical().id_salt("logs").stick_to_bottom(true).show(ui, |ui| {
            for line in self.logs.iter().filter(|l| names.as_ref().is_none_or(|n| n.contains(&l.component))) {
                let color = match line.level {
                    LogLevel::Error => BAD,
                    LogLevel::Warn => WARN,
                    _ => ui.visuals().text_color(),
                };
                let fields: String = line.fields.iter().map(|(k, v)| format!(" {k}={v}")).collect();
                ui.label(
                    RichText::new(format!(
                        "{} {:5} {}: {}{fields}",
                        clock(line.time_ms),
                        line.level.name(),
                        line.component,
                        line.message
                    ))
                    .monospace()
                    .color(color),
                );
            }
        });
    }

    fn audit_tab(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            if ui.button("Refresh").clicked() {
                self.refresh();
            }
            ui.label(RichText::new(format!("{} records, newest first", self.audit.len())).weak());
        });
        egui::ScrollArea::vertical().id_salt("audit").show(ui, |ui| {
            egui::Grid::new("audit-grid").striped(true).show(ui, |ui| {
                for h in ["#", "time", "event", "service", "detail"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for record in self.audit.iter().rev() {
                    let b = &record.body;
                    ui.label(b.seq.to_string());
                    ui.label(clock(b.time_ms));
                    let color = if b.event.is_refusal() { BAD } else { ui.visuals().text_color() };
                    ui.label(RichText::new(b.event.as_str()).color(color));
                    ui.label(b.service.as_deref().unwrap_or("-"));
                    ui.label(RichText::new(b.detail.to_string()).monospace().small());
                    ui.end_row();
                }
            });
        });
    }

    /// The panel on the right: what the selected node runs and may do.
    pub(crate) fn inspector(&mut self, ui: &mut Ui) {
        egui::Panel::right("inspector").resizable(true).default_size(300.0).show(ui, |ui| {
            ui.heading("Inspector");
            egui::ScrollArea::vertical().id_salt("inspector").show(ui, |ui| self.inspector_body(ui));
        });
    }

    fn inspector_body(&mut self, ui: &mut Ui) {
        if self.selected.len() > 1 {
            ui.label(format!("{} nodes selected", self.selected.len()));
            if ui.button("Delete selected").clicked() {
                self.delete_selected();
            }
            return;
        }
        let Some(node) = self.selected_node().cloned() else {
            ui.label(RichText::new("Select a node on the canvas to inspect it.").weak());
            return;
        };
        ui.label(RichText::new(format!("node {}", node.id)).strong());
        ui.label(format!("service {}", node.service));
        let mut policy = node.on_error;
        ui.horizontal(|ui| {
            let label = ui.label("On error");
            egui::ComboBox::from_id_salt("on-error")
                .selected_text(format!("{policy:?}"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut policy, ErrorPolicy::Fail, "Fail").on_hover_text("the run fails");
                    ui.selectable_value(&mut policy, ErrorPolicy::Drop, "Drop").on_hover_text("drop the message");
                    ui.selectable_value(&mut policy, ErrorPolicy::Route, "Route")
                        .on_hover_text("send the error text out of the `error` port");
                })
                .response
                .labelled_by(label.id);
        });
        if policy != node.on_error {
            let before = self.current_pipeline();
            if let Some(id) = self.selected.first().copied()
                && let Some(n) = self.snarl.get_node_mut(id)
            {
                n.on_error = policy;
            }
            self.history.push(before);
            self.dirty = true;
        }
        ui.separator();
        let info = self.services.get(&node.service).cloned();
        match &info {
            None => {
                let planned = self.project.as_ref().and_then(|p| p.file.services.get(&node.service));
                match planned {
                    Some(entry) => ui.label(
                        RichText::new(format!("{} is not deployed yet: press Deploy.", entry.component)).color(WARN),
                    ),
                    None => ui.colored_label(BAD, format!("no service named `{}` in this project", node.service)),
                };
            }
            Some(info) => {
                let m = &info.description.metadata;
                ui.label(RichText::new("Component").strong());
                ui.label(RichText::new(&info.version).monospace());
                ui.label(RichText::new(format!("digest {}", info.status.spec.digest.short())).monospace().small());
                ui.label(&m.description);
                ui.label(format!("accepts {}", m.accepts.join(", ")));
                ui.label(format!("produces {}", m.produces.join(", ")));
                if m.stateful {
                    ui.label("keeps state between calls");
                }
            }
        }
        self.config_editor(ui, &node.service);
        self.limits_editor(ui, &node.service);
        if let Some(info) = info {
            ui.separator();
            ui.label(RichText::new("Capabilities").strong());
            let granted = &info.status.spec.grants;
            if info.description.required_capabilities.is_empty() {
                ui.label(RichText::new("requests none").weak());
            }
            for requested in &info.description.required_capabilities {
                let ok = granted.iter().any(|g| security::covers(g, requested));
                let (mark, color) = if ok { ("granted", GOOD) } else { ("not granted", BAD) };
                ui.horizontal(|ui| {
                    ui.label(RichText::new(requested.to_string()).monospace());
                    ui.label(RichText::new(mark).color(color));
                });
            }
            for grant in granted {
                ui.label(RichText::new(format!("grant {grant}")).monospace().small().weak());
            }
            ui.separator();
            ui.label(RichText::new("Versions").strong());
            let name = &info.status.spec.component.name;
            if let Some(entry) = self.registry.iter().find(|r| r.name == *name) {
                for v in entry.versions.iter().rev() {
                    let live = v.version == info.status.spec.component.version;
                    let text = format!("{} {}{}", v.version, v.digest.short(), if live { "  (live)" } else { "" });
                    ui.label(RichText::new(text).monospace().small());
                }
            }
            ui.label(RichText::new("Deploy history").small().strong());
            for d in info.status.spec.history.iter().rev().take(10) {
                ui.label(RichText::new(format!("{} {}", clock(d.at_ms), d.component)).monospace().small());
            }
            let previous = info.status.spec.history.len() >= 2;
            if ui.add_enabled(previous && !self.deploying, egui::Button::new("Roll back")).clicked() {
                self.rollback(&node.service);
            }
        }
    }

    /// The service's limits on every call (host-core's `ServiceLimits`),
    /// edited in the project (`limits` of its entry; deployed with the next
    /// Deploy). Shown are the project's, else the live service's.
    fn limits_editor(&mut self, ui: &mut Ui, service: &str) {
        if self.deploying {
            return;
        }
        let live = self.services.get(service).map(|info| info.status.spec.limits);
        let Some(entry) = self.project.as_mut().and_then(|p| p.file.services.get_mut(service)) else { return };
        let mut limits = entry.limits.or(live).unwrap_or_default();
        ui.label(RichText::new("Limits").strong());
        let mut changed = false;
        egui::Grid::new("limits").num_columns(2).show(ui, |ui| {
            let rows: [(&str, &mut u64, std::ops::RangeInclusive<u64>); 3] = [
                ("Timeout (ms)", &mut limits.timeout_ms, 1..=3_600_000),
                ("Memory (MiB)", &mut limits.max_memory_mib, 1..=4096),
                ("Table elements", &mut limits.max_table_elements, 1..=1 << 20),
            ];
            for (name, value, range) in rows {
                let label = ui.label(name);
                changed |= ui.add(egui::DragValue::new(value).range(range)).labelled_by(label.id).changed();
                ui.end_row();
            }
        });
        if changed {
            entry.limits = Some(limits);
            self.dirty = true;
        }
    }

    /// The service's configuration, edited in the project (deployed with
    /// the next Deploy).
    fn config_editor(&mut self, ui: &mut Ui, service: &str) {
        // Edits wait while a deploy runs: its answer replaces the services.
        if self.deploying {
            ui.separator();
            ui.label(RichText::new("Configuration can be edited when the deploy ends.").weak());
            return;
        }
        let Some(entry) = self.project.as_mut().and_then(|p| p.file.services.get_mut(service)) else { return };
        ui.separator();
        ui.label(RichText::new("Configuration").strong());
        let mut remove = None;
        let mut changed = false;
        egui::Grid::new("config").num_columns(3).show(ui, |ui| {
            for (key, value) in entry.config.iter_mut() {
                let label = ui.label(RichText::new(key).monospace());
                changed |=
                    ui.add(egui::TextEdit::singleline(value).desired_width(140.0)).labelled_by(label.id).changed();
                if ui.small_button("✕").on_hover_text(format!("remove {key}")).clicked() {
                    remove = Some(key.clone());
                }
                ui.end_row();
            }
        });
        let key_id = ui.id().with("new-config-key");
        let mut new_key: String = ui.data_mut(|d| d.get_temp(key_id).unwrap_or_default());
        ui.horizontal(|ui| {
            let label = ui.label("New key");
            ui.add(egui::TextEdit::singleline(&mut new_key).desired_width(120.0)).labelled_by(label.id);
            let key = new_key.trim().to_string();
            if ui
                .add_enabled(!key.is_empty() && !entry.config.contains_key(&key), egui::Button::new("Add key"))
                .clicked()
            {
                entry.config.insert(key, String::new());
                new_key.clear();
                changed = true;
            }
        });
        ui.data_mut(|d| d.insert_temp(key_id, new_key));
        if let Some(key) = remove {
            entry.config.remove(&key);
            changed = true;
        }
        if changed {
            self.dirty = true;
        }
        ui.label(RichText::new("Changes go live with the next Deploy.").small().weak());
    }
}
