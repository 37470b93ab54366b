//! `airssys run` and `airssys test` on the sample projects.

use crate::support::*;

#[test]
fn sample_projects_pass_their_own_tests() {
    for project in ["text-tools", "iot-sensors"] {
        let data = tempfile::tempdir().unwrap();
        let dir = repo_root().join("sample-projects").join(project);
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
    assert_eq!(text(&run.stdout), "HELLO", "{}", text(&run.stderr));
}
