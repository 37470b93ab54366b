//! Compiled code on disk, keyed by the component's sha256 and the engine's
//! fingerprint, in a folder only the current user can write; and where a
//! loaded component's code came from ([`LoadOrigin`]).

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::{Digest, Error, Result};

/// Where a loaded component's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadOrigin {
    /// Compiled now by Cranelift.
    Compiled,
    /// Read back from the on-disk compile cache.
    DiskCache,
}

/// Compiled code on disk: `<root>/<engine fingerprint>/<sha256>.cwasm`.
///
/// The root is the user's (`HostConfig::cache_dir`, which may be a shared folder such
/// as a 1777 one): it keeps its mode. Code is only read from the
/// fingerprint folder, which must be the current user's and writable by
/// nobody else (airssys creates it, and any missing parent, 0700 from the
/// start), and only output of `Component::serialize` for the same engine
/// fingerprint is ever written there.
#[derive(Debug)]
pub(crate) struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// Opens (creating if needed) the cache for one engine fingerprint.
    ///
    /// Errors: [`Error::Io`] when the folder cannot be made; [`Error::Cache`]
    /// when the fingerprint folder is not a folder owned by the current user
    /// or can be written by others (compiled code read from there runs
    /// natively, so nobody else may plant it).
    pub(crate) fn open(root: &Path, fingerprint: &str) -> Result<Self> {
        let dir = root.join(fingerprint);
        crate::fsutil::create_private_dir_all(&dir).map_err(|e| Error::io("create the compile cache", &dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = fs::symlink_metadata(&dir).map_err(|e| Error::io("open the compile cache", &dir, e))?;
            let ours = meta.is_dir() && meta.uid() == rustix::process::getuid().as_raw();
            if !ours || meta.mode() & 0o022 != 0 {
                return Err(Error::Cache(format!(
                    "{} is not a folder only you can write (it belongs to another user, is a link, or others may \
                     write it), so compiled code is not read from it; remove it or choose another cache folder (HostConfig::cache_dir)",
                    dir.display()
                )));
            }
        }
        Ok(CompileCache { dir })
    }

    pub(crate) fn path_for(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.hex()))
    }

    /// Writes compiled code atomically: temp file, fsync, rename.
    pub(crate) fn store(&self, digest: &Digest, compiled: &[u8]) -> Result<()> {
        crate::fsutil::write_atomic(&self.path_for(digest), compiled)
    }
}
