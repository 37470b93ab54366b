//! airssys-studio: the desktop studio over host-core.
//!
//! `airssys-studio [PROJECT_DIR]` opens a window listing the project's
//! components with their metadata. The studio holds no runtime logic: it
//! shows what host-core reports and asks host-core to act.

mod listing;
mod studio;

use anyhow::Result;

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,wasmtime=warn,cranelift=warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let project = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    if let Some(dir) = project.as_ref().filter(|dir| !dir.is_dir()) {
        anyhow::bail!("not a project folder: {}", dir.display());
    }

    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("airssys studio")
            .with_inner_size([1200.0, 760.0])
            .with_min_inner_size([640.0, 400.0]),
        ..Default::default()
    };
    eframe::run_native(
        "airssys-studio",
        options,
        Box::new(move |cc| Ok(Box::new(studio::Studio::new(&cc.egui_ctx, project)))),
    )
    .map_err(|e| anyhow::anyhow!("the studio window could not start: {e}"))
}
