//! `airssys`: the headless airssys-wasm command line.
//!
//! ```text
//! airssys inspect FILE.wasm [--json]
//! airssys call FILE.wasm [--input FILE|-] [--config KEY=VALUE]... [--timeout-ms N] [--max-memory-mib N] [--max-table-elements N]
//! airssys bench [--json]
//! airssys registry add|list|show|history|remove ...   --data-dir DIR
//! airssys deploy SERVICE NAME@VERSION [--strategy ...]  --data-dir DIR
//! airssys invoke SERVICE [--input FILE|-]              --data-dir DIR
//! airssys rollback SERVICE                             --data-dir DIR
//! airssys status [SERVICE] [--json]                    --data-dir DIR
//! airssys metrics [--prometheus|--json] [--check-health] --data-dir DIR
//! airssys run PROJECT [--pipeline NAME] [--input FILE|-]
//! airssys trace [--project DIR] [--pipeline NAME] [--last N] [--json]
//! airssys test PROJECT [--junit FILE]
//! airssys diff A B | PROJECT --deployed | --rollouts SERVICE [ID1 ID2]  [--json]  (exit 0 same, 1 different, 2 error)
//! airssys new NAME --lang rust|c|python|js [--dir DIR]
//! airssys push NAME@VERSION oci://REGISTRY/REPO:TAG    --data-dir DIR
//! airssys pull oci://REGISTRY/REPO:TAG|@sha256:... [--as NAME@VERSION]
//! ```

// Before the modules, so they use them too: printing to a closed stdout
// ends the process quietly (see `out`) instead of panicking like std's.
macro_rules! println {
    () => {
        $crate::out::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        $crate::out::print(format_args!($($arg)*))
    };
}

mod diff;
mod fleet;
mod global;
mod hints;
mod new;
#[cfg(feature = "oci")]
mod oci;
mod out;
mod project;
mod services;
mod show;
mod trace;

