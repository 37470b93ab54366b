//! Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`]: every
//! family is one row of [`FAMILIES`] (name, type, help, where its values
//! come from), printed by one loop.

use std::fmt::Write as _;

use super::{MetricsSnapshot, NodeCounts, VersionMetrics};
use crate::Health;

/// Where a family's samples come from.
enum Source {
    /// One sample per service version.
    Version(fn(&VersionMetrics) -> u64),
    /// The latency summary per service version: quantiles, sum, count.
    Latency,
    /// One sample per service with a health reading.
    Health,
    /// One sample per pipeline node.
    Node(fn(&NodeCounts) -> u64),
}

/// Every family, in the order they are printed: (name, type, help, source).
const FAMILIES: [(&str, &str, &str, Source); 10] = [
    ("airssys_calls_total", "counter", "Calls finished, per service version.", Source::Version(|v| v.calls)),
    ("airssys_errors_total", "counter", "Calls failed, per service version.", Source::Version(|v| v.errors)),
    ("airssys_call_duration_seconds", "summary", "Call latency, per service version.", Source::Latency),
    (
        "airssys_memory_high_water_bytes",
        "gauge",
        "Largest linear memory an instance reached.",
        Source::Version(|v| v.memory_high_water_bytes),
    ),
    (
        "airssys_fuel_used_total",
        "counter",
        "Fuel consumed (when the host meters fuel).",
        Source::Version(|v| v.fuel_used),
    ),
    (
        "airssys_live_instances",
        "gauge",
        "Instances alive in this process.",
        Source::Version(|v| v.live_instances as u64),
    ),
    ("airssys_health", "gauge", "Last health reading: 1 healthy, 0.5 degraded, 0 unhealthy.", Source::Health),
    (
        "airssys_pipeline_node_messages_in_total",
        "counter",
        "Messages that reached a pipeline node.",
        Source::Node(|n| n.messages_in),
    ),
    (
        "airssys_pipeline_node_messages_out_total",
        "counter",
        "Messages a pipeline node emitted.",
        Source::Node(|n| n.messages_out),
    ),
    (
        "airssys_pipeline_node_errors_total",
        "counter",
        "Messages a pipeline node failed on.",
        Source::Node(|n| n.errors),
    ),
];

impl MetricsSnapshot {
    /// Prometheus text exposition (format 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let versions: Vec<(String, &VersionMetrics)> = self
            .services
            .iter()
            .flat_map(|s| {
                let labels = format!("service=\"{}\",version=\"", escape_label(&s.service));
                s.versions.iter().map(move |v| (format!("{labels}{}\"", escape_label(&v.version)), v))
            })
            .collect();
        for (name, kind, help, source) in &FAMILIES {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
            match source {
                Source::Version(value) => {
                    for (labels, v) in &versions {
                        let _ = writeln!(out, "{name}{{{labels}}} {}", value(v));
                    }
                }
                Source::Latency => {
                    for (labels, v) in &versions {
                        let l = &v.latency;
                        for (q, us) in [("0.5", l.p50_us), ("0.95", l.p95_us), ("0.99", l.p99_us)] {
                            let _ = writeln!(out, "{name}{{{labels},quantile=\"{q}\"}} {}", seconds(us));
                        }
                        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", seconds(l.sum_us));
                        let _ = writeln!(out, "{name}_count{{{labels}}} {}", l.count);
                    }
                }
                Source::Health => {
                    for s in &self.services {
                        let Some(reading) = &s.health else { continue };
                        let value = match reading.health {
                            Health::Healthy => "1",
                            Health::Degraded(_) => "0.5",
                            Health::Unhealthy(_) => "0",
                        };
                        let _ = writeln!(out, "{name}{{service=\"{}\"}} {value}", escape_label(&s.service));
                    }
                }
                Source::Node(value) => {
                    for n in &self.pipelines {
                        let (pipeline, node) = (escape_label(&n.pipeline), escape_label(&n.node));
                        let _ = writeln!(out, "{name}{{pipeline=\"{pipeline}\",node=\"{node}\"}} {}", value(&n.counts));
                    }
                }
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
