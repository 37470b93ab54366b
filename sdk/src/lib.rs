//! Write an airssys component as one trait impl and one macro call.
//!
//! A component implements [`Component`] (and [`Stateful`] if its state must
//! survive hot upgrades), then calls [`export_component!`] once. Build the
//! crate as a `cdylib` for `wasm32-wasip2` and the result is a WebAssembly
//! component implementing the contract in `wit/component.wit`
//! (`airssys:component@0.1.0`).
//!
//! ```
//! use airssys_sdk::prelude::*;
//!
//! struct Upper;
//!
//! impl Component for Upper {
//!     fn metadata() -> Metadata {
//!         Metadata::new("upper", "1.0.0", "Turns text to upper case")
//!             .accepts("text/plain")
//!             .produces("text/plain")
//!     }
//!
//!     fn init(_config: &Config) -> Result<Self, Error> {
//!         Ok(Upper)
//!     }
//!
//!     fn execute(&mut self, input: Input) -> Result<Output, Error> {
//!         let text = input.text()?;
//!         log::debug("upper-casing", &[("bytes", &text.len().to_string())]);
//!         Ok(Output::text(text.to_uppercase()))
//!     }
//! }
//!
//! airssys_sdk::export_component!(Upper);
//! # fn main() {}
//! ```
//!
//! `export_component!(T)` exports the contract's `plugin` world (`guest`
//! only); `export_component!(T, stateful)` also exports `state`, giving the
//! shape of the `stateful-plugin` world, and requires `T: Stateful`.
//!
//! The crate also compiles for the build machine, so a component's logic can
//! be unit-tested natively: call [`Component::init`] and
//! [`Component::execute`] directly; [`log`] and [`metric`] then print to
//! standard error instead of calling the host.

#[doc(hidden)]
#[path = "runtime.rs"]
pub mod __private;
#[doc(hidden)]
pub mod bindings;
mod component;
mod config;
pub mod log;
mod types;

pub use component::{Component, Stateful};
pub use config::Config;
pub use log::metric;
pub use types::{
    CONTENT_TYPE, Capability, ComponentMetadata, Context, CustomCapability, DEFAULT_PORT, Error, ErrorKind,
    ExecutionContext, Health, HealthStatus, Input, Metadata, MetadataMap, Output, PORT, Value,
};

/// Everything a component usually needs: `use airssys_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::log;
    pub use crate::{
        Capability, Component, Config, Context, Error, ErrorKind, Health, Input, Metadata, Output, Stateful, Value,
        metric,
    };
}

/// Exports a [`Component`] implementation as the component's `guest`
/// interface (and, with `stateful`, its `state` interface).
///
/// Call it once, at the top level of the component crate:
///
/// * `export_component!(MyType);` exports world `plugin`:
///   `airssys:component/guest@0.1.0`, importing `airssys:component/host@0.1.0`.
/// * `export_component!(MyType, stateful);` also exports
///   `airssys:component/state@0.1.0` and needs `MyType: Stateful`.
///
/// The macro keeps the instance returned by [`Component::init`] in a
/// thread-local. Before a successful `init` (and after `shutdown`),
/// `execute`, `shutdown`, `snapshot` and `restore` return an error of kind
/// `not-initialized` and `health` reports `unhealthy("not initialized")`.
/// `metadata` and `required-capabilities` never need `init`; the `stateful`
/// flag of the metadata is set to match the exported world.
#[macro_export]
macro_rules! export_component {
    ($ty:ty, stateful $(,)?) => {
        const _: () = {
            $crate::__airssys_export_guest!($ty, true);

            impl $crate::__private::StateExport for __AirssysExport {
                fn snapshot() -> ::core::result::Result<::std::vec::Vec<u8>, $crate::Error> {
                    $crate::__private::snapshot::<$ty>(&__AIRSSYS_INSTANCE)
                }
                fn restore(
                    data: ::std::vec::Vec<u8>,
                    from_version: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::Error> {
                    $crate::__private::restore::<$ty>(&__AIRSSYS_INSTANCE, data, from_version)
                }
            }

            $crate::__private::bindings::state::__export_state!(
                __AirssysExport with_types_in $crate::__private::bindings::state
            );
        };
    };
    ($ty:ty $(,)?) => {
        const _: () = {
            $crate::__airssys_export_guest!($ty, false);
        };
    };
}

/// The `guest` half of [`export_component!`]; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __airssys_export_guest {
    ($ty:ty, $stateful:literal) => {
        ::std::thread_local! {
            static __AIRSSYS_INSTANCE: $crate::__private::Slot<$ty> =
                const { $crate::__private::RefCell::new(::core::option::Option::None) };
        }

        struct __AirssysExport;

        impl $crate::__private::GuestExport for __AirssysExport {
            fn init(config: $crate::__private::RawConfig) -> ::core::result::Result<(), $crate::Error> {
                $crate::__private::init::<$ty>(&__AIRSSYS_INSTANCE, config)
            }
            fn execute(input: $crate::Input) -> ::core::result::Result<$crate::Output, $crate::Error> {
                $crate::__private::execute::<$ty>(&__AIRSSYS_INSTANCE, input)
            }
            fn shutdown() -> ::core::result::Result<(), $crate::Error> {
                $crate::__private::shutdown::<$ty>(&__AIRSSYS_INSTANCE)
            }
            fn metadata() -> $crate::Metadata {
                $crate::__private::metadata::<$ty>($stateful)
            }
            fn required_capabilities() -> ::std::vec::Vec<$crate::Capability> {
                <$ty as $crate::Component>::required_capabilities()
            }
            fn health() -> $crate::Health {
                $crate::__private::health::<$ty>(&__AIRSSYS_INSTANCE)
            }
        }

        $crate::__private::bindings::plugin::__export_plugin!(
            __AirssysExport with_types_in $crate::__private::bindings::plugin
        );
    };
}
