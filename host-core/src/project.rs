//! Project folders and the project file, `project.ron`: parsing (strict),
//! saving, and applying a project to any [`crate::Runtime`] (embedded or
//! remote) through the trait alone.
//!
//! A project is a folder holding component files (`components/*.wasm`) and,
//! optionally, `project.ron`: services, pipelines (with node positions for
//! the studio) and test cases. The file is RON with a
//! `schema` version; maps are sorted, so saving is deterministic and diffs
//! stay small. Unknown fields are errors, not ignored, and so is a key named
//! twice in any map (services, pipelines, nodes, config) or two tests with
//! one name: the error gives the repeated entry's line and column, never
//! "last one wins".
//!
//! ```ron
//! (
//!     schema: 1,
//!     name: "text-tools",
//!     services: {
//!         "upper": (component: "components/upper.wasm"),
//!         "count": (component: "components/word-count.wasm", pool: 1),
//!     },
//!     pipelines: {
//!         "shout": (nodes: {"up": (service: "upper"), "n": (service: "count")},
//!                   wires: [(from: "up", to: "n")]),
//!     },
//!     tests: [(name: "counts words", pipeline: "shout", input: "a b", expect: Results(["..."]))],
//! )
//! ```

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    Capability, Digest, Error, Result,
    deploy::{DeployRequest, PoolMode, ServiceLimits, Strategy},
    pipeline::{Node, Pipeline, Wire},
    registry::ComponentRef,
};

/// The project file's current schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// The pre-release that marks a version stored from a project's own file:
/// `SERVICE@0.0.0-local.d<digest>`.
pub const LOCAL_PRE: &str = "local.d";

/// Whether `version` is the local build of a project file (not a published one).
pub fn is_local(version: &semver::Version) -> bool {
    version.pre.as_str().starts_with(LOCAL_PRE)
}

/// The file name inside a project folder.
pub const PROJECT_FILE: &str = "project.ron";

pub use crate::watch::component_files;

/// `project.ron`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Schema version (currently 1).
    pub schema: u32,
    /// The project's name.
    pub name: String,
    /// The pipeline `airssys run` uses when none is named.
    #[serde(default)]
    pub default_pipeline: Option<String>,
    /// Services by name (a name given twice is an error).
    #[serde(default, deserialize_with = "crate::unique::map")]
    pub services: BTreeMap<String, ServiceEntry>,
    /// Pipelines by name (a name given twice is an error).
    #[serde(default, deserialize_with = "crate::unique::map")]
    pub pipelines: BTreeMap<String, PipelineEntry>,
    /// Test cases, run by `airssys test` (two with one name are an error).
    #[serde(default, deserialize_with = "crate::unique::named_list")]
    pub tests: Vec<TestCase>,
}

/// A service of the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// A path relative to the project (`components/x.wasm`), `name@version`,
    /// or an OCI reference (`oci://REGISTRY/REPO:TAG` or `@sha256:...`),
    /// pulled on apply.
    pub component: String,
    /// Configuration for `init` (a key given twice is an error).
    #[serde(default, deserialize_with = "crate::unique::map")]
    pub config: BTreeMap<String, String>,
    /// Capabilities granted, in textual form (`file-read:/data`, ...).
    #[serde(default)]
    pub grants: Vec<String>,
    /// Instances in the pool; 0 means a fresh instance per call.
    #[serde(default = "default_pool")]
    pub pool: usize,
    /// Bounds on every call, e.g. `limits: (timeout_ms: 2000, max_memory_mib: 256)`
    /// (fields left out take the defaults; no `limits` keeps the target's).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "bare_limits",
        deserialize_with = "some_limits"
    )]
    pub limits: Option<ServiceLimits>,
    /// A WASI command's arguments after `argv[0]` (the service name), e.g.
    /// `args: ["-c", ".items[]"]`; a contract component takes none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// `limits: (...)` rather than RON's `limits: Some((...))`.
fn some_limits<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<ServiceLimits>, D::Error> {
    ServiceLimits::deserialize(d).map(Some)
}

fn bare_limits<S: serde::Serializer>(limits: &Option<ServiceLimits>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match limits {
        Some(limits) => limits.serialize(s),
        None => s.serialize_none(),
    }
}

fn default_pool() -> usize {
    2
}

