//! `Host`: one engine, one linker, one compile cache, shared by every
//! component it loads. Cheap to clone; safe to share across threads.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use wasmtime::{Engine, component::Component, component::Linker};

use crate::{
    Error, Result, bindings,
    component::{self, ComponentInfo, LoadedComponent},
    engine::{self, CompileCache, EpochTicker, LoadOrigin},
    instance::{HostState, Instance},
    security::{CustomCapability, SandboxPolicy},
    types::{Capability, Digest, Metadata},
};

/// Settings of a [`Host`].
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The data folder (registry, services, rollout history); `None` runs
    /// components without one.
    pub data_dir: Option<PathBuf>,
    /// Where compiled code is cached; `None` disables the disk cache.
    pub cache_dir: Option<PathBuf>,
    /// How often the epoch advances; deadlines are accurate to one tick.
    pub epoch_tick: Duration,
    /// Instance pool sizing.
    pub pool: PoolConfig,
    /// Limits applied to each call unless an instance is given others.
    pub default_limits: CallLimits,
    /// When set, fuel metering is on and each call gets this budget
    /// (refilled before every call). Costs some speed.
    pub fuel_per_call: Option<u64>,
    /// Stack available to guest code, in bytes.
    pub max_wasm_stack_bytes: usize,
    /// Cap on what a WASI command may write to stdout, in bytes.
    pub max_output_bytes: usize,
    /// Capability kinds an embedder defines, with their host functions.
    pub custom_capabilities: Vec<CustomCapability>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            data_dir: None,
            cache_dir: default_cache_dir(),
            epoch_tick: Duration::from_millis(5),
            pool: PoolConfig::default(),
            default_limits: CallLimits::default(),
            fuel_per_call: None,
            max_wasm_stack_bytes: 512 * 1024,
            max_output_bytes: 16 * 1024 * 1024,
            custom_capabilities: Vec::new(),
        }
    }
}

/// The host's capacity and maxima; the pooling allocator is sized from
/// them. Every live instance takes a slot; per-service limits
/// ([`CallLimits`]) may only be lower than the maxima.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// How many component instances may be alive at once (the host's
    /// instance capacity). Each reserves about 4 GiB of address space for
    /// its linear memory (not RAM). Default: [`PoolConfig::machine_instances`].
    pub max_instances: u32,
    /// The largest linear memory any instance may have, in bytes. Default
    /// 4 GiB, the wasm32 maximum (costs no more address space than less).
    pub max_memory_bytes: usize,
    /// The largest table any instance may have, in elements. Default 2^20
    /// (8 MiB of address space per table slot).
    pub max_table_elements: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_instances: PoolConfig::machine_instances(),
            max_memory_bytes: 4 << 30,
            max_table_elements: 1 << 20,
        }
    }
}

impl PoolConfig {
    /// Refuses per-call limits above the host's maxima.
    pub fn check(&self, limits: &CallLimits) -> Result<()> {
        if limits.max_memory_bytes > self.max_memory_bytes {
            return Err(Error::HostMaximum {
                what: "linear memory per instance",
                requested: format!("{} MiB", limits.max_memory_bytes >> 20),
                maximum: format!("{} MiB", self.max_memory_bytes >> 20),
                setting: "the host's maximum memory (HostConfig::pool.max_memory_bytes)",
            });
        }
        if limits.max_table_elements > self.max_table_elements {
            return Err(Error::HostMaximum {
                what: "table elements",
                requested: limits.max_table_elements.to_string(),
                maximum: self.max_table_elements.to_string(),
                setting: "the host's maximum table size (HostConfig::pool.max_table_elements)",
            });
        }
        Ok(())
    }

    /// The default instance capacity, sized from this machine's memory: one
    /// instance per 32 MiB of RAM, between 256 and 4096 (256 when the
    /// amount of RAM cannot be read).
    pub fn machine_instances() -> u32 {
        let per_instance = 32 << 20;
        let ram = machine_memory_bytes().unwrap_or(256 * per_instance);
        u32::try_from(ram / per_instance).unwrap_or(u32::MAX).clamp(256, 4096)
    }
}

