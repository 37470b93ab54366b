//! The transfers: a client per registry (oci-client on a current-thread
//! tokio runtime, plain HTTP or HTTPS by [`OciOptions::plain_http`]),
//! `push` and `pull`, and the map from oci-client's errors to [`Error`].

use oci_client::{
    Client,
    client::{ClientConfig, ClientProtocol},
    errors::{OciDistributionError, OciErrorCode},
    manifest::{OciDescriptor, OciImageManifest},
    secrets::RegistryAuth,
};
use serde::Serialize;

use super::{
    OciOptions, OciReference, Origin, Origins,
    artifact::{self, SIGNATURE_LAYER_MEDIA_TYPE, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE},
};
use crate::{
    Digest, Error, Host, Result, Runtime,
    registry::ComponentRef,
    security::signing::{self, ComponentSignature},
};

/// The pre-release of a version named by its manifest digest
/// ([`Naming::ByDigest`]).
pub const OCI_PRE: &str = "oci.d";

/// Manifest media types a pull accepts.
const MANIFEST_TYPES: [&str; 2] =
    [artifact::MANIFEST_MEDIA_TYPE, "application/vnd.docker.distribution.manifest.v2+json"];

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// Where it went.
    pub reference: String,
    /// The component manifest's digest (pin with `@` this).
    pub manifest_digest: String,
    /// The component layer's digest (the component's own digest).
    pub layer_digest: String,
    /// The signature's tag, when the version had a signature.
    pub signature_tag: Option<String>,
}

/// What a pull did.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    /// The `name@version` it is stored as.
    pub component: ComponentRef,
    /// Where it came from.
    pub origin: Origin,
    /// For a tag: the manifest digest it had at the last pull, when it
    /// moved since.
    pub moved_from: Option<String>,
    /// False when the same manifest was already stored (nothing downloaded).
    pub downloaded: bool,
}

