//! The registry: immutable, content-addressed component versions on disk.
//! Storage only: validating and auditing an added version is the deploy
//! subsystem's (`deploy::versions`).
//!
//! ```text
//! DATA/blobs/<sha256>.wasm     the bytes, named by their digest
//! DATA/names/<name>.json       name -> [version -> digest], in the order added
//! ```
//!
//! Storing bytes gives their digest (idempotent). A `name@version` points at
//! one digest forever: re-tagging it to other bytes is refused. Every read of
//! a blob checks its digest, so a file changed on disk is refused on load.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::types::{ComponentRef, check_name};
use crate::{
    Digest, Error, Result,
    fsutil::{self, FolderLock},
};

/// One version of a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The semantic version.
    pub version: semver::Version,
    /// The bytes it names.
    pub digest: Digest,
    /// Size of the bytes.
    pub size_bytes: u64,
    /// When it was added (seconds since the Unix epoch).
    pub added_at: u64,
}

/// A name and its versions, in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRecord {
    /// The name.
    pub name: String,
    /// Its versions, oldest first.
    pub versions: Vec<VersionRecord>,
}

/// The registry in a data folder.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

impl Registry {
    /// Opens (creating if needed) the registry in `data_dir`. Folders it
    /// creates (the data folder included) are private (0700); an existing
    /// data folder keeps its mode.
    pub fn open(data_dir: &Path) -> Result<Self> {
        for dir in ["blobs", "names"] {
            let path = data_dir.join(dir);
            fsutil::create_private_dir_all(&path).map_err(|e| Error::io("create the registry folder", &path, e))?;
        }
        Ok(Registry { root: data_dir.to_path_buf() })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(format!("{}.wasm", digest.hex()))
    }

    fn name_path(&self, name: &str) -> PathBuf {
        self.root.join("names").join(format!("{name}.json"))
    }

    /// Stores bytes (already validated by the caller) and returns their
    /// digest. Storing the same bytes again changes nothing.
    pub fn store_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of(bytes);
        let path = self.blob_path(&digest);
        let intact = std::fs::read(&path).map(|existing| Digest::of(&existing) == digest).unwrap_or(false);
        if !intact {
            fsutil::write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// Reads a blob and checks that its bytes still match its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read the stored component", &path, e))?;
        if Digest::of(&bytes) != *digest {
            return Err(Error::BlobCorrupt { digest: *digest, path });
        }
        Ok(bytes)
    }

    /// Keeps a signature beside its blob (`blobs/<sha256>.sig.json`).
    pub fn store_signature(&self, signature: &crate::security::signing::ComponentSignature) -> Result<()> {
        fsutil::write_json(&self.signature_path(&signature.digest), signature)
    }

    /// The stored signature of a blob, if any.
    pub fn signature(&self, digest: &Digest) -> Result<Option<crate::security::signing::ComponentSignature>> {
        fsutil::read_json(&self.signature_path(digest))
    }

