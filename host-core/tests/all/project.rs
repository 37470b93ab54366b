//! The project file: parse errors with line and column, strict fields, no
//! duplicate keys,
//! apply + run over the sample projects.

use host_core::{Error, Input, pipeline::RunOptions, project::Project};

use crate::common::*;

fn write_project(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("project.ron"), text).unwrap();
    dir
}

#[test]
fn a_malformed_file_is_refused_with_line_and_column() {
    let dir = write_project(
        "(\n    schema: 1,\n    name: \"x\",\n    services: {\n        \"a\": (component: ),\n    },\n)\n",
    );
    let err = Project::open(dir.path()).unwrap_err();
    let Error::ProjectFile { line, column, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*line, 5, "{err}");
    assert!(*column > 1, "{err}");
    assert!(err.to_string().contains("project.ron:5:"), "{err}");
}

#[test]
fn unknown_fields_are_errors_not_ignored() {
    let dir =
        write_project("(schema: 1, name: \"x\", services: {\"a\": (component: \"a.wasm\", grnats: [\"env:HOME\"])})");
    let err = Project::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("grnats"), "{err}");
    let dir = write_project("(schema: 2, name: \"x\")");
    assert!(Project::open(dir.path()).unwrap_err().to_string().contains("schema 2"));
}

/// Opens `text` as a project, which must be refused at `line` with a
/// message naming `map`, the duplicated `key` and the word "duplicate";
/// the file must be left as it was. Returns the message.
fn refused_as_duplicate(text: &str, map: &str, key: &str, line: usize) -> String {
    let dir = write_project(text);
    let err = Project::open(dir.path()).unwrap_err();
    let Error::ProjectFile { line: at, column, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*at, line, "{err}");
    assert!(*column > 1, "{err}");
    assert!(message.starts_with(&format!("in {map}: duplicate ")), "{err}");
    assert!(message.contains(&format!("`{key}`")), "{err}");
    assert!(err.to_string().contains(&format!("project.ron:{line}:{column}: ")), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("project.ron")).unwrap(), text, "the file is unchanged");
    err.to_string()
}

#[test]
fn duplicate_service_names_are_refused_with_their_position() {
    let text = "(\n    schema: 1,\n    name: \"x\",\n    services: {\n        \"upper\": (component: \"a.wasm\"),\n        \"upper\": (component: \"b.wasm\", config: {\"entry\": \"second\"}),\n    },\n)\n";
    let message = refused_as_duplicate(text, "services", "upper", 6);
    assert!(message.contains("duplicate key `upper`"), "{message}");
}

#[test]
fn duplicate_pipeline_names_are_refused_with_their_position() {
    let text = "(\n    schema: 1,\n    name: \"x\",\n    pipelines: {\n        \"p\": (nodes: {\"a\": (service: \"s\")}),\n        \"q\": (nodes: {}),\n        \"p\": (nodes: {\"b\": (service: \"s\")}),\n    },\n)\n";
    refused_as_duplicate(text, "pipelines", "p", 7);
}

#[test]
fn duplicate_node_ids_are_refused_with_their_position() {
    let text = "(\n    schema: 1,\n    name: \"x\",\n    pipelines: {\n        \"p\": (\n            nodes: {\n                \"n\": (service: \"a\"),\n                \"n\": (service: \"b\", on_error: drop),\n            },\n        ),\n    },\n)\n";
    refused_as_duplicate(text, "pipelines.p.nodes", "n", 8);
}

#[test]
fn duplicate_config_keys_are_refused_with_their_position() {
    let text = "(\n    schema: 1,\n    name: \"x\",\n    services: {\n        \"s\": (\n            component: \"a.wasm\",\n            config: {\"indent\": \"2\", \"mode\": \"x\",\n                     \"indent\": \"4\"},\n        ),\n    },\n)\n";
    refused_as_duplicate(text, "services.s.config", "indent", 8);
}

#[test]
fn duplicate_test_names_are_refused_with_their_position() {
    let text = "(\n    schema: 1,\n    name: \"x\",\n    tests: [\n        (name: \"echoes\", pipeline: \"p\", input: \"a\", expect: Results([\"a\"])),\n        (name: \"echoes\", pipeline: \"p\", input: \"b\", expect: Error(\"boom\")),\n    ],\n)\n";
    let message = refused_as_duplicate(text, "tests", "echoes", 6);
    assert!(message.contains("duplicate test name `echoes`"), "{message}");
}

#[test]
fn a_field_given_twice_is_refused_too() {
    let dir = write_project("(\n    schema: 1,\n    name: \"x\",\n    name: \"y\",\n)\n");
    let err = Project::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("duplicate field named `name`"), "{err}");
    assert!(err.to_string().contains("project.ron:4:"), "{err}");
}

