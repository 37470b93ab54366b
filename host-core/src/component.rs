//! Loading and introspecting components.
//!
//! Loading checks the header (so a core module or garbage gets a clear
//! error), validates and compiles (or reads compiled code back from the disk
//! cache), classifies the component by its exports, compares its contract
//! functions with the contract's types (`contract`), and pre-links it into
//! an `InstancePre` so instantiation does no name resolution.

use std::path::Path;

use serde::Serialize;
use wasmtime::component::{Component, InstancePre, types::ComponentItem};
use wasmtime_wasi::p2::bindings::sync::CommandPre;

use crate::{
    CONTRACT_VERSION, Error, Result,
    bindings::{GuestIndices, StateIndices},
    contract::{self, ShapeMismatch, contract_compatible},
    engine::LoadOrigin,
    instance::HostState,
    types::{ComponentKind, Digest},
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

/// A validated, compiled and pre-linked component, ready to instantiate.
pub struct LoadedComponent {
    name: String,
    info: ComponentInfo,
    origin: LoadOrigin,
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
            .finish()
    }
}

pub(crate) enum Entry {
    Contract { pre: InstancePre<HostState>, guest: GuestIndices, state: Option<StateIndices> },
    Command { pre: CommandPre<HostState> },
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
    linker: &wasmtime::component::Linker<HostState>,
    surveyed: Surveyed,
    name: String,
    origin: LoadOrigin,
) -> Result<LoadedComponent> {
    let Surveyed { component, info, mismatches } = surveyed;
    if !mismatches.is_empty() {
        return Err(Error::ContractShape { mismatches });
    }
    let pre = linker.instantiate_pre(&component).map_err(|e| Error::Link(e.into()))?;
    let entry = match &info.kind {
        ComponentKind::Contract { state, .. } => {
            let guest = GuestIndices::new(&pre).map_err(|e| Error::Link(e.into()))?;
            let state = if *state { Some(StateIndices::new(&pre).map_err(|e| Error::Link(e.into()))?) } else { None };
            Entry::Contract { pre, guest, state }
        }
        ComponentKind::WasiCommand => Entry::Command { pre: CommandPre::new(pre).map_err(|e| Error::Link(e.into()))? },
    };
    Ok(LoadedComponent { name, info, origin, component, entry })
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
