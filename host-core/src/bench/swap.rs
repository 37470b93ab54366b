//! Hot-swap figures: how fast a cached version goes live, what a swap does
//! to call latency and throughput, and how many calls fail (none may).
//!
//! v1 and v2 are the same bytes under two versions, so latency differences
//! come from the swap itself, not from two components doing different work.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    Error, Host, HostConfig, Input, Result,
    deploy::{DeployRequest, PoolMode, Strategy},
    registry::ComponentRef,
};

/// The swap section of the bench report.
#[derive(Debug, Clone, Serialize)]
pub struct SwapReport {
    /// Median ms for `deploy` with Immediate of an already-compiled version
    /// (start and init the new pool, switch, drain and stop the old one,
    /// persist the service): an upper bound on time-to-live.
    pub swap_live_ms_p50: f64,
    /// 99th percentile of the same.
    pub swap_live_ms_p99: f64,
    /// Bare wasmtime: instantiate and init the same pool (the least work any
    /// host must do to put a version live), median ms.
    pub swap_live_bare_ms_p50: f64,
    /// Call latency with no swap running, µs.
    pub steady_p50_us: f64,
    /// Call latency with no swap running, µs.
    pub steady_p99_us: f64,
    /// Call latency while versions are swapped back and forth, µs.
    pub swap_p50_us: f64,
    /// Call latency while versions are swapped back and forth, µs.
    pub swap_p99_us: f64,
    /// `swap_p99_us / steady_p99_us` (target ≤ 2).
    pub swap_p99_ratio: f64,
    /// Calls per second with no rollout.
    pub steady_calls_per_s: f64,
    /// Calls per second during a canary rollout.
    pub canary_calls_per_s: f64,
    /// Failed calls during swaps, per strategy (target 0).
    pub swap_failed_calls: Vec<(String, u64)>,
}

const LOAD_THREADS: usize = 2;

struct Load {
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    workers: Vec<thread::JoinHandle<Histogram<u64>>>,
}

impl Load {
    fn start(host: &Host) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicU64::new(0));
        let calls = Arc::new(AtomicU64::new(0));
        let workers = (0..LOAD_THREADS)
            .map(|_| {
                let (host, stop, failed, calls) = (host.clone(), stop.clone(), failed.clone(), calls.clone());
                thread::spawn(move || {
                    let mut histogram = Histogram::<u64>::new(3).unwrap_or_else(|_| unreachable_histogram());
                    let input = Input::new(b"the quick brown fox".to_vec());
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let ok = host.invoke("bench", &input).is_ok();
                        let _ = histogram.record(started.elapsed().as_nanos() as u64);
                        calls.fetch_add(1, Ordering::Relaxed);
                        if !ok {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    histogram
                })
            })
            .collect();
        Load { stop, failed, calls, workers }
    }

    /// Stops the load; returns the merged latency histogram (ns).
    fn finish(self) -> Histogram<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let mut merged = Histogram::<u64>::new(3).unwrap_or_else(|_| unreachable_histogram());
        for worker in self.workers {
            if let Ok(h) = worker.join() {
                let _ = merged.add(h);
            }
        }
        merged
    }
}

fn unreachable_histogram() -> Histogram<u64> {
    // `new(3)` only fails for precision above 5.
    Histogram::<u64>::new(1).unwrap_or_else(|_| std::process::abort())
}

fn reference(version: &str) -> Result<ComponentRef> {
    Ok(format!("bench@{version}").parse()?)
}

