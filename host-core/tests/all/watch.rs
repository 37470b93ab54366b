//! `Host::watch`: a rewritten component file goes live; garbage does not.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use host_core::{Input, watch::WatchEvent};

use crate::common::*;

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

#[test]
fn rewritten_file_serves_within_two_seconds_and_garbage_keeps_the_old_version() {
    let data = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("components")).unwrap();
    let file = project.path().join("components/text.wasm");
    std::fs::copy(sample_path("text-tools", "upper"), &file).unwrap();

    let host = data_host(data.path());
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let _watch = host.watch(project.path(), move |e| seen.lock().unwrap().push(e)).unwrap();
    let call = || host.invoke("text", &Input::new(b"hello".to_vec())).map(|o| o.data);
    assert_eq!(call().unwrap(), b"HELLO", "the initial file is deployed at start");

    // Rewrite the file in place with another component.
    std::fs::write(&file, std::fs::read(sample_path("text-tools", "word-count")).unwrap()).unwrap();
    let took = wait_for("the new version serving", Duration::from_secs(2), || {
        call().is_ok_and(|out| out.starts_with(b"{\"lines\""))
    });
    eprintln!("new version live {took:?} after the write");
    // The new version takes traffic a moment before the rollout records it.
    wait_for("the rollout recorded", Duration::from_secs(2), || {
        host.service_spec("text").unwrap().component.to_string() == "text@0.1.1"
    });

    // Garbage is refused and reported; the previous version keeps serving.
    std::fs::write(&file, b"garbage, not wasm").unwrap();
    wait_for("the garbage being refused", Duration::from_secs(2), || {
        events.lock().unwrap().iter().any(|e| matches!(e, WatchEvent::Rejected { .. }))
    });
    assert!(call().unwrap().starts_with(b"{\"lines\""));
    assert_eq!(host.service_spec("text").unwrap().component.to_string(), "text@0.1.1");
    let triggers: Vec<String> =
        host.rollouts(Some("text")).unwrap().into_iter().map(|r| r.trigger.to_string()).collect();
    assert_eq!(triggers, ["watch", "watch"]);
}