    fn signature_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(format!("{}.sig.json", digest.hex()))
    }

    /// Points `reference` at `digest`. The same tag to the same digest is a
    /// no-op; to another digest it is refused (versions are immutable).
    pub fn tag(&self, reference: &ComponentRef, digest: Digest, size_bytes: u64) -> Result<VersionRecord> {
        let _lock = FolderLock::acquire(&self.root)?;
        let path = self.name_path(&reference.name);
        let mut record: NameRecord = fsutil::read_json(&path)?
            .unwrap_or_else(|| NameRecord { name: reference.name.clone(), versions: Vec::new() });
        if let Some(existing) = record.versions.iter().find(|v| v.version == reference.version) {
            if existing.digest == digest {
                return Ok(existing.clone());
            }
            return Err(Error::VersionExists {
                reference: reference.to_string(),
                existing: existing.digest,
                new: digest,
            });
        }
        let entry =
            VersionRecord { version: reference.version.clone(), digest, size_bytes, added_at: fsutil::unix_now() };
        record.versions.push(entry.clone());
        fsutil::write_json(&path, &record)?;
        Ok(entry)
    }

    /// The digest `reference` points at.
    pub fn resolve(&self, reference: &ComponentRef) -> Result<VersionRecord> {
        let record = self.history(&reference.name)?;
        record.versions.iter().find(|v| v.version == reference.version).cloned().ok_or_else(|| Error::UnknownVersion {
            reference: reference.to_string(),
            known: record.versions.iter().map(|v| v.version.to_string()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Every version of `name`, oldest first.
    pub fn history(&self, name: &str) -> Result<NameRecord> {
        check_name(name)?;
        fsutil::read_json(&self.name_path(name))?.ok_or_else(|| Error::UnknownComponent { name: name.to_string() })
    }

    /// Every name, sorted, with its versions.
    pub fn list(&self) -> Result<Vec<NameRecord>> {
        let names = fsutil::json_stems(&self.root.join("names"), "list the registry")?;
        names.iter().map(|n| self.history(n)).collect()
    }

    /// Removes a version. `in_use` names the services that use a digest;
    /// a version some service uses is refused.
    pub fn remove(&self, reference: &ComponentRef, in_use: &dyn Fn(&Digest) -> Vec<String>) -> Result<()> {
        let _lock = FolderLock::acquire(&self.root)?;
        let path = self.name_path(&reference.name);
        let mut record = self.history(&reference.name)?;
        let Some(pos) = record.versions.iter().position(|v| v.version == reference.version) else {
            return Err(Error::UnknownVersion { reference: reference.to_string(), known: String::new() });
        };
        let digest = record.versions[pos].digest;
        let services = in_use(&digest);
        if !services.is_empty() {
            return Err(Error::InUse { reference: reference.to_string(), services: services.join(", ") });
        }
        record.versions.remove(pos);
        fsutil::write_json(&path, &record)?;
        // Drop the bytes once no name points at them any more.
        let still_named = self.list()?.iter().any(|n| n.versions.iter().any(|v| v.digest == digest));
        if !still_named {
            let _ = std::fs::remove_file(self.blob_path(&digest));
        }
        Ok(())
    }
}

/// The version new bytes of `name` should get, given the versions it has:
/// the version those very bytes already have (with `true`: reused),
/// else the next patch after the highest release (pre-releases such as
/// project-local builds are left out), else `0.1.0` for a new name. Used
/// by `watch` and by the studio when a `.wasm` is dropped on it.
pub fn next_version(versions: &[VersionRecord], digest: &Digest) -> (semver::Version, bool) {
    if let Some(same) = versions.iter().find(|v| v.digest == *digest) {
        return (same.version.clone(), true);
    }
    let next = versions
        .iter()
        .map(|v| &v.version)
        .filter(|v| v.pre.is_empty())
        .max()
        .map_or(semver::Version::new(0, 1, 0), |v| semver::Version::new(v.major, v.minor, v.patch + 1));
    (next, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: &str, bytes: &[u8]) -> VersionRecord {
        VersionRecord { version: version.parse().unwrap(), digest: Digest::of(bytes), size_bytes: 1, added_at: 0 }
    }

    #[test]
    fn next_version_reuses_same_bytes_and_bumps_the_highest_release() {
        assert_eq!(next_version(&[], &Digest::of(b"a")), ("0.1.0".parse().unwrap(), false));
        let versions =
            [record("1.0.0", b"a"), record("1.2.3", b"b"), record("0.0.0-local.d12", b"c"), record("2.0.0-rc1", b"d")];
        assert_eq!(next_version(&versions, &Digest::of(b"b")), ("1.2.3".parse().unwrap(), true));
        // Pre-releases (project builds, release candidates) are not bumped.
        assert_eq!(next_version(&versions, &Digest::of(b"new")), ("1.2.4".parse().unwrap(), false));
    }
}
