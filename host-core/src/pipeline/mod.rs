//! Pipelines: a directed acyclic graph of nodes, each a service, joined by
//! wires from (node, port) to node. The model lives here; validation in
//! `validate`, the cached plans and the `Pipelines` subsystem in `plan`,
//! the executor in `run`, the message traces of the last runs in `trace`.
//! It runs services; it never deploys them.
//!
//! Semantics, as Node-RED users know them:
//!
//! - The pipeline's input goes to every node that no wire leads into.
//! - A message (bytes + metadata) leaving a node goes to every node wired to
//!   the port it leaves by. The component picks the port with the output
//!   metadata key `port`; the default port is `out`.
//! - A node with no outgoing wires is a sink: what reaches it and leaves it
//!   is a result. A message leaving a non-sink node by a port with no wires
//!   is dropped (and counted).
//! - Results come in a defined order: by the sink's position in the
//!   topological order (ties by node name), then by arrival.
//! - When a node fails, its error policy decides: `fail` the whole run,
//!   `drop` the message, or `route` it to the node's `error` port as a
//!   message whose body is the error text.

mod plan;
mod run;
mod trace;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) use plan::Pipelines;
pub use run::{NodeOutput, PipelineRun, RunOptions};
pub(crate) use trace::Traces;
pub use trace::{
    DEFAULT_TRACE_RUNS, METADATA_ENTRIES, MessageSummary, PREVIEW_BYTES, RunTrace, TRACES_FILE, TraceId, TraceStep,
};
pub use validate::{NodeContract, PipelineError, compatible, media_type_matches, node_ports, topological_order};

/// The port a message leaves by unless the component says otherwise.
pub const DEFAULT_PORT: &str = "out";
/// The port a failed message leaves by under [`ErrorPolicy::Route`].
pub const ERROR_PORT: &str = "error";
/// The output metadata key a component sets to choose its port.
pub const PORT_KEY: &str = "port";

/// A pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Its name.
    pub name: String,
    /// Nodes by id (an id given twice is an error when read).
    #[serde(deserialize_with = "crate::unique::map")]
    pub nodes: BTreeMap<String, Node>,
    /// Wires, in the order they were drawn.
    #[serde(default)]
    pub wires: Vec<Wire>,
}

/// A node: a service and what to do when it fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The service the node calls.
    pub service: String,
    /// What a failure does.
    #[serde(default)]
    pub on_error: ErrorPolicy,
    /// Ports the node may send on besides `out` (and `error` when routed);
    /// wires from other ports are refused.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Where the studio draws it.
    #[serde(default)]
    pub position: Option<(f32, f32)>,
}

/// What a node's failure does to the message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorPolicy {
    /// The run fails.
    #[default]
    Fail,
    /// The message is dropped; the run goes on.
    Drop,
    /// The message leaves by the `error` port with the error as its body.
    Route,
}

/// A wire from a node's port to another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    /// Source node id.
    pub from: String,
    /// Source port (default `out`).
    #[serde(default = "default_port")]
    pub port: String,
    /// Target node id.
    pub to: String,
}

fn default_port() -> String {
    DEFAULT_PORT.to_string()
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} -> {}", self.from, self.port, self.to)
    }
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new(name: impl Into<String>) -> Self {
        Pipeline { name: name.into(), nodes: BTreeMap::new(), wires: Vec::new() }
    }

    /// Adds a node calling `service`.
    pub fn node(self, id: &str, service: &str) -> Self {
        self.node_with(id, service, ErrorPolicy::Fail, &[])
    }

    /// Adds a node with an error policy and extra ports.
    pub fn node_with(mut self, id: &str, service: &str, on_error: ErrorPolicy, ports: &[&str]) -> Self {
        self.nodes.insert(
            id.to_string(),
            Node {
                service: service.to_string(),
                on_error,
                ports: ports.iter().map(|p| p.to_string()).collect(),
                position: None,
            },
        );
        self
    }

    /// Adds a wire from `from`'s `port` to `to`.
    pub fn wire(mut self, from: &str, port: &str, to: &str) -> Self {
        self.wires.push(Wire { from: from.to_string(), port: port.to_string(), to: to.to_string() });
        self
    }

    /// Nodes no wire leads into: they receive the pipeline's input.
    pub fn sources(&self) -> Vec<&str> {
        self.nodes.keys().filter(|id| !self.wires.iter().any(|w| &w.to == *id)).map(String::as_str).collect()
    }

    /// Nodes with no outgoing wire: what they emit is a result.
    pub fn is_sink(&self, id: &str) -> bool {
        !self.wires.iter().any(|w| w.from == id)
    }

    /// The wires leaving `id` by `port`.
    pub fn wires_from<'a>(&'a self, id: &'a str, port: &'a str) -> impl Iterator<Item = &'a Wire> + 'a {
        self.wires.iter().filter(move |w| w.from == id && w.port == port)
    }
}
