//! The registry: content-addressed, immutable, crash-safe, verified on load.

use host_core::{Digest, Error, deploy::DeployRequest};

use crate::{
    common::*,
    common::{add_sample, data_host, r},
};

#[test]
fn adding_the_same_bytes_twice_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    let first = host.add_component(&r("text@1.0.0"), &bytes).unwrap();
    let second = host.add_component(&r("text@1.0.0"), &bytes).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.digest, Digest::of(&bytes));
    assert_eq!(host.registry().unwrap().history("text").unwrap().versions.len(), 1);
}

#[test]
fn retagging_a_version_to_other_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    let other = std::fs::read(sample_path("text-tools", "word-count")).unwrap();
    let err = host.add_component(&r("text@1.0.0"), &other).unwrap_err();
    assert!(matches!(err, Error::VersionExists { .. }), "{err:?}");
    assert!(err.to_string().contains("immutable"), "{err}");
    // The original still resolves to its own bytes.
    let upper = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    assert_eq!(host.registry().unwrap().resolve(&r("text@1.0.0")).unwrap().digest, Digest::of(&upper));
}

#[test]
fn invalid_bytes_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    let err = host.add_component(&r("junk@1.0.0"), b"not a component").unwrap_err();
    assert!(matches!(err, Error::NotWasm { .. }), "{err:?}");
    assert!(matches!(host.registry().unwrap().history("junk"), Err(Error::UnknownComponent { .. })));
    assert_eq!(std::fs::read_dir(dir.path().join("blobs")).unwrap().count(), 0);
}

#[test]
fn bad_references_say_what_a_reference_looks_like() {
    for bad in ["text", "Text@1.0.0", "text@one", "../etc@1.0.0", "@1.0.0"] {
        let err = Error::from(bad.parse::<host_core::registry::ComponentRef>().unwrap_err());
        assert!(matches!(err, Error::InvalidReference { .. }), "{bad}: {err:?}");
        assert!(err.to_string().starts_with("invalid component reference `"), "{err}");
    }
}

#[test]
fn a_blob_changed_on_disk_is_detected_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    let digest = host.registry().unwrap().resolve(&r("text@1.0.0")).unwrap().digest;
    let blob = dir.path().join("blobs").join(format!("{}.wasm", digest.hex()));
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let err = host.registry().unwrap().read_blob(&digest).unwrap_err();
    assert!(matches!(err, Error::BlobCorrupt { .. }), "{err:?}");
    let fresh = data_host(dir.path());
    let err = fresh.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap_err();
    assert!(matches!(err, Error::BlobCorrupt { .. }), "{err:?}");
}

#[test]
fn a_version_in_use_cannot_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    add_sample(&host, "text@2.0.0", "text-tools", "word-count");
    host.deploy(DeployRequest::new("svc", r("text@1.0.0"))).unwrap();
    let registry = host.registry().unwrap();
    let live = host.service_spec("svc").unwrap().digest;
    let in_use = |d: &Digest| if *d == live { vec!["svc".to_string()] } else { vec![] };
    let err = registry.remove(&r("text@1.0.0"), &in_use).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err:?}");
    registry.remove(&r("text@2.0.0"), &in_use).unwrap();
    let versions: Vec<String> =
        registry.history("text").unwrap().versions.iter().map(|v| v.version.to_string()).collect();
    assert_eq!(versions, ["1.0.0"]);
}

#[test]
fn unknown_versions_list_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let host = data_host(dir.path());
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    let err = host.deploy(DeployRequest::new("svc", r("text@9.9.9"))).unwrap_err();
    assert!(err.to_string().contains("known versions: 1.0.0"), "{err}");
}
