//! The wasmtime `Engine` airssys runs on: component model, pooling
//! allocator sized from the host's capacity, epoch interruption (advanced
//! by [`epoch_ticker`]), `concurrency_support(false)`; and the fingerprint
//! that keys compiled code. Settings only; loading is `Engine`'s.

use std::{
    hash::{Hash, Hasher},
    time::Duration,
};

use sha2::{Digest as _, Sha256};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::{
    Error, Result,
    background::{Background, Step},
    config::HostConfig,
    limits::PoolConfig,
};

/// Builds the wasmtime engine for a host configuration.
pub(crate) fn build_engine(config: &HostConfig) -> Result<wasmtime::Engine> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        // We only make synchronous calls; turning off the async machinery
        // makes each typed call several times cheaper.
        .concurrency_support(false)
        .epoch_interruption(true)
        .consume_fuel(config.fuel_per_call.is_some())
        .max_wasm_stack(config.max_wasm_stack_bytes)
        .parallel_compilation(true);

    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(&config.pool)));

    wasmtime::Engine::new(&wasm).map_err(|e| Error::Config(format!("{e:#}")))
}

/// The baseline tier's engine: the same settings compiled by Winch, with
/// instances allocated on demand (they are few and short-lived: a large
/// component's until its optimised code is ready), so it reserves no pool.
/// Errors: wasmtime's reason (tiering is then off: everything compiles with
/// Cranelift, as without it).
pub(crate) fn build_baseline_engine(config: &HostConfig) -> wasmtime::Result<wasmtime::Engine> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .concurrency_support(false)
        .epoch_interruption(true)
        .consume_fuel(config.fuel_per_call.is_some())
        .max_wasm_stack(config.max_wasm_stack_bytes)
        .strategy(wasmtime::Strategy::Winch);
    wasmtime::Engine::new(&wasm)
}

/// The pooling allocator settings for a pool size. The bench's bare
/// baseline uses the same settings, so the comparison is like for like.
pub(crate) fn pooling_config(pool: &PoolConfig) -> PoolingAllocationConfig {
    let mut pooling = PoolingAllocationConfig::new();
    // One linear memory per instance on average, a quarter more for
    // components with several; each memory slot reserves ~4 GiB of address
    // space (so 10 000 instances reserve ~50 TiB, still under the 128 TiB a
    // process has), tables 8 bytes per element of the maximum.
    let memories = pool.max_instances.saturating_add(pool.max_instances / 4);
    pooling
        .total_component_instances(pool.max_instances)
        .total_core_instances(pool.max_instances.saturating_mul(4))
        .total_memories(memories)
        .total_tables(pool.max_instances.saturating_mul(4))
        // A store that made an async call keeps its fiber stack.
        .total_stacks(pool.max_instances)
        .max_memory_size(pool.max_memory_bytes)
        .table_elements(pool.max_table_elements)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instances_per_component(64)
        // Keep a little of each memory resident between uses: re-zeroing
        // with memset is faster than madvise for small heaps.
        .linear_memory_keep_resident(64 * 1024)
        .table_keep_resident(16 * 1024);
    pooling
}

/// A hex fingerprint of everything that makes compiled code of this engine
/// (in)compatible: wasmtime version, target, flags, tunables.
pub(crate) fn engine_fingerprint(engine: &wasmtime::Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())[..16].to_string()
}

/// A `Hasher` that feeds sha256, so the fingerprint is stable across runs.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]])
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Advances the engine's epoch every `tick` until dropped, so that
/// `Store::set_epoch_deadline` bounds the wall-clock time of every call.
pub(crate) fn epoch_ticker(engine: wasmtime::Engine, tick: Duration) -> Result<Background> {
    Background::start("epoch", tick, move |_| {
        engine.increment_epoch();
        Step::Again
    })
}
