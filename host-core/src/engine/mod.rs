//! The engine and compile cache subsystem ([`Engine`]): wasmtime's engine
//! with its epoch ticker, the two linkers, the on-disk cache of compiled
//! code, and the table of components loaded in memory; it loads, describes
//! and inspects components and makes instances. It knows components and
//! instances, not the data folder.
//!
//! Tiered compilation: a large component whose optimised code is not cached
//! is compiled by Winch (a second, baseline engine with its own linkers and
//! ticker) and serves at once; a background thread compiles it with
//! Cranelift, stores that in the cache, replaces the loaded component and
//! tells [`Engine::subscribe_tier_ups`] listeners (the services swap their
//! instances).

mod build;
mod cache;
mod inspect;

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use serde::Serialize;
use tracing::instrument;
use wasmtime::component::Component;

use crate::{
    Error, Result,
    background::Background,
    component::{self, CompileTier, ComponentInfo, Linkers, LoadedComponent},
    config::HostConfig,
    events::bus::Bus,
    instance::Instance,
    limits::CallLimits,
    security::SandboxPolicy,
    state::Shared,
    types::{Capability, Digest, LogLine, Metadata},
};
pub(crate) use build::pooling_config;
use cache::CompileCache;
pub use cache::LoadOrigin;
pub use inspect::Inspection;

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

/// The engine and what it has loaded. Cheap to clone; safe to share.
#[derive(Clone)]
pub(crate) struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    linkers: Linkers,
    cache: Option<CompileCache>,
    loaded: Mutex<HashMap<Digest, Arc<LoadedComponent>>>,
    compilations: AtomicU64,
    config: HostConfig,
    _ticker: Background,
    /// The baseline tier, made on first use; `None` when Winch cannot be
    /// used here (tiering is then off).
    baseline: OnceLock<Option<Baseline>>,
    /// Digests whose optimised code is being compiled in the background.
    tiering: Mutex<HashSet<Digest>>,
    /// Optimised components that replaced baseline ones.
    tier_ups: Bus<Arc<LoadedComponent>>,
}

/// The baseline tier: Winch's engine, its linkers and epoch ticker.
struct Baseline {
    shared: Arc<Shared>,
    linkers: Linkers,
    _ticker: Background,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine, links WASI and the airssys host interface, opens
    /// the compile cache and starts the epoch ticker.
    pub(crate) fn new(config: HostConfig) -> Result<Self> {
        config.pool.check(&config.default_limits)?;
        let engine = build::build_engine(&config)?;
        let linkers = Linkers::new(&engine, &config.custom_capabilities)?;
        let cache = match &config.cache_dir {
            Some(dir) => Some(CompileCache::open(dir, &build::engine_fingerprint(&engine))?),
            None => None,
        };
        let ticker = build::epoch_ticker(engine.clone(), config.epoch_tick)?;
        let shared = Arc::new(Shared {
            engine,
            max_instances: config.pool.max_instances,
            fuel_enabled: config.fuel_per_call.is_some(),
            max_output_bytes: config.max_output_bytes,
            logs: Arc::new(Bus::default()),
            tick: config.epoch_tick,
        });
        Ok(Engine {
            inner: Arc::new(Inner {
                shared,
                linkers,
                cache,
                loaded: Mutex::new(HashMap::new()),
                compilations: AtomicU64::new(0),
                config,
                _ticker: ticker,
                baseline: OnceLock::new(),
                tiering: Mutex::new(HashSet::new()),
                tier_ups: Bus::default(),
            }),
        })
    }

    /// From now on, loads components for async calls even when they cannot
    /// wait in the host (the bench measures that path).
    pub(crate) fn always_async(&self) {
        self.inner.linkers.always_async.store(true, Ordering::Relaxed);
    }

