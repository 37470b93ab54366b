//! The pipeline canvas: hosts egui-snarl's widget over the document's
//! `Snarl` (the one place a view edits state in place, as egui-snarl
//! wants: wires, node menu, moves), reports those edits as actions, fits
//! the view, keeps the refused wire's reason at the pointer, tracks
//! selection and inspection, and turns palette cards dropped on it into
//! nodes. It never touches the project's services or the runtime.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use egui::emath::TSTransform;
use egui_snarl::{NodeId, Snarl, ui::SnarlWidget};
use host_core::{pipeline::Pipeline, project::Project};

use crate::{
    action::{Action, PaletteItem},
    graph::{self, GraphNode},
    state::{
        live::Live,
        view::{CanvasMemory, Refusal},
    },
    views::{node_viewer::Viewer, theme::BAD},
};

/// The egui id of the canvas (its selection lives under it).
const CANVAS: &str = "pipeline-canvas";
/// How long a refused wire's reason stays at the pointer.
const REFUSAL_SHOWN: Duration = Duration::from_secs(4);

/// What the canvas reads this frame.
#[derive(Debug)]
pub struct Canvas<'a> {
    pub project: &'a Project,
    /// The pipeline's name.
    pub pipeline: &'a str,
    /// The pipeline as the frame began (edits are told against it).
    pub before: &'a Pipeline,
    /// Nodes changed since the last deploy.
    pub changed: &'a BTreeSet<String>,
    pub live: &'a Live,
}

/// Draws the canvas over `graph`.
pub fn show(
    ui: &mut egui::Ui,
    graph: &mut Snarl<GraphNode>,
    canvas: &Canvas<'_>,
    memory: &mut CanvasMemory,
    out: &mut Vec<Action>,
) {
    let planned: BTreeSet<String> = canvas.project.file.services.keys().cloned().collect();
    let mut viewer = Viewer {
        services: &canvas.live.services,
        planned: &planned,
        metrics: &canvas.live.metrics,
        pipeline: canvas.pipeline,
        rates: &canvas.live.rates,
        changed: canvas.changed,
        refused: None,
        to_screen: None,
        rects: Vec::new(),
        set_view: None,
    };
    let area = ui.max_rect();
    // A newly loaded pipeline (drawn once, so its nodes' sizes are known)
    // is fitted into the canvas.
    if memory.fit && !memory.node_rects.is_empty() {
        viewer.set_view = fit(&memory.node_rects, area);
        memory.fit = false;
    }
    SnarlWidget::new().id(egui::Id::new(CANVAS)).show(graph, &mut viewer, ui);
    let after = graph::from_snarl(canvas.pipeline, graph);
    if !graph::same_structure(canvas.before, &after) {
        out.push(Action::GraphEdited { before: canvas.before.clone() });
    } else if *canvas.before != after {
        out.push(Action::NodesMoved);
    }
    if let Some(reason) = viewer.refused.take() {
        let pointer = ui.ctx().pointer_latest_pos().unwrap_or_else(|| ui.max_rect().center());
        memory.refused = Some(Refusal { at: Instant::now(), pointer, reason: reason.clone() });
        out.push(Action::WireRefused(reason));
    }
    show_refusal(ui, memory);
    memory.to_screen = viewer.to_screen.or(memory.to_screen);
    memory.node_rects = std::mem::take(&mut viewer.rects);
    select(ui, area, memory);
    // A palette card released over the canvas becomes a node there.
    let released = ui.input(|i| i.pointer.any_released().then(|| i.pointer.interact_pos()).flatten());
    if let Some(at) = released.filter(|p| area.contains(*p))
        && let Some(item) = egui::DragAndDrop::take_payload::<PaletteItem>(ui.ctx())
    {
        let at = memory.to_screen.map(|t| t.inverse() * at);
        out.push(Action::AddNode { item: (*item).clone(), at });
    }
}

/// The refusal's reason stays where the wire was dropped for a few seconds.
fn show_refusal(ui: &egui::Ui, memory: &mut CanvasMemory) {
    let Some(refusal) = &memory.refused else { return };
    if refusal.at.elapsed() >= REFUSAL_SHOWN {
        memory.refused = None;
        return;
    }
    egui::Tooltip::always_open(
        ui.ctx().clone(),
        ui.layer_id(),
        egui::Id::new("wire-refused"),
        egui::PopupAnchor::Position(refusal.pointer),
    )
    .show(|ui| {
        ui.colored_label(BAD, format!("Wire refused: {}", refusal.reason));
    });
    ui.ctx().request_repaint_after(Duration::from_millis(250));
}

/// Shift+click and Shift+drag select several nodes (egui-snarl); a plain
/// click on a node inspects it.
fn select(ui: &egui::Ui, area: egui::Rect, memory: &mut CanvasMemory) {
    let selection = egui_snarl::ui::get_selected_nodes(egui::Id::new(CANVAS), ui.ctx());
    let clicked = ui.input(|i| i.pointer.primary_clicked().then(|| i.pointer.interact_pos()).flatten());
    if let (Some(at), Some(to_screen)) = (clicked.filter(|p| area.contains(*p)), memory.to_screen) {
        let hit = memory.node_rects.iter().rev().find(|(_, rect)| (to_screen * *rect).contains(at)).map(|(id, _)| *id);
        if selection.is_empty() || hit.is_none() {
            memory.inspected = hit;
        }
    }
    memory.selected = if selection.is_empty() { memory.inspected.into_iter().collect() } else { selection };
}

/// The view that shows every node of `rects` (graph coordinates) inside
/// `area` (screen), never zoomed in beyond 1:1.
pub fn fit(rects: &[(NodeId, egui::Rect)], area: egui::Rect) -> Option<TSTransform> {
    let bounds = rects.iter().map(|(_, r)| *r).reduce(|a, b| a.union(b))?;
    let target = area.shrink(24.0);
    if bounds.width() <= 0.0 || bounds.height() <= 0.0 || target.width() <= 0.0 || target.height() <= 0.0 {
        return None;
    }
    let scale = (target.width() / bounds.width()).min(target.height() / bounds.height()).min(1.0);
    Some(TSTransform::new(target.center().to_vec2() - bounds.center().to_vec2() * scale, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_shows_every_node_inside_the_area_without_zooming_in() {
        let rects = [
            (NodeId(0), egui::Rect::from_min_size(egui::pos2(-100.0, 0.0), egui::vec2(200.0, 60.0))),
            (NodeId(1), egui::Rect::from_min_size(egui::pos2(1500.0, 400.0), egui::vec2(200.0, 60.0))),
        ];
        let area = egui::Rect::from_min_size(egui::pos2(250.0, 60.0), egui::vec2(860.0, 620.0));
        let view = fit(&rects, area).unwrap();
        for (_, rect) in rects {
            assert!(area.contains_rect(view * rect), "{:?} inside {area:?}", view * rect);
        }
        assert!(view.scaling < 1.0);
        let small = [(NodeId(0), egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(100.0, 50.0)))];
        assert_eq!(fit(&small, area).unwrap().scaling, 1.0, "a small graph is not blown up");
        assert!(fit(&[], area).is_none());
    }
}
