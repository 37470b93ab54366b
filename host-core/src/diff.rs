//! Typed differences: between two project files, between a project and what
//! a target runs, and between two rollout records.
//!
//! Every difference is a list of [`ItemChange`]s (a service, a pipeline, a
//! node or a wire: added, removed or changed) whose [`FieldChange`]s give
//! the field (`component`, `config.KEY`, `grants`, `pool`,
//! `limits.timeout_ms`, `args`, `on_error`, ...) with its value before and
//! after, as text. `airssys diff` prints them; the studio lists what a
//! deploy will change.
//!
//! ```
//! use host_core::{diff, project};
//! let a = project::parse(r#"(schema: 1, name: "p", services: {"up": (component: "up@1.0.0")})"#).unwrap();
//! let b = project::parse(r#"(schema: 1, name: "p", services: {"up": (component: "up@1.1.0")})"#).unwrap();
//! let d = diff::files(&a, &b);
//! assert_eq!(d.services[0].fields[0].field, "component");
//! assert_eq!(d.services[0].fields[0].after.as_deref(), Some("up@1.1.0"));
//! ```

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    deploy::{PoolMode, ServiceLimits, ServiceSpec},
    pipeline::Node,
    project::{LOCAL_PRE, PipelineEntry, ProjectFile, ServiceEntry},
    types::{RolloutOutcome, RolloutRecord},
};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Only in the second (the project, against a target: new to the target).
    Added,
    /// Only in the first (against a target: live but not in the project;
    /// a deploy leaves it running).
    Removed,
    /// In both, with different fields.
    Changed,
}

impl ChangeKind {
    /// `+`, `-` or `~`, as `airssys diff` prints it.
    pub fn sign(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

/// One field's value before and after (`None`: not set on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field: `component`, `config.KEY`, `grants`, `pool`,
    /// `limits.timeout_ms`, `args`, `service`, `on_error`, `ports`,
    /// `position` (nodes), `from`, `to`, `strategy`, ... (rollouts).
    pub field: String,
    /// The value in the first.
    pub before: Option<String>,
    /// The value in the second.
    pub after: Option<String>,
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        write!(f, "{}: {} -> {}", self.field, show(&self.before), show(&self.after))
    }
}

/// An item added, removed or changed, with its fields (for an added or
/// removed item: the fields it has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The service's or pipeline's name, the node id, or the wire
    /// (`from.port -> to`).
    pub name: String,
    /// The fields that differ.
    pub fields: Vec<FieldChange>,
}

/// A pipeline's difference: the pipeline, and its nodes and wires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineChange {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The pipeline's name.
    pub name: String,
    /// Nodes added, removed or changed.
    pub nodes: Vec<ItemChange>,
    /// Wires added or removed (a wire is its ends, so it never "changes").
    pub wires: Vec<ItemChange>,
}

/// The difference between two projects (or a project and a target).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDiff {
    /// Top-level fields: `name`, `default_pipeline`, `tests` (project files only).
    pub project: Vec<FieldChange>,
    /// Services added, removed or changed, by name.
    pub services: Vec<ItemChange>,
    /// Pipelines added, removed or changed, by name (project files only).
    pub pipelines: Vec<PipelineChange>,
}

impl ProjectDiff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.project.is_empty() && self.services.is_empty() && self.pipelines.is_empty()
    }

    /// The services a deploy of the project would roll out (against a
    /// target: added or changed; live-only services are left alone).
    pub fn deploys(&self) -> impl Iterator<Item = &ItemChange> {
        self.services.iter().filter(|c| c.kind != ChangeKind::Removed)
    }

    /// The text `airssys diff` prints: one line per item (`+ service up`),
    /// its fields indented below.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for field in &self.project {
            out.push_str(&format!("~ project {field}\n"));
        }
        for item in &self.services {
            item_text(&mut out, "service", item, "");
        }
        for p in &self.pipelines {
            out.push_str(&format!("{} pipeline {}\n", p.kind.sign(), p.name));
            for node in &p.nodes {
                item_text(&mut out, "node", node, "    ");
            }
            for wire in &p.wires {
                item_text(&mut out, "wire", wire, "    ");
            }
        }
        out
    }
}

fn item_text(out: &mut String, what: &str, item: &ItemChange, indent: &str) {
    out.push_str(&format!("{indent}{} {what} {}\n", item.kind.sign(), item.name));
    for field in &item.fields {
        out.push_str(&format!("{indent}    {field}\n"));
    }
}

/// A service's fields as text, whatever side they come from.
#[derive(Debug, Clone, PartialEq)]
struct ServiceView {
    component: String,
    config: BTreeMap<String, String>,
    grants: Vec<String>,
    pool: usize,
    limits: Option<ServiceLimits>,
    args: Vec<String>,
}

