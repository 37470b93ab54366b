//! `airssys registry|deploy|invoke|rollback|grant|revoke|audit|trust|watch`:
//! the data-folder verbs, each through the `Runtime` trait of its target.
//! Each runs as its own process and sees what earlier ones left in the
//! data folder.

use std::{collections::BTreeMap, time::Duration};

use crate::global::Target;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, builder::TypedValueParser};
use host_core::{
    Host, Input, Runtime,
    deploy::{
        DeployRequest, PoolMode, RolloutEvent, RolloutOutcome, RolloutRecord, ServiceLimits, Strategy, StrategyKind,
    },
    registry::ComponentRef,
};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Validate a component and store it as NAME@VERSION.
    Add {
        /// NAME@VERSION, e.g. text@1.0.0.
        reference: ComponentRef,
        /// The component file.
        file: std::path::PathBuf,
        /// A signature file (from `airssys sign`) to keep with the component.
        #[arg(long, value_name = "SIGFILE")]
        sig: Option<std::path::PathBuf>,
    },
    /// Every name and its versions.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One version: digest, size, when added.
    Show {
        /// NAME@VERSION.
        reference: ComponentRef,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every version of a name, oldest first.
    History {
        /// The name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a version no service uses.
    Remove {
        /// NAME@VERSION.
        reference: ComponentRef,
    },
}

/// `--strategy`: one of host-core's strategy kinds, by name.
fn strategy_kind() -> impl clap::builder::TypedValueParser<Value = StrategyKind> {
    clap::builder::PossibleValuesParser::new(StrategyKind::ALL.map(StrategyKind::name))
        .try_map(|name| name.parse::<StrategyKind>())
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The service to deploy to (created on first deploy).
    service: String,
    /// NAME@VERSION from the registry.
    component: ComponentRef,
    /// How the new version replaces the live one (default: the service's).
    #[arg(long, value_parser = strategy_kind())]
    strategy: Option<StrategyKind>,
    /// blue-green: how long the old pool stays warm for instant rollback.
    #[arg(long, value_name = "MS", default_value_t = Strategy::KEEP_OLD_MS)]
    keep_old_ms: u64,
    /// canary: traffic percentages per step.
    #[arg(long, value_name = "P,P,...", value_delimiter = ',', default_values_t = Strategy::CANARY_STEPS)]
    steps: Vec<u32>,
    /// canary: minimum time per step.
    #[arg(long, value_name = "MS", default_value_t = Strategy::CANARY_INTERVAL_MS)]
    step_interval_ms: u64,
    /// canary: calls the canary must serve per step before it is judged.
    #[arg(long, value_name = "N", default_value_t = Strategy::CANARY_MIN_CALLS)]
    min_calls: u64,
    /// canary: largest allowed canary-minus-baseline error rate (0.05 = 5 points).
    #[arg(long, value_name = "FRACTION", default_value_t = Strategy::CANARY_MAX_ERROR_INCREASE)]
    max_error_increase: f64,
    /// rolling: instances replaced per batch.
    #[arg(long, value_name = "N", default_value_t = Strategy::ROLLING_BATCH)]
    batch: usize,
    /// Keep a pool of N live instances.
    #[arg(long, value_name = "N", conflicts_with = "per_call")]
    pool: Option<usize>,
    /// Make a fresh instance for every call.
    #[arg(long)]
    per_call: bool,
    /// Configuration passed to init (repeatable; replaces the service's config).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = crate::global::parse_key_value)]
    config: Vec<(String, String)>,
    /// A capability to grant, e.g. file-read:/data/in (repeatable; replaces
    /// the service's grants).
    #[arg(long = "grant", value_name = "CAPABILITY")]
    grants: Vec<host_core::Capability>,
    /// A WASI command's argument (repeatable, in order; replaces the
    /// service's arguments; `argv[0]` is the service name), e.g.
    /// `--arg=-c --arg=.items`.
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,
    /// Drop the service's arguments (a WASI command then gets
    /// `--KEY=VALUE` per config entry).
    #[arg(long, conflicts_with = "args")]
    no_args: bool,
    #[command(flatten)]
    limits: crate::global::LimitArgs,
}

impl DeployArgs {
    fn strategy(&self) -> Option<Strategy> {
        Some(match self.strategy? {
            StrategyKind::Immediate => Strategy::Immediate,
            StrategyKind::BlueGreen => Strategy::BlueGreen { keep_old_ms: self.keep_old_ms },
            StrategyKind::Canary => Strategy::Canary {
                steps: self.steps.clone(),
                interval_ms: self.step_interval_ms,
                min_calls: self.min_calls,
                max_error_increase: self.max_error_increase,
            },
            StrategyKind::Rolling => Strategy::Rolling { batch: self.batch },
        })
    }

    fn request(&self, runtime: &dyn Runtime) -> Result<DeployRequest> {
        let mut request = DeployRequest::new(&self.service, self.component.clone());
        if self.limits.any() {
            // The flags given change the service's current limits; the others stay.
            let current = match runtime.status(Some(&self.service)) {
                Ok(status) => status.first().map(|s| s.spec.limits).unwrap_or_default(),
                Err(host_core::Error::UnknownService { .. }) => ServiceLimits::default(),
                Err(e) => return Err(e.into()),
            };
            request.limits = Some(self.limits.apply(current));
        }
        request.strategy = self.strategy();
        request.pool = match (self.pool, self.per_call) {
            (_, true) => Some(PoolMode::PerCall),
            (Some(size), false) => Some(PoolMode::Pooled { size }),
            (None, false) => None,
        };
        if !self.config.is_empty() {
            request.config = Some(self.config.iter().cloned().collect::<BTreeMap<_, _>>());
        }
        if !self.grants.is_empty() {
            request.grants = Some(self.grants.clone());
        }
        if !self.args.is_empty() || self.no_args {
            request.args = Some(self.args.clone());
        }
        Ok(request)
    }
}

pub fn registry(target: &Target, command: RegistryCommand) -> Result<()> {
    let runtime = target.runtime();
    match command {
        RegistryCommand::Add { reference, file, sig } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if let Some(sig) = sig {
                let signature = read_signature(&sig)?;
                let digest = host_core::Digest::of(&bytes);
                if signature.digest != digest {
                    bail!("{} signs {}, not {} ({digest})", sig.display(), signature.digest, file.display());
                }
                runtime.add_signature(&signature)?;
            }
            let record = runtime.add_component(&reference, &bytes)?;
            println!("{reference} -> {} ({} bytes)", record.digest, record.size_bytes);
        }
        RegistryCommand::List { json } => {
            let names = runtime.components()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&names)?);
            } else if names.is_empty() {
                println!("the registry is empty; add a component with `airssys registry add NAME@VERSION FILE.wasm`");
            } else {
                for name in names {
                    let versions: Vec<String> = name.versions.iter().map(|v| v.version.to_string()).collect();
                    println!("{:<24} {}", name.name, versions.join(", "));
                }
            }
        }
        RegistryCommand::Show { reference, json } => {
            let record = runtime
                .components()?
                .into_iter()
                .find(|n| n.name == reference.name)
                .and_then(|n| n.versions.into_iter().find(|v| v.version == reference.version))
                .ok_or_else(|| anyhow::anyhow!("{reference} is not in the registry; see `airssys registry list`"))?;
            if json {
                let mut doc = serde_json::to_value(&record)?;
                #[cfg(feature = "oci")]
                if let (Some(map), Some(origin)) = (doc.as_object_mut(), crate::oci::origin_of(target, &reference)) {
                    map.insert("origin".into(), serde_json::to_value(origin)?);
                }
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!("{reference}");
                println!("  digest    {}", record.digest);
                println!("  size      {} bytes", record.size_bytes);
                println!("  added     {} (unix seconds)", record.added_at);
                #[cfg(feature = "oci")]
                crate::oci::print_origin_of(target, &reference);
            }
        }
        RegistryCommand::History { name, json } => {
            let record = runtime
                .components()?
                .into_iter()
                .find(|n| n.name == name)
                .ok_or_else(|| anyhow::anyhow!("no component named `{name}`; see `airssys registry list`"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&record)?);
            } else {
                for v in &record.versions {
                    println!("{}@{:<12} {}  {} bytes", record.name, v.version, v.digest, v.size_bytes);
                }
            }
        }
        RegistryCommand::Remove { reference } => {
            runtime.remove_component(&reference)?;
            println!("removed {reference}");
        }
    }
    Ok(())
}

