//! The bars around the canvas: the toolbar (open, recent, save, undo,
//! fit, help, theme, the pipeline picker), the target bar (embedded or a
//! server), the status bar (the notice at its level), and the keyboard
//! shortcuts that mirror the toolbar. Reads the document and the session;
//! edits the settings it shows (theme, remote form) and the view memory;
//! every other change is an action.

use std::path::PathBuf;

use egui::{Key, Modifiers, RichText};

use crate::{
    action::Action,
    state::{
        document::Document,
        live::Live,
        session::{Level, Session},
        settings::Settings,
        view::ViewState,
    },
    views::theme::{BAD, GOOD, WARN},
    worker::Target,
};

/// The toolbar at the top.
pub fn toolbar(
    ui: &mut egui::Ui,
    doc: &Document,
    settings: &mut Settings,
    view: &mut ViewState,
    out: &mut Vec<Action>,
) {
    egui::Panel::top("toolbar").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.heading("airssys studio");
            ui.separator();
            if ui.button("Open project…").clicked()
                && let Some(dir) = rfd::FileDialog::new().set_title("Open a project folder").pick_folder()
            {
                out.push(Action::OpenAsking(dir));
            }
            ui.add_enabled_ui(!settings.recent.is_empty(), |ui| {
                ui.menu_button("Recent", |ui| {
                    for dir in &settings.recent {
                        if ui.button(dir.display().to_string()).clicked() {
                            out.push(Action::OpenAsking(dir.clone()));
                        }
                    }
                });
            });
            let has_project = doc.project.is_some();
            if ui
                .add_enabled(has_project && doc.is_dirty(), egui::Button::new("Save"))
                .on_hover_text("Ctrl+S")
                .clicked()
            {
                out.push(Action::Save);
            }
            if ui.add_enabled(has_project, egui::Button::new("Save As…")).clicked()
                && let Some(dir) = rfd::FileDialog::new().set_title("Save the project into a folder").pick_folder()
            {
                out.push(Action::SaveAs(dir));
            }
            if ui.add_enabled(doc.can_undo(), egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked() {
                out.push(Action::Undo);
            }
            if ui.add_enabled(doc.can_redo(), egui::Button::new("Redo")).on_hover_text("Ctrl+Shift+Z").clicked() {
                out.push(Action::Redo);
            }
            if ui.add_enabled(has_project, egui::Button::new("Fit view")).on_hover_text("show every node (F)").clicked()
            {
                view.canvas.fit = true;
            }
            ui.separator();
            if ui.button("Help").on_hover_text("F1").clicked() {
                view.help = !view.help;
            }
            let dark = ui.ctx().theme() == egui::Theme::Dark;
            if ui.button(if dark { "Light theme" } else { "Dark theme" }).clicked() {
                ui.ctx().set_theme(if dark { egui::Theme::Light } else { egui::Theme::Dark });
                settings.dark = Some(!dark);
            }
            if let Some(project) = &doc.project {
                ui.separator();
                let mut chosen = doc.pipeline.clone();
                egui::ComboBox::from_id_salt("pipeline").selected_text(&chosen).show_ui(ui, |ui| {
                    for name in project.file.pipelines.keys() {
                        ui.selectable_value(&mut chosen, name.clone(), name);
                    }
                });
                ui.label(RichText::new(project.dir.display().to_string()).monospace().weak());
                if doc.is_dirty() {
                    ui.label(RichText::new("unsaved changes").color(WARN));
                }
                if chosen != doc.pipeline {
                    out.push(Action::ShowPipeline(chosen));
                }
            }
        });
    });
}

