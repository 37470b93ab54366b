//! Metrics and health.
//!
//! Per service and version: calls, errors, a latency histogram (HDR,
//! microseconds, three significant figures), the memory high-water mark,
//! fuel used and live instances. Per service: the last reading of the
//! component's `health()`. Per pipeline node: messages in, out and errors.
//!
//! Counters live in memory and only grow while a process runs (canary
//! analysis reads them). [`Host::flush_metrics`] adds what is new since the
//! last flush to `DATA/metrics.json` under the data folder's lock, so the
//! short-lived CLI processes and a long-running server that share a folder
//! add up in one file; [`Host::metrics`] is that file plus what this process
//! has not flushed yet. Live instances are a gauge of this process only.
//!
//! ```text
//! DATA/metrics.json   {"schema":1,"services":{..},"pipelines":{..}}
//! ```

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::{Digest, Health, Host, Result, fsutil, registry::ComponentRef};

const SCHEMA: u32 = 1;
/// Latencies above an hour are recorded as an hour.
const LATENCY_MAX_US: u64 = 3_600_000_000;
const FILE: &str = "metrics.json";

fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, LATENCY_MAX_US, 3) {
        Ok(h) => h,
        Err(e) => unreachable!("constant histogram bounds are valid: {e}"),
    }
}

