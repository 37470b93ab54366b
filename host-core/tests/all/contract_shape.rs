//! The contract's shape is checked at load: a component that names the
//! contract's interfaces but gives a function another type is refused with
//! the interface, the function, the expected and found types and the fix,
//! before anything is stored, deployed or linked. `inspect` still describes
//! it. Every component here is the `tiny` template with one part changed.

use host_core::{Error, ShapeMismatch, project::Project};

use crate::{
    common::*,
    common::{data_host, r},
    tiny::{self, Tiny},
};

/// The core signature of `execute` for the contract's `input` record.
const EXECUTE_CORE: &str = "(param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i32) (result i32)";
/// The lift of `execute` with the contract's type.
const EXECUTE_LIFT: &str = r#"(func $execute (param "input" $input) (result (result $output (error $error)))"#;
const INPUT_TYPE: &str = r#"(type $input-t (record (field "data" (list u8))"#;
const OUTPUT_TYPE: &str =
    r#"(type $output-t (record (field "data" (list u8)) (field "metadata" (list (tuple string $value)))))"#;

/// The case `contract-shape`: `execute` takes the bytes instead of `input`.
fn execute_takes_a_list() -> Vec<u8> {
    Tiny::default().bytes_replacing(&[
        (EXECUTE_CORE, "(param i32 i32) (result i32)"),
        (EXECUTE_LIFT, r#"(func $execute (param "data" (list u8)) (result (result (list u8) (error string)))"#),
    ])
}

/// `metadata` returns a string instead of the `component-metadata` record.
fn metadata_returns_a_string() -> Vec<u8> {
    Tiny::default().bytes_replacing(&[("(func $metadata (result $meta)", "(func $metadata (result string)")])
}

/// The component imports `airssys:component/host@0.1.0` with these functions.
fn importing_host(functions: &str) -> Vec<u8> {
    let prelude = format!(
        r#"(import "airssys:component/host@0.1.0" (instance $host
    (type $level-t (enum "trace" "debug" "info" "warn" "error"))
    (export "log-level" (type $level (eq $level-t)))
    {functions}))"#
    );
    Tiny { prelude: &prelude, ..Tiny::default() }.bytes()
}

const LOG_AS_IN_THE_CONTRACT: &str = r#"(export "log" (func (param "level" $level) (param "message" string) (param "fields" (list (tuple string string)))))"#;
const EMIT_METRIC_AS_IN_THE_CONTRACT: &str = r#"(export "emit-metric" (func (param "name" string) (param "value" f64) (param "labels" (list (tuple string string)))))"#;

/// Loads `bytes` expecting the shape refusal; returns its mismatches and message.
fn refused(bytes: &[u8]) -> (Vec<ShapeMismatch>, String) {
    let err = shared_host().load_bytes(bytes).unwrap_err();
    let message = err.to_string();
    let Error::ContractShape { mismatches } = err else { panic!("expected a shape refusal, got {err:?}") };
    assert!(message.contains("Rebuild the component against wit/component.wit (airssys:component@0.1.0)"), "{message}");
    (mismatches, message)
}

fn only(mismatches: Vec<ShapeMismatch>) -> ShapeMismatch {
    assert_eq!(mismatches.len(), 1, "{mismatches:#?}");
    mismatches.into_iter().next().unwrap()
}

#[test]
fn execute_taking_a_list_is_refused_naming_interface_function_both_types_and_the_fix() {
    let (mismatches, message) = refused(&execute_takes_a_list());
    let m = only(mismatches);
    assert_eq!(
        (m.interface.as_str(), m.function.as_str(), m.imported),
        ("airssys:component/guest@0.1.0", "execute", false)
    );
    assert_eq!(m.difference, "parameter `input`: expected record `input`, found list<u8>");
    assert_eq!(m.found, "func(data: list<u8>) -> result<list<u8>, string>");
    assert!(
        m.expected.starts_with(
            "func(input: record input { data: list<u8>, metadata: metadata-map, context: execution-context }) -> result<record output {"
        ),
        "{}",
        m.expected
    );
    for part in [
        "airssys:component/guest@0.1.0",
        "function `execute`",
        "expected func(input: record input",
        "found    func(data: list<u8>)",
    ] {
        assert!(message.contains(part), "missing {part:?} in:\n{message}");
    }
}

