//! `airssys bench --languages`: the same figures for a sample component in
//! each guest language (Rust, C, Python, JavaScript), each against bare
//! wasmtime doing the same job in the same run; and the tiered first deploy
//! of the largest one (Winch first, Cranelift in the background).
//!
//! The bare side is wasmtime with airssys's engine settings, an
//! `InstancePre`, WASI and the contract's host interface linked, bindgen's
//! typed calls (a WASI command: `wasi:cli/run` in a fresh store per call,
//! stdin and stdout in memory), so each ratio is what airssys adds.

use std::{
    hint::black_box,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use wasmtime::{
    Engine, Store,
    component::{Component, InstancePre, Linker, ResourceTable},
};
use wasmtime_wasi::{
    WasiCtxBuilder,
    p2::{
        bindings::CommandPre,
        pipe::{MemoryInputPipe, MemoryOutputPipe},
    },
};

use super::{
    bare::{BareInstance, BareState, engine_and_linker, wt},
    measure::{BenchResult, Scratch, compare, result},
};
use crate::{
    CompileTier, ComponentKind, Error, Host, HostConfig, Input, Result,
    bindings::sync::GuestIndices,
    deploy::{DeployRequest, PoolMode},
    registry::ComponentRef,
};

/// One sample per language: (language, project, component, input).
pub const SAMPLES: [(&str, &str, &str, &[u8]); 4] = [
    ("Rust", "text-tools", "json-pretty", b"{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}"),
    ("C", "iot-sensors", "sensor-csv", b"sensor,ts,value\nt1,1700000000,55.5\nt2,1700000001,12\n"),
    (
        "Python",
        "iot-sensors",
        "sensor-report",
        b"{\"sensor\":\"t1\",\"ts\":1700000000,\"value\":20}\n{\"sensor\":\"t1\",\"ts\":1700000060,\"value\":20.5}\n",
    ),
    ("JavaScript", "blog-publisher", "toc", b"<h1>Hello</h1>\n<p>x</p>\n<h2>World</h2>\n"),
];

/// The figures of one language's sample.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageReport {
    /// Rust, C, Python or JavaScript.
    pub language: String,
    /// The sample component's file name.
    pub component: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Contract component or WASI command.
    pub kind: String,
    /// First compile, cached load, instantiate, warm call: each against bare wasmtime.
    pub results: Vec<BenchResult>,
}

/// The tiered first deploy of a large new component.
#[derive(Debug, Clone, Serialize)]
pub struct TieredReport {
    /// The component measured.
    pub component: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// From `registry add` of the new bytes, through `deploy`, to the first
    /// call answered, tiered (Winch first), ms.
    pub first_call_tiered_ms: f64,
    /// The same with Cranelift only (tiering off), ms.
    pub first_call_optimised_ms: f64,
    /// Until the service ran the optimised code, from `deploy`, ms.
    pub optimised_after_ms: f64,
    /// Calls that failed while the service swapped (target 0).
    pub failed_calls: u64,
    /// Warm call on the service after the swap against bare wasmtime (Cranelift).
    pub steady: BenchResult,
    /// The project's target for the first call, ms.
    pub target_first_call_ms: f64,
}

/// The whole `--languages` report.
#[derive(Debug, Clone, Serialize)]
pub struct LanguagesReport {
    /// Rounds per measurement (compiles of components over 4 MiB: 1).
    pub rounds: usize,
    /// Per language.
    pub languages: Vec<LanguageReport>,
    /// The largest sample's tiered first deploy.
    pub tiered: TieredReport,
}

