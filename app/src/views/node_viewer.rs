//! How the node editor draws pipeline nodes (egui-snarl's `SnarlViewer`):
//! titles `node · service@version`, one input, a pin per output port, live
//! calls and errors with a health dot, the changed-since-deploy marker,
//! and wires refused when host-core's media-type rule says no. It reads
//! the live figures and records what the canvas needs (refusals, node
//! rects, the view transform); the graph edits it makes are egui-snarl's
//! own (wires, duplicate, delete), reported by the canvas.

use std::collections::{BTreeMap, BTreeSet};

use egui::{RichText, Ui, emath::TSTransform};
use egui_snarl::{
    InPin, NodeId, OutPin, Snarl,
    ui::{PinInfo, SnarlViewer},
};
use host_core::{Health, metrics::MetricsSnapshot, pipeline::ERROR_PORT};

use crate::{
    graph::{GraphNode, can_connect, fresh_id},
    views::{
        format::short_version,
        theme::{BAD, GOOD, IDLE, WARN},
    },
    worker::ServiceInfo,
};

/// The viewer, rebuilt each frame from the state.
#[derive(Debug)]
pub struct Viewer<'a> {
    pub services: &'a BTreeMap<String, ServiceInfo>,
    /// Services of the project, deployed or not yet.
    pub planned: &'a BTreeSet<String>,
    /// Nodes changed since the last deploy.
    pub changed: &'a BTreeSet<String>,
    pub metrics: &'a MetricsSnapshot,
    /// The pipeline on the canvas (its nodes' message counts).
    pub pipeline: &'a str,
    /// Calls per second per service, from the last two snapshots.
    pub rates: &'a BTreeMap<String, f64>,
    /// Set when a wire was refused: why.
    pub refused: Option<String>,
    /// The canvas's graph-to-screen transform this frame.
    pub to_screen: Option<TSTransform>,
    /// Where each node was drawn (graph coordinates).
    pub rects: Vec<(NodeId, egui::Rect)>,
    /// A view to set this frame (fit the nodes in).
    pub set_view: Option<TSTransform>,
}

impl SnarlViewer<GraphNode> for Viewer<'_> {
    fn title(&mut self, node: &GraphNode) -> String {
        let version = self.services.get(&node.service).map_or(node.service.clone(), |s| short_version(&s.version));
        format!("{} · {version}", node.id)
    }

    fn inputs(&mut self, _node: &GraphNode) -> usize {
        1
    }

    fn show_input(
        &mut self,
        _pin: &InPin,
        ui: &mut Ui,
        _snarl: &mut Snarl<GraphNode>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        ui.label(RichText::new("in").small());
        PinInfo::circle().with_fill(IDLE)
    }

    fn outputs(&mut self, node: &GraphNode) -> usize {
        node.outputs().len()
    }

    fn show_output(
        &mut self,
        pin: &OutPin,
        ui: &mut Ui,
        snarl: &mut Snarl<GraphNode>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        let port =
            snarl.get_node(pin.id.node).and_then(|n| n.outputs().get(pin.id.output).cloned()).unwrap_or_default();
        let color = if port == ERROR_PORT { BAD } else { GOOD };
        ui.label(RichText::new(port).small());
        PinInfo::circle().with_fill(color)
    }

    fn has_body(&mut self, _node: &GraphNode) -> bool {
        true
    }

    fn show_body(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<GraphNode>,
    ) {
        let Some(node) = snarl.get_node(node) else { return };
        let service = self.metrics.service(&node.service);
        let counts = self.metrics.node(self.pipeline, &node.id).unwrap_or_default();
        let health = service.and_then(|s| s.health.as_ref()).map(|r| &r.health);
        let (dot, tip) = match (health, self.services.contains_key(&node.service)) {
            (_, false) if self.planned.contains(&node.service) => {
                (IDLE, format!("`{}` is not deployed yet: press Deploy", node.service))
            }
            (_, false) => (BAD, format!("no service named `{}` in this project", node.service)),
            (Some(Health::Healthy), _) => (GOOD, "healthy".to_string()),
            (Some(Health::Degraded(why)), _) => (WARN, format!("degraded: {why}")),
            (Some(Health::Unhealthy(why)), _) => (BAD, format!("unhealthy: {why}")),
            (None, true) => (IDLE, "no health reading yet".to_string()),
        };
        ui.horizontal(|ui| {
            let (rect, response) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().circle_filled(rect.center(), 5.0, dot);
            response.on_hover_text(tip);
            let rate = self.rates.get(&node.service).copied().unwrap_or(0.0);
            ui.label(RichText::new(format!("{rate:.1} calls/s")).small())
                .on_hover_text(format!("calls per second to service `{}` (all callers)", node.service));
            ui.label(RichText::new(format!("{} in · {} out", counts.messages_in, counts.messages_out)).small().weak())
                .on_hover_text("messages through this node in this pipeline");
            if counts.errors > 0 {
                ui.label(RichText::new(format!("{} errors", counts.errors)).small().color(BAD));
            }
            // The "changed since deploy" dot has its place reserved in every
            // node, so a change never widens a node over its neighbour's pins.
            let (rect, response) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            if self.changed.contains(&node.id) {
                ui.painter().circle_filled(rect.center(), 4.0, WARN);
                response
                    .on_hover_text(
                        "changed since deploy: this node, its wires or its service's settings differ from what was last deployed",
                    )
                    .widget_info(|| {
                        egui::WidgetInfo::labeled(egui::WidgetType::Label, true, "● changed since deploy")
                    });
            }
        });
    }

    fn current_transform(&mut self, to_global: &mut TSTransform, _snarl: &mut Snarl<GraphNode>) {
        if let Some(view) = self.set_view.take() {
            *to_global = view;
        }
        self.to_screen = Some(*to_global);
    }

    fn final_node_rect(&mut self, node: NodeId, rect: egui::Rect, _ui: &mut Ui, _snarl: &mut Snarl<GraphNode>) {
        self.rects.push((node, rect));
    }

    fn connect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<GraphNode>) {
        let (Some(a), Some(b)) = (snarl.get_node(from.id.node), snarl.get_node(to.id.node)) else { return };
        let port = a.outputs().get(from.id.output).cloned().unwrap_or_default();
        match can_connect(a, &port, b) {
            Ok(()) => {
                snarl.connect(from.id, to.id);
            }
            Err(reason) => self.refused = Some(reason),
        }
    }

    fn has_node_menu(&mut self, _node: &GraphNode) -> bool {
        true
    }

    fn show_node_menu(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<GraphNode>,
    ) {
        if ui.button("Duplicate").clicked() {
            if let Some((copy, pos)) = snarl.get_node_info(node).map(|info| (info.value.clone(), info.pos)) {
                let id = fresh_id(snarl, &copy.service);
                snarl.insert_node(pos + egui::vec2(40.0, 40.0), GraphNode { id, ..copy });
            }
            ui.close();
        }
        if ui.button("Delete").clicked() {
            snarl.remove_node(node);
            ui.close();
        }
    }
}