/// Which `name@version` a pull stores the component as.
#[derive(Debug, Clone, Copy)]
pub enum Naming<'a> {
    /// This one (`airssys pull --as NAME@VERSION`).
    Given(&'a ComponentRef),
    /// The artifact's title and version annotations, else the
    /// repository's last segment and the tag.
    FromArtifact,
    /// `NAME@0.0.0-oci.d<manifest digest, 12 hex>`: a project's service,
    /// one version per manifest (so a moved tag is a new version).
    ByDigest(&'a str),
}

/// One registry session.
struct Session {
    client: Client,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    registry: String,
    plain_http: bool,
}

impl Session {
    fn new(reference: &OciReference, options: &OciOptions) -> Result<Self> {
        // reqwest's rustls has no provider of its own here: the ring one,
        // as the rest of the tree uses (installed once per process).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let plain_http = options.plain_http(reference);
        let config = ClientConfig {
            protocol: if plain_http { ClientProtocol::Http } else { ClientProtocol::Https },
            connect_timeout: Some(options.connect_timeout),
            read_timeout: Some(options.read_timeout),
            platform_resolver: None,
            user_agent: concat!("airssys/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let registry = reference.registry().to_string();
        let client = Client::try_from(config).map_err(|e| Error::OciRequest {
            registry: registry.clone(),
            what: "set up the HTTP client".into(),
            reason: e.to_string(),
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            Error::OciRequest { registry: registry.clone(), what: "start".into(), reason: e.to_string() }
        })?;
        Ok(Session { client, auth: options.credentials.registry_auth(), runtime, registry, plain_http })
    }

    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// The manifest at `reference`, its raw bytes and digest (checked
    /// against a pinned digest).
    fn manifest(&self, reference: &OciReference) -> Result<(OciImageManifest, Vec<u8>, String)> {
        let (bytes, digest) = self
            .block_on(self.client.pull_manifest_raw(reference.inner(), &self.auth, &MANIFEST_TYPES))
            .map_err(|e| self.error(e, "fetch the manifest", reference))?;
        let actual = Digest::of(&bytes).to_string();
        if let Some(pinned) = reference.digest()
            && pinned != actual
        {
            return Err(Error::OciDigestMismatch {
                reference: reference.to_string(),
                what: "manifest".into(),
                expected: pinned.to_string(),
                actual,
            });
        }
        let manifest: OciImageManifest = serde_json::from_slice(&bytes).map_err(|e| Error::OciNotWasm {
            reference: reference.to_string(),
            reason: format!("its manifest is not an OCI image manifest ({e})"),
        })?;
        Ok((manifest, bytes.to_vec(), digest))
    }

    /// The blob `layer` names, checked against its digest and size.
    fn blob(&self, reference: &OciReference, layer: &OciDescriptor, what: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.block_on(self.client.pull_blob(reference.inner(), layer, &mut out)).map_err(|e| {
            let error = self.error(e, "fetch a blob", reference);
            match error {
                Error::OciDigestMismatch { expected, actual, .. } => {
                    Error::OciDigestMismatch { reference: reference.to_string(), what: what.into(), expected, actual }
                }
                other => other,
            }
        })?;
        let actual = Digest::of(&out).to_string();
        if actual != layer.digest {
            return Err(Error::OciDigestMismatch {
                reference: reference.to_string(),
                what: what.into(),
                expected: layer.digest.clone(),
                actual,
            });
        }
        Ok(out)
    }

    /// The digest a tag points at now (a HEAD request).
    fn current_digest(&self, reference: &OciReference) -> Result<String> {
        self.block_on(self.client.fetch_manifest_digest(reference.inner(), &self.auth))
            .map_err(|e| self.error(e, "resolve the tag", reference))
    }

    /// oci-client's error as ours, saying what to do.
    fn error(&self, error: OciDistributionError, what: &str, reference: &OciReference) -> Error {
        let registry = self.registry.clone();
        let not_found = |reason: String| Error::OciNotFound { reference: reference.to_string(), reason };
        let auth = |reason: String| Error::OciAuth { registry: registry.clone(), reason };
        match error {
            OciDistributionError::AuthenticationFailure(reason) => auth(reason),
            OciDistributionError::UnauthorizedError { url } => auth(format!("401 Unauthorized for {url}")),
            OciDistributionError::ImageManifestNotFoundError(reason) => not_found(reason),
            OciDistributionError::ServerError { code: 404, message, .. } => not_found(message),
            OciDistributionError::ServerError { code: 401 | 403, message, .. } => auth(message),
            OciDistributionError::RegistryError { envelope, url } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                let text = envelope.errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
                if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    not_found(text)
                } else if codes.iter().any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                    auth(text)
                } else {
                    Error::OciRequest { registry, what: what.into(), reason: format!("{text} ({url})") }
                }
            }
            OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
                expected,
                actual,
            }) => {
                Error::OciDigestMismatch { reference: reference.to_string(), what: "manifest".into(), expected, actual }
            }
            OciDistributionError::RequestError(e) => {
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    reason.push_str(": ");
                    reason.push_str(&cause.to_string());
                    source = cause.source();
                }
                if e.status().is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) {
                    return auth(reason);
                }
                if !self.plain_http && (reason.contains("InvalidContentType") || reason.contains("corrupt message")) {
                    reason.push_str(" (it seems to speak plain HTTP, not HTTPS)");
                }
                Error::OciUnreachable { registry, reason }
            }
            other => Error::OciRequest { registry, what: what.into(), reason: other.to_string() },
        }
    }
}

