//! `--fleet URL` on the verbs that take `--remote`, `airssys fleet status`,
//! and the node side of `airssys serve --fleet URL --node NAME`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use host_core::{
    Host,
    fleet::{FleetConfig, FleetNode, FleetRuntime, NodeConfig},
};

/// Where the fleet is: shared by every verb.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// Act on a fleet of `airssys serve --fleet` nodes through this NATS
    /// server (JetStream), e.g. nats://127.0.0.1:4222. Credentials go in
    /// --fleet-creds, never in the URL.
    #[arg(long, global = true, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub fleet: Option<String>,
    /// The fleet's name (fleets on one NATS server do not see each other).
    #[arg(long, global = true, value_name = "NAME", default_value = "default")]
    pub fleet_name: String,
    /// A file with the NATS credentials: a .creds file, an nkey seed,
    /// `user:password` or a token (not readable by others). Also $AIRSSYS_FLEET_CREDS.
    #[arg(long, global = true, value_name = "FILE", env = "AIRSSYS_FLEET_CREDS")]
    pub fleet_creds: Option<PathBuf>,
    /// How long connecting to NATS may take, ms.
    #[arg(long, global = true, value_name = "MS", default_value_t = 5000)]
    pub fleet_connect_timeout_ms: u64,
}

impl FleetArgs {
    /// The fleet's settings, when `--fleet URL` was given.
    pub fn config(&self) -> Result<Option<FleetConfig>> {
        let Some(url) = &self.fleet else { return Ok(None) };
        if url.is_empty() {
            bail!("--fleet needs the NATS URL of the fleet, e.g. --fleet nats://127.0.0.1:4222");
        }
        let mut config = FleetConfig::new(url.clone()).named(self.fleet_name.clone());
        config.credentials = self.fleet_creds.clone();
        config.connect_timeout = std::time::Duration::from_millis(self.fleet_connect_timeout_ms);
        config.validate()?;
        Ok(Some(config))
    }
}

/// Connects a client to the fleet.
pub fn connect(config: FleetConfig) -> Result<FleetRuntime> {
    Ok(FleetRuntime::connect(config)?)
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// The fleet's nodes (those that reported in the last 10 s), what each
    /// runs, and why a node is behind the desired state.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &FleetArgs, command: FleetCommand) -> Result<()> {
    let Some(config) = args.config()? else {
        bail!("`airssys fleet` needs --fleet nats://HOST:PORT");
    };
    let fleet = connect(config)?;
    match command {
        FleetCommand::Status { json } => {
            let status = fleet.fleet_status()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", status.table());
            }
            Ok(())
        }
    }
}

/// Joins the fleet as node `node` (the hostname when not given), serving
/// `api` (the HTTP URL).
pub fn join(host: Host, config: FleetConfig, node: Option<String>, api: String) -> Result<FleetNode> {
    let node = match node {
        Some(node) => node,
        None => hostname().context("no --node NAME given and no hostname to use instead")?,
    };
    Ok(FleetNode::start(host, NodeConfig { fleet: config, node, api: Some(api) })?)
}

fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/etc/hostname").ok()?;
    let name: String = name.trim().to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (!name.is_empty()).then_some(name)
}