impl ServiceView {
    fn of_entry(entry: &ServiceEntry, component: String) -> Self {
        ServiceView {
            component,
            config: entry.config.clone(),
            grants: entry.grants.clone(),
            pool: entry.pool,
            limits: entry.limits,
            args: entry.args.clone(),
        }
    }

    fn of_spec(spec: &ServiceSpec) -> Self {
        ServiceView {
            component: spec.component.to_string(),
            config: spec.config.clone(),
            grants: spec.grants.iter().map(ToString::to_string).collect(),
            pool: match spec.pool {
                PoolMode::Pooled { size } => size,
                PoolMode::PerCall => 0,
            },
            limits: Some(spec.limits),
            args: spec.args.clone(),
        }
    }

    /// Every field against `other`; `None` for a side that has none.
    fn fields(a: Option<&Self>, b: Option<&Self>) -> Vec<FieldChange> {
        let mut out = Vec::new();
        let component = |v: &Self| v.component.clone();
        push(&mut out, "component", a.map(component), b.map(component));
        let keys: std::collections::BTreeSet<&String> =
            a.iter().chain(b.iter()).flat_map(|v| v.config.keys()).collect();
        for key in keys {
            push(
                &mut out,
                &format!("config.{key}"),
                a.and_then(|v| v.config.get(key).cloned()),
                b.and_then(|v| v.config.get(key).cloned()),
            );
        }
        let grants = |v: &Self| {
            let mut g = v.grants.clone();
            g.sort();
            g.join(", ")
        };
        push(&mut out, "grants", a.map(grants).filter(|g| !g.is_empty()), b.map(grants).filter(|g| !g.is_empty()));
        push(&mut out, "pool", a.map(|v| v.pool.to_string()), b.map(|v| v.pool.to_string()));
        let limit = |v: Option<&Self>, pick: fn(&ServiceLimits) -> u64| {
            v.and_then(|v| v.limits.as_ref()).map(|l| pick(l).to_string())
        };
        push(&mut out, "limits.timeout_ms", limit(a, |l| l.timeout_ms), limit(b, |l| l.timeout_ms));
        push(&mut out, "limits.max_memory_mib", limit(a, |l| l.max_memory_mib), limit(b, |l| l.max_memory_mib));
        push(
            &mut out,
            "limits.max_table_elements",
            limit(a, |l| l.max_table_elements),
            limit(b, |l| l.max_table_elements),
        );
        let args = |v: &Self| (!v.args.is_empty()).then(|| format!("{:?}", v.args));
        push(&mut out, "args", a.and_then(args), b.and_then(args));
        out
    }
}

fn push(out: &mut Vec<FieldChange>, field: &str, before: Option<String>, after: Option<String>) {
    if before != after {
        out.push(FieldChange { field: field.to_string(), before, after });
    }
}

/// Items of two maps: added, removed, or changed (with `fields` non-empty).
fn items<T>(
    a: &BTreeMap<String, T>,
    b: &BTreeMap<String, T>,
    fields: impl Fn(Option<&T>, Option<&T>) -> Vec<FieldChange>,
) -> Vec<ItemChange> {
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (x, y) = (a.get(name), b.get(name));
            let kind = match (x, y) {
                (None, _) => ChangeKind::Added,
                (_, None) => ChangeKind::Removed,
                _ => ChangeKind::Changed,
            };
            let fields = fields(x, y);
            (kind != ChangeKind::Changed || !fields.is_empty()).then(|| ItemChange { kind, name: name.clone(), fields })
        })
        .collect()
}

fn node_fields(a: Option<&Node>, b: Option<&Node>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    push(&mut out, "service", a.map(|n| n.service.clone()), b.map(|n| n.service.clone()));
    let policy = |n: &Node| serde_json::to_string(&n.on_error).ok().map(|s| s.trim_matches('"').to_string());
    push(&mut out, "on_error", a.and_then(policy), b.and_then(policy));
    let ports = |n: &Node| (!n.ports.is_empty()).then(|| n.ports.join(", "));
    push(&mut out, "ports", a.and_then(ports), b.and_then(ports));
    let position = |n: &Node| n.position.map(|(x, y)| format!("({x}, {y})"));
    push(&mut out, "position", a.and_then(position), b.and_then(position));
    out
}

fn pipeline_change(name: &str, a: Option<&PipelineEntry>, b: Option<&PipelineEntry>) -> Option<PipelineChange> {
    let empty = BTreeMap::new();
    let nodes = items(a.map_or(&empty, |p| &p.nodes), b.map_or(&empty, |p| &p.nodes), node_fields);
    let wires_of = |p: Option<&PipelineEntry>| -> BTreeMap<String, ()> {
        p.map(|p| p.wires.iter().map(|w| (w.to_string(), ())).collect()).unwrap_or_default()
    };
    let wires = items(&wires_of(a), &wires_of(b), |_, _| Vec::new());
    let kind = match (a, b) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ if nodes.is_empty() && wires.is_empty() => return None,
        _ => ChangeKind::Changed,
    };
    Some(PipelineChange { kind, name: name.to_string(), nodes, wires })
}

