//! What `airssys metrics`, the studio and Prometheus read: a
//! [`MetricsSnapshot`] of every service version and pipeline node, and
//! health readings. Plain data with serde; made by `Metrics::snapshot`.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::counters::NodeCounts;
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

impl MetricsSnapshot {
    /// The version metrics of `service`, if it served calls.
    pub fn service(&self, service: &str) -> Option<&ServiceMetrics> {
        self.services.iter().find(|s| s.service == service)
    }

    /// The counts of a pipeline node.
    pub fn node(&self, pipeline: &str, node: &str) -> Option<NodeCounts> {
        self.pipelines.iter().find(|n| n.pipeline == pipeline && n.node == node).map(|n| n.counts)
    }
}