impl LanguagesReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = format!("airssys bench --languages ({} rounds, median per op)\n", self.rounds);
        out.push_str(&format!(
            "{:<40} {:>12} {:>12} {:>8} {:>8}\n",
            "measurement", "airssys µs", "bare µs", "ratio", "target"
        ));
        for l in &self.languages {
            out.push_str(&format!("{} ({}, {}, {} bytes)\n", l.language, l.component, l.kind, l.size_bytes));
            for r in &l.results {
                out.push_str(&format!(
                    "  {:<38} {:>12.2} {:>12.2} {:>7.2}x {:>8}\n",
                    r.label,
                    r.airssys_us,
                    r.bare_us,
                    r.ratio,
                    r.target_text()
                ));
            }
        }
        let t = &self.tiered;
        let ok = |pass: bool| if pass { "ok" } else { "MISS" };
        out.push_str(&format!("\ntiered first deploy: {} ({} bytes)\n", t.component, t.size_bytes));
        out.push_str(&format!(
            "first call after add + deploy            {:>9.0} ms tiered, {:.0} ms Cranelift only: {:.2}x (target ≤ {:.0} ms {})\n",
            t.first_call_tiered_ms,
            t.first_call_optimised_ms,
            t.first_call_tiered_ms / t.first_call_optimised_ms,
            t.target_first_call_ms,
            ok(t.first_call_tiered_ms <= t.target_first_call_ms)
        ));
        out.push_str(&format!(
            "optimised code live after                {:>9.0} ms, failed calls during the swap {} (target 0 {})\n",
            t.optimised_after_ms,
            t.failed_calls,
            ok(t.failed_calls == 0)
        ));
        let s = &t.steady;
        out.push_str(&format!(
            "warm call after the swap                 {:>9.2} µs airssys, {:.2} µs bare: {:.2}x (≤{} {})\n",
            s.airssys_us,
            s.bare_us,
            s.ratio,
            s.target_ratio.unwrap_or(0.0),
            ok(s.meets_target == Some(true))
        ));
        out
    }
}

