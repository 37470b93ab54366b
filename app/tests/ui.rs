//! The studio driven headless (egui_kittest, no GPU) by accessible labels,
//! over the real embedded runtime and a copy of a sample project.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, time::Duration};

use app::Studio;
use egui_kittest::{Harness, kittest::Queryable};

fn sample(name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap().join("../sample-projects").join(name);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&root, &dir);
    (tmp, dir)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".airssys" || name == "src" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(name));
        } else {
            std::fs::copy(entry.path(), to.join(name)).unwrap();
        }
    }
}

fn harness(dir: PathBuf) -> Harness<'static, Studio> {
    let cache = dir.parent().unwrap().join("cache");
    let studio = Studio::with_cache_dir(|| {}, Some(dir), Some(cache));
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(
        |ui, studio: &mut Studio| {
            studio.poll();
            studio.show(ui);
        },
        studio,
    )
}

/// Steps the UI until `done` holds (the runtime thread answers asynchronously).
fn wait_for(harness: &mut Harness<'_, Studio>, what: &str, done: impl Fn(&Harness<'_, Studio>) -> bool) {
    for _ in 0..600 {
        harness.step();
        if done(harness) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn opens_a_sample_project_shows_its_pipeline_and_runs_it() {
    let (_tmp, dir) = sample("text-tools");
    let mut harness = harness(dir);
    wait_for(&mut harness, "the project to open", |h| h.query_by_label("Add upper").is_some());
    // The default pipeline's nodes, titled node · service@version.
    assert!(harness.query_by_label_contains("upper · upper@local.").is_some());
    assert!(harness.query_by_label_contains("count · count@local.").is_some());

    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).focus();
    harness.run_steps(2);
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).type_text("hello studio");
    harness.run_steps(2);
    assert_eq!(harness.state().input(), "hello studio");
    harness.get_by_label("Run").click();
    wait_for(&mut harness, "the run to finish", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the run succeeds");
    assert_eq!(outcome.results.len(), 2, "{outcome:?}");
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("HELLO STUDIO").is_some(), "the result is shown");
    assert!(harness.query_by_label_contains("\"words\": 2").is_some(), "the fan-out branch's result");
}

#[test]
fn adding_a_node_from_the_palette_can_be_undone() {
    let (_tmp, dir) = sample("text-tools");
    let mut harness = harness(dir);
    wait_for(&mut harness, "the project to open", |h| h.query_by_label("Add pretty").is_some());
    let nodes = |h: &Harness<'_, Studio>| h.state().current_pipeline().nodes.len();
    let before = nodes(&harness);
    harness.get_by_label("Add pretty").click();
    harness.run_steps(2);
    assert_eq!(nodes(&harness), before + 1);
    assert!(harness.query_by_label_contains("pretty-2 · pretty@local.").is_some(), "the new node is on the canvas");
    harness.get_by_label("Undo").click();
    harness.run_steps(2);
    assert_eq!(nodes(&harness), before, "undo removes the added node");
    harness.get_by_label("Redo").click();
    harness.run_steps(2);
    assert_eq!(nodes(&harness), before + 1);
}

/// A project whose `files` service requests `file-read:/data`, granted nowhere.
fn needs_a_grant() -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = sample("text-tools");
    std::fs::write(
        dir.join("project.ron"),
        r#"(schema: 1, name: "files",
            services: {"files": (component: "components/file-reader.wasm")},
            pipelines: {"read": (nodes: {"read": (service: "files")})})"#,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/note.txt"), "kept in the project").unwrap();
    (tmp, dir)
}

