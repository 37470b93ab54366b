//! [`Host`], the facade: the one public door to the runtime. It composes
//! the subsystems (the engine and compile cache, and for a data folder the
//! registry, security, metrics, services and pipelines) and hands each
//! verb to the subsystem that owns it; the subsystems do not know it.
//! Component verbs are here, data-folder verbs in `data`, metrics, health
//! and live events in `observe`.

mod data;
mod observe;

use std::{
    path::Path,
    sync::{Arc, Weak},
};

use crate::{
    Error, Result,
    component::LoadedComponent,
    config::HostConfig,
    deploy::Services,
    engine::{Description, Engine, Inspection},
    instance::Instance,
    limits::CallLimits,
    metrics::Metrics,
    pipeline::{Pipelines, Traces},
    registry::Registry,
    security::{SandboxPolicy, Security},
    types::Digest,
};

/// The runtime: loads components and makes instances of them; with a data
/// folder, also stores versions, runs services and pipelines, and records
/// what changes.
///
/// ```no_run
/// use host_core::{Host, HostConfig, Input};
/// # fn main() -> Result<(), host_core::Error> {
/// let host = Host::new(HostConfig::default())?;
/// let upper = host.load_file("sample-projects/text-tools/components/upper.wasm")?;
/// let mut instance = host.instantiate(&upper)?;
/// instance.init(&[])?;
/// let out = instance.execute(&Input::new(b"hello".to_vec()))?;
/// assert_eq!(out.data, b"HELLO");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    data: Option<DataFolder>,
}

/// The subsystems of a data folder.
struct DataFolder {
    dir: std::path::PathBuf,
    registry: Registry,
    security: Arc<Security>,
    metrics: Arc<Metrics>,
    services: Arc<Services>,
    pipelines: Pipelines,
}

impl DataFolder {
    /// Opens the data folder `dir`, creating what is missing: folders
    /// airssys makes (`dir` itself included) are private (0700) from the
    /// start; a folder that exists keeps its mode (see `fsutil`).
    fn open(dir: &Path, engine: &Engine) -> Result<Self> {
        let registry = Registry::open(dir)?;
        let security = Arc::new(Security::open(dir, engine.config().custom_capabilities.clone()));
        let metrics = Arc::new(Metrics::new(dir));
        let services =
            Arc::new(Services::open(dir, engine.clone(), registry.clone(), security.clone(), metrics.clone())?);
        services.follow_tier_ups()?;
        let traces = Arc::new(Traces::new(dir, engine.config().trace_runs));
        let pipelines = Pipelines::new(engine.clone(), registry.clone(), services.clone(), metrics.clone(), traces);
        Ok(DataFolder { dir: dir.to_path_buf(), registry, security, metrics, services, pipelines })
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("config", self.config()).finish_non_exhaustive()
    }
}

/// A [`Host`] that does not keep it alive (background threads hold this).
pub(crate) struct WeakHost(Weak<Inner>);

impl WeakHost {
    pub(crate) fn upgrade(&self) -> Option<Host> {
        self.0.upgrade().map(|inner| Host { inner })
    }
}

impl Host {
    /// Builds the engine, links WASI and the airssys host interface, opens
    /// the compile cache and starts the epoch ticker; with a data folder,
    /// opens its registry, audit log, metrics and services.
    pub fn new(config: HostConfig) -> Result<Self> {
        let data_dir = config.data_dir.clone();
        let engine = Engine::new(config)?;
        let data = match &data_dir {
            Some(dir) => Some(DataFolder::open(dir, &engine)?),
            None => None,
        };
        Ok(Host { inner: Arc::new(Inner { engine, data }) })
    }

    fn data(&self) -> Result<&DataFolder> {
        self.inner.data.as_ref().ok_or(Error::NoDataDir)
    }

    /// A handle that does not keep the host alive.
    pub(crate) fn downgrade(&self) -> WeakHost {
        WeakHost(Arc::downgrade(&self.inner))
    }

    /// From now on, loads components for async calls even when they cannot
    /// wait in the host (the bench measures that path).
    pub(crate) fn always_async(&self) {
        self.inner.engine.always_async();
    }

    /// The host's settings.
    pub fn config(&self) -> &HostConfig {
        self.inner.engine.config()
    }