/// Runs `action` while printing its rollout events to stderr (local runs;
/// a remote rollout reports its outcome).
fn with_events(target: &Target, action: impl FnOnce(&dyn Runtime) -> host_core::Result<RolloutRecord>) -> Result<()> {
    if let Target::Fleet(fleet) = target {
        // A fleet rollout runs in this process: print its waves as they go.
        let events = fleet.subscribe_rollouts();
        let printer = std::thread::spawn(move || {
            for event in events {
                let done = matches!(event, RolloutEvent::Finished { .. });
                print_event(event);
                if done {
                    return;
                }
            }
        });
        let result = action(fleet);
        drop(printer);
        return report(result);
    }
    let Target::Local(host) = target else {
        return report(action(target.runtime()));
    };
    let events = host.subscribe_rollouts()?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = done.clone();
    let printer = std::thread::spawn(move || {
        loop {
            match events.recv_timeout(Duration::from_millis(50)) {
                Ok(event) => print_event(event),
                Err(_) if finished.load(std::sync::atomic::Ordering::SeqCst) => return,
                Err(_) => {}
            }
        }
    });
    let result = action(host);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = printer.join();
    host.close();
    report(result)
}

fn print_event(event: RolloutEvent) {
    match event {
        RolloutEvent::Started { service, from, to, strategy, .. } => {
            let from = from.map(|f| f.to_string()).unwrap_or_else(|| "(nothing)".into());
            eprintln!("rollout {service}: {from} -> {to} ({strategy})");
        }
        RolloutEvent::Health { version, health, .. } => eprintln!("  health of {version}: {health:?}"),
        RolloutEvent::Step { step, .. } if !step.nodes.is_empty() => {
            eprintln!("  wave {}: {:.0}% of nodes on the new version", step.index + 1, step.new_weight_percent);
            for node in &step.nodes {
                match (&node.reason, node.converged) {
                    (_, true) => eprintln!("    {}: converged", node.node),
                    (Some(reason), false) => eprintln!("    {}: {reason}", node.node),
                    (None, false) => eprintln!("    {}: not converged", node.node),
                }
            }
        }
        RolloutEvent::Step { step, .. } => eprintln!(
            "  step {}: new version at {:.1}%, new {} calls / {} errors, old {} calls / {} errors",
            step.index + 1,
            step.new_weight_percent,
            step.new_calls,
            step.new_errors,
            step.old_calls,
            step.old_errors
        ),
        RolloutEvent::Finished { outcome, .. } => eprintln!("  outcome: {outcome:?}"),
    }
}

