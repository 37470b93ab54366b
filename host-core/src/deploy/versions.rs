//! The versions services can run, as the data folder records them: adding
//! one (validated by the engine, stored in the registry, audited),
//! signatures, and removing one (refused while a service runs it). The
//! registry is the storage; this is the audited verb on it.

use super::Services;
use crate::{
    Error, Result,
    registry::{ComponentRef, VersionRecord},
    security::{audit::AuditEvent, signing::ComponentSignature},
    types::{Digest, check_name},
};

impl Services {
    /// Validates `bytes` as a component (compiling it), stores them and
    /// tags them `reference`. Adding the same bytes under the same version
    /// again is a no-op; other bytes under an existing version are refused.
    /// A new version is audited (`registry-add`), or refused before
    /// anything is stored while the log cannot take a record.
    pub(crate) fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        let digest = Digest::of(bytes);
        let known = self.registry.resolve(reference).ok().filter(|v| v.digest == digest);
        if known.is_none() {
            self.security.check_recordable()?;
        }
        self.engine.load_named(bytes, Some(reference.name.clone()))?;
        self.registry.store_blob(bytes)?;
        let record = self.registry.tag(reference, digest, bytes.len() as u64)?;
        if known.is_none() {
            let detail =
                serde_json::json!({ "component": reference, "digest": record.digest, "size_bytes": record.size_bytes });
            let change = || format!("registry add of {reference}");
            self.security.record_change(change, AuditEvent::RegistryAdd, None, detail)?;
        }
        Ok(record)
    }

    /// Keeps a signature beside the bytes it signs; audited
    /// (`signature-add`), refused first while the log cannot take a record.
    pub(crate) fn add_signature(&self, signature: &ComponentSignature) -> Result<()> {
        self.security.check_recordable()?;
        self.registry.store_signature(signature)?;
        let detail = serde_json::json!({ "digest": signature.digest, "public_key": signature.public_key });
        let change = || format!("the signature of {}", signature.digest);
        self.security.record_change(change, AuditEvent::SignatureAdd, None, detail)
    }

    /// Removes a version from the registry; refused while a service runs
    /// it. Audited (`registry-remove`), refused first while the log cannot
    /// take a record.
    pub(crate) fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        let version = self.registry.resolve(reference)?;
        self.security.check_recordable()?;
        let in_use = |digest: &Digest| self.using(digest).unwrap_or_default();
        self.registry.remove(reference, &in_use)?;
        let detail = serde_json::json!({ "component": reference, "digest": version.digest });
        let change = || format!("registry remove of {reference}");
        self.security.record_change(change, AuditEvent::RegistryRemove, None, detail)
    }

    /// The version these bytes of `name` already have, or the next patch
    /// version (see [`crate::registry::next_version`]).
    pub(crate) fn next_version(&self, name: &str, digest: &Digest) -> Result<ComponentRef> {
        check_name(name)?;
        let versions = match self.registry.history(name) {
            Ok(record) => record.versions,
            Err(Error::UnknownComponent { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let (version, _) = crate::registry::next_version(&versions, digest);
        Ok(ComponentRef { name: name.to_string(), version })
    }
}
