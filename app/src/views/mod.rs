//! Everything the studio draws, one file per view. Views read the state
//! and push [`Action`]s; they never send requests, never touch the worker
//! and never mark the document unsaved. They edit only the widgets'
//! memory (`ViewState`) and the settings they show; the canvas alone edits
//! the graph in place, as egui-snarl wants, and reports it. This file is
//! the layout: which panel goes where, in the order egui needs.

pub mod canvas;
pub mod dialogs;
pub mod format;
pub mod inspector;
pub mod node_viewer;
pub mod palette;
pub mod tabs;
pub mod theme;
pub mod toolbar;

use std::{collections::BTreeSet, time::Duration};

use egui::RichText;
use egui_snarl::Snarl;

use crate::{
    action::Action,
    graph::GraphNode,
    state::{document::Document, live::Live, session::Session, settings::Settings, view::ViewState},
};

/// What the views read this frame.
#[derive(Debug)]
pub struct Frame<'a> {
    pub doc: &'a Document,
    pub live: &'a Live,
    pub session: &'a Session,
    /// The canvas nodes changed since the last deploy (computed once a frame).
    pub changed: &'a BTreeSet<String>,
}

/// The panels around the canvas and the windows over it (drawn before the
/// canvas, as egui wants side panels first).
pub fn panels(
    ui: &mut egui::Ui,
    frame: &Frame<'_>,
    settings: &mut Settings,
    view: &mut ViewState,
    out: &mut Vec<Action>,
) {
    let Frame { doc, live, session, changed } = *frame;
    if std::mem::take(&mut view.apply_theme)
        && let Some(dark) = settings.dark
    {
        ui.ctx().set_theme(if dark { egui::Theme::Dark } else { egui::Theme::Light });
    }
    if doc.project.is_some() {
        // Live figures: come back for the next metrics snapshot.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
    toolbar::shortcuts(ui, view, out);
    palette::dropped_files(ui, doc.project.is_some(), out);
    dialogs::unsaved(ui, doc, session, out);
    dialogs::help(ui, &mut view.help);
    dialogs::grants(ui, session, out);
    toolbar::toolbar(ui, doc, settings, view, out);
    toolbar::target_bar(ui, session, live, settings, out);
    toolbar::status_bar(ui, session);
    if doc.project.is_some() {
        palette::show(ui, live, &mut view.oci_pull, out);
        tabs::show(ui, doc, live, session, changed, settings, view, out);
        inspector::show(ui, doc, live, session, &view.canvas.selected, out);
    }
}

/// The central panel: the opening spinner, the welcome screen, or the
/// canvas over `graph` (`canvas`: `None` while no project is open).
pub fn center(
    ui: &mut egui::Ui,
    graph: &mut Snarl<GraphNode>,
    canvas: Option<canvas::Canvas<'_>>,
    session: &Session,
    settings: &Settings,
    view: &mut ViewState,
    out: &mut Vec<Action>,
) {
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(dir) = &session.opening {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Opening {} and deploying its services…", dir.display()));
            });
            return;
        }
        match &canvas {
            Some(canvas) => canvas::show(ui, graph, canvas, &mut view.canvas, out),
            None => welcome(ui, settings, out),
        }
    });
}

/// No project yet: how to open one, and the recent ones.
fn welcome(ui: &mut egui::Ui, settings: &Settings, out: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() / 4.0);
        ui.heading("Open a project folder to edit its pipelines (Open project…).");
        if !settings.recent.is_empty() {
            ui.add_space(12.0);
            ui.label(RichText::new("Recent projects").strong());
            for dir in &settings.recent {
                if ui.link(dir.display().to_string()).clicked() {
                    out.push(Action::Open(dir.clone()));
                }
            }
        }
    });
}
