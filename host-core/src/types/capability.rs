//! Capabilities in their textual form (`file-read:/data`, `net-out:HOST`,
//! ...): parsing, printing and serde. What a grant covers and how it is
//! enforced is `security`'s business, not this file's.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::bindings::wit;

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
}
