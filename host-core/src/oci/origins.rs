//! Where pulled components came from: `DIR/oci-origins.json` beside the
//! registry (the data folder, or a project's `.airssys/`). For each stored
//! `name@version` its [`Origin`] (the reference, the manifest and layer
//! digests); for each tag pulled, the manifest digest it had last time, so
//! a tag that moved is reported.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, fsutil};

/// The file's name inside its folder.
pub const ORIGINS_FILE: &str = "oci-origins.json";

/// Where one stored version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The reference pulled, as given (`oci://REGISTRY/REPO:TAG` or `@sha256:...`).
    pub reference: String,
    /// The manifest's digest (`sha256:HEX`).
    pub manifest_digest: String,
    /// The component layer's digest: the stored bytes' digest.
    pub layer_digest: String,
    /// Whether a signature came with it.
    #[serde(default)]
    pub signed: bool,
    /// When it was pulled (seconds since the Unix epoch).
    pub pulled_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OriginsFile {
    /// `name@version` -> where it came from.
    #[serde(default)]
    components: BTreeMap<String, Origin>,
    /// `oci://REGISTRY/REPO:TAG` -> (manifest digest, `name@version`) last pulled.
    #[serde(default)]
    tags: BTreeMap<String, TagRecord>,
}

/// What a tag pointed at when it was last pulled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    /// The manifest digest.
    pub manifest_digest: String,
    /// The `name@version` it was stored as.
    pub component: String,
}

/// The origins file in a folder.
#[derive(Debug, Clone)]
pub struct Origins {
    path: PathBuf,
}

impl Origins {
    /// The origins file in `dir` (created on the first record).
    pub fn in_dir(dir: &Path) -> Self {
        Origins { path: dir.join(ORIGINS_FILE) }
    }

    fn read(&self) -> Result<OriginsFile> {
        Ok(fsutil::read_json(&self.path)?.unwrap_or_default())
    }

    /// Where `component` (`name@version`) came from, if it was pulled.
    pub fn origin(&self, component: &str) -> Result<Option<Origin>> {
        Ok(self.read()?.components.get(component).cloned())
    }

    /// Every pulled `name@version` with its origin.
    pub fn all(&self) -> Result<BTreeMap<String, Origin>> {
        Ok(self.read()?.components)
    }

    /// What `tag_reference` pointed at when last pulled.
    pub fn tag(&self, tag_reference: &str) -> Result<Option<TagRecord>> {
        Ok(self.read()?.tags.get(tag_reference).cloned())
    }

    /// Records a pull: the origin of `component`, and (for a tag) what the
    /// tag points at now.
    pub fn record(&self, component: &str, origin: &Origin, tag_reference: Option<&str>) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fsutil::create_private_dir_all(dir).map_err(|e| Error::io("create the data folder", dir, e))?;
            let _lock = fsutil::FolderLock::acquire(dir)?;
            let mut file = self.read()?;
            file.components.insert(component.to_string(), origin.clone());
            if let Some(tag) = tag_reference {
                file.tags.insert(
                    tag.to_string(),
                    TagRecord { manifest_digest: origin.manifest_digest.clone(), component: component.to_string() },
                );
            }
            fsutil::write_json(&self.path, &file)?;
        }
        Ok(())
    }
}
