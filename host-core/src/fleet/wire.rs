//! What travels between a fleet's clients and its nodes over NATS: calls
//! (the body is the input, the headers its deadline and metadata), control
//! requests (JSON), and replies that carry either a value or an error that
//! keeps its type.
//!
//! Owns: the encoding. Must not touch: what a node does with a request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::{
    Digest, Error, Result,
    deploy::{ServiceSpec, Strategy},
    registry::ComponentRef,
    remote::ErrorBody,
    wit,
};

/// Header: the call's deadline, ms since the Unix epoch.
pub(crate) const DEADLINE: &str = "Airssys-Deadline-Ms";
/// Header: a message's metadata, JSON.
pub(crate) const METADATA: &str = "Airssys-Metadata";
/// Header: `ok` or `error` on replies.
pub(crate) const STATUS: &str = "Airssys-Status";
/// Header: the node that answered.
pub(crate) const NODE: &str = "Airssys-Node";

/// A control request any node answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub(crate) enum ControlRequest {
    /// Are these stored bytes a component this host accepts?
    Check {
        /// Where they are (the fleet's object store).
        digest: Digest,
        /// A name for messages.
        name: String,
    },
    /// Describe a stored version.
    Describe {
        /// The version.
        reference: ComponentRef,
        /// Its bytes.
        digest: Digest,
    },
    /// Would this deploy be accepted (signature, capabilities, limits,
    /// strategy)? Nothing changes.
    CheckDeploy {
        /// The spec as it would be.
        spec: Box<ServiceSpec>,
        /// The strategy each node would use.
        strategy: Strategy,
    },
}

/// A request for run traces every node answers (with `[RunTrace]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TracesRequest {
    /// Only runs of this pipeline.
    pub pipeline: Option<String>,
    /// The last N runs (0: all kept).
    pub last: usize,
}

/// The deadline header of a call `timeout` from now.
pub(crate) fn deadline_header(headers: &mut HeaderMap, timeout: Duration) {
    let deadline = SystemTime::now() + timeout;
    let ms = deadline.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    headers.insert(DEADLINE, ms.to_string().as_str());
}

/// How long is left until the deadline a request carries (`None`: no
/// deadline; zero when it passed).
pub(crate) fn remaining(headers: Option<&HeaderMap>) -> Option<Duration> {
    let ms: u128 = headers?.get(DEADLINE)?.as_str().parse().ok()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Some(Duration::from_millis(u64::try_from(ms.saturating_sub(now)).unwrap_or(u64::MAX)))
}

/// Metadata to a header value.
pub(crate) fn metadata_header(headers: &mut HeaderMap, metadata: &[(String, wit::Value)]) {
    if !metadata.is_empty()
        && let Ok(json) = serde_json::to_string(metadata)
    {
        headers.insert(METADATA, json.as_str());
    }
}

/// Metadata from a header value (none when absent).
pub(crate) fn metadata_of(headers: Option<&HeaderMap>) -> Result<Vec<(String, wit::Value)>> {
    match headers.and_then(|h| h.get(METADATA)) {
        None => Ok(Vec::new()),
        Some(value) => serde_json::from_str(value.as_str())
            .map_err(|e| Error::FleetRequest { what: "read a call's metadata".into(), reason: e.to_string() }),
    }
}

/// An error reply's body: the remote runtime's error body (message, kind,
/// code and detail), so the caller rebuilds the same variant.
pub(crate) fn encode_error(error: &Error) -> Vec<u8> {
    serde_json::to_vec(&ErrorBody::of(error)).unwrap_or_default()
}

/// The error an error reply carries (an [`Error::Remote`] with status 0 for
/// a code this build does not know, or a body that is not an error body).
pub(crate) fn decode_error(body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.into_error(0),
        Err(_) => Error::Remote {
            status: 0,
            code: "fleet".into(),
            message: format!("a node answered with an unreadable error: {}", String::from_utf8_lossy(body)),
        },
    }
}

/// A reply: `ok` with `body`, or `error` with the encoded error.
pub(crate) fn reply_headers(ok: bool, node: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(STATUS, if ok { "ok" } else { "error" });
    headers.insert(NODE, node);
    headers
}

/// Whether a reply says `ok`.
pub(crate) fn is_ok(headers: Option<&HeaderMap>) -> bool {
    headers.and_then(|h| h.get(STATUS)).is_some_and(|v| v.as_str() == "ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_capability_keeps_its_type_on_the_wire() {
        let error = Error::MissingCapabilities {
            service: "files".into(),
            component: "reader@1.0.0".into(),
            missing: vec!["file-read:/data".parse().unwrap()],
        };
        let Error::MissingCapabilities { service, missing, .. } = decode_error(&encode_error(&error)) else {
            panic!("not typed")
        };
        assert_eq!((service.as_str(), missing.len()), ("files", 1));
    }

    #[test]
    fn fleet_errors_keep_their_variant_and_kind_on_the_wire() {
        let error = Error::NoNodeRuns { fleet: "default".into(), service: "upper".into() };
        let back = decode_error(&encode_error(&error));
        assert!(matches!(&back, Error::NoNodeRuns { service, .. } if service == "upper"), "{back:?}");
        assert_eq!(back.kind(), crate::ErrorKind::Unavailable);
        let conflict = Error::FleetConflict { service: "upper".into(), detail: "revision 7 by ada".into() };
        assert_eq!(decode_error(&encode_error(&conflict)).kind(), crate::ErrorKind::Conflict);
        let garbage = decode_error(b"not json");
        assert!(garbage.to_string().contains("unreadable error: not json"), "{garbage}");
    }

    #[test]
    fn the_deadline_travels_as_time_left() {
        let mut headers = HeaderMap::new();
        deadline_header(&mut headers, Duration::from_secs(5));
        let left = remaining(Some(&headers)).unwrap();
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(3), "{left:?}");
        assert_eq!(remaining(None), None);
    }
}
