//! airssys-studio: the desktop studio over host-core.
//!
//! `airssys-studio [PROJECT_DIR]` opens a project's pipelines in a node
//! editor, with a palette of its services and the registry, an inspector,
//! and tabs for runs, deploys, metrics, guest logs and the audit log, on the
//! embedded runtime or an `airssys serve` server. This file is the entry
//! point only (logging, the window, the settings eframe kept); the studio
//! itself is the library's.

use anyhow::Result;

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,wasmtime=warn,cranelift=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(log_colors())
        .init();

    let project = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    if let Some(dir) = project.as_ref().filter(|dir| !dir.is_dir()) {
        anyhow::bail!("not a project folder: {}", dir.display());
    }

    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("airssys studio")
            .with_inner_size([1380.0, 880.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    eframe::run_native(
        "airssys-studio",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let mut studio = app::Studio::new(move || ctx.request_repaint(), project);
            // Recent projects, theme, remote form and tab of the last run.
            if let Some(settings) =
                cc.storage.and_then(|s| eframe::get_value::<app::studio::Settings>(s, eframe::APP_KEY))
            {
                studio.restore(settings);
            }
            Ok(Box::new(studio))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the studio window could not start: {e}"))
}

/// Colours in log lines only on a terminal, and never with `NO_COLOR` set
/// (to anything but the empty string, as no-color.org says).
fn log_colors() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