fn report(result: host_core::Result<RolloutRecord>) -> Result<()> {
    match result {
        Ok(record) => {
            println!("{}: {} is live ({})", record.service, record.to, record.strategy);
            Ok(())
        }
        Err(host_core::Error::RolloutFailed(record)) => {
            let reason = match &record.outcome {
                RolloutOutcome::RolledBack(r) | RolloutOutcome::Failed(r) => r.clone(),
                RolloutOutcome::Succeeded => String::new(),
            };
            let live = record.from.as_ref().map(ToString::to_string).unwrap_or_else(|| "nothing".into());
            bail!("rollout of {} to {} did not complete: {reason}. {live} keeps serving", record.service, record.to)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn deploy(target: &Target, args: DeployArgs) -> Result<()> {
    let request = args.request(target.runtime())?;
    with_events(target, |runtime| runtime.deploy(request))
}

pub fn rollback(target: &Target, service: &str) -> Result<()> {
    with_events(target, |runtime| runtime.rollback(service))
}

pub fn invoke(target: &Target, service: &str, input: Vec<u8>) -> Result<()> {
    let output = target.runtime().invoke(service, &Input::new(input));
    target.close();
    let output = output?;
    crate::out::bytes(&output.data).context("cannot write the output")
}

pub fn watch(host: &Host, project: &std::path::Path) -> Result<()> {
    use host_core::watch::WatchEvent;
    let _watch = host.watch(project, |event| match event {
        WatchEvent::Deployed { service, component, file } => {
            eprintln!("{}: {component} is live as service `{service}`", file.display())
        }
        WatchEvent::Rejected { file, error } => {
            eprintln!("{}: refused, the previous version keeps serving: {error}", file.display())
        }
    })?;
    // Health readings and metrics reach the data folder while it runs.
    let _monitor = host.monitor(std::time::Duration::from_secs(10))?;
    eprintln!("watching {} (Ctrl-C to stop)", project.display());
    loop {
        std::thread::park();
    }
}

pub fn grant(target: &Target, service: &str, capability: host_core::Capability) -> Result<()> {
    with_events(target, |runtime| runtime.grant(service, &capability))
}

pub fn revoke(target: &Target, service: &str, capability: &host_core::Capability) -> Result<()> {
    with_events(target, |runtime| runtime.revoke(service, capability))
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; fails naming the file and the first bad line.
    Verify,
    /// Move a torn last line of audit.jsonl and rollouts.jsonl (what a crash
    /// during an append leaves) aside to a dated file in the data folder, and
    /// record the repair; an edited audit log is refused, not repaired.
    Repair,
}

/// `--since`: Unix seconds, or an age such as 30s, 15m, 2h, 7d.
pub fn parse_since(text: &str) -> Result<u64, String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is neither Unix seconds nor an age like 15m"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{text}`: the age unit is s, m, h or d")),
    };
    Ok(now.saturating_sub(seconds))
}

