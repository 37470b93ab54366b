//! The pipeline being edited: a `Snarl` of nodes that converts to and from
//! host-core's `Pipeline`, the wiring rule (host-core's media-type check),
//! the nodes changed since a deploy, and undo/redo by snapshots. Pure
//! functions and data: nothing here holds studio state, draws or talks to
//! a runtime.

use std::collections::BTreeMap;

use egui_snarl::{InPinId, NodeId, OutPinId, Snarl};
use host_core::pipeline::{self, ErrorPolicy, NodeContract, Pipeline};

/// One node on the canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// The node id in the pipeline.
    pub id: String,
    /// The service it calls.
    pub service: String,
    /// What a failure does.
    pub on_error: ErrorPolicy,
    /// Extra ports besides `out` (and `error` when routed).
    pub ports: Vec<String>,
    /// Media types, when the service is known.
    pub contract: Option<NodeContract>,
}

impl GraphNode {
    /// The output ports, in pin order: `out`, declared ones, then `error` under `route`.
    pub fn outputs(&self) -> Vec<String> {
        let mut ports = vec![pipeline::DEFAULT_PORT.to_string()];
        ports.extend(self.ports.iter().filter(|p| *p != pipeline::DEFAULT_PORT).cloned());
        if self.on_error == ErrorPolicy::Route && !ports.iter().any(|p| p == pipeline::ERROR_PORT) {
            ports.push(pipeline::ERROR_PORT.to_string());
        }
        ports
    }
}

/// Builds the canvas for `pipeline`; `contract` gives a service's media types.
pub fn to_snarl(pipeline: &Pipeline, contract: impl Fn(&str) -> Option<NodeContract>) -> Snarl<GraphNode> {
    let mut snarl = Snarl::new();
    let mut ids: BTreeMap<&str, NodeId> = BTreeMap::new();
    let levels = levels(pipeline);
    let mut per_level: BTreeMap<usize, f32> = BTreeMap::new();
    for (id, node) in &pipeline.nodes {
        let position = node.position.unwrap_or_else(|| {
            // No stored position: lay nodes out by level, left to right.
            let level = levels.get(id.as_str()).copied().unwrap_or(0);
            let row = per_level.entry(level).or_insert(0.0);
            let at = (40.0 + 240.0 * level as f32, 40.0 + *row);
            *row += 140.0;
            at
        });
        let graph_node = GraphNode {
            id: id.clone(),
            service: node.service.clone(),
            on_error: node.on_error,
            ports: node.ports.clone(),
            contract: contract(&node.service),
        };
        ids.insert(id.as_str(), snarl.insert_node(egui::pos2(position.0, position.1), graph_node));
    }
    for wire in &pipeline.wires {
        let (Some(&from), Some(&to)) = (ids.get(wire.from.as_str()), ids.get(wire.to.as_str())) else { continue };
        let Some(output) = snarl.get_node(from).and_then(|n| n.outputs().iter().position(|p| *p == wire.port)) else {
            continue;
        };
        snarl.connect(OutPinId { node: from, output }, InPinId { node: to, input: 0 });
    }
    snarl
}

/// Longest distance from a source, per node (0 on cycles).
fn levels(pipeline: &Pipeline) -> BTreeMap<&str, usize> {
    let mut level: BTreeMap<&str, usize> = BTreeMap::new();
    if let Ok(order) = pipeline::topological_order(pipeline) {
        for id in &order {
            let l = pipeline.wires.iter().filter(|w| &w.to == id).filter_map(|w| level.get(w.from.as_str())).max();
            if let Some(node) = pipeline.nodes.get_key_value(id.as_str()) {
                level.insert(node.0.as_str(), l.map_or(0, |l| l + 1));
            }
        }
    }
    level
}

