//! What each node reports (every 2 s, into entries that expire 10 s after
//! its last report: a node gone is a node whose entry is gone), and the
//! fleet's status built from those reports and the desired state: which
//! node runs what, and why a node is behind.
//!
//! Owns: those shapes and the rule that says a node is behind. Must not
//! touch: how nodes converge or how reports are written (see `node`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::desired::DesiredService;
use crate::{Digest, Health, registry::ComponentRef};

/// One node's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's name.
    pub node: String,
    /// Its HTTP API (`airssys serve --listen`), if it has one.
    pub api: Option<String>,
    /// When it joined, ms since the Unix epoch.
    pub started_at_ms: u64,
    /// When it wrote this report.
    pub updated_at_ms: u64,
    /// Per service it was asked to run.
    pub services: BTreeMap<String, NodeService>,
}

/// One service on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeService {
    /// The version live on the node, if any.
    pub component: Option<ComponentRef>,
    /// Its digest.
    pub digest: Option<Digest>,
    /// The version the node should run now (the desired state, rollout
    /// waves considered).
    pub target: ComponentRef,
    /// The target's digest.
    pub target_digest: Digest,
    /// Whether the node runs the target as desired (config, grants, pool,
    /// limits included).
    pub converged: bool,
    /// Why not, when converging failed (the node's own error).
    pub error: Option<String>,
    /// The live version's last health reading.
    pub health: Option<Health>,
    /// Instances alive on the node.
    pub live_instances: usize,
    /// The revision of the service's desired state this report answers
    /// (a client waits for reports at or past the revision it wrote; no
    /// clocks compared).
    #[serde(default)]
    pub revision: u64,
}

/// Why a node does not run what the fleet wants, if it does not.
pub fn behind(node: &NodeStatus, desired: &DesiredService) -> Option<String> {
    let service = &desired.spec.name;
    let wanted = desired.target_for(&node.node);
    match node.services.get(service) {
        None => Some(format!("has not reported `{service}` yet")),
        Some(s) if s.error.is_some() => {
            Some(format!("cannot run {}: {}", s.target, s.error.as_deref().unwrap_or_default()))
        }
        Some(s) if s.target_digest != wanted.1 => {
            Some(format!("still working towards {} (wanted {})", s.target, wanted.0))
        }
        Some(s) if !s.converged => Some(format!("converging to {}", s.target)),
        Some(_) => None,
    }
}

/// The fleet as its nodes report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetStatus {
    /// The fleet's name.
    pub fleet: String,
    /// Every node that reported in the last 10 s, by name.
    pub nodes: Vec<NodeStatus>,
    /// Per service: what the fleet wants and where each node stands.
    pub services: Vec<ServiceView>,
}

/// One service across the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    /// The service.
    pub service: String,
    /// The version the fleet wants.
    pub desired: ComponentRef,
    /// A rollout in progress, if any (its id).
    pub rollout: Option<String>,
    /// Nodes that run what they should.
    pub converged: Vec<String>,
    /// Nodes that do not, with why.
    pub behind: BTreeMap<String, String>,
}

impl FleetStatus {
    /// Builds the view from node reports and the desired state.
    pub fn of(fleet: &str, mut nodes: Vec<NodeStatus>, desired: &[DesiredService]) -> FleetStatus {
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        let services = desired
            .iter()
            .map(|d| {
                let mut view = ServiceView {
                    service: d.spec.name.clone(),
                    desired: d.spec.component.clone(),
                    rollout: d.rollout.as_ref().map(|r| r.id.clone()),
                    converged: Vec::new(),
                    behind: BTreeMap::new(),
                };
                for node in &nodes {
                    match behind(node, d) {
                        None => view.converged.push(node.node.clone()),
                        Some(reason) => {
                            view.behind.insert(node.node.clone(), reason);
                        }
                    }
                }
                view
            })
            .collect();
        FleetStatus { fleet: fleet.to_string(), nodes, services }
    }

    /// A plain-text table: one block per node, then per service.
    pub fn table(&self) -> String {
        let mut out = format!("fleet {}: {} node(s)\n", self.fleet, self.nodes.len());
        if self.nodes.is_empty() {
            out.push_str(
                "  no node has reported in the last 10 s; start one with `airssys serve --fleet URL --node NAME`\n",
            );
        }
        for node in &self.nodes {
            out.push_str(&format!("{}  {}\n", node.node, node.api.as_deref().unwrap_or("(no HTTP API)")));
            if node.services.is_empty() {
                out.push_str("    (runs nothing)\n");
            }
            for (name, s) in &node.services {
                let live = s.component.as_ref().map_or("nothing yet".to_string(), ToString::to_string);
                let health = match &s.health {
                    Some(Health::Healthy) => "healthy".to_string(),
                    Some(Health::Degraded(r)) => format!("degraded: {r}"),
                    Some(Health::Unhealthy(r)) => format!("unhealthy: {r}"),
                    None => "health unknown".to_string(),
                };
                let state = match (&s.error, s.converged) {
                    (Some(e), _) => format!("ERROR: {e}"),
                    (None, true) => "converged".to_string(),
                    (None, false) => format!("converging to {}", s.target),
                };
                out.push_str(&format!("    {name}  {live}  {health}  {} instance(s)  {state}\n", s.live_instances));
            }
        }
        for view in &self.services {
            out.push_str(&format!("service {}: wants {}", view.service, view.desired));
            if let Some(id) = &view.rollout {
                out.push_str(&format!(" (rollout {id} under way)"));
            }
            out.push('\n');
            for (node, reason) in &view.behind {
                out.push_str(&format!("    {node} is behind: {reason}\n"));
            }
        }
        out
    }
}
