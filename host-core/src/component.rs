//! Loading and introspecting components: what a loaded component is
//! ([`LoadedComponent`]) and the steps that make one (header, initial
//! needs, survey, link) with the two linkers. Knows the store's data type,
//! not the engine subsystem that runs these steps.
//!
//! Loading checks the header (so a core module or garbage gets a clear
//! error), validates and compiles (or reads compiled code back from the disk
//! cache), classifies the component by its exports, compares its contract
//! functions with the contract's types (`contract`), and pre-links it into
//! an `InstancePre` so instantiation does no name resolution.

use std::path::Path;

use serde::Serialize;
use wasmtime::component::{Component, InstancePre, Linker, types::ComponentItem};
use wasmtime_wasi::p2::bindings::CommandPre;

use crate::{
    CONTRACT_VERSION, Error, Result,
    bindings::{self, GuestIndices, StateIndices, sync},
    contract::{self, contract_compatible},
    engine::LoadOrigin,
    limits::PoolConfig,
    security::CustomCapability,
    state::HostState,
    types::{ComponentKind, Digest, ShapeMismatch},
};

const GUEST_INTERFACE: &str = "airssys:component/guest";
const STATE_INTERFACE: &str = "airssys:component/state";
const WASI_RUN: &str = "wasi:cli/run";

/// What can be known about a component without running it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ComponentInfo {
    /// sha256 of the bytes.
    pub digest: Digest,
    /// Size of the `.wasm` in bytes.
    pub size_bytes: u64,
    /// Contract component or WASI command.
    #[serde(flatten)]
    pub kind: ComponentKind,
    /// Imported interfaces and functions, by name.
    pub imports: Vec<String>,
    /// Exported interfaces and functions, by name.
    pub exports: Vec<String>,
}

/// Which compiler made a loaded component's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompileTier {
    /// Winch, wasmtime's baseline compiler: compiles several times faster,
    /// runs slower; serves a large component until Cranelift's code is
    /// ready ([`crate::HostConfig::tiered_min_bytes`]).
    Baseline,
    /// Cranelift, the optimising compiler (what the compile cache keeps).
    #[default]
    Optimized,
}

impl CompileTier {
    /// `baseline` or `optimized`.
    pub fn name(self) -> &'static str {
        match self {
            CompileTier::Baseline => "baseline",
            CompileTier::Optimized => "optimized",
        }
    }
}

/// A validated, compiled and pre-linked component, ready to instantiate.
pub struct LoadedComponent {
    name: String,
    info: ComponentInfo,
    origin: LoadOrigin,
    tier: CompileTier,
    component: Component,
    entry: Entry,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("name", &self.name)
            .field("digest", &self.info.digest)
            .field("kind", &self.info.kind)
            .field("origin", &self.origin)
            .field("tier", &self.tier)
            .finish()
    }
}

pub(crate) enum Entry {
    Contract { pre: InstancePre<HostState>, exports: ContractExports },
    Command { pre: CommandPre<HostState> },
}

/// How a contract component's exports are called.
pub(crate) enum ContractExports {
    /// The component imports nothing it could wait on (see [`may_wait`]):
    /// plain synchronous calls, no fiber, bounded by epochs alone.
    Sync { guest: sync::GuestIndices, state: Option<sync::StateIndices> },
    /// It can wait inside the host: async calls driven under the call's
    /// deadline (`crate::deadline`).
    Async { guest: GuestIndices, state: Option<StateIndices> },
}

/// The two linkers of a host: WASI's synchronous implementations for
/// components that cannot wait in the host, its async ones for the others.
pub(crate) struct Linkers {
    pub sync: Linker<HostState>,
    pub r#async: Linker<HostState>,
    /// Call every component the async way (the bench measures that path).
    pub always_async: std::sync::atomic::AtomicBool,
}

impl Linkers {
    /// Both linkers, with the embedder's custom capabilities.
    pub(crate) fn new(engine: &wasmtime::Engine, custom: &[CustomCapability]) -> Result<Self> {
        Ok(Linkers {
            sync: linker(engine, custom, false)?,
            r#async: linker(engine, custom, true)?,
            always_async: Default::default(),
        })
    }
}