/// Pushes the stored `component` (and its signature, when it has one) to
/// `target` (a tag) as a Wasm OCI artifact.
///
/// Errors: [`Error::UnknownVersion`] (not stored), [`Error::OciReference`]
/// (a pinned target), the `Oci*` transfer errors.
pub fn push(host: &Host, component: &ComponentRef, target: &OciReference, options: &OciOptions) -> Result<PushReport> {
    let Some(tag) = target.tag().filter(|_| target.digest().is_none()) else {
        return Err(Error::OciReference {
            reference: target.to_string(),
            reason: "a push needs a tag to write, not a pinned digest".into(),
        });
    };
    let registry = host.registry()?;
    let version = registry.resolve(component)?;
    let bytes = registry.read_blob(&version.digest)?;
    let signature = registry.signature(&version.digest)?;
    let loaded = host.load_named(&bytes, Some(component.name.clone()))?;
    let info = loaded.info();
    let (config, layer, manifest) = artifact::component_artifact(component, &bytes, &info.imports, &info.exports);
    let layer_digest = version.digest.to_string();

    let session = Session::new(target, options)?;
    session
        .block_on(session.client.push(target.inner(), &[layer], config, &session.auth, Some(manifest)))
        .map_err(|e| session.error(e, "take the push", target))?;
    let (_, manifest_bytes, manifest_digest) = session.manifest(&target.with_tag(tag))?;

    let signature_tag = match signature {
        Some(signature) => {
            let subject = OciDescriptor {
                media_type: artifact::MANIFEST_MEDIA_TYPE.to_string(),
                digest: manifest_digest.clone(),
                size: manifest_bytes.len() as i64,
                ..OciDescriptor::default()
            };
            let (config, layer, manifest) = artifact::signature_artifact(&signature, subject);
            let sig_tag = artifact::signature_tag(&manifest_digest);
            let sig_ref = target.with_tag(&sig_tag);
            session
                .block_on(session.client.push(sig_ref.inner(), &[layer], config, &session.auth, Some(manifest)))
                .map_err(|e| session.error(e, "take the signature", &sig_ref))?;
            Some(sig_tag)
        }
        None => None,
    };
    tracing::info!(target: "airssys::oci", %target, %manifest_digest, "pushed");
    Ok(PushReport { reference: target.to_string(), manifest_digest, layer_digest, signature_tag })
}

/// Pulls `source` into `runtime`'s registry under the name `naming`
/// gives, with its signature when one was pushed beside
/// it, and records where it came from in `origins`.
///
/// The manifest is checked against a pinned digest and the layer against
/// its sha256 before anything is stored; a manifest already pulled (same
/// digest, the version still stored with the same bytes) is not
/// downloaded again. A tag that points elsewhere than at the last pull is
/// reported in [`PullReport::moved_from`].
///
/// Errors: [`Error::OciDigestMismatch`] (a pinned reference whose bytes
/// differ, a layer that is not what its digest says), [`Error::OciNotWasm`],
/// [`Error::OciNoName`], [`Error::Signature`] (a signature that does not
/// verify), the `Oci*` transfer errors, and whatever `add_component`
/// refuses (an invalid component, a version that exists with other bytes).
pub fn pull(
    runtime: &dyn Runtime,
    source: &OciReference,
    naming: Naming<'_>,
    origins: &Origins,
    options: &OciOptions,
) -> Result<PullReport> {
    let session = Session::new(source, options)?;
    // A tag pinned to a digest (`REPO:TAG@sha256:...`) must still point
    // there: pulled by digest otherwise, a moved tag would go unnoticed.
    if let (Some(tag), Some(pinned)) = (source.tag(), source.digest()) {
        let now = session.current_digest(&source.with_tag(tag))?;
        if now != pinned {
            return Err(Error::OciDigestMismatch {
                reference: source.to_string(),
                what: format!("tag `{tag}`"),
                expected: pinned.to_string(),
                actual: now,
            });
        }
    }
    let tag_key = source.digest().is_none().then(|| source.to_string());
    let current = match source.digest() {
        Some(digest) => digest.to_string(),
        None => session.current_digest(source)?,
    };
    let moved_from = match &tag_key {
        Some(key) => origins.tag(key)?.map(|t| t.manifest_digest).filter(|old| *old != current),
        None => None,
    };
    let by_digest = match naming {
        Naming::ByDigest(name) => Some(
            format!("{name}@0.0.0-{OCI_PRE}{}", current.trim_start_matches("sha256:").get(..12).unwrap_or_default())
                .parse::<ComponentRef>()?,
        ),
        _ => None,
    };
    let name_as = match naming {
        Naming::Given(name) => Some(name),
        _ => by_digest.as_ref(),
    };
    if let Some((component, origin)) = cached(runtime, origins, &current, name_as)? {
        if let Some(key) = &tag_key {
            origins.record(&component.to_string(), &origin, Some(key))?;
        }
        return Ok(PullReport { component, origin, moved_from, downloaded: false });
    }

    let pinned = source.with_digest(&current);
    let (manifest, _, manifest_digest) = session.manifest(&pinned)?;
    if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE {
        return Err(Error::OciNotWasm {
            reference: source.to_string(),
            reason: format!("its config has media type {}, not {WASM_CONFIG_MEDIA_TYPE}", manifest.config.media_type),
        });
    }
    let layers: Vec<&OciDescriptor> =
        manifest.layers.iter().filter(|l| l.media_type == WASM_LAYER_MEDIA_TYPE).collect();
    let [layer] = layers.as_slice() else {
        return Err(Error::OciNotWasm {
            reference: source.to_string(),
            reason: format!("it has {} layers of media type {WASM_LAYER_MEDIA_TYPE}, not one", layers.len()),
        });
    };
    let component = match name_as {
        Some(name) => name.clone(),
        None => artifact::named_reference(&manifest, source.repository(), source.tag())
            .map_err(|reason| Error::OciNoName { reference: source.to_string(), reason })?,
    };
    let bytes = session.blob(&pinned, layer, "component layer")?;
    let signature = pull_signature(&session, source, &manifest_digest, &layer.digest)?;

    runtime.add_component(&component, &bytes)?;
    if let Some(signature) = &signature {
        runtime.add_signature(signature)?;
    }
    let origin = Origin {
        reference: source.to_string(),
        manifest_digest,
        layer_digest: layer.digest.clone(),
        signed: signature.is_some(),
        pulled_at: crate::fsutil::unix_now(),
    };
    origins.record(&component.to_string(), &origin, tag_key.as_deref())?;
    if let Some(old) = &moved_from {
        tracing::warn!(
            target: "airssys::oci",
            "{source} moved since the last pull: it was {old}, it is {} now", origin.manifest_digest
        );
    }
    Ok(PullReport { component, origin, moved_from, downloaded: true })
}

