//! `airssys status` and `airssys metrics`: services, their versions and
//! rollouts, and the metrics table, for people (or JSON).

use anyhow::Result;
use host_core::deploy::PoolMode;

use crate::global::Target;

pub fn status(target: &Target, service: Option<&str>, json: bool) -> Result<()> {
    let runtime = target.runtime();
    let statuses = runtime.status(service)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
        return Ok(());
    }
    if statuses.is_empty() {
        println!("no services; deploy one with `airssys deploy SERVICE NAME@VERSION`");
    }
    for status in &statuses {
        let spec = &status.spec;
        let pool = match spec.pool {
            PoolMode::Pooled { size } => format!("pool of {size}"),
            PoolMode::PerCall => "fresh instance per call".to_string(),
        };
        println!("{}", spec.name);
        println!("  version    {} ({})", spec.component, spec.digest);
        println!("  strategy   {}   {pool}", spec.strategy.name());
        let l = &spec.limits;
        println!(
            "  limits     {} ms per call, {} MiB memory, {} table elements",
            l.timeout_ms, l.max_memory_mib, l.max_table_elements
        );
        let config: Vec<String> = spec.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  config     {}", if config.is_empty() { "(none)".into() } else { config.join(" ") });
        if !spec.args.is_empty() {
            // Quoted as JSON strings, so spaces and empty arguments show.
            let args: Vec<String> = spec.args.iter().map(|a| format!("{a:?}")).collect();
            println!("  args       {}", args.join(" "));
        }
        let history: Vec<String> = spec.history.iter().map(|h| h.component.version.to_string()).collect();
        println!("  history    {}", history.join(" -> "));
        for v in status.versions.iter().filter(|v| v.live_instances > 0) {
            println!("  running    {} on {} code, {} instance(s)", v.component, v.tier.name(), v.live_instances);
        }
    }
    if let Some(name) = service {
        for record in runtime.rollouts(Some(name))?.iter().rev().take(5) {
            println!(
                "  rollout    {} -> {} {} {:?}",
                record.from.as_ref().map(ToString::to_string).unwrap_or_default(),
                record.to,
                record.strategy,
                record.outcome
            );
        }
    }
    Ok(())
}

pub fn metrics(target: &Target, prometheus: bool, json: bool, check_health: bool) -> Result<()> {
    if check_health {
        let host = target.host("metrics --check-health")?;
        for service in host.services()? {
            host.check_health(&service)?;
        }
    }
    let snapshot = target.runtime().metrics();
    target.close();
    let snapshot = snapshot?;
    if prometheus {
        print!("{}", snapshot.to_prometheus());
        return Ok(());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
        return Ok(());
    }
    if snapshot.services.is_empty() && snapshot.pipelines.is_empty() {
        println!("no metrics yet: invoke a service or run a pipeline on this data folder");
        return Ok(());
    }
    let mut rows = vec![
        ["SERVICE", "VERSION", "CALLS", "ERRORS", "P50", "P95", "P99", "MEM-HW", "FUEL", "LIVE", "HEALTH"]
            .map(String::from)
            .to_vec(),
    ];
    for service in &snapshot.services {
        let health = match &service.health {
            Some(reading) => {
                let age = snapshot.taken_at_ms.saturating_sub(reading.checked_at_ms) / 1000;
                let state = match &reading.health {
                    host_core::Health::Healthy => "healthy".to_string(),
                    host_core::Health::Degraded(why) => format!("degraded: {why}"),
                    host_core::Health::Unhealthy(why) => format!("unhealthy: {why}"),
                };
                format!("{state} ({age}s ago)")
            }
            None => "-".to_string(),
        };
        if service.versions.is_empty() {
            rows.push(vec![
                service.service.clone(),
                "-".into(),
                "0".into(),
                "0".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "0".into(),
                health.clone(),
            ]);
        }
        for v in &service.versions {
            rows.push(vec![
                service.service.clone(),
                v.version.clone(),
                v.calls.to_string(),
                v.errors.to_string(),
                micros(v.latency.p50_us),
                micros(v.latency.p95_us),
                micros(v.latency.p99_us),
                format!("{:.1} MiB", v.memory_high_water_bytes as f64 / (1 << 20) as f64),
                v.fuel_used.to_string(),
                v.live_instances.to_string(),
                health.clone(),
            ]);
        }
    }
    print_table(&rows);
    if !snapshot.pipelines.is_empty() {
        println!();
        let mut rows = vec![["PIPELINE", "NODE", "IN", "OUT", "ERRORS"].map(String::from).to_vec()];
        for n in &snapshot.pipelines {
            rows.push(vec![
                n.pipeline.clone(),
                n.node.clone(),
                n.counts.messages_in.to_string(),
                n.counts.messages_out.to_string(),
                n.counts.errors.to_string(),
            ]);
        }
        print_table(&rows);
    }
    Ok(())
}

fn micros(us: u64) -> String {
    match us {
        0 => "-".to_string(),
        us if us < 1_000 => format!("{us}µs"),
        us if us < 1_000_000 => format!("{:.1}ms", us as f64 / 1e3),
        us => format!("{:.2}s", us as f64 / 1e6),
    }
}

fn print_table(rows: &[Vec<String>]) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| if c + 1 == columns { cell.clone() } else { format!("{cell:<w$}") })
            .collect();
        println!("{}", line.join("  "));
    }
}
