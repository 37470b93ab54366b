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
    panic!("timed out waiting for {what}; errors shown: {:?}", harness.state().errors());
}

#[test]
fn opens_a_sample_project_shows_its_pipeline_and_runs_it() {
    let (_tmp, dir) = sample("text-tools");
    let mut harness = harness(dir);
    wait_for(&mut harness, "the project to open", |h| h.query_by_label("Add upper").is_some());
    // The default pipeline's nodes, titled node · service@version.
    assert!(harness.query_by_label_contains("upper · upper@local.").is_some());
    assert!(harness.query_by_label_contains("count · count@local.").is_some());

    type_input(&mut harness, "hello studio");
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
    type_input(&mut harness, "note.txt");
    harness.get_by_label("Run").click();
    wait_for(&mut harness, "the run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the run succeeds");
    assert_eq!(outcome.results[0].data, b"kept in the project");

    // The inspector shows what the service requests and that it is granted.
    click_node(&mut harness, "read", egui::Modifiers::NONE);
    assert!(harness.query_by_label("file-read:/data").is_some());
    assert!(harness.query_by_label("granted").is_some());
    // The grant waits in the project until saved; then project.ron keeps it.
    assert!(harness.query_by_label("unsaved changes").is_some());
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for(&mut harness, "the save", |h| !h.state().is_dirty());
    let saved = host_core::project::Project::open(&dir).unwrap();
    assert_eq!(saved.file.services["files"].grants.len(), 1, "{:?}", saved.file.services["files"]);
    assert!(saved.file.services["files"].grants[0].starts_with("file-read:/data="));
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

    type_input(&mut harness, "over the wire");
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

/// Nodes on the canvas.
fn nodes(harness: &Harness<'_, Studio>) -> usize {
    harness.state().current_pipeline().nodes.len()
}

/// Types `text` into the run console's input.
fn type_input(harness: &mut Harness<'_, Studio>, text: &str) {
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).focus();
    harness.run_steps(1);
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).type_text(text);
    harness.run_steps(2);
}

/// Moves the pointer onto the widget labelled `label`, then clicks it.
fn click(harness: &mut Harness<'_, Studio>, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    harness.run_steps(2);
    harness.get_by_label(label).hover();
    harness.run_steps(1);
    harness.get_by_label(label).click();
    harness.run_steps(2);
}

/// Replaces the text of the field labelled `label`.
fn type_into(harness: &mut Harness<'_, Studio>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label(label).type_text(text);
    harness.run_steps(2);
}

/// Clicks the canvas node `id` where it is on the screen (egui_kittest
/// reports the canvas's widgets in graph coordinates, before its zoom and pan).
fn click_node(harness: &mut Harness<'_, Studio>, id: &str, modifiers: egui::Modifiers) {
    let rect = harness.state().node_screen_rect(id).unwrap_or_else(|| panic!("node {id} is not drawn"));
    // The frame's bottom margin: no label there to take the click.
    let at = rect.center_bottom() - egui::vec2(0.0, 3.0);
    harness.hover_at(at);
    harness.event(egui::Event::ModifiersChanged(modifiers));
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton { pos: at, button: egui::PointerButton::Primary, pressed, modifiers });
    }
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    harness.run_steps(2);
}

fn opened(name: &str) -> (tempfile::TempDir, PathBuf, Harness<'static, Studio>) {
    let (tmp, dir) = sample(name);
    let mut harness = harness(dir.clone());
    wait_for(&mut harness, "the project to open", |h| h.state().project().is_some() && !h.state().busy());
    harness.run_steps(2);
    (tmp, dir, harness)
}

