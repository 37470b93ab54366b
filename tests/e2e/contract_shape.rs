//! A component built against another shape of the contract (its `execute`
//! takes `list<u8>` instead of the `input` record), through the binary:
//! `registry add` and `call` refuse it naming the interface, the function,
//! both types and the fix; `inspect` still describes it, marks `execute` and
//! exits non-zero.

use std::path::{Path, PathBuf};

use crate::support::*;

/// Writes the fixture component into `dir` and returns its path.
fn wrong_shape(dir: &Path) -> PathBuf {
    let fixture = repo_root().join("tests/e2e/fixtures/execute-takes-a-list.wat");
    let bytes = wat::parse_file(&fixture).unwrap();
    let path = dir.join("shape.wasm");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The parts every refusal must name.
fn assert_names_the_mismatch_and_the_fix(message: &str) {
    for part in [
        "airssys:component/guest@0.1.0 does not match the contract",
        "function `execute`: parameter `input`: expected record `input`, found list<u8>",
        "expected func(input: record input { data: list<u8>,",
        "found    func(data: list<u8>) -> result<list<u8>, string>",
        "Rebuild the component against wit/component.wit (airssys:component@0.1.0)",
    ] {
        assert!(message.contains(part), "missing {part:?} in:\n{message}");
    }
}

#[test]
fn call_refuses_a_component_with_the_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let shape = wrong_shape(dir.path());
    let out = airssys(&["call", shape.to_str().unwrap(), "--input", "-"], b"hi", &dir.path().join("cache"));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert_names_the_mismatch_and_the_fix(&text(&out.stderr));
}

#[test]
fn registry_add_refuses_a_component_with_the_wrong_shape_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let shape = wrong_shape(dir.path());
    let data = dir.path().join("data");
    let out = airssys(
        &["registry", "add", "shape@1.0.0", shape.to_str().unwrap(), "--data-dir", data.to_str().unwrap()],
        b"",
        &dir.path().join("cache"),
    );
    assert!(!out.status.success());
    assert_names_the_mismatch_and_the_fix(&text(&out.stderr));
    let blobs = std::fs::read_dir(data.join("blobs")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(blobs, 0, "a refused component was stored");
    let list = airssys(&["registry", "list", "--data-dir", data.to_str().unwrap()], b"", &dir.path().join("cache"));
    assert!(!text(&list.stdout).contains("shape"), "{}", text(&list.stdout));
}

#[test]
fn inspect_shows_the_exports_and_marks_execute_of_a_component_with_the_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let shape = wrong_shape(dir.path());
    let out = airssys(&["inspect", shape.to_str().unwrap()], b"", &dir.path().join("cache"));
    assert!(!out.status.success(), "inspect of a refused component exits non-zero");
    let shown = text(&out.stdout);
    for part in [
        "digest        sha256:",
        "name          echo 0.1.0",
        "\n  exports\n",
        "\n    airssys:component/guest@0.1.0\n      `execute` DOES NOT MATCH the contract: parameter `input`: expected record `input`, found list<u8>",
        "expected func(input: record input {",
        "found    func(data: list<u8>) -> result<list<u8>, string>",
    ] {
        assert!(shown.contains(part), "missing {part:?} in:\n{shown}");
    }
    let err = text(&out.stderr);
    assert!(err.contains("refuses to load the component: `execute` of airssys:component/guest@0.1.0"), "{err}");
    assert!(err.contains("wit/component.wit (airssys:component@0.1.0)"), "{err}");
}

#[test]
fn inspect_json_describes_a_component_with_the_wrong_shape_and_marks_execute() {
    let dir = tempfile::tempdir().unwrap();
    let shape = wrong_shape(dir.path());
    let out = airssys(&["inspect", "--json", shape.to_str().unwrap()], b"", &dir.path().join("cache"));
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(doc["exports"].as_array().unwrap().iter().any(|e| e == "airssys:component/guest@0.1.0#execute"));
    assert_eq!(doc["metadata"]["name"], "echo");
    let mismatches = doc["mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    let m = &mismatches[0];
    assert_eq!(m["interface"], "airssys:component/guest@0.1.0");
    assert_eq!(m["function"], "execute");
    assert_eq!(m["imported"], false);
    assert_eq!(m["found"], "func(data: list<u8>) -> result<list<u8>, string>");
    assert!(m["expected"].as_str().unwrap().starts_with("func(input: record input {"), "{m}");
    assert!(doc["refused"].as_str().unwrap().contains("wit/component.wit"), "{doc}");
}

#[test]
fn inspect_json_of_a_loadable_component_lists_no_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let upper = repo_root().join("sample-projects/text-tools/components/upper.wasm");
    let out = airssys(&["inspect", "--json", upper.to_str().unwrap()], b"", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mismatches"], serde_json::json!([]));
    assert!(doc.get("refused").is_none(), "{doc}");
}