pub fn audit(
    target: &Target,
    command: Option<AuditCommand>,
    service: Option<&str>,
    since: Option<u64>,
    json: bool,
) -> Result<()> {
    match command {
        Some(AuditCommand::Verify) => return verify_audit(target),
        Some(AuditCommand::Repair) => {
            let repair = target.runtime().repair_audit()?;
            for (file, moved) in [("audit.jsonl", &repair.audit), ("rollouts.jsonl", &repair.rollouts)] {
                match moved {
                    Some(m) => println!(
                        "{}: moved the torn tail (line {} on, {} bytes) aside to {}; the repair is recorded",
                        m.file, m.line, m.bytes, m.moved_to
                    ),
                    None => println!("{file}: nothing torn"),
                }
            }
            return verify_audit(target);
        }
        None => {}
    }
    let records = target.runtime().audit(service, since.map(|t| t * 1000))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(());
    }
    for r in records {
        println!(
            "{:>5}  {}  {:<16} {:<12} {}",
            r.body.seq,
            r.body.time_ms,
            r.body.event,
            r.body.service.as_deref().unwrap_or("-"),
            r.body.detail
        );
    }
    Ok(())
}

fn verify_audit(target: &Target) -> Result<()> {
    let check = target.runtime().verify_audit()?;
    match check.broken {
        None => {
            println!("audit log intact: {} records", check.records);
            Ok(())
        }
        Some(broken) => bail!("{broken}"),
    }
}

fn read_signature(path: &std::path::Path) -> Result<host_core::security::signing::ComponentSignature> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a signature file from `airssys sign`", path.display()))
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust a public key (from `airssys keygen`, the `.pub` file).
    Add {
        /// The public key file.
        key: std::path::PathBuf,
    },
    /// Require (on) or stop requiring (off) signatures from trusted keys for deploys.
    Require {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        setting: String,
    },
    /// Show the signature policy.
    List,
}

pub fn trust(target: &Target, command: TrustCommand) -> Result<()> {
    let host = target.runtime();
    let mut policy = host.trust_policy()?;
    match command {
        TrustCommand::Add { key } => {
            let public = host_core::security::signing::read_public_key(&key)?;
            if !policy.trusted_keys.contains(&public) {
                policy.trusted_keys.push(public.clone());
            }
            host.set_trust_policy(&policy)?;
            println!("trusted {public}");
        }
        TrustCommand::Require { setting } => {
            policy.require_signatures = setting == "on";
            host.set_trust_policy(&policy)?;
            println!("signatures {}", if policy.require_signatures { "required" } else { "not required" });
        }
        TrustCommand::List => {
            println!("signatures required: {}", if policy.require_signatures { "yes" } else { "no" });
            for key in &policy.trusted_keys {
                println!("trusted key: {key}");
            }
        }
    }
    Ok(())
}
