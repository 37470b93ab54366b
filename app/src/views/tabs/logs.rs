//! The logs tab: guest log lines, coloured by their level (host-core's
//! `LogLevel`), filtered by service (the filter is the view's own). Reads
//! the live state; clearing the lines is an action.

use egui::RichText;
use host_core::types::LogLevel;

use crate::{
    action::Action,
    state::live::Live,
    views::{
        format::clock,
        theme::{BAD, WARN},
    },
};

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, live: &Live, filter: &mut Option<String>, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        let label = ui.label("Service");
        let shown = filter.clone().unwrap_or_else(|| "all".into());
        egui::ComboBox::from_id_salt("log-filter")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(filter, None, "all");
                for name in live.services.keys() {
                    ui.selectable_value(filter, Some(name.clone()), name);
                }
            })
            .response
            .labelled_by(label.id);
        if ui.button("Clear").clicked() {
            out.push(Action::ClearLogs);
        }
        ui.label(RichText::new(format!("{} lines", live.logs.len())).weak());
    });
    // A service's lines are those of its component (registry or metadata name).
    let names: Option<Vec<&str>> = filter.as_ref().map(|service| match live.services.get(service) {
        Some(s) => vec![s.status.spec.component.name.as_str(), s.description.metadata.name.as_str()],
        None => vec![service.as_str()],
    });
    egui::ScrollArea::vertical().id_salt("logs").stick_to_bottom(true).show(ui, |ui| {
        for line in live.logs.iter().filter(|l| names.as_ref().is_none_or(|n| n.contains(&l.component.as_str()))) {
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
