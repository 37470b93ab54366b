//! The error type at host-core's boundary: owns [`Error`], its kinds
//! ([`ErrorKind`]) and its wire form; names only the vocabulary (`types`)
//! below it, never a subsystem.
//!
//! Every variant says what went wrong and what to do about it in the
//! library's terms (the setting, e.g. "the max_memory_mib limit"; the CLI
//! adds its flags), and keeps its cause: wasmtime errors are wrapped (not
//! turned into strings), so `Error::source()` and `WasmtimeError::inner()`
//! still reach the root cause (for example a `wasmtime::Trap`). Each
//! variant has a stable `code` (its kebab-case name) and a kind; an error
//! serializes as `{"code": ..., "detail": ...}`, so a remote runtime rebuilds
//! the same variant from a server's answer.

mod kind;
mod text;
mod wasmtime_error;
mod wire;

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

pub use self::{kind::ErrorKind, wasmtime_error::WasmtimeError};
use crate::types::{
    CONTRACT_VERSION, Capability, Digest, GuestError, PipelineError, RolloutRecord, ShapeMismatch, StrategyKind,
};

/// A name known at compile time (a function, an action); serde reads it
/// back through `wire::name` (an alias, so serde does not try to borrow it).
type StaticName = &'static str;

/// Result alias for host-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can fail in host-core.
#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot {action}: {source}: {}", path.display())]
    Io {
        /// What was being done, e.g. "read the component".
        #[serde(with = "wire::name")]
        action: StaticName,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        #[serde(with = "wire::io")]
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error(
        "not a WebAssembly component: {reason}. Expected a .wasm component \
         (build Rust with `cargo build --target wasm32-wasip2`)"
    )]
    NotWasm {
        /// What is wrong with the bytes.
        reason: String,
    },
    /// A core WebAssembly module was given where a component is needed.
    #[error(
        "this is a core WebAssembly module, not a component. Build for \
         wasm32-wasip2, or wrap the module into a component with the wasip1 \
         adapter (`wasm-tools component new MODULE.wasm --adapt ADAPTER.wasm`)"
    )]
    CoreModule,
    /// The bytes claim to be a component but do not validate or compile.
    #[error("invalid component: {0}")]
    InvalidComponent(#[source] WasmtimeError),
    /// The component exports neither the airssys contract nor `wasi:cli/run`.
    #[error(
        "the component exports neither `airssys:component/guest@{CONTRACT_VERSION}` \
         nor `wasi:cli/run`, so there is nothing to call (it exports: {found}). \
         Implement the contract with airssys-sdk, or build a WASI command"
    )]
    MissingExport {
        /// The exports the component does have, comma separated.
        found: String,
    },
    /// The component was built against an incompatible contract version.
    #[error(
        "contract version mismatch: the component exports \
         airssys:component/guest@{found}, but this host speaks \
         airssys:component@{expected}. Rebuild the component against \
         airssys:component@{expected}"
    )]
    ContractVersion {
        /// The version the component was built against.
        found: String,
        /// The version this host implements.
        #[serde(with = "wire::name")]
        expected: StaticName,
    },
    /// The component needs an import this host does not provide.
    #[error("cannot link the component: {0}. The host provides WASI 0.2 and airssys:component/host")]
    Link(#[source] WasmtimeError),
    /// Creating an instance failed (for example the instance pool is full).
    #[error("cannot instantiate the component: {0}")]
    Instantiate(#[source] WasmtimeError),
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access...).
    #[error("the component trapped in `{function}`: {}{}", source.reason(), text::stderr_tail(guest_stderr))]
    Trap {
        /// The export that was running.
        #[serde(with = "wire::name")]
        function: StaticName,
        /// The trap, with the wasm backtrace.
        #[source]
        source: WasmtimeError,
        /// The end of what the guest wrote to stderr during the call (a Rust
        /// panic's message lands there); empty if nothing.
        guest_stderr: String,
    },
    /// The call ran past its wall-clock deadline and was interrupted.
    #[error(
        "`{function}` timed out after {} ms; raise the timeout_ms limit if the work is legitimately slow",
        limit.as_millis()
    )]
    Timeout {
        /// The export that was running.
        #[serde(with = "wire::name")]
        function: StaticName,
        /// The deadline that was exceeded.
        #[serde(with = "wire::millis")]
        limit: Duration,
    },
    /// The guest needed more linear memory than its limit (at instantiation, or a refused `memory.grow`).
    #[error(
        "`{function}` needs {} of linear memory, limit is {}; raise the max_memory_mib limit",
        text::mib(*requested_bytes),
        text::mib(*limit_bytes)
    )]
    OutOfMemory {
        /// The export that was running.
        #[serde(with = "wire::name")]
        function: StaticName,
        /// The cap in bytes.
        limit_bytes: u64,
        /// What the guest asked for in total, in bytes.
        requested_bytes: u64,
    },
    /// The call used up its fuel budget.
    #[error("`{function}` ran out of fuel ({fuel} units per call); raise the fuel budget")]
    OutOfFuel {
        /// The export that was running.
        #[serde(with = "wire::name")]
        function: StaticName,
        /// The per-call budget.
        fuel: u64,
    },
    /// A WASI command wrote more output than allowed.
    #[error("the component wrote more than {limit_bytes} bytes of output")]
    OutputTooLarge {
        /// The cap in bytes.
        limit_bytes: usize,
    },
    /// The component returned an error value (it did not trap).
    #[error("`{function}` failed: {error}")]
    Guest {
        /// The export that returned the error.
        #[serde(with = "wire::name")]
        function: StaticName,
        /// The error the component returned.
        error: GuestError,
    },
    /// A WASI command exited with a non-zero status.
    #[error("the command exited with status {code}{}", text::stderr_suffix(stderr))]
    CommandFailed {
        /// The exit status.
        code: i32,
        /// The last lines the command wrote to stderr (at most
        /// [`crate::STDERR_TAIL_LINES`] lines); every line also
        /// went to the guest log.
        stderr: String,
    },
    /// The instance trapped earlier and cannot be entered again.
    #[error("the instance is unusable after an earlier trap; create a new instance")]
    Poisoned,
    /// A `NAME@VERSION` or name could not be parsed.
    #[error("invalid component reference `{reference}`: {reason}")]
    InvalidReference {
        /// What was given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A version already points at other bytes.
    #[error(
        "{reference} already exists with digest {existing}; versions are immutable, so \
         publish these bytes ({new}) under a new version"
    )]
    VersionExists {
        /// The version that exists.
        reference: String,
        /// What it points at.
        existing: Digest,
        /// What was offered.
        new: Digest,
    },
    /// No such name in the registry.
    #[error("no component named `{name}` in the registry; add it with `airssys registry add {name}@VERSION FILE.wasm`")]
    UnknownComponent {
        /// The name asked for.
        name: String,
    },
    /// No such version of a known name.
    #[error("no version {reference} in the registry (known versions: {known})")]
    UnknownVersion {
        /// What was asked for.
        reference: String,
        /// The versions that exist.
        known: String,
    },
    /// A stored blob no longer matches its digest.
    #[error(
        "stored component {digest} is corrupt: its bytes no longer match their digest. \
         Add the component again from its source file: {}",
        path.display()
    )]
    BlobCorrupt {
        /// The digest it should have.
        digest: Digest,
        /// The file.
        path: PathBuf,
    },
    /// A version cannot be removed while services use it.
    #[error("{reference} is used by services {services}; deploy another version to them first")]
    InUse {
        /// The version.
        reference: String,
        /// The services that use it.
        services: String,
    },
    /// A file in the data folder does not parse.
    #[error("data file is corrupt ({source}); restore it from a backup or remove it: {}", path.display())]
    DataCorrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        #[serde(with = "wire::json")]
        source: serde_json::Error,
    },
    /// A deploy needs capabilities that are not granted.
    #[error("{}", text::missing(service, component, missing))]
    MissingCapabilities {
        /// The service.
        service: String,
        /// The component version.
        component: String,
        /// Every requested capability no grant covers.
        missing: Vec<Capability>,
    },
    /// A grant cannot be applied on this host.
    #[error("cannot grant `{capability}`: {reason}")]
    GrantInvalid {
        /// The grant, in textual form.
        capability: String,
        /// Why.
        reason: String,
    },
    /// A signature is missing, invalid or from an untrusted key.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// The project file does not parse or is not supported.
    #[error("{}:{line}:{column}: {message}", path.display())]
    ProjectFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// No pipeline with that name in the project.
    #[error("no pipeline named `{name}` in the project (pipelines: {known})")]
    UnknownPipeline {
        /// What was asked for.
        name: String,
        /// What exists.
        known: String,
    },
    /// A pipeline failed validation.
    #[error("pipeline `{pipeline}` is invalid:\n  {}", text::lines(errors))]
    InvalidPipeline {
        /// The pipeline.
        pipeline: String,
        /// Every problem found.
        errors: Vec<PipelineError>,
    },
    /// A pipeline node failed under the `fail` policy.
    #[error("pipeline `{pipeline}` failed at node `{node}`: {source}")]
    PipelineNode {
        /// The pipeline.
        pipeline: String,
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A pipeline run passed its deadline.
    #[error("pipeline `{pipeline}` did not finish within {} ms", limit.as_millis())]
    PipelineTimeout {
        /// The pipeline.
        pipeline: String,
        /// The deadline.
        #[serde(with = "wire::millis")]
        limit: Duration,
    },
    /// A remote runtime's error this client has no variant for; `message` is the server's text.
    #[error("{message}")]
    Remote {
        /// The HTTP status.
        status: u16,
        /// The error's code as the server named it.
        code: String,
        /// What the server said.
        message: String,
    },
    /// A remote runtime could not be reached or answered nonsense.
    #[error("cannot talk to the runtime at {url}: {reason}")]
    RemoteUnreachable {
        /// The server.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The host was created without a data folder.
    #[error("this needs a data folder (HostConfig::data_dir)")]
    NoDataDir,
    /// No such service.
    #[error("no service named `{name}`; deploy one with `airssys deploy {name} NAME@VERSION`")]
    UnknownService {
        /// The name asked for.
        name: String,
    },
    /// Rollback needs an earlier version.
    #[error("service `{service}` has no earlier version to roll back to")]
    NothingToRollBack {
        /// The service.
        service: String,
    },
    /// Canary and rolling cannot split one state between two versions.
    #[error(
        "service `{service}` is stateful (its component exports airssys:component/state), so it cannot use \
         the {strategy} strategy: two live versions cannot share one state. Use immediate or blue-green; \
         the state moves with snapshot/restore"
    )]
    StatefulStrategy {
        /// The service.
        service: String,
        /// The refused strategy.
        strategy: StrategyKind,
    },
    /// Strategy parameters are wrong.
    #[error("invalid strategy: {0}")]
    InvalidStrategy(String),
    /// A rollout did not complete; the old version keeps serving.
    #[error("rollout of {} to {} did not complete ({}); the previous version keeps serving", .0.service, .0.to, text::outcome(&.0.outcome))]
    RolloutFailed(Box<RolloutRecord>),
    /// Every instance of a pooled deployment stayed busy.
    #[error(
        "all {size} instances stayed busy for {} ms; raise the pool size or the timeout",
        waited.as_millis()
    )]
    PoolBusy {
        /// How long the call waited.
        #[serde(with = "wire::millis")]
        waited: Duration,
        /// The pool size.
        size: usize,
    },
    /// The compiled-code cache could not be used.
    #[error("compile cache: {0}")]
    Cache(String),
    /// A host setting is invalid.
    #[error("invalid host configuration: {0}")]
    Config(String),
    /// The guest needed a larger table than its limit (at instantiation, or a refused `table.grow`).
    #[error("`{function}` needs a table of {requested} elements, limit is {limit}; raise the max_table_elements limit")]
    TableLimit {
        /// The export that was running (`instantiate` at start-up).
        #[serde(with = "wire::name")]
        function: StaticName,
        /// The cap in elements.
        limit: u64,
        /// The size the guest needed, in elements.
        requested: u64,
    },
    /// The host holds no more live instances (its instance capacity).
    #[error(
        "{needed} more instance(s) needed, but the host's capacity is {capacity} live instances \
         ({in_use} in use); raise the host's instance capacity (HostConfig::pool.max_instances), or stop \
         services or shrink pools you do not need"
    )]
    HostCapacity {
        /// Instances asked for.
        needed: u64,
        /// The host's capacity.
        capacity: u32,
        /// Instances alive when it was asked.
        in_use: u64,
    },
    /// Per-service limits that make no sense.
    #[error("invalid limits: {0}")]
    InvalidLimits(String),
    /// A per-service limit asks for more than the host allows at all.
    #[error("{what}: needs {requested}, the limit is {maximum}; raise {setting}")]
    HostMaximum {
        /// What is limited.
        #[serde(with = "wire::name")]
        what: StaticName,
        /// What was asked for, with its unit.
        requested: String,
        /// The host's maximum, with its unit.
        maximum: String,
        /// The setting that raises it.
        #[serde(with = "wire::name")]
        setting: StaticName,
    },
    /// An append-only log ends in a record cut short by a crash: changes are refused until it is repaired.
    #[error(
        "{} line {line}: {reason}. Until it is repaired the log takes no new record, so changes are refused \
         before anything changes, and the refusal itself cannot be recorded. Run `airssys audit repair` to move \
         the torn bytes aside, then try again: {}",
        text::file_name(path),
        path.display()
    )]
    LogTorn {
        /// The log file.
        path: PathBuf,
        /// 1-based number of the torn line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An append-only log cannot be read or appended to, so changes are refused.
    #[error(
        "cannot append to {} ({source}), so changes are refused before anything changes, and the refusal \
         itself cannot be recorded. Make it a writable file again (is a folder or a read-only file in its \
         place?), then try again: {}",
        text::file_name(path),
        path.display()
    )]
    LogUnwritable {
        /// The log file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        #[serde(with = "wire::io")]
        source: std::io::Error,
    },
    /// The audit log was edited (not cut short by a crash): repair leaves it, as evidence.
    #[error(
        "{} line {line}: {reason}. That is not what a crash during an append leaves (a cut-short last line), \
         so `airssys audit repair` does not move it aside: that would hide an edit. Keep the file as evidence \
         and restore it from a backup: {}",
        text::file_name(path),
        path.display()
    )]
    LogCorrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based number of the first bad line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A change took effect, but its record could not be appended afterwards.
    #[error(
        "{change} took effect, but its record could not be appended to {}: {source}. Check the log with \
         `airssys audit verify`",
        text::file_name(path)
    )]
    Unrecorded {
        /// What took effect, e.g. "deploy of text@1.0.0 to `svc`".
        change: String,
        /// The log that misses the record.
        path: PathBuf,
        /// Why the append failed.
        #[source]
        source: Box<Error>,
    },
    /// Contract functions the component exports or imports do not have the contract's types.
    #[error("{}", crate::types::mismatch_text(mismatches))]
    ContractShape {
        /// Every function that differs: interface, function, expected and
        /// found type, where they first differ.
        mismatches: Vec<ShapeMismatch>,
    },
    /// A background thread (epoch ticker, event stream, watch, server) could not be started.
    #[error("cannot start the {name} thread: {source}")]
    Thread {
        /// Which thread, e.g. "epoch ticker".
        #[serde(with = "wire::name")]
        name: StaticName,
        /// The operating system's error.
        #[source]
        #[serde(with = "wire::io")]
        source: std::io::Error,
    },
    /// A value could not be written as JSON (a record, a request).
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded, e.g. "the rollout record".
        #[serde(with = "wire::name")]
        what: StaticName,
        /// The encoder's error.
        #[source]
        #[serde(with = "wire::json")]
        source: serde_json::Error,
    },
    /// A call the instance's component cannot take (`restore` without the state interface).
    #[error("`{function}` needs {needs}")]
    Unsupported {
        /// The call.
        #[serde(with = "wire::name")]
        function: StaticName,
        /// What the component would need, e.g. "a component that exports the state interface".
        #[serde(with = "wire::name")]
        needs: StaticName,
    },
    /// A deployment was retired by another rollout while a state migration waited for it.
    #[error("{version} was retired by another rollout before its state could be taken; try again")]
    Retired {
        /// The retired version.
        version: String,
    },
    /// Every deployment a call picked was retired before the call could start on it.
    #[error(
        "service `{service}` found no live deployment to route to (its versions were replaced meanwhile); try again"
    )]
    NoRoute {
        /// The service.
        service: String,
    },
    /// The server could not listen on its address.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address, `IP:PORT`.
        address: String,
        /// The operating system's error.
        #[source]
        #[serde(with = "wire::io")]
        source: std::io::Error,
    },
    /// The system gave no random bytes (for a token or a key).
    #[error("no randomness for {purpose}: {reason}")]
    Randomness {
        /// What needed it, e.g. "a server token".
        #[serde(with = "wire::name")]
        purpose: StaticName,
        /// The system's error.
        reason: String,
    },
    /// A token file that cannot be used.
    #[error("the token file is unusable: {problem}: {}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The contract compiled into this host does not parse: the build is broken.
    #[error("the contract built into this host (wit/component.wit) does not parse: {0}")]
    ContractText(String),
    /// `airssys bench` could not measure what it set out to.
    #[error("the benchmark cannot measure this: {0}")]
    Measurement(String),
    /// A request to the server that is not well-formed (body, query, header).
    #[error("{reason}")]
    BadRequest {
        /// What is wrong with it.
        reason: String,
    },
    /// A request to the server without the right token.
    #[error("{reason}")]
    Unauthorized {
        /// What is missing or wrong.
        reason: String,
    },
    /// A request body over the server's limit.
    #[error("the request body is larger than the server accepts ({limit_bytes} bytes, ServerConfig::max_body_bytes)")]
    BodyTooLarge {
        /// The limit in bytes.
        limit_bytes: u64,
    },
    /// A request to a path the server does not serve.
    #[error("no such endpoint: {method} {path} (the API is listed in host_core::remote)")]
    NoEndpoint {
        /// The HTTP method.
        method: String,
        /// The path asked for.
        path: String,
    },

    /// A fleet setting is wrong (URL, fleet or node name, credentials file).
    #[error("fleet: {0}")]
    FleetConfig(String),

    /// The fleet's NATS server cannot be reached (or has no JetStream).
    #[error(
        "cannot reach the fleet's NATS server at {url}: {reason}. A fleet needs a NATS server with JetStream \
         (`nats-server -js`); check the URL and that it runs"
    )]
    FleetUnreachable {
        /// The NATS URL.
        url: String,
        /// What happened.
        reason: String,
    },

    /// A request to the fleet's stores failed.
    #[error("fleet: cannot {what}: {reason}")]
    FleetRequest {
        /// What was being done.
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// Someone else changed the fleet's desired state of a service first
    /// (compare-and-set), or holds its rollout lock.
    #[error(
        "conflict on service `{service}`: {detail}; nothing was changed: read the current state (`airssys status`) \
         and try again"
    )]
    FleetConflict {
        /// The service.
        service: String,
        /// Who wrote what, at which revision.
        detail: String,
    },

    /// No node of the fleet serves the service (no responders: answered at
    /// once, not after a timeout).
    #[error(
        "no node of fleet `{fleet}` runs service `{service}`; deploy it to the fleet first (the fleet's status shows what each node runs)"
    )]
    NoNodeRuns {
        /// The fleet.
        fleet: String,
        /// The service.
        service: String,
    },

    /// Command-line arguments for a service whose component is not a WASI
    /// command (a contract component takes settings through `config`).
    #[error(
        "service `{service}` has arguments, but {component} is a contract component, not a WASI command; \
         only a WASI command (a program exporting wasi:cli/run) takes arguments: pass settings as config instead"
    )]
    ArgsNeedCommand {
        /// The service.
        service: String,
        /// The version it would run.
        component: String,
    },

    /// Text that is not an OCI reference airssys accepts.
    #[error(
        "`{reference}` is not an OCI reference: {reason}. Write oci://REGISTRY/REPOSITORY:TAG or \
         oci://REGISTRY/REPOSITORY@sha256:HEX (e.g. oci://127.0.0.1:5000/tools/upper:1.0.0)"
    )]
    OciReference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The registry cannot be reached, or does not speak the protocol airssys
    /// chose for it.
    #[error(
        "cannot reach the OCI registry {registry}: {reason}. Check the address and that the registry runs; \
         airssys speaks plain HTTP only to a loopback registry and HTTPS to any other (pass --insecure for \
         plain HTTP to a registry you trust)"
    )]
    OciUnreachable {
        /// `HOST[:PORT]`.
        registry: String,
        /// What happened.
        reason: String,
    },

    /// The registry refused the credentials, or wants some.
    #[error(
        "the OCI registry {registry} refused access: {reason}. Log in with `docker login {registry}` (airssys \
         reads $DOCKER_CONFIG/config.json or ~/.docker/config.json) or pass --registry-token-file FILE"
    )]
    OciAuth {
        /// `HOST[:PORT]`.
        registry: String,
        /// The registry's answer.
        reason: String,
    },

    /// The registry has no such repository, tag or digest.
    #[error("the OCI registry has no {reference}: {reason}. Check the repository and the tag or digest")]
    OciNotFound {
        /// The reference asked for.
        reference: String,
        /// The registry's answer.
        reason: String,
    },

    /// A request to the registry failed otherwise.
    #[error("the OCI registry {registry} failed to {what}: {reason}")]
    OciRequest {
        /// `HOST[:PORT]`.
        registry: String,
        /// What was being done.
        what: String,
        /// The registry's answer.
        reason: String,
    },

    /// Bytes from the registry are not the ones their digest names (a
    /// pinned reference whose bytes differ, or a layer changed in transit):
    /// nothing was stored.
    #[error(
        "the {what} of {reference} has digest {actual}, not {expected}: the bytes are not the ones asked for, so \
         nothing was stored. Check the reference; pull the tag again if it was meant to move"
    )]
    OciDigestMismatch {
        /// The reference pulled.
        reference: String,
        /// `manifest`, `component layer` or `signature`.
        what: String,
        /// The digest asked for or announced.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },

    /// The artifact is not a Wasm component as Wasm OCI tools push it.
    #[error(
        "{reference} is not a Wasm component artifact: {reason}. airssys pulls artifacts with one layer of media \
         type application/wasm (as wkg, wash and spin registry push make)"
    )]
    OciNotWasm {
        /// The reference pulled.
        reference: String,
        /// What is missing or different.
        reason: String,
    },

    /// Registry credentials that cannot be used (a Docker config.json or a
    /// token file).
    #[error("the registry credentials in {} are unusable: {problem}", path.display())]
    OciCredentials {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },

    /// A pulled artifact names no `name@version` airssys can use.
    #[error(
        "cannot tell which name@version to store {reference} as: {reason}. Pass --as NAME@VERSION (e.g. \
         --as upper@1.0.0)"
    )]
    OciNoName {
        /// The reference pulled.
        reference: String,
        /// Why the artifact's annotations and tag do not give one.
        reason: String,
    },

    /// `airssys serve` cannot use its TLS certificate or key.
    #[error("TLS: cannot use {what}: {problem}")]
    Tls {
        /// The file or setting (`the certificate file /etc/airssys/cert.pem`).
        what: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// The server's TLS certificate is not trusted by this client: signed
    /// by a CA it does not know, expired, or for another name.
    #[error(
        "the server at {url} presented a TLS certificate this client refuses ({problem}); if your own CA signed \
         it, give the client that CA's certificate (PEM) as its CA file (`RemoteRuntime::with_ca_file`)"
    )]
    TlsCertificate {
        /// The server.
        url: String,
        /// The certificate problem (`unknown issuer`, `expired`, `not valid for name ...`).
        problem: String,
    },
}
