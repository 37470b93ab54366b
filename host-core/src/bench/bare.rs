//! The bare-wasmtime baseline of `airssys bench`: wasmtime at its best for
//! the same job (its own engine with airssys's settings, an `InstancePre`,
//! bindgen's typed calls, an empty WASI context), for every figure to be
//! compared against.

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Store,
    component::{Component, HasSelf, InstancePre, Linker, ResourceTable},
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::{
    Error, Input, Result,
    bindings::{self, LogLevel, sync::GuestIndices},
    limits::PoolConfig,
};

pub(super) struct BareState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl BareState {
    pub(super) fn new(wasi: WasiCtx, table: ResourceTable) -> Self {
        BareState { wasi, table }
    }
}

impl WasiView for BareState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl bindings::airssys::component::types::Host for BareState {}

impl bindings::airssys::component::host::Host for BareState {
    fn log(&mut self, _level: LogLevel, _message: String, _fields: Vec<(String, String)>) {}
    fn emit_metric(&mut self, _name: String, _value: f64, _labels: Vec<(String, String)>) {}
}

pub(super) struct Bare {
    engine: Engine,
    linker: Linker<BareState>,
    pub(super) component: Component,
    pre: InstancePre<BareState>,
    indices: GuestIndices,
    bytes: Vec<u8>,
}

pub(super) struct BareInstance {
    store: Store<BareState>,
    guest: bindings::sync::Guest,
}

/// A bare engine with airssys's settings and the pooling allocator sized
/// like a host's `pool`, and a linker with WASI and the contract's host
/// interface (doing nothing).
pub(super) fn engine_and_linker(pool: &PoolConfig) -> Result<(Engine, Linker<BareState>)> {
    let mut config = Config::new();
    config.wasm_component_model(true).concurrency_support(false).epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(crate::engine::pooling_config(pool)));
    let engine = Engine::new(&config).map_err(wt)?;
    let mut linker = Linker::<BareState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(wt)?;
    bindings::airssys::component::host::add_to_linker::<BareState, HasSelf<BareState>>(&mut linker, |s| s)
        .map_err(wt)?;
    bindings::airssys::component::types::add_to_linker::<BareState, HasSelf<BareState>>(&mut linker, |s| s)
        .map_err(wt)?;
    Ok((engine, linker))
}

pub(super) fn wt(e: wasmtime::Error) -> Error {
    Error::Instantiate(e.into())
}

impl Bare {
    pub(super) fn new(bytes: &[u8]) -> Result<Self> {
        Bare::with_pool(bytes, &PoolConfig::default())
    }

    /// Its own engine with the pooling allocator sized like a host's `pool`.
    pub(super) fn with_pool(bytes: &[u8], pool: &PoolConfig) -> Result<Self> {
        let (engine, linker) = engine_and_linker(pool)?;
        let component = Component::new(&engine, bytes).map_err(wt)?;
        let pre = linker.instantiate_pre(&component).map_err(wt)?;
        let indices = GuestIndices::new(&pre).map_err(wt)?;
        Ok(Bare { engine, linker, component, pre, indices, bytes: bytes.to_vec() })
    }

    pub(super) fn instantiate(&self) -> Result<BareInstance> {
        let mut store =
            Store::new(&self.engine, BareState { wasi: WasiCtxBuilder::new().build(), table: ResourceTable::new() });
        store.set_epoch_deadline(1 << 40);
        let instance = self.pre.instantiate(&mut store).map_err(wt)?;
        let guest = self.indices.load(&mut store, &instance).map_err(wt)?;
        Ok(BareInstance { store, guest })
    }

    pub(super) fn load_cached(&self, artifact: &std::path::Path) -> Result<InstancePre<BareState>> {
        // SAFETY: the artifact was written by `Component::serialize` of this
        // very engine a moment ago.
        let component = unsafe { Component::deserialize_file(&self.engine, artifact) }.map_err(wt)?;
        self.linker.instantiate_pre(&component).map_err(wt)
    }

    pub(super) fn compile(&self) -> Result<Component> {
        Component::new(&self.engine, &self.bytes).map_err(wt)
    }
}

impl BareInstance {
    /// An instance made elsewhere (the per-language bench).
    pub(super) fn new(store: Store<BareState>, guest: bindings::sync::Guest) -> Self {
        BareInstance { store, guest }
    }

    pub(super) fn init(&mut self) -> Result<()> {
        self.guest
            .call_init(&mut self.store, &Vec::new())
            .map_err(wt)?
            .map_err(|e| Error::Guest { function: "init", error: e.into() })
    }

    pub(super) fn execute(&mut self, input: &Input) -> Result<crate::Output> {
        self.guest
            .call_execute(&mut self.store, input)
            .map_err(wt)?
            .map_err(|e| Error::Guest { function: "execute", error: e.into() })
    }

    pub(super) fn shutdown(&mut self) -> Result<()> {
        self.guest
            .call_shutdown(&mut self.store)
            .map_err(wt)?
            .map_err(|e| Error::Guest { function: "shutdown", error: e.into() })
    }
}