#[test]
fn a_canary_deploy_shows_its_progress_live_and_rollback_goes_back() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    // Click the node: the inspector shows it; change its service's config.
    click_node(&mut harness, "upper", egui::Modifiers::NONE);
    assert!(harness.query_by_label("node upper").is_some(), "a click on a node inspects it");
    assert!(harness.query_by_label_contains("digest ").is_some(), "its component");
    assert!(harness.query_by_label("● changed since deploy").is_none());
    type_into(&mut harness, "New key", "greeting");
    harness.get_by_label("Add key").click();
    harness.run_steps(2);
    type_into(&mut harness, "greeting", "hi");
    assert!(
        harness.query_all_by_label("● changed since deploy").count() >= 2,
        "both nodes of the service are marked changed"
    );
    let history = harness.state().services()["upper"].status.spec.history.len();

    // A canary with one judged step at 50 %, traffic from the console.
    click(&mut harness, "Deployment");
    click(&mut harness, "Canary");
    type_into(&mut harness, "weights %", "50,100");
    click(&mut harness, "Run console");
    type_input(&mut harness, "traffic");
    click(&mut harness, "Deployment");
    click(&mut harness, "Send traffic");
    click(&mut harness, "Deploy");
    wait_for(&mut harness, "the canary to start", |h| h.state().deploying());
    wait_for(&mut harness, "the canary at 50 %", |h| {
        h.state()
            .rollout_events()
            .iter()
            .any(|e| matches!(e, host_core::deploy::RolloutEvent::Step { step, .. } if step.new_weight_percent == 50.0))
    });
    wait_for(&mut harness, "the canary to finish", |h| !h.state().deploying());
    click(&mut harness, "Send traffic");
    harness.run_steps(3);
    assert!(harness.state().errors().is_empty(), "{:?}", harness.state().errors());
    assert!(harness.query_by_label_contains("(canary)").is_some(), "the rollout is listed");
    assert!(harness.query_all_by_label("succeeded").count() >= 1, "and its outcome");
    let upper = &harness.state().services()["upper"];
    assert_eq!(upper.status.spec.config.get("greeting").map(String::as_str), Some("hi"));
    assert_eq!(upper.status.spec.history.len(), history + 1);
    assert!(harness.query_by_label("● changed since deploy").is_none(), "deployed: no marker");

    // Roll back: the service goes back one entry in its history.
    click(&mut harness, "Roll back upper");
    wait_for(&mut harness, "the rollback", |h| {
        !h.state().deploying() && h.state().services()["upper"].status.spec.history.len() == history
    });
    assert!(harness.query_by_label_contains("upper rolled back to").is_some());
    wait_for(&mut harness, "the audit log", |h| h.state().audit().iter().any(|r| r.body.event == "deploy"));
    click(&mut harness, "Audit");
    assert!(harness.query_all_by_label("deploy").count() >= 4, "the audit view lists the deploys");
}

/// A file dropped on the window (what winit hands egui).
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_file(harness: &mut Harness<'_, Studio>, path: PathBuf) {
    harness.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(path)));
    harness.run_steps(1);
}

#[test]
fn a_dropped_wasm_joins_the_registry_and_is_dragged_onto_the_canvas() {
    let (tmp, dir, mut harness) = opened("text-tools");
    let file = tmp.path().join("Shouty Upper.wasm");
    std::fs::copy(dir.join("components/upper.wasm"), &file).unwrap();
    let garbage = tmp.path().join("broken.wasm");
    std::fs::write(&garbage, b"\0asm not really").unwrap();

    drop_file(&mut harness, garbage);
    wait_for(&mut harness, "the refusal", |h| !h.state().errors().is_empty());
    assert!(harness.state().errors()[0].contains("broken.wasm"), "{:?}", harness.state().errors());
    drop_file(&mut harness, file.clone());
    wait_for(&mut harness, "the registry", |h| h.query_by_label("Add shouty-upper").is_some());
    assert!(harness.query_by_label_contains("added to the registry as shouty-upper@0.1.0").is_some());
    assert_eq!(harness.state().registry().iter().filter(|r| r.name.starts_with("broken")).count(), 0);
    // The same bytes again: no new version.
    drop_file(&mut harness, file);
    wait_for(&mut harness, "the answer", |h| h.query_by_label_contains("already in the registry").is_some());

    // Drag the palette card onto the canvas.
    let before = nodes(&harness);
    let from = harness.get_by_label("shouty-upper").rect().center();
    let to = harness.state().node_screen_rect("upper").unwrap().center() + egui::vec2(0.0, 200.0);
    drag(&mut harness, from, to);
    assert_eq!(nodes(&harness), before + 1, "the dropped card became a node");
    let pipeline = harness.state().current_pipeline();
    let node = &pipeline.nodes["shouty-upper"];
    assert_eq!(node.service, "shouty-upper");
    let placed = harness.state().node_screen_rect("shouty-upper").unwrap();
    assert!(
        placed.contains(to) || placed.distance_to_pos(to) < 40.0,
        "placed where it was dropped: {placed:?} vs {to:?}"
    );
    assert!(node.position.is_some());
    let project = harness.state().project().unwrap();
    assert_eq!(project.file.services["shouty-upper"].component, "shouty-upper@0.1.0");

    // Deploy puts the new service live.
    click(&mut harness, "Deployment");
    click(&mut harness, "Deploy");
    wait_for(&mut harness, "the deploy", |h| h.state().services().contains_key("shouty-upper"));
    assert_eq!(harness.state().services()["shouty-upper"].version, "shouty-upper@0.1.0");
    // Undo removes the node again.
    harness.get_by_label("Undo").click();
    harness.run_steps(2);
    assert_eq!(nodes(&harness), before);
}

