//! The run console: the input (the view's own text), Run, how bodies are
//! shown (a setting), and the last run's results, each node's output and
//! the errors its nodes handled. Reading a file into the input is asked of
//! the runtime thread (`LoadInput`); the run is an action.

use egui::RichText;

use crate::{
    action::Action,
    state::{
        session::Session,
        settings::{BodyView, Settings},
    },
    views::{format::render, theme::BAD},
};

/// Draws the console for the pipeline `pipeline`.
pub fn show(
    ui: &mut egui::Ui,
    pipeline: &str,
    session: &Session,
    settings: &mut Settings,
    input: &mut String,
    out: &mut Vec<Action>,
) {
    let mut body_view = settings.body_view();
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("pipeline `{pipeline}`")).weak());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.selectable_value(&mut body_view, BodyView::Json, "JSON");
            ui.selectable_value(&mut body_view, BodyView::Hex, "Hex");
            ui.selectable_value(&mut body_view, BodyView::Text, "Text");
            if ui.button("Load input…").clicked()
                && let Some(path) = rfd::FileDialog::new().set_title("Load an input").pick_file()
            {
                out.push(Action::LoadInput(path));
            }
        });
    });
    settings.body_view = Some(body_view);
    ui.horizontal(|ui| {
        let label = ui.label("Input");
        ui.add(
            egui::TextEdit::multiline(input)
                .desired_rows(2)
                .hint_text("the message the pipeline's first nodes receive")
                .desired_width(ui.available_width() - 80.0),
        )
        .labelled_by(label.id);
        if ui.add_enabled(!session.running, egui::Button::new("Run")).clicked() {
            out.push(Action::Run { input: input.clone() });
        }
        if session.running {
            ui.spinner();
        }
    });
    egui::ScrollArea::vertical().id_salt("console").show(ui, |ui| match &session.run {
        None => {}
        Some(Err(message)) => {
            ui.colored_label(BAD, message);
        }
        Some(Ok(outcome)) => {
            ui.label(RichText::new("Results").strong());
            for output in &outcome.results {
                ui.label(format!("{}: {}", output.node, render(&output.data, body_view)));
            }
            if outcome.results.is_empty() {
                ui.label(RichText::new("no results (every message was dropped)").weak());
            }
            ui.collapsing("Each node's output", |ui| {
                for output in &outcome.trace {
                    ui.label(format!("{}.{}: {}", output.node, output.port, render(&output.data, body_view)));
                }
            });
            for (node, error) in &outcome.handled_errors {
                ui.colored_label(BAD, format!("{node}: {error}"));
            }
        }
    });
}