#[test]
fn execute_with_another_error_type_is_refused_at_the_result() {
    let bytes = Tiny::default().bytes_replacing(&[(
        EXECUTE_LIFT,
        r#"(func $execute (param "input" $input) (result (result $output (error string)))"#,
    )]);
    let m = only(refused(&bytes).0);
    assert_eq!(m.function, "execute");
    assert_eq!(m.difference, "the result > the error type: expected record `error`, found string");
    assert_eq!(m.found, "func(input: input) -> result<output, string>");
    assert_eq!(
        m.expected,
        "func(input: input) -> result<output, record error { kind: error-kind, message: string, retryable: bool }>"
    );
}

#[test]
fn a_renamed_record_field_is_refused_naming_both_names() {
    let bytes = Tiny::default().bytes_replacing(&[(INPUT_TYPE, r#"(type $input-t (record (field "body" (list u8))"#)]);
    let m = only(refused(&bytes).0);
    assert_eq!(
        m.difference,
        "parameter `input`: expected record `input` with fields data, metadata, context, found fields body, metadata, context"
    );
    assert!(
        m.found.contains("record { body: list<u8>, metadata: metadata-map, context: execution-context }"),
        "{}",
        m.found
    );
}

#[test]
fn a_missing_record_field_is_refused() {
    let bytes =
        Tiny::default().bytes_replacing(&[(OUTPUT_TYPE, r#"(type $output-t (record (field "data" (list u8))))"#)]);
    let m = only(refused(&bytes).0);
    assert_eq!(
        m.difference,
        "the result > the ok type: expected record `output` with fields data, metadata, found fields data"
    );
    assert!(m.found.contains("result<record { data: list<u8> }, error>"), "{}", m.found);
}

#[test]
fn a_difference_deep_inside_a_record_is_spelled_out_down_to_the_field() {
    let bytes = Tiny::default().bytes_replacing(&[
        (EXECUTE_CORE, "(param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i64) (result i32)"),
        (r#"(field "attempt" u32)"#, r#"(field "attempt" u64)"#),
    ]);
    let m = only(refused(&bytes).0);
    assert_eq!(m.difference, "parameter `input` > field `context` > field `attempt`: expected u32, found u64");
    assert!(m.expected.contains("attempt: u32 }"), "{}", m.expected);
    assert!(m.found.contains("attempt: u64 }"), "{}", m.found);
    // What matches stays short: the parts that agree keep the contract's names.
    assert!(m.found.contains("data: list<u8>, metadata: metadata-map, context: record {"), "{}", m.found);
}

#[test]
fn a_variant_case_with_another_payload_is_refused_naming_the_case() {
    let bytes = Tiny::default().bytes_replacing(&[(
        r#"(type $health-t (variant (case "healthy") (case "degraded" string)"#,
        r#"(type $health-t (variant (case "healthy") (case "degraded" u32)"#,
    )]);
    let m = only(refused(&bytes).0);
    assert_eq!(m.function, "health");
    assert_eq!(m.difference, "the result > case `degraded`: expected string, found u32");
    assert_eq!(m.expected, "func() -> variant health-status { healthy, degraded(string), unhealthy(string) }");
    assert_eq!(m.found, "func() -> variant { healthy, degraded(u32), unhealthy(string) }");
}

#[test]
fn a_renamed_enum_case_is_refused_wherever_the_enum_is_used() {
    let bytes = Tiny::default().bytes_replacing(&[(r#""not-initialized" "internal")"#, r#""not-initialized" "bug")"#)]);
    let (mismatches, _) = refused(&bytes);
    // The enum is inside `error`, which `init`, `execute` and `shutdown` return.
    let functions: Vec<&str> = mismatches.iter().map(|m| m.function.as_str()).collect();
    assert_eq!(functions, ["init", "execute", "shutdown"]);
    assert_eq!(
        mismatches[1].difference,
        "the result > the error type > field `kind`: expected enum `error-kind` with cases invalid-input, \
         invalid-config, denied, unavailable, timeout, not-initialized, internal, found cases invalid-input, \
         invalid-config, denied, unavailable, timeout, not-initialized, bug"
    );
}

#[test]
fn a_wrong_metadata_signature_is_refused() {
    let m = only(refused(&metadata_returns_a_string()).0);
    assert_eq!(m.function, "metadata");
    assert_eq!(m.difference, "the result: expected record `component-metadata`, found string");
    assert_eq!(m.found, "func() -> string");
}

#[test]
fn a_wrong_init_signature_is_refused() {
    let bytes = Tiny::default().bytes_replacing(&[(
        r#"(func $init (param "config" (list (tuple string string)))"#,
        r#"(func $init (param "config" string)"#,
    )]);
    let m = only(refused(&bytes).0);
    assert_eq!(m.function, "init");
    assert_eq!(m.difference, "parameter `config`: expected list<tuple<string, string>>, found string");
}

#[test]
fn a_missing_guest_function_is_refused_as_missing() {
    let bytes = Tiny::default().bytes_replacing(&[(r#"(export "health" (func $health-f))"#, "")]);
    let m = only(refused(&bytes).0);
    assert_eq!((m.function.as_str(), m.found.as_str()), ("health", "(missing)"));
    assert_eq!(m.expected, "func() -> health-status");
}

#[test]
fn a_wrong_state_function_is_refused() {
    let bytes =
        Tiny { state: Some((tiny::SNAPSHOT_EMPTY, tiny::RESTORE_REFUSES)), ..Tiny::default() }.bytes_replacing(&[
            (r#"(func (export "restore") (param i32 i32 i32 i32)"#, r#"(func (export "restore") (param i32 i32)"#),
            (r#"(param "data" (list u8)) (param "from-version" string)"#, r#"(param "data" (list u8))"#),
        ]);
    let (mismatches, message) = refused(&bytes);
    let m = only(mismatches);
    assert_eq!((m.interface.as_str(), m.function.as_str()), ("airssys:component/state@0.1.0", "restore"));
    assert_eq!(m.difference, "expected 2 parameter(s) (data, from-version), found 1 (data)");
    assert!(message.contains("the component's airssys:component/state@0.1.0 does not match"), "{message}");
}

#[test]
fn every_mismatch_is_listed_in_the_contracts_order() {
    let bytes = Tiny::default().bytes_replacing(&[
        ("(func $metadata (result $meta)", "(func $metadata (result string)"),
        (EXECUTE_CORE, "(param i32 i32) (result i32)"),
        (EXECUTE_LIFT, r#"(func $execute (param "data" (list u8)) (result (result (list u8) (error string)))"#),
    ]);
    let (mismatches, message) = refused(&bytes);
    let functions: Vec<&str> = mismatches.iter().map(|m| m.function.as_str()).collect();
    assert_eq!(functions, ["execute", "metadata"]);
    assert_eq!(message.matches("does not match the contract").count(), 1, "one heading per interface:\n{message}");
}

#[test]
fn a_host_import_with_other_parameters_is_refused_before_linking() {
    let bytes = importing_host(r#"(export "log" (func (param "level" $level) (param "message" string)))"#);
    let (mismatches, message) = refused(&bytes);
    let m = only(mismatches);
    assert!(m.imported);
    assert_eq!((m.interface.as_str(), m.function.as_str()), ("airssys:component/host@0.1.0", "log"));
    assert_eq!(m.difference, "expected 3 parameter(s) (level, message, fields), found 2 (level, message)");
    assert_eq!(m.found, "func(level: log-level, message: string)");
    assert!(message.contains("the component's import of airssys:component/host@0.1.0 does not match"), "{message}");
}

#[test]
fn a_host_import_the_host_does_not_offer_is_refused() {
    let bytes =
        importing_host(&format!("{LOG_AS_IN_THE_CONTRACT}\n    (export \"open\" (func (param \"path\" string)))"));
    let m = only(refused(&bytes).0);
    assert_eq!((m.function.as_str(), m.expected.as_str()), ("open", "(not in the contract)"));
    assert_eq!(m.found, "func(path: string)");
    assert!(m.difference.contains("`log`, `emit-metric`"), "{}", m.difference);
}

#[test]
fn a_component_importing_the_host_interface_as_in_the_contract_loads_and_runs() {
    let bytes = importing_host(&format!("{LOG_AS_IN_THE_CONTRACT}\n    {EMIT_METRIC_AS_IN_THE_CONTRACT}"));
    let component = shared_host().load_bytes(&bytes).unwrap();
    assert!(component.info().imports.iter().any(|i| i == "airssys:component/host@0.1.0"));
    let out = shared_host().call_once(&component, &[], &host_core::Input::new(b"ok".to_vec()), Default::default());
    assert_eq!(out.unwrap().data, b"ok");
}

#[test]
fn a_minor_compatible_contract_version_is_checked_too() {
    let good = Tiny { version: "0.1.3", ..Tiny::default() }.bytes();
    shared_host().load_bytes(&good).unwrap();
    let bad = Tiny { version: "0.1.3", ..Tiny::default() }.bytes_replacing(&[
        (EXECUTE_CORE, "(param i32 i32) (result i32)"),
        (EXECUTE_LIFT, r#"(func $execute (param "data" (list u8)) (result (result (list u8) (error string)))"#),
    ]);
    assert_eq!(only(refused(&bad).0).interface, "airssys:component/guest@0.1.3");
}

#[test]
fn a_refused_component_is_refused_again_on_the_next_load() {
    let bytes = execute_takes_a_list();
    refused(&bytes);
    refused(&bytes);
}

#[test]
fn registry_add_of_a_wrong_shape_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let err = host.add_component(&r("shape@1.0.0"), &execute_takes_a_list()).unwrap_err();
    assert!(matches!(err, Error::ContractShape { .. }), "{err:?}");
    assert!(err.to_string().contains("execute"), "{err}");
    assert!(matches!(host.registry().unwrap().history("shape"), Err(Error::UnknownComponent { .. })));
    assert_eq!(std::fs::read_dir(dir.path().join("blobs")).unwrap().count(), 0);
}

#[test]
fn deploy_of_a_wrong_shape_stored_by_an_older_host_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    // An older host stored it without the check.
    let bytes = execute_takes_a_list();
    let registry = host.registry().unwrap();
    let digest = registry.store_blob(&bytes).unwrap();
    registry.tag(&r("shape@1.0.0"), digest, bytes.len() as u64).unwrap();

    let err = host.deploy(host_core::deploy::DeployRequest::new("s", r("shape@1.0.0"))).unwrap_err();
    assert!(matches!(err, Error::ContractShape { .. }), "{err:?}");
    assert!(err.to_string().contains("function `execute`"), "{err}");
    assert!(host.services().unwrap().is_empty());
}

#[test]
fn project_apply_refuses_a_service_whose_component_has_the_wrong_shape() {
    let project_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(project_dir.path().join("components")).unwrap();
    std::fs::write(project_dir.path().join("components/shape.wasm"), execute_takes_a_list()).unwrap();
    std::fs::write(
        project_dir.path().join("project.ron"),
        r#"(schema: 1, name: "shape", services: {"s": (component: "components/shape.wasm")})"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let host = data_host(data.path());
    let err = Project::open(project_dir.path()).unwrap().apply(&host).unwrap_err();
    assert!(matches!(err, Error::ContractShape { .. }), "{err:?}");
    assert!(host.services().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(data.path().join("blobs")).unwrap().count(), 0);
}

#[test]
fn inspect_describes_a_refused_component_and_still_reads_its_metadata() {
    let inspection = shared_host().inspect(&execute_takes_a_list(), None).unwrap();
    assert_eq!(only(inspection.mismatches.clone()).function, "execute");
    assert!(inspection.refused.as_deref().is_some_and(|r| r.contains("wit/component.wit")));
    assert_eq!(inspection.metadata.as_ref().map(|m| m.name.as_str()), Some("echo"));
    assert_eq!(inspection.required_capabilities, Some(vec![]));
    assert!(inspection.info.exports.iter().any(|e| e == "airssys:component/guest@0.1.0#execute"));
    assert!(inspection.info.digest.to_string().starts_with("sha256:"));
}

#[test]
fn inspect_does_not_call_a_metadata_whose_type_is_wrong() {
    let inspection = shared_host().inspect(&metadata_returns_a_string(), None).unwrap();
    assert_eq!(inspection.metadata, None);
    let why = inspection.metadata_error.unwrap();
    assert!(why.contains("`metadata` itself does not match the contract"), "{why}");
    assert_eq!(inspection.required_capabilities, Some(vec![]));
}

#[test]
fn inspect_of_a_wrong_host_import_lists_the_imports_and_says_why_nothing_was_called() {
    let bytes = importing_host(r#"(export "log" (func (param "level" $level) (param "message" string)))"#);
    let inspection = shared_host().inspect(&bytes, Some("bad-log".into())).unwrap();
    assert!(inspection.info.imports.iter().any(|i| i == "airssys:component/host@0.1.0"));
    assert!(inspection.mismatches[0].imported);
    let why = inspection.metadata_error.unwrap();
    assert!(why.contains("import of airssys:component/host@0.1.0"), "{why}");
}

#[test]
fn inspect_of_a_loadable_component_has_no_mismatches() {
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    let inspection = shared_host().inspect(&bytes, None).unwrap();
    assert!(inspection.mismatches.is_empty() && inspection.refused.is_none());
    assert_eq!(inspection.metadata.unwrap().name, "upper");
}