#[test]
fn several_nodes_are_selected_with_shift_and_deleted_in_one_undoable_step() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    let before = nodes(&harness);
    click_node(&mut harness, "upper", egui::Modifiers::SHIFT);
    click_node(&mut harness, "count", egui::Modifiers::SHIFT);
    assert!(harness.query_by_label("2 nodes selected").is_some());
    click(&mut harness, "Delete selected");
    harness.run_steps(2);
    assert_eq!(nodes(&harness), before - 2);
    harness.get_by_label("Undo").click();
    harness.run_steps(2);
    assert_eq!(nodes(&harness), before);
}

#[test]
fn guest_log_lines_show_up_filtered_by_service_and_metrics_are_plotted() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    type_input(&mut harness, "log me");
    harness.get_by_label("Run").click();
    wait_for(&mut harness, "the log line", |h| h.state().logs().iter().any(|l| l.message == "upper-cased text"));
    click(&mut harness, "Logs");
    assert_eq!(harness.state().tab(), app::studio::Tab::Logs);
    assert!(harness.query_all_by_label_contains("debug upper: upper-cased text bytes_in=6").count() >= 1);
    // Only `count`'s lines: upper's are hidden.
    click(&mut harness, "Service");
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "count").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("upper-cased text").is_none(), "filtered out");
    click(&mut harness, "Service");
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "upper").click();
    harness.run_steps(2);
    assert!(harness.query_all_by_label_contains("upper-cased text").count() >= 1, "upper's own lines");
    // Metrics arrive every second from the runtime; the table and plots show them.
    click(&mut harness, "Metrics");
    wait_for(&mut harness, "upper's calls in the metrics", |h| {
        h.state().metrics_series("upper").is_some_and(|s| s.iter().any(|s| s.calls_per_s > 0.0))
    });
    assert!(harness.query_by_label("calls/s").is_some() && harness.query_by_label("memory high-water (MiB)").is_some());
}

#[test]
fn save_as_moves_the_project_and_remembers_it_among_recent_projects() {
    let (tmp, _dir, mut harness) = opened("text-tools");
    harness.get_by_label("Add pretty").click();
    harness.run_steps(2);
    let copy = tmp.path().join("copy");
    harness.state_mut().save_as(copy.clone());
    wait_for(&mut harness, "the copy to open", |h| {
        h.state().project().is_some_and(|p| p.dir == copy) && !h.state().busy()
    });
    let saved = host_core::project::Project::open(&copy).unwrap();
    let default =
        saved.file.default_pipeline.clone().unwrap_or_else(|| saved.file.pipelines.keys().next().unwrap().clone());
    assert!(saved.pipeline(&default).unwrap().nodes.contains_key("pretty-2"), "the edit is in the copy");
    let settings = harness.state().settings();
    assert_eq!(settings.recent[0], std::fs::canonicalize(&copy).unwrap());
    // Settings come back in a new studio.
    let mut next = Studio::with_cache_dir(|| {}, None, Some(tmp.path().join("cache")));
    next.restore(settings.clone());
    assert_eq!(next.settings(), settings);
    // Saving into a folder that holds a project is refused, nothing lost.
    harness.state_mut().save_as(copy.clone());
    wait_for(&mut harness, "the refusal", |h| h.state().errors().iter().any(|e| e.contains("already holds a project")));
}

