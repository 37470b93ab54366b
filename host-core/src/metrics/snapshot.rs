//! What `airssys metrics`, the studio and Prometheus read: a
//! [`MetricsSnapshot`] of every service version and pipeline node, and
//! health readings. Plain data with serde; made by `Metrics::snapshot`.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::counters::{Counts, LATENCY_MAX_US, NodeCounts, buckets, new_histogram};
use crate::{Digest, Health, Result};

/// A health reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReading {
    /// What `health()` said; a failing call reads as unhealthy.
    pub health: Health,
    /// When (milliseconds since the Unix epoch).
    pub checked_at_ms: u64,
}

impl HealthReading {
    pub(crate) fn of(result: Result<Health>) -> Self {
        let health = result.unwrap_or_else(|e| Health::Unhealthy(format!("health() failed: {e}")));
        HealthReading { health, checked_at_ms: crate::fsutil::unix_millis() }
    }
}

/// Everything at one moment: for `airssys metrics`, the studio and
/// Prometheus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// When (milliseconds since the Unix epoch).
    pub taken_at_ms: u64,
    /// Per service, sorted by name.
    pub services: Vec<ServiceMetrics>,
    /// Per pipeline node, sorted by pipeline then node.
    pub pipelines: Vec<NodeMetrics>,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    /// The service.
    pub service: String,
    /// The last health reading, if any.
    pub health: Option<HealthReading>,
    /// Each version that served calls, sorted.
    pub versions: Vec<VersionMetrics>,
}

/// One version of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionMetrics {
    /// `name@version`.
    pub version: String,
    /// Its digest.
    pub digest: Digest,
    /// Calls finished.
    pub calls: u64,
    /// Calls failed.
    pub errors: u64,
    /// Call latency.
    pub latency: Latency,
    /// The largest linear memory any instance reached, in bytes.
    pub memory_high_water_bytes: u64,
    /// Fuel consumed (0 unless the host meters fuel).
    pub fuel_used: u64,
    /// Instances alive in the process that took the snapshot.
    pub live_instances: usize,
    /// The latency histogram as (µs, calls) buckets, so snapshots of several
    /// processes (a fleet's nodes) merge exactly instead of averaging
    /// percentiles; empty when there were no calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_buckets: Vec<(u64, u64)>,
}

/// A latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Calls measured.
    pub count: u64,
    /// Sum of all latencies.
    pub sum_us: u64,
    /// Median.
    pub p50_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest.
    pub max_us: u64,
}

impl Latency {
    /// The distribution `h` (µs) whose values add up to `sum_us`.
    pub(super) fn of(h: &Histogram<u64>, sum_us: u64) -> Self {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            sum_us,
            p50_us: h.value_at_quantile(0.50),
            p95_us: h.value_at_quantile(0.95),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
        }
    }
}

/// One pipeline node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeMetrics {
    /// The pipeline.
    pub pipeline: String,
    /// The node.
    pub node: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: NodeCounts,
}

/// Orders health readings: healthy < degraded < unhealthy.
fn severity(health: &Health) -> u8 {
    match health {
        Health::Healthy => 0,
        Health::Degraded(_) => 1,
        Health::Unhealthy(_) => 2,
    }
}

impl MetricsSnapshot {
    /// Several processes' snapshots as one (a fleet's nodes): counts add up,
    /// latency histograms merge bucket by bucket (percentiles are computed
    /// from the merged histogram, never averaged), memory high-water marks
    /// take the largest, live instances add up; each service's health is
    /// the worst reading.
    pub fn merge(snapshots: &[MetricsSnapshot]) -> MetricsSnapshot {
        type VersionKey = (String, String, Digest);
        let mut versions: BTreeMap<VersionKey, (Counts, u64, usize)> = BTreeMap::new();
        let mut health: BTreeMap<String, HealthReading> = BTreeMap::new();
        let mut nodes: BTreeMap<(String, String), NodeCounts> = BTreeMap::new();
        for snapshot in snapshots {
            for service in &snapshot.services {
                if let Some(reading) = &service.health {
                    let worse =
                        health.get(&service.service).is_none_or(|h| severity(&reading.health) > severity(&h.health));
                    if worse {
                        health.insert(service.service.clone(), reading.clone());
                    }
                }
                for v in &service.versions {
                    let entry = versions.entry((service.service.clone(), v.version.clone(), v.digest)).or_default();
                    let mut counts = Counts {
                        calls: v.calls,
                        errors: v.errors,
                        latency_sum_us: v.latency.sum_us,
                        fuel_used: v.fuel_used,
                        latency: new_histogram(),
                    };
                    for &(us, n) in &v.latency_buckets {
                        let _ = counts.latency.record_n(us.clamp(1, LATENCY_MAX_US), n);
                    }
                    entry.0.add(&counts);
                    entry.1 = entry.1.max(v.memory_high_water_bytes);
                    entry.2 += v.live_instances;
                }
            }
            for n in &snapshot.pipelines {
                nodes.entry((n.pipeline.clone(), n.node.clone())).or_default().add(n.counts);
            }
        }
        let mut services: Vec<ServiceMetrics> = Vec::new();
        for ((service, version, digest), (counts, high_water, live)) in versions {
            let metrics = VersionMetrics {
                version,
                digest,
                calls: counts.calls,
                errors: counts.errors,
                latency: Latency::of(&counts.latency, counts.latency_sum_us),
                memory_high_water_bytes: high_water,
                fuel_used: counts.fuel_used,
                live_instances: live,
                latency_buckets: buckets(&counts.latency),
            };
            match services.last_mut() {
                Some(last) if last.service == service => last.versions.push(metrics),
                _ => {
                    services.push(ServiceMetrics { health: health.remove(&service), service, versions: vec![metrics] })
                }
            }
        }
        MetricsSnapshot {
            taken_at_ms: snapshots.iter().map(|s| s.taken_at_ms).max().unwrap_or_else(crate::fsutil::unix_millis),
            services,
            pipelines: nodes
                .into_iter()
                .map(|((pipeline, node), counts)| NodeMetrics { pipeline, node, counts })
                .collect(),
        }
    }

    /// The version metrics of `service`, if it served calls.
    pub fn service(&self, service: &str) -> Option<&ServiceMetrics> {
        self.services.iter().find(|s| s.service == service)
    }

    /// The counts of a pipeline node.
    pub fn node(&self, pipeline: &str, node: &str) -> Option<NodeCounts> {
        self.pipelines.iter().find(|n| n.pipeline == pipeline && n.node == node).map(|n| n.counts)
    }
}
