//! The studio window: a project picker and the list of the project's
//! components. Loading runs on a worker thread; `logic()` takes its results,
//! `ui()` only draws.

use std::{
    path::PathBuf,
    sync::mpsc::{Receiver, channel},
};

use egui::{Color32, RichText};
use host_core::{ComponentKind, Host, HostConfig};

use crate::listing::{ComponentRow, describe_project};

enum Loaded {
    Rows { project: PathBuf, host: Host, rows: Vec<ComponentRow> },
    Failed { project: PathBuf, message: String },
}

/// Application state.
pub struct Studio {
    host: Option<Host>,
    project: Option<PathBuf>,
    rows: Vec<ComponentRow>,
    error: Option<String>,
    pending: Option<Receiver<Loaded>>,
}

impl Studio {
    pub fn new(ctx: &egui::Context, project: Option<PathBuf>) -> Self {
        let mut studio = Studio { host: None, project: None, rows: Vec::new(), error: None, pending: None };
        if let Some(dir) = project {
            studio.open(ctx, dir);
        }
        studio
    }

    /// Loads a project folder on a worker thread.
    fn open(&mut self, ctx: &egui::Context, dir: PathBuf) {
        let (tx, rx) = channel();
        let host = self.host.clone();
        let ctx = ctx.clone();
        self.project = Some(dir.clone());
        self.error = None;
        self.pending = Some(rx);
        std::thread::spawn(move || {
            let loaded = match host.map(Ok).unwrap_or_else(|| Host::new(HostConfig::default())) {
                Ok(host) => match describe_project(&host, &dir) {
                    Ok(rows) => Loaded::Rows { project: dir, host, rows },
                    Err(e) => Loaded::Failed { project: dir, message: e.to_string() },
                },
                Err(e) => Loaded::Failed { project: dir, message: format!("the runtime did not start: {e}") },
            };
            let _ = tx.send(loaded);
            ctx.request_repaint();
        });
    }

    fn pick_folder(&mut self, ctx: &egui::Context) {
        if let Some(dir) = rfd::FileDialog::new().set_title("Open a project folder").pick_folder() {
            self.open(ctx, dir);
        }
    }

    fn component_card(ui: &mut egui::Ui, row: &ComponentRow) {
        let file = row.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            match &row.outcome {
                Ok(d) => {
                    let m = &d.metadata;
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(format!("{}@{}", m.name, m.version)).strong().size(16.0));
                        let kind = match &d.info.kind {
                            ComponentKind::Contract { state: true, .. } => "contract · stateful",
                            ComponentKind::Contract { .. } => "contract",
                            ComponentKind::WasiCommand => "WASI command",
                        };
                        ui.label(RichText::new(kind).weak());
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            ui.label(RichText::new(&file).monospace().weak());
                        });
                    });
                    ui.label(&m.description);
                    egui::Grid::new(("meta", &row.file)).num_columns(2).spacing([12.0, 2.0]).show(ui, |ui| {
                        ui.label(RichText::new("accepts").weak());
                        ui.label(m.accepts.join(", "));
                        ui.end_row();
                        ui.label(RichText::new("produces").weak());
                        ui.label(m.produces.join(", "));
                        ui.end_row();
                        ui.label(RichText::new("capabilities").weak());
                        let caps: Vec<String> = d.required_capabilities.iter().map(ToString::to_string).collect();
                        ui.label(if caps.is_empty() { "none".to_string() } else { caps.join(", ") });
                        ui.end_row();
                        ui.label(RichText::new("digest").weak());
                        ui.label(RichText::new(d.info.digest.to_string()).monospace().small());
                        ui.end_row();
                        ui.label(RichText::new("size").weak());
                        ui.label(format!("{:.1} KiB", d.info.size_bytes as f64 / 1024.0));
                        ui.end_row();
                    });
                }
                Err(message) => {
                    ui.label(RichText::new(&file).strong());
                    ui.colored_label(Color32::from_rgb(220, 80, 60), message);
                }
            }
        });
    }
}

impl eframe::App for Studio {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let Some(rx) = &self.pending else { return };
        let Ok(loaded) = rx.try_recv() else { return };
        self.pending = None;
        match loaded {
            Loaded::Rows { project, host, rows } => {
                self.project = Some(project);
                self.host = Some(host);
                self.rows = rows;
            }
            Loaded::Failed { project, message } => {
                self.project = Some(project);
                self.rows.clear();
                self.error = Some(message);
            }
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("airssys studio");
                ui.separator();
                if ui.button("Open project…").clicked() {
                    self.pick_folder(&ctx);
                }
                if let Some(dir) = &self.project {
                    ui.label(RichText::new(dir.display().to_string()).monospace());
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if self.pending.is_some() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Loading components…");
                });
            }
            if let Some(error) = &self.error {
                ui.colored_label(Color32::from_rgb(220, 80, 60), error);
            }
            if self.project.is_none() {
                ui.centered_and_justified(|ui| {
                    ui.label("Open a project folder to see its components (File: Open project…).");
                });
                return;
            }
            if self.pending.is_none() && self.rows.is_empty() && self.error.is_none() {
                ui.label("This folder has no .wasm components (looked in components/ and the folder itself).");
            }
            ui.label(RichText::new(format!("{} components", self.rows.len())).weak());
            egui::ScrollArea::vertical().show(ui, |ui| {
                for row in &self.rows {
                    Self::component_card(ui, row);
                    ui.add_space(6.0);
                }
            });
        });
    }
}
