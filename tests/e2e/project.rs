//! `airssys run` and `airssys test` on the sample projects.

use crate::support::*;

#[test]
fn sample_projects_pass_their_own_tests() {
    let mut projects: Vec<std::path::PathBuf> = std::fs::read_dir(repo_root().join("sample-projects"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|dir| dir.join("project.ron").is_file())
        .collect();
    projects.sort();
    assert!(projects.len() >= 3, "three sample projects: {projects:?}");
    for dir in projects {
        let project = dir.file_name().unwrap().to_string_lossy().into_owned();
        let data = tempfile::tempdir().unwrap();
        let junit = data.path().join("junit.xml");
        let out = airssys(
            &[
                "test",
                dir.to_str().unwrap(),
                "--junit",
                junit.to_str().unwrap(),
                "--data-dir",
                data.path().to_str().unwrap(),
            ],
            b"",
            &data.path().join("cache"),
        );
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{project}: {stdout}{}", text(&out.stderr));
        let last = stdout.lines().last().unwrap_or_default();
        assert!(last.ends_with("passed, 0 failed"), "{last}");
        assert!(std::fs::read_to_string(&junit).unwrap().contains("<testsuite"));
    }
}

#[test]
fn a_failing_case_makes_test_exit_non_zero() {
    let data = tempfile::tempdir().unwrap();
    let project = data.path().join("p");
    std::fs::create_dir_all(project.join("components")).unwrap();
    std::fs::copy(
        repo_root().join("sample-projects/text-tools/components/upper.wasm"),
        project.join("components/upper.wasm"),
    )
    .unwrap();
    std::fs::write(
        project.join("project.ron"),
        r#"(schema: 1, name: "p",
            services: {"upper": (component: "components/upper.wasm")},
            pipelines: {"up": (nodes: {"u": (service: "upper")})},
            tests: [
                (name: "right", pipeline: "up", input: "a", expect: Results(["A"])),
                (name: "wrong", pipeline: "up", input: "a", expect: Results(["b"])),
            ])"#,
    )
    .unwrap();
    let out = airssys(&["test", project.to_str().unwrap()], b"", &data.path().join("cache"));
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAILED  wrong"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
    let run = airssys(&["run", project.to_str().unwrap(), "--input", "-"], b"hello", &data.path().join("cache"));
    assert_eq!(text(&run.stdout), "HELLO\n", "{}", text(&run.stderr));
}

#[test]
fn run_and_test_refuse_a_project_naming_a_key_twice() {
    let data = tempfile::tempdir().unwrap();
    let project = data.path().join("p");
    std::fs::create_dir_all(project.join("components")).unwrap();
    for name in ["upper", "word-count"] {
        std::fs::copy(
            repo_root().join(format!("sample-projects/text-tools/components/{name}.wasm")),
            project.join(format!("components/{name}.wasm")),
        )
        .unwrap();
    }
    let cases = [
        (
            "services: {\n    \"upper\": (component: \"components/upper.wasm\"),\n    \"upper\": (component: \"components/word-count.wasm\"),\n},\npipelines: {\"p\": (nodes: {\"n\": (service: \"upper\")})},\n",
            "in services: duplicate key `upper`",
            "project.ron:4:",
        ),
        (
            "services: {\"upper\": (component: \"components/upper.wasm\")},\npipelines: {\"p\": (nodes: {\n    \"n\": (service: \"upper\"),\n    \"n\": (service: \"upper\", on_error: drop),\n})},\n",
            "in pipelines.p.nodes: duplicate key `n`",
            "project.ron:5:",
        ),
    ];
    for (body, message, position) in cases {
        let file = format!(
            "(schema: 1, name: \"p\",\n{body}tests: [(name: \"t\", pipeline: \"p\", input: \"a\", expect: Results([\"A\"]))],\n)\n"
        );
        std::fs::write(project.join("project.ron"), &file).unwrap();
        for args in [vec!["run", "--input", "-"], vec!["test"]] {
            let mut args = args.clone();
            args.insert(1, project.to_str().unwrap());
            let out = airssys(&args, b"hello", &data.path().join("cache"));
            let stderr = text(&out.stderr);
            assert!(!out.status.success(), "{args:?} accepted the project: {}", text(&out.stdout));
            assert!(stderr.contains(message), "{args:?}: {stderr}");
            assert!(stderr.contains(position), "{args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{args:?}: nothing ran: {}", text(&out.stdout));
        }
        assert_eq!(std::fs::read_to_string(project.join("project.ron")).unwrap(), file, "the file is unchanged");
        assert!(!project.join(".airssys").exists(), "nothing was deployed");
    }
}

