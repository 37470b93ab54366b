//! Helpers every test module shares: hosts sized for tests, the sample
//! components, config pairs.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use host_core::{Host, HostConfig, LoadedComponent, PoolConfig, registry::ComponentRef};

/// A host sized for tests (a small pool, so parallel tests do not reserve
/// terabytes of address space), with its compile cache in `cache_dir`.
pub fn host_with_cache(cache_dir: Option<PathBuf>) -> Host {
    Host::new(HostConfig {
        cache_dir,
        pool: PoolConfig { max_instances: 48, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        ..HostConfig::default()
    })
    .expect("host starts")
}

/// One host shared by the tests that need nothing special: components stay
/// compiled in memory between tests.
pub fn shared_host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| host_with_cache(None))
}

/// The crate folder, read when the tests run: cargo sets it for the test
/// process. A path baked in at compile time goes stale when a build folder
/// is shared by two checkouts (a CI clone and a work tree).
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// Path of a committed sample component, e.g. `sample("text-tools", "upper")`.
pub fn sample_path(project: &str, name: &str) -> PathBuf {
    manifest_dir().join("../sample-projects").join(project).join("components").join(format!("{name}.wasm"))
}

pub fn sample(project: &str, name: &str) -> Arc<LoadedComponent> {
    shared_host().load_file(sample_path(project, name)).expect("sample component loads")
}

pub fn config(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A host on data folder `dir` (its compile cache inside), sized for tests.
pub fn data_host(dir: &std::path::Path) -> Host {
    Host::new(HostConfig {
        data_dir: Some(dir.to_path_buf()),
        cache_dir: Some(dir.join("cache")),
        pool: PoolConfig { max_instances: 64, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        trace_runs: host_core::pipeline::DEFAULT_TRACE_RUNS,
        ..HostConfig::default()
    })
    .expect("host starts")
}

/// A `name@version`.
pub fn r(s: &str) -> ComponentRef {
    s.parse().unwrap()
}

/// Adds a sample component to the registry as `reference`.
pub fn add_sample(host: &Host, reference: &str, project: &str, name: &str) {
    let bytes = std::fs::read(sample_path(project, name)).unwrap();
    host.add_component(&r(reference), &bytes).unwrap();
}
