//! Inspection ([`Inspection`], `Engine::inspect`), what `airssys inspect`
//! shows: a loadable component's description, and,
//! for a component the contract's shape check refuses, as much as can still
//! be read (digest, size, imports, exports, and `metadata` and
//! `required-capabilities` when their own types match), with the functions
//! that do not match.

use std::{path::Path, time::Instant};

use serde::{Deserialize, Serialize};
use wasmtime::component::Component;

use super::{Description, Engine, Loaded};
use crate::{
    Error, Result,
    bindings::wit,
    component::{self, ComponentInfo, Surveyed},
    security::SandboxPolicy,
    state::{HostState, Sandbox, new_store},
    types::{Capability, ComponentKind, Metadata, ShapeMismatch},
};

/// What `Host::inspect` finds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// Static facts: digest, size, kind, imports, exports.
    #[serde(flatten)]
    pub info: ComponentInfo,
    /// `metadata()`; `None` when it was not called (see `metadata_error`).
    pub metadata: Option<Metadata>,
    /// Why `metadata()` was not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_error: Option<String>,
    /// `required-capabilities()`; `None` when it was not called (see
    /// `required_capabilities_error`).
    pub required_capabilities: Option<Vec<Capability>>,
    /// Why `required-capabilities()` was not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_capabilities_error: Option<String>,
    /// Contract functions whose types differ from the contract's; empty for
    /// a component this host loads.
    #[serde(default)]
    pub mismatches: Vec<ShapeMismatch>,
    /// Why this host refuses to load the component (the
    /// [`Error::ContractShape`] message); `None` when it loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Which compiler made the code this host holds for it (`baseline`
    /// while a large new component's optimised code is compiled in the
    /// background); `None` for a refused component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::CompileTier>,
}

impl From<Description> for Inspection {
    fn from(d: Description) -> Self {
        Inspection {
            tier: None,
            info: d.info,
            metadata: Some(d.metadata),
            metadata_error: None,
            required_capabilities: Some(d.required_capabilities),
            required_capabilities_error: None,
            mismatches: Vec::new(),
            refused: None,
        }
    }
}

impl Engine {
    /// Reads and inspects a component file (see [`Engine::inspect`]).
    pub(crate) fn inspect_file(&self, path: impl AsRef<Path>) -> Result<Inspection> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("read the component", path, e))?;
        self.inspect(&bytes, component::name_from_path(path))
    }

    /// Describes `bytes` like [`Engine::describe`]. A component whose contract
    /// functions do not have the contract's types is described too, as far
    /// as possible: [`Inspection::mismatches`] lists what differs,
    /// [`Inspection::refused`] says why it will not load, and `metadata` and
    /// `required-capabilities` are called only if their own types match and
    /// the imports link (otherwise the `*_error` fields say why not).
    ///
    /// Errors: what [`Engine::load_named`] refuses other than
    /// [`Error::ContractShape`]; a loadable component whose introspection
    /// calls fail.
    pub(crate) fn inspect(&self, bytes: &[u8], name: Option<String>) -> Result<Inspection> {
        let surveyed = match self.load_or_survey(bytes, name.clone())? {
            Loaded::Ready(component) => {
                let inspection = Inspection::from(self.describe(&component)?);
                return Ok(Inspection { tier: Some(component.tier()), ..inspection });
            }
            Loaded::Refused(surveyed) => surveyed,
        };
        let name = name.unwrap_or_else(|| surveyed.info.digest.short());
        let (metadata, required_capabilities) = self.read_refused(&surveyed, &name);
        let refused = Error::ContractShape { mismatches: surveyed.mismatches.clone() }.to_string();
        let Surveyed { info, mismatches, .. } = *surveyed;
        Ok(Inspection {
            info,
            metadata_error: metadata.as_ref().err().cloned(),
            metadata: metadata.ok(),
            required_capabilities_error: required_capabilities.as_ref().err().cloned(),
            required_capabilities: required_capabilities.ok(),
            mismatches,
            refused: Some(refused),
            tier: None,
        })
    }

    /// Calls `metadata` and `required-capabilities` of a refused component
    /// where that is safe: their types match and its imports do too.
    fn read_refused(
        &self,
        surveyed: &Surveyed,
        name: &str,
    ) -> (std::result::Result<Metadata, String>, std::result::Result<Vec<Capability>, String>) {
        let ComponentKind::Contract { version, .. } = &surveyed.info.kind else {
            let why = "not a contract component".to_string();
            return (Err(why.clone()), Err(why));
        };
        if let Some(import) = surveyed.mismatches.iter().find(|m| m.imported) {
            let why = format!(
                "not called: the component cannot be instantiated while its import of {} does not match the contract",
                import.interface
            );
            return (Err(why.clone()), Err(why));
        }
        let guest_interface = format!("airssys:component/guest@{version}");
        let mut caller = match RefusedCaller::new(self, &surveyed.component, name, &guest_interface) {
            Ok(caller) => caller,
            Err(why) => return (Err(why.clone()), Err(why)),
        };
        let unusable = |function: &str| {
            surveyed
                .mismatches
                .iter()
                .any(|m| m.function == function && m.interface == guest_interface)
                .then(|| format!("not called: `{function}` itself does not match the contract"))
        };
        let metadata = match unusable("metadata") {
            Some(why) => Err(why),
            None => caller.call::<wit::ComponentMetadata>("metadata").map(Metadata::from),
        };
        let capabilities = match unusable("required-capabilities") {
            Some(why) => Err(why),
            None => caller
                .call::<Vec<wit::Capability>>("required-capabilities")
                .map(|caps| caps.into_iter().map(Capability::from).collect()),
        };
        (metadata, capabilities)
    }
}

