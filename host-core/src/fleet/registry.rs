//! The fleet's shared registry: component bytes in the object store under
//! their sha256, `name@version` tags in a KV bucket written create-only (a
//! tag names the same bytes on every node, forever), signatures beside them.
//!
//! Owns: storing, listing, resolving and fetching versions. Must not touch:
//! whether bytes are a valid component (a node checks that), desired state.

use std::collections::BTreeMap;

use tokio::io::AsyncReadExt;

use super::{
    names::{self, TAG_PREFIX},
    store::{self, Stores},
};
use crate::{
    Digest, Error, Result,
    registry::{ComponentRef, NameRecord, VersionRecord},
    security::signing::ComponentSignature,
};

fn failed(what: impl Into<String>) -> impl FnOnce(String) -> Error {
    let what = what.into();
    move |reason| Error::FleetRequest { what, reason }
}

/// Stores `bytes` (already checked by a node) in the object store unless
/// present; the tag is written separately by [`tag`].
pub(crate) async fn store_blob(stores: &Stores, digest: &Digest, bytes: &[u8]) -> Result<()> {
    if stores.blobs.info(digest.hex()).await.is_ok() {
        return Ok(());
    }
    let mut reader = bytes;
    stores
        .blobs
        .put(digest.hex().as_str(), &mut reader)
        .await
        .map(drop)
        .map_err(|e| failed(format!("store the bytes of {digest}"))(e.to_string()))
}

/// Removes stored bytes (a refused upload, or a version no tag names).
pub(crate) async fn delete_blob(stores: &Stores, digest: &Digest) -> Result<()> {
    match stores.blobs.delete(digest.hex()).await {
        Ok(()) => Ok(()),
        Err(e) if stores.blobs.info(digest.hex()).await.is_err() => {
            tracing::debug!(error = %e, "blob already gone");
            Ok(())
        }
        Err(e) => Err(failed(format!("delete the bytes of {digest}"))(e.to_string())),
    }
}

/// Tags `reference` to the stored bytes, create-only: the same bytes again
/// answer the existing record; other bytes under an existing tag are
/// refused on every node ([`Error::VersionExists`]).
pub(crate) async fn tag(
    stores: &Stores,
    reference: &ComponentRef,
    digest: Digest,
    size_bytes: u64,
) -> Result<VersionRecord> {
    crate::registry::check_name(&reference.name)?;
    let key = names::tag_key(reference);
    let record =
        VersionRecord { version: reference.version.clone(), digest, size_bytes, added_at: super::now_ms() / 1000 };
    for _ in 0..3 {
        if let Some((existing, _)) = store::get_json::<VersionRecord>(&stores.tags, &key).await? {
            if existing.digest == digest {
                return Ok(existing);
            }
            return Err(Error::VersionExists {
                reference: reference.to_string(),
                existing: existing.digest,
                new: digest,
            });
        }
        if store::put_json_if(&stores.tags, &key, &record, None).await?.is_ok() {
            return Ok(record);
        }
        // Someone tagged it meanwhile: read what they wrote.
    }
    Err(Error::FleetRequest { what: format!("tag {reference}"), reason: "the tag kept changing".into() })
}

/// Every name with its versions (in the order they were added).
pub(crate) async fn list(stores: &Stores) -> Result<Vec<NameRecord>> {
    let mut names: BTreeMap<String, Vec<VersionRecord>> = BTreeMap::new();
    for (key, record) in store::list_json::<VersionRecord>(&stores.tags, TAG_PREFIX).await? {
        let name = key.trim_start_matches(TAG_PREFIX).split('/').next().unwrap_or_default().to_string();
        names.entry(name).or_default().push(record);
    }
    Ok(names
        .into_iter()
        .map(|(name, mut versions)| {
            versions.sort_by(|a, b| a.added_at.cmp(&b.added_at).then_with(|| a.version.cmp(&b.version)));
            NameRecord { name, versions }
        })
        .collect())
}

/// The record of one version.
///
/// Errors: [`Error::UnknownComponent`] / [`Error::UnknownVersion`].
pub(crate) async fn resolve(stores: &Stores, reference: &ComponentRef) -> Result<VersionRecord> {
    if let Some((record, _)) = store::get_json::<VersionRecord>(&stores.tags, &names::tag_key(reference)).await? {
        return Ok(record);
    }
    let known = list(stores).await?.into_iter().find(|n| n.name == reference.name);
    match known {
        None => Err(Error::UnknownComponent { name: reference.name.clone() }),
        Some(name) => Err(Error::UnknownVersion {
            reference: reference.to_string(),
            known: name.versions.iter().map(|v| v.version.to_string()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Removes a tag, and the bytes when no other tag names them.
pub(crate) async fn untag(stores: &Stores, reference: &ComponentRef, digest: &Digest) -> Result<()> {
    stores
        .tags
        .purge(names::tag_key(reference))
        .await
        .map_err(|e| failed(format!("remove the tag {reference}"))(e.to_string()))?;
    let still_named = list(stores).await?.iter().any(|n| n.versions.iter().any(|v| v.digest == *digest));
    if !still_named {
        delete_blob(stores, digest).await?;
    }
    Ok(())
}

/// The bytes of `digest`, checked against it before anyone uses them.
///
/// Errors: [`Error::BlobCorrupt`] when the stored bytes do not hash to
/// `digest`; [`Error::FleetRequest`] when they cannot be read.
pub(crate) async fn fetch(stores: &Stores, digest: &Digest) -> Result<Vec<u8>> {
    let mut object = stores
        .blobs
        .get(digest.hex())
        .await
        .map_err(|e| failed(format!("fetch the bytes of {digest}"))(e.to_string()))?;
    let mut bytes = Vec::new();
    object.read_to_end(&mut bytes).await.map_err(|e| failed(format!("read the bytes of {digest}"))(e.to_string()))?;
    if Digest::of(&bytes) != *digest {
        return Err(Error::BlobCorrupt {
            digest: *digest,
            path: format!("{}/{}", stores.names.blobs(), digest.hex()).into(),
        });
    }
    Ok(bytes)
}

/// Keeps a signature beside the bytes it signs.
pub(crate) async fn add_signature(stores: &Stores, signature: &ComponentSignature) -> Result<()> {
    store::put_json(&stores.tags, &names::signature_key(&signature.digest), signature).await.map(drop)
}

/// The signature of `digest`, if one was added.
pub(crate) async fn signature(stores: &Stores, digest: &Digest) -> Result<Option<ComponentSignature>> {
    Ok(store::get_json(&stores.tags, &names::signature_key(digest)).await?.map(|(s, _)| s))
}
