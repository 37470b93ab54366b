//! `airssys push NAME@VERSION oci://REGISTRY/REPO:TAG` and `airssys pull
//! oci://REGISTRY/REPO:TAG [--as NAME@VERSION]`: components to and from OCI
//! registries (host-core's `oci` module does the work; this reads the
//! flags and prints).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use host_core::{
    oci::{Naming, OciOptions, OciReference, Origin, Origins},
    registry::ComponentRef,
};

use crate::global::{GlobalArgs, Target};

/// How to speak to the registry (shared by push and pull).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// A file holding the registry's token (sent as a bearer token) or
    /// `user:password` (HTTP Basic); not readable by others. Without it the
    /// Docker config's entry for the registry is used
    /// ($DOCKER_CONFIG/config.json or ~/.docker/config.json), else none.
    #[arg(long, value_name = "FILE")]
    registry_token_file: Option<PathBuf>,
    /// Speak plain HTTP to a registry that is not on a loopback address
    /// (a loopback registry always gets plain HTTP; any other HTTPS).
    #[arg(long)]
    insecure: bool,
}

impl RegistryArgs {
    fn options(&self, reference: &OciReference) -> Result<OciOptions> {
        Ok(OciOptions::for_reference(reference, self.registry_token_file.as_deref(), self.insecure)?)
    }
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The stored version to push, NAME@VERSION.
    component: ComponentRef,
    /// Where: oci://REGISTRY/REPOSITORY:TAG.
    target: String,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// oci://REGISTRY/REPOSITORY:TAG, or @sha256:DIGEST to pin the bytes.
    source: String,
    /// Store it as this NAME@VERSION (default: the artifact's title and
    /// version annotations, else the repository's last segment and the tag).
    #[arg(long = "as", value_name = "NAME@VERSION")]
    name_as: Option<ComponentRef>,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn push(target: &Target, args: PushArgs) -> Result<()> {
    let host = target.host("push")?;
    let reference = OciReference::parse(&args.target)?;
    let options = args.registry.options(&reference)?;
    let report = host_core::oci::push(host, &args.component, &reference, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("pushed {} to {}", args.component, report.reference);
    println!("  manifest   {}", report.manifest_digest);
    println!("  layer      {}", report.layer_digest);
    match &report.signature_tag {
        Some(tag) => println!("  signature  tag {tag}"),
        None => println!("  signature  none (sign it with `airssys sign` and `registry add --sig` to push one)"),
    }
    println!("  pin it as  {}", reference.with_digest(&report.manifest_digest));
    Ok(())
}

pub fn pull(global: &GlobalArgs, target: &Target, args: PullArgs) -> Result<()> {
    let source = OciReference::parse(&args.source)?;
    let options = args.registry.options(&source)?;
    let origins = origins(global, target)?;
    let naming = args.name_as.as_ref().map_or(Naming::FromArtifact, Naming::Given);
    let report = host_core::oci::pull(target.runtime(), &source, naming, &origins, &options)?;
    if let Some(old) = &report.moved_from {
        eprintln!(
            "note: {source} moved since the last pull: it was {old}, it is {} now",
            report.origin.manifest_digest
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if report.downloaded {
        println!("pulled {source} as {}", report.component);
    } else {
        println!("{source} is already stored as {} (same manifest; nothing downloaded)", report.component);
    }
    print_origin(&report.origin);
    Ok(())
}

fn print_origin(origin: &Origin) {
    println!("  manifest   {}", origin.manifest_digest);
    println!("  layer      {}", origin.layer_digest);
    println!("  signature  {}", if origin.signed { "pulled and stored" } else { "none" });
}

/// The origins file: in the data folder (also for a remote or fleet
/// target: where this machine keeps what it pulled).
fn origins(global: &GlobalArgs, target: &Target) -> Result<Origins> {
    let dir = match target {
        Target::Local(host) => host.config().data_dir.clone(),
        _ => global.data_dir.clone().or_else(host_core::default_data_dir),
    };
    match dir {
        Some(dir) => Ok(Origins::in_dir(&dir)),
        None => bail!("no data folder to record where pulled components came from: pass --data-dir DIR"),
    }
}

/// Where `reference` came from, when it was pulled into this data folder.
pub fn origin_of(target: &Target, reference: &ComponentRef) -> Option<Origin> {
    let Target::Local(host) = target else { return None };
    let dir = host.config().data_dir.clone()?;
    Origins::in_dir(&dir).origin(&reference.to_string()).ok().flatten()
}

/// `registry show`'s origin lines.
pub fn print_origin_of(target: &Target, reference: &ComponentRef) {
    if let Some(origin) = origin_of(target, reference) {
        println!("  origin    {}", origin.reference);
        println!("  manifest  {}", origin.manifest_digest);
        println!("  layer     {}", origin.layer_digest);
    }
}
