//! The live counters a call and a pipeline node add to ([`CallStats`],
//! [`NodeStats`]): one lock per call for a version's counts and latency
//! histogram (HDR, microseconds, three significant figures), atomics for a
//! node's messages. In memory only; `store` writes them out.

use std::{
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies above an hour are recorded as an hour.
pub(super) const LATENCY_MAX_US: u64 = 3_600_000_000;

/// A histogram as (µs, count) buckets.
pub(super) fn buckets(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
    histogram.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
}

pub(super) fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, LATENCY_MAX_US, 3) {
        Ok(h) => h,
        Err(e) => unreachable!("constant histogram bounds are valid: {e}"),
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one service version has done in this process.
#[derive(Debug)]
pub struct CallStats {
    /// One lock per call for every counter: cheaper than an atomic each.
    live: Mutex<Counts>,
    memory_high_water: AtomicU64,
    /// What has been written to the metrics file already.
    flushed: Mutex<Counts>,
}

/// Additive counts of one version.
#[derive(Debug, Clone)]
pub(super) struct Counts {
    pub(super) calls: u64,
    pub(super) errors: u64,
    pub(super) latency_sum_us: u64,
    pub(super) fuel_used: u64,
    pub(super) latency: Histogram<u64>,
}

impl Default for Counts {
    fn default() -> Self {
        Counts { calls: 0, errors: 0, latency_sum_us: 0, fuel_used: 0, latency: new_histogram() }
    }
}

impl Counts {
    pub(super) fn add(&mut self, other: &Counts) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.latency_sum_us += other.latency_sum_us;
        self.fuel_used += other.fuel_used;
        // Both have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// `self - earlier` (`earlier` is a past reading of the same counts).
    fn since(&self, earlier: &Counts) -> Counts {
        let mut latency = self.latency.clone();
        let _ = latency.subtract(&earlier.latency);
        Counts {
            calls: self.calls - earlier.calls,
            errors: self.errors - earlier.errors,
            latency_sum_us: self.latency_sum_us - earlier.latency_sum_us,
            fuel_used: self.fuel_used - earlier.fuel_used,
            latency,
        }
    }
}

impl Default for CallStats {
    fn default() -> Self {
        CallStats {
            live: Mutex::new(Counts::default()),
            memory_high_water: AtomicU64::new(0),
            flushed: Mutex::new(Counts::default()),
        }
    }
}

impl CallStats {
    /// Records one finished call.
    pub(crate) fn record(&self, elapsed: Duration, ok: bool, memory_bytes: u64, fuel: u64) {
        let us = (elapsed.as_micros() as u64).clamp(1, LATENCY_MAX_US);
        {
            let mut live = lock(&self.live);
            live.latency.saturating_record(us);
            live.calls += 1;
            live.errors += u64::from(!ok);
            live.latency_sum_us += us;
            live.fuel_used += fuel;
        }
        if memory_bytes > self.memory_high_water.load(Ordering::Relaxed) {
            self.memory_high_water.fetch_max(memory_bytes, Ordering::Relaxed);
        }
    }

    /// (calls, errors) in this process so far.
    pub fn read(&self) -> (u64, u64) {
        let live = lock(&self.live);
        (live.calls, live.errors)
    }

    /// What was counted since the last flush, the counts now (to mark as
    /// flushed once written) and the memory high-water mark.
    pub(super) fn unflushed(&self) -> (Counts, Counts, u64) {
        let now = lock(&self.live).clone();
        let delta = now.since(&lock(&self.flushed));
        (delta, now, self.memory_high_water.load(Ordering::Relaxed))
    }

    /// Marks `now` as written.
    pub(super) fn flushed(&self, now: Counts) {
        *lock(&self.flushed) = now;
    }
}

/// Messages through one pipeline node in this process.
#[derive(Debug, Default)]
pub struct NodeStats {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    errors: AtomicU64,
    flushed: Mutex<NodeCounts>,
}

impl NodeStats {
    pub(crate) fn record(&self, messages_in: u64, messages_out: u64, errors: u64) {
        // Adding zero costs a locked instruction too: skip it.
        for (counter, n) in
            [(&self.messages_in, messages_in), (&self.messages_out, messages_out), (&self.errors, errors)]
        {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// What was counted since the last flush, and the counts now.
    pub(super) fn unflushed(&self) -> (NodeCounts, NodeCounts) {
        let now = NodeCounts {
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        };
        (now.since(*lock(&self.flushed)), now)
    }

    /// Marks `now` as written.
    pub(super) fn flushed(&self, now: NodeCounts) {
        *lock(&self.flushed) = now;
    }
}

/// Messages through a pipeline node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounts {
    /// Messages that reached the node.
    pub messages_in: u64,
    /// Messages it emitted (routed errors included).
    pub messages_out: u64,
    /// Messages it failed on, whatever its error policy did with them.
    pub errors: u64,
}

impl NodeCounts {
    pub(super) fn add(&mut self, o: NodeCounts) {
        self.messages_in += o.messages_in;
        self.messages_out += o.messages_out;
        self.errors += o.errors;
    }

    fn since(self, earlier: NodeCounts) -> NodeCounts {
        NodeCounts {
            messages_in: self.messages_in - earlier.messages_in,
            messages_out: self.messages_out - earlier.messages_out,
            errors: self.errors - earlier.errors,
        }
    }
}