/// The pipeline the canvas shows, with node positions.
pub fn from_snarl(name: &str, snarl: &Snarl<GraphNode>) -> Pipeline {
    let mut p = Pipeline::new(name);
    for (pos, node) in snarl.nodes_pos() {
        p.nodes.insert(
            node.id.clone(),
            pipeline::Node {
                service: node.service.clone(),
                on_error: node.on_error,
                ports: node.ports.clone(),
                position: Some((pos.x.round(), pos.y.round())),
            },
        );
    }
    let mut wires: Vec<pipeline::Wire> = snarl
        .wires()
        .filter_map(|(out, input)| {
            let from = snarl.get_node(out.node)?;
            let to = snarl.get_node(input.node)?;
            Some(pipeline::Wire {
                from: from.id.clone(),
                port: from.outputs().get(out.output)?.clone(),
                to: to.id.clone(),
            })
        })
        .collect();
    // Deterministic order: a saved file diffs cleanly.
    wires.sort_by(|a, b| (&a.from, &a.port, &a.to).cmp(&(&b.from, &b.port, &b.to)));
    p.wires = wires;
    p
}

/// Whether two pipelines differ in more than node positions.
pub fn same_structure(a: &Pipeline, b: &Pipeline) -> bool {
    let strip = |p: &Pipeline| {
        let mut p = p.clone();
        p.nodes.values_mut().for_each(|n| n.position = None);
        p
    };
    strip(a) == strip(b)
}

/// Whether a wire from `from`'s `port` to `to` may be drawn; the reason when not.
pub fn can_connect(from: &GraphNode, port: &str, to: &GraphNode) -> Result<(), String> {
    if from.id == to.id {
        return Err(format!("`{}` cannot feed itself: pipelines have no cycles", from.id));
    }
    // The error port carries error text, whatever the component produces.
    if port == pipeline::ERROR_PORT {
        return Ok(());
    }
    match (&from.contract, &to.contract) {
        (Some(a), Some(b)) if !pipeline::compatible(a, b) => Err(format!(
            "`{}` produces {} but `{}` accepts {}",
            from.id,
            a.produces.join(", "),
            to.id,
            b.accepts.join(", ")
        )),
        _ => Ok(()),
    }
}

/// A node id not used yet, from a service name: `upper`, `upper-2`, ...
pub fn fresh_id(snarl: &Snarl<GraphNode>, service: &str) -> String {
    let taken = |id: &str| snarl.nodes().any(|n| n.id == id);
    if !taken(service) {
        return service.to_string();
    }
    (2..).map(|n| format!("{service}-{n}")).find(|id| !taken(id)).unwrap_or_else(|| service.to_string())
}