use std::{io::Read, path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use global::{GlobalArgs, LimitArgs, host_config, parse_key_value, target};
use host_core::{CallLimits, ComponentKind, Host, Input, Inspection, bench};

#[derive(Debug, Parser)]
#[command(name = "airssys", version, about = "Run, inspect and benchmark WebAssembly components")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a component's digest, kind, contract version, metadata,
    /// required capabilities, imports and exports.
    Inspect {
        /// The component file.
        file: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Run init, one execute and shutdown; write the output to stdout.
    Call(CallArgs),
    /// Measure airssys against bare wasmtime on the same component (with
    /// --fleet [URL]: a fleet's throughput, latency and rolling deploys).
    Bench {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Component to measure (default: the bundled `upper` sample).
        #[arg(long, value_name = "FILE")]
        component: Option<PathBuf>,
        /// Fewer rounds: a quick, noisier run.
        #[arg(long)]
        quick: bool,
        /// Measure a sample component per guest language (Rust, C, Python,
        /// JavaScript) and the tiered first deploy of the largest, from
        /// DIR (default: the repository's sample-projects).
        #[arg(long, value_name = "DIR", num_args = 0..=1, conflicts_with = "component")]
        languages: Option<Option<PathBuf>>,
    },
    /// Store, list and inspect component versions.
    #[command(subcommand)]
    Registry(services::RegistryCommand),
    /// Deploy a version to a service with a strategy.
    Deploy(services::DeployArgs),
    /// Call a service; the output goes to stdout.
    Invoke {
        /// The service.
        service: String,
        /// Input file, or `-` for stdin (default: empty input).
        #[arg(long, value_name = "FILE|-")]
        input: Option<String>,
    },
    /// Deploy the version that was live before the current one.
    Rollback {
        /// The service.
        service: String,
    },
    /// Grant a capability to a service (redeploys it with the grant).
    Grant {
        /// The service.
        service: String,
        /// The capability, e.g. file-read:/data/in, net-out:api.example.com:443, env:APP_*.
        capability: host_core::Capability,
    },
    /// Revoke a capability from a service (redeploys it without).
    Revoke {
        /// The service.
        service: String,
        /// The capability, in the same textual form.
        capability: host_core::Capability,
    },
    /// Show the audit log; `audit verify` checks its hash chain, `audit repair` moves a torn last line aside.
    Audit {
        #[command(subcommand)]
        command: Option<services::AuditCommand>,
        /// Only records of this service.
        #[arg(long)]
        service: Option<String>,
        /// Only records since this time: Unix seconds, or an age like 15m, 2h, 7d.
        #[arg(long, value_parser = services::parse_since)]
        since: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make an ed25519 key pair: KEYFILE (secret, 0600) and KEYFILE.pub.
    /// An existing key is never replaced without --force.
    Keygen {
        /// Where to write the secret key (a missing folder is created 0700).
        #[arg(long, value_name = "KEYFILE")]
        out: PathBuf,
        /// Replace an existing key pair (the old secret key is lost).
        #[arg(long)]
        force: bool,
    },
    /// Sign a component's digest with a secret key.
    Sign {
        /// The component file.
        file: PathBuf,
        /// The secret key file.
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,
        /// Where to write the signature.
        #[arg(long, value_name = "SIGFILE")]
        out: PathBuf,
    },
    /// Check a component's signature against a public key.
    Verify {
        /// The component file.
        file: PathBuf,
        /// The signature file.
        #[arg(long, value_name = "SIGFILE")]
        sig: PathBuf,
        /// The public key file.
        #[arg(long = "pub", value_name = "PUBKEY")]
        public: PathBuf,
    },
    /// Trusted keys and whether deploys require signatures.
    #[command(subcommand)]
    Trust(services::TrustCommand),
    /// Run a project's pipeline on an input; prints the results.
    Run {
        /// The project folder or its project.ron.
        project: PathBuf,
        /// The pipeline (needed when the project has several).
        #[arg(long)]
        pipeline: Option<String>,
        /// Input file, or `-` for stdin (default: empty input).
        #[arg(long, value_name = "FILE|-")]
        input: Option<String>,
        /// Print the whole run (results, each node's output) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Message traces of the last pipeline runs: each node call's input and
    /// output (size, media type, first bytes, metadata), port, duration and
    /// error, oldest run first.
    Trace {
        /// Runs of the project's data folder (its `.airssys/`, where
        /// `airssys run PROJECT` keeps them) unless --data-dir says otherwise.
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// Only runs of this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        /// The last N runs (0: every run kept).
        #[arg(long, value_name = "N", default_value_t = 10)]
        last: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a project's test cases: one line per case, then `N passed, N failed`.
    Test {
        /// The project folder or its project.ron.
        project: PathBuf,
        /// Also write a JUnit XML report.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Differences between two projects (services, config, grants, limits,
    /// pipelines, nodes, wires), a project and what its target runs
    /// (--deployed), or two rollouts of a service (--rollouts). Exit status
    /// 0: the same, 1: different, 2: error.
    Diff(diff::DiffArgs),
    /// Deploy a project's component files and redeploy each on change.
    Watch {
        /// The project folder (components/*.wasm).
        project: PathBuf,
    },
    /// Calls, errors, latency, memory, fuel and health per service version,
    /// and messages per pipeline node (what every process on the data
    /// folder has recorded).
    Metrics {
        /// Prometheus text exposition instead of a table.
        #[arg(long, conflicts_with = "json")]
        prometheus: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Call every service's health() now (starting it in this process)
        /// instead of showing the last recorded reading.
        #[arg(long)]
        check_health: bool,
    },
    /// Serve this data folder's runtime over HTTP (JSON API under /v1/,
    /// bearer token, /healthz, Prometheus /metrics). With --fleet URL the
    /// node joins a fleet: the data folder becomes its cache, and it runs
    /// what the fleet's desired state says.
    Serve {
        /// Address to listen on (loopback unless told otherwise; port 0
        /// picks a free one).
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7411")]
        listen: std::net::SocketAddr,
        /// Largest request body (an uploaded component), MiB.
        #[arg(long, value_name = "N", default_value_t = 64)]
        max_body_mib: usize,
        /// This node's name in the fleet (with --fleet; default: the hostname).
        #[arg(long, value_name = "NAME")]
        node: Option<String>,
        /// Serve HTTPS with this certificate chain (PEM, the server's own
        /// certificate first); needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM); needs --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// A fleet's nodes and what each runs (with --fleet URL).
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// Services, their versions and recent rollouts.
    Status {
        /// One service (default: all).
        service: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a component project from a template: source, the contract's WIT,
    /// build.sh, project.ron with a test case, README.
    New(new::NewArgs),
    /// Push a stored version (and its signature) to an OCI registry as a
    /// Wasm artifact: oci://REGISTRY/REPOSITORY:TAG.
    #[cfg(feature = "oci")]
    Push(oci::PushArgs),
    /// Pull a Wasm component (and its signature) from an OCI registry into
    /// the registry: oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST.
    #[cfg(feature = "oci")]
    Pull(oci::PullArgs),
}

#[derive(Debug, Args)]
struct CallArgs {
    /// The component file.
    file: PathBuf,
    /// Input file, or `-` for stdin (default: empty input).
    #[arg(long, value_name = "FILE|-")]
    input: Option<String>,
    /// Configuration passed to init (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    config: Vec<(String, String)>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Fuel budget per call (turns fuel metering on).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// A WASI command's arguments, after `--` (`argv[0]` is the file's
    /// component name): `airssys call jaq.wasm --input data.json -- .items`.
    #[arg(last = true, value_name = "ARG")]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    // `diff` exits like diff(1): 0 the same, 1 different, 2 trouble.
    let (outcome, failure) = match &cli.command {
        Command::Diff(args) => (diff::run(&cli.global, args).map(|same| ExitCode::from(u8::from(!same))), 2),
        _ => (run(cli).map(|()| ExitCode::SUCCESS), 1),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            // Show each cause once: many messages already quote their cause.
            let mut shown = err.to_string();
            for cause in err.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                shown = text;
            }
            if let Some(hint) =
                err.chain().find_map(|c| c.downcast_ref::<host_core::Error>()).and_then(hints::for_error)
            {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(failure)
        }
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,wasmtime=warn,cranelift=warn",
        1 => "info,airssys::guest=debug,wasmtime=warn,cranelift=warn",
        _ => "debug,wasmtime=warn,cranelift=warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A span's close line (with its time) shows a request end to end at
    // debug level (`RUST_LOG=airssys=debug`); spans are debug, so nothing
    // changes below it.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(log_colors())
        .init();
}

/// Colours in log lines only on a terminal, and never with `NO_COLOR` set
/// (to anything but the empty string, as no-color.org says).
fn log_colors() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect { file, json } => inspect(&cli.global, &file, json),
        Command::Call(args) => call(&cli.global, args),
        Command::Bench { json, quick, languages: Some(dir), .. } => {
            let report =
                host_core::bench::languages::run(&host_core::bench::languages::samples_dir(dir.as_deref()), quick)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            Ok(())
        }
        Command::Bench { json, component, quick, languages: None } => run_bench(&cli.global, component, json, quick),
        Command::Registry(command) => services::registry(&target(&cli.global)?, command),
        Command::Deploy(args) => services::deploy(&target(&cli.global)?, args),
        Command::Invoke { service, input } => {
            services::invoke(&target(&cli.global)?, &service, read_input(input.as_deref())?)
        }
        Command::Rollback { service } => services::rollback(&target(&cli.global)?, &service),
        Command::Grant { service, capability } => services::grant(&target(&cli.global)?, &service, capability),
        Command::Revoke { service, capability } => services::revoke(&target(&cli.global)?, &service, &capability),
        Command::Audit { command, service, since, json } => {
            services::audit(&target(&cli.global)?, command, service.as_deref(), since, json)
        }
        Command::Keygen { out, force } => {
            let public = host_core::security::signing::keygen(&out, force)?;
            println!("secret key: {}\npublic key: {}.pub ({public})", out.display(), out.display());
            Ok(())
        }
        Command::Sign { file, key, out } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let signature = host_core::security::signing::sign(&bytes, &key)?;
            std::fs::write(&out, serde_json::to_vec_pretty(&signature)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("signed {} ({})", file.display(), signature.digest);
            Ok(())
        }
        Command::Verify { file, sig, public } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let text = std::fs::read_to_string(&sig).with_context(|| format!("cannot read {}", sig.display()))?;
            let signature: host_core::security::signing::ComponentSignature =
                serde_json::from_str(&text).with_context(|| format!("{} is not a signature file", sig.display()))?;
            let key = host_core::security::signing::read_public_key(&public)?;
            host_core::security::signing::verify(&host_core::Digest::of(&bytes), &signature, &key)?;
            println!("valid signature by {key}");
            Ok(())
        }
        Command::Trust(command) => services::trust(&target(&cli.global)?, command),
        Command::Run { project: path, pipeline, input, json } => {
            project::run(&cli.global, &path, pipeline.as_deref(), read_input(input.as_deref())?, json)
        }
        Command::Trace { project, pipeline, last, json } => {
            let target = match &project {
                Some(path) => project::target_of(&cli.global, path)?,
                None => target(&cli.global)?,
            };
            trace::show(&target, pipeline.as_deref(), last, json)
        }
        Command::Diff(args) => diff::run(&cli.global, &args).map(|_| ()),
        Command::Test { project: path, junit } => project::test(&cli.global, &path, junit.as_deref()),
        Command::Watch { project } => services::watch(target(&cli.global)?.host("watch")?, &project),
        Command::Metrics { prometheus, json, check_health } => {
            show::metrics(&target(&cli.global)?, prometheus, json, check_health)
        }
        Command::Serve { listen, max_body_mib, node, tls_cert, tls_key } => {
            let tls = tls_cert.zip(tls_key).map(|(cert, key)| host_core::remote::server::TlsFiles { cert, key });
            serve(&cli.global, listen, max_body_mib, node, tls)
        }
        Command::Fleet(command) => fleet::run(&cli.global.fleet, command),
        Command::Status { service, json } => show::status(&target(&cli.global)?, service.as_deref(), json),
        Command::New(args) => new::run(args),
        #[cfg(feature = "oci")]
        Command::Push(args) => oci::push(&target(&cli.global)?, args),
        #[cfg(feature = "oci")]
        Command::Pull(args) => {
            let target = target(&cli.global)?;
            let result = oci::pull(&cli.global, &target, args);
            target.close();
            result
        }
    }
}

fn serve(
    global: &GlobalArgs,
    listen: std::net::SocketAddr,
    max_body_mib: usize,
    node: Option<String>,
    tls: Option<host_core::remote::server::TlsFiles>,
) -> Result<()> {
    use host_core::remote::server;
    if global.remote.is_some() {
        bail!("`airssys serve` serves a data folder; drop --remote");
    }
    let fleet = global.fleet.config()?;
    if node.is_some() && fleet.is_none() {
        bail!("--node names this server in a fleet: add --fleet nats://HOST:PORT");
    }
    // Long-running: a large new component serves at once on baseline code.
    let host = global::data_host_with(global, global::tiered(host_config(global)))?;
    let data_dir = host.config().data_dir.clone().unwrap_or_default();
    let token_file = global.token_file.clone().unwrap_or_else(|| data_dir.join("serve.token"));
    let (token, created) = server::load_or_create_token(&token_file)?;
    if !listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {listen}, reachable from other machines; anyone with the token can deploy code"
        );
        if tls.is_none() {
            eprintln!(
                "warning: without TLS, anyone on the network between a client and this server can read the token \
                 and every body (components, inputs, outputs) and reuse the token; serve HTTPS with --tls-cert \
                 FILE --tls-key FILE"
            );
        }
    }
    let config = server::ServerConfig { listen, token: token.clone(), max_body_bytes: max_body_mib << 20, tls };
    let running = server::start(host.clone(), config)?;
    // With --fleet: join it (an unreachable NATS ends the server here, with
    // a message, within the connect timeout).
    let _node = match fleet {
        Some(config) => {
            let joined = fleet::join(host, config, node, running.url())?;
            eprintln!("node {} joined the fleet", joined.node());
            Some(joined)
        }
        None => None,
    };
    if created {
        // Printed once: the file keeps it (owner-only permissions).
        eprintln!("new token (kept in {}): {token}", token_file.display());
    } else {
        eprintln!("token: in {}", token_file.display());
    }
    eprintln!("serving {} on {} (Ctrl-C to stop)", data_dir.display(), running.url());
    running.wait();
    Ok(())
}

fn inspect(global: &GlobalArgs, file: &PathBuf, json: bool) -> Result<()> {
    let host = Host::new(host_config(global))?;
    let inspection = host.inspect_file(file)?;
    if json {
        let mut doc = serde_json::to_value(&inspection)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("file".into(), file.display().to_string().into());
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_inspection(file, &inspection);
    }
    if !inspection.mismatches.is_empty() {
        let functions: Vec<String> =
            inspection.mismatches.iter().map(|m| format!("`{}` of {}", m.function, m.interface)).collect();
        bail!(
            "this host refuses to load the component: {} does not match the contract (see above). Rebuild it \
             against wit/component.wit (airssys:component@{})",
            functions.join(", "),
            host_core::CONTRACT_VERSION
        );
    }
    Ok(())
}

fn print_inspection(file: &std::path::Path, d: &Inspection) {
    let list = |items: &[String]| if items.is_empty() { "(none)".to_string() } else { items.join(", ") };
    let kind = match &d.info.kind {
        ComponentKind::Contract { version, state } => {
            format!("contract component, airssys:component@{version}{}", if *state { ", exports state" } else { "" })
        }
        ComponentKind::WasiCommand => "WASI command (stdin to stdout)".to_string(),
    };
    println!("{}", file.display());
    println!("  digest        {}", d.info.digest);
    println!("  size          {} bytes", d.info.size_bytes);
    println!("  kind          {kind}");
    if let Some(tier) = d.tier {
        println!(
            "  compiled by   {} ({})",
            if tier == host_core::CompileTier::Baseline { "Winch" } else { "Cranelift" },
            tier.name()
        );
    }
    match &d.metadata {
        Some(m) => {
            println!("  name          {} {}", m.name, m.version);
            println!("  description   {}", m.description);
            println!("  accepts       {}", list(&m.accepts));
            println!("  produces      {}", list(&m.produces));
            println!("  stateful      {}", if m.stateful { "yes" } else { "no" });
        }
        None => println!("  metadata      {}", d.metadata_error.as_deref().unwrap_or("not read")),
    }
    match &d.required_capabilities {
        Some(caps) => {
            let caps: Vec<String> = caps.iter().map(ToString::to_string).collect();
            println!("  capabilities  {}", list(&caps));
        }
        None => println!("  capabilities  {}", d.required_capabilities_error.as_deref().unwrap_or("not read")),
    }
    let print_interface = |name: &str, imported: bool| {
        println!("    {name}");
        for m in d.mismatches.iter().filter(|m| m.interface == name && m.imported == imported) {
            println!("      `{}` DOES NOT MATCH the contract: {}", m.function, m.difference);
            println!("        expected {}", m.expected);
            println!("        found    {}", m.found);
        }
    };
    println!("  imports");
    for import in &d.info.imports {
        print_interface(import, true);
    }
    println!("  exports");
    for export in d.info.exports.iter().filter(|e| !e.contains('#')) {
        print_interface(export, false);
    }
}

fn read_input(input: Option<&str>) -> Result<Vec<u8>> {
    match input {
        None => Ok(Vec::new()),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("cannot read the input from stdin")?;
            Ok(buf)
        }
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read the input file {path}")),
    }
}

fn call(global: &GlobalArgs, args: CallArgs) -> Result<()> {
    let mut config = host_config(global);
    if args.fuel.is_some() {
        config.fuel_per_call = args.fuel;
    }
    let limits = CallLimits { fuel: args.fuel, ..args.limits.apply(Default::default()).call_limits() };
    let host = Host::new(config)?;
    let component = host.load_file(&args.file)?;
    let input = Input::new(read_input(args.input.as_deref())?);
    let output = host.call_once_with_args(&component, &args.args, &args.config, &input, limits)?;
    out::bytes(&output.data).context("cannot write the output")
}

fn run_bench(global: &GlobalArgs, component: Option<PathBuf>, json: bool, quick: bool) -> Result<()> {
    // The per-language rows come with the default run, when the sample
    // projects are at hand (a checkout).
    let samples = bench::languages::samples_dir(None);
    let languages = (component.is_none() && samples.is_dir()).then_some(samples);
    let (bytes, name) = match component {
        Some(path) => {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            (bytes, path.display().to_string())
        }
        None => (bench::BUNDLED_UPPER.to_vec(), "bundled sample upper.wasm".to_string()),
    };
    if let Some(url) = &global.fleet.fleet {
        // `--fleet URL`: the fleet's figures on that NATS server; `--fleet`
        // alone: on a nats-server this bench starts.
        let url = (!url.is_empty()).then_some(url.as_str());
        let report = bench::fleet::run(url, &bytes, quick)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "component": name, "fleet": report }))?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    let report = bench::run(&bench::BenchOptions { component: bytes, component_name: name, quick, languages })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