/// A linker with WASI (its async implementations when `waits`: a guest
/// waiting in the host then waits in a future the call's deadline can
/// drop, see `crate::deadline`), wasi:http, the airssys host interface
/// and the embedder's custom capabilities.
fn linker(engine: &wasmtime::Engine, custom: &[CustomCapability], waits: bool) -> Result<Linker<HostState>> {
    let link = |e: wasmtime::Error| Error::Link(e.into());
    let mut linker = Linker::<HostState>::new(engine);
    if waits {
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(link)?;
    } else {
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(link)?;
    }
    bindings::add_host_to_linker(&mut linker).map_err(link)?;
    for custom in custom {
        (custom.link)(&mut linker).map_err(link)?;
    }
    Ok(linker)
}

/// Import prefixes that never make a guest wait: streams and pollables
/// whose only sources are these interfaces are always ready (a contract
/// instance's stdin is empty and its stdout/stderr are in-memory sinks).
/// Anything else (monotonic-clock timers, files, sockets, HTTP, an
/// embedder's own functions) may wait, so calls go through the deadline.
const NEVER_WAITS: &[&str] = &["wasi:io/", "wasi:cli/", "wasi:random/", "wasi:clocks/wall-clock", "airssys:component/"];

/// Whether a component with these imports can wait inside the host.
pub(crate) fn may_wait(imports: &[String]) -> bool {
    imports.iter().any(|import| !NEVER_WAITS.iter().any(|prefix| import.starts_with(prefix)))
}

impl LoadedComponent {
    /// A name for logs: the file stem it was loaded from, or the short digest.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its sha256 digest.
    pub fn digest(&self) -> Digest {
        self.info.digest
    }

    /// Static introspection.
    pub fn info(&self) -> &ComponentInfo {
        &self.info
    }

    /// Contract component or WASI command.
    pub fn kind(&self) -> &ComponentKind {
        &self.info.kind
    }

    /// Where its compiled code came from.
    pub fn origin(&self) -> LoadOrigin {
        self.origin
    }

    /// Which compiler made its code.
    pub fn tier(&self) -> CompileTier {
        self.tier
    }

    /// The wasmtime component.
    pub fn wasmtime_component(&self) -> &Component {
        &self.component
    }

    pub(crate) fn entry(&self) -> &Entry {
        &self.entry
    }
}

/// Refuses bytes that are not a component before handing them to wasmtime,
/// so the error says what the bytes are.
pub(crate) fn check_header(bytes: &[u8]) -> Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 {
        return Err(Error::NotWasm {
            reason: format!("the file is only {} bytes long (truncated or empty)", bytes.len()),
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(Error::NotWasm { reason: "it does not start with the `\\0asm` magic bytes".into() });
    }
    match &bytes[4..8] {
        [0x01, 0x00, 0x00, 0x00] => Err(Error::CoreModule),
        [_, _, 0x01, 0x00] => Ok(()),
        other => Err(Error::NotWasm { reason: format!("unknown WebAssembly version/layer {other:02x?}") }),
    }
}

/// What a component needs before its first instruction runs: its largest
/// initial linear memory (bytes) and its largest initial table (elements),
/// over every core module it contains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct InitialNeeds {
    pub memory_bytes: u64,
    pub table_elements: u64,
}

/// Reads the declared memory and table sizes (no validation: that is the
/// compiler's job; a section that does not parse is left to it).
pub(crate) fn initial_needs(bytes: &[u8]) -> InitialNeeds {
    use wasmparser::{Chunk, Parser, Payload};
    let mut needs = InitialNeeds::default();
    let mut parser = Parser::new(0);
    let mut outer = Vec::new();
    let mut data = bytes;
    // Section by section, skipping function bodies (most of the bytes).
    while let Ok(Chunk::Parsed { consumed, payload }) = parser.parse(data, true) {
        data = &data[consumed..];
        match payload {
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter().flatten() {
                    let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                    needs.memory_bytes = needs.memory_bytes.max(memory.initial.saturating_mul(page));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.into_iter().flatten() {
                    needs.table_elements = needs.table_elements.max(table.ty.initial);
                }
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                data = data.get(size as usize..).unwrap_or_default();
            }
            Payload::ModuleSection { parser: inner, .. } | Payload::ComponentSection { parser: inner, .. } => {
                outer.push(std::mem::replace(&mut parser, inner));
            }
            Payload::End(_) => match outer.pop() {
                Some(up) => parser = up,
                None => break,
            },
            _ => {}
        }
    }
    needs
}