/// A pipeline with node positions for the studio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineEntry {
    /// Nodes by id (an id given twice is an error).
    #[serde(deserialize_with = "crate::unique::map")]
    pub nodes: BTreeMap<String, Node>,
    /// Wires.
    #[serde(default)]
    pub wires: Vec<Wire>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What it checks.
    pub name: String,
    /// The pipeline to run.
    pub pipeline: String,
    /// The input, as text.
    pub input: String,
    /// What must come out.
    pub expect: Expect,
}

impl crate::unique::Named for TestCase {
    fn name(&self) -> &str {
        &self.name
    }
    const WHAT: &'static str = "test";
}

/// The expected outcome of a test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expect {
    /// These result bodies, in order.
    Results(Vec<String>),
    /// The run fails with an error containing this text.
    Error(String),
}

/// A loaded project: its folder and file.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder.
    pub dir: PathBuf,
    /// The parsed file.
    pub file: ProjectFile,
}

/// The folder inside a project that holds its embedded runtime's data
/// (registry, services, audit log) unless another data folder is named.
pub const DATA_DIR: &str = ".airssys";

impl Project {
    /// The project's own data folder: `<project>/.airssys`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(DATA_DIR)
    }

    /// The pipeline to run when none is named: `default_pipeline`, else the
    /// only pipeline, else one named `main`; `None` when the choice is not
    /// clear (several pipelines, none of them the default).
    pub fn default_pipeline(&self) -> Option<&str> {
        let pipelines = &self.file.pipelines;
        self.file
            .default_pipeline
            .as_deref()
            .or_else(|| (pipelines.len() == 1).then(|| pipelines.keys().next().map(String::as_str)).flatten())
            .or_else(|| pipelines.contains_key("main").then_some("main"))
    }

    /// Opens a project from its folder or its `project.ron`.
    pub fn open(path: &Path) -> Result<Self> {
        let (dir, file) = if path.is_dir() {
            (path.to_path_buf(), path.join(PROJECT_FILE))
        } else {
            (path.parent().unwrap_or(Path::new(".")).to_path_buf(), path.to_path_buf())
        };
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read the project file", &file, e))?;
        let parsed = parse(&text).map_err(|(line, column, message)| Error::ProjectFile {
            path: file.clone(),
            line,
            column,
            message,
        })?;
        if parsed.schema != SCHEMA_VERSION {
            return Err(Error::ProjectFile {
                path: file,
                line: 1,
                column: 1,
                message: format!(
                    "schema {} is not supported; this airssys reads schema {SCHEMA_VERSION}",
                    parsed.schema
                ),
            });
        }
        Ok(Project { dir, file: parsed })
    }

    /// Replaces (or adds) a pipeline, as the studio's editor saves it.
    pub fn set_pipeline(&mut self, pipeline: &Pipeline) {
        self.file.pipelines.insert(
            pipeline.name.clone(),
            PipelineEntry { nodes: pipeline.nodes.clone(), wires: pipeline.wires.clone() },
        );
    }

    /// Writes `project.ron` atomically (sorted, so diffs stay small;
    /// comments are not kept).
    pub fn save(&self) -> Result<()> {
        crate::fsutil::write_atomic(&self.dir.join(PROJECT_FILE), to_text(&self.file).as_bytes())
    }

    /// Writes the project into the folder `dir` (created if needed) and
    /// moves there: `project.ron` and the component files it names by a
    /// relative path are copied; the runtime data (`.airssys/`) is not.
    /// A folder that already holds a `project.ron` is refused, so nothing
    /// is overwritten.
    pub fn save_as(&mut self, dir: &Path) -> Result<()> {
        let target = dir.join(PROJECT_FILE);
        if target.exists() {
            return Err(Error::io(
                "save the project",
                &target,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "this folder already holds a project; choose an empty or new folder",
                ),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create the project folder", dir, e))?;
        for entry in self.file.services.values() {
            let relative = Path::new(&entry.component);
            if !entry.component.ends_with(".wasm") || relative.is_absolute() {
                continue;
            }
            let (from, to) = (self.dir.join(relative), dir.join(relative));
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("create the folder", parent, e))?;
            }
            std::fs::copy(&from, &to).map_err(|e| Error::io("copy the component", &from, e))?;
        }
        crate::fsutil::write_atomic(&target, to_text(&self.file).as_bytes())?;
        self.dir = dir.to_path_buf();
        Ok(())
    }

    /// The pipeline named `name`.
    pub fn pipeline(&self, name: &str) -> Result<Pipeline> {
        let entry = self.file.pipelines.get(name).ok_or_else(|| Error::UnknownPipeline {
            name: name.to_string(),
            known: self.file.pipelines.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
        Ok(Pipeline { name: name.to_string(), nodes: entry.nodes.clone(), wires: entry.wires.clone() })
    }

    /// Stores every service's component and deploys the services whose
    /// version, config or grants changed, each with its service's default
    /// strategy (Immediate for new services).
    pub fn apply(&self, runtime: &dyn crate::Runtime) -> Result<()> {
        self.apply_with(runtime, None)
    }

    /// [`Project::apply`] rolling out every changed service with `strategy`
    /// (`None`: the service's default).
    pub fn apply_with(&self, runtime: &dyn crate::Runtime, strategy: Option<&Strategy>) -> Result<()> {
        for (name, entry) in &self.file.services {
            let grants = entry
                .grants
                .iter()
                .map(|g| {
                    g.parse::<Capability>()
                        .map_err(|e| Error::GrantInvalid { capability: g.clone(), reason: e.to_string() })
                })
                .collect::<Result<Vec<_>>>()?;
            let reference = self.component_ref(runtime, name, &entry.component)?;
            let pool = if entry.pool == 0 { PoolMode::PerCall } else { PoolMode::Pooled { size: entry.pool } };
            let current = match runtime.status(Some(name)) {
                Ok(mut statuses) => statuses.pop().map(|s| s.spec),
                Err(Error::UnknownService { .. }) => None,
                Err(e) => return Err(e),
            };
            let unchanged = current.is_some_and(|spec| {
                spec.component == reference
                    && spec.config == entry.config
                    && spec.grants == grants
                    && spec.pool == pool
                    && entry.limits.is_none_or(|limits| spec.limits == limits)
                    && spec.args == entry.args
            });
            if unchanged {
                continue;
            }
            let mut request = DeployRequest::new(name, reference).pool(pool);
            request.config = Some(entry.config.clone());
            request.grants = Some(grants);
            request.limits = entry.limits;
            request.args = Some(entry.args.clone());
            request.strategy = strategy.cloned();
            runtime.deploy(request)?;
        }
        Ok(())
    }

    /// `name@version` as is; a file is stored as `SERVICE@0.0.0-local.d<digest>`;
    /// an `oci://` reference is pulled (unless that manifest was pulled
    /// before) and stored as `SERVICE@0.0.0-oci.d<manifest digest>`, its
    /// origin kept in the project's `.airssys/oci-origins.json`.
    fn component_ref(&self, runtime: &dyn crate::Runtime, service: &str, component: &str) -> Result<ComponentRef> {
        if component.starts_with("oci://") {
            return self.pull_oci(runtime, service, component);
        }
        if !component.ends_with(".wasm") && component.contains('@') {
            return Ok(component.parse()?);
        }
        let path = self.dir.join(component);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read the component", &path, e))?;
        let digest = Digest::of(&bytes);
        let reference: ComponentRef = format!("{service}@0.0.0-{LOCAL_PRE}{}", digest.short()).parse()?;
        runtime.add_component(&reference, &bytes)?;
        Ok(reference)
    }
}

impl Project {
    #[cfg(feature = "oci")]
    fn pull_oci(&self, runtime: &dyn crate::Runtime, service: &str, component: &str) -> Result<ComponentRef> {
        use crate::oci;
        let source = oci::OciReference::parse(component)?;
        let options = oci::OciOptions::for_reference(&source, None, false)?;
        let origins = oci::Origins::in_dir(&self.data_dir());
        let report = oci::pull(runtime, &source, oci::Naming::ByDigest(service), &origins, &options)?;
        if report.downloaded {
            tracing::info!(target: "airssys::oci", %source, component = %report.component, "pulled");
        }
        Ok(report.component)
    }

    #[cfg(not(feature = "oci"))]
    fn pull_oci(&self, _runtime: &dyn crate::Runtime, _service: &str, component: &str) -> Result<ComponentRef> {
        Err(Error::OciReference {
            reference: component.to_string(),
            reason: "this airssys was built without the `oci` feature".to_string(),
        })
    }
}

/// Parses project text; on error gives (line, column, message), the
/// message starting with the part of the file (`in services: duplicate key
/// `upper`: ...`). A key named twice in any map, or two tests with one
/// name, are errors at the repeated entry.
pub fn parse(text: &str) -> std::result::Result<ProjectFile, (usize, usize, String)> {
    crate::unique::from_ron(text)
}

/// Serializes a project file deterministically (sorted maps, fixed layout).
pub fn to_text(file: &ProjectFile) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false).indentor("    ".to_string());
    ron::ser::to_string_pretty(file, config).unwrap_or_default()
}
