//! Host-side domain types: digests, component metadata, capabilities,
//! health and guest errors. They mirror the WIT types but are plain Rust
//! with serde, so the CLI, the server and the studio can share them.

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

/// A permission a component asks for or an operator grants.
///
/// The textual form (`file-read:/data/in`, `net-out:api.example.com:443`,
/// `env:APP_*`, ...) is used by the CLI, project files and error messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// Read files under a directory.
    FileRead(String),
    /// Read and write files under a directory.
    FileWrite(String),
    /// Connect out to `host[:port]` (wildcards like `*.example.com`).
    NetworkOutbound(String),
    /// Listen on a port.
    NetworkInbound(u16),
    /// Read an environment variable (exact or `PREFIX*`).
    EnvironmentRead(String),
    /// Use a gated system interface (`clock`, `random`, `stdio`, `exit`).
    SystemCall(String),
    /// An embedder-defined capability with JSON parameters.
    Custom {
        /// Registered name.
        name: String,
        /// Parameters, JSON text.
        params: String,
    },
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::FileRead(p) => write!(f, "file-read:{p}"),
            Capability::FileWrite(p) => write!(f, "file-write:{p}"),
            Capability::NetworkOutbound(h) => write!(f, "net-out:{h}"),
            Capability::NetworkInbound(p) => write!(f, "net-in:{p}"),
            Capability::EnvironmentRead(v) => write!(f, "env:{v}"),
            Capability::SystemCall(s) => write!(f, "syscall:{s}"),
            Capability::Custom { name, params } => write!(f, "custom:{name}={params}"),
        }
    }
}

/// Error parsing a capability's textual form.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid capability `{text}`: {reason}. Use one of file-read:PATH[=HOST_PATH], file-write:PATH[=HOST_PATH], \
     net-out:HOST[:PORT], net-in:PORT, env:NAME, syscall:NAME, custom:NAME=JSON"
)]
pub struct ParseCapabilityError {
    text: String,
    reason: &'static str,
}

impl FromStr for Capability {
    type Err = ParseCapabilityError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ParseCapabilityError { text: text.to_string(), reason };
        let (kind, value) = text.split_once(':').ok_or_else(|| fail("missing `:`"))?;
        if value.is_empty() {
            return Err(fail("empty value"));
        }
        let value_string = value.to_string();
        Ok(match kind {
            "file-read" => Capability::FileRead(value_string),
            "file-write" => Capability::FileWrite(value_string),
            "net-out" => Capability::NetworkOutbound(value_string),
            "net-in" => Capability::NetworkInbound(value.parse().map_err(|_| fail("port must be 0-65535"))?),
            "env" => Capability::EnvironmentRead(value_string),
            "syscall" => Capability::SystemCall(value_string),
            "custom" => {
                let (name, params) = value.split_once('=').unwrap_or((value, "null"));
                serde_json::from_str::<serde_json::Value>(params)
                    .map_err(|_| fail("custom parameters must be JSON"))?;
                Capability::Custom { name: name.to_string(), params: params.to_string() }
            }
            _ => return Err(fail("unknown kind")),
        })
    }
}

impl Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl From<wit::Capability> for Capability {
    fn from(c: wit::Capability) -> Self {
        match c {
            wit::Capability::FileRead(p) => Capability::FileRead(p),
            wit::Capability::FileWrite(p) => Capability::FileWrite(p),
            wit::Capability::NetworkOutbound(h) => Capability::NetworkOutbound(h),
            wit::Capability::NetworkInbound(p) => Capability::NetworkInbound(p),
            wit::Capability::EnvironmentRead(v) => Capability::EnvironmentRead(v),
            wit::Capability::SystemCall(s) => Capability::SystemCall(s),
            wit::Capability::Custom(c) => Capability::Custom { name: c.name, params: c.params_json },
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

/// The class of an error a component returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuestErrorKind {
    /// Malformed or unsupported input.
    InvalidInput,
    /// Missing or wrong configuration.
    InvalidConfig,
    /// A needed capability was not granted.
    Denied,
    /// A dependency is temporarily unavailable.
    Unavailable,
    /// The guest gave up on time.
    Timeout,
    /// Called before `init`.
    NotInitialized,
    /// A bug inside the component.
    Internal,
}

impl GuestErrorKind {
    /// The WIT spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            GuestErrorKind::InvalidInput => "invalid-input",
            GuestErrorKind::InvalidConfig => "invalid-config",
            GuestErrorKind::Denied => "denied",
            GuestErrorKind::Unavailable => "unavailable",
            GuestErrorKind::Timeout => "timeout",
            GuestErrorKind::NotInitialized => "not-initialized",
            GuestErrorKind::Internal => "internal",
        }
    }
}