/// A version already pulled from the manifest `digest` and still stored
/// with the same bytes (and, when `name_as` is given, under that name).
fn cached(
    runtime: &dyn Runtime,
    origins: &Origins,
    digest: &str,
    name_as: Option<&ComponentRef>,
) -> Result<Option<(ComponentRef, Origin)>> {
    let candidates: Vec<(String, Origin)> =
        origins.all()?.into_iter().filter(|(_, origin)| origin.manifest_digest == digest).collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let stored = runtime.components()?;
    for (name, origin) in candidates {
        let Ok(component) = name.parse::<ComponentRef>() else { continue };
        if name_as.is_some_and(|wanted| *wanted != component) {
            continue;
        }
        let present = stored.iter().any(|record| {
            record.name == component.name
                && record
                    .versions
                    .iter()
                    .any(|v| v.version == component.version && v.digest.to_string() == origin.layer_digest)
        });
        if present {
            return Ok(Some((component, origin)));
        }
    }
    Ok(None)
}

/// The signature pushed beside the manifest `manifest_digest`, if any:
/// checked to sign `layer_digest` and to verify under the key it names.
fn pull_signature(
    session: &Session,
    source: &OciReference,
    manifest_digest: &str,
    layer_digest: &str,
) -> Result<Option<ComponentSignature>> {
    let sig_ref = source.with_tag(&artifact::signature_tag(manifest_digest));
    let manifest = match session.manifest(&sig_ref) {
        Ok((manifest, _, _)) => manifest,
        Err(Error::OciNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(layer) = manifest.layers.iter().find(|l| l.media_type == SIGNATURE_LAYER_MEDIA_TYPE) else {
        return Ok(None);
    };
    let bytes = session.blob(&sig_ref, layer, "signature")?;
    let signature: ComponentSignature = serde_json::from_slice(&bytes).map_err(|e| Error::OciNotWasm {
        reference: sig_ref.to_string(),
        reason: format!("its signature layer is not a signature ({e})"),
    })?;
    if signature.digest.to_string() != layer_digest {
        return Err(Error::OciDigestMismatch {
            reference: sig_ref.to_string(),
            what: "signature's subject".into(),
            expected: layer_digest.to_string(),
            actual: signature.digest.to_string(),
        });
    }
    signing::verify(&signature.digest, &signature, &signature.public_key)?;
    Ok(Some(signature))
}
