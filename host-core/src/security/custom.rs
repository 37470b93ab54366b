//! Capability kinds an embedder defines ([`CustomCapability`]): a name, a
//! validator for a grant's JSON parameters, and the host functions linked
//! for every component. The functions ask the store's
//! [`HostState::custom_grant`] on each call.

use std::sync::Arc;

use crate::state::HostState;

/// Checks the JSON parameters of a custom grant; `Err` says why not.
pub type CustomValidator = Arc<dyn Fn(&str) -> std::result::Result<(), String> + Send + Sync>;

/// Adds an embedder's host functions to the linker.
pub type CustomLinker = Arc<dyn Fn(&mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> + Send + Sync>;

/// A capability kind an embedder defines, with its own host functions.
/// Those functions call [`HostState::custom_grant`] and refuse when it is
/// `None` (and may call [`HostState::audit_denial`]).
#[derive(Clone)]
pub struct CustomCapability {
    /// The name used in `custom:NAME=JSON`.
    pub name: String,
    /// Validates a grant's parameters at deploy time.
    pub validate: CustomValidator,
    /// Links the host functions.
    pub link: CustomLinker,
}

impl std::fmt::Debug for CustomCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomCapability").field("name", &self.name).finish_non_exhaustive()
    }
}
