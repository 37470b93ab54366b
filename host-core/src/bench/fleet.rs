//! `airssys bench --fleet [URL]`: a fleet's figures against their baselines
//! in the same run: call throughput with 1 and with 3 nodes from 4 clients
//! for a component doing ~1 ms of work per call (a 1 ms wait, as I/O-bound
//! work is: 3 nodes in one process on a 2-core machine could not triple
//! CPU-bound work), fleet call latency against a single `airssys serve` over
//! HTTP, and a rolling deploy of 3 nodes to a version they have cached.
//!
//! Nodes run in this process, each with its own host and data folder, on
//! the NATS server at URL (a fresh fleet name per run) or on a local
//! `nats-server` this bench starts.

use std::{
    hint::black_box,
    path::Path,
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{
    Error, Host, HostConfig, Input, PoolConfig, RemoteRuntime, Result, Runtime,
    deploy::{DeployRequest, PoolMode, Strategy},
    fleet::{FleetConfig, FleetNode, FleetRuntime, LocalNats, NodeConfig},
    registry::ComponentRef,
    remote::server::{self, ServerConfig},
};

/// The bundled `waiter` fixture (a call waits ~1 ms), for the throughput rows.
pub const BUNDLED_WAITER: &[u8] = include_bytes!("../../../sample-projects/security-probes/components/waiter.wasm");

/// The fleet section of the bench report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// Calls per second, 4 clients, 1 node (one instance per node).
    pub fleet_throughput_1_node_calls_per_s: f64,
    /// Calls per second, 4 clients, 3 nodes.
    pub fleet_throughput_3_nodes_calls_per_s: f64,
    /// 3 nodes / 1 node (target ≥ 2).
    pub fleet_scaling_ratio: f64,
    /// Median µs of a 1 KiB call through the fleet (one client; rounds of
    /// 50 calls alternate with the HTTP ones).
    pub fleet_invoke_p50_us: f64,
    /// Median µs of the same call through one `airssys serve` over HTTP.
    pub http_invoke_p50_us: f64,
    /// fleet / HTTP (target ≤ 2).
    pub fleet_latency_ratio: f64,
    /// Milliseconds for a rolling deploy (batch 1) of 3 nodes to a version
    /// they have cached (target ≤ 1000).
    pub fleet_rolling_deploy_3_nodes_ms: f64,
    /// Whether every target holds.
    pub fleet_meets_targets: bool,
}

impl FleetReport {
    /// A plain-text section.
    pub fn table(&self) -> String {
        let mark = |ok: bool| if ok { "ok" } else { "MISS" };
        format!(
            "fleet (nodes in this process, 4 clients, ~1 ms of work per call)\n\
             {:<44} {:>9.0} calls/s with 1 node, {:.0} with 3: {:.2}x (target ≥ 2x {})\n\
             {:<44} {:>9.1} µs fleet, {:.1} µs HTTP: {:.2}x (target ≤ 2x {})\n\
             {:<44} {:>9.1} ms (target ≤ 1000 ms {})\n",
            "throughput",
            self.fleet_throughput_1_node_calls_per_s,
            self.fleet_throughput_3_nodes_calls_per_s,
            self.fleet_scaling_ratio,
            mark(self.fleet_scaling_ratio >= 2.0),
            "call latency p50, 1 KiB",
            self.fleet_invoke_p50_us,
            self.http_invoke_p50_us,
            self.fleet_latency_ratio,
            mark(self.fleet_latency_ratio <= 2.0),
            "rolling deploy of 3 nodes (cached version)",
            self.fleet_rolling_deploy_3_nodes_ms,
            mark(self.fleet_rolling_deploy_3_nodes_ms <= 1000.0),
        )
    }
}

fn node(url: &str, fleet: &str, name: &str, dir: &Path) -> Result<FleetNode> {
    let host = Host::new(HostConfig {
        data_dir: Some(dir.join(name)),
        cache_dir: Some(dir.join("cache")),
        pool: PoolConfig { max_instances: 64, ..PoolConfig::default() },
        ..HostConfig::default()
    })?;
    let config = NodeConfig { fleet: FleetConfig::new(url).named(fleet), node: name.to_string(), api: None };
    FleetNode::start(host, config)
}

fn client(url: &str, fleet: &str) -> Result<FleetRuntime> {
    FleetRuntime::connect(FleetConfig::new(url).named(fleet))
}