#[test]
fn opening_another_project_with_unsaved_changes_asks_first() {
    let (tmp, dir, mut harness) = opened("text-tools");
    let (_other_tmp, other) = sample("iot-sensors");
    click(&mut harness, "Add pretty");
    harness.state_mut().open_asking(other.clone());
    harness.run_steps(2);
    assert!(harness.query_by_label("Unsaved changes").is_some(), "the user is asked");
    click(&mut harness, "Cancel");
    assert_eq!(harness.state().project().unwrap().dir, dir, "cancel stays");
    harness.state_mut().open_asking(other.clone());
    harness.run_steps(2);
    click(&mut harness, "Save and open");
    wait_for(&mut harness, "the other project", |h| h.state().project().is_some_and(|p| p.dir == other));
    let saved = host_core::project::Project::open(&dir).unwrap();
    let name =
        saved.file.default_pipeline.clone().unwrap_or_else(|| saved.file.pipelines.keys().next().unwrap().clone());
    assert!(saved.pipeline(&name).unwrap().nodes.contains_key("pretty-2"), "the edit was saved first");
    drop(tmp);
}

#[test]
fn a_wire_between_mismatched_media_types_is_refused_with_the_reason_at_the_pointer() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    let wires = |h: &Harness<'_, Studio>| h.state().current_pipeline().wires.len();
    let before = wires(&harness);
    // count produces JSON; upper accepts text: drag count's `out` pin to upper's `in` pin.
    drag_wire(&mut harness, "count", "upper");
    assert_eq!(wires(&harness), before, "no wire was added");
    assert!(
        harness.query_by_label_contains("Wire refused: `count` produces application/json").is_some(),
        "the reason is shown"
    );

    // A matching wire is drawn: a new upper node fed by `shout` (text to text).
    click(&mut harness, "Add upper");
    harness.run_steps(2);
    drag_wire(&mut harness, "shout", "upper-2");
    let pipeline = harness.state().current_pipeline();
    assert_eq!(pipeline.wires.len(), before + 1);
    assert!(pipeline.wires.iter().any(|w| w.from == "shout" && w.to == "upper-2" && w.port == "out"));
    click(&mut harness, "Undo");
    assert_eq!(wires(&harness), before, "undo removes the wire");
}

/// Drags from `from`'s first output pin to `to`'s input pin.
fn drag_wire(harness: &mut Harness<'_, Studio>, from: &str, to: &str) {
    let a = harness.state().node_screen_rect(from).unwrap();
    let b = harness.state().node_screen_rect(to).unwrap();
    drag(harness, egui::pos2(a.max.x - 9.0, a.max.y - 18.0), egui::pos2(b.min.x + 9.0, b.max.y - 18.0));
}

/// Presses at `from`, moves the pointer to `to` in steps, releases there.
fn drag(harness: &mut Harness<'_, Studio>, from: egui::Pos2, to: egui::Pos2) {
    harness.hover_at(from);
    harness.run_steps(1);
    harness.drag_at(from);
    harness.run_steps(1);
    for i in 1..=10 {
        harness.hover_at(from + (to - from) * (i as f32 / 10.0));
        harness.run_steps(1);
    }
    harness.drop_at(to);
    harness.run_steps(3);
}

#[test]
fn an_unreachable_server_is_reported_and_the_embedded_runtime_keeps_working() {
    let (tmp, _dir, mut harness) = opened("text-tools");
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, "studio-test-token-0123456789abcdef").unwrap();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    type_into(&mut harness, "Server URL", &format!("http://127.0.0.1:{port}"));
    type_into(&mut harness, "Token file", token_file.to_str().unwrap());
    click(&mut harness, "Connect");
    wait_for(&mut harness, "the refusal", |h| !h.state().errors().is_empty() && !h.state().busy());
    assert!(harness.state().errors()[0].contains(&format!("cannot connect to http://127.0.0.1:{port}")));
    assert_eq!(harness.state().target(), &app::worker::Target::Embedded, "the target in use stays");
    harness.run_steps(2);
    assert!(harness.query_by_label("Add upper").is_some(), "the project stays open");
    type_input(&mut harness, "still here");
    click(&mut harness, "Run");
    wait_for(&mut harness, "the run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the embedded runtime still runs");
    assert!(outcome.results.iter().any(|r| r.data == b"STILL HERE"));
}