/// Total RAM in bytes (`MemTotal` of /proc/meminfo), where it can be read.
fn machine_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Bounds on one call into a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall-clock deadline per call.
    pub timeout: Duration,
    /// Linear memory cap in bytes.
    pub max_memory_bytes: usize,
    /// Table size cap in elements.
    pub max_table_elements: usize,
    /// Fuel budget per call (only when the host has fuel on).
    pub fuel: Option<u64>,
}

/// The default compile cache: `$AIRSSYS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/airssys/compiled`, else `~/.cache/airssys/compiled`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AIRSSYS_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("airssys").join("compiled"))
}

/// The default data folder: `$AIRSSYS_DATA_DIR`, else
/// `$XDG_DATA_HOME/airssys`, else `~/.local/share/airssys`.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AIRSSYS_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))?;
    Some(base.join("airssys"))
}

/// What `Host::describe` finds by running a component's introspection
/// exports (no `init`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Description {
    /// Static facts.
    #[serde(flatten)]
    pub info: ComponentInfo,
    /// `metadata()`.
    pub metadata: Metadata,
    /// `required-capabilities()`.
    pub required_capabilities: Vec<Capability>,
}

/// The outcome of [`Host::load_or_survey`].
pub(crate) enum Loaded {
    /// Loaded and pre-linked.
    Ready(Arc<LoadedComponent>),
    /// Compiled and surveyed, but its contract functions do not match.
    Refused(Box<component::Surveyed>),
}

/// State shared by a host and every instance it makes.
pub(crate) struct HostShared {
    pub engine: Engine,
    /// The host's instance capacity (for refusals that name it).
    pub max_instances: u32,
    pub fuel_enabled: bool,
    pub max_output_bytes: usize,
    pub logs: crate::events::LogBus,
    tick: Duration,
}

impl HostShared {
    /// Epoch ticks for a deadline: rounded up, plus one so that a call never
    /// gets less than `timeout`.
    #[inline]
    pub fn deadline_ticks(&self, timeout: Duration) -> u64 {
        // 64-bit arithmetic (every call pays for this): 2^64 ns is 584 years.
        let tick = u64::try_from(self.tick.as_nanos()).unwrap_or(u64::MAX).max(1);
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        nanos.div_ceil(tick).saturating_add(1)
    }
}

struct HostInner {
    shared: Arc<HostShared>,
    linkers: component::Linkers,
    cache: Option<CompileCache>,
    loaded: Mutex<HashMap<Digest, Arc<LoadedComponent>>>,
    compilations: AtomicU64,
    data: Option<crate::deploy::DataStore>,
    contracts: Mutex<HashMap<Digest, crate::pipeline::NodeContract>>,
    plans: Mutex<HashMap<String, Arc<crate::pipeline::Plan>>>,
    config: HostConfig,
    _ticker: EpochTicker,
}

/// A [`Host`] that does not keep it alive (background threads hold this).
pub(crate) struct WeakHost(Weak<HostInner>);

impl WeakHost {
    pub(crate) fn upgrade(&self) -> Option<Host> {
        self.0.upgrade().map(|inner| Host { inner })
    }
}

