//! What kind of failure an [`Error`] is ([`ErrorKind`]: bad request,
//! denied, not found, conflict, invalid, guest fault, unavailable, ...),
//! each variant's stable `code`, and the short constructors and
//! conversions the crate uses. The server maps kinds to HTTP statuses in
//! one place; clients and the CLI read kinds instead of matching variants.

use serde::{Deserialize, Serialize};

use std::path::PathBuf;

use super::Error;
use crate::types::{InvalidReference, UnknownStrategy};

/// What kind of failure an error is: who has to act, and how. Serialized
/// kebab-case (`not-found`, `guest-fault`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A request that is not well-formed (a remote runtime's body, query
    /// or header).
    BadRequest,
    /// A request without the right credentials.
    Unauthorized,
    /// Refused by policy: capabilities not granted, a signature missing or
    /// untrusted.
    Denied,
    /// No such service, component, version, pipeline or endpoint.
    NotFound,
    /// The current state refuses it: a version that exists or is in use,
    /// nothing to roll back to, a rollout that did not complete, a torn or
    /// edited log.
    Conflict,
    /// A request over a size limit.
    TooLarge,
    /// Well-formed input that cannot be accepted: not a (valid) component,
    /// a bad reference, strategy, limit, grant, pipeline or project file, a
    /// host setting.
    Invalid,
    /// The component failed: a trap, a deadline, a memory, table, fuel or
    /// output limit, an error value it returned. A fresh instance may do
    /// better; the host is unharmed.
    GuestFault,
    /// Try again later: every instance busy, the host at its instance
    /// capacity, a runtime that cannot be reached.
    Unavailable,
    /// The host failed: a file it could not read or write, a corrupt data
    /// file, a thread it could not start.
    Internal,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthorized,
        ErrorKind::Denied,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::TooLarge,
        ErrorKind::Invalid,
        ErrorKind::GuestFault,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The kebab-case name (`not-found`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Invalid => "invalid",
            ErrorKind::GuestFault => "guest-fault",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind as K;
        match self {
            Error::BadRequest { .. } => K::BadRequest,
            Error::Unauthorized { .. } => K::Unauthorized,
            Error::MissingCapabilities { .. } | Error::Signature(_) => K::Denied,
            Error::UnknownService { .. }
            | Error::UnknownComponent { .. }
            | Error::UnknownVersion { .. }
            | Error::UnknownPipeline { .. }
            | Error::NoEndpoint { .. } => K::NotFound,
            Error::VersionExists { .. }
            | Error::InUse { .. }
            | Error::NothingToRollBack { .. }
            | Error::RolloutFailed(_)
            | Error::LogTorn { .. }
            | Error::LogUnwritable { .. }
            | Error::LogCorrupt { .. }
            | Error::Retired { .. } => K::Conflict,
            Error::BodyTooLarge { .. } => K::TooLarge,
            Error::NotWasm { .. }
            | Error::CoreModule
            | Error::InvalidComponent(_)
            | Error::MissingExport { .. }
            | Error::ContractVersion { .. }
            | Error::ContractShape { .. }
            | Error::Link(_)
            | Error::InvalidReference { .. }
            | Error::InvalidStrategy(_)
            | Error::StatefulStrategy { .. }
            | Error::GrantInvalid { .. }
            | Error::InvalidPipeline { .. }
            | Error::ProjectFile { .. }
            | Error::InvalidLimits(_)
            | Error::HostMaximum { .. }
            | Error::Config(_)
            | Error::NoDataDir
            | Error::Unsupported { .. }
            | Error::TokenFile { .. } => K::Invalid,
            Error::Trap { .. }
            | Error::Timeout { .. }
            | Error::OutOfMemory { .. }
            | Error::OutOfFuel { .. }
            | Error::TableLimit { .. }
            | Error::OutputTooLarge { .. }
            | Error::Guest { .. }
            | Error::CommandFailed { .. }
            | Error::Poisoned
            | Error::PipelineNode { .. }
            | Error::PipelineTimeout { .. } => K::GuestFault,
            Error::PoolBusy { .. }
            | Error::HostCapacity { .. }
            | Error::NoRoute { .. }
            | Error::RemoteUnreachable { .. }
            | Error::Listen { .. }
            | Error::FleetUnreachable { .. }
            | Error::FleetRequest { .. }
            | Error::NoNodeRuns { .. }
            | Error::TlsCertificate { .. } => K::Unavailable,
            Error::Tls { .. } => K::Invalid,
            Error::FleetConflict { .. } => K::Conflict,
            Error::FleetConfig(_) | Error::ArgsNeedCommand { .. } => K::Invalid,
            Error::OciReference { .. }
            | Error::OciNotWasm { .. }
            | Error::OciCredentials { .. }
            | Error::OciNoName { .. } => K::Invalid,
            Error::OciUnreachable { .. } | Error::OciRequest { .. } => K::Unavailable,
            Error::OciAuth { .. } => K::Unauthorized,
            Error::OciNotFound { .. } => K::NotFound,
            Error::OciDigestMismatch { .. } => K::Conflict,
            Error::Io { .. }
            | Error::Instantiate(_)
            | Error::BlobCorrupt { .. }
            | Error::DataCorrupt { .. }
            | Error::Cache(_)
            | Error::Unrecorded { .. }
            | Error::Thread { .. }
            | Error::Encode { .. }
            | Error::Randomness { .. }
            | Error::ContractText(_)
            | Error::Measurement(_) => K::Internal,
            Error::Remote { status, .. } => kind_of_status(*status),
        }
    }

    /// The variant's stable name on the wire (`unknown-service`, ...): the
    /// `code` of its JSON form. (An [`Error::Remote`] is `remote`; the
    /// server's own code is its `code` field.)
    pub fn code(&self) -> &'static str {
        match self {
            Error::Remote { .. } => "remote",
            Error::Io { .. } => "io",
            Error::NotWasm { .. } => "not-wasm",
            Error::CoreModule => "core-module",
            Error::InvalidComponent(..) => "invalid-component",
            Error::MissingExport { .. } => "missing-export",
            Error::ContractVersion { .. } => "contract-version",
            Error::Link(..) => "link",
            Error::Instantiate(..) => "instantiate",
            Error::Trap { .. } => "trap",
            Error::Timeout { .. } => "timeout",
            Error::OutOfMemory { .. } => "out-of-memory",
            Error::OutOfFuel { .. } => "out-of-fuel",
            Error::OutputTooLarge { .. } => "output-too-large",
            Error::Guest { .. } => "guest",
            Error::CommandFailed { .. } => "command-failed",
            Error::Poisoned => "poisoned",
            Error::InvalidReference { .. } => "invalid-reference",
            Error::VersionExists { .. } => "version-exists",
            Error::UnknownComponent { .. } => "unknown-component",
            Error::UnknownVersion { .. } => "unknown-version",
            Error::BlobCorrupt { .. } => "blob-corrupt",
            Error::InUse { .. } => "in-use",
            Error::DataCorrupt { .. } => "data-corrupt",
            Error::MissingCapabilities { .. } => "missing-capabilities",
            Error::GrantInvalid { .. } => "grant-invalid",
            Error::Signature(..) => "signature",
            Error::ProjectFile { .. } => "project-file",
            Error::UnknownPipeline { .. } => "unknown-pipeline",
            Error::InvalidPipeline { .. } => "invalid-pipeline",
            Error::PipelineNode { .. } => "pipeline-node",
            Error::PipelineTimeout { .. } => "pipeline-timeout",
            Error::RemoteUnreachable { .. } => "remote-unreachable",
            Error::NoDataDir => "no-data-dir",
            Error::UnknownService { .. } => "unknown-service",
            Error::NothingToRollBack { .. } => "nothing-to-roll-back",
            Error::StatefulStrategy { .. } => "stateful-strategy",
            Error::InvalidStrategy(..) => "invalid-strategy",
            Error::RolloutFailed(..) => "rollout-failed",
            Error::PoolBusy { .. } => "pool-busy",
            Error::Cache(..) => "cache",
            Error::Config(..) => "config",
            Error::TableLimit { .. } => "table-limit",
            Error::HostCapacity { .. } => "host-capacity",
            Error::InvalidLimits(..) => "invalid-limits",
            Error::HostMaximum { .. } => "host-maximum",
            Error::LogTorn { .. } => "log-torn",
            Error::LogUnwritable { .. } => "log-unwritable",
            Error::LogCorrupt { .. } => "log-corrupt",
            Error::Unrecorded { .. } => "unrecorded",
            Error::ContractShape { .. } => "contract-shape",
            Error::Thread { .. } => "thread",
            Error::Encode { .. } => "encode",
            Error::Unsupported { .. } => "unsupported",
            Error::Retired { .. } => "retired",
            Error::NoRoute { .. } => "no-route",
            Error::Listen { .. } => "listen",
            Error::Randomness { .. } => "randomness",
            Error::TokenFile { .. } => "token-file",
            Error::ContractText(..) => "contract-text",
            Error::Measurement(..) => "measurement",
            Error::BadRequest { .. } => "bad-request",
            Error::Unauthorized { .. } => "unauthorized",
            Error::BodyTooLarge { .. } => "body-too-large",
            Error::NoEndpoint { .. } => "no-endpoint",
            Error::FleetConfig(..) => "fleet-config",
            Error::FleetUnreachable { .. } => "fleet-unreachable",
            Error::FleetRequest { .. } => "fleet-request",
            Error::FleetConflict { .. } => "fleet-conflict",
            Error::NoNodeRuns { .. } => "no-node-runs",
            Error::ArgsNeedCommand { .. } => "args-need-command",
            Error::OciReference { .. } => "oci-reference",
            Error::OciUnreachable { .. } => "oci-unreachable",
            Error::OciAuth { .. } => "oci-auth",
            Error::OciNotFound { .. } => "oci-not-found",
            Error::OciRequest { .. } => "oci-request",
            Error::OciDigestMismatch { .. } => "oci-digest-mismatch",
            Error::OciNotWasm { .. } => "oci-not-wasm",
            Error::OciCredentials { .. } => "oci-credentials",
            Error::OciNoName { .. } => "oci-no-name",
            Error::Tls { .. } => "tls",
            Error::TlsCertificate { .. } => "tls-certificate",
        }
    }

    /// Whether the failure came from the guest and a fresh instance would
    /// behave normally (trap, timeout, memory, fuel): the host is unharmed.
    pub fn is_guest_fault(&self) -> bool {
        matches!(
            self,
            Error::Trap { .. }
                | Error::Timeout { .. }
                | Error::OutOfMemory { .. }
                | Error::TableLimit { .. }
                | Error::OutOfFuel { .. }
                | Error::OutputTooLarge { .. }
                | Error::Guest { .. }
                | Error::CommandFailed { .. }
        )
    }
}

/// The kind an HTTP status stands for (an answer this client has no variant
/// for).
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 => ErrorKind::BadRequest,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Denied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        413 => ErrorKind::TooLarge,
        422 => ErrorKind::Invalid,
        503 => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

impl Error {
    /// An [`Error::Io`] doing `action` on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    pub(crate) fn thread(name: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Error::Thread { name, source }
    }

    pub(crate) fn encode(what: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Error::Encode { what, source }
    }
}

impl From<InvalidReference> for Error {
    fn from(e: InvalidReference) -> Self {
        Error::InvalidReference { reference: e.reference, reason: e.reason }
    }
}

impl From<UnknownStrategy> for Error {
    fn from(e: UnknownStrategy) -> Self {
        Error::InvalidStrategy(e.to_string())
    }
}
