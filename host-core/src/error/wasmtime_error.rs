//! [`WasmtimeError`]: a `wasmtime::Error` kept whole inside [`super::Error`],
//! and its wire form (the text and the root cause: what a client needs to
//! print the same message).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A `wasmtime::Error` kept whole, so that it can be a `source()`.
///
/// `wasmtime::Error` (like `anyhow::Error`) does not implement
/// `std::error::Error` itself; this wrapper does, and `inner()` gives the
/// original back for downcasting (e.g. to `wasmtime::Trap`). One rebuilt
/// from a server's answer holds the server's text (no trap to downcast).
pub struct WasmtimeError {
    error: wasmtime::Error,
    /// The root cause as the server printed it, for one from the wire.
    remote_reason: Option<String>,
}

impl WasmtimeError {
    /// The wrapped wasmtime error.
    pub fn inner(&self) -> &wasmtime::Error {
        &self.error
    }

    /// The innermost cause in one line (for a trap: what the trap was),
    /// without the wasm backtrace that the full `Display` carries.
    pub fn reason(&self) -> String {
        match &self.remote_reason {
            Some(reason) => reason.clone(),
            None => self.error.root_cause().to_string(),
        }
    }

    /// The trap code, if this error is a trap.
    pub fn trap(&self) -> Option<wasmtime::Trap> {
        self.error.downcast_ref::<wasmtime::Trap>().copied()
    }
}

impl From<wasmtime::Error> for WasmtimeError {
    fn from(error: wasmtime::Error) -> Self {
        WasmtimeError { error, remote_reason: None }
    }
}

impl fmt::Display for WasmtimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:#}` prints the whole chain on one line, including the guest's
        // own message for traps.
        write!(f, "{:#}", self.error)
    }
}

impl fmt::Debug for WasmtimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.error, f)
    }
}

impl std::error::Error for WasmtimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// The wire form: the full text and the root cause.
#[derive(Serialize, Deserialize)]
struct Wire {
    text: String,
    reason: String,
}

impl Serialize for WasmtimeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire { text: self.to_string(), reason: self.reason() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for WasmtimeError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(d)?;
        Ok(WasmtimeError { error: wasmtime::Error::msg(wire.text), remote_reason: Some(wire.reason) })
    }
}