    /// The host's settings.
    pub(crate) fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// wasmtime's engine.
    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.shared.engine
    }

    /// What every store of this engine shares.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Guest log lines of every instance of this engine.
    pub(crate) fn logs(&self) -> &Bus<LogLine> {
        &self.inner.shared.logs
    }

    /// How many components this engine has compiled (cache misses).
    pub(crate) fn compilations(&self) -> u64 {
        self.inner.compilations.load(Ordering::Relaxed)
    }

    /// Component instances alive in this engine's pool.
    pub(crate) fn live_instances(&self) -> u64 {
        self.wasmtime().pooling_allocator_metrics().map_or(0, |m| m.component_instances())
    }

    /// Refuses `more` instances that do not fit next to the ones alive now
    /// ([`Error::HostCapacity`]).
    pub(crate) fn check_capacity(&self, more: usize) -> Result<()> {
        let capacity = self.inner.config.pool.max_instances;
        let in_use = self.live_instances();
        if in_use.saturating_add(more as u64) > u64::from(capacity) {
            return Err(Error::HostCapacity { needed: more as u64, capacity, in_use });
        }
        Ok(())
    }

    /// Reads, validates, compiles (or loads from cache) and pre-links.
    pub(crate) fn load_file(&self, path: impl AsRef<Path>) -> Result<Arc<LoadedComponent>> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("read the component", path, e))?;
        self.load_named(&bytes, component::name_from_path(path))
    }

    /// Validates, compiles (or loads from cache) and pre-links `bytes`.
    pub(crate) fn load_bytes(&self, bytes: &[u8]) -> Result<Arc<LoadedComponent>> {
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
    #[instrument(target = "airssys::engine", name = "load", level = "debug", skip_all, fields(name = ?name))]
    pub(crate) fn load_named(&self, bytes: &[u8], name: Option<String>) -> Result<Arc<LoadedComponent>> {
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
        if self.tiers(bytes.len(), &digest)
            && let Some(baseline) = self.baseline()
        {
            match self.load_baseline(baseline, bytes, digest, name.clone()) {
                Ok(Loaded::Ready(loaded)) => {
                    self.tier_up_later(bytes.to_vec(), digest, name);
                    return Ok(Loaded::Ready(loaded));
                }
                Ok(refused) => return Ok(refused),
                // Winch may not support everything Cranelift does.
                Err(e) => {
                    tracing::info!(target: "airssys::engine", error = %e, "baseline compile failed; compiling optimised code now")
                }
            }
        }
        let (compiled, origin) = self.compile_or_read_cache(bytes, &digest)?;
        let surveyed = component::survey(self.wasmtime(), compiled, digest, bytes.len() as u64)?;
        if !surveyed.mismatches.is_empty() {
            return Ok(Loaded::Refused(Box::new(surveyed)));
        }
        let loaded = Arc::new(component::link(&self.inner.linkers, surveyed, name, origin, CompileTier::Optimized)?);
        self.lock_loaded().insert(digest, loaded.clone());
        Ok(Loaded::Ready(loaded))
    }

    /// Whether `len` bytes not in the compile cache start on the baseline tier.
    fn tiers(&self, len: usize, digest: &Digest) -> bool {
        let large = self.inner.config.tiered_min_bytes.is_some_and(|min| len as u64 >= min);
        large && !self.inner.cache.as_ref().is_some_and(|cache| cache.path_for(digest).exists())
    }

    /// The baseline tier, made on first use.
    fn baseline(&self) -> Option<&Baseline> {
        self.inner
            .baseline
            .get_or_init(|| {
                let made = (|| -> Result<Baseline> {
                    let engine = build::build_baseline_engine(&self.inner.config)
                        .map_err(|e| Error::InvalidComponent(e.into()))?;
                    let linkers = Linkers::new(&engine, &self.inner.config.custom_capabilities)?;
                    linkers
                        .always_async
                        .store(self.inner.linkers.always_async.load(Ordering::Relaxed), Ordering::Relaxed);
                    let ticker = build::epoch_ticker(engine.clone(), self.inner.config.epoch_tick)?;
                    let shared = Arc::new(Shared { engine, ..Shared::clone(&self.inner.shared) });
                    Ok(Baseline { shared, linkers, _ticker: ticker })
                })();
                made.map_err(
                    |e| tracing::warn!(target: "airssys::engine", error = %e, "no baseline tier: tiering is off"),
                )
                .ok()
            })
            .as_ref()
    }

    /// Compiles `bytes` with Winch and pre-links it on the baseline tier.
    #[instrument(target = "airssys::engine", name = "baseline compile", level = "debug", skip_all)]
    fn load_baseline(&self, baseline: &Baseline, bytes: &[u8], digest: Digest, name: String) -> Result<Loaded> {
        let engine = &baseline.shared.engine;
        let compiled = Component::new(engine, bytes).map_err(|e| Error::InvalidComponent(e.into()))?;
        let surveyed = component::survey(engine, compiled, digest, bytes.len() as u64)?;
        if !surveyed.mismatches.is_empty() {
            return Ok(Loaded::Refused(Box::new(surveyed)));
        }
        let loaded =
            Arc::new(component::link(&baseline.linkers, surveyed, name, LoadOrigin::Compiled, CompileTier::Baseline)?);
        self.lock_loaded().insert(digest, loaded.clone());
        Ok(Loaded::Ready(loaded))
    }

    /// Compiles `bytes` with Cranelift in the background (once per digest),
    /// then replaces the baseline component and tells the listeners.
    fn tier_up_later(&self, bytes: Vec<u8>, digest: Digest, name: String) {
        if !self.lock_tiering().insert(digest) {
            return;
        }
        let engine = self.clone();
        let spawned = std::thread::Builder::new().name("airssys-tier-up".into()).spawn(move || {
            let started = std::time::Instant::now();
            let optimized = (|| -> Result<Arc<LoadedComponent>> {
                let (compiled, origin) = engine.compile_or_read_cache(&bytes, &digest)?;
                let surveyed = component::survey(engine.wasmtime(), compiled, digest, bytes.len() as u64)?;
                let linked = component::link(&engine.inner.linkers, surveyed, name, origin, CompileTier::Optimized)?;
                Ok(Arc::new(linked))
            })();
            match optimized {
                Ok(optimized) => {
                    tracing::info!(target: "airssys::engine", component = %optimized.name(), ms = started.elapsed().as_millis() as u64, "optimised code ready");
                    engine.lock_loaded().insert(digest, optimized.clone());
                    engine.inner.tier_ups.emit(optimized);
                }
                Err(e) => tracing::warn!(target: "airssys::engine", error = %e, "no optimised code; the baseline code keeps serving"),
            }
            engine.lock_tiering().remove(&digest);
        });
        if let Err(e) = spawned {
            tracing::warn!(target: "airssys::engine", error = %e, "cannot start the optimising compile");
            self.lock_tiering().remove(&digest);
        }
    }

    fn lock_tiering(&self) -> std::sync::MutexGuard<'_, HashSet<Digest>> {
        self.inner.tiering.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Optimised components as they replace baseline ones (each once).
    pub(crate) fn subscribe_tier_ups(&self) -> mpsc::Receiver<Arc<LoadedComponent>> {
        self.inner.tier_ups.subscribe()
    }

    /// Both linkers.
    pub(crate) fn linkers(&self) -> &Linkers {
        &self.inner.linkers
    }

    /// Drops a component from the in-memory table (the disk cache stays).
    pub(crate) fn evict(&self, digest: &Digest) {
        self.lock_loaded().remove(digest);
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Arc<LoadedComponent>>> {
        // A panic while holding this lock leaves a consistent map.
        self.inner.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn compile_or_read_cache(&self, bytes: &[u8], digest: &Digest) -> Result<(Component, LoadOrigin)> {
        let engine = self.wasmtime();
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
    pub(crate) fn instantiate(&self, component: &Arc<LoadedComponent>) -> Result<Instance> {
        self.instantiate_with(component, self.inner.config.default_limits.clone())
    }

    /// A new instance with its own limits.
    pub(crate) fn instantiate_with(&self, component: &Arc<LoadedComponent>, limits: CallLimits) -> Result<Instance> {
        self.instantiate_sandboxed(component, limits, SandboxPolicy::deny_all())
    }

    /// A new instance whose WASI context follows `policy` (its grants).
    pub(crate) fn instantiate_sandboxed(
        &self,
        component: &Arc<LoadedComponent>,
        limits: CallLimits,
        policy: Arc<SandboxPolicy>,
    ) -> Result<Instance> {
        self.inner.config.pool.check(&limits)?;
        let shared = match (component.tier(), self.inner.baseline.get()) {
            (CompileTier::Baseline, Some(Some(baseline))) => &baseline.shared,
            _ => &self.inner.shared,
        };
        Instance::new(shared.clone(), component.clone(), limits, policy)
    }

    /// Runs the introspection exports (`metadata`, `required-capabilities`)
    /// in a throw-away instance.
    pub(crate) fn describe(&self, component: &Arc<LoadedComponent>) -> Result<Description> {
        let mut instance = self.instantiate(component)?;
        Ok(Description {
            info: component.info().clone(),
            metadata: instance.metadata()?,
            required_capabilities: instance.required_capabilities()?,
        })
    }

    /// `init`, one `execute`, `shutdown` in a fresh instance; a WASI
    /// command gets `args` after `argv[0]` (its component name).
    #[instrument(target = "airssys::call", name = "call", level = "debug", skip_all,
                 fields(component = %component.name()))]
    pub(crate) fn call_once(
        &self,
        component: &Arc<LoadedComponent>,
        args: &[String],
        config: &[(String, String)],
        input: &crate::Input,
        limits: CallLimits,
    ) -> Result<crate::Output> {
        if !args.is_empty() && !matches!(component.kind(), crate::ComponentKind::WasiCommand) {
            return Err(Error::ArgsNeedCommand {
                service: component.name().to_string(),
                component: component.name().to_string(),
            });
        }
        let mut instance = self.instantiate_with(component, limits)?;
        let argv: Vec<String> = std::iter::once(component.name().to_string()).chain(args.iter().cloned()).collect();
        instance.set_command_line(&argv);
        instance.init(config)?;
        let output = instance.execute(input)?;
        instance.shutdown()?;
        Ok(output)
    }
}
