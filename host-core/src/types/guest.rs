//! What a guest says back besides its output: the error values it returns
//! (not traps) and the lines it logs through `host.log`, with their level.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bindings::wit;

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

/// A guest's log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The component's name.
    pub component: String,
    /// Its level.
    pub level: LogLevel,
    /// The message (at most 4 KiB).
    pub message: String,
    /// Structured fields.
    pub fields: Vec<(String, String)>,
}