#[test]
fn a_bad_grant_in_the_project_is_refused_on_apply() {
    let dir =
        write_project("(schema: 1, name: \"x\", services: {\"a\": (component: \"a.wasm\", grants: [\"disk:/\"])})");
    let project = Project::open(dir.path()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let err = project.apply(&data_host(data.path())).unwrap_err();
    assert!(err.to_string().contains("disk:/"), "{err}");
}

#[test]
fn sample_projects_apply_and_run() {
    for (name, pipeline, input) in [
        ("text-tools", "shout-and-count", &b"hello pipeline world"[..]),
        ("iot-sensors", "monitor", &b"t1,1700000000,55.5\n"[..]),
    ] {
        let project = Project::open(sample_path(name, "x").parent().unwrap().parent().unwrap()).unwrap();
        let data = tempfile::tempdir().unwrap();
        let host = data_host(data.path());
        project.apply(&host).unwrap();
        // A second apply changes nothing.
        let rollouts = host.rollouts(None).unwrap().len();
        project.apply(&host).unwrap();
        assert_eq!(host.rollouts(None).unwrap().len(), rollouts, "{name}: re-apply redeployed");
        let run = host
            .run_pipeline(&project.pipeline(pipeline).unwrap(), Input::new(input.to_vec()), &RunOptions::default())
            .unwrap();
        assert_eq!(run.results.len(), 2, "{name}: {:?}", run.results);
    }
}

#[test]
fn save_as_copies_the_project_and_its_components_and_never_overwrites() {
    let source = sample_path("text-tools", "x").parent().unwrap().parent().unwrap().to_path_buf();
    let mut project = Project::open(&source).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy");
    project.save_as(&copy).unwrap();
    assert_eq!(project.dir, copy);
    let reopened = Project::open(&copy).unwrap();
    assert_eq!(reopened.file, project.file);
    for entry in reopened.file.services.values() {
        assert!(copy.join(&entry.component).is_file(), "{} copied", entry.component);
    }
    assert!(!copy.join(".airssys").exists(), "runtime data stays behind");
    // The copy is a working project.
    let data = tempfile::tempdir().unwrap();
    reopened.apply(&data_host(data.path())).unwrap();
    // A folder holding a project is refused, and its file left as it was.
    let before = std::fs::read(copy.join("project.ron")).unwrap();
    let err = project.save_as(&copy).unwrap_err();
    assert!(err.to_string().contains("already holds a project"), "{err}");
    assert_eq!(std::fs::read(copy.join("project.ron")).unwrap(), before);
}

#[test]
fn apply_with_a_strategy_rolls_changed_services_out_with_it() {
    let source = sample_path("text-tools", "x").parent().unwrap().parent().unwrap().to_path_buf();
    let mut project = Project::open(&source).unwrap();
    let data = tempfile::tempdir().unwrap();
    let host = data_host(data.path());
    project.apply(&host).unwrap();
    let service = project.file.services.keys().next().unwrap().clone();
    project.file.services.get_mut(&service).unwrap().config.insert("note".into(), "changed".into());
    let strategy = host_core::deploy::Strategy::BlueGreen { keep_old_ms: 0 };
    project.apply_with(&host, Some(&strategy)).unwrap();
    let last = host.rollouts(Some(&service)).unwrap().pop().unwrap();
    assert_eq!(last.strategy, "blue-green");
    assert_eq!(host.status(Some(&service)).unwrap()[0].spec.config.get("note").map(String::as_str), Some("changed"));
}

#[test]
fn a_services_limits_come_from_project_ron_and_are_checked_strictly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("components")).unwrap();
    std::fs::copy(sample_path("text-tools", "upper"), dir.path().join("components/upper.wasm")).unwrap();
    let text = "(schema: 1, name: \"x\", services: {\"upper\": (component: \"components/upper.wasm\", \
                limits: (timeout_ms: 1500, max_table_elements: 20000))})";
    std::fs::write(dir.path().join("project.ron"), text).unwrap();
    let project = Project::open(dir.path()).unwrap();
    let host = data_host(&dir.path().join(".airssys"));
    project.apply(&host).unwrap();
    let limits = host.service_spec("upper").unwrap().limits;
    assert_eq!((limits.timeout_ms, limits.max_table_elements), (1500, 20_000));
    assert_eq!(limits.max_memory_mib, 128, "a field left out takes the default");
    // Saved back, the limits stay in the file.
    let saved = host_core::project::to_text(&project.file);
    assert!(saved.contains("timeout_ms: 1500"), "{saved}");

    let typo = "(schema: 1, name: \"x\", services: {\"upper\": (component: \"components/upper.wasm\", \
                limits: (timeout: 1500))})";
    std::fs::write(dir.path().join("project.ron"), typo).unwrap();
    let err = Project::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::ProjectFile { .. }) && err.to_string().contains("timeout"), "{err}");
}
