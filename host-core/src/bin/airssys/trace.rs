//! `airssys trace`: the message traces of the last pipeline runs (every
//! process on the data folder, a server, or a fleet), one block per run
//! with its node calls, or JSON.

use anyhow::Result;
use host_core::pipeline::{MessageSummary, RunTrace};

use crate::global::Target;

pub fn show(target: &Target, pipeline: Option<&str>, last: usize, json: bool) -> Result<()> {
    let traces = target.runtime().traces(pipeline, last)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&traces)?);
        return Ok(());
    }
    if traces.is_empty() {
        match pipeline {
            Some(p) => {
                println!("no traced runs of pipeline `{p}` yet: run it with `airssys run PROJECT --pipeline {p}`")
            }
            None => println!("no traced runs yet: run a pipeline with `airssys run PROJECT`"),
        }
    }
    for (k, trace) in traces.iter().enumerate() {
        if k > 0 {
            println!();
        }
        print_run(trace);
    }
    Ok(())
}

fn print_run(trace: &RunTrace) {
    let outcome = match &trace.error {
        None => format!("ok, {} result(s), {} dropped", trace.results, trace.dropped),
        Some(e) => format!("FAILED: {e}"),
    };
    println!("trace {}  pipeline {}", trace.trace_id, trace.pipeline);
    println!("  started  {}   took {} µs   {outcome}", trace.started_at(), trace.duration_us);
    for step in &trace.steps {
        let port = step.port.as_deref().map(|p| format!(" -> {p}")).unwrap_or_default();
        println!("  +{:>8} µs  {} ({}){port}  {} µs", step.start_us, step.node, step.service, step.duration_us);
        println!("      in   {}", summary(&step.input));
        if let Some(output) = &step.output {
            println!("      out  {}", summary(output));
        }
        if let Some(error) = &step.error {
            println!("      error {error}");
        }
    }
}

/// `12 B text/plain "first bytes…"`, newlines shown as `\n`.
fn summary(message: &MessageSummary) -> String {
    let media = message.media_type.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    let mut preview: String = message.preview.chars().take(80).collect();
    if (preview.len() as u64) < message.size {
        preview.push('…');
    }
    let preview = preview.replace('\n', "\\n").replace('\r', "\\r");
    let metadata = if message.metadata.is_empty() {
        String::new()
    } else {
        let keys: Vec<&str> = message.metadata.iter().map(|(k, _)| k.as_str()).collect();
        format!("  metadata: {}", keys.join(", "))
    };
    format!("{} B{media} \"{preview}\"{metadata}", message.size)
}