/// The sample projects' folder: `DIR`, else the repository's (found next to
/// this crate when built from a checkout), else `./sample-projects`.
pub fn samples_dir(dir: Option<&Path>) -> PathBuf {
    if let Some(dir) = dir {
        return dir.to_path_buf();
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-projects");
    if built.is_dir() { built } else { PathBuf::from("sample-projects") }
}

/// Runs every language's rows, then the tiered first deploy.
///
/// Errors: a sample file that cannot be read ([`Error::Io`]), any load or
/// call that fails.
pub fn run(samples: &Path, quick: bool) -> Result<LanguagesReport> {
    let rounds = if quick { 3 } else { 11 };
    let scratch = Scratch::new()?;
    let mut languages = Vec::new();
    for (language, project, name, input) in SAMPLES {
        let path = samples.join(project).join("components").join(format!("{name}.wasm"));
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read the sample component", &path, e))?;
        languages.push(language_rows(language, name, &bytes, input, &scratch.0.join(name), rounds)?);
    }
    let (_, project, name, input) = SAMPLES[2];
    let path = samples.join(project).join("components").join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read the sample component", &path, e))?;
    let tiered = tiered_deploy(name, &bytes, input, &scratch.0.join("tiered"), rounds)?;
    Ok(LanguagesReport { rounds, languages, tiered })
}

/// A host with a cache in `dir`, tiering as asked.
fn host_in(dir: &Path, data: bool, tiered: bool) -> Result<Host> {
    let defaults = HostConfig::default();
    Host::new(HostConfig {
        data_dir: data.then(|| dir.join("data")),
        cache_dir: Some(dir.join("cache")),
        tiered_min_bytes: if tiered { defaults.tiered_min_bytes } else { None },
        ..defaults
    })
}

fn language_rows(
    language: &str,
    name: &str,
    bytes: &[u8],
    input: &[u8],
    dir: &Path,
    rounds: usize,
) -> Result<LanguageReport> {
    let bare = BareAny::new(bytes)?;
    let host = host_in(dir, false, false)?;
    let large = bytes.len() > 4 << 20;
    let compile_rounds = if large { 1 } else { rounds };
    let mut results = Vec::new();

    // First compile (no cache either side).
    let uncached = Host::new(HostConfig { cache_dir: None, tiered_min_bytes: None, ..HostConfig::default() })?;
    let digest = crate::Digest::of(bytes);
    let (a, b) = compare(
        compile_rounds,
        1,
        || {
            uncached.evict(&digest);
            black_box(uncached.load_bytes(bytes)?);
            Ok(())
        },
        || {
            black_box(Component::new(&bare.engine, bytes).map_err(wt)?);
            Ok(())
        },
    )?;
    results.push(result("first_compile", "first compile", a, b, None));
    drop(uncached);

    // Cached load: read back compiled code and pre-link.
    let component = host.load_bytes(bytes)?;
    let artifact = dir.join("bare.cwasm");
    let compiled = bare.component.serialize().map_err(wt)?;
    std::fs::write(&artifact, compiled).map_err(|e| Error::io("write", &artifact, e))?;
    let (a, b) = compare(
        compile_rounds,
        if large { 1 } else { 10 },
        || {
            host.evict(&digest);
            black_box(host.load_bytes(bytes)?);
            Ok(())
        },
        || {
            // SAFETY: written by `Component::serialize` of this very engine above.
            let component = unsafe { Component::deserialize_file(&bare.engine, &artifact) }.map_err(wt)?;
            black_box(bare.linker.instantiate_pre(&component).map_err(wt)?);
            Ok(())
        },
    )?;
    results.push(result("cached_load", "load from compile cache", a, b, None));

    let input = Input::new(input.to_vec());
    let kind = match component.kind() {
        ComponentKind::Contract { .. } => {
            let indices = bare.indices.as_ref().ok_or_else(|| Error::Measurement("no contract exports".into()))?;
            let (a, b) = compare(
                rounds,
                if large { 5 } else { 50 },
                || {
                    black_box(host.instantiate(&component)?);
                    Ok(())
                },
                || {
                    black_box(bare.contract(indices)?);
                    Ok(())
                },
            )?;
            results.push(result("instantiate", "instantiate (pre-linked)", a, b, Some(1.25)));
            let mut ours = host.instantiate(&component)?;
            ours.init(&[])?;
            let mut theirs = bare.contract(indices)?;
            theirs.init()?;
            let (a, b) = compare(
                rounds,
                if large { 50 } else { 500 },
                || {
                    black_box(ours.execute(&input)?);
                    Ok(())
                },
                || {
                    black_box(theirs.execute(&input)?);
                    Ok(())
                },
            )?;
            results.push(result("warm_call", "warm call", a, b, Some(1.15)));
            "contract"
        }
        ComponentKind::WasiCommand => {
            // A command runs in a fresh store per call: one run is the call.
            let mut ours = host.instantiate(&component)?;
            ours.init(&[])?;
            let pre = bare.command()?;
            let (a, b) = compare(
                rounds,
                50,
                || {
                    black_box(ours.execute(&input)?);
                    Ok(())
                },
                || {
                    black_box(run_command(&bare.engine, &pre, &input.data)?);
                    Ok(())
                },
            )?;
            results.push(result("command_run", "call (instantiate + wasi:cli/run)", a, b, Some(1.25)));
            "WASI command"
        }
    };
    Ok(LanguageReport {
        language: language.to_string(),
        component: format!("{name}.wasm"),
        size_bytes: bytes.len() as u64,
        kind: kind.to_string(),
        results,
    })
}

/// Deploys `bytes` as a new version on a host with an empty cache: once
/// with Cranelift only, once tiered (under load until the swap), then the
/// warm call on the optimised code against bare wasmtime.
fn tiered_deploy(name: &str, bytes: &[u8], input: &[u8], dir: &Path, rounds: usize) -> Result<TieredReport> {
    let reference: ComponentRef = format!("{name}@1.0.0").parse()?;
    let input = Input::new(input.to_vec());
    // From the moment the bytes arrive (`registry add` compiles them) to
    // the first call answered.
    let first_call = |host: &Host| -> Result<f64> {
        let started = Instant::now();
        host.add_component(&reference, bytes)?;
        host.deploy(DeployRequest::new(name, reference.clone()).pool(PoolMode::Pooled { size: 1 }))?;
        host.invoke(name, &input)?;
        Ok(started.elapsed().as_secs_f64() * 1e3)
    };
    let optimised = host_in(&dir.join("optimised"), true, false)?;
    let first_call_optimised_ms = first_call(&optimised)?;
    drop(optimised);

    let host = host_in(&dir.join("tiered"), true, true)?;
    let started = Instant::now();
    let first_call_tiered_ms = first_call(&host)?;
    // Under load from two threads until the service runs optimised code.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (host, stop, input, name) = (host.clone(), stop.clone(), input.clone(), name.to_string());
            std::thread::spawn(move || {
                let mut failed = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if host.invoke(&name, &input).is_err() {
                        failed += 1;
                    }
                }
                failed
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    let tier = |host: &Host| host.status(Some(name)).map(|s| s[0].versions[0].tier);
    while tier(&host)? != CompileTier::Optimized {
        if Instant::now() > deadline {
            return Err(Error::Measurement(format!("{name} still on baseline code after 10 minutes")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let optimised_after_ms = started.elapsed().as_secs_f64() * 1e3;
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let failed_calls = workers.into_iter().map(|w| w.join().unwrap_or(u64::MAX)).sum();

    // Steady state: the service's warm call against bare wasmtime's.
    let bare = BareAny::new(bytes)?;
    let indices = bare.indices.as_ref().ok_or_else(|| Error::Measurement("no contract exports".into()))?;
    let mut theirs = bare.contract(indices)?;
    theirs.init()?;
    let (a, b) = compare(
        rounds,
        50,
        || {
            black_box(host.invoke(name, &input)?);
            Ok(())
        },
        || {
            black_box(theirs.execute(&input)?);
            Ok(())
        },
    )?;
    Ok(TieredReport {
        component: format!("{name}.wasm"),
        size_bytes: bytes.len() as u64,
        first_call_tiered_ms,
        first_call_optimised_ms,
        optimised_after_ms,
        failed_calls,
        steady: result("tiered_steady_warm_call", "warm call after the swap", a, b, Some(1.15)),
        target_first_call_ms: 2000.0,
    })
}

/// Bare wasmtime for any sample: a contract component or a WASI command.
struct BareAny {
    engine: Engine,
    linker: Linker<BareState>,
    component: Component,
    /// The contract's export indices (none for a command).
    indices: Option<GuestIndices>,
    pre: InstancePre<BareState>,
}

impl BareAny {
    fn new(bytes: &[u8]) -> Result<Self> {
        let (engine, linker) =
            engine_and_linker(&crate::limits::PoolConfig { max_instances: 64, ..Default::default() })?;
        let component = Component::new(&engine, bytes).map_err(wt)?;
        let pre = linker.instantiate_pre(&component).map_err(wt)?;
        let indices = GuestIndices::new(&pre).ok();
        Ok(BareAny { engine, linker, component, indices, pre })
    }

    fn store(&self, wasi: WasiCtxBuilder) -> Store<BareState> {
        let mut wasi = wasi;
        let mut store = Store::new(&self.engine, BareState::new(wasi.build(), ResourceTable::new()));
        store.set_epoch_deadline(1 << 40);
        store
    }

    fn contract(&self, indices: &GuestIndices) -> Result<BareInstance> {
        let mut store = self.store(WasiCtxBuilder::new());
        let instance = self.pre.instantiate(&mut store).map_err(wt)?;
        let guest = indices.load(&mut store, &instance).map_err(wt)?;
        Ok(BareInstance::new(store, guest))
    }

    /// A command's pre-linked form on an async WASI linker (airssys calls
    /// commands the async way too).
    fn command(&self) -> Result<CommandPre<BareState>> {
        let mut linker = Linker::<BareState>::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wt)?;
        CommandPre::new(linker.instantiate_pre(&self.component).map_err(wt)?).map_err(wt)
    }
}

/// One run of a command in a fresh store: stdin in, stdout out.
fn run_command(engine: &Engine, pre: &CommandPre<BareState>, input: &[u8]) -> Result<Vec<u8>> {
    let stdout = MemoryOutputPipe::new(16 << 20);
    let mut wasi = WasiCtxBuilder::new();
    // The same job as airssys's deny-all sandbox: no entropy to seed.
    wasi.stdin(MemoryInputPipe::new(input.to_vec()))
        .stdout(stdout.clone())
        .arg("sample")
        .secure_random(wasmtime_wasi::Deterministic::new(vec![0x2a; 32]))
        .insecure_random(wasmtime_wasi::Deterministic::new(vec![0x2a; 32]))
        .insecure_random_seed(0);
    let mut store = Store::new(engine, BareState::new(wasi.build(), ResourceTable::new()));
    store.set_epoch_deadline(1 << 40);
    let ran = crate::deadline::run_until(Instant::now() + Duration::from_secs(60), async {
        let command = pre.instantiate_async(&mut store).await?;
        command.wasi_cli_run().call_run(&mut store).await
    });
    match ran {
        Some(Ok(Ok(()))) => Ok(stdout.contents().to_vec()),
        Some(Ok(Err(()))) => Err(Error::Measurement("the command failed".into())),
        Some(Err(e)) => Err(wt(e)),
        None => Err(Error::Measurement("the command ran past 60 s".into())),
    }
}
