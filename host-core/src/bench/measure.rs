//! What every part of `airssys bench` measures with: a compared result,
//! alternating rounds with medians, payloads and a scratch folder.

use std::{path::PathBuf, time::Instant};

use serde::Serialize;

use crate::{Error, Result};

/// One compared measurement.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Stable key, e.g. `warm_execute_1k`.
    pub key: String,
    /// What was measured, for people.
    pub label: String,
    /// airssys: median microseconds per operation.
    pub airssys_us: f64,
    /// Bare wasmtime: median microseconds per operation.
    pub bare_us: f64,
    /// airssys / bare.
    pub ratio: f64,
    /// The ratio the project aims for, if any.
    pub target_ratio: Option<f64>,
    /// Whether the ratio is within the target.
    pub meets_target: Option<bool>,
}

impl BenchResult {
    /// The target column of a table: `≤T ok`, `≤T MISS`, or `-` without a target.
    pub fn target_text(&self) -> String {
        match (self.target_ratio, self.meets_target) {
            (Some(t), Some(true)) => format!("≤{t} ok"),
            (Some(t), _) => format!("≤{t} MISS"),
            _ => "-".to_string(),
        }
    }
}

pub(super) fn payload(size: usize) -> Vec<u8> {
    b"the quick brown fox jumps over the lazy dog. ".iter().copied().cycle().take(size).collect()
}

pub(super) fn result(key: &str, label: &str, airssys_us: f64, bare_us: f64, target: Option<f64>) -> BenchResult {
    let ratio = if bare_us > 0.0 { airssys_us / bare_us } else { f64::NAN };
    BenchResult {
        key: key.to_string(),
        label: label.to_string(),
        airssys_us,
        bare_us,
        ratio,
        target_ratio: target,
        meets_target: target.map(|t| ratio <= t),
    }
}

/// Alternates batches of `iters` operations, framework then baseline, for
/// `rounds` rounds after one warm-up round; returns median µs per operation.
pub(super) fn compare(
    rounds: usize,
    iters: usize,
    mut ours: impl FnMut() -> Result<()>,
    mut bare: impl FnMut() -> Result<()>,
) -> Result<(f64, f64)> {
    let batch = |f: &mut dyn FnMut() -> Result<()>| -> Result<f64> {
        let start = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        Ok(start.elapsed().as_secs_f64() * 1e6 / iters as f64)
    };
    batch(&mut ours)?;
    batch(&mut bare)?;
    let mut a = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        a.push(batch(&mut ours)?);
        b.push(batch(&mut bare)?);
    }
    Ok((median(&mut a), median(&mut b)))
}

pub(super) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Milliseconds since the Unix epoch.
#[cfg(feature = "fleet")]
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A temporary folder removed on drop.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("airssys-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create a scratch folder", &dir, e))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
