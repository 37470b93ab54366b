//! Host-side bindings generated from `wit/component.wit` (the crate's
//! floor with `types`: generated code, nothing of ours but the linker hook).
//!
//! Only the interface-level pieces are used: `guest` is required, `state` is
//! optional, so each is looked up on its own rather than through a world.
//! Exports of components that can wait inside the host are called through
//! wasmtime's async entry points, so that a call can be cut at its deadline
//! while the guest waits (see `crate::deadline`); [`sync`] has the plain
//! synchronous calls for the others. The `airssys:component/host` imports
//! never block and stay synchronous.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "stateful-plugin",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    exports: { default: async },
});

pub use airssys::component::host::LogLevel;
pub use airssys::component::types as wit;
pub use exports::airssys::component::guest::{Guest, GuestIndices};
pub use exports::airssys::component::state::{Guest as StateGuest, GuestIndices as StateIndices};

/// Synchronous bindings of the same exports, sharing the types above: for
/// components that cannot wait inside the host (they import nothing that
/// waits), whose calls need no fiber, and for the bench's bare baseline.
pub(crate) mod sync {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "stateful-plugin",
        with: {
            "airssys:component/types": super::airssys::component::types,
            "airssys:component/host": super::airssys::component::host,
        },
    });

    pub(crate) use exports::airssys::component::guest::{Guest, GuestIndices};
    pub(crate) use exports::airssys::component::state::{Guest as StateGuest, GuestIndices as StateIndices};
}

/// Link the `airssys:component/host` import into a linker.
pub(crate) fn add_host_to_linker<T>(linker: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()>
where
    T: airssys::component::host::Host + airssys::component::types::Host + 'static,
{
    airssys::component::host::add_to_linker::<T, wasmtime::component::HasSelf<T>>(linker, |s| s)?;
    airssys::component::types::add_to_linker::<T, wasmtime::component::HasSelf<T>>(linker, |s| s)
}
