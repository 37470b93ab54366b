//! Differences: two project files field by field, a project against the
//! services a host runs after a real deploy, two rollout records.

use host_core::{
    deploy::{DeployRequest, Strategy},
    diff::{self, ChangeKind, FieldChange},
    project::{self, Project},
};

use crate::common::*;

fn field(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
    FieldChange { field: field.to_string(), before: before.map(str::to_string), after: after.map(str::to_string) }
}

const A: &str = r#"(schema: 1, name: "p",
    services: {
        "up": (component: "up@1.0.0", config: {"mode": "loud", "gone": "x"}, grants: ["env:HOME"], pool: 2,
               limits: (timeout_ms: 1000), args: ["-a"]),
        "old": (component: "old@1.0.0"),
    },
    pipelines: {
        "main": (nodes: {"u": (service: "up"), "o": (service: "old")}, wires: [(from: "u", to: "o")]),
        "gone": (nodes: {"u": (service: "up")}),
    },
)"#;

const B: &str = r#"(schema: 1, name: "p",
    services: {
        "up": (component: "up@1.1.0", config: {"mode": "quiet", "new": "y"}, grants: ["env:HOME", "env:USER"], pool: 0,
               limits: (timeout_ms: 2000), args: ["-b"]),
        "fresh": (component: "components/fresh.wasm"),
    },
    pipelines: {
        "main": (nodes: {"u": (service: "up", on_error: drop), "f": (service: "fresh")}, wires: [(from: "u", to: "f")]),
        "added": (nodes: {"u": (service: "up")}),
    },
)"#;

#[test]
fn two_project_files_differ_in_every_kind_of_field() {
    let (a, b) = (project::parse(A).unwrap(), project::parse(B).unwrap());
    let d = diff::files(&a, &b);
    assert!(d.project.is_empty(), "{:?}", d.project);
    let names: Vec<(ChangeKind, &str)> = d.services.iter().map(|c| (c.kind, c.name.as_str())).collect();
    assert_eq!(names, [(ChangeKind::Added, "fresh"), (ChangeKind::Removed, "old"), (ChangeKind::Changed, "up")]);
    assert_eq!(
        d.services[2].fields,
        [
            field("component", Some("up@1.0.0"), Some("up@1.1.0")),
            field("config.gone", Some("x"), None),
            field("config.mode", Some("loud"), Some("quiet")),
            field("config.new", None, Some("y")),
            field("grants", Some("env:HOME"), Some("env:HOME, env:USER")),
            field("pool", Some("2"), Some("0")),
            field("limits.timeout_ms", Some("1000"), Some("2000")),
            field("args", Some("[\"-a\"]"), Some("[\"-b\"]")),
        ]
    );
    // An added service shows what it has.
    assert!(d.services[0].fields.contains(&field("component", None, Some("components/fresh.wasm"))));
    let pipelines: Vec<(ChangeKind, &str)> = d.pipelines.iter().map(|p| (p.kind, p.name.as_str())).collect();
    assert_eq!(pipelines, [(ChangeKind::Added, "added"), (ChangeKind::Removed, "gone"), (ChangeKind::Changed, "main")]);
    let main = &d.pipelines[2];
    let nodes: Vec<(ChangeKind, &str)> = main.nodes.iter().map(|c| (c.kind, c.name.as_str())).collect();
    assert_eq!(nodes, [(ChangeKind::Added, "f"), (ChangeKind::Removed, "o"), (ChangeKind::Changed, "u")]);
    assert_eq!(main.nodes[2].fields, [field("on_error", Some("fail"), Some("drop"))]);
    let wires: Vec<(ChangeKind, &str)> = main.wires.iter().map(|c| (c.kind, c.name.as_str())).collect();
    assert_eq!(wires, [(ChangeKind::Added, "u.out -> f"), (ChangeKind::Removed, "u.out -> o")]);
    let text = d.to_text();
    assert!(
        text.contains("~ service up\n    component: up@1.0.0 -> up@1.1.0\n    config.gone: x -> (none)\n"),
        "{text}"
    );
    assert!(text.contains("    - wire u.out -> o\n"), "{text}");
    // The same file twice: nothing.
    assert!(diff::files(&a, &a).is_empty());
}

fn text_tools() -> std::path::PathBuf {
    sample_path("text-tools", "x").parent().unwrap().parent().unwrap().to_path_buf()
}

#[test]
fn a_project_against_its_host_shows_what_a_deploy_would_change() {
    let mut project = Project::open(&text_tools()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let host = data_host(data.path());
    let live = |host: &host_core::Host| -> Vec<_> { host.status(None).unwrap().into_iter().map(|s| s.spec).collect() };
    // Nothing deployed: every service is new.
    let before = diff::against_live(&live(&host), &project.file, &diff::resolve_in(&project.dir));
    assert_eq!(before.services.len(), project.file.services.len());
    assert!(before.services.iter().all(|c| c.kind == ChangeKind::Added), "{before:?}");
    // Deployed through the host: nothing left to change, components
    // resolved to the versions the deploy stored.
    project.apply(&host).unwrap();
    let after = diff::against_live(&live(&host), &project.file, &diff::resolve_in(&project.dir));
    assert!(after.is_empty(), "{}", after.to_text());
    // A config edit and a grant: that service only, live value before.
    let entry = project.file.services.get_mut("pretty").unwrap();
    entry.config.insert("indent".into(), "8".into());
    entry.grants.push("env:HOME".into());
    let edited = diff::against_live(&live(&host), &project.file, &diff::resolve_in(&project.dir));
    assert_eq!(edited.services.len(), 1, "{}", edited.to_text());
    assert_eq!(edited.services[0].name, "pretty");
    assert_eq!(
        edited.services[0].fields,
        [field("config.indent", Some("2"), Some("8")), field("grants", None, Some("env:HOME"))]
    );
    // A service live on the host but not in the project is shown as removed,
    // and is not among what a deploy rolls out.
    add_sample(&host, "extra@1.0.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("extra", r("extra@1.0.0"))).unwrap();
    let extra = diff::against_live(&live(&host), &project.file, &diff::resolve_in(&project.dir));
    assert!(extra.services.iter().any(|c| c.kind == ChangeKind::Removed && c.name == "extra"));
    assert_eq!(extra.deploys().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["pretty"]);
}

#[test]
fn two_rollouts_of_a_service_differ_in_versions_and_strategy() {
    let data = tempfile::tempdir().unwrap();
    let host = data_host(data.path());
    add_sample(&host, "up@1.0.0", "text-tools", "upper");
    add_sample(&host, "up@1.1.0", "text-tools", "upper");
    host.deploy(DeployRequest::new("up", r("up@1.0.0"))).unwrap();
    let mut second = DeployRequest::new("up", r("up@1.1.0"));
    second.strategy = Some(Strategy::BlueGreen { keep_old_ms: 0 });
    host.deploy(second).unwrap();
    let records = host.rollouts(Some("up")).unwrap();
    let fields = diff::rollouts(&records[0], &records[1]);
    assert_eq!(
        fields,
        [
            field("from", None, Some("up@1.0.0")),
            field("to", Some("up@1.0.0"), Some("up@1.1.0")),
            field("strategy", Some("immediate"), Some("blue-green")),
        ]
    );
    assert!(diff::rollouts(&records[1], &records[1]).is_empty());
}
