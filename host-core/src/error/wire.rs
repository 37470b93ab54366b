//! Serde for the parts of [`super::Error`] that have none of their own:
//! `&'static str` names, `std::io::Error`, `serde_json::Error` and
//! durations (as milliseconds). A name read back from the wire is interned:
//! names are a small closed set (functions, actions), each kept once.

use std::{
    collections::BTreeSet,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// At most this many distinct names are kept; a server sending more gets
/// a placeholder, so a hostile one cannot grow a client's memory.
const MAX_NAMES: usize = 4096;

fn intern(text: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(text.as_str()) {
        return known;
    }
    if names.len() >= MAX_NAMES {
        return "(a name the server sent)";
    }
    let kept: &'static str = Box::leak(text.into_boxed_str());
    names.insert(kept);
    kept
}

/// `&'static str` as a string.
pub(super) mod name {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(name: &&'static str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        Ok(intern(String::deserialize(d)?))
    }
}

/// `std::io::Error` as `{"kind": "NotFound", "message": "..."}`.
pub(super) mod io {
    use std::io::{Error, ErrorKind};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        kind: String,
        message: String,
    }

    const KINDS: [ErrorKind; 14] = [
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::AlreadyExists,
        ErrorKind::WouldBlock,
        ErrorKind::InvalidInput,
        ErrorKind::InvalidData,
        ErrorKind::TimedOut,
        ErrorKind::WriteZero,
        ErrorKind::Interrupted,
        ErrorKind::Unsupported,
        ErrorKind::UnexpectedEof,
        ErrorKind::OutOfMemory,
        ErrorKind::AddrInUse,
        ErrorKind::ConnectionRefused,
    ];

    pub(crate) fn serialize<S: Serializer>(e: &Error, s: S) -> Result<S::Ok, S::Error> {
        Wire { kind: format!("{:?}", e.kind()), message: e.to_string() }.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Error, D::Error> {
        let wire = Wire::deserialize(d)?;
        let kind = KINDS.into_iter().find(|k| format!("{k:?}") == wire.kind).unwrap_or(ErrorKind::Other);
        Ok(Error::new(kind, wire.message))
    }
}

/// `serde_json::Error` as its text.
pub(super) mod json {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(e: &serde_json::Error, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(e)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Error, D::Error> {
        Ok(<serde_json::Error as serde::de::Error>::custom(String::deserialize(d)?))
    }
}

/// A duration as whole milliseconds.
pub(super) mod millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