#[test]
fn a_project_naming_a_service_twice_shows_the_error_and_is_never_saved() {
    let (_tmp, dir) = sample("text-tools");
    let file = dir.join("project.ron");
    let original = std::fs::read_to_string(&file).unwrap();
    let entry = "        \"upper\": (component: \"components/upper.wasm\"),\n";
    let line = original[..original.find(entry).unwrap()].lines().count() + 2;
    let text = original.replacen(
        entry,
        &format!("{entry}        \"upper\": (component: \"components/word-count.wasm\"),\n"),
        1,
    );
    std::fs::write(&file, &text).unwrap();

    let mut harness = harness(dir.clone());
    wait_for(&mut harness, "the refusal", |h| !h.state().errors().is_empty() && !h.state().busy());
    let error = harness.state().errors()[0].clone();
    assert!(error.contains("duplicate key `upper`") && error.contains("in services"), "{error}");
    assert!(error.contains(&format!("project.ron:{line}:")), "the repeated entry's line {line}: {error}");
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("duplicate key `upper`").is_some(), "the error is shown");
    assert!(harness.state().project().is_none(), "no version without one of the entries is loaded");
    assert_eq!(nodes(&harness), 0);

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    harness.run_steps(2);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the file is left as it was");
    assert!(!dir.join(".airssys").exists(), "nothing was deployed");
}

#[test]
fn a_services_limits_are_edited_in_the_inspector_saved_and_deployed() {
    let (_tmp, dir, mut harness) = opened("text-tools");
    click_node(&mut harness, "upper", egui::Modifiers::NONE);
    assert!(harness.query_by_label("Limits").is_some(), "the inspector shows the service's limits");
    type_into(&mut harness, "Timeout (ms)", "2500");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    type_into(&mut harness, "Table elements", "20000");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for(&mut harness, "the save", |h| !h.state().is_dirty());
    let text = std::fs::read_to_string(dir.join("project.ron")).unwrap();
    assert!(text.contains("timeout_ms: 2500") && text.contains("max_table_elements: 20000"), "{text}");
    click(&mut harness, "Deployment");
    click(&mut harness, "Deploy");
    wait_for(&mut harness, "the deploy", |h| {
        !h.state().deploying() && h.state().services()["upper"].status.spec.limits.timeout_ms == 2500
    });
    let limits = harness.state().services()["upper"].status.spec.limits;
    assert_eq!((limits.timeout_ms, limits.max_table_elements), (2500, 20_000));
}

#[test]
fn undoing_a_registry_component_added_to_the_canvas_removes_its_service_entry() {
    let (tmp, dir, mut harness) = opened("text-tools");
    let file = tmp.path().join("shouty.wasm");
    std::fs::copy(dir.join("components/upper.wasm"), &file).unwrap();
    drop_file(&mut harness, file);
    wait_for(&mut harness, "the registry", |h| h.query_by_label("Add shouty").is_some());
    let services = |h: &Harness<'_, Studio>| h.state().project().unwrap().file.services.clone();
    let (before_nodes, before_services) = (nodes(&harness), services(&harness));

    click(&mut harness, "Add shouty");
    assert_eq!(nodes(&harness), before_nodes + 1);
    assert_eq!(services(&harness)["shouty"].component, "shouty@0.1.0", "the component became a service");
    click(&mut harness, "Undo");
    assert_eq!(nodes(&harness), before_nodes, "undo removes the node");
    assert_eq!(services(&harness), before_services, "and the service entry it brought: nothing is left behind");
    click(&mut harness, "Redo");
    assert_eq!(nodes(&harness), before_nodes + 1);
    assert!(services(&harness).contains_key("shouty"), "redo brings both back");
}

