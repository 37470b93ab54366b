//! The audit tab: the audit log's newest records, refusals in the bad
//! colour (host-core's `AuditEvent::is_refusal`). Reads the live state;
//! Refresh is an action.

use egui::RichText;

use crate::{
    action::Action,
    state::live::Live,
    views::{format::clock, theme::BAD},
};

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, live: &Live, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        if ui.button("Refresh").clicked() {
            out.push(Action::Refresh);
        }
        ui.label(RichText::new(format!("{} records, newest first", live.audit.len())).weak());
    });
    egui::ScrollArea::vertical().id_salt("audit").show(ui, |ui| {
        egui::Grid::new("audit-grid").striped(true).show(ui, |ui| {
            for h in ["#", "time", "event", "service", "detail"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for record in live.audit.iter().rev() {
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
