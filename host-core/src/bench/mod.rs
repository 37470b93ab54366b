//! `airssys bench`: the framework against a bare-wasmtime baseline doing the
//! same work on the same component, measured in the same run.
//!
//! The baseline is wasmtime at its best for this job: its own engine with the
//! same settings (pooling allocator, `concurrency_support(false)`, epoch
//! interruption, because a host that cannot bound a call is not doing the
//! same work), an `InstancePre`, bindgen's typed calls, an empty WASI
//! context. Rounds alternate framework and baseline so that noise on this
//! shared machine hits both; each figure is the median over rounds.

use std::{hint::black_box, path::PathBuf, time::Duration};

use serde::Serialize;
mod bare;
mod capacity;
#[cfg(feature = "fleet")]
pub mod fleet;
pub mod languages;
mod measure;
mod swap;
mod wire;

pub use capacity::CapacityReport;
pub use measure::BenchResult;
use measure::{Scratch, compare, payload, result};
pub use swap::SwapReport;

use crate::{CallLimits, Error, Host, HostConfig, Input, Result};
use bare::Bare;

/// The bundled `upper` sample, so `airssys bench` runs anywhere.
pub const BUNDLED_UPPER: &[u8] = include_bytes!("../../../sample-projects/text-tools/components/upper.wasm");

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The component's bytes (must export the airssys contract).
    pub component: Vec<u8>,
    /// A name for the report.
    pub component_name: String,
    /// Fewer rounds.
    pub quick: bool,
    /// Also the per-language rows, from this sample-projects folder
    /// ([`languages::run`]).
    pub languages: Option<PathBuf>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Which component was measured.
    pub component: String,
    /// Rounds per measurement (medians are over these).
    pub rounds: usize,
    /// The comparisons.
    pub results: Vec<BenchResult>,
    /// Hot-swap figures.
    pub swap: swap::SwapReport,
    /// Many live instances in one host (Linux only: resident memory).
    pub capacity: Option<CapacityReport>,
    /// A sample per guest language and the tiered first deploy.
    pub languages: Option<languages::LanguagesReport>,
}

impl BenchReport {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut out = format!("airssys bench: {} ({} rounds, median per op)\n", self.component, self.rounds);
        out.push_str(&format!(
            "{:<34} {:>12} {:>12} {:>8} {:>8}\n",
            "measurement", "airssys µs", "bare µs", "ratio", "target"
        ));
        for r in &self.results {
            out.push_str(&format!(
                "{:<34} {:>12.2} {:>12.2} {:>7.2}x {:>8}\n",
                r.label,
                r.airssys_us,
                r.bare_us,
                r.ratio,
                r.target_text()
            ));
        }
        out.push_str(&self.swap.table());
        if let Some(capacity) = &self.capacity {
            out.push_str(&capacity.table());
        }
        if let Some(languages) = &self.languages {
            out.push('\n');
            out.push_str(&languages.table());
        }
        out
    }
}

/// Runs every measurement.
pub fn run(options: &BenchOptions) -> Result<BenchReport> {
    let rounds = if options.quick { 5 } else { 25 };
    // First, while no other host holds address space: 10 000 instances
    // reserve ~50 TiB of it.
    let capacity = capacity::run(&options.component, 10_000)?;
    let scratch = Scratch::new()?;
    let host = Host::new(HostConfig {
        cache_dir: Some(scratch.0.join("airssys-cache")),
        default_limits: CallLimits { timeout: Duration::from_secs(30), ..CallLimits::default() },
        ..HostConfig::default()
    })?;
    let component = host.load_bytes(&options.component)?;
    let bare = Bare::new(&options.component)?;

    let mut results = Vec::new();

    // (a) instantiate
    {
        let iters = 200;
        let (a, b) = compare(
            rounds,
            iters,
            || {
                black_box(host.instantiate(&component)?);
                Ok(())
            },
            || {
                black_box(bare.instantiate()?);
                Ok(())
            },
        )?;
        results.push(result("instantiate", "instantiate (pooled, pre-linked)", a, b, Some(1.25)));
    }

    // (b) warm execute; then the same call made the way a component that
    // can wait in the host is called (async, under the deadline executor).
    let async_host = Host::new(HostConfig { cache_dir: None, ..host.config().clone() })?;
    async_host.always_async();
    let async_component = async_host.load_bytes(&options.component)?;
    for (key, label, size, iters, host, component) in [
        ("warm_execute_1k", "warm execute, 1 KiB", 1024, 2000, &host, &component),
        ("warm_execute_64k", "warm execute, 64 KiB", 64 * 1024, 200, &host, &component),
        ("warm_execute_1k_async", "warm execute, 1 KiB, async path", 1024, 2000, &async_host, &async_component),
    ] {
        let input = Input::new(payload(size));
        let mut ours = host.instantiate(component)?;
        ours.init(&[])?;
        let mut theirs = bare.instantiate()?;
        theirs.init()?;
        let (a, b) = compare(
            rounds,
            iters,
            || {
                black_box(ours.execute(&input)?);
                Ok(())
            },
            || {
                black_box(theirs.execute(&input)?);
                Ok(())
            },
        )?;
        results.push(result(key, label, a, b, Some(1.15)));
    }
    drop(async_host);

    // (c) fresh instance + execute
    {
        let input = Input::new(payload(1024));
        let limits = host.config().default_limits.clone();
        let (a, b) = compare(
            rounds,
            200,
            || {
                black_box(host.call_once(&component, &[], &input, limits.clone())?);
                Ok(())
            },
            || {
                let mut instance = bare.instantiate()?;
                instance.init()?;
                black_box(instance.execute(&input)?);
                instance.shutdown()?;
                Ok(())
            },
        )?;
        results.push(result("fresh_instance_execute", "fresh instance + execute, 1 KiB", a, b, Some(1.25)));
    }

    // (d) load: from the disk cache, and compiling
    {
        let digest = component.digest();
        let artifact = scratch.0.join("bare.cwasm");
        let compiled = bare.component.serialize().map_err(|e| Error::Cache(format!("{e:#}")))?;
        std::fs::write(&artifact, compiled).map_err(|e| Error::io("write", &artifact, e))?;
        let (a, b) = compare(
            rounds,
            20,
            || {
                host.evict(&digest);
                black_box(host.load_bytes(&options.component)?);
                Ok(())
            },
            || {
                black_box(bare.load_cached(&artifact)?);
                Ok(())
            },
        )?;
        results.push(result("load_cached", "load from compile cache", a, b, None));

        let uncached = Host::new(HostConfig { cache_dir: None, ..HostConfig::default() })?;
        let (a, b) = compare(
            rounds.min(5),
            1,
            || {
                uncached.evict(&digest);
                black_box(uncached.load_bytes(&options.component)?);
                Ok(())
            },
            || {
                black_box(bare.compile()?);
                Ok(())
            },
        )?;
        results.push(result("load_compile", "load with compilation", a, b, None));
    }

    results.extend(pipeline_results(&options.component, &scratch.0, rounds, &bare)?);
    results.extend(wire::results(&options.component, &scratch.0, rounds.min(10))?);
    let swap = swap::run(&options.component, &scratch.0, options.quick)?;
    let languages = match &options.languages {
        Some(dir) => Some(languages::run(dir, options.quick)?),
        None => None,
    };
    Ok(BenchReport { component: options.component_name.clone(), rounds, results, swap, capacity, languages })
}