#[test]
fn configuration_error_policy_and_limits_edits_are_each_undone_by_undo() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    let upper = |h: &Harness<'_, Studio>| h.state().project().unwrap().file.services["upper"].clone();
    let policy = |h: &Harness<'_, Studio>| h.state().current_pipeline().nodes["upper"].on_error;
    let original = upper(&harness);
    click_node(&mut harness, "upper", egui::Modifiers::NONE);
    type_into(&mut harness, "New key", "greeting");
    click(&mut harness, "Add key");
    type_into(&mut harness, "greeting", "hi");
    click(&mut harness, "On error");
    harness.get_by_role_and_label(egui::accesskit::Role::Button, "Drop").click();
    harness.run_steps(2);
    type_into(&mut harness, "Timeout (ms)", "2500");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    assert_eq!(upper(&harness).config.get("greeting").map(String::as_str), Some("hi"));
    assert_eq!(upper(&harness).limits.map(|l| l.timeout_ms), Some(2500));
    assert_eq!(policy(&harness), host_core::pipeline::ErrorPolicy::Drop);
    assert!(harness.state().is_dirty());

    click(&mut harness, "Undo");
    assert_eq!(upper(&harness).limits, original.limits, "the limits edit is one step");
    assert_eq!(policy(&harness), host_core::pipeline::ErrorPolicy::Drop);
    click(&mut harness, "Undo");
    assert_eq!(policy(&harness), host_core::pipeline::ErrorPolicy::Fail, "the error policy edit");
    assert_eq!(upper(&harness).config.get("greeting").map(String::as_str), Some("hi"));
    click(&mut harness, "Undo");
    assert_eq!(upper(&harness).config.get("greeting").map(String::as_str), Some(""), "typing the value is one step");
    click(&mut harness, "Undo");
    assert_eq!(upper(&harness), original, "adding the key was the first step");
    click(&mut harness, "Redo");
    assert!(upper(&harness).config.contains_key("greeting"));
}

#[test]
fn a_save_that_fails_is_reported_and_the_project_stays_unsaved() {
    let (_tmp, dir, mut harness) = opened("text-tools");
    click(&mut harness, "Add pretty");
    assert!(harness.state().is_dirty());
    // project.ron cannot be replaced: a folder stands at its path.
    let file = dir.join("project.ron");
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for(&mut harness, "the failure", |h| !h.state().errors().is_empty() && !h.state().busy());
    assert!(harness.state().errors()[0].contains("project.ron"), "{:?}", harness.state().errors());
    assert!(harness.state().is_dirty(), "nothing was saved");
    harness.run_steps(2);
    assert!(harness.query_by_label("unsaved changes").is_some());
    assert!(harness.query_by_label(&harness.state().errors()[0]).is_some(), "the status bar shows why");

    // Once the path is free again, the same edit is saved.
    std::fs::remove_dir(&file).unwrap();
    std::fs::write(&file, original).unwrap();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for(&mut harness, "the save", |h| !h.state().is_dirty());
    let saved = host_core::project::Project::open(&dir).unwrap();
    assert!(saved.pipeline("shout-and-count").unwrap().nodes.contains_key("pretty-2"), "the edit was kept");
}

#[test]
fn an_input_file_is_read_off_the_ui_thread_and_a_missing_one_is_reported() {
    let (tmp, _dir, mut harness) = opened("text-tools");
    let file = tmp.path().join("input.txt");
    std::fs::write(&file, "from a file").unwrap();
    harness.state_mut().load_input(file);
    wait_for(&mut harness, "the input", |h| h.state().input() == "from a file" && !h.state().busy());
    click(&mut harness, "Run");
    wait_for(&mut harness, "the run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the run succeeds");
    assert!(outcome.results.iter().any(|r| r.data == b"FROM A FILE"), "{outcome:?}");

    let missing = tmp.path().join("missing.txt");
    harness.state_mut().load_input(missing.clone());
    wait_for(&mut harness, "the refusal", |h| !h.state().busy());
    harness.run_steps(2);
    assert!(harness.query_by_label_contains(&format!("cannot read {}", missing.display())).is_some());
    assert_eq!(harness.state().input(), "from a file", "the input stays");
}

