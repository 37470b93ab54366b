//! `airssys diff`: two project files, a project against what its target
//! runs (`--deployed`), or two rollouts of a service (`--rollouts`). Like
//! diff(1), the exit status is 0 when nothing differs, 1 when something
//! does, 2 on error.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use host_core::{diff, project::Project};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Two projects (folders or project.ron files); one with --deployed;
    /// with --rollouts, none or two rollout ids (default: the service's last two).
    #[arg(value_name = "PROJECT|ID")]
    items: Vec<String>,
    /// Compare the project with the services its target runs (the project's
    /// .airssys folder, --data-dir or --remote): what a deploy would change.
    #[arg(long, conflicts_with = "rollouts")]
    deployed: bool,
    /// Compare two rollouts of SERVICE (from, to, strategy, trigger, outcome).
    #[arg(long, value_name = "SERVICE")]
    rollouts: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints the difference; `Ok(true)` when there is none.
pub fn run(global: &crate::global::GlobalArgs, args: &DiffArgs) -> Result<bool> {
    if let Some(service) = &args.rollouts {
        return rollouts(global, service, args);
    }
    let diff = match (args.deployed, args.items.as_slice()) {
        (false, [a, b]) => {
            let (a, b) = (Project::open(&PathBuf::from(a))?, Project::open(&PathBuf::from(b))?);
            diff::files(&a.file, &b.file)
        }
        (true, [path]) => {
            let project = Project::open(&PathBuf::from(path))?;
            let target = crate::project::project_target(global, &project)?;
            let live = target.runtime().status(None);
            target.close();
            let live: Vec<_> = live?.into_iter().map(|s| s.spec).collect();
            diff::against_live(&live, &project.file, &diff::resolve_in(&project.dir))
        }
        (false, _) => bail!(
            "`airssys diff` compares two projects: airssys diff A/project.ron B/project.ron (or one with --deployed, or --rollouts SERVICE)"
        ),
        (true, _) => bail!("`airssys diff --deployed` takes one project: airssys diff PROJECT --deployed"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        print!("{}", diff.to_text());
    }
    Ok(diff.is_empty())
}

/// The JSON of `--rollouts`.
#[derive(serde::Serialize)]
struct RolloutDiff<'a> {
    service: &'a str,
    before: &'a str,
    after: &'a str,
    fields: Vec<diff::FieldChange>,
}

fn rollouts(global: &crate::global::GlobalArgs, service: &str, args: &DiffArgs) -> Result<bool> {
    let target = crate::global::target(global)?;
    let records = target.runtime().rollouts(Some(service));
    target.close();
    let records = records?;
    let (a, b) = match args.items.as_slice() {
        [] => match records.as_slice() {
            [.., a, b] => (a, b),
            _ => bail!(
                "service `{service}` has {} rollout(s); a diff needs two (see `airssys status {service}`)",
                records.len()
            ),
        },
        [a, b] => {
            let find = |id: &str| {
                records.iter().find(|r| r.id == id).with_context(|| {
                    format!("service `{service}` has no rollout `{id}` (its rollouts are listed by `airssys status {service}`)")
                })
            };
            (find(a)?, find(b)?)
        }
        _ => bail!("--rollouts takes none or two rollout ids: airssys diff --rollouts SERVICE [ID1 ID2]"),
    };
    let fields = diff::rollouts(a, b);
    let same = fields.is_empty();
    if args.json {
        let body = RolloutDiff { service, before: &a.id, after: &b.id, fields };
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(same);
    }
    if !fields.is_empty() {
        println!("~ rollouts {} -> {} of {service}", a.id, b.id);
        for field in &fields {
            println!("    {field}");
        }
    }
    Ok(same)
}
