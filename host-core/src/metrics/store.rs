//! `DATA/metrics.json`: what every process on a data folder has counted,
//! merged under the folder lock. [`Unflushed`] is what this process
//! counted since its last flush; [`Stored::add`] merges it (for a flush,
//! which writes and marks it; for a snapshot, which only reads). A file
//! that does not parse is moved aside, never lost.
//!
//! ```text
//! DATA/metrics.json   {"schema":1,"services":{..},"pipelines":{..}}
//! ```

use std::{collections::BTreeMap, path::Path, sync::Arc};

use serde::{Deserialize, Serialize};

use super::{
    counters::{CallStats, Counts, LATENCY_MAX_US, NodeCounts, NodeStats, buckets, new_histogram},
    snapshot::HealthReading,
};
use crate::{Digest, Error, Result, fsutil};

pub(super) const SCHEMA: u32 = 1;

/// What one version counted since the last flush.
pub(super) struct VersionDelta {
    pub service: String,
    pub version: String,
    pub digest: Digest,
    /// Counted since the last flush.
    pub delta: Counts,
    /// The memory high-water mark.
    pub high_water: u64,
    /// The counters, and their counts now (what a flush marks as written).
    pub stats: Arc<CallStats>,
    pub now: Counts,
}

/// What one pipeline node counted since the last flush.
pub(super) struct NodeDelta {
    pub pipeline: String,
    pub node: String,
    pub delta: NodeCounts,
    pub stats: Arc<NodeStats>,
    pub now: NodeCounts,
}

/// What this process counted and has not written yet.
#[derive(Default)]
pub(super) struct Unflushed {
    pub versions: Vec<VersionDelta>,
    pub nodes: Vec<NodeDelta>,
    /// The last health reading of each service.
    pub health: Vec<(String, HealthReading)>,
}

impl Unflushed {
    /// Marks what was merged as written (once the file holds it).
    pub(super) fn mark_flushed(self) {
        for v in self.versions {
            v.stats.flushed(v.now);
        }
        for n in self.nodes {
            n.stats.flushed(n.now);
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Stored {
    schema: u32,
    #[serde(default)]
    pub(super) services: BTreeMap<String, StoredService>,
    #[serde(default)]
    pub(super) pipelines: BTreeMap<String, BTreeMap<String, NodeCounts>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct StoredService {
    #[serde(default)]
    pub(super) health: Option<HealthReading>,
    #[serde(default)]
    pub(super) versions: BTreeMap<String, StoredVersion>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredVersion {
    pub(super) digest: Digest,
    calls: u64,
    errors: u64,
    latency_sum_us: u64,
    pub(super) memory_high_water_bytes: u64,
    fuel_used: u64,
    /// The histogram as (µs, count) pairs of its recorded buckets.
    latency_us: Vec<(u64, u64)>,
}

impl StoredVersion {
    fn new(digest: Digest) -> Self {
        StoredVersion {
            digest,
            calls: 0,
            errors: 0,
            latency_sum_us: 0,
            memory_high_water_bytes: 0,
            fuel_used: 0,
            latency_us: Vec::new(),
        }
    }

    pub(super) fn counts(&self) -> Counts {
        let mut latency = new_histogram();
        for &(us, n) in &self.latency_us {
            let _ = latency.record_n(us.clamp(1, LATENCY_MAX_US), n);
        }
        Counts {
            calls: self.calls,
            errors: self.errors,
            latency_sum_us: self.latency_sum_us,
            fuel_used: self.fuel_used,
            latency,
        }
    }

    fn add(&mut self, delta: &Counts, high_water: u64) {
        let mut total = self.counts();
        total.add(delta);
        self.calls = total.calls;
        self.errors = total.errors;
        self.latency_sum_us = total.latency_sum_us;
        self.fuel_used = total.fuel_used;
        self.memory_high_water_bytes = self.memory_high_water_bytes.max(high_water);
        self.latency_us = buckets(&total.latency);
    }
}

impl Stored {
    /// Reads `path`; a file that cannot be parsed is moved aside (kept for
    /// inspection) when `repair` is set, and reads as empty.
    pub(super) fn load(path: &Path, repair: bool) -> Result<Stored> {
        match fsutil::read_json::<Stored>(path) {
            Ok(stored) => Ok(stored.unwrap_or_default()),
            Err(Error::DataCorrupt { source, .. }) => {
                tracing::warn!(path = %path.display(), error = %source, "the metrics file is unreadable; starting it anew");
                if repair {
                    let aside = path.with_extension(format!("json.corrupt-{}", fsutil::unix_millis()));
                    std::fs::rename(path, &aside)
                        .map_err(|e| Error::io("move the unreadable metrics file aside", path, e))?;
                }
                Ok(Stored::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Writes the file (atomically).
    pub(super) fn save(&mut self, path: &Path) -> Result<()> {
        self.schema = SCHEMA;
        fsutil::write_json(path, self)
    }

    /// Adds what this process has not written yet.
    pub(super) fn add(&mut self, unflushed: &Unflushed) {
        for v in &unflushed.versions {
            let target = self.services.entry(v.service.clone()).or_default();
            let slot = target.versions.entry(v.version.clone()).or_insert_with(|| StoredVersion::new(v.digest));
            slot.add(&v.delta, v.high_water);
            slot.digest = v.digest;
        }
        for (service, reading) in &unflushed.health {
            self.services.entry(service.clone()).or_default().health = Some(reading.clone());
        }
        for n in &unflushed.nodes {
            self.pipelines.entry(n.pipeline.clone()).or_default().entry(n.node.clone()).or_default().add(n.delta);
        }
    }
}
