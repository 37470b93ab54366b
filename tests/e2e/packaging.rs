//! Packaging past one machine, checked offline: the Kubernetes manifests
//! under deploy/ against the Kubernetes API schemas (kubernetes-validate,
//! strict: unknown fields are errors), and the container image definition
//! builds the binary the README builds and runs `airssys serve`. No cluster
//! and no container engine are needed; under `CI=true` a missing validator
//! fails the test.

use std::process::Command;

use crate::support::*;

#[test]
fn the_kubernetes_manifests_validate_against_the_api_schemas() {
    let dir = repo_root().join("deploy/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let all = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect::<String>();
    assert!(all.contains("kind: StatefulSet") && all.contains("jetstream"), "nodes and NATS with JetStream");
    let out = match Command::new("kubernetes-validate").arg("--strict").args(&files).output() {
        Ok(out) => out,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("kubernetes-validate must run under CI (pip install kubernetes-validate): {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: kubernetes-validate is not available ({e}); pip install kubernetes-validate");
            return;
        }
    };
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{report}");
    assert!(!report.contains("failed"), "{report}");
    // Every resource of every file was checked.
    let resources = all.matches("\nkind: ").count() + usize::from(all.starts_with("kind: "));
    assert_eq!(report.matches(" passed for resource ").count(), resources, "{report}");
    // A node's credentials come from a file (a Secret), never the command line.
    assert!(all.contains("--fleet-creds"), "the nodes read their NATS credentials from a file");
    assert!(!all.contains("@nats"), "no credentials inside a NATS URL");
}

#[test]
fn the_container_image_builds_the_binary_and_serves() {
    let containerfile = std::fs::read_to_string(repo_root().join("deploy/Containerfile")).unwrap();
    let from: Vec<&str> = containerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "a build stage and a runtime stage: {from:?}");
    assert!(containerfile.contains("cargo build --release --locked -p host-core --bin airssys"));
    assert!(containerfile.contains(r#"ENTRYPOINT ["airssys", "serve""#));
    assert!(containerfile.lines().any(|l| l.starts_with("USER ") && !l.contains("root")), "not root");
    // The Rust image the build stage names matches the toolchain the
    // workspace asks for.
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let rust = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    assert!(from[0].contains(&format!("rust:{rust}")), "{} vs rust-version {rust}", from[0]);
}
