//! Project folders: a folder holding component files (`components/*.wasm`).
//!
//! The project file (`project.ron`: services, pipelines, tests, targets)
//! extends this; a folder without one is still a project of its components.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The `.wasm` files of a project folder: `DIR/components/*.wasm`, then
/// `DIR/*.wasm`, each list sorted by file name.
pub fn component_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::io(
            "open the project folder",
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        ));
    }
    let mut files = Vec::new();
    for folder in [dir.join("components"), dir.to_path_buf()] {
        if !folder.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::io("list the project folder", &folder, e))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        found.sort();
        files.extend(found);
    }
    Ok(files)
}