/// Orders health readings: healthy < degraded < unhealthy.
fn severity(health: &Health) -> u8 {
    match health {
        Health::Healthy => 0,
        Health::Degraded(_) => 1,
        Health::Unhealthy(_) => 2,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
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
struct Counts {
    calls: u64,
    errors: u64,
    latency_sum_us: u64,
    fuel_used: u64,
    latency: Histogram<u64>,
}

impl Default for Counts {
    fn default() -> Self {
        Counts { calls: 0, errors: 0, latency_sum_us: 0, fuel_used: 0, latency: new_histogram() }
    }
}

impl Counts {
    fn add(&mut self, other: &Counts) {
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

    fn counts(&self) -> Counts {
        lock(&self.live).clone()
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
        self.messages_in.fetch_add(messages_in, Ordering::Relaxed);
        self.messages_out.fetch_add(messages_out, Ordering::Relaxed);
        self.errors.fetch_add(errors, Ordering::Relaxed);
    }

    fn counts(&self) -> NodeCounts {
        NodeCounts {
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
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
    fn add(&mut self, o: NodeCounts) {
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
        HealthReading { health, checked_at_ms: now_ms() }
    }
}

struct VersionEntry {
    digest: Digest,
    stats: Arc<CallStats>,
}

/// The metrics of one data folder, held by its host.
pub(crate) struct Metrics {
    path: PathBuf,
    versions: Mutex<BTreeMap<(String, ComponentRef), VersionEntry>>,
    nodes: Mutex<BTreeMap<(String, String), Arc<NodeStats>>>,
    health: Mutex<BTreeMap<String, HealthReading>>,
    /// One flush at a time in this process (the folder lock orders processes).
    flushing: Mutex<()>,
}

impl Metrics {
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

    pub(crate) fn node(&self, pipeline: &str, node: &str) -> Arc<NodeStats> {
        lock(&self.nodes).entry((pipeline.to_string(), node.to_string())).or_default().clone()
    }

    pub(crate) fn set_health(&self, service: &str, reading: HealthReading) {
        lock(&self.health).insert(service.to_string(), reading);
    }

    /// Reads the file; a file that cannot be parsed is moved aside (kept
    /// for inspection) when `repair` is set, and reads as empty.
    fn load(&self, repair: bool) -> Result<Stored> {
        match fsutil::read_json::<Stored>(&self.path) {
            Ok(stored) => Ok(stored.unwrap_or_default()),
            Err(crate::Error::DataCorrupt { source, .. }) => {
                tracing::warn!(path = %self.path.display(), error = %source, "the metrics file is unreadable; starting it anew");
                if repair {
                    let aside = self.path.with_extension(format!("json.corrupt-{}", now_ms()));
                    std::fs::rename(&self.path, &aside)
                        .map_err(|e| crate::Error::io("move the unreadable metrics file aside", &self.path, e))?;
                }
                Ok(Stored::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Adds what this process has not written yet to the file.
    pub(crate) fn flush(&self, dir: &Path) -> Result<()> {
        let _one = lock(&self.flushing);
        let _folder = fsutil::FolderLock::acquire(dir)?;
        let mut stored = self.load(true)?;
        let mut marks = Vec::new();
        for ((service, version), entry) in lock(&self.versions).iter() {
            let now = entry.stats.counts();
            let delta = now.since(&lock(&entry.stats.flushed));
            let high_water = entry.stats.memory_high_water.load(Ordering::Relaxed);
            let target = stored.services.entry(service.clone()).or_default();
            let slot = target.versions.entry(version.to_string()).or_insert_with(|| StoredVersion::new(entry.digest));
            slot.add(&delta, high_water);
            slot.digest = entry.digest;
            marks.push((entry.stats.clone(), now));
        }
        for (service, reading) in lock(&self.health).iter() {
            stored.services.entry(service.clone()).or_default().health = Some(reading.clone());
        }
        let mut node_marks = Vec::new();
        for ((pipeline, node), stats) in lock(&self.nodes).iter() {
            let now = stats.counts();
            let delta = now.since(*lock(&stats.flushed));
            stored.pipelines.entry(pipeline.clone()).or_default().entry(node.clone()).or_default().add(delta);
            node_marks.push((stats.clone(), now));
        }
        stored.schema = SCHEMA;
        fsutil::write_json(&self.path, &stored)?;
        // Only once the file holds them do they count as written.
        for (stats, now) in marks {
            *lock(&stats.flushed) = now;
        }
        for (stats, now) in node_marks {
            *lock(&stats.flushed) = now;
        }
        Ok(())
    }

    /// The file plus what this process has not written yet; `live` gives
    /// the live instances per (service, version).
    pub(crate) fn snapshot(&self, live: &BTreeMap<(String, ComponentRef), usize>) -> Result<MetricsSnapshot> {
        let _one = lock(&self.flushing);
        let stored = self.load(false)?;
        let mut merged: BTreeMap<(String, String), (Digest, Counts, u64)> = BTreeMap::new();
        let mut health: BTreeMap<String, HealthReading> = BTreeMap::new();
        for (service, s) in stored.services {
            if let Some(reading) = s.health {
                health.insert(service.clone(), reading);
            }
            for (version, v) in s.versions {
                let high_water = v.memory_high_water_bytes;
                merged.insert((service.clone(), version), (v.digest, v.counts(), high_water));
            }
        }
        for ((service, version), entry) in lock(&self.versions).iter() {
            let delta = entry.stats.counts().since(&lock(&entry.stats.flushed));
            let high_water = entry.stats.memory_high_water.load(Ordering::Relaxed);
            let slot = merged
                .entry((service.clone(), version.to_string()))
                .or_insert_with(|| (entry.digest, Counts::default(), 0));
            slot.0 = entry.digest;
            slot.1.add(&delta);
            slot.2 = slot.2.max(high_water);
        }
        for (service, reading) in lock(&self.health).iter() {
            health.insert(service.clone(), reading.clone());
        }
        let mut pipelines = stored.pipelines;
        for ((pipeline, node), stats) in lock(&self.nodes).iter() {
            let delta = stats.counts().since(*lock(&stats.flushed));
            pipelines.entry(pipeline.clone()).or_default().entry(node.clone()).or_default().add(delta);
        }

        let live_of = |service: &str, version: &str| {
            live.iter().filter(|((s, v), _)| s == service && v.to_string() == version).map(|(_, n)| *n).sum()
        };
        let mut services: Vec<ServiceMetrics> = Vec::new();
        for ((service, version), (digest, counts, high_water)) in merged {
            let live_instances = live_of(&service, &version);
            // A version deployed and replaced before it served anything.
            if counts.calls == 0 && live_instances == 0 {
                continue;
            }
            let metrics = VersionMetrics {
                live_instances,
                version,
                digest,
                calls: counts.calls,
                errors: counts.errors,
                latency: Latency::of(&counts),
                memory_high_water_bytes: high_water,
                fuel_used: counts.fuel_used,
                latency_buckets: buckets(&counts.latency),
            };
            match services.last_mut() {
                Some(last) if last.service == service => last.versions.push(metrics),
                _ => {
                    services.push(ServiceMetrics { health: health.remove(&service), service, versions: vec![metrics] })
                }
            }
        }
        // Services with a health reading and no calls yet.
        for (service, reading) in health {
            services.push(ServiceMetrics { service, health: Some(reading), versions: Vec::new() });
        }
        services.sort_by(|a, b| a.service.cmp(&b.service));
        let nodes = pipelines
            .into_iter()
            .flat_map(|(pipeline, nodes)| {
                nodes.into_iter().map(move |(node, counts)| NodeMetrics { pipeline: pipeline.clone(), node, counts })
            })
            .collect();
        Ok(MetricsSnapshot { taken_at_ms: now_ms(), services, pipelines: nodes })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    schema: u32,
    #[serde(default)]
    services: BTreeMap<String, StoredService>,
    #[serde(default)]
    pipelines: BTreeMap<String, BTreeMap<String, NodeCounts>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredService {
    #[serde(default)]
    health: Option<HealthReading>,
    #[serde(default)]
    versions: BTreeMap<String, StoredVersion>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredVersion {
    digest: Digest,
    calls: u64,
    errors: u64,
    latency_sum_us: u64,
    memory_high_water_bytes: u64,
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

    fn counts(&self) -> Counts {
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

/// A histogram as (µs, count) buckets.
fn buckets(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
    histogram.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
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
    fn of(counts: &Counts) -> Self {
        let h = &counts.latency;
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            sum_us: counts.latency_sum_us,
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
                latency: Latency::of(&counts),
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
            taken_at_ms: snapshots.iter().map(|s| s.taken_at_ms).max().unwrap_or_else(now_ms),
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

    /// Prometheus text exposition (format 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let versions: Vec<(&ServiceMetrics, &VersionMetrics)> =
            self.services.iter().flat_map(|s| s.versions.iter().map(move |v| (s, v))).collect();
        let labels = |s: &ServiceMetrics, v: &VersionMetrics| {
            format!("service=\"{}\",version=\"{}\"", escape_label(&s.service), escape_label(&v.version))
        };
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        };

        family(&mut out, "airssys_calls_total", "counter", "Calls finished, per service version.");
        for (s, v) in &versions {
            out.push_str(&format!("airssys_calls_total{{{}}} {}\n", labels(s, v), v.calls));
        }
        family(&mut out, "airssys_errors_total", "counter", "Calls failed, per service version.");
        for (s, v) in &versions {
            out.push_str(&format!("airssys_errors_total{{{}}} {}\n", labels(s, v), v.errors));
        }
        family(&mut out, "airssys_call_duration_seconds", "summary", "Call latency, per service version.");
        for (s, v) in &versions {
            let l = labels(s, v);
            for (q, us) in [("0.5", v.latency.p50_us), ("0.95", v.latency.p95_us), ("0.99", v.latency.p99_us)] {
                out.push_str(&format!("airssys_call_duration_seconds{{{l},quantile=\"{q}\"}} {}\n", seconds(us)));
            }
            out.push_str(&format!("airssys_call_duration_seconds_sum{{{l}}} {}\n", seconds(v.latency.sum_us)));
            out.push_str(&format!("airssys_call_duration_seconds_count{{{l}}} {}\n", v.latency.count));
        }
        family(&mut out, "airssys_memory_high_water_bytes", "gauge", "Largest linear memory an instance reached.");
        for (s, v) in &versions {
            out.push_str(&format!(
                "airssys_memory_high_water_bytes{{{}}} {}\n",
                labels(s, v),
                v.memory_high_water_bytes
            ));
        }
        family(&mut out, "airssys_fuel_used_total", "counter", "Fuel consumed (when the host meters fuel).");
        for (s, v) in &versions {
            out.push_str(&format!("airssys_fuel_used_total{{{}}} {}\n", labels(s, v), v.fuel_used));
        }
        family(&mut out, "airssys_live_instances", "gauge", "Instances alive in this process.");
        for (s, v) in &versions {
            out.push_str(&format!("airssys_live_instances{{{}}} {}\n", labels(s, v), v.live_instances));
        }
        family(&mut out, "airssys_health", "gauge", "Last health reading: 1 healthy, 0.5 degraded, 0 unhealthy.");
        for s in &self.services {
            if let Some(reading) = &s.health {
                let value = match reading.health {
                    Health::Healthy => "1",
                    Health::Degraded(_) => "0.5",
                    Health::Unhealthy(_) => "0",
                };
                out.push_str(&format!("airssys_health{{service=\"{}\"}} {value}\n", escape_label(&s.service)));
            }
        }
        for (name, help, pick) in [
            ("airssys_pipeline_node_messages_in_total", "Messages that reached a pipeline node.", 0),
            ("airssys_pipeline_node_messages_out_total", "Messages a pipeline node emitted.", 1),
            ("airssys_pipeline_node_errors_total", "Messages a pipeline node failed on.", 2),
        ] {
            family(&mut out, name, "counter", help);
            for n in &self.pipelines {
                let value = [n.counts.messages_in, n.counts.messages_out, n.counts.errors][pick];
                out.push_str(&format!(
                    "{name}{{pipeline=\"{}\",node=\"{}\"}} {value}\n",
                    escape_label(&n.pipeline),
                    escape_label(&n.node)
                ));
            }
        }
        out
    }
}

fn seconds(us: u64) -> String {
    format!("{}", us as f64 / 1e6)
}

/// Escapes a Prometheus label value.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Polls health and flushes metrics in the background until dropped.
#[derive(Debug)]
pub struct Monitor {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Host {
    fn metrics_store(&self) -> Result<&Metrics> {
        Ok(&self.data_store().ok_or(crate::Error::NoDataDir)?.metrics)
    }

    /// Metrics of every service and pipeline node of the data folder: what
    /// is stored plus what this process has not stored yet.
    pub fn metrics(&self) -> Result<MetricsSnapshot> {
        self.metrics_store()?.snapshot(&self.live_instances())
    }

    /// Adds this process's new counts to `DATA/metrics.json`. [`Host::close`]
    /// does it; long-running processes do it periodically ([`Host::monitor`]).
    pub fn flush_metrics(&self) -> Result<()> {
        let data = self.data_store().ok_or(crate::Error::NoDataDir)?;
        data.metrics.flush(data.dir())
    }

    /// Calls `health()` of a service (starting it in this process if it is
    /// not running here) and records the reading.
    pub fn check_health(&self, service: &str) -> Result<HealthReading> {
        let reading = HealthReading::of(self.service_health(service));
        self.metrics_store()?.set_health(service, reading.clone());
        Ok(reading)
    }

    /// Reads the health of every service running in this process.
    pub fn poll_health(&self) -> Result<Vec<(String, HealthReading)>> {
        let names = self.live_services();
        Ok(names.into_iter().filter_map(|name| Some((name.clone(), self.check_health(&name).ok()?))).collect())
    }

    /// Starts a thread that polls health and flushes metrics every
    /// `interval`, until the returned handle is dropped.
    pub fn monitor(&self, interval: Duration) -> Monitor {
        let weak = self.downgrade();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("airssys-monitor".into())
            .spawn(move || {
                while !stopping.load(Ordering::SeqCst) {
                    std::thread::park_timeout(interval);
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Some(host) = weak.upgrade() else { break };
                    if let Err(e) = host.poll_health() {
                        tracing::warn!(error = %e, "health polling failed");
                    }
                    if let Err(e) = host.flush_metrics() {
                        tracing::warn!(error = %e, "cannot store metrics");
                    }
                }
            })
            .ok();
        Monitor { stop, thread }
    }
}
