//! Host-side bindings generated from `wit/component.wit`.
//!
//! Only the interface-level pieces are used: `guest` is required, `state` is
//! optional, so each is looked up on its own rather than through a world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "stateful-plugin",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

pub use airssys::component::host::LogLevel;
pub use airssys::component::types as wit;
pub use exports::airssys::component::guest::{Guest, GuestIndices};
pub use exports::airssys::component::state::{Guest as StateGuest, GuestIndices as StateIndices};

/// Link the `airssys:component/host` import into a linker.
pub(crate) fn add_host_to_linker<T>(linker: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()>
where
    T: airssys::component::host::Host + airssys::component::types::Host + 'static,
{
    airssys::component::host::add_to_linker::<T, wasmtime::component::HasSelf<T>>(linker, |s| s)?;
    airssys::component::types::add_to_linker::<T, wasmtime::component::HasSelf<T>>(linker, |s| s)
}