#[test]
fn metrics_show_what_earlier_processes_did() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let cache = data.path().join("cache");
    let dir = repo_root().join("sample-projects/text-tools");
    let run = airssys(&["run", dir.to_str().unwrap(), "--input", "-", "--data-dir", d], b"one two", &cache);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let bad = airssys(
        &["run", dir.to_str().unwrap(), "--pipeline", "tidy-json", "--input", "-", "--data-dir", d],
        b"{x",
        &cache,
    );
    assert!(bad.status.success(), "routed to the error port: {}", text(&bad.stderr));

    let table = airssys(&["metrics", "--data-dir", d], b"", &cache);
    let out = text(&table.stdout);
    assert!(table.status.success(), "{}", text(&table.stderr));
    assert!(out.starts_with("SERVICE"), "{out}");
    let upper = out.lines().find(|l| l.starts_with("upper ")).unwrap_or_else(|| panic!("{out}"));
    assert!(upper.contains("healthy"), "the deploy recorded a health reading: {upper}");
    assert!(out.contains("shout-and-count"), "pipeline nodes: {out}");

    let json = airssys(&["metrics", "--json", "--data-dir", d], b"", &cache);
    let snapshot: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let services = snapshot["services"].as_array().unwrap();
    let pretty = services.iter().find(|s| s["service"] == "pretty").unwrap();
    assert_eq!(pretty["versions"][0]["errors"], 1, "{pretty}");
    let tidy = snapshot["pipelines"].as_array().unwrap().iter().find(|n| n["node"] == "tidy").unwrap().clone();
    assert_eq!((tidy["messages_in"].as_u64(), tidy["errors"].as_u64()), (Some(1), Some(1)), "{tidy}");

    let prom = airssys(&["metrics", "--prometheus", "--data-dir", d], b"", &cache);
    let text_format = text(&prom.stdout);
    assert!(text_format.contains("# TYPE airssys_call_duration_seconds summary"), "{text_format}");
    assert!(
        text_format.contains(r#"airssys_pipeline_node_messages_in_total{pipeline="shout-and-count",node="upper"} 1"#),
        "{text_format}"
    );

    let empty = tempfile::tempdir().unwrap();
    let none = airssys(&["metrics", "--data-dir", empty.path().to_str().unwrap()], b"", &cache);
    assert!(none.status.success());
    assert!(text(&none.stdout).contains("no metrics yet"), "{}", text(&none.stdout));
}

#[test]
fn trace_shows_the_runs_of_earlier_processes() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let cache = data.path().join("cache");
    let dir = repo_root().join("sample-projects/text-tools");
    let run = airssys(&["run", dir.to_str().unwrap(), "--input", "-", "--data-dir", d], b"one two", &cache);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let routed = airssys(
        &["run", dir.to_str().unwrap(), "--pipeline", "tidy-json", "--input", "-", "--data-dir", d],
        b"{x",
        &cache,
    );
    assert!(routed.status.success(), "{}", text(&routed.stderr));

    let out = airssys(&["trace", "--json", "--data-dir", d], b"", &cache);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let traces: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = traces.as_array().unwrap();
    let pipelines: Vec<&str> = runs.iter().map(|t| t["pipeline"].as_str().unwrap()).collect();
    assert_eq!(pipelines, ["shout-and-count", "tidy-json"], "both processes' runs, oldest first");
    assert_eq!(runs[0]["trace_id"].as_str().unwrap().len(), 32);
    let nodes: Vec<&str> = runs[0]["steps"].as_array().unwrap().iter().map(|s| s["node"].as_str().unwrap()).collect();
    assert_eq!(nodes[0], "upper", "{nodes:?}");
    assert_eq!(nodes.len(), 4, "{nodes:?}");
    assert_eq!(runs[0]["steps"][0]["input"]["preview"], "one two");
    let tidy = &runs[1]["steps"][0];
    assert_eq!(tidy["port"], "error");
    assert!(tidy["error"].as_str().unwrap().contains("invalid-input"), "{tidy}");

    // For people: one block per run; --pipeline and --last choose.
    let table = airssys(&["trace", "--pipeline", "tidy-json", "--last", "1", "--data-dir", d], b"", &cache);
    let shown = text(&table.stdout);
    assert!(table.status.success(), "{}", text(&table.stderr));
    assert!(
        shown.starts_with(&format!("trace {}  pipeline tidy-json", runs[1]["trace_id"].as_str().unwrap())),
        "{shown}"
    );
    assert!(
        shown.contains("tidy (pretty) -> error") && shown.contains("error ") && !shown.contains("shout-and-count"),
        "{shown}"
    );
}
