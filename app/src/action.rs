//! What the user asked for, as data: views push [`Action`]s and
//! `studio::apply` carries them out, one at a time, in the order pushed.
//! Owns only these types; nothing here reads or writes state, and nothing
//! here knows the worker or a widget.

use std::path::PathBuf;

use egui_snarl::NodeId;
use host_core::{
    deploy::ServiceLimits,
    pipeline::{ErrorPolicy, Pipeline},
    registry::ComponentRef,
};

use crate::{state::view::DeployForm, worker::Target};

/// What is dragged from the palette onto the canvas (or added with its
/// Add button).
#[derive(Debug, Clone, PartialEq)]
pub enum PaletteItem {
    /// A service of the project.
    Service(String),
    /// A component version in the registry (becomes a new service).
    Component(ComponentRef),
}

/// The user's answer when leaving a project with unsaved changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveChoice {
    /// Save first, then leave (nothing happens if the save fails).
    Save,
    /// Leave and drop the changes.
    Discard,
    /// Stay.
    Cancel,
}

/// One thing the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a project folder now (unsaved changes are dropped).
    Open(PathBuf),
    /// Open a project folder, asking first when the open one has unsaved
    /// changes.
    OpenAsking(PathBuf),
    /// The window is being closed: ask first when there are unsaved changes.
    Quit,
    /// The answer to the unsaved-changes question.
    Leave(LeaveChoice),
    /// Deploy and run on `target` from now on.
    Connect(Target),
    /// Write the document into `project.ron`.
    Save,
    /// Write the project into another folder and open it there.
    SaveAs(PathBuf),
    /// Read a file into the run console's input.
    LoadInput(PathBuf),
    /// Show another pipeline of the project (the current one's edits stay
    /// in the project).
    ShowPipeline(String),
    /// Add a node for `item` at `at` (graph coordinates; `None`: next to
    /// the others). A registry component becomes a service of the project
    /// too, in the same undo step.
    AddNode { item: PaletteItem, at: Option<egui::Pos2> },
    /// Delete these canvas nodes (one undo step).
    DeleteNodes(Vec<NodeId>),
    /// The canvas changed the graph's structure (wires, node menu);
    /// `before` is the pipeline as it was.
    GraphEdited { before: Pipeline },
    /// The canvas moved nodes (saved, not an undo step).
    NodesMoved,
    /// Set what a failure of node `node` does.
    SetErrorPolicy { node: String, policy: ErrorPolicy },
    /// Set (or add) a configuration key of `service`.
    SetConfig { service: String, key: String, value: String },
    /// Remove a configuration key of `service`.
    RemoveConfig { service: String, key: String },
    /// Set the limits of `service`.
    SetLimits { service: String, limits: ServiceLimits },
    /// Set a WASI command's arguments (after `argv[0]`, the service name).
    SetArgs { service: String, args: Vec<String> },
    /// Undo the last edit of the project.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Run the pipeline on the canvas with this input.
    Run { input: String },
    /// Keep running the pipeline (traffic for a canary).
    SetTraffic(bool),
    /// Deploy the project's changed services with the form's strategy.
    Deploy(DeployForm),
    /// Roll a service back to the version it ran before.
    Rollback(String),
    /// Forget the guest log lines received so far.
    ClearLogs,
    /// Ask for the registry, audit log and rollouts again.
    Refresh,
    /// Store a `.wasm` file in the registry.
    AddFile(PathBuf),
    /// Pull a component from an OCI registry (`oci://REGISTRY/REPO:TAG`)
    /// into the registry.
    PullOci(String),
    /// A wire was refused on the canvas, with the reason.
    WireRefused(String),
    /// The grant dialog's row `row` now reads `allow` and `scope`.
    EditGrant { row: usize, allow: bool, scope: String },
    /// The grant dialog's answer: `true` continues with the ticked rows,
    /// `false` denies every row.
    AnswerGrants(bool),
}