/// The runtime: loads components and makes instances of them.
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
    inner: Arc<HostInner>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Host {
    /// Builds the engine, links WASI and the airssys host interface, opens
    /// the compile cache and starts the epoch ticker.
    pub fn new(config: HostConfig) -> Result<Self> {
        config.pool.check(&config.default_limits)?;
        let engine = engine::build_engine(&config)?;
        let linkers = component::Linkers {
            sync: Self::linker(&engine, &config, false)?,
            r#async: Self::linker(&engine, &config, true)?,
            always_async: Default::default(),
        };
        let cache = match &config.cache_dir {
            Some(dir) => Some(CompileCache::open(dir, &engine::engine_fingerprint(&engine))?),
            None => None,
        };
        let data = match &config.data_dir {
            Some(dir) => Some(crate::deploy::DataStore::open(dir)?),
            None => None,
        };
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick)?;
        let shared = Arc::new(HostShared {
            engine,
            max_instances: config.pool.max_instances,
            fuel_enabled: config.fuel_per_call.is_some(),
            max_output_bytes: config.max_output_bytes,
            logs: crate::events::LogBus::default(),
            tick: config.epoch_tick,
        });
        Ok(Host {
            inner: Arc::new(HostInner {
                shared,
                linkers,
                cache,
                loaded: Mutex::new(HashMap::new()),
                compilations: AtomicU64::new(0),
                data,
                contracts: Mutex::new(HashMap::new()),
                plans: Mutex::new(HashMap::new()),
                config,
                _ticker: ticker,
            }),
        })
    }

    /// A linker with WASI (its async implementations when `waits`: a guest
    /// waiting in the host then waits in a future the call's deadline can
    /// drop, see `crate::deadline`), wasi:http, the airssys host interface
    /// and the embedder's custom capabilities.
    fn linker(engine: &Engine, config: &HostConfig, waits: bool) -> Result<Linker<HostState>> {
        let link = |e: wasmtime::Error| Error::Link(e.into());
        let mut linker = Linker::<HostState>::new(engine);
        if waits {
            wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link)?;
            wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(link)?;
        } else {
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
            wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(link)?;
        }
        bindings::add_host_to_linker(&mut linker).map_err(link)?;
        for custom in &config.custom_capabilities {
            (custom.link)(&mut linker).map_err(link)?;
        }
        Ok(linker)
    }

    /// From now on, loads components for async calls even when they cannot
    /// wait in the host (the bench measures that path).
    pub(crate) fn always_async(&self) {
        self.inner.linkers.always_async.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The host's settings.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    pub(crate) fn data_store(&self) -> Option<&crate::deploy::DataStore> {
        self.inner.data.as_ref()
    }

    /// The shared wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.shared.engine
    }

    /// How many components this host has compiled (cache misses).
    pub fn compilations(&self) -> u64 {
        self.inner.compilations.load(Ordering::Relaxed)
    }

    /// Reads, validates, compiles (or loads from cache) and pre-links.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Arc<LoadedComponent>> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("read the component", path, e))?;
        self.load_named(&bytes, component::name_from_path(path))
    }

    /// Validates, compiles (or loads from cache) and pre-links `bytes`.
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<Arc<LoadedComponent>> {
        self.load_named(bytes, None)
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
        match self.load_or_survey(bytes, name)? {
            Loaded::Ready(component) => Ok(component),
            Loaded::Refused(surveyed) => Err(Error::ContractShape { mismatches: surveyed.mismatches }),
        }
    }

    /// Loads `bytes`, or hands back the surveyed component when its contract
    /// functions do not have the contract's types (so `inspect` can still
    /// describe it). A refused component is not kept in the memory table.
    pub(crate) fn load_or_survey(&self, bytes: &[u8], name: Option<String>) -> Result<Loaded> {
        component::check_header(bytes)?;
        let digest = Digest::of(bytes);
        if let Some(found) = self.lock_loaded().get(&digest) {
            return Ok(Loaded::Ready(found.clone()));
        }
        let name = name.unwrap_or_else(|| digest.short());
        component::check_initial_needs(bytes, &self.inner.config.pool)?;
        let (compiled, origin) = self.compile_or_read_cache(bytes, &digest)?;
        let surveyed = component::survey(self.engine(), compiled, digest, bytes.len() as u64)?;
        if !surveyed.mismatches.is_empty() {
            return Ok(Loaded::Refused(Box::new(surveyed)));
        }
        let loaded = Arc::new(component::link(&self.inner.linkers, surveyed, name, origin)?);
        self.lock_loaded().insert(digest, loaded.clone());
        Ok(Loaded::Ready(loaded))
    }

    /// The linker with WASI's async implementations (calls through it can
    /// be cut at their deadline while the guest waits in the host).
    pub(crate) fn async_linker(&self) -> &Linker<HostState> {
        &self.inner.linkers.r#async
    }

    pub(crate) fn shared(&self) -> &Arc<HostShared> {
        &self.inner.shared
    }

    pub(crate) fn cached_contract(&self, digest: &Digest) -> Option<crate::pipeline::NodeContract> {
        self.inner.contracts.lock().unwrap_or_else(|p| p.into_inner()).get(digest).cloned()
    }

    pub(crate) fn cache_contract(&self, digest: Digest, contract: crate::pipeline::NodeContract) {
        self.inner.contracts.lock().unwrap_or_else(|p| p.into_inner()).insert(digest, contract);
    }

    pub(crate) fn cached_plan(&self, pipeline: &str) -> Option<Arc<crate::pipeline::Plan>> {
        self.inner.plans.lock().unwrap_or_else(|p| p.into_inner()).get(pipeline).cloned()
    }

    pub(crate) fn cache_plan(&self, pipeline: &str, plan: Arc<crate::pipeline::Plan>) {
        self.inner.plans.lock().unwrap_or_else(|p| p.into_inner()).insert(pipeline.to_string(), plan);
    }

    pub(crate) fn log_bus(&self) -> &crate::events::LogBus {
        &self.inner.shared.logs
    }

    /// A handle that does not keep the host alive.
    pub(crate) fn downgrade(&self) -> WeakHost {
        WeakHost(Arc::downgrade(&self.inner))
    }

    /// Drops a component from the in-memory table (the disk cache stays).
    pub fn evict(&self, digest: &Digest) {
        self.lock_loaded().remove(digest);
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Arc<LoadedComponent>>> {
        // A panic while holding this lock leaves a consistent map.
        self.inner.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn compile_or_read_cache(&self, bytes: &[u8], digest: &Digest) -> Result<(Component, LoadOrigin)> {
        let engine = self.engine();
        if let Some(cache) = &self.inner.cache {
            let path = cache.path_for(digest);
            if path.exists() {
                // SAFETY: the cache folder is private to this host and only
                // holds `Component::serialize` output of an engine with the
                // same fingerprint (the folder name), written atomically.
                match unsafe { Component::deserialize_file(engine, &path) } {
                    Ok(component) => return Ok((component, LoadOrigin::DiskCache)),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), path = %path.display(), "dropping unusable cached code");
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
        }
        let component = Component::new(engine, bytes).map_err(|e| Error::InvalidComponent(e.into()))?;
        self.inner.compilations.fetch_add(1, Ordering::Relaxed);
        if let Some(cache) = &self.inner.cache {
            match component.serialize() {
                Ok(compiled) => {
                    if let Err(e) = cache.store(digest, &compiled) {
                        tracing::warn!(error = %e, "compile cache not updated");
                    }
                }
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot serialize compiled code"),
            }
        }
        Ok((component, LoadOrigin::Compiled))
    }

    /// A new instance with the host's default limits.
    pub fn instantiate(&self, component: &Arc<LoadedComponent>) -> Result<Instance> {
        self.instantiate_with(component, self.inner.config.default_limits.clone())
    }

    /// A new instance with its own limits.
    pub fn instantiate_with(&self, component: &Arc<LoadedComponent>, limits: CallLimits) -> Result<Instance> {
        self.instantiate_sandboxed(component, limits, SandboxPolicy::deny_all())
    }

    /// A new instance whose WASI context follows `policy` (its grants).
    pub fn instantiate_sandboxed(
        &self,
        component: &Arc<LoadedComponent>,
        limits: CallLimits,
        policy: Arc<SandboxPolicy>,
    ) -> Result<Instance> {
        self.inner.config.pool.check(&limits)?;
        Instance::new(self.inner.shared.clone(), component.clone(), limits, policy)
    }

    /// Runs the introspection exports (`metadata`, `required-capabilities`)
    /// in a throw-away instance.
    pub fn describe(&self, component: &Arc<LoadedComponent>) -> Result<Description> {
        let mut instance = self.instantiate(component)?;
        Ok(Description {
            info: component.info().clone(),
            metadata: instance.metadata()?,
            required_capabilities: instance.required_capabilities()?,
        })
    }

    /// `init`, one `execute`, `shutdown` in a fresh instance.
    pub fn call_once(
        &self,
        component: &Arc<LoadedComponent>,
        config: &[(String, String)],
        input: &crate::Input,
        limits: CallLimits,
    ) -> Result<crate::Output> {
        let mut instance = self.instantiate_with(component, limits)?;
        instance.init(config)?;
        let output = instance.execute(input)?;
        instance.shutdown()?;
        Ok(output)
    }
}