/// One instance of a refused component, for calling the introspection
/// functions whose types do match (in a store with nothing granted and the
/// host's default limits, like [`Engine::describe`]).
struct RefusedCaller<'a> {
    host: &'a Engine,
    component: &'a Component,
    guest_interface: String,
    store: wasmtime::Store<HostState>,
    instance: wasmtime::component::Instance,
}

impl<'a> RefusedCaller<'a> {
    fn new(
        host: &'a Engine,
        component: &'a Component,
        name: &str,
        guest_interface: &str,
    ) -> std::result::Result<Self, String> {
        let pre = host
            .linkers()
            .r#async
            .instantiate_pre(component)
            .map_err(|e| format!("not called: the component does not link: {e:#}"))?;
        let limits = host.config().default_limits.clone();
        let mut store = new_store(host.shared(), name, &limits, &SandboxPolicy::deny_all(), Sandbox::default())
            .map_err(|e| format!("not called: {e}"))?;
        let deadline = Instant::now() + limits.timeout;
        store.set_epoch_deadline(host.shared().deadline_ticks(limits.timeout));
        let instance = crate::deadline::run_until(deadline, pre.instantiate_async(&mut store))
            .ok_or_else(|| format!("not called: instantiation timed out after {} ms", limits.timeout.as_millis()))?
            .map_err(|e| format!("not called: the component does not instantiate: {e:#}"))?;
        let guest_interface = guest_interface.to_string();
        Ok(RefusedCaller { host, component, guest_interface, store, instance })
    }

    /// Calls the guest function `function`, which takes nothing and returns `R`.
    fn call<R: Send + Sync + 'static>(&mut self, function: &str) -> std::result::Result<R, String>
    where
        (R,): wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
    {
        let index = self
            .component
            .get_export_index(None, self.guest_interface.as_str())
            .and_then(|guest| self.component.get_export_index(Some(&guest), function))
            .ok_or_else(|| format!("not called: the component has no `{function}`"))?;
        let func = self
            .instance
            .get_typed_func::<(), (R,)>(&mut self.store, &index)
            .map_err(|e| format!("not called: {e:#}"))?;
        let timeout = self.host.config().default_limits.timeout;
        self.store.set_epoch_deadline(self.host.shared().deadline_ticks(timeout));
        // Like every guest call: bounded, waits in the host included.
        crate::deadline::run_until(Instant::now() + timeout, func.call_async(&mut self.store, ()))
            .ok_or_else(|| format!("`{function}` timed out after {} ms", timeout.as_millis()))?
            .map(|(r,)| r)
            .map_err(|e| format!("`{function}` failed: {e:#}"))
    }
}
