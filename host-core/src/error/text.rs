//! The wording pieces of error messages: sizes in MiB, a guest's stderr
//! tail, the list of missing capabilities, a rollout's outcome. Knows the
//! vocabulary types only.

use std::path::Path;

use crate::types::{Capability, RolloutOutcome};

/// Bytes as MiB, with one decimal when not a whole number.
pub(super) fn mib(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if bytes.is_multiple_of(1024 * 1024) { format!("{} MiB", bytes >> 20) } else { format!("{mib:.1} MiB") }
}

/// A deploy refused for capabilities: each on its line, then what to do.
pub(super) fn missing(service: &str, component: &str, missing: &[Capability]) -> String {
    let list: Vec<String> = missing.iter().map(|c| format!("  {c}")).collect();
    format!(
        "deploy of {component} to `{service}` refused: it needs capabilities that are not granted:\n{}\n\
         Grant them to `{service}`: in the deploy's grants, or one by one to the service",
        list.join("\n"),
    )
}

pub(super) fn outcome(outcome: &RolloutOutcome) -> String {
    match outcome {
        RolloutOutcome::Succeeded => "succeeded".into(),
        RolloutOutcome::RolledBack(reason) => format!("rolled back: {reason}"),
        RolloutOutcome::Failed(reason) => format!("failed: {reason}"),
    }
}

/// The last 1000 characters of a guest's stderr, introduced; empty if none.
pub(super) fn stderr_tail(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let start = text.char_indices().rev().nth(999).map(|(i, _)| i).unwrap_or(0);
    format!("\nthe guest's stderr ended with:\n{}", &text[start..])
}

pub(super) fn stderr_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() { String::new() } else { format!(": {}", stderr.trim()) }
}

/// Items one per line (indented by the caller's format).
pub(super) fn lines<T: ToString>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
}

/// The last component of `path`, e.g. `audit.jsonl`.
pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