/// The target bar: the embedded runtime, a server's URL and token file,
/// or a fleet's NATS URL, name and credentials file (with its nodes once
/// connected).
pub fn target_bar(ui: &mut egui::Ui, session: &Session, live: &Live, settings: &mut Settings, out: &mut Vec<Action>) {
    egui::Panel::top("target").show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label("Target");
            let embedded = session.target == Target::Embedded;
            if ui.selectable_label(embedded, "Embedded").clicked() && !embedded {
                out.push(Action::Connect(Target::Embedded));
            }
            ui.separator();
            let url = ui.label("Server URL");
            ui.add(egui::TextEdit::singleline(&mut settings.remote_url).desired_width(220.0)).labelled_by(url.id);
            let token = ui.label("Token file");
            ui.add(egui::TextEdit::singleline(&mut settings.remote_token_file).desired_width(260.0))
                .labelled_by(token.id);
            if ui.button("Connect").clicked() {
                out.push(Action::Connect(Target::Remote {
                    url: settings.remote_url.trim().to_string(),
                    token_file: PathBuf::from(settings.remote_token_file.trim()),
                }));
            }
            if let Target::Remote { url, .. } = &session.target {
                ui.label(RichText::new(format!("connected to {url}")).color(GOOD));
            }
        });
        ui.horizontal(|ui| {
            let url = ui.label("Fleet URL");
            ui.add(egui::TextEdit::singleline(&mut settings.fleet_url).desired_width(220.0))
                .on_hover_text("the NATS server(s) of the fleet, e.g. nats://127.0.0.1:4222")
                .labelled_by(url.id);
            let name = ui.label("Fleet name");
            ui.add(egui::TextEdit::singleline(&mut settings.fleet_name).desired_width(90.0)).labelled_by(name.id);
            let creds = ui.label("Credentials file");
            ui.add(egui::TextEdit::singleline(&mut settings.fleet_creds).desired_width(200.0))
                .on_hover_text("a .creds, nkey seed, user:password or token file readable by you only; empty: none")
                .labelled_by(creds.id);
            if ui.button("Connect fleet").clicked() {
                let creds = settings.fleet_creds.trim();
                out.push(Action::Connect(Target::Fleet {
                    url: settings.fleet_url.trim().to_string(),
                    name: settings.fleet_name.trim().to_string(),
                    credentials: (!creds.is_empty()).then(|| PathBuf::from(creds)),
                }));
            }
            if let Target::Fleet { name, .. } = &session.target {
                fleet_summary(ui, name, live);
            }
        });
    });
}

/// The fleet in use: how many nodes report, how many services are behind.
fn fleet_summary(ui: &mut egui::Ui, name: &str, live: &Live) {
    match &live.fleet {
        None => {
            ui.label(RichText::new(format!("fleet `{name}`: waiting for node reports")).weak());
        }
        Some(fleet) => {
            let behind = fleet.services.iter().filter(|s| !s.behind.is_empty()).count();
            let text = format!("fleet `{name}`: {} node(s)", fleet.nodes.len());
            if fleet.nodes.is_empty() {
                ui.label(
                    RichText::new(format!("{text}; start one with airssys serve --fleet URL --node NAME")).color(WARN),
                );
            } else if behind > 0 {
                ui.label(RichText::new(format!("{text}, {behind} service(s) converging")).color(WARN));
            } else {
                ui.label(RichText::new(text).color(GOOD));
            }
        }
    }
    if let Some(cause) = &live.fleet_error {
        ui.label(RichText::new(format!("cannot read the nodes: {cause}")).color(BAD));
    }
}

/// The status bar: a spinner while something runs, and the last notice.
pub fn status_bar(ui: &mut egui::Ui, session: &Session) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            if (session.running && session.opening.is_none()) || session.deploying {
                ui.spinner();
            }
            match &session.notice {
                Some(notice) if notice.level == Level::Error => ui.colored_label(BAD, &notice.text),
                Some(notice) => ui.label(&notice.text),
                None => ui.label(RichText::new("ready").weak()),
            };
        });
    });
}

/// Ctrl+S, Ctrl+Z, Ctrl+Shift+Z, F1, and (when no text field has the
/// keyboard) Delete and F.
pub fn shortcuts(ui: &egui::Ui, view: &mut ViewState, out: &mut Vec<Action>) {
    let typing = ui.ctx().memory(|m| m.focused().is_some());
    let (redo, undo, save, help, delete, fit) = ui.input_mut(|i| {
        (
            i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z),
            i.consume_key(Modifiers::COMMAND, Key::Z),
            i.consume_key(Modifiers::COMMAND, Key::S),
            i.consume_key(Modifiers::NONE, Key::F1),
            !typing && i.consume_key(Modifiers::NONE, Key::Delete),
            !typing && i.consume_key(Modifiers::NONE, Key::F),
        )
    });
    view.canvas.fit |= fit;
    view.help ^= help;
    if redo {
        out.push(Action::Redo);
    } else if undo {
        out.push(Action::Undo);
    }
    if save {
        out.push(Action::Save);
    }
    if delete && !view.canvas.selected.is_empty() {
        out.push(Action::DeleteNodes(view.canvas.selected.clone()));
    }
}
