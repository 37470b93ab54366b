//! What the runtime reports, kept for the views: the services deployed, the
//! registry, metrics with their per-service series, guest log lines, the
//! audit log and rollouts with their live progress. Written only by
//! `studio` (its replies, as answers and events arrive, and the user's
//! Clear of the logs); nothing here sends anything or touches the project.

use std::{
    collections::{BTreeMap, VecDeque},
    time::Instant,
};

use host_core::{
    deploy::{RolloutEvent, RolloutOutcome, RolloutRecord},
    events::LogLine,
    fleet::FleetStatus,
    metrics::{MetricsSnapshot, ServiceMetrics, VersionMetrics},
    security::audit::AuditRecord,
};

use crate::worker::{RegistryEntry, ServiceInfo};

/// Guest log lines kept.
const LOG_LINES: usize = 2_000;
/// Live plots keep this many samples per service (one a second).
const SAMPLES: usize = 300;

/// The runtime's reports.
#[derive(Debug)]
pub struct Live {
    /// The services deployed, as last described.
    pub services: BTreeMap<String, ServiceInfo>,
    /// The registry as last listed.
    pub registry: Vec<RegistryEntry>,
    /// The last metrics snapshot.
    pub metrics: MetricsSnapshot,
    /// The snapshot before it, and when it came (rates are differences).
    previous: Option<(Instant, MetricsSnapshot)>,
    /// Calls per second per service, from the last two snapshots.
    pub rates: BTreeMap<String, f64>,
    /// Live plots' data per service.
    pub series: BTreeMap<String, Series>,
    /// When the studio started (the plots' time axis).
    started: Instant,
    /// Guest log lines, oldest first.
    pub logs: VecDeque<LogLine>,
    /// Audit records as last listed.
    pub audit: Vec<AuditRecord>,
    /// Rollouts as last listed.
    pub rollouts: Vec<RolloutRecord>,
    /// Rollout progress events of this session, oldest first.
    pub rollout_events: Vec<RolloutEvent>,
    /// When the target is a fleet: its nodes as last read, and why the
    /// last read failed (if it did; the nodes read before stay shown).
    pub fleet: Option<FleetStatus>,
    pub fleet_error: Option<String>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            services: BTreeMap::new(),
            registry: Vec::new(),
            metrics: MetricsSnapshot::default(),
            previous: None,
            rates: BTreeMap::new(),
            series: BTreeMap::new(),
            started: Instant::now(),
            logs: VecDeque::new(),
            audit: Vec::new(),
            rollouts: Vec::new(),
            rollout_events: Vec::new(),
            fleet: None,
            fleet_error: None,
        }
    }
}

impl Live {
    /// Takes a metrics snapshot: rates and a plot sample per service
    /// against the one before.
    pub fn take_metrics(&mut self, snapshot: MetricsSnapshot) {
        let now = Instant::now();
        if let Some((at, before)) = &self.previous {
            let seconds = now.duration_since(*at).as_secs_f64().max(0.001);
            let t = now.duration_since(self.started).as_secs_f64();
            self.rates.clear();
            for service in &snapshot.services {
                let old = before.service(&service.service);
                let sample = sample(t, seconds, service, old);
                self.rates.insert(service.service.clone(), sample.calls_per_s);
                self.series.entry(service.service.clone()).or_default().push(sample);
            }
        }
        self.previous = Some((now, snapshot.clone()));
        self.metrics = snapshot;
    }

    /// Keeps a guest log line (the oldest go past [`LOG_LINES`]).
    pub fn push_log(&mut self, line: LogLine) {
        self.logs.push_back(line);
        while self.logs.len() > LOG_LINES {
            self.logs.pop_front();
        }
    }

    /// Takes fresh descriptions of services already shown (a rollback's).
    pub fn update_services(&mut self, services: BTreeMap<String, ServiceInfo>) {
        for (name, info) in services {
            if let Some(shown) = self.services.get_mut(&name) {
                *shown = info;
            }
        }
    }
}

/// One metrics sample of a service.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the studio started.
    pub t: f64,
    pub calls_per_s: f64,
    /// Latency quantiles over all calls so far (ms).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors_per_s: f64,
    /// Highest memory of any instance (MiB).
    pub memory_mib: f64,
}

/// A service's samples, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Series(VecDeque<Sample>);

impl Series {
    fn push(&mut self, sample: Sample) {
        self.0.push_back(sample);
        while self.0.len() > SAMPLES {
            self.0.pop_front();
        }
    }

    /// The samples, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Sample> {
        self.0.iter()
    }

    /// The samples, oldest first, copied.
    pub fn samples(&self) -> Vec<Sample> {
        self.0.iter().copied().collect()
    }
}

/// The sample of `now` against the snapshot `seconds` earlier.
pub fn sample(t: f64, seconds: f64, now: &ServiceMetrics, before: Option<&ServiceMetrics>) -> Sample {
    let sum = |m: Option<&ServiceMetrics>, f: fn(&VersionMetrics) -> u64| {
        m.map_or(0, |m| m.versions.iter().map(f).sum::<u64>())
    };
    let calls = sum(Some(now), |v| v.calls).saturating_sub(sum(before, |v| v.calls));
    let errors = sum(Some(now), |v| v.errors).saturating_sub(sum(before, |v| v.errors));
    // The version serving most calls speaks for the service's latency.
    let busiest = now.versions.iter().max_by_key(|v| v.calls);
    let ms = |us: u64| us as f64 / 1000.0;
    Sample {
        t,
        calls_per_s: calls as f64 / seconds,
        p50_ms: busiest.map_or(0.0, |v| ms(v.latency.p50_us)),
        p99_ms: busiest.map_or(0.0, |v| ms(v.latency.p99_us)),
        errors_per_s: errors as f64 / seconds,
        memory_mib: now.versions.iter().map(|v| v.memory_high_water_bytes).max().unwrap_or(0) as f64
            / (1024.0 * 1024.0),
    }
}

/// What a rollout looks like now, from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// `service: from -> to (strategy)`.
    pub title: String,
    /// The new version's weight in percent, at the last step.
    pub weight: Option<f64>,
    /// The last health reading, `version: health`.
    pub health: Option<String>,
    /// How it ended, once it did.
    pub outcome: Option<RolloutOutcome>,
}

/// Each rollout of `events`, newest first.
pub fn progress(events: &[RolloutEvent]) -> Vec<Progress> {
    let mut by_id: BTreeMap<String, (usize, Progress)> = BTreeMap::new();
    for (order, event) in events.iter().enumerate() {
        match event {
            RolloutEvent::Started { service, id, from, to, strategy } => {
                let from = from.as_ref().map_or("nothing".to_string(), ToString::to_string);
                let title = format!("{service}: {from} -> {to} ({strategy})");
                by_id.insert(id.clone(), (order, Progress { title, ..Progress::default() }));
            }
            RolloutEvent::Health { id, health, version, .. } => {
                if let Some((_, p)) = by_id.get_mut(id) {
                    p.health = Some(format!("{version}: {health:?}"));
                }
            }
            RolloutEvent::Step { id, step, .. } => {
                if let Some((_, p)) = by_id.get_mut(id) {
                    p.weight = Some(step.new_weight_percent);
                }
            }
            RolloutEvent::Finished { id, outcome, .. } => {
                if let Some((_, p)) = by_id.get_mut(id) {
                    p.outcome = Some(outcome.clone());
                }
            }
        }
    }
    let mut list: Vec<(usize, Progress)> = by_id.into_values().collect();
    list.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
    list.into_iter().map(|(_, p)| p).collect()
}
