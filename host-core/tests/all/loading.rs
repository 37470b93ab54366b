//! Loading: header checks, classification, the compile cache and the
//! memory table, with tiny components.

use host_core::{ComponentKind, Error, LoadOrigin};

use crate::{common::*, tiny as wat};

#[test]
fn garbage_bytes_are_refused_as_not_wasm() {
    let err = shared_host().load_bytes(b"this is not webassembly at all").unwrap_err();
    assert!(matches!(err, Error::NotWasm { .. }), "{err:?}");
    assert!(err.to_string().contains("magic"), "{err}");
}

#[test]
fn empty_file_is_refused_as_truncated() {
    let err = shared_host().load_bytes(b"").unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn core_module_is_refused_with_a_hint_to_build_a_component() {
    let module = ::wat::parse_str("(module (func (export \"f\")))").unwrap();
    let err = shared_host().load_bytes(&module).unwrap_err();
    assert!(matches!(err, Error::CoreModule), "{err:?}");
    assert!(err.to_string().contains("not a component"), "{err}");
}

#[test]
fn truncated_component_is_refused_as_invalid() {
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    let err = shared_host().load_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, Error::InvalidComponent(_)), "{err:?}");
}

#[test]
fn component_without_contract_or_command_export_is_refused() {
    let bytes = ::wat::parse_str("(component)").unwrap();
    let err = shared_host().load_bytes(&bytes).unwrap_err();
    assert!(matches!(err, Error::MissingExport { .. }), "{err:?}");
    assert!(err.to_string().contains("airssys:component/guest@0.1.0"), "{err}");
}

#[test]
fn wrong_contract_version_names_both_versions() {
    let text = wat::contract(wat::ECHO, wat::INIT_OK, "0.2.0", "");
    let err = shared_host().load_bytes(&::wat::parse_str(text).unwrap()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::ContractVersion { .. }), "{err:?}");
    assert!(message.contains("guest@0.2.0") && message.contains("airssys:component@0.1.0"), "{message}");
}

#[test]
fn component_with_an_unknown_import_fails_to_link() {
    let bytes = ::wat::parse_str(
        r#"(component
             (import "acme:secret/vault" (instance (export "open" (func))))
             (core module $m (func (export "run") (result i32) (i32.const 0)))
             (core instance $i (instantiate $m))
             (func $run (result (result)) (canon lift (core func $i "run")))
             (instance $run (export "run" (func $run)))
             (export "wasi:cli/run@0.2.0" (instance $run)))"#,
    )
    .unwrap();
    let err = shared_host().load_bytes(&bytes).unwrap_err();
    assert!(matches!(err, Error::Link(_)), "{err:?}");
    assert!(err.to_string().contains("acme:secret/vault"), "{err}");
}

#[test]
fn wat_contract_component_is_classified_and_echoes() {
    let host = shared_host();
    let component = host.load_bytes(&wat::with_execute(wat::ECHO)).unwrap();
    assert_eq!(component.kind(), &ComponentKind::Contract { version: "0.1.0".into(), state: false });
    let mut instance = host.instantiate(&component).unwrap();
    instance.init(&[]).unwrap();
    let out = instance.execute(&host_core::Input::new(b"ping".to_vec())).unwrap();
    assert_eq!(out.data, b"ping");
    assert_eq!(instance.metadata().unwrap().name, "echo");
}

#[test]
fn second_load_of_the_same_bytes_reads_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();

    let first = host_with_cache(Some(dir.path().to_path_buf()));
    assert_eq!(first.load_bytes(&bytes).unwrap().origin(), LoadOrigin::Compiled);
    assert_eq!(first.compilations(), 1);
    // Same host: served from memory, still one compilation.
    first.load_bytes(&bytes).unwrap();
    assert_eq!(first.compilations(), 1);
    drop(first);

    let second = host_with_cache(Some(dir.path().to_path_buf()));
    let loaded = second.load_bytes(&bytes).unwrap();
    assert_eq!(loaded.origin(), LoadOrigin::DiskCache);
    assert_eq!(second.compilations(), 0);
    let mut instance = second.instantiate(&loaded).unwrap();
    instance.init(&[]).unwrap();
    assert_eq!(instance.execute(&host_core::Input::new(b"cached".to_vec())).unwrap().data, b"CACHED");
}

#[test]
fn corrupt_cache_entry_is_replaced_by_a_fresh_compile() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = wat::with_execute(wat::ECHO);
    host_with_cache(Some(dir.path().to_path_buf())).load_bytes(&bytes).unwrap();
    let entries: Vec<_> =
        walk(dir.path()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::write(&entries[0], b"garbage").unwrap();

    let host = host_with_cache(Some(dir.path().to_path_buf()));
    let loaded = host.load_bytes(&bytes).unwrap();
    assert_eq!(loaded.origin(), LoadOrigin::Compiled);
    assert!(std::fs::read(&entries[0]).unwrap().len() > 100, "cache entry rewritten");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