/// A nats-server for one test, or `None` (skipped, with a note) when the
/// program is missing outside CI.
fn nats() -> Option<host_core::fleet::LocalNats> {
    match host_core::fleet::LocalNats::start() {
        Ok(nats) => Some(nats),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("nats-server must run under CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

#[test]
fn a_fleet_target_deploys_to_every_node_runs_there_and_shows_the_nodes() {
    use host_core::{
        Host, HostConfig, Runtime,
        fleet::{FleetConfig, FleetNode, FleetRuntime, NodeConfig},
    };
    let Some(nats) = nats() else { return };
    let (tmp, _dir, mut harness) = opened("text-tools");
    let _nodes: Vec<FleetNode> = ["n1", "n2"]
        .into_iter()
        .map(|name| {
            let data = tmp.path().join(name);
            let host = Host::new(HostConfig {
                data_dir: Some(data.clone()),
                cache_dir: Some(tmp.path().join("cache")),
                ..HostConfig::default()
            })
            .unwrap();
            let config = NodeConfig { fleet: FleetConfig::new(nats.url()), node: name.into(), api: None };
            FleetNode::start(host, config).unwrap()
        })
        .collect();

    type_into(&mut harness, "Fleet URL", nats.url());
    type_into(&mut harness, "Fleet name", "default");
    click(&mut harness, "Connect fleet");
    wait_for(&mut harness, "the project on the fleet", |h| {
        matches!(h.state().target(), app::worker::Target::Fleet { .. })
            && !h.state().busy()
            && h.query_by_label("Add upper").is_some()
    });
    assert!(harness.state().errors().is_empty(), "{:?}", harness.state().errors());
    // Every node reports every service of the project as converged.
    wait_for(&mut harness, "both nodes converged", |h| {
        h.state().fleet().is_some_and(|f| {
            f.nodes.len() == 2 && !f.services.is_empty() && f.services.iter().all(|s| s.converged.len() == 2)
        })
    });
    let fleet = FleetRuntime::connect(FleetConfig::new(nats.url())).unwrap();
    let names: Vec<String> = fleet.status(None).unwrap().into_iter().map(|s| s.spec.name).collect();
    assert_eq!(names, ["compact", "count", "pretty", "upper"]);

    // A run goes through the nodes.
    type_input(&mut harness, "across the fleet");
    click(&mut harness, "Run");
    wait_for(&mut harness, "the fleet run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the run succeeds");
    assert!(outcome.results.iter().any(|r| r.data == b"ACROSS THE FLEET"), "{outcome:?}");

    // The deployment tab lists the nodes and what each runs.
    harness.state_mut().set_tab(app::state::settings::Tab::Deploy);
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("fleet `default`: 2 node(s)").is_some(), "the target bar's summary");
    assert!(harness.query_all_by_label("n1").count() >= 4, "a row per service of node n1");
    assert!(harness.query_all_by_label("converged").count() >= 8, "every service converged on both nodes");
}

#[test]
fn an_unreachable_fleet_is_reported_and_the_embedded_runtime_keeps_working() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    type_into(&mut harness, "Fleet URL", &format!("nats://127.0.0.1:{port}"));
    click(&mut harness, "Connect fleet");
    wait_for(&mut harness, "the refusal", |h| !h.state().errors().is_empty() && !h.state().busy());
    let error = &harness.state().errors()[0];
    assert!(error.contains(&format!("cannot connect to fleet `default` at nats://127.0.0.1:{port}")), "{error}");
    assert_eq!(harness.state().target(), &app::worker::Target::Embedded, "the target in use stays");
    type_input(&mut harness, "still here");
    click(&mut harness, "Run");
    wait_for(&mut harness, "the run", |h| h.state().last_run().is_some());
    let outcome = harness.state().last_run().unwrap().clone().expect("the embedded runtime still runs");
    assert!(outcome.results.iter().any(|r| r.data == b"STILL HERE"));
}

#[test]
fn a_wasi_commands_arguments_are_edited_in_the_inspector_undone_saved_and_deployed() {
    let (tmp, dir) = sample("iot-sensors");
    // Open on the pipeline whose node is jaq, a WASI command.
    let file = dir.join("project.ron");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("name: \"iot-sensors\",", "name: \"iot-sensors\",\n    default_pipeline: Some(\"hot-list\"),", 1),
    )
    .unwrap();
    let mut harness = harness(dir.clone());
    wait_for(&mut harness, "the project to open", |h| h.state().project().is_some() && !h.state().busy());
    wait_for(&mut harness, "the deploy", |h| h.state().services().contains_key("pick-hot"));
    harness.run_steps(2);
    let args = |h: &Harness<'_, Studio>| h.state().project().unwrap().file.services["pick-hot"].args.clone();
    let original = args(&harness);
    click_node(&mut harness, "pick", egui::Modifiers::NONE);
    assert!(harness.query_by_label("Arguments").is_some(), "the inspector shows a command's arguments");
    type_into(&mut harness, "Arguments", "-c\nselect(.value > 50) | .sensor");
    assert_eq!(args(&harness), ["-c", "select(.value > 50) | .sensor"]);
    click(&mut harness, "Undo");
    assert_eq!(args(&harness), original, "the arguments edit is one undo step");
    click(&mut harness, "Redo");
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    wait_for(&mut harness, "the save", |h| !h.state().is_dirty());
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("select(.value > 50) | .sensor"), "{saved}");
    click(&mut harness, "Deployment");
    click(&mut harness, "Deploy");
    wait_for(&mut harness, "the deploy", |h| {
        !h.state().deploying()
            && h.state().services()["pick-hot"].status.spec.args.get(1).is_some_and(|a| a.contains("50"))
    });
    drop(tmp);
}