    /// The shared wasmtime engine.
    pub fn engine(&self) -> &wasmtime::Engine {
        self.inner.engine.wasmtime()
    }

    /// How many components this host has compiled (cache misses).
    pub fn compilations(&self) -> u64 {
        self.inner.engine.compilations()
    }

    /// Reads, validates, compiles (or loads from cache) and pre-links.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Arc<LoadedComponent>> {
        self.inner.engine.load_file(path)
    }

    /// Validates, compiles (or loads from cache) and pre-links `bytes`.
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<Arc<LoadedComponent>> {
        self.inner.engine.load_bytes(bytes)
    }

    /// Like [`Host::load_bytes`] with a display name for logs.
    ///
    /// Errors: the bytes are not a component ([`Error::NotWasm`],
    /// [`Error::CoreModule`], [`Error::InvalidComponent`]); it implements
    /// neither the contract nor `wasi:cli/run` ([`Error::MissingExport`]),
    /// or another contract version ([`Error::ContractVersion`]); a contract
    /// function it exports or imports does not have the contract's type
    /// ([`Error::ContractShape`]); an import is not provided ([`Error::Link`]).
    pub fn load_named(&self, bytes: &[u8], name: Option<String>) -> Result<Arc<LoadedComponent>> {
        self.inner.engine.load_named(bytes, name)
    }

    /// Drops a component from the in-memory table (the disk cache stays).
    pub fn evict(&self, digest: &Digest) {
        self.inner.engine.evict(digest)
    }

    /// A new instance with the host's default limits.
    pub fn instantiate(&self, component: &Arc<LoadedComponent>) -> Result<Instance> {
        self.inner.engine.instantiate(component)
    }

    /// A new instance with its own limits.
    pub fn instantiate_with(&self, component: &Arc<LoadedComponent>, limits: CallLimits) -> Result<Instance> {
        self.inner.engine.instantiate_with(component, limits)
    }

    /// A new instance whose WASI context follows `policy` (its grants).
    pub fn instantiate_sandboxed(
        &self,
        component: &Arc<LoadedComponent>,
        limits: CallLimits,
        policy: Arc<SandboxPolicy>,
    ) -> Result<Instance> {
        self.inner.engine.instantiate_sandboxed(component, limits, policy)
    }

    /// Runs the introspection exports (`metadata`, `required-capabilities`)
    /// in a throw-away instance.
    pub fn describe(&self, component: &Arc<LoadedComponent>) -> Result<Description> {
        self.inner.engine.describe(component)
    }

    /// `init`, one `execute`, `shutdown` in a fresh instance.
    pub fn call_once(
        &self,
        component: &Arc<LoadedComponent>,
        config: &[(String, String)],
        input: &crate::Input,
        limits: CallLimits,
    ) -> Result<crate::Output> {
        self.inner.engine.call_once(component, &[], config, input, limits)
    }

    /// [`Host::call_once`] of a WASI command with arguments: `argv[0]` is
    /// the component's name, then `args`. Errors: arguments for a contract
    /// component are [`crate::Error::ArgsNeedCommand`].
    pub fn call_once_with_args(
        &self,
        component: &Arc<LoadedComponent>,
        args: &[String],
        config: &[(String, String)],
        input: &crate::Input,
        limits: CallLimits,
    ) -> Result<crate::Output> {
        self.inner.engine.call_once(component, args, config, input, limits)
    }

    /// Reads and inspects a component file (see [`Host::inspect`]).
    pub fn inspect_file(&self, path: impl AsRef<Path>) -> Result<Inspection> {
        self.inner.engine.inspect_file(path)
    }

    /// Describes `bytes` like [`Host::describe`]. A component whose contract
    /// functions do not have the contract's types is described too, as far
    /// as possible: [`Inspection::mismatches`] lists what differs,
    /// [`Inspection::refused`] says why it will not load, and `metadata` and
    /// `required-capabilities` are called only if their own types match and
    /// the imports link (otherwise the `*_error` fields say why not).
    ///
    /// Errors: what [`Host::load_named`] refuses other than
    /// [`Error::ContractShape`]; a loadable component whose introspection
    /// calls fail.
    pub fn inspect(&self, bytes: &[u8], name: Option<String>) -> Result<Inspection> {
        self.inner.engine.inspect(bytes, name)
    }
}
