//! Limits: what one call may use ([`CallLimits`]), what a service stores
//! ([`ServiceLimits`]: the one set the CLI, project files and the studio
//! give), and the host's capacity and maxima ([`PoolConfig`]), with the
//! checks between them. Plain settings; knows nothing of instances.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Lines of a WASI command's stderr kept in [`crate::Error::CommandFailed`]
/// (every line goes to the guest log).
pub const STDERR_TAIL_LINES: usize = 20;

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

/// Default per-call limits.
impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            timeout: Duration::from_secs(10),
            max_memory_bytes: 128 * 1024 * 1024,
            // Large runtimes compiled to wasm have tables of 10-30 thousand
            // entries; 100 000 elements are 800 KiB.
            max_table_elements: 100_000,
            fuel: None,
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

/// A service's bounds on every call: the one set of limits, given by
/// `airssys deploy` flags (`--timeout-ms`, `--max-memory-mib`,
/// `--max-table-elements`), `project.ron` (`limits: (...)` on a service) and
/// the studio's inspector, and stored in the service's spec. Fields left out
/// take the defaults of [`CallLimits::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceLimits {
    /// Wall-clock deadline of each call in milliseconds, time spent waiting
    /// inside the host included.
    pub timeout_ms: u64,
    /// Linear memory per instance, MiB.
    pub max_memory_mib: u64,
    /// Elements per table.
    pub max_table_elements: u64,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        ServiceLimits::from(&CallLimits::default())
    }
}

impl From<&CallLimits> for ServiceLimits {
    fn from(limits: &CallLimits) -> Self {
        ServiceLimits {
            timeout_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
            max_memory_mib: (limits.max_memory_bytes >> 20) as u64,
            max_table_elements: limits.max_table_elements as u64,
        }
    }
}

impl ServiceLimits {
    /// The per-call limits (no fuel budget: fuel is a host setting).
    pub fn call_limits(&self) -> CallLimits {
        CallLimits {
            timeout: Duration::from_millis(self.timeout_ms),
            max_memory_bytes: usize::try_from(self.max_memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            max_table_elements: usize::try_from(self.max_table_elements).unwrap_or(usize::MAX),
            fuel: None,
        }
    }

    /// Refuses zero limits (a call that can never run) and limits above the
    /// host's maxima.
    pub fn validate(&self, pool: &PoolConfig) -> Result<()> {
        for (value, name) in [
            (self.timeout_ms, "timeout_ms"),
            (self.max_memory_mib, "max_memory_mib"),
            (self.max_table_elements, "max_table_elements"),
        ] {
            if value == 0 {
                return Err(Error::InvalidLimits(format!("{name} must be above 0")));
            }
        }
        pool.check(&self.call_limits())
    }
}
