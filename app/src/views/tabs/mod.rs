//! The tabbed panel under the canvas: the tab strip and one file per tab
//! (run console, deployment, metrics, logs, audit). Layout only: which tab
//! shows is a setting the strip edits; what each tab reads and asks for is
//! in its own file.

pub mod audit;
pub mod console;
pub mod deploy;
pub mod logs;
pub mod metrics;

use std::collections::BTreeSet;

use crate::{
    action::Action,
    state::{
        document::Document,
        live::Live,
        session::Session,
        settings::{Settings, Tab},
        view::ViewState,
    },
};

/// Draws the tab strip and the tab shown. `changed`: the canvas nodes
/// changed since the last deploy.
#[allow(clippy::too_many_arguments)] // the tabs read every part of the state
pub fn show(
    ui: &mut egui::Ui,
    doc: &Document,
    live: &Live,
    session: &Session,
    changed: &BTreeSet<String>,
    settings: &mut Settings,
    view: &mut ViewState,
    out: &mut Vec<Action>,
) {
    egui::Panel::bottom("tabs").resizable(true).default_size(300.0).min_size(230.0).show(ui, |ui| {
        ui.horizontal(|ui| {
            for (tab, name) in [
                (Tab::Console, "Run console"),
                (Tab::Deploy, "Deployment"),
                (Tab::Metrics, "Metrics"),
                (Tab::Logs, "Logs"),
                (Tab::Audit, "Audit"),
            ] {
                if ui.selectable_label(settings.tab() == tab, name).clicked() {
                    if tab == Tab::Audit {
                        out.push(Action::Refresh);
                    }
                    settings.tab = Some(tab);
                }
            }
            if session.deploying {
                ui.spinner();
            }
        });
        ui.separator();
        match settings.tab() {
            Tab::Console => console::show(ui, &doc.pipeline, session, settings, &mut view.input, out),
            Tab::Deploy => {
                let changes = deploy::changes(doc, live);
                deploy::show(ui, live, session, changed.len(), changes.as_ref(), &mut view.deploy_form, out)
            }
            Tab::Metrics => metrics::show(ui, live),
            Tab::Logs => logs::show(ui, live, &mut view.log_filter, out),
            Tab::Audit => audit::show(ui, live, out),
        }
    });
}