/// The difference between two project files, field by field (components
/// compared as written).
pub fn files(a: &ProjectFile, b: &ProjectFile) -> ProjectDiff {
    let mut project = Vec::new();
    push(&mut project, "name", Some(a.name.clone()), Some(b.name.clone()));
    push(&mut project, "default_pipeline", a.default_pipeline.clone(), b.default_pipeline.clone());
    let tests = |f: &ProjectFile| {
        let names: Vec<&str> = f.tests.iter().map(|t| t.name.as_str()).collect();
        (!names.is_empty()).then(|| names.join(", "))
    };
    if a.tests != b.tests {
        project.push(FieldChange { field: "tests".to_string(), before: tests(a), after: tests(b) });
    }
    let view = |m: &BTreeMap<String, ServiceEntry>| -> BTreeMap<String, ServiceView> {
        m.iter().map(|(n, e)| (n.clone(), ServiceView::of_entry(e, e.component.clone()))).collect()
    };
    let services = items(&view(&a.services), &view(&b.services), ServiceView::fields);
    let names: std::collections::BTreeSet<&String> = a.pipelines.keys().chain(b.pipelines.keys()).collect();
    let pipelines =
        names.into_iter().filter_map(|n| pipeline_change(n, a.pipelines.get(n), b.pipelines.get(n))).collect();
    ProjectDiff { project, services, pipelines }
}

/// What deploying the project `b` would change on a target whose live
/// services are `live` ("before": live, "after": the project). `component`
/// gives the version a project entry deploys as (see [`resolve_in`]). A
/// project service with no `limits` keeps the target's, so its limits are
/// not compared; pipelines are not deployed, so only services are.
pub fn against_live(
    live: &[ServiceSpec],
    b: &ProjectFile,
    component: &dyn Fn(&str, &ServiceEntry) -> String,
) -> ProjectDiff {
    let mut before: BTreeMap<String, ServiceView> =
        live.iter().map(|s| (s.name.clone(), ServiceView::of_spec(s))).collect();
    let after: BTreeMap<String, ServiceView> =
        b.services.iter().map(|(n, e)| (n.clone(), ServiceView::of_entry(e, component(n, e)))).collect();
    for (name, view) in &after {
        if let (Some(live), None) = (before.get_mut(name), view.limits) {
            live.limits = None;
        }
    }
    ProjectDiff { services: items(&before, &after, ServiceView::fields), ..ProjectDiff::default() }
}

/// The version each project entry deploys as, for [`against_live`], with
/// the project in `dir`: a component file is `SERVICE@0.0.0-local.d<digest>`
/// (its bytes read and hashed; unreadable: the path as written);
/// `name@version` as is; an `oci://` reference as written (it is not
/// resolved without a pull).
pub fn resolve_in(dir: &Path) -> impl Fn(&str, &ServiceEntry) -> String + '_ {
    move |service, entry| {
        let component = &entry.component;
        if component.starts_with("oci://") || (!component.ends_with(".wasm") && component.contains('@')) {
            return component.clone();
        }
        match std::fs::read(dir.join(component)) {
            Ok(bytes) => format!("{service}@0.0.0-{LOCAL_PRE}{}", crate::Digest::of(&bytes).short()),
            Err(_) => component.clone(),
        }
    }
}

/// The difference between two rollout records (of one service, usually):
/// `from`, `to`, `strategy`, `trigger`, `outcome`, `steps`, `service`.
pub fn rollouts(a: &RolloutRecord, b: &RolloutRecord) -> Vec<FieldChange> {
    let mut out = Vec::new();
    push(&mut out, "service", Some(a.service.clone()), Some(b.service.clone()));
    push(&mut out, "from", a.from.as_ref().map(ToString::to_string), b.from.as_ref().map(ToString::to_string));
    push(&mut out, "to", Some(a.to.to_string()), Some(b.to.to_string()));
    let text = |v: serde_json::Result<String>| v.ok().map(|s| s.trim_matches('"').to_string());
    push(&mut out, "strategy", text(serde_json::to_string(&a.strategy)), text(serde_json::to_string(&b.strategy)));
    push(&mut out, "trigger", Some(a.trigger.name().to_string()), Some(b.trigger.name().to_string()));
    push(&mut out, "outcome", Some(outcome(&a.outcome)), Some(outcome(&b.outcome)));
    push(&mut out, "steps", Some(a.steps.len().to_string()), Some(b.steps.len().to_string()));
    out
}

fn outcome(outcome: &RolloutOutcome) -> String {
    match outcome {
        RolloutOutcome::Succeeded => "succeeded".to_string(),
        RolloutOutcome::RolledBack(why) => format!("rolled back: {why}"),
        RolloutOutcome::Failed(why) => format!("failed: {why}"),
    }
}
