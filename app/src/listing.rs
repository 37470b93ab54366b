//! What the studio shows for a project folder: each component file with
//! the description host-core gives it, or the error that stopped it.

use std::path::{Path, PathBuf};

use host_core::{Description, Host, project};

/// One row of the component list.
#[derive(Debug)]
pub struct ComponentRow {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// What host-core found, or why it could not load the file.
    pub outcome: Result<Description, String>,
}

/// Loads and describes every component of a project folder.
pub fn describe_project(host: &Host, dir: &Path) -> Result<Vec<ComponentRow>, host_core::Error> {
    let files = project::component_files(dir)?;
    Ok(files
        .into_iter()
        .map(|file| {
            let outcome =
                host.load_file(&file).and_then(|component| host.describe(&component)).map_err(|e| e.to_string());
            ComponentRow { file, outcome }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_project_lists_every_component_with_metadata() {
        let host = Host::new(host_core::HostConfig { cache_dir: None, ..Default::default() }).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-projects/text-tools");
        let rows = describe_project(&host, &dir).unwrap();
        let names: Vec<String> =
            rows.iter().map(|r| r.outcome.as_ref().map(|d| d.metadata.name.clone()).unwrap()).collect();
        assert!(names.contains(&"upper".to_string()), "{names:?}");
        assert!(rows.len() >= 3);
    }

    #[test]
    fn broken_component_shows_its_error_and_the_rest_still_load() {
        let host = Host::new(host_core::HostConfig { cache_dir: None, ..Default::default() }).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("components")).unwrap();
        std::fs::write(dir.path().join("components/broken.wasm"), b"not wasm").unwrap();
        let upper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-projects/text-tools/components/upper.wasm");
        std::fs::copy(upper, dir.path().join("components/upper.wasm")).unwrap();
        let rows = describe_project(&host, dir.path()).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].outcome.as_ref().unwrap_err().contains("magic"));
        assert_eq!(rows[1].outcome.as_ref().unwrap().metadata.name, "upper");
    }

    #[test]
    fn missing_folder_is_an_error() {
        let host = Host::new(host_core::HostConfig { cache_dir: None, ..Default::default() }).unwrap();
        assert!(describe_project(&host, Path::new("/definitely/not/here")).is_err());
    }
}
