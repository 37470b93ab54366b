//! The Wasm OCI artifact layout other tools use (wkg, wash, `spin registry
//! push`, the `oci-wasm` crate): an image manifest whose config has media
//! type `application/vnd.wasm.config.v0+json` and whose one layer is the
//! component (`application/wasm`); and airssys's signature artifact, a
//! sibling manifest whose one layer is the `ComponentSignature` JSON.

use std::collections::BTreeMap;

use oci_client::{
    client::{Config, ImageLayer},
    manifest::{OciDescriptor, OciImageManifest},
};
use serde::{Deserialize, Serialize};

use crate::{Digest, registry::ComponentRef, security::signing::ComponentSignature};

/// The image manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config's media type for Wasm artifacts.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The component layer's media type.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The signature artifact's type (its manifest's `artifactType`).
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.airssys.signature.v1+json";
/// The signature layer's media type (a `ComponentSignature` as JSON).
pub const SIGNATURE_LAYER_MEDIA_TYPE: &str = "application/vnd.airssys.signature.v1+json";
/// The OCI empty config (`{}`) used by the signature artifact.
pub const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// `org.opencontainers.image.title`: the component's name.
pub const TITLE: &str = "org.opencontainers.image.title";
/// `org.opencontainers.image.version`: its version.
pub const VERSION: &str = "org.opencontainers.image.version";
/// `org.opencontainers.image.created`: when it was pushed (RFC 3339).
pub const CREATED: &str = "org.opencontainers.image.created";

/// The config JSON as `oci-wasm` (and so wkg) writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// When the config was made (RFC 3339).
    pub created: chrono::DateTime<chrono::Utc>,
    /// The author, if known.
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for a component.
    pub os: String,
    /// The layers' digests in manifest order.
    pub layer_digests: Vec<String>,
    /// The component's world, flattened.
    pub component: Option<WasmComponent>,
}

/// The `component` part of [`WasmConfig`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmComponent {
    /// Exported interfaces and functions (`wasi:cli/run@0.2.0`, ...).
    pub exports: Vec<String>,
    /// Imported interfaces and functions.
    pub imports: Vec<String>,
    /// The world it targets, if known.
    pub target: Option<String>,
}

/// The config blob, layer and manifest of a component artifact.
pub(crate) fn component_artifact(
    reference: &ComponentRef,
    bytes: &[u8],
    imports: &[String],
    exports: &[String],
) -> (Config, ImageLayer, OciImageManifest) {
    let created = chrono::Utc::now();
    let config = WasmConfig {
        created,
        author: None,
        architecture: "wasm".to_string(),
        os: "wasip2".to_string(),
        layer_digests: vec![Digest::of(bytes).to_string()],
        component: Some(WasmComponent {
            exports: exports.iter().filter(|e| !e.contains('#')).cloned().collect(),
            imports: imports.to_vec(),
            target: None,
        }),
    };
    let config = Config {
        data: serde_json::to_vec(&config).unwrap_or_default().into(),
        media_type: WASM_CONFIG_MEDIA_TYPE.to_string(),
        annotations: None,
    };
    let layer =
        ImageLayer { data: bytes.to_vec().into(), media_type: WASM_LAYER_MEDIA_TYPE.to_string(), annotations: None };
    let annotations = BTreeMap::from([
        (TITLE.to_string(), reference.name.clone()),
        (VERSION.to_string(), reference.version.to_string()),
        (CREATED.to_string(), created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    ]);
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, Some(annotations));
    manifest.media_type = Some(MANIFEST_MEDIA_TYPE.to_string());
    (config, layer, manifest)
}

/// The config blob, layer and manifest of a signature artifact whose
/// subject is the component's manifest (referrers-style; also tagged).
pub(crate) fn signature_artifact(
    signature: &ComponentSignature,
    subject: OciDescriptor,
) -> (Config, ImageLayer, OciImageManifest) {
    let config =
        Config { data: b"{}".to_vec().into(), media_type: EMPTY_CONFIG_MEDIA_TYPE.to_string(), annotations: None };
    let layer = ImageLayer {
        data: serde_json::to_vec(signature).unwrap_or_default().into(),
        media_type: SIGNATURE_LAYER_MEDIA_TYPE.to_string(),
        annotations: None,
    };
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    manifest.media_type = Some(MANIFEST_MEDIA_TYPE.to_string());
    manifest.artifact_type = Some(SIGNATURE_ARTIFACT_TYPE.to_string());
    manifest.subject = Some(subject);
    (config, layer, manifest)
}

/// The sibling tag that holds the signature of the manifest `digest`
/// (`sha256-HEX.sig`, as cosign names its signatures).
pub fn signature_tag(manifest_digest: &str) -> String {
    format!("{}.sig", manifest_digest.replace(':', "-"))
}

/// The `name@version` an artifact names: its title and version
/// annotations, else the repository's last segment and a semver tag.
pub(crate) fn named_reference(
    manifest: &OciImageManifest,
    repository: &str,
    tag: Option<&str>,
) -> std::result::Result<ComponentRef, String> {
    let annotations = manifest.annotations.clone().unwrap_or_default();
    let name = annotations
        .get(TITLE)
        .cloned()
        .unwrap_or_else(|| repository.rsplit('/').next().unwrap_or(repository).to_string());
    let version = annotations.get(VERSION).cloned().or_else(|| tag.map(|t| t.trim_start_matches('v').to_string()));
    let Some(version) = version else {
        return Err("the artifact has no org.opencontainers.image.version annotation and the reference no tag".into());
    };
    format!("{name}@{version}")
        .parse::<ComponentRef>()
        .map_err(|e| format!("`{name}@{version}` (from the annotations and tag) is not a name@version: {e}"))
}
