//! The project file: parse errors with line and column, strict fields,
//! apply + run over the sample projects.

use host_core::{Error, Input, pipeline::RunOptions, project::Project};

use crate::{common::*, deploy::data_host};

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
