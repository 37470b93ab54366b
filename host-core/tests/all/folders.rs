//! Folders the user names keep their mode; folders airssys makes for its
//! own data are private (0700) from the start; compiled code is read only
//! from a folder nobody else can write.

#![cfg(unix)]

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use host_core::{
    Error, Host, HostConfig, Input, LoadOrigin, PoolConfig,
    deploy::{DeployRequest, PoolMode},
    project::Project,
};

use crate::{
    common::*,
    common::{add_sample, r},
};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A folder `name` under `parent` with `mode`.
fn folder(parent: &Path, name: &str, mode: u32) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

fn host(data_dir: Option<PathBuf>, cache_dir: Option<PathBuf>) -> host_core::Result<Host> {
    Host::new(HostConfig {
        data_dir,
        cache_dir,
        pool: PoolConfig { max_instances: 16, max_memory_bytes: 256 << 20, ..PoolConfig::default() },
        ..HostConfig::default()
    })
}

#[test]
fn a_cache_folder_the_user_names_keeps_its_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample_path("text-tools", "upper")).unwrap();
    for wide in [0o1777, 0o755] {
        let root = folder(tmp.path(), &format!("cache-{wide:o}"), wide);
        for origin in [LoadOrigin::Compiled, LoadOrigin::DiskCache] {
            let host = host(None, Some(root.clone())).unwrap();
            let loaded = host.load_bytes(&bytes).unwrap();
            assert_eq!(loaded.origin(), origin);
            let mut instance = host.instantiate(&loaded).unwrap();
            instance.init(&[]).unwrap();
            assert_eq!(instance.execute(&Input::new(b"hi".to_vec())).unwrap().data, b"HI");
            assert_eq!(mode(&root), wide, "the folder the user named keeps its mode");
        }
        let made: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(made.len(), 1, "{made:?}");
        assert_eq!(mode(&made[0]), 0o700, "the fingerprint folder airssys made is private");
    }
}

#[test]
fn a_new_cache_folder_is_private_from_the_start_parents_included() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("new/compiled");
    host(None, Some(root.clone())).unwrap();
    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    assert_eq!(mode(&root), 0o700);
}

#[test]
fn cached_code_is_not_read_from_a_folder_others_can_write() {
    let tmp = tempfile::tempdir().unwrap();
    let root = folder(tmp.path(), "shared", 0o1777);
    let bytes = crate::tiny::with_execute(crate::tiny::ECHO);
    host(None, Some(root.clone())).unwrap().load_bytes(&bytes).unwrap();
    let made = std::fs::read_dir(&root).unwrap().next().unwrap().unwrap().path();
    // As if another user had made it first, or opened it up.
    std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = host(None, Some(root.clone())).unwrap_err();
    assert!(matches!(err, Error::Cache(_)), "{err:?}");
    assert!(err.to_string().contains("not a folder only you can write"), "{err}");
    assert!(err.to_string().contains("HostConfig::cache_dir"), "says what to do: {err}");
    assert_eq!(mode(&made), 0o777, "refused, not changed");
    // A link to a folder is refused as well: its target could be anyone's.
    std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o700)).unwrap();
    let moved = tmp.path().join("elsewhere");
    std::fs::rename(&made, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &made).unwrap();
    assert!(matches!(host(None, Some(root)).unwrap_err(), Error::Cache(_)));
}

#[test]
fn a_data_folder_the_user_names_keeps_its_mode() {
    let tmp = tempfile::tempdir().unwrap();
    for wide in [0o1777, 0o755] {
        let data = folder(tmp.path(), &format!("data-{wide:o}"), wide);
        let host = host(Some(data.clone()), Some(tmp.path().join("cache"))).unwrap();
        add_sample(&host, "text@1.0.0", "text-tools", "upper");
        host.deploy(DeployRequest::new("svc", r("text@1.0.0")).pool(PoolMode::Pooled { size: 1 })).unwrap();
        assert_eq!(host.invoke("svc", &Input::new(b"hi".to_vec())).unwrap().data, b"HI");
        drop(host);
        assert_eq!(mode(&data), wide, "the data folder the user named keeps its mode");
        for made in ["blobs", "names", "services"] {
            assert_eq!(mode(&data.join(made)), 0o700, "{made} is airssys-made, so private");
        }
    }
}

#[test]
fn a_new_data_folder_is_private_from_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("parent/data");
    let host = host(Some(data.clone()), Some(tmp.path().join("cache"))).unwrap();
    add_sample(&host, "text@1.0.0", "text-tools", "upper");
    for made in [tmp.path().join("parent"), data.clone(), data.join("blobs"), data.join("services")] {
        assert_eq!(mode(&made), 0o700, "{}", made.display());
    }
}

#[test]
fn a_project_folder_keeps_its_mode_and_its_data_folder_is_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(tmp.path(), "p", 0o755);
    std::fs::create_dir(dir.join("components")).unwrap();
    std::fs::copy(sample_path("text-tools", "upper"), dir.join("components/upper.wasm")).unwrap();
    std::fs::write(
        dir.join("project.ron"),
        r#"(schema: 1, name: "p", services: {"upper": (component: "components/upper.wasm")},
            pipelines: {"p": (nodes: {"n": (service: "upper")})})"#,
    )
    .unwrap();
    let project = Project::open(&dir).unwrap();
    // What `airssys run` and the studio use: the project's own `.airssys/`.
    let host = host(Some(dir.join(".airssys")), Some(tmp.path().join("cache"))).unwrap();
    project.apply(&host).unwrap();
    let run =
        host.run_pipeline(&project.pipeline("p").unwrap(), Input::new(b"hi".to_vec()), &Default::default()).unwrap();
    assert_eq!(run.results[0].data, b"HI");
    project.save().unwrap();
    assert_eq!(mode(&dir), 0o755, "the project folder keeps its mode");
    assert_eq!(mode(&dir.join(".airssys")), 0o700);
}
