//! The data every store carries ([`HostState`]): the WASI context built
//! from the service's grants, the wasi:http gate, the memory and table
//! limiter, the guest log, the stderr tail; and the store made from it
//! ([`new_store`]). What the guest may call on it is in `host_interface`
//! (the WIT host interface) and `security`; calls are `instance`'s.

use std::{sync::Arc, time::Duration};

use wasmtime::{ResourceLimiter, Store, component::ResourceTable};
use wasmtime_wasi::{
    WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
    p2::pipe::{MemoryInputPipe, MemoryOutputPipe},
};

use crate::{
    Result,
    events::bus::Bus,
    guest_output::{CappedOutput, Pipe, StderrTail},
    limits::CallLimits,
    security::{HttpGate, SandboxPolicy},
    types::LogLine,
};

/// State shared by a host and every instance it makes.
#[derive(Clone)]
pub(crate) struct Shared {
    pub engine: wasmtime::Engine,
    /// The host's instance capacity (for refusals that name it).
    pub max_instances: u32,
    pub fuel_enabled: bool,
    pub max_output_bytes: usize,
    /// Shared by both compile tiers' engines.
    pub logs: Arc<Bus<LogLine>>,
    pub tick: Duration,
}

impl Shared {
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

/// The data every store carries.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: wasmtime_wasi_http::WasiHttpCtx,
    http_gate: HttpGate,
    pub(crate) limiter: CallLimiter,
    pub(crate) log: GuestLog,
    policy: Arc<SandboxPolicy>,
    pub(crate) stderr: Option<StderrTail>,
}

impl HostState {
    /// The parameters of custom capability `name` if this instance's service
    /// was granted it. Embedder host functions call this and refuse on `None`.
    pub fn custom_grant(&self, name: &str) -> Option<&str> {
        self.policy.custom_grant(name)
    }

    /// Records a denial observed by an embedder's host function in the
    /// audit log (and the host log).
    pub fn audit_denial(&self, attempt: &str, reason: &str) {
        self.policy.audit_denial(attempt, reason);
    }
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState").field("component", &self.log.component).finish_non_exhaustive()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl wasmtime_wasi_http::WasiHttpView for HostState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView { hooks: &mut self.http_gate, table: &mut self.table, ctx: &mut self.http }
    }
}

/// A host limit a guest ran into during the current call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// A linear memory would have grown to `requested` bytes.
    Memory { requested: usize },
    /// A table would have grown to `requested` elements.
    Table { requested: usize },
}

/// Caps memory and table growth. A refused growth is not a trap: the
/// guest's `memory.grow` / `table.grow` gets the spec's failure value (-1)
/// and may recover; the refusal is remembered so that a call that fails
/// afterwards reports the limit as its cause.
#[derive(Debug)]
pub(crate) struct CallLimiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    /// The first limit hit since the call began.
    pub(crate) hit: Option<LimitHit>,
    /// The largest linear memory granted so far.
    pub(crate) memory_high_water: usize,
}

impl CallLimiter {
    fn record(&mut self, hit: LimitHit) {
        self.hit.get_or_insert(hit);
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.record(LimitHit::Memory { requested: desired });
            return Ok(false);
        }
        self.memory_high_water = self.memory_high_water.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            self.record(LimitHit::Table { requested: desired });
            return Ok(false);
        }
        Ok(true)
    }
}

/// Receives the guest's `host.log` lines and forwards them to `tracing`,
/// bounded per instance so a chatty guest cannot flood the host.
pub(crate) struct GuestLog {
    pub(crate) component: String,
    pub(crate) lines: u64,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for GuestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestLog").field("component", &self.component).field("lines", &self.lines).finish()
    }
}

/// What a store is created with: everything the guest may see.
/// Empty means nothing: no files, no env, no args, no network, no stdio.
#[derive(Debug, Default)]
pub(crate) struct Sandbox {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub stdout: Option<CappedOutput>,
    pub stderr: Option<MemoryOutputPipe>,
}

pub(crate) fn new_store(
    shared: &Arc<Shared>,
    component_name: &str,
    limits: &CallLimits,
    policy: &Arc<SandboxPolicy>,
    sandbox: Sandbox,
) -> Result<Store<HostState>> {
    let mut wasi = WasiCtxBuilder::new();
    policy.apply(&mut wasi)?;
    wasi.envs(&sandbox.env).args(&sandbox.args);
    if let Some(stdin) = sandbox.stdin {
        wasi.stdin(MemoryInputPipe::new(stdin));
    }
    if let Some(stdout) = sandbox.stdout {
        wasi.stdout(Pipe(stdout));
    }
    let mut tail = None;
    match sandbox.stderr {
        Some(stderr) => {
            wasi.stderr(stderr);
        }
        None if !policy.stdio() => {
            let kept = StderrTail::default();
            wasi.stderr(Pipe(kept.clone()));
            tail = Some(kept);
        }
        None => {}
    }
    let state = HostState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        http: wasmtime_wasi_http::WasiHttpCtx::new(),
        http_gate: HttpGate { policy: policy.clone() },
        limiter: CallLimiter {
            max_memory_bytes: limits.max_memory_bytes,
            max_table_elements: limits.max_table_elements,
            hit: None,
            memory_high_water: 0,
        },
        log: GuestLog { component: component_name.to_string(), lines: 0, shared: Arc::clone(shared) },
        policy: policy.clone(),
        stderr: tail,
    };
    let mut store = Store::new(&shared.engine, state);
    store.limiter(|s| &mut s.limiter);
    Ok(store)
}