fn percentile_ms(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

/// Runs the swap measurements in `scratch`.
pub(crate) fn run(bytes: &[u8], scratch: &std::path::Path, quick: bool) -> Result<SwapReport> {
    let host = Host::new(HostConfig {
        data_dir: Some(scratch.join("data")),
        cache_dir: Some(scratch.join("swap-cache")),
        ..HostConfig::default()
    })?;
    let versions = [reference("1.0.0")?, reference("2.0.0")?];
    for v in &versions {
        host.add_component(v, bytes)?;
    }
    let pool = PoolMode::Pooled { size: 2 };
    host.deploy(DeployRequest::new("bench", versions[0].clone()).pool(pool))?;
    let deploy = |i: usize, strategy: Strategy| -> Result<Duration> {
        let started = Instant::now();
        host.deploy(DeployRequest::new("bench", versions[i % 2].clone()).strategy(strategy))?;
        Ok(started.elapsed())
    };

    // Time to live, no load.
    let swaps = if quick { 10 } else { 40 };
    let mut live = Vec::with_capacity(swaps);
    for i in 1..=swaps {
        live.push(deploy(i, Strategy::Immediate)?.as_secs_f64() * 1e3);
    }
    let component = host.load_bytes(bytes)?;
    let mut bare_live = Vec::with_capacity(swaps);
    for _ in 0..swaps {
        let started = Instant::now();
        let mut pool = Vec::new();
        for _ in 0..2 {
            let mut instance = host.instantiate(&component)?;
            instance.init(&[])?;
            pool.push(instance);
        }
        bare_live.push(started.elapsed().as_secs_f64() * 1e3);
        drop(pool);
    }

    // Steady state.
    let window = Duration::from_millis(if quick { 400 } else { 1_500 });
    let load = Load::start(&host);
    thread::sleep(window);
    let steady_calls = load.calls.load(Ordering::Relaxed);
    let steady = load.finish();

    // Swapping back and forth under load.
    let load = Load::start(&host);
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < window {
        deploy(i, Strategy::Immediate)?;
        i += 1;
        thread::sleep(Duration::from_millis(20));
    }
    let immediate_failed = load.failed.load(Ordering::Relaxed);
    let swapping = load.finish();

    // Throughput during a canary, then failures per strategy.
    let load = Load::start(&host);
    let canary = Strategy::Canary {
        steps: vec![10, 50, 100],
        interval_ms: window.as_millis() as u64 / 3,
        min_calls: 0,
        max_error_increase: 0.05,
    };
    let before = load.calls.load(Ordering::Relaxed);
    let canary_started = Instant::now();
    deploy(i, canary)?;
    i += 1;
    let canary_calls_per_s =
        (load.calls.load(Ordering::Relaxed) - before) as f64 / canary_started.elapsed().as_secs_f64();
    let canary_failed = load.failed.load(Ordering::Relaxed);
    let mut failed = vec![("immediate".to_string(), immediate_failed), ("canary".to_string(), canary_failed)];
    for strategy in [Strategy::BlueGreen { keep_old_ms: 0 }, Strategy::Rolling { batch: 1 }] {
        let name = strategy.name().to_string();
        let before = load.failed.load(Ordering::Relaxed);
        deploy(i, strategy)?;
        i += 1;
        failed.push((name, load.failed.load(Ordering::Relaxed) - before));
    }
    load.finish();
    host.close();

    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    if steady.is_empty() || swapping.is_empty() {
        return Err(Error::Measurement("the swap bench recorded no calls".into()));
    }
    Ok(SwapReport {
        swap_live_ms_p50: percentile_ms(&mut live, 0.5),
        swap_live_ms_p99: percentile_ms(&mut live, 0.99),
        swap_live_bare_ms_p50: percentile_ms(&mut bare_live, 0.5),
        steady_p50_us: us(&steady, 0.5),
        steady_p99_us: us(&steady, 0.99),
        swap_p50_us: us(&swapping, 0.5),
        swap_p99_us: us(&swapping, 0.99),
        swap_p99_ratio: us(&swapping, 0.99) / us(&steady, 0.99),
        steady_calls_per_s: steady_calls as f64 / window.as_secs_f64(),
        canary_calls_per_s,
        swap_failed_calls: failed,
    })
}

impl SwapReport {
    /// A plain-text section for the bench table.
    pub fn table(&self) -> String {
        let failed: Vec<String> = self.swap_failed_calls.iter().map(|(s, n)| format!("{s} {n}")).collect();
        format!(
            "\nhot swap (same bytes as v1 and v2; {LOAD_THREADS} load threads)\n\
             {:<44} {:>9.2} ms p50, {:.2} ms p99 (bare instantiate+init of the pool: {:.2} ms; target ≤ 10 ms)\n\
             {:<44} p50 {:>8.2} µs   p99 {:>8.2} µs\n\
             {:<44} p50 {:>8.2} µs   p99 {:>8.2} µs   p99 ratio {:.2}x (target ≤ 2x)\n\
             {:<44} {:>9.0} calls/s steady, {:.0} calls/s during a canary\n\
             {:<44} {}\n",
            "time to live (Immediate, cached version)",
            self.swap_live_ms_p50,
            self.swap_live_ms_p99,
            self.swap_live_bare_ms_p50,
            "call latency, steady",
            self.steady_p50_us,
            self.steady_p99_us,
            "call latency, swapping every 20 ms",
            self.swap_p50_us,
            self.swap_p99_us,
            self.swap_p99_ratio,
            "throughput",
            self.steady_calls_per_s,
            self.canary_calls_per_s,
            "failed calls during swaps (target 0)",
            failed.join(", ")
        )
    }
}
