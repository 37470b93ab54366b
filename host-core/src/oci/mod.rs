//! Components from OCI registries: `push` a stored `name@version` to
//! `oci://REGISTRY/REPO:TAG`, `pull` one (by tag or pinned `@sha256:`)
//! into a runtime's registry, in the Wasm OCI artifact layout wkg, wash
//! and `spin registry push` use (see [`artifact`]), with the component's
//! ed25519 signature as a sibling artifact.
//!
//! Owns: the `oci://` reference ([`OciReference`]), registry credentials
//! ([`Credentials`]: a token file or the Docker `config.json`), the
//! transport rule (plain HTTP only to a loopback registry, or with
//! `insecure`), the artifact layout, digest checks (the manifest against a
//! pinned digest, the layer against its sha256, before anything is
//! stored), and the record of where each pulled version came from
//! ([`Origins`], beside the registry), which also reports a tag that moved.
//!
//! Does not touch: the registry's storage or validation (a pull stores
//! through [`crate::Runtime::add_component`] and `add_signature`, so the
//! component is validated and audited as any other), trust policy (a
//! signature travels; whether it is required is decided at deploy),
//! services. Works on any `Runtime` (embedded or remote); `push` reads a
//! data folder's registry.

pub mod artifact;
mod auth;
mod origins;
mod reference;
mod transfer;

use std::{path::Path, time::Duration};

pub use self::{
    auth::Credentials,
    origins::{ORIGINS_FILE, Origin, Origins, TagRecord},
    reference::{OciReference, SCHEME, is_loopback_registry},
    transfer::{Naming, OCI_PRE, PullReport, PushReport, pull, push},
};
use crate::Result;

/// How to speak to one registry.
#[derive(Debug, Clone)]
pub struct OciOptions {
    /// Who to be (anonymous unless a token file or Docker config says).
    pub credentials: Credentials,
    /// Plain HTTP to a registry that is not on a loopback address.
    pub insecure: bool,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long one read may take.
    pub read_timeout: Duration,
}

impl Default for OciOptions {
    fn default() -> Self {
        OciOptions {
            credentials: Credentials::Anonymous,
            insecure: false,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

impl OciOptions {
    /// Options for `reference`'s registry: credentials from `token_file`
    /// when given, else the Docker config's entry for the registry, else
    /// anonymous.
    ///
    /// Errors: [`crate::Error::OciCredentials`].
    pub fn for_reference(reference: &OciReference, token_file: Option<&Path>, insecure: bool) -> Result<Self> {
        Ok(OciOptions {
            credentials: Credentials::resolve(reference.registry(), token_file)?,
            insecure,
            ..OciOptions::default()
        })
    }

    /// Whether `reference`'s registry is spoken to over plain HTTP: on a
    /// loopback address, or `insecure`. Anything else is HTTPS.
    pub fn plain_http(&self, reference: &OciReference) -> bool {
        reference.is_loopback() || self.insecure
    }
}
