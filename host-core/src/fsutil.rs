//! Crash-safe file writes, secret files, private folders, a whole-folder
//! lock and Unix time stamps: the file rules every writer follows, with no
//! knowledge of what the files hold.
//!
//! Modes (Unix), the rule every writer in host-core follows:
//!
//! - A folder that already exists keeps its mode: airssys never chmods a
//!   folder the user named (`--data-dir`, `--cache-dir`, a project folder).
//! - Folders airssys makes for its own data (the data folder and its
//!   subfolders, the compile cache, a project's `.airssys/`, the folder of
//!   a key or token file), missing parents included, are created 0700 from
//!   the start ([`create_private_dir_all`]): never readable by others, not
//!   even for a moment. (Project folders made by Save As are documents and
//!   get the usual mode.)
//! - Secrets (secret keys, the server token) are created 0600 from their
//!   first byte, whatever the umask, and never replace an existing file
//!   unless asked ([`write_secret`], [`stage`]).

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use crate::{Error, Result};

/// Mode of a secret file: owner read and write only.
pub(crate) const SECRET_MODE: u32 = 0o600;
/// Mode of an ordinary file, before the umask.
pub(crate) const FILE_MODE: u32 = 0o666;
/// Mode of a folder airssys makes for itself: owner only.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// What [`Staged::commit`] does when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfExists {
    /// Leave the existing file as it is and fail with `AlreadyExists`.
    Refuse,
    /// Replace it atomically.
    Replace,
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or
/// the new one, never a torn one: temp file in the same folder, fsync,
/// rename, fsync the folder. A missing folder is created private.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    stage(path, bytes, FILE_MODE, "write")?.commit(IfExists::Replace)
}

/// Writes a secret (a secret key, a token) to `path`: mode 0600 from the
/// first byte whatever the umask, crash-safe like [`write_atomic`], and an
/// existing file is replaced only with [`IfExists::Replace`]. A missing
/// folder is created 0700; a bare file name goes into the current folder.
///
/// Errors: [`Error::Io`] (`AlreadyExists` when the file is there and
/// `if_exists` is `Refuse`; the file is then left untouched). On any error
/// nothing new is left on disk.
pub(crate) fn write_secret(path: &Path, bytes: &[u8], if_exists: IfExists, action: &'static str) -> Result<()> {
    stage(path, bytes, SECRET_MODE, action)?.commit(if_exists)
}

/// Creates `dir` and its missing parents with mode 0700 from the start (on
/// Unix; the umask can only narrow it). Folders that exist keep their mode.
pub(crate) fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir)
}

/// The folder a file path lives in: `.` for a bare file name.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file written in full and fsynced next to its target, not yet in place.
/// Dropping it without [`Staged::commit`] removes the temporary file.
#[derive(Debug)]
pub(crate) struct Staged {
    temp: Option<PathBuf>,
    target: PathBuf,
    dir: PathBuf,
    action: &'static str,
}

/// Writes `bytes` to a new temporary file beside `path` (created with
/// O_CREAT|O_EXCL and `mode` before the umask, so it never has a wider
/// mode, not even for a moment) and fsyncs it. The folder is created
/// private if missing. `action` names the write in errors ("write the
/// secret key").
pub(crate) fn stage(path: &Path, bytes: &[u8], mode: u32, action: &'static str) -> Result<Staged> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = folder_of(path);
    create_private_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temp).map_err(|e| Error::io(action, path, e))?;
    // From here on, dropping `staged` removes the temporary file.
    let staged = Staged { temp: Some(temp), target: path.to_path_buf(), dir: dir.to_path_buf(), action };
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Error::io(action, path, e))?;
    Ok(staged)
}

impl Staged {
    /// The temporary file (until committed).
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> Option<&Path> {
        self.temp.as_deref()
    }

    /// Moves the file into place: a rename with [`IfExists::Replace`], else
    /// a hard link, which refuses an existing target atomically (then the
    /// temporary name is removed). Then fsyncs the folder.
    pub(crate) fn commit(mut self, if_exists: IfExists) -> Result<()> {
        let Some(temp) = self.temp.take() else { return Ok(()) };
        let placed = match if_exists {
            IfExists::Replace => fs::rename(&temp, &self.target),
            IfExists::Refuse => fs::hard_link(&temp, &self.target).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    std::io::Error::new(
                        e.kind(),
                        "a file is already there and was left as it is; choose another name, or replace it on purpose",
                    )
                } else {
                    e
                }
            }),
        };
        if let Err(e) = placed {
            let _ = fs::remove_file(&temp);
            return Err(Error::io(self.action, &self.target, e));
        }
        if if_exists == IfExists::Refuse
            && let Err(e) = fs::remove_file(&temp)
        {
            tracing::warn!(error = %e, path = %temp.display(), "cannot remove a temporary file");
        }
        sync_dir(&self.dir).map_err(|e| Error::io(self.action, &self.target, e))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()?;
    }
    let _ = dir;
    Ok(())
}

