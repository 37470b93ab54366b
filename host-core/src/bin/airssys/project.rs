//! `airssys run` and `airssys test`: a project's pipelines, headless, on
//! the runtime `global` picks (remote, data folder, or the project's own).

use std::{path::Path, time::Instant};

use anyhow::{Context, Result, bail};
use host_core::{
    Host, Input,
    pipeline::RunOptions,
    project::{Expect, Project},
};

/// The `--remote` runtime, else a host on `--data-dir`, else on the
/// project's own `.airssys/` folder.
/// The project's own data folder (`.airssys`) unless --data-dir, --remote
/// or --fleet names another target.
pub fn project_target(global: &crate::global::GlobalArgs, project: &Project) -> Result<crate::global::Target> {
    if global.remote.is_some() || global.fleet.fleet.is_some() {
        return crate::global::target(global);
    }
    let mut config = crate::global::host_config(global);
    config.data_dir = Some(global.data_dir.clone().unwrap_or_else(|| project.data_dir()));
    Ok(crate::global::Target::Local(Host::new(config)?))
}

/// Where `airssys trace --project PATH` reads: as [`run`] would run.
pub fn target_of(global: &crate::global::GlobalArgs, path: &Path) -> Result<crate::global::Target> {
    project_target(global, &Project::open(path)?)
}

fn pick_pipeline<'a>(project: &'a Project, name: Option<&'a str>) -> Result<&'a str> {
    match name.or(project.default_pipeline()) {
        Some(name) => Ok(name),
        None => bail!(
            "the project has {} pipelines and no default_pipeline; choose one with --pipeline ({})",
            project.file.pipelines.len(),
            project.file.pipelines.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

pub fn run(
    global: &crate::global::GlobalArgs,
    path: &Path,
    pipeline: Option<&str>,
    input: Vec<u8>,
    json: bool,
) -> Result<()> {
    let project = Project::open(path)?;
    let target = project_target(global, &project)?;
    let runtime = target.runtime();
    project.apply(runtime)?;
    let name = pick_pipeline(&project, pipeline)?;
    let options = RunOptions { trace: json, ..RunOptions::default() };
    let outcome = runtime.run_pipeline(&project.pipeline(name)?, Input::new(input), &options);
    target.close();
    let outcome = outcome?;
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
        return Ok(());
    }
    // One result per line: a newline after each that does not end in one.
    for result in &outcome.results {
        crate::out::bytes(&result.data).context("cannot write the output")?;
        if !result.data.ends_with(b"\n") {
            crate::out::bytes(b"\n").context("cannot write the output")?;
        }
    }
    Ok(())
}

struct CaseOutcome {
    name: String,
    failure: Option<String>,
    seconds: f64,
}

pub fn test(global: &crate::global::GlobalArgs, path: &Path, junit: Option<&Path>) -> Result<()> {
    let project = Project::open(path)?;
    let target = project_target(global, &project)?;
    let runtime = target.runtime();
    project.apply(runtime)?;
    let mut outcomes = Vec::new();
    for case in &project.file.tests {
        let started = Instant::now();
        let result = project.pipeline(&case.pipeline).and_then(|p| {
            runtime.run_pipeline(&p, Input::new(case.input.clone().into_bytes()), &RunOptions::default())
        });
        let failure = match (&case.expect, result) {
            (Expect::Results(expected), Ok(run)) => {
                let got: Vec<String> =
                    run.results.iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect();
                (got != *expected).then(|| format!("expected results {expected:?}, got {got:?}"))
            }
            (Expect::Results(_), Err(e)) => Some(format!("expected results, got an error: {e}")),
            (Expect::Error(text), Err(e)) => {
                let message = e.to_string();
                (!message.contains(text.as_str()))
                    .then(|| format!("expected an error containing {text:?}, got: {message}"))
            }
            (Expect::Error(text), Ok(run)) => {
                Some(format!("expected an error containing {text:?}, got {} results", run.results.len()))
            }
        };
        match &failure {
            None => println!("ok      {}", case.name),
            Some(reason) => println!("FAILED  {}: {reason}", case.name),
        }
        outcomes.push(CaseOutcome { name: case.name.clone(), failure, seconds: started.elapsed().as_secs_f64() });
    }
    target.close();
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let passed = outcomes.len() - failed;
    if let Some(path) = junit {
        std::fs::write(path, junit_xml(&project.file.name, &outcomes))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn junit_xml(project: &str, outcomes: &[CaseOutcome]) -> String {
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
        escape(project),
        outcomes.len()
    );
    for o in outcomes {
        xml.push_str(&format!("  <testcase name=\"{}\" time=\"{:.3}\"", escape(&o.name), o.seconds));
        match &o.failure {
            None => xml.push_str("/>\n"),
            Some(reason) => xml.push_str(&format!(">\n    <failure message=\"{}\"/>\n  </testcase>\n", escape(reason))),
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}
