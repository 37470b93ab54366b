//! The global flags and where a verb acts: a data folder in this process
//! ([`Target::Local`]), `airssys serve` ([`Target::Remote`]) or a fleet of
//! them ([`Target::Fleet`]); the host
//! settings the flags make. Every other module of the binary reads these.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use host_core::{Host, HostConfig, RemoteRuntime, Runtime};

/// Where a verb acts: a data folder in this process, `airssys serve`, or a
/// fleet of them.
pub enum Target {
    Local(Host),
    Remote(RemoteRuntime),
    Fleet(host_core::fleet::FleetRuntime),
}

impl Target {
    pub fn runtime(&self) -> &dyn Runtime {
        match self {
            Target::Local(host) => host,
            Target::Remote(remote) => remote,
            Target::Fleet(fleet) => fleet,
        }
    }

    /// The local host, for verbs that work on a data folder only.
    pub fn host(&self, verb: &str) -> Result<&Host> {
        match self {
            Target::Local(host) => Ok(host),
            Target::Remote(remote) => bail!(
                "`airssys {verb}` works on a data folder only, not on a remote runtime ({}); drop --remote",
                remote.url()
            ),
            Target::Fleet(_) => bail!("`airssys {verb}` works on a data folder only, not on a fleet; drop --fleet"),
        }
    }

    /// Stores this process's metrics (local) before it exits.
    pub fn close(&self) {
        if let Target::Local(host) = self {
            host.close();
        }
    }
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data folder: registry, services, rollout history
    /// (default: $AIRSSYS_DATA_DIR or ~/.local/share/airssys).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder for compiled code (default: $AIRSSYS_CACHE_DIR or ~/.cache/airssys/compiled).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every time; do not read or write the compile cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Act on a remote runtime (`airssys serve`) at this URL instead of a
    /// data folder, e.g. http://127.0.0.1:7411.
    #[arg(long, global = true, value_name = "URL", requires = "token_file")]
    pub remote: Option<String>,
    /// The server's token file (with --remote).
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// With --remote https://...: trust only the CA certificates (PEM) in
    /// this file, instead of the system's roots (a certificate your own CA
    /// signed).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// More log output (guest log lines at debug level and host events).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The host's instance capacity: live instances it can hold at once
    /// (default: sized from this machine's memory, one per 32 MiB, 256-4096).
    #[arg(long, global = true, value_name = "N")]
    pub max_instances: Option<u32>,
    #[command(flatten)]
    pub fleet: crate::fleet::FleetArgs,
}

/// A service's limits on every call (the same set as `limits: (...)` in
/// project.ron and the studio's inspector).
#[derive(Debug, Clone, Copy, Args)]
pub struct LimitArgs {
    /// Wall-clock limit per call, time spent waiting inside the host
    /// included [default: 10000].
    #[arg(long, value_name = "N")]
    timeout_ms: Option<u64>,
    /// Linear memory per instance [default: 128].
    #[arg(long, value_name = "N")]
    max_memory_mib: Option<u64>,
    /// Elements per table [default: 100000].
    #[arg(long, value_name = "N")]
    max_table_elements: Option<u64>,
}

impl LimitArgs {
    /// Whether any limit was given.
    pub fn any(&self) -> bool {
        self.timeout_ms.is_some() || self.max_memory_mib.is_some() || self.max_table_elements.is_some()
    }

    /// `base` with the limits that were given.
    pub fn apply(&self, base: host_core::deploy::ServiceLimits) -> host_core::deploy::ServiceLimits {
        host_core::deploy::ServiceLimits {
            timeout_ms: self.timeout_ms.unwrap_or(base.timeout_ms),
            max_memory_mib: self.max_memory_mib.unwrap_or(base.max_memory_mib),
            max_table_elements: self.max_table_elements.unwrap_or(base.max_table_elements),
        }
    }
}

pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// The host settings the flags make. One-shot verbs compile optimised code
/// first (tiering off): they exit before a background compile would end,
/// so it would only cost CPU and never fill the cache; `serve` turns
/// tiering back on ([`tiered`]).
pub fn host_config(global: &GlobalArgs) -> HostConfig {
    let mut config = HostConfig {
        tiered_min_bytes: None,
        // `airssys trace` shows the runs of earlier processes.
        trace_runs: host_core::pipeline::DEFAULT_TRACE_RUNS,
        ..HostConfig::default()
    };
    if let Some(max) = global.max_instances {
        config.pool.max_instances = max;
    }
    if global.no_cache {
        config.cache_dir = None;
    } else if let Some(dir) = &global.cache_dir {
        config.cache_dir = Some(dir.clone());
    }
    config
}

/// The data folder in this process, the remote runtime of `--remote`, or
/// the fleet of `--fleet`.
pub fn target(global: &GlobalArgs) -> Result<Target> {
    if let Some(config) = global.fleet.config()? {
        if global.remote.is_some() {
            bail!("--fleet and --remote name two different runtimes; pass one");
        }
        return Ok(Target::Fleet(crate::fleet::connect(config)?));
    }
    match (&global.remote, &global.token_file) {
        (Some(url), Some(token_file)) => {
            let remote = host_core::RemoteRuntime::from_token_file(url, token_file)?;
            Ok(Target::Remote(match &global.ca {
                Some(ca) => remote.with_ca_file(ca)?,
                None => remote,
            }))
        }
        (Some(_), None) => bail!("--remote needs --token-file FILE (the token `airssys serve` wrote)"),
        (None, _) => Ok(Target::Local(data_host(global)?)),
    }
}

/// A long-running process's settings: [`host_config`] with tiered
/// compilation on (a large new component serves at once on baseline code).
pub fn tiered(mut config: HostConfig) -> HostConfig {
    config.tiered_min_bytes = HostConfig::default().tiered_min_bytes;
    config
}

/// A host on the data folder (which must be known).
pub fn data_host(global: &GlobalArgs) -> Result<Host> {
    data_host_with(global, host_config(global))
}

/// A host on the data folder with `config` (its folder set from the flags).
pub fn data_host_with(global: &GlobalArgs, mut config: HostConfig) -> Result<Host> {
    config.data_dir = global.data_dir.clone().or_else(host_core::default_data_dir);
    if config.data_dir.is_none() {
        bail!("no data folder: pass --data-dir DIR or set AIRSSYS_DATA_DIR");
    }
    Ok(Host::new(config)?)
}
