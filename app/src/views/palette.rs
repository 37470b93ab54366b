//! The palette on the left: the project's services and the registry's
//! published components as cards that are dragged onto the canvas (the
//! `PaletteItem` payload) or added with their button; and `.wasm` files
//! dropped on the window, which go into the registry (a folder dropped
//! before any project opens is opened). Reads the live state; every change
//! is an action.

use egui::RichText;

use crate::{
    action::{Action, PaletteItem},
    state::live::Live,
    views::format::short_version,
    worker::RegistryEntry,
};

/// Draws the palette.
pub fn show(ui: &mut egui::Ui, live: &Live, oci_pull: &mut String, out: &mut Vec<Action>) {
    egui::Panel::left("palette").resizable(true).default_size(250.0).show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Services");
            ui.label(RichText::new("Drag one onto the canvas, or press Add.").weak());
            for (name, info) in &live.services {
                let m = &info.description.metadata;
                let card = Card {
                    name,
                    version: &info.version,
                    description: &m.description,
                    accepts: &m.accepts,
                    produces: &m.produces,
                };
                card.show(ui, PaletteItem::Service(name.clone()), out);
            }
            let published: Vec<&RegistryEntry> = live
                .registry
                .iter()
                .filter(|r| r.versions.last().is_some_and(|v| !host_core::project::is_local(&v.version)))
                .collect();
            ui.add_space(8.0);
            ui.heading("Registry");
            if published.is_empty() {
                ui.label(RichText::new("Drop a .wasm file on the window to add a component.").weak());
            }
            pull_field(ui, oci_pull, out);
            for entry in published {
                let Some(reference) = entry.latest() else { continue };
                let none = Vec::new();
                let metadata = entry.description.as_ref().map(|d| &d.metadata);
                let version = reference.to_string();
                let card = Card {
                    name: &entry.name,
                    version: &version,
                    description: metadata.map_or("(cannot be described)", |m| m.description.as_str()),
                    accepts: metadata.map_or(&none, |m| &m.accepts),
                    produces: metadata.map_or(&none, |m| &m.produces),
                };
                card.show(ui, PaletteItem::Component(reference), out);
            }
        });
    });
}

/// "Pull oci://…": a reference field and its button (Enter pulls too).
fn pull_field(ui: &mut egui::Ui, reference: &mut String, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        let field = ui.add(
            egui::TextEdit::singleline(reference)
                .hint_text("oci://REGISTRY/REPO:TAG")
                .desired_width(ui.available_width() - 50.0),
        );
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let wanted = reference.trim().starts_with("oci://");
        if (ui
            .add_enabled(wanted, egui::Button::new("Pull"))
            .on_hover_text("Pull the component from an OCI registry into the registry")
            .clicked()
            || entered)
            && wanted
        {
            out.push(Action::PullOci(reference.trim().to_string()));
            reference.clear();
        }
    });
}

/// One palette card.
struct Card<'a> {
    name: &'a str,
    version: &'a str,
    description: &'a str,
    accepts: &'a [String],
    produces: &'a [String],
}

impl Card<'_> {
    /// The header can be dragged onto the canvas; Add puts the node next
    /// to the others.
    fn show(&self, ui: &mut egui::Ui, item: PaletteItem, out: &mut Vec<Action>) {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            let id = egui::Id::new(("palette", self.name, self.version));
            ui.dnd_drag_source(id, item.clone(), |ui| {
                ui.label(RichText::new(self.name).strong());
                ui.label(RichText::new(short_version(self.version)).monospace().small()).on_hover_text(self.version);
            })
            .response
            .on_hover_cursor(egui::CursorIcon::Grab);
            ui.label(RichText::new(self.description).small());
            ui.label(
                RichText::new(format!("{} -> {}", self.accepts.join(", "), self.produces.join(", "))).small().weak(),
            );
            if ui.button(format!("Add {}", self.name)).clicked() {
                out.push(Action::AddNode { item, at: None });
            }
        });
    }
}

/// `.wasm` files dropped on the window go into the registry; a folder
/// dropped while no project is open is opened.
pub fn dropped_files(ui: &egui::Ui, project_open: bool, out: &mut Vec<Action>) {
    let (dropped, hovering) = ui.input(|i| {
        (
            i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect::<Vec<_>>(),
            !i.raw.hovered_files.is_empty(),
        )
    });
    if hovering {
        egui::Area::new(egui::Id::new("drop-hint")).anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0]).show(
            ui.ctx(),
            |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.heading("Drop a .wasm component to add it to the registry");
                });
            },
        );
    }
    for path in dropped {
        if !project_open && path.is_dir() {
            out.push(Action::Open(path));
        } else {
            out.push(Action::AddFile(path));
        }
    }
}