/// A 3-node pipeline (the component thrice, chained) against the same
/// three calls made by bare wasmtime, each output (body and metadata, as a
/// wire carries them) feeding the next input.
fn pipeline_results(bytes: &[u8], scratch: &std::path::Path, rounds: usize, bare: &Bare) -> Result<Vec<BenchResult>> {
    use crate::{
        deploy::{DeployRequest, PoolMode},
        pipeline::{Pipeline, RunOptions},
    };
    let host = Host::new(HostConfig {
        data_dir: Some(scratch.join("pipeline-data")),
        cache_dir: Some(scratch.join("pipeline-cache")),
        ..HostConfig::default()
    })?;
    let reference: crate::registry::ComponentRef = "bench@1.0.0".parse()?;
    host.add_component(&reference, bytes)?;
    for service in ["a", "b", "c"] {
        host.deploy(DeployRequest::new(service, reference.clone()).pool(PoolMode::Pooled { size: 1 }))?;
    }
    let pipeline =
        Pipeline::new("bench").node("a", "a").node("b", "b").node("c", "c").wire("a", "out", "b").wire("b", "out", "c");
    let mut bare_chain = [bare.instantiate()?, bare.instantiate()?, bare.instantiate()?];
    for instance in &mut bare_chain {
        instance.init()?;
    }
    let mut results = Vec::new();
    for (key, label, size, iters) in [
        ("pipeline_3_nodes_1k", "3-node pipeline, 1 KiB", 1024, 500),
        ("pipeline_3_nodes_1m", "3-node pipeline, 1 MiB", 1 << 20, 3),
    ] {
        let data = payload(size);
        let options = RunOptions::default();
        let (a, b) = compare(
            rounds,
            iters,
            || {
                black_box(host.run_pipeline(&pipeline, Input::new(data.clone()), &options)?);
                Ok(())
            },
            || {
                let mut message = Input::new(data.clone());
                for instance in bare_chain.iter_mut() {
                    let output = instance.execute(&message)?;
                    // What a wire carries: the body and its metadata.
                    message = Input::new(output.data);
                    message.metadata = output.metadata;
                }
                black_box(message);
                Ok(())
            },
        )?;
        results.push(result(key, label, a, b, Some(1.25)));
    }
    results.push(traced_pipeline(&host, &pipeline, bytes, scratch, rounds)?);
    host.close();
    Ok(results)
}

/// The 3-node 1 KiB pipeline on a host that traces runs (the default ring)
/// against the same pipeline on one that does not (`trace_runs: 0`, the
/// library's default), in the same run: what message traces cost.
fn traced_pipeline(
    untraced: &Host,
    pipeline: &crate::pipeline::Pipeline,
    bytes: &[u8],
    scratch: &std::path::Path,
    rounds: usize,
) -> Result<BenchResult> {
    use crate::{
        deploy::{DeployRequest, PoolMode},
        pipeline::RunOptions,
    };
    let traced = Host::new(HostConfig {
        data_dir: Some(scratch.join("pipeline-data-traced")),
        cache_dir: Some(scratch.join("pipeline-cache")),
        trace_runs: crate::pipeline::DEFAULT_TRACE_RUNS,
        ..HostConfig::default()
    })?;
    let reference: crate::registry::ComponentRef = "bench@1.0.0".parse()?;
    traced.add_component(&reference, bytes)?;
    for service in ["a", "b", "c"] {
        traced.deploy(DeployRequest::new(service, reference.clone()).pool(PoolMode::Pooled { size: 1 }))?;
    }
    let data = payload(1024);
    let options = RunOptions::default();
    let (a, b) = compare(
        rounds,
        500,
        || {
            black_box(traced.run_pipeline(pipeline, Input::new(data.clone()), &options)?);
            Ok(())
        },
        || {
            black_box(untraced.run_pipeline(pipeline, Input::new(data.clone()), &options)?);
            Ok(())
        },
    )?;
    traced.close();
    Ok(result("pipeline_3_nodes_1k_traced", "3-node pipeline, 1 KiB, traced", a, b, Some(1.10)))
}
