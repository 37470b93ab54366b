//! What a component is and says: its digest (identity), kind, metadata and
//! health. Plain data with serde, shared by every layer; knows nothing of
//! the engine, the error type or the data folder.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::bindings::wit;

/// The sha256 of a component's bytes: its immutable identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// Lower-case hex, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, for people.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.short())
    }
}

/// Error parsing a digest.
#[derive(Debug, thiserror::Error)]
#[error("invalid digest `{0}`: expected `sha256:` followed by 64 hex digits")]
pub struct ParseDigestError(String);

impl FromStr for Digest {
    type Err = ParseDigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s.strip_prefix("sha256:").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| ParseDigestError(s.to_string()))?;
        Ok(Digest(out))
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What kind of component this is, decided from its exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ComponentKind {
    /// Exports `airssys:component/guest` at a compatible version.
    Contract {
        /// The contract version it was built against.
        version: String,
        /// Whether it also exports `airssys:component/state`.
        state: bool,
    },
    /// A plain WASI command (`wasi:cli/run`): stdin in, stdout out.
    WasiCommand,
}

/// What a component says about itself (`metadata()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Short machine name.
    pub name: String,
    /// The component's own version.
    pub version: String,
    /// One line for people.
    pub description: String,
    /// Accepted media types.
    pub accepts: Vec<String>,
    /// Produced media types.
    pub produces: Vec<String>,
    /// Whether it keeps state between calls.
    pub stateful: bool,
}

impl Metadata {
    /// What a plain WASI command is taken to be: bytes in, bytes out.
    pub(crate) fn for_command(name: &str) -> Self {
        Metadata {
            name: name.to_string(),
            version: "0.0.0".to_string(),
            description: "WASI command: input on stdin, output from stdout".to_string(),
            accepts: vec!["*/*".to_string()],
            // Unknown until a project file says otherwise: any.
            produces: vec!["*/*".to_string()],
            stateful: false,
        }
    }
}

impl From<wit::ComponentMetadata> for Metadata {
    fn from(m: wit::ComponentMetadata) -> Self {
        Metadata {
            name: m.name,
            version: m.version,
            description: m.description,
            accepts: m.accepts,
            produces: m.produces,
            stateful: m.stateful,
        }
    }
}

/// A component's view of its own health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum Health {
    /// Ready to serve.
    Healthy,
    /// Serving, with a problem.
    Degraded(String),
    /// Should not receive traffic.
    Unhealthy(String),
}

impl From<wit::HealthStatus> for Health {
    fn from(h: wit::HealthStatus) -> Self {
        match h {
            wit::HealthStatus::Healthy => Health::Healthy,
            wit::HealthStatus::Degraded(r) => Health::Degraded(r),
            wit::HealthStatus::Unhealthy(r) => Health::Unhealthy(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parses_its_display() {
        let d = Digest::of(b"hello");
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!("sha256:xyz".parse::<Digest>().is_err());
    }
}
