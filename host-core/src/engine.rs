//! The shared wasmtime `Engine`: component model, pooling allocator, epoch
//! interruption driven by a ticker thread, and an on-disk cache of compiled
//! code keyed by the component's sha256 and the engine's fingerprint.

use std::{
    fs,
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::{Digest, Error, HostConfig, Result};

/// Builds the wasmtime engine for a host configuration.
pub(crate) fn build_engine(config: &HostConfig) -> Result<Engine> {
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

    Engine::new(&wasm).map_err(|e| Error::Config(format!("{e:#}")))
}

/// The pooling allocator settings for a pool size. The bench's bare
/// baseline uses the same settings, so the comparison is like for like.
pub(crate) fn pooling_config(pool: &crate::PoolConfig) -> PoolingAllocationConfig {
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
pub(crate) fn engine_fingerprint(engine: &Engine) -> String {
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
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine, tick: Duration) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("airssys-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::park_timeout(tick);
                    engine.increment_epoch();
                }
            })
            .map_err(Error::thread("epoch ticker"))?;
        Ok(EpochTicker { stop, thread: Some(thread) })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Where a loaded component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadOrigin {
    /// Compiled now by Cranelift.
    Compiled,
    /// Read back from the on-disk compile cache.
    DiskCache,
}

/// Compiled code on disk: `<root>/<engine fingerprint>/<sha256>.cwasm`.
///
/// The root is the user's (`HostConfig::cache_dir`, which may be a shared folder such
/// as a 1777 one): it keeps its mode. Code is only read from the
/// fingerprint folder, which must be the current user's and writable by
/// nobody else (airssys creates it, and any missing parent, 0700 from the
/// start), and only output of `Component::serialize` for the same engine
/// fingerprint is ever written there.
#[derive(Debug)]
pub(crate) struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// Opens (creating if needed) the cache for one engine fingerprint.
    ///
    /// Errors: [`Error::Io`] when the folder cannot be made; [`Error::Cache`]
    /// when the fingerprint folder is not a folder owned by the current user
    /// or can be written by others (compiled code read from there runs
    /// natively, so nobody else may plant it).
    pub(crate) fn open(root: &Path, fingerprint: &str) -> Result<Self> {
        let dir = root.join(fingerprint);
        crate::fsutil::create_private_dir_all(&dir).map_err(|e| Error::io("create the compile cache", &dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = fs::symlink_metadata(&dir).map_err(|e| Error::io("open the compile cache", &dir, e))?;
            let ours = meta.is_dir() && meta.uid() == rustix::process::getuid().as_raw();
            if !ours || meta.mode() & 0o022 != 0 {
                return Err(Error::Cache(format!(
                    "{} is not a folder only you can write (it belongs to another user, is a link, or others may \
                     write it), so compiled code is not read from it; remove it or choose another cache folder (HostConfig::cache_dir)",
                    dir.display()
                )));
            }
        }
        Ok(CompileCache { dir })
    }

    pub(crate) fn path_for(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.hex()))
    }

    /// Writes compiled code atomically: temp file, fsync, rename.
    pub(crate) fn store(&self, digest: &Digest, compiled: &[u8]) -> Result<()> {
        crate::fsutil::write_atomic(&self.path_for(digest), compiled)
    }
}