/// An error value returned by the component (not a trap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestError {
    /// What class of failure.
    pub kind: GuestErrorKind,
    /// The component's message.
    pub message: String,
    /// Whether a retry may succeed.
    pub retryable: bool,
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.message, self.kind.as_str())?;
        if self.retryable {
            write!(f, ", retryable")?;
        }
        write!(f, ")")
    }
}

impl From<wit::Error> for GuestError {
    fn from(e: wit::Error) -> Self {
        let kind = match e.kind {
            wit::ErrorKind::InvalidInput => GuestErrorKind::InvalidInput,
            wit::ErrorKind::InvalidConfig => GuestErrorKind::InvalidConfig,
            wit::ErrorKind::Denied => GuestErrorKind::Denied,
            wit::ErrorKind::Unavailable => GuestErrorKind::Unavailable,
            wit::ErrorKind::Timeout => GuestErrorKind::Timeout,
            wit::ErrorKind::NotInitialized => GuestErrorKind::NotInitialized,
            wit::ErrorKind::Internal => GuestErrorKind::Internal,
        };
        GuestError { kind, message: e.message, retryable: e.retryable }
    }
}

/// A message as the host passes it along: bytes plus metadata.
pub use wit::{Output, Value};

/// What started a rollout. Serialized as today's strings (`deploy`,
/// `rollback`, `grant`, `revoke`, `watch`), so data folders stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// `deploy` (CLI, API, a project apply, the studio's Deploy).
    Deploy,
    /// `rollback`: the previous version of the history again.
    Rollback,
    /// A grant redeployed the live version.
    Grant,
    /// A revoke redeployed the live version.
    Revoke,
    /// `watch` saw a component file change.
    Watch,
}

impl Trigger {
    /// The name as stored and shown (`deploy`, `rollback`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Deploy => "deploy",
            Trigger::Rollback => "rollback",
            Trigger::Grant => "grant",
            Trigger::Revoke => "revoke",
            Trigger::Watch => "watch",
        }
    }
}

impl PartialEq<&str> for Trigger {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A guest log line's level. Serialized lower case (`trace` ... `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Finest detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<crate::bindings::LogLevel> for LogLevel {
    fn from(level: crate::bindings::LogLevel) -> Self {
        use crate::bindings::LogLevel as Wit;
        match level {
            Wit::Trace => LogLevel::Trace,
            Wit::Debug => LogLevel::Debug,
            Wit::Info => LogLevel::Info,
            Wit::Warn => LogLevel::Warn,
            Wit::Error => LogLevel::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_text_round_trips() {
        for text in [
            "file-read:/data/in",
            "file-write:/data/out",
            "net-out:api.example.com:443",
            "net-out:*.example.com",
            "net-in:8080",
            "env:HOME",
            "env:APP_*",
            "syscall:clock",
            "custom:kv={\"bucket\":\"a\"}",
        ] {
            let cap: Capability = text.parse().unwrap();
            assert_eq!(cap.to_string(), text);
        }
    }

    #[test]
    fn bad_capability_text_says_what_is_allowed() {
        let err = "disk:/x".parse::<Capability>().unwrap_err().to_string();
        assert!(err.contains("unknown kind") && err.contains("file-read:PATH"), "{err}");
        assert!("net-in:99999".parse::<Capability>().is_err());
        assert!("custom:x={".parse::<Capability>().is_err());
    }

    #[test]
    fn digest_parses_its_display() {
        let d = Digest::of(b"hello");
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!("sha256:xyz".parse::<Digest>().is_err());
    }
}
