//! The windows over the studio: the grant dialog (each requested
//! capability with a plain-language risk note, nothing allowed until
//! ticked), the unsaved-changes question (also when the window is being
//! closed), and the keyboard shortcuts. Reads the session; the answers are
//! actions. Only the help window's open flag is the view's own.

use egui::RichText;
use host_core::Capability;

use crate::{
    action::{Action, LeaveChoice},
    state::{
        document::Document,
        session::{Leave, Session},
    },
    views::theme::BAD,
};

/// What granting a capability lets a component do, in plain words.
pub fn risk_note(capability: &Capability) -> &'static str {
    match capability {
        Capability::FileRead(_) => "can read every file under this folder",
        Capability::FileWrite(_) => "can create, change and delete files under this folder",
        Capability::NetworkOutbound(_) => "can open connections to these hosts and send them data",
        Capability::NetworkInbound(_) => "can accept connections from anywhere on this port",
        Capability::EnvironmentRead(_) => "can read these environment variables (often secrets)",
        Capability::SystemCall(_) => "can read the clock, get randomness or write to the console",
        Capability::Custom { .. } => "a capability defined by the embedding program",
    }
}

/// The modal asking the user to allow or deny each capability a service
/// requests.
pub fn grants(ui: &egui::Ui, session: &Session, out: &mut Vec<Action>) {
    let Some(dialog) = &session.grant else { return };
    egui::Modal::new(egui::Id::new("grant-dialog")).show(ui.ctx(), |ui| {
        ui.set_max_width(560.0);
        ui.heading("Capabilities requested");
        ui.label(format!(
            "Service `{}` ({}) asks for capabilities that nobody has granted. Allow only what you trust it with; \
             you can narrow a scope (a folder, a host pattern, a port) before allowing it.",
            dialog.service, dialog.component
        ));
        ui.add_space(6.0);
        for (index, row) in dialog.rows.iter().enumerate() {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new(format!("requests {}", row.requested)).strong());
                ui.label(RichText::new(risk_note(&row.requested)).weak());
                ui.horizontal(|ui| {
                    let (mut allow, mut scope) = (row.allow, row.scope.clone());
                    let ticked = ui.checkbox(&mut allow, format!("Allow {}", row.requested)).changed();
                    let label = ui.label("scope");
                    let typed = ui
                        .add(egui::TextEdit::singleline(&mut scope).desired_width(260.0))
                        .labelled_by(label.id)
                        .changed();
                    if ticked || typed {
                        out.push(Action::EditGrant { row: index, allow, scope });
                    }
                });
            });
        }
        if let Some(problem) = &dialog.problem {
            ui.colored_label(BAD, problem);
        }
        ui.horizontal(|ui| {
            if ui.button("Continue").clicked() {
                out.push(Action::AnswerGrants(true));
            }
            if ui.button("Deny all").clicked() {
                out.push(Action::AnswerGrants(false));
            }
        });
    });
}

/// Leaving the project (quitting, or opening another one) with unsaved
/// changes asks first; a quit the user chose closes the window.
pub fn unsaved(ui: &egui::Ui, doc: &Document, session: &Session, out: &mut Vec<Action>) {
    let ctx = ui.ctx();
    if session.quit {
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        return;
    }
    if ctx.input(|i| i.viewport().close_requested()) && doc.is_dirty() && session.leaving.is_none() {
        ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        out.push(Action::Quit);
    }
    let Some(leave) = &session.leaving else { return };
    let (save, discard) = match leave {
        Leave::Quit => ("Save and quit", "Quit without saving"),
        Leave::Open(_) => ("Save and open", "Open without saving"),
    };
    egui::Modal::new(egui::Id::new("unsaved")).show(ctx, |ui| {
        ui.heading("Unsaved changes");
        ui.label(format!("The project has changes that are not in project.ron (pipeline `{}`).", doc.pipeline));
        ui.horizontal(|ui| {
            for (label, choice) in
                [(save, LeaveChoice::Save), (discard, LeaveChoice::Discard), ("Cancel", LeaveChoice::Cancel)]
            {
                if ui.button(label).clicked() {
                    out.push(Action::Leave(choice));
                }
            }
        });
    });
}

/// The keyboard shortcuts, shown while `open`.
pub fn help(ui: &egui::Ui, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts").open(open).resizable(false).show(ui.ctx(), |ui| {
        egui::Grid::new("shortcuts").num_columns(2).spacing([24.0, 4.0]).show(ui, |ui| {
            for (keys, what) in [
                ("Ctrl+S", "save the project into project.ron"),
                ("Ctrl+Z", "undo the last edit (graph, services, configuration, limits)"),
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
}