fn audit_events(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(".airssys/audit.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_deploy_needing_capabilities_asks_and_grants_nothing_by_default() {
    let (_tmp, dir) = needs_a_grant();
    let mut harness = harness(dir.clone());
    wait_for(&mut harness, "the grant dialog", |h| h.state().grant_dialog().is_some());
    harness.run_steps(2);
    assert!(harness.query_by_label("requests file-read:/data").is_some());
    assert!(harness.query_by_label_contains("read every file").is_some(), "a plain-language risk note");
    // Continue without ticking anything: nothing is granted.
    harness.get_by_label("Continue").click();
    wait_for(&mut harness, "the refusal", |h| h.query_by_label_contains("which you denied").is_some());
    assert!(harness.state().grant_dialog().is_none());
    assert!(harness.query_by_label("Add files").is_none(), "the service was not deployed");
    let events = audit_events(&dir);
    assert!(events.contains(&"grant-denied".to_string()), "{events:?}");
    assert!(!events.iter().any(|e| e == "deploy"), "{events:?}");
}

#[test]
fn after_the_user_allows_the_capability_the_deploy_succeeds() {
    let (_tmp, dir) = needs_a_grant();
    let mut harness = harness(dir.clone());
    wait_for(&mut harness, "the grant dialog", |h| h.state().grant_dialog().is_some());
    harness.run_steps(2);
    harness.get_by_label("Allow file-read:/data").click();
    harness.run_steps(2);
    harness.get_by_label("Continue").click();
    wait_for(&mut harness, "the project to open", |h| h.query_by_label("Add files").is_some());
    let events = audit_events(&dir);
    assert!(events.contains(&"grant-allowed".to_string()) && events.contains(&"deploy".to_string()), "{events:?}");
    // The granted folder is the project's own `data/`: the component reads it.
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).focus();
    harness.run_steps(2);
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).type_text("note.txt");
    harness.run_steps(2);
    harness.get_by_label("Run").click();
    wait_for(&mut harness, "the run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the run succeeds");
    assert_eq!(outcome.results[0].data, b"kept in the project");
}

#[test]
fn a_remote_target_deploys_and_runs_the_same_way() {
    use host_core::{
        Host, HostConfig, RemoteRuntime, Runtime,
        remote::server::{self, ServerConfig},
    };
    let (tmp, dir) = sample("text-tools");
    let token = "studio-test-token-0123456789abcdef";
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let host = Host::new(HostConfig {
        data_dir: Some(tmp.path().join("server-data")),
        cache_dir: Some(tmp.path().join("cache")),
        ..HostConfig::default()
    })
    .unwrap();
    let running = server::start(host, ServerConfig::loopback(0, token)).unwrap();

    let mut harness = harness(dir);
    wait_for(&mut harness, "the project to open", |h| h.query_by_label("Add upper").is_some());
    let set = |harness: &mut Harness<'_, Studio>, label: &str, text: &str| {
        harness.get_by_label(label).focus();
        harness.run_steps(1);
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.get_by_label(label).type_text(text);
        harness.run_steps(1);
    };
    set(&mut harness, "Server URL", &running.url());
    set(&mut harness, "Token file", token_file.to_str().unwrap());
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "the project on the server", |h| {
        matches!(h.state().target(), app::worker::Target::Remote { .. })
            && !h.state().busy()
            && h.query_by_label("Add upper").is_some()
    });
    // The server now runs the project's services.
    let remote = RemoteRuntime::new(&running.url(), token);
    let names: Vec<String> = remote.status(None).unwrap().into_iter().map(|s| s.spec.name).collect();
    assert_eq!(names, ["compact", "count", "pretty", "upper"]);

    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).focus();
    harness.run_steps(2);
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).type_text("over the wire");
    harness.run_steps(2);
    harness.get_by_label("Run").click();
    wait_for(&mut harness, "the remote run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the run succeeds");
    assert!(outcome.results.iter().any(|r| r.data == b"OVER THE WIRE"), "{outcome:?}");
    assert!(remote.metrics().unwrap().node("shout-and-count", "shout").is_some(), "the run happened on the server");
}

#[test]
fn shortcuts_are_listed_in_a_help_window_and_the_theme_switches() {
    let (_tmp, dir) = sample("text-tools");
    let mut harness = harness(dir);
    wait_for(&mut harness, "the project to open", |h| h.query_by_label("Add upper").is_some());
    assert!(harness.query_by_label("Ctrl+Shift+Z").is_none());
    harness.key_press(egui::Key::F1);
    harness.run_steps(2);
    assert!(harness.query_by_label("Ctrl+Shift+Z").is_some(), "F1 opens the shortcuts");
    harness.key_press(egui::Key::F1);
    harness.run_steps(2);
    assert!(harness.query_by_label("Ctrl+Shift+Z").is_none(), "and closes them");
    let before = harness.ctx.theme();
    let other = if before == egui::Theme::Dark { "Light theme" } else { "Dark theme" };
    harness.get_by_label(other).click();
    harness.run_steps(2);
    assert_ne!(harness.ctx.theme(), before);
}
