//! What the studio adds, measured against host-core alone in the same run:
//!
//! - `run/direct`: `Runtime::run_pipeline` on the text-tools sample's
//!   `shout-and-count` pipeline, called in place (the baseline);
//! - `run/studio`: the same run asked for by the studio (`Studio::run_pipeline`)
//!   and taken back by `Studio::poll`: the request and reply channels and the
//!   runtime thread;
//! - `frame/empty` and `frame/studio`: one headless frame (egui layout and
//!   accesskit, no GPU) of an empty window and of the studio showing the
//!   project, its canvas, inspector and metrics tab.
//!
//! `cargo bench -p app --bench studio`

#![allow(clippy::expect_used)] // a benchmark that cannot set up has nothing to report

use std::{path::PathBuf, time::Duration};

use app::Studio;
use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use host_core::{Host, HostConfig, Input, pipeline::RunOptions, project::Project};

const INPUT: &[u8] = b"hello studio, how fast are you";

fn sample() -> (tempfile::TempDir, PathBuf) {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-projects/text-tools");
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let dir = tmp.path().join("text-tools");
    std::fs::create_dir_all(dir.join("components")).expect("folders");
    std::fs::copy(from.join("project.ron"), dir.join("project.ron")).expect("project.ron");
    for entry in std::fs::read_dir(from.join("components")).expect("components") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join("components").join(path.file_name().expect("name"))).expect("copy");
    }
    (tmp, dir)
}

fn runs(c: &mut Criterion) {
    let (tmp, dir) = sample();
    let cache = tmp.path().join("cache");
    let project = Project::open(&dir).expect("the sample project");
    let pipeline = project.pipeline("shout-and-count").expect("the pipeline");

    let host = Host::new(HostConfig {
        data_dir: Some(tmp.path().join("direct-data")),
        cache_dir: Some(cache.clone()),
        ..HostConfig::default()
    })
    .expect("a host");
    project.apply(&host).expect("deployed");
    let options = RunOptions { trace: true, ..RunOptions::default() };

    let mut studio = Studio::with_cache_dir(|| {}, Some(dir.clone()), Some(cache));
    while studio.project().is_none() || studio.busy() {
        studio.poll();
        std::thread::sleep(Duration::from_millis(5));
    }
    studio.set_input("hello studio, how fast are you");

    let mut group = c.benchmark_group("run");
    group.bench_function("direct", |b| {
        b.iter(|| host.run_pipeline(&pipeline, Input::new(INPUT.to_vec()), &options).expect("the run"))
    });
    group.bench_function("studio", |b| {
        b.iter(|| {
            studio.run_pipeline();
            while studio.running() {
                studio.poll();
            }
            assert!(studio.last_run().is_some_and(Result::is_ok));
        })
    });
    group.finish();
}

fn frames(c: &mut Criterion) {
    let (tmp, dir) = sample();
    let studio = Studio::with_cache_dir(|| {}, Some(dir), Some(tmp.path().join("cache")));
    let mut harness = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(
        |ui, studio: &mut Studio| {
            studio.poll();
            studio.show(ui);
        },
        studio,
    );
    while harness.state().project().is_none() || harness.state().busy() {
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    harness.state_mut().set_tab(app::studio::Tab::Metrics);
    let mut empty = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui(|ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.label("empty");
        });
    });

    let mut group = c.benchmark_group("frame");
    group.bench_function("empty", |b| b.iter(|| empty.step()));
    group.bench_function("studio", |b| b.iter(|| harness.step()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = runs, frames
}
criterion_main!(benches);
