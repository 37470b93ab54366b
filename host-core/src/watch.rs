//! Hot redeploy on file change: `airssys watch PROJECT_DIR` and the studio.
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
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use notify::{RecursiveMode, Watcher as _};

use crate::{
    Digest, Error, Host, Result,
    deploy::{DeployRequest, Strategy},
    project,
    registry::ComponentRef,
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
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Host {
    /// Deploys every component file of `project` that is not live yet, then
    /// watches them and redeploys on change. `on_event` hears about each
    /// deploy and each refused file.
    pub fn watch(&self, project: &Path, on_event: impl Fn(WatchEvent) + Send + 'static) -> Result<Watch> {
        self.registry()?;
        for file in project::component_files(project)? {
            on_event(self.redeploy_file(&file));
        }
        let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(tx).map_err(|e| watch_error(project, e))?;
        for dir in [project.join("components"), project.to_path_buf()] {
            if dir.is_dir() {
                watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(|e| watch_error(&dir, e))?;
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let host = self.clone();
        let stopping = stop.clone();
        let thread = thread::Builder::new()
            .name("airssys-watch".into())
            .spawn(move || {
                while !stopping.load(Ordering::SeqCst) {
                    let Some(changed) = debounced(&rx, &stopping) else { continue };
                    for file in changed {
                        if file.exists() {
                            on_event(host.redeploy_file(&file));
                        }
                    }
                }
            })
            .map_err(Error::thread("watch"))?;
        Ok(Watch { stop, thread: Some(thread), _watcher: watcher })
    }

    /// Stores and deploys one component file (if its bytes are not live).
    fn redeploy_file(&self, file: &Path) -> WatchEvent {
        let rejected = |error: String| WatchEvent::Rejected { file: file.to_path_buf(), error };
        let Some(name) = file.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
            return rejected("the file name is not valid UTF-8".into());
        };
        match self.deploy_file_as(&name, file) {
            Ok(component) => WatchEvent::Deployed { service: name, component, file: file.to_path_buf() },
            Err(e) => rejected(e.to_string()),
        }
    }

    fn deploy_file_as(&self, name: &str, file: &Path) -> Result<ComponentRef> {
        let bytes = std::fs::read(file).map_err(|e| Error::io("read the component", file, e))?;
        let digest = Digest::of(&bytes);
        let live = self.service_spec(name).ok();
        if let Some(spec) = live.as_ref().filter(|spec| spec.digest == digest) {
            return Ok(spec.component.clone());
        }
        // Audit or refuse: nothing is stored unless the deploy can be recorded.
        self.ensure_recordable(true)?;
        let reference = self.next_version(name, &digest)?;
        self.add_component(&reference, &bytes)?;
        let strategy = live.map(|spec| spec.dev_strategy).unwrap_or(Strategy::Immediate);
        self.deploy_as(DeployRequest::new(name, reference.clone()).strategy(strategy), crate::types::Trigger::Watch)?;
        Ok(reference)
    }

    /// The version these bytes already have, or the next patch version.
    fn next_version(&self, name: &str, digest: &Digest) -> Result<ComponentRef> {
        let versions = match self.registry()?.history(name) {
            Ok(record) => record.versions,
            Err(Error::UnknownComponent { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let (version, _) = crate::registry::next_version(&versions, digest);
        let reference = ComponentRef { name: name.to_string(), version };
        crate::registry::check_name(name)?;
        Ok(reference)
    }
}

/// Waits for `.wasm` changes, then for `DEBOUNCE` of quiet; returns the
/// changed files (or `None` after a short idle wait, to check `stop`).
fn debounced(rx: &mpsc::Receiver<notify::Result<notify::Event>>, stop: &AtomicBool) -> Option<BTreeSet<PathBuf>> {
    fn collect(changed: &mut BTreeSet<PathBuf>, event: notify::Result<notify::Event>) {
        if let Ok(event) = event
            && (event.kind.is_create() || event.kind.is_modify())
        {
            changed.extend(event.paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "wasm")));
        }
    }
    let mut changed = BTreeSet::new();
    collect(&mut changed, rx.recv_timeout(Duration::from_millis(200)).ok()?);
    while !stop.load(Ordering::SeqCst) {
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