/// Reads and parses a JSON file; `None` when it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|source| Error::DataCorrupt { path: path.to_path_buf(), source })
}

/// The stems of the `*.json` files in `dir` (hidden files skipped), sorted.
pub(crate) fn json_stems(dir: &Path, action: &'static str) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io(action, dir, e))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// Serializes `value` as pretty JSON and writes it atomically.
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(Error::encode("a data file"))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// An exclusive lock on a data folder, held until dropped. Processes that
/// change the same folder take turns.
#[derive(Debug)]
pub(crate) struct FolderLock {
    file: fs::File,
    path: PathBuf,
}

impl FolderLock {
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        create_private_dir_all(dir).map_err(|e| Error::io("create the data folder", dir, e))?;
        let path = dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open the lock file", &path, e))?;
        file.lock().map_err(|e| Error::io("lock the data folder", &path, e))?;
        Ok(FolderLock { file, path })
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        if let Err(e) = self.file.unlock() {
            tracing::warn!(error = %e, path = %self.path.display(), "cannot unlock the data folder");
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub(crate) fn unix_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_secret_is_0600_from_its_first_byte_to_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let staged = stage(&path, b"secret", SECRET_MODE, "write the key").unwrap();
        let temp = staged.temp_path().unwrap().to_path_buf();
        assert_eq!(temp.parent(), Some(dir.path()), "the temporary file is beside its target");
        assert_eq!(mode(&temp), 0o600, "the temporary file is never readable by others");
        assert!(!path.exists(), "not in place before the commit");
        staged.commit(IfExists::Refuse).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert_eq!(names(dir.path()), ["k.key"], "no temporary file is left");
    }

    #[test]
    fn an_existing_file_is_never_replaced_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = write_secret(&path, b"new", IfExists::Refuse, "write the secret key").unwrap_err();
        let Error::Io { source, .. } = &err else { panic!("{err:?}") };
        assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
        assert!(err.to_string().starts_with("cannot write the secret key: a file is already there"), "{err}");
        assert!(err.to_string().ends_with("k.key"), "the path comes last: {err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(mode(&path), 0o644);
        assert_eq!(names(dir.path()), ["k.key"], "no temporary file is left");

        write_secret(&path, b"new", IfExists::Replace, "write the secret key").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600, "the replacement is a secret from its first byte too");
        assert_eq!(names(dir.path()), ["k.key"]);
    }

    #[test]
    fn a_symlink_in_the_way_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        let path = dir.path().join("k.key");
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(write_secret(&path, b"new", IfExists::Refuse, "write").is_err());
        assert!(!elsewhere.exists(), "nothing was written through the link");
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // The folder cannot be made: a file is where it would go.
        fs::write(dir.path().join("file"), b"").unwrap();
        assert!(write_secret(&dir.path().join("file/k.key"), b"s", IfExists::Refuse, "write").is_err());
        // Staged but never committed: the temporary file goes.
        let staged = stage(&dir.path().join("k.key"), b"s", SECRET_MODE, "write").unwrap();
        drop(staged);
        // A folder in the way of the target: refused either way.
        fs::create_dir(dir.path().join("taken")).unwrap();
        for if_exists in [IfExists::Refuse, IfExists::Replace] {
            assert!(write_secret(&dir.path().join("taken"), b"s", if_exists, "write").is_err());
        }
        assert_eq!(names(dir.path()), ["file", "taken"]);
        assert!(names(&dir.path().join("taken")).is_empty());
    }

    #[test]
    fn missing_folders_are_made_private_and_existing_ones_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let open = dir.path().join("open");
        for (folder, wide) in [(&shared, 0o1777), (&open, 0o755)] {
            fs::create_dir(folder).unwrap();
            fs::set_permissions(folder, fs::Permissions::from_mode(wide)).unwrap();
        }
        write_secret(&shared.join("new/deeper/k.key"), b"s", IfExists::Refuse, "write").unwrap();
        write_atomic(&open.join("file.json"), b"{}").unwrap();
        create_private_dir_all(&open).unwrap();
        assert_eq!(mode(&shared), 0o1777);
        assert_eq!(mode(&open), 0o755);
        assert_eq!(mode(&shared.join("new")), 0o700, "a missing parent is airssys-made, so private");
        assert_eq!(mode(&shared.join("new/deeper")), 0o700);
        assert_eq!(mode(&shared.join("new/deeper/k.key")), 0o600);
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_folder() {
        assert_eq!(folder_of(Path::new("release.key")), Path::new("."));
        assert_eq!(folder_of(Path::new("./sub/k.key")), Path::new("./sub"));
        assert_eq!(folder_of(Path::new("/k.key")), Path::new("/"));
        create_private_dir_all(Path::new("")).unwrap();
    }
}
