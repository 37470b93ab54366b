//! What the studio and its runtime thread say to each other: the
//! [`Request`]s the UI sends, the [`Reply`]s that say what happened (each
//! failure with its cause), and the data they carry (the [`Target`], a
//! service as the studio shows it, a registry entry). Data only; nothing
//! here calls a runtime or touches the studio's state.

use std::{collections::BTreeMap, path::PathBuf};

use host_core::{
    Capability, Description,
    deploy::{RolloutRecord, ServiceStatus, Strategy},
    events::RuntimeEvent,
    fleet::FleetStatus,
    pipeline::{NodeContract, Pipeline, PipelineRun},
    project::Project,
    registry::{ComponentRef, VersionRecord},
    security::audit::AuditRecord,
};

/// Where the studio deploys and runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The runtime inside the studio, on the project's `.airssys/` folder.
    Embedded,
    /// An `airssys serve` at a URL, with its token file.
    Remote { url: String, token_file: PathBuf },
    /// A fleet of `airssys serve --fleet` nodes on NATS JetStream: its
    /// server URL(s), the fleet's name, and the credentials file if the
    /// server wants one.
    Fleet { url: String, name: String, credentials: Option<PathBuf> },
}

impl Target {
    /// What the target is called in the studio's texts.
    pub fn describe(&self) -> String {
        match self {
            Target::Embedded => "the embedded runtime".to_string(),
            Target::Remote { url, .. } => url.clone(),
            Target::Fleet { url, name, .. } => format!("fleet `{name}` at {url}"),
        }
    }
}

/// What the UI asks for.
#[derive(Debug)]
pub enum Request {
    /// Open a project folder: store and deploy its services on the target.
    Open(PathBuf),
    /// Use another target from now on, and apply the project there.
    Connect { target: Target, project: Option<PathBuf> },
    /// Run a pipeline on an input, keeping every node's output.
    Run { pipeline: Pipeline, input: Vec<u8> },
    /// Store and deploy the project's changed services with `strategy`.
    Deploy { project: Box<Project>, strategy: Strategy },
    /// Roll a service back to the version it ran before.
    Rollback { service: String },
    /// The user's answers in the grant dialog for `service`: each requested
    /// capability (its scope possibly narrowed) and whether it is allowed.
    /// Every answer is audited; the allowed ones become the service's grants
    /// and the project is applied again (with `strategy`).
    Decide { project: Box<Project>, service: String, decisions: Vec<(Capability, bool)>, strategy: Option<Strategy> },
    /// Store a `.wasm` file (dropped on the window) in the registry.
    AddFile(PathBuf),
    /// Pull `reference` (`oci://...`) into the registry; where it came
    /// from is kept in `origins_dir` (the project's data folder).
    PullOci { reference: String, origins_dir: PathBuf },
    /// The registry, the audit log and the rollouts, now.
    Refresh,
    /// Write `project.ron` of `project` (the document at `revision`).
    Save { project: Box<Project>, revision: u64 },
    /// Write the project into the folder `dir`, with its component files.
    SaveAs { project: Box<Project>, dir: PathBuf },
    /// Read a file as the run console's input.
    LoadInput(PathBuf),
}

/// A service of the open project as the studio shows it.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// `name@version` deployed.
    pub version: String,
    /// Its component's description.
    pub description: Description,
    /// What the runtime holds for it: config, grants, history, weights.
    pub status: ServiceStatus,
}

impl ServiceInfo {
    /// Media types, for the wiring rule.
    pub fn contract(&self) -> NodeContract {
        contract_of(&self.description)
    }
}

/// The media types a description declares.
pub fn contract_of(description: &Description) -> NodeContract {
    NodeContract { accepts: description.metadata.accepts.clone(), produces: description.metadata.produces.clone() }
}