/// The nodes of `current` that differ from the `deployed` pipeline: new
/// nodes, another service or error policy or ports, other outgoing wires, or
/// a service whose project entry changed (`changed_services`). Positions do
/// not count.
pub fn changed_nodes(
    current: &Pipeline,
    deployed: &Pipeline,
    changed_services: &std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    let outgoing = |p: &Pipeline, id: &str| {
        let mut wires: Vec<(String, String)> =
            p.wires.iter().filter(|w| w.from == id).map(|w| (w.port.clone(), w.to.clone())).collect();
        wires.sort();
        wires
    };
    current
        .nodes
        .iter()
        .filter(|(id, node)| {
            let same = deployed.nodes.get(id.as_str()).is_some_and(|old| {
                old.service == node.service && old.on_error == node.on_error && old.ports == node.ports
            });
            !same || outgoing(current, id) != outgoing(deployed, id) || changed_services.contains(&node.service)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Undo and redo by whole snapshots (pipelines and service entries are
/// small): `T` is what one step restores.
#[derive(Debug)]
pub struct History<T = Pipeline> {
    undo: Vec<T>,
    redo: Vec<T>,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        History { undo: Vec::new(), redo: Vec::new() }
    }
}

impl<T: PartialEq> History<T> {
    /// Records the state before an edit.
    pub fn push(&mut self, before: T) {
        if self.undo.last() != Some(&before) {
            self.undo.push(before);
            self.redo.clear();
        }
    }

    /// The state to go back to, given the current one.
    pub fn undo(&mut self, current: T) -> Option<T> {
        let previous = self.undo.pop()?;
        self.redo.push(current);
        Some(previous)
    }

    /// The state to go forward to, given the current one.
    pub fn redo(&mut self, current: T) -> Option<T> {
        let next = self.redo.pop()?;
        self.undo.push(current);
        Some(next)
    }

    /// Whether there is anything to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is anything to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> Option<NodeContract> {
        Some(NodeContract { accepts: vec!["text/plain".into()], produces: vec!["text/plain".into()] })
    }

    fn json() -> Option<NodeContract> {
        Some(NodeContract { accepts: vec!["application/json".into()], produces: vec!["application/json".into()] })
    }

    fn sample() -> Pipeline {
        Pipeline::new("p")
            .node_with("parse", "pretty", ErrorPolicy::Route, &["alert"])
            .node("a", "upper")
            .node("b", "upper")
            .wire("parse", "error", "a")
            .wire("parse", "alert", "b")
    }

    #[test]
    fn a_pipeline_survives_the_round_trip_through_the_canvas() {
        let p = sample();
        let snarl = to_snarl(&p, |s| if s == "pretty" { json() } else { text() });
        let back = from_snarl("p", &snarl);
        assert_eq!(back.nodes.keys().collect::<Vec<_>>(), ["a", "b", "parse"]);
        let wires: Vec<String> = back.wires.iter().map(ToString::to_string).collect();
        assert_eq!(wires, ["parse.alert -> b", "parse.error -> a"]);
        assert!(back.nodes.values().all(|n| n.position.is_some()), "laid out nodes get positions");
        assert_eq!(back.nodes["parse"].ports, ["alert"]);
    }

    #[test]
    fn wiring_follows_the_media_type_rule_of_host_core() {
        let node = |id: &str, contract| GraphNode {
            id: id.into(),
            service: id.into(),
            on_error: ErrorPolicy::Route,
            ports: vec![],
            contract,
        };
        let (j, t) = (node("j", json()), node("t", text()));
        let refused = can_connect(&j, "out", &t).unwrap_err();
        assert!(refused.contains("produces application/json") && refused.contains("accepts text/plain"), "{refused}");
        assert!(can_connect(&j, "error", &t).is_ok(), "the error port carries text");
        assert!(can_connect(&t, "out", &t).is_err(), "no self loops");
        assert!(can_connect(&node("x", None), "out", &t).is_ok(), "unknown contracts are not refused");
    }

    #[test]
    fn undo_and_redo_walk_the_snapshots() {
        let mut h: History = History::default();
        let a = Pipeline::new("p").node("a", "upper");
        let b = a.clone().node("b", "upper");
        h.push(a.clone());
        assert_eq!(h.undo(b.clone()), Some(a.clone()));
        assert_eq!(h.redo(a), Some(b));
        assert!(h.can_undo() && !h.can_redo());
    }

    #[test]
    fn changed_nodes_are_those_that_differ_from_the_deployed_pipeline() {
        let deployed = sample();
        let none = std::collections::BTreeSet::new();
        let mut moved = deployed.clone();
        moved.nodes.get_mut("a").unwrap().position = Some((500.0, 500.0));
        assert!(changed_nodes(&moved, &deployed, &none).is_empty(), "moving a node is not a change");
        let edited = deployed.clone().node("c", "upper").wire("a", "out", "c");
        let changed: Vec<String> = changed_nodes(&edited, &deployed, &none).into_iter().collect();
        assert_eq!(changed, ["a", "c"], "the new node and the node with a new wire");
        let services = std::collections::BTreeSet::from(["pretty".to_string()]);
        let changed: Vec<String> = changed_nodes(&deployed, &deployed, &services).into_iter().collect();
        assert_eq!(changed, ["parse"], "a node whose service's config changed");
    }

    #[test]
    fn fresh_ids_do_not_collide() {
        let snarl = to_snarl(&sample(), |_| None);
        assert_eq!(fresh_id(&snarl, "upper"), "upper");
        assert_eq!(fresh_id(&snarl, "a"), "a-2");
    }
}
