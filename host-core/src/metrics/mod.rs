//! Metrics and health ([`Metrics`], the data folder's metrics subsystem).
//!
//! Per service and version: calls, errors, a latency histogram, the memory
//! high-water mark, fuel used and live instances. Per service: the last
//! reading of the component's `health()`. Per pipeline node: messages in,
//! out and errors. Counters live in memory (`counters`) and only grow while
//! a process runs (canary analysis reads them); `flush` adds what is new to
//! `DATA/metrics.json` under the folder lock (`store`), so short CLI
//! processes and a long-running server add up in one file; a snapshot
//! (`snapshot`) is that file plus what this process has not flushed yet,
//! and `prometheus` prints one. Knows versions and nodes by name, not the
//! services that run them.

mod counters;
mod prometheus;
mod snapshot;
mod store;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use crate::{Digest, Result, background::Background, fsutil, registry::ComponentRef};
use counters::lock;
pub use counters::{CallStats, NodeCounts, NodeStats};
pub use snapshot::{HealthReading, Latency, MetricsSnapshot, NodeMetrics, ServiceMetrics, VersionMetrics};
use store::{NodeDelta, Stored, Unflushed, VersionDelta};

const FILE: &str = "metrics.json";

struct VersionEntry {
    digest: Digest,
    stats: Arc<CallStats>,
}

/// The metrics of one data folder.
pub(crate) struct Metrics {
    path: PathBuf,
    versions: Mutex<BTreeMap<(String, ComponentRef), VersionEntry>>,
    nodes: Mutex<BTreeMap<(String, String), Arc<NodeStats>>>,
    health: Mutex<BTreeMap<String, HealthReading>>,
    /// One flush at a time in this process (the folder lock orders processes).
    flushing: Mutex<()>,
}

impl Metrics {
    /// The metrics of data folder `dir` (`DATA/metrics.json`).
    pub(crate) fn new(dir: &Path) -> Self {
        Metrics {
            path: dir.join(FILE),
            versions: Mutex::default(),
            nodes: Mutex::default(),
            health: Mutex::default(),
            flushing: Mutex::default(),
        }
    }

    /// The counters of `service` running `version` (shared by every
    /// deployment of that version in this process).
    pub(crate) fn version(&self, service: &str, version: &ComponentRef, digest: Digest) -> Arc<CallStats> {
        let mut versions = lock(&self.versions);
        let entry = versions
            .entry((service.to_string(), version.clone()))
            .or_insert_with(|| VersionEntry { digest, stats: Arc::default() });
        entry.digest = digest;
        entry.stats.clone()
    }

    /// The counters of a pipeline's node.
    pub(crate) fn node(&self, pipeline: &str, node: &str) -> Arc<NodeStats> {
        lock(&self.nodes).entry((pipeline.to_string(), node.to_string())).or_default().clone()
    }

    /// Records a service's health reading.
    pub(crate) fn set_health(&self, service: &str, reading: HealthReading) {
        lock(&self.health).insert(service.to_string(), reading);
    }

    /// What this process counted since its last flush.
    fn unflushed(&self) -> Unflushed {
        let mut unflushed = Unflushed::default();
        for ((service, version), entry) in lock(&self.versions).iter() {
            let (delta, now, high_water) = entry.stats.unflushed();
            unflushed.versions.push(VersionDelta {
                service: service.clone(),
                version: version.to_string(),
                digest: entry.digest,
                delta,
                high_water,
                stats: entry.stats.clone(),
                now,
            });
        }
        for ((pipeline, node), stats) in lock(&self.nodes).iter() {
            let (delta, now) = stats.unflushed();
            let (pipeline, node, stats) = (pipeline.clone(), node.clone(), stats.clone());
            unflushed.nodes.push(NodeDelta { pipeline, node, delta, stats, now });
        }
        unflushed.health = lock(&self.health).iter().map(|(s, r)| (s.clone(), r.clone())).collect();
        unflushed
    }

    /// Adds what this process has not written yet to the file (`dir` is
    /// the data folder, whose lock orders the processes).
    pub(crate) fn flush(&self, dir: &Path) -> Result<()> {
        let _one = lock(&self.flushing);
        let _folder = fsutil::FolderLock::acquire(dir)?;
        let mut stored = Stored::load(&self.path, true)?;
        let unflushed = self.unflushed();
        stored.add(&unflushed);
        stored.save(&self.path)?;
        // Only once the file holds them do they count as written.
        unflushed.mark_flushed();
        Ok(())
    }

    /// The file plus what this process has not written yet; `live` gives
    /// the live instances per (service, version) in this process.
    pub(crate) fn snapshot(&self, live: &BTreeMap<(String, ComponentRef), usize>) -> Result<MetricsSnapshot> {
        let _one = lock(&self.flushing);
        let mut stored = Stored::load(&self.path, false)?;
        stored.add(&self.unflushed());
        let mut live_of: BTreeMap<(String, String), usize> = BTreeMap::new();
        for ((service, version), n) in live {
            *live_of.entry((service.clone(), version.to_string())).or_default() += n;
        }
        let mut services = Vec::new();
        for (service, stored) in stored.services {
            let mut versions = Vec::new();
            for (version, v) in stored.versions {
                let live_instances = live_of.get(&(service.clone(), version.clone())).copied().unwrap_or(0);
                let counts = v.counts();
                // A version deployed and replaced before it served anything.
                if counts.calls == 0 && live_instances == 0 {
                    continue;
                }
                versions.push(VersionMetrics {
                    live_instances,
                    version,
                    digest: v.digest,
                    calls: counts.calls,
                    errors: counts.errors,
                    latency: Latency::of(&counts.latency, counts.latency_sum_us),
                    memory_high_water_bytes: v.memory_high_water_bytes,
                    fuel_used: counts.fuel_used,
                    latency_buckets: counters::buckets(&counts.latency),
                });
            }
            if !versions.is_empty() || stored.health.is_some() {
                services.push(ServiceMetrics { service, health: stored.health, versions });
            }
        }
        let pipelines = stored
            .pipelines
            .into_iter()
            .flat_map(|(pipeline, nodes)| {
                nodes.into_iter().map(move |(node, counts)| NodeMetrics { pipeline: pipeline.clone(), node, counts })
            })
            .collect();
        Ok(MetricsSnapshot { taken_at_ms: fsutil::unix_millis(), services, pipelines })
    }
}

/// Polls health and flushes metrics in the background until dropped
/// (`Host::monitor`).
#[derive(Debug)]
pub struct Monitor {
    _thread: Background,
}

impl Monitor {
    pub(crate) fn new(thread: Background) -> Self {
        Monitor { _thread: thread }
    }
}