/// A component name in the registry, for the palette.
#[derive(Debug, Clone)]
pub struct RegistryEntry {
    /// The name.
    pub name: String,
    /// Its versions, oldest first.
    pub versions: Vec<VersionRecord>,
    /// The newest version's description (`None` if it cannot be described).
    pub description: Option<Description>,
}

impl RegistryEntry {
    /// `name@newest version`.
    pub fn latest(&self) -> Option<ComponentRef> {
        self.versions.last().map(|v| ComponentRef { name: self.name.clone(), version: v.version.clone() })
    }
}

/// What comes back: what happened, each failure with its cause (the
/// error's text).
#[derive(Debug)]
pub enum Reply {
    /// `Open` or `Connect`: the project is applied on the target and its
    /// services described.
    Opened { project: Box<Project>, services: BTreeMap<String, ServiceInfo> },
    /// Opening or applying the project (`Open`, `Connect`) failed.
    OpenFailed { dir: PathBuf, cause: String },
    /// `Deploy`: the project's services are live.
    Deployed { project: Box<Project>, services: BTreeMap<String, ServiceInfo> },
    /// `Deploy` failed (nothing changed for the services it did not reach).
    DeployFailed { cause: String },
    /// `Decide`: every capability was allowed, the grants are in the
    /// project, and it is applied.
    Granted { project: Box<Project>, services: BTreeMap<String, ServiceInfo> },
    /// `Decide`: the user denied `denied`, so `service` was not deployed.
    Denied { dir: PathBuf, service: String, denied: Vec<Capability> },
    /// `Decide`: the decisions could not be audited, or applying the
    /// granted project failed.
    GrantFailed { dir: PathBuf, cause: String },
    /// Something else the user asked for failed (rollback, add, a thread).
    Failed { action: String, cause: String },
    /// The target changed (no project to apply).
    Connected,
    /// The new target could not be used; `kept` is still in use.
    ConnectFailed { kept: Target, cause: String },
    /// A service needs capabilities nobody granted: ask the user.
    NeedsGrants {
        project: Box<Project>,
        service: String,
        component: String,
        missing: Vec<Capability>,
        strategy: Option<Strategy>,
    },
    /// A run finished.
    Ran(Result<PipelineRun, String>),
    /// A rollback finished.
    RolledBack { record: Box<RolloutRecord>, services: BTreeMap<String, ServiceInfo> },
    /// A dropped file is in the registry (`reused`: those bytes were
    /// already stored under this version).
    Added { reference: ComponentRef, reused: bool },
    /// An OCI pull finished: stored as `component`; `moved_from` is the
    /// tag's manifest digest at the last pull when it moved since.
    Pulled { reference: String, component: ComponentRef, moved_from: Option<String> },
    /// `Save`: `file` holds the document as it was at `revision`.
    Saved { file: PathBuf, revision: u64 },
    /// `SaveAs`: the project is written into `dir`.
    SavedAs { dir: PathBuf },
    /// `Save` or `SaveAs` failed; nothing was replaced.
    SaveFailed { cause: String },
    /// `LoadInput`: the file's text (invalid UTF-8 replaced).
    InputLoaded { text: String },
    /// `LoadInput` failed.
    InputFailed { path: PathBuf, cause: String },
    /// The registry, the audit log and recent rollouts.
    Refreshed { registry: Vec<RegistryEntry>, audit: Vec<AuditRecord>, rollouts: Vec<RolloutRecord> },
    /// Rollout progress, a guest log line or metrics, as they happen.
    Event(Box<RuntimeEvent>),
    /// The fleet's nodes and where each service stands on them (every
    /// 2 s while the target is a fleet), or why they could not be read.
    Fleet(Result<Box<FleetStatus>, String>),
}

impl Reply {
    /// Whether this answers a request (events and refreshes come unasked
    /// or are not waited for).
    pub fn answers(&self) -> bool {
        !matches!(self, Reply::Event(_) | Reply::Refreshed { .. } | Reply::Fleet(_))
    }
}
