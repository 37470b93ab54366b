//! The deployment tab: the strategy form (kinds, labels and defaults from
//! host-core's `StrategyKind` and `Strategy::defaults`; the form is the
//! view's own), Deploy with the traffic switch, this session's rollouts
//! with their live progress, what a Deploy would change (the project
//! against the target's live services, host-core's `diff::against_live`),
//! and the services with their versions' weights and Roll back; on a fleet, its nodes and what each runs. Deploys,
//! rollbacks and traffic are actions.

use egui::RichText;
use host_core::{
    deploy::{RolloutOutcome, StrategyKind},
    diff::{self, ChangeKind, ProjectDiff},
};

use crate::{
    action::Action,
    state::{
        document::Document,
        live::{Live, progress},
        session::Session,
        view::DeployForm,
    },
    views::{
        format::short_version,
        theme::{BAD, GOOD, WARN},
    },
    worker::Target,
};

/// What a Deploy would change: the project's services against the target's
/// live ones (`None` with no project). A component file the last deploy put
/// live counts as the version live (the studio reads no files on its
/// thread); any other component is shown as written.
pub fn changes(doc: &Document, live: &Live) -> Option<ProjectDiff> {
    let project = doc.project.as_ref()?;
    let specs: Vec<_> = live.services.values().map(|info| info.status.spec.clone()).collect();
    let resolve = |service: &str, entry: &host_core::project::ServiceEntry| match live.services.get(service) {
        Some(info) if doc.deployed.services.get(service).is_some_and(|d| d.component == entry.component) => {
            info.status.spec.component.to_string()
        }
        _ => entry.component.clone(),
    };
    Some(diff::against_live(&specs, &project.file, &resolve))
}

/// Draws the tab; `changed`: how many canvas nodes changed since the last
/// deploy; `changes`: what a Deploy would change.
#[allow(clippy::too_many_arguments)] // the tab reads the form, the session and the diff
pub fn show(
    ui: &mut egui::Ui,
    live: &Live,
    session: &Session,
    changed: usize,
    changes: Option<&ProjectDiff>,
    form: &mut DeployForm,
    out: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.label("Strategy");
        for kind in StrategyKind::ALL {
            ui.selectable_value(&mut form.kind, kind, kind.label());
        }
        ui.separator();
        parameters(ui, form);
    });
    ui.horizontal(|ui| {
        let target = session.target.describe();
        if ui
            .add_enabled(!session.deploying, egui::Button::new(RichText::new("Deploy").strong()))
            .on_hover_text(format!("store and roll out every changed service on {target}"))
            .clicked()
        {
            out.push(Action::Deploy(form.clone()));
        }
        ui.label(RichText::new(format!("to {target}")).weak());
        let mut traffic = session.traffic;
        if ui
            .checkbox(&mut traffic, "Send traffic")
            .on_hover_text("run the pipeline on the console's input again and again (a canary needs calls)")
            .changed()
        {
            out.push(Action::SetTraffic(traffic));
        }
        if changed > 0 {
            ui.label(RichText::new(format!("{changed} node(s) changed since the last deploy")).color(WARN));
        }
    });
    ui.separator();
    // One scroll area for the rest: the panel may be short.
    egui::ScrollArea::vertical().id_salt("deploy-body").auto_shrink([false, true]).show(ui, |ui| {
        if let Some(changes) = changes {
            changes_list(ui, changes);
            ui.separator();
        }
        ui.columns(2, |columns| {
            columns[0].label(RichText::new("Rollouts").strong());
            rollouts(&mut columns[0], live, session);
            columns[1].label(RichText::new("Services").strong());
            services(&mut columns[1], live, session, out);
            if matches!(session.target, Target::Fleet { .. }) {
                columns[1].separator();
                columns[1].label(RichText::new("Nodes").strong());
                nodes(&mut columns[1], live);
            }
        });
    });
}

/// "Changes": each service a Deploy would roll out, with its fields (live
/// value -> project value), and the live services it leaves alone.
fn changes_list(ui: &mut egui::Ui, changes: &ProjectDiff) {
    ui.label(RichText::new("Changes").strong());
    if changes.deploys().next().is_none() {
        ui.label(RichText::new("Deploy changes nothing: the target runs the project's services as they are.").weak());
    }
    for item in changes.deploys() {
        let (what, color) = match item.kind {
            ChangeKind::Added => ("new service", GOOD),
            _ => ("changed service", WARN),
        };
        ui.label(RichText::new(format!("{} {what} {}", item.kind.sign(), item.name)).color(color));
        for field in &item.fields {
            ui.label(RichText::new(format!("    {field}")).monospace().small());
        }
    }
    let alone: Vec<&str> =
        changes.services.iter().filter(|c| c.kind == ChangeKind::Removed).map(|c| c.name.as_str()).collect();
    if !alone.is_empty() {
        ui.label(RichText::new(format!("live but not in the project (left as is): {}", alone.join(", "))).weak());
    }
}

/// The chosen kind's parameters.
fn parameters(ui: &mut egui::Ui, form: &mut DeployForm) {
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
}

/// Each rollout of this session, newest first, with its progress, and the
/// last errors.
fn rollouts(ui: &mut egui::Ui, live: &Live, session: &Session) {
    let list = progress(&live.rollout_events);
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
    for error in session.errors.iter().rev().take(5) {
        ui.colored_label(BAD, error);
    }
}

/// The deployed services with their versions' weights and Roll back.
fn services(ui: &mut egui::Ui, live: &Live, session: &Session, out: &mut Vec<Action>) {
    egui::Grid::new("deployed-services").striped(true).show(ui, |ui| {
        for (name, info) in &live.services {
            ui.label(name);
            let weights: Vec<String> = info
                .status
                .versions
                .iter()
                .map(|v| format!("{} {:.0} %", short_version(&v.component.to_string()), v.weight_percent))
                .collect();
            ui.label(RichText::new(weights.join(" · ")).monospace().small());
            let previous = info.status.spec.history.len() >= 2;
            if ui
                .add_enabled(previous && !session.deploying, egui::Button::new(format!("Roll back {name}")))
                .on_disabled_hover_text("no earlier version to go back to")
                .clicked()
            {
                out.push(Action::Rollback(name.clone()));
            }
            ui.end_row();
        }
    });
}

/// A fleet's nodes: per node what each service runs there, and whether it
/// runs what the fleet wants (or why not).
fn nodes(ui: &mut egui::Ui, live: &Live) {
    let Some(fleet) = &live.fleet else {
        ui.label(RichText::new("Waiting for the nodes' reports.").weak());
        return;
    };
    if fleet.nodes.is_empty() {
        ui.label(
            RichText::new(
                "No node has reported in the last 10 s: start one with airssys serve --fleet URL --node NAME",
            )
            .color(WARN),
        );
    }
    egui::Grid::new("fleet-nodes").striped(true).show(ui, |ui| {
        for node in &fleet.nodes {
            if fleet.services.is_empty() {
                ui.label(&node.node);
                ui.label(RichText::new("runs nothing yet").weak());
                ui.end_row();
            }
            for view in &fleet.services {
                ui.label(&node.node);
                ui.label(&view.service);
                let running = node.services.get(&view.service).and_then(|s| s.component.as_ref());
                ui.label(RichText::new(running.map_or("-".to_string(), |c| short_version(&c.to_string()))).monospace());
                match view.behind.get(&node.node) {
                    None => ui.label(RichText::new("converged").color(GOOD)),
                    Some(why) => ui.label(RichText::new(why).color(WARN)),
                };
                ui.end_row();
            }
        }
    });
}
