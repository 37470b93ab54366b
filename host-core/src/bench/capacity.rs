//! Capacity: many live instances of one component in one host, and the
//! memory each takes, against bare wasmtime holding as many instances of the
//! same component (same pooling settings, sized for the count).
//!
//! Memory is the process's resident set (`/proc/self/statm`) before and
//! after making the instances, divided by their number. airssys is measured
//! first, then its instances and engine are dropped and bare wasmtime is
//! measured: memory the allocator kept from the first run can only make the
//! baseline look cheaper, never airssys.

use serde::Serialize;

use super::bare::Bare;
use crate::{Error, Host, HostConfig, PoolConfig, Result};

/// The capacity section of the bench report.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// Live instances made (each `init`ed).
    pub instances: u32,
    /// airssys: resident bytes per live instance.
    pub airssys_bytes_per_instance: f64,
    /// Bare wasmtime: resident bytes per live instance.
    pub bare_bytes_per_instance: f64,
    /// airssys / bare.
    pub ratio: f64,
    /// The ratio the project aims for.
    pub target_ratio: f64,
    /// Whether the ratio is within the target.
    pub meets_target: bool,
    /// Seconds airssys took to make them all.
    pub airssys_seconds: f64,
}

impl CapacityReport {
    /// A plain-text section for the bench table.
    pub fn table(&self) -> String {
        format!(
            "\ncapacity ({} live instances in one host, each init-ed)\n\
             {:<44} {:>9.1} KiB airssys, {:.1} KiB bare, ratio {:.2}x ({})\n\
             {:<44} {:>9.2} s\n",
            self.instances,
            "resident memory per instance",
            self.airssys_bytes_per_instance / 1024.0,
            self.bare_bytes_per_instance / 1024.0,
            self.ratio,
            if self.meets_target {
                format!("≤{} ok", self.target_ratio)
            } else {
                format!("≤{} MISS", self.target_ratio)
            },
            "time to make them",
            self.airssys_seconds
        )
    }
}

/// Resident bytes of this process (Linux), `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Makes `count` live instances of `bytes` with airssys, then with bare
/// wasmtime; `None` where resident memory cannot be read.
pub(super) fn run(bytes: &[u8], count: u32) -> Result<Option<CapacityReport>> {
    if resident_bytes().is_none() {
        return Ok(None);
    }
    let pool = PoolConfig { max_instances: count, ..PoolConfig::default() };
    let (airssys, seconds) = {
        let host = Host::new(HostConfig { cache_dir: None, pool: pool.clone(), ..HostConfig::default() })?;
        let component = host.load_bytes(bytes)?;
        let mut instances = Vec::with_capacity(count as usize);
        let before = resident_bytes().unwrap_or(0);
        let started = std::time::Instant::now();
        for _ in 0..count {
            let mut instance = host.instantiate(&component)?;
            instance.init(&[])?;
            instances.push(instance);
        }
        let seconds = started.elapsed().as_secs_f64();
        let after = resident_bytes().unwrap_or(0);
        (after.saturating_sub(before) as f64 / f64::from(count), seconds)
    };
    let bare = {
        let bare = Bare::with_pool(bytes, &pool)?;
        let mut instances = Vec::with_capacity(count as usize);
        let before = resident_bytes().unwrap_or(0);
        for _ in 0..count {
            let mut instance = bare.instantiate()?;
            instance.init()?;
            instances.push(instance);
        }
        let after = resident_bytes().unwrap_or(0);
        after.saturating_sub(before) as f64 / f64::from(count)
    };
    if bare <= 0.0 {
        return Err(Error::Measurement("bare wasmtime's instances took no measurable memory".into()));
    }
    let ratio = airssys / bare;
    Ok(Some(CapacityReport {
        instances: count,
        airssys_bytes_per_instance: airssys,
        bare_bytes_per_instance: bare,
        ratio,
        target_ratio: 2.0,
        meets_target: ratio <= 2.0,
        airssys_seconds: seconds,
    }))
}