/// Refuses a component that could never start on this host: one whose
/// initial memory or table is above the host's maxima (the engine would say
/// so in its own terms, or not until instantiation).
pub(crate) fn check_initial_needs(bytes: &[u8], pool: &PoolConfig) -> Result<()> {
    let needs = initial_needs(bytes);
    if needs.memory_bytes > pool.max_memory_bytes as u64 {
        return Err(Error::OutOfMemory {
            function: "instantiate",
            limit_bytes: pool.max_memory_bytes as u64,
            requested_bytes: needs.memory_bytes,
        });
    }
    if needs.table_elements > pool.max_table_elements as u64 {
        return Err(Error::TableLimit {
            function: "instantiate",
            limit: pool.max_table_elements as u64,
            requested: needs.table_elements,
        });
    }
    Ok(())
}

/// A compiled component whose kind is known and whose contract functions
/// have been compared with the contract; not linked yet.
pub(crate) struct Surveyed {
    /// The compiled component.
    pub component: Component,
    /// Static introspection.
    pub info: ComponentInfo,
    /// Contract functions whose types differ from the contract's (always
    /// empty for a WASI command).
    pub mismatches: Vec<ShapeMismatch>,
}

/// Lists imports and exports, classifies the component by its exports and
/// compares its contract functions with the contract.
///
/// Errors: the classification's ([`Error::ContractVersion`],
/// [`Error::MissingExport`]); a shape mismatch is not an error here (see
/// [`link`]), so that `inspect` can still describe such a component.
pub(crate) fn survey(
    engine: &wasmtime::Engine,
    component: Component,
    digest: Digest,
    size_bytes: u64,
) -> Result<Surveyed> {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let mut exports = Vec::new();
    for (export, item) in ty.exports(engine) {
        match item.ty {
            ComponentItem::ComponentInstance(inst) => {
                exports.push(export.to_string());
                for (func, _) in inst.exports(engine) {
                    exports.push(format!("{export}#{func}"));
                }
            }
            _ => exports.push(export.to_string()),
        }
    }
    let top_level: Vec<&str> = exports.iter().filter(|e| !e.contains('#')).map(String::as_str).collect();
    let kind = classify(&top_level)?;
    let mismatches = match kind {
        ComponentKind::Contract { .. } => contract::check(engine, &component)?,
        ComponentKind::WasiCommand => Vec::new(),
    };
    Ok(Surveyed { component, info: ComponentInfo { digest, size_bytes, kind, imports, exports }, mismatches })
}

/// Pre-links a surveyed component.
///
/// Errors: [`Error::ContractShape`] when a contract function does not have
/// the contract's type; [`Error::Link`] when an import is not provided.
pub(crate) fn link(
    linkers: &Linkers,
    surveyed: Surveyed,
    name: String,
    origin: LoadOrigin,
    tier: CompileTier,
) -> Result<LoadedComponent> {
    let Surveyed { component, info, mismatches } = surveyed;
    if !mismatches.is_empty() {
        return Err(Error::ContractShape { mismatches });
    }
    let link = |e: wasmtime::Error| Error::Link(e.into());
    let always_async = linkers.always_async.load(std::sync::atomic::Ordering::Relaxed);
    let entry = match &info.kind {
        ComponentKind::Contract { state, .. } if !may_wait(&info.imports) && !always_async => {
            let pre = linkers.sync.instantiate_pre(&component).map_err(link)?;
            let guest = sync::GuestIndices::new(&pre).map_err(link)?;
            let state = if *state { Some(sync::StateIndices::new(&pre).map_err(link)?) } else { None };
            Entry::Contract { pre, exports: ContractExports::Sync { guest, state } }
        }
        ComponentKind::Contract { state, .. } => {
            let pre = linkers.r#async.instantiate_pre(&component).map_err(link)?;
            let guest = GuestIndices::new(&pre).map_err(link)?;
            let state = if *state { Some(StateIndices::new(&pre).map_err(link)?) } else { None };
            Entry::Contract { pre, exports: ContractExports::Async { guest, state } }
        }
        // Commands run in a fresh store per call: always async.
        ComponentKind::WasiCommand => {
            let pre = linkers.r#async.instantiate_pre(&component).map_err(link)?;
            Entry::Command { pre: CommandPre::new(pre).map_err(link)? }
        }
    };
    Ok(LoadedComponent { name, info, origin, tier, component, entry })
}