/// Waits until `nodes` nodes report `service` converged on `version`.
fn converged(fleet: &FleetRuntime, service: &str, version: &ComponentRef, nodes: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = fleet.fleet_status()?;
        let done = status
            .nodes
            .iter()
            .filter(|n| n.services.get(service).is_some_and(|s| s.converged && s.component.as_ref() == Some(version)))
            .count();
        if done >= nodes {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::FleetRequest {
                what: "wait for the nodes".into(),
                reason: format!("{done} of {nodes} converged"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Calls per second from 4 clients, `per_client` calls each.
fn throughput(url: &str, fleet: &str, per_client: usize) -> Result<f64> {
    let clients: Vec<FleetRuntime> = (0..4).map(|_| client(url, fleet)).collect::<Result<_>>()?;
    let input = Input::new(br#"{"op":"sleep","ms":1}"#.to_vec());
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .iter()
            .map(|c| {
                let input = &input;
                scope.spawn(move || -> Result<()> {
                    for _ in 0..per_client {
                        black_box(c.invoke("work", input)?);
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })?;
    Ok((4 * per_client) as f64 / started.elapsed().as_secs_f64())
}

/// Median µs of a call through `a` and through `b`: `rounds` rounds that
/// alternate them, `per_round` calls each, so both see the same noise.
fn median_pair_us(
    a: &dyn Runtime,
    b: &dyn Runtime,
    service: &str,
    input: &Input,
    rounds: usize,
    per_round: usize,
) -> Result<(f64, f64)> {
    let (mut times_a, mut times_b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (runtime, times) in [(a, &mut times_a), (b, &mut times_b)] {
            for _ in 0..per_round {
                let started = Instant::now();
                black_box(runtime.invoke(service, input)?);
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    Ok((median(&mut times_a), median(&mut times_b)))
}

/// Runs the fleet measurements on the NATS server at `url`, or on a local
/// `nats-server` when `None`.
pub fn run(url: Option<&str>, upper: &[u8], quick: bool) -> Result<FleetReport> {
    let local = match url {
        Some(_) => None,
        None => Some(LocalNats::start()?),
    };
    let url = url.map_or_else(|| local.as_ref().map(|n| n.url().to_string()).unwrap_or_default(), str::to_string);
    let fleet = format!("bench-{}-{}", std::process::id(), super::measure::now_ms() % 1_000_000);
    let scratch = super::measure::Scratch::new()?;
    let dir = scratch.0.join("fleet");
    let per_client = if quick { 100 } else { 400 };

    let n1 = node(&url, &fleet, "n1", &dir)?;
    let admin = client(&url, &fleet)?;
    let r = |s: &str| s.parse::<ComponentRef>();
    admin.add_component(&r("waiter@1.0.0")?, BUNDLED_WAITER)?;
    admin.add_component(&r("upper@1.0.0")?, upper)?;
    admin.deploy(DeployRequest::new("work", r("waiter@1.0.0")?).pool(PoolMode::Pooled { size: 1 }))?;
    admin.deploy(DeployRequest::new("up", r("upper@1.0.0")?).pool(PoolMode::Pooled { size: 2 }))?;
    converged(&admin, "work", &r("waiter@1.0.0")?, 1)?;
    let one = throughput(&url, &fleet, per_client)?;

    let n2 = node(&url, &fleet, "n2", &dir)?;
    let n3 = node(&url, &fleet, "n3", &dir)?;
    converged(&admin, "work", &r("waiter@1.0.0")?, 3)?;
    converged(&admin, "up", &r("upper@1.0.0")?, 3)?;
    let three = throughput(&url, &fleet, per_client)?;

    // Latency: the fleet against one `airssys serve` on loopback.
    let input = Input::new(super::measure::payload(1024));
    let rounds = if quick { 4 } else { 20 };
    let single = Host::new(HostConfig {
        data_dir: Some(dir.join("single")),
        cache_dir: Some(dir.join("cache")),
        pool: PoolConfig { max_instances: 64, ..PoolConfig::default() },
        ..HostConfig::default()
    })?;
    single.add_component(&r("upper@1.0.0")?, upper)?;
    single.deploy(DeployRequest::new("up", r("upper@1.0.0")?).pool(PoolMode::Pooled { size: 2 }))?;
    let token = "f1ee7f1ee7f1ee7f1ee7f1ee7f1ee7f1";
    let running = server::start(single.clone(), ServerConfig::loopback(0, token.to_string()))?;
    let http = RemoteRuntime::new(&running.url(), token);
    median_pair_us(&admin, &http, "up", &input, 1, 50)?; // warm-up
    let (fleet_p50, http_p50) = median_pair_us(&admin, &http, "up", &input, rounds, 50)?;
    drop(running);
    single.close();

    // A rolling deploy of 3 nodes to a version they have cached: v2 goes
    // out once (fetched, compiled), back to v1, then v2 again is measured.
    admin.add_component(&r("upper@2.0.0")?, upper)?;
    let rolling = Strategy::Rolling { batch: 1 };
    admin.deploy(DeployRequest::new("up", r("upper@2.0.0")?).strategy(rolling.clone()))?;
    admin.deploy(DeployRequest::new("up", r("upper@1.0.0")?).strategy(rolling.clone()))?;
    let started = Instant::now();
    admin.deploy(DeployRequest::new("up", r("upper@2.0.0")?).strategy(rolling))?;
    let rolling_ms = started.elapsed().as_secs_f64() * 1e3;
    drop((n1, n2, n3));

    let scaling = three / one;
    let latency = fleet_p50 / http_p50;
    Ok(FleetReport {
        fleet_throughput_1_node_calls_per_s: one,
        fleet_throughput_3_nodes_calls_per_s: three,
        fleet_scaling_ratio: scaling,
        fleet_invoke_p50_us: fleet_p50,
        http_invoke_p50_us: http_p50,
        fleet_latency_ratio: latency,
        fleet_rolling_deploy_3_nodes_ms: rolling_ms,
        fleet_meets_targets: scaling >= 2.0 && latency <= 2.0 && rolling_ms <= 1000.0,
    })
}
