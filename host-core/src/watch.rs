//! Hot redeploy on file change: `airssys watch PROJECT_DIR` and the studio
//! (`Host::watch`). Owns the file watcher and its thread; stores and
//! deploys through the services subsystem.
//!
//! Every component file of the project (`components/*.wasm`, `*.wasm`) is a
//! service named after the file stem. When a file changes (debounced), its
//! bytes are validated, stored as the next patch version of that name and
//! deployed with the service's development strategy (Immediate unless set).
//! An invalid file is reported and the old version keeps serving; so is a
//! change while the audit log or the rollout history cannot take a record
//! (a torn last line: `airssys audit repair`), with nothing stored.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::{Arc, mpsc},
    time::Duration,
};

use notify::{RecursiveMode, Watcher as _};

use crate::{
    Digest, Error, Result,
    background::{Background, Step, Stopping},
    deploy::{DeployRequest, Services, Strategy},
    registry::ComponentRef,
    types::Trigger,
};

/// How long a file must stay quiet before it is redeployed.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a watch did with a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The file's bytes went live as this version.
    Deployed {
        /// The service (the file stem).
        service: String,
        /// The version now serving.
        component: ComponentRef,
        /// The file.
        file: PathBuf,
    },
    /// The file was refused; the old version keeps serving.
    Rejected {
        /// The file.
        file: PathBuf,
        /// Why.
        error: String,
    },
}

/// A running watch; dropping it stops watching.
pub struct Watch {
    _thread: Background,
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Watch {
    /// Deploys every component file of `project` that is not live yet, then
    /// watches them and redeploys on change (`Host::watch`).
    pub(crate) fn start(
        services: Arc<Services>,
        project: &Path,
        on_event: impl Fn(WatchEvent) + Send + 'static,
    ) -> Result<Self> {
        for file in component_files(project)? {
            on_event(redeploy_file(&services, &file));
        }
        let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(tx).map_err(|e| watch_error(project, e))?;
        for dir in [project.join("components"), project.to_path_buf()] {
            if dir.is_dir() {
                watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(|e| watch_error(&dir, e))?;
            }
        }
        let thread = Background::start("watch", Duration::ZERO, move |stopping| {
            for file in debounced(&rx, stopping).unwrap_or_default() {
                if file.exists() {
                    on_event(redeploy_file(&services, &file));
                }
            }
            Step::Again
        })?;
        Ok(Watch { _thread: thread, _watcher: watcher })
    }
}

/// Stores and deploys one component file (if its bytes are not live).
fn redeploy_file(services: &Services, file: &Path) -> WatchEvent {
    let rejected = |error: String| WatchEvent::Rejected { file: file.to_path_buf(), error };
    let Some(name) = file.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
        return rejected("the file name is not valid UTF-8".into());
    };
    match deploy_file_as(services, &name, file) {
        Ok(component) => WatchEvent::Deployed { service: name, component, file: file.to_path_buf() },
        Err(e) => rejected(e.to_string()),
    }
}

fn deploy_file_as(services: &Services, name: &str, file: &Path) -> Result<ComponentRef> {
    let bytes = std::fs::read(file).map_err(|e| Error::io("read the component", file, e))?;
    let digest = Digest::of(&bytes);
    let live = services.spec(name).ok();
    if let Some(spec) = live.as_ref().filter(|spec| spec.digest == digest) {
        return Ok(spec.component.clone());
    }
    // Audit or refuse: nothing is stored unless the deploy can be recorded.
    services.check_recordable()?;
    let reference = services.next_version(name, &digest)?;
    services.add_component(&reference, &bytes)?;
    let strategy = live.map(|spec| spec.dev_strategy).unwrap_or(Strategy::Immediate);
    services.deploy(DeployRequest::new(name, reference.clone()).strategy(strategy), Trigger::Watch)?;
    Ok(reference)
}

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

/// Waits for `.wasm` changes, then for `DEBOUNCE` of quiet; returns the
/// changed files (or `None` after a short idle wait, to check `stop`).
fn debounced(rx: &mpsc::Receiver<notify::Result<notify::Event>>, stop: &Stopping) -> Option<BTreeSet<PathBuf>> {
    fn collect(changed: &mut BTreeSet<PathBuf>, event: notify::Result<notify::Event>) {
        if let Ok(event) = event
            && (event.kind.is_create() || event.kind.is_modify())
        {
            changed.extend(event.paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "wasm")));
        }
    }
    let mut changed = BTreeSet::new();
    collect(&mut changed, rx.recv_timeout(Duration::from_millis(200)).ok()?);
    while !stop.is_set() {
        match rx.recv_timeout(DEBOUNCE) {
            Ok(event) => collect(&mut changed, event),
            Err(_) => break,
        }
    }
    (!changed.is_empty()).then_some(changed)
}

fn watch_error(path: &Path, e: notify::Error) -> Error {
    Error::io("watch", path, std::io::Error::other(e.to_string()))
}