#[test]
fn the_diff_view_lists_the_changed_service_before_deploy() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    wait_for(&mut harness, "the services live", |h| h.state().services().contains_key("pretty"));
    click(&mut harness, "Deployment");
    assert!(harness.query_by_label("Changes").is_some(), "the deployment tab lists the changes");
    assert!(harness.query_by_label_contains("Deploy changes nothing").is_some(), "just opened: nothing to deploy");
    click_node(&mut harness, "pretty", egui::Modifiers::NONE);
    type_into(&mut harness, "indent", "8");
    harness.run_steps(2);
    assert!(harness.query_by_label("~ changed service pretty").is_some(), "the edited service is listed");
    assert!(harness.query_by_label_contains("config.indent: 2 -> 8").is_some(), "with its live and new value");
    assert!(harness.query_by_label_contains("changed service upper").is_none(), "and nothing else");
    assert!(harness.query_by_label_contains("Deploy changes nothing").is_none());
    // Deployed: nothing left to change.
    click(&mut harness, "Deploy");
    wait_for(&mut harness, "the deploy", |h| {
        !h.state().deploying()
            && h.state().services()["pretty"].status.spec.config.get("indent").map(String::as_str) == Some("8")
    });
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("Deploy changes nothing").is_some(), "after the deploy");
}

#[test]
fn a_refused_wire_notice_is_replaced_by_the_next_edit() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    harness.state_mut().refuse_wire("count sends application/json; upper takes text/plain");
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("wire refused: count sends").is_some(), "the status bar says why");
    click(&mut harness, "Add pretty");
    assert!(harness.query_by_label_contains("wire refused").is_none(), "the next edit's outcome replaces it");
    // A refused wire after an ordinary notice still shows.
    harness.state_mut().refuse_wire("again");
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("wire refused: again").is_some());
}

#[test]
fn a_node_keeps_its_size_when_it_changes_since_deploy() {
    let (_tmp, _dir, mut harness) = opened("text-tools");
    wait_for(&mut harness, "the services live", |h| h.state().services().contains_key("pretty"));
    let before = harness.state().node_screen_rect("pretty").unwrap();
    click_node(&mut harness, "pretty", egui::Modifiers::NONE);
    type_into(&mut harness, "indent", "8");
    harness.run_steps(3);
    assert!(harness.query_by_label("● changed since deploy").is_some(), "the marker shows");
    let after = harness.state().node_screen_rect("pretty").unwrap();
    assert_eq!(before.size(), after.size(), "the marker takes no extra room: neighbours' pins stay uncovered");
}
