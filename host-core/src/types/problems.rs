//! What refuses a pipeline or a component before anything runs: a
//! pipeline's validation problems ([`PipelineError`]) and a contract
//! function whose type differs from the contract's ([`ShapeMismatch`]).
//! Plain data, so that `Error` can carry them and they cross the wire.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::CONTRACT_VERSION;

/// One problem with a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PipelineError {
    /// The pipeline has no nodes.
    #[error("pipeline has no nodes")]
    Empty,
    /// A wire names a node that does not exist.
    #[error("wire {wire} refers to node `{node}`, which does not exist")]
    DanglingWire {
        /// The wire.
        wire: String,
        /// The missing node.
        node: String,
    },
    /// Wires form a cycle.
    #[error("nodes {} form a cycle; pipelines must be acyclic", nodes.join(" -> "))]
    Cycle {
        /// The nodes on the cycle.
        nodes: Vec<String>,
    },
    /// A node's service is unknown.
    #[error("node `{node}` calls service `{service}`, which does not exist; deploy it first")]
    UnknownService {
        /// The node.
        node: String,
        /// The service.
        service: String,
    },
    /// A wire leaves by a port its node does not have.
    #[error("wire {wire} leaves `{node}` by port `{port}`, but its ports are {}", allowed.join(", "))]
    UnknownPort {
        /// The wire.
        wire: String,
        /// The node.
        node: String,
        /// The port used.
        port: String,
        /// The node's ports.
        allowed: Vec<String>,
    },
    /// The source produces nothing the target accepts.
    #[error(
        "wire {wire}: `{from}` produces {} but `{to}` accepts {}",
        produces.join(", "),
        accepts.join(", ")
    )]
    MediaTypeMismatch {
        /// The wire.
        wire: String,
        /// Source node.
        from: String,
        /// Target node.
        to: String,
        /// What the source produces.
        produces: Vec<String>,
        /// What the target accepts.
        accepts: Vec<String>,
    },
}

/// One contract function whose type in the component differs from the
/// contract's (or which is missing, or which the contract does not have).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeMismatch {
    /// The interface as the component names it, e.g.
    /// `airssys:component/guest@0.1.0`.
    pub interface: String,
    /// Whether the component imports the interface (`host`) rather than
    /// exports it (`guest`, `state`).
    pub imported: bool,
    /// The function, e.g. `execute`.
    pub function: String,
    /// The contract's type, WIT-like, e.g.
    /// `func(input: record input { data: list<u8>, ... }) -> result<output, error>`;
    /// `(not in the contract)` for an imported function the host does not offer.
    pub expected: String,
    /// The component's type, WIT-like; `(missing)` when the component does
    /// not export the function.
    pub found: String,
    /// Where the two first differ, e.g.
    /// ``parameter `input`: expected record `input`, found list<u8>``.
    pub difference: String,
}

/// The message of `Error::ContractShape`: the mismatches grouped by
/// interface, then what to do.
pub fn mismatch_text(mismatches: &[ShapeMismatch]) -> String {
    let mut out = String::new();
    let mut current: Option<(&str, bool)> = None;
    for m in mismatches {
        if current != Some((m.interface.as_str(), m.imported)) {
            current = Some((m.interface.as_str(), m.imported));
            if !out.is_empty() {
                out.push('\n');
            }
            let import = if m.imported { "import of " } else { "" };
            let _ = write!(out, "the component's {import}{} does not match the contract:", m.interface);
        }
        let _ = write!(
            out,
            "\n  function `{}`: {}\n    expected {}\n    found    {}",
            m.function, m.difference, m.expected, m.found
        );
    }
    let _ = write!(out, "\nRebuild the component against wit/component.wit (airssys:component@{CONTRACT_VERSION})");
    out
}