/// Decides the kind from the top-level export names.
fn classify(exports: &[&str]) -> Result<ComponentKind> {
    let versioned = |prefix: &str| {
        exports.iter().find_map(|e| e.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('@')).map(str::to_string))
    };
    if let Some(found) = versioned(GUEST_INTERFACE) {
        if !contract_compatible(&found) {
            return Err(Error::ContractVersion { found, expected: CONTRACT_VERSION });
        }
        let state = versioned(STATE_INTERFACE).is_some_and(|v| contract_compatible(&v));
        return Ok(ComponentKind::Contract { version: found, state });
    }
    if exports.contains(&GUEST_INTERFACE) {
        return Err(Error::ContractVersion { found: "(unversioned)".into(), expected: CONTRACT_VERSION });
    }
    if versioned(WASI_RUN).is_some_and(|v| v.starts_with("0.2.")) {
        return Ok(ComponentKind::WasiCommand);
    }
    let found = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
    Err(Error::MissingExport { found })
}

/// A display name from a path: the file stem.
pub(crate) fn name_from_path(path: &Path) -> Option<String> {
    path.file_stem().and_then(|s| s.to_str()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_check_names_what_the_bytes_are() {
        assert!(matches!(check_header(b""), Err(Error::NotWasm { .. })));
        assert!(matches!(check_header(b"hello world!"), Err(Error::NotWasm { .. })));
        assert!(matches!(check_header(b"\0asm\x01\0\0\0"), Err(Error::CoreModule)));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn only_components_that_import_a_source_of_waiting_may_wait() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pure = names(&[
            "wasi:io/poll@0.2.6",
            "wasi:io/streams@0.2.6",
            "wasi:cli/stdout@0.2.6",
            "airssys:component/host@0.1.0",
        ]);
        assert!(!may_wait(&pure));
        for waits in [
            "wasi:clocks/monotonic-clock@0.2.6",
            "wasi:filesystem/types@0.2.6",
            "wasi:sockets/tcp@0.2.6",
            "wasi:http/outgoing-handler@0.2.6",
            "acme:kv/store",
        ] {
            let mut imports = pure.clone();
            imports.push(waits.to_string());
            assert!(may_wait(&imports), "{waits}");
        }
    }

    #[test]
    fn classify_by_exports() {
        let kind = classify(&["airssys:component/guest@0.1.0"]).unwrap();
        assert_eq!(kind, ComponentKind::Contract { version: "0.1.0".into(), state: false });
        let kind = classify(&["airssys:component/guest@0.1.3", "airssys:component/state@0.1.3"]).unwrap();
        assert_eq!(kind, ComponentKind::Contract { version: "0.1.3".into(), state: true });
        assert_eq!(classify(&["wasi:cli/run@0.2.6"]).unwrap(), ComponentKind::WasiCommand);
        let err = classify(&["airssys:component/guest@0.2.0"]).unwrap_err().to_string();
        assert!(err.contains("0.2.0") && err.contains(CONTRACT_VERSION), "{err}");
        assert!(matches!(classify(&["foo:bar/baz"]), Err(Error::MissingExport { .. })));
    }
}
