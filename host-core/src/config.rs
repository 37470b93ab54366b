//! [`HostConfig`]: a host's settings (folders, epoch tick, pool, default
//! limits, fuel, stack, output cap, custom capabilities) and the default
//! folders. Read by the engine and the subsystems; changes nothing itself.

use std::{path::PathBuf, time::Duration};

use crate::{
    limits::{CallLimits, PoolConfig},
    security::CustomCapability,
};

/// Settings of a [`crate::Host`].
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
    /// Tiered compilation: a component of at least this many bytes whose
    /// optimised code is not in the compile cache is first compiled by
    /// Winch (wasmtime's baseline compiler, several times faster to
    /// compile, slower to run) and serves at once, while Cranelift compiles
    /// it in the background; live services then swap to the optimised code
    /// with no failed call, and the cache keeps it. `None`: always compile
    /// with Cranelift first (one-shot processes, which exit before a
    /// background compile ends). Default: 4 MiB.
    pub tiered_min_bytes: Option<u64>,
    /// Message traces: how many pipeline runs the host keeps (in memory
    /// and in `DATA/traces.jsonl`), each node call's input and output
    /// summarised (see [`crate::pipeline::RunTrace`]); 0 turns tracing off.
    /// Default: 0 (off) in the library for now: recording costs ~1.2x a
    /// 3-node 1 KiB run (the goal is 1.10x, see BENCHMARKS.md); the CLI
    /// turns it on with [`crate::pipeline::DEFAULT_TRACE_RUNS`] (100).
    pub trace_runs: usize,
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
            tiered_min_bytes: Some(4 << 20),
            trace_runs: 0,
        }
    }
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
