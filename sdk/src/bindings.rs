//! Bindings generated from `wit/component.wit`.
//!
//! Two `generate!` calls are needed because a stateless component must not
//! export `state`, while wit-bindgen cannot share an *exported* interface
//! between two generated worlds (its export macros would collide):
//!
//! * [`plugin`] is the contract's `plugin` world: it imports `host` and
//!   exports `guest`. It owns the `types` interface.
//! * [`state`] is a one-line world in an SDK-private package that exports only
//!   `airssys:component/state@0.1.0`, reusing the `types` of [`plugin`] through
//!   `with:`.
//!
//! A stateless component expands only the `plugin` export macro. A stateful
//! one expands both; wit-component merges the two worlds, so the component
//! imports `host` and exports `guest` and `state` — exactly the shape of the
//! contract's `stateful-plugin` world.
//!
//! Only the export macros emit the world's exports into the component-type
//! custom section, so the world a component ends up with depends on which
//! macros it expands, not on what this crate generates.

/// The `plugin` world: `import host; export guest;` plus the shared types.
pub mod plugin {
    wit_bindgen::generate!({
        world: "airssys:component/plugin@0.1.0",
        path: "../wit",
        additional_derives: [PartialEq],
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "airssys_sdk::__private::bindings::plugin",
    });
}

/// Only the `state` export, sharing the types of [`plugin`].
pub mod state {
    wit_bindgen::generate!({
        world: "airssys:sdk/state-export",
        path: "../wit",
        inline: "
            package airssys:sdk;

            /// Adds the contract's `state` export to a component that already
            /// exports `guest` through the `plugin` world.
            world state-export {
                export airssys:component/state@0.1.0;
            }
        ",
        with: {
            "airssys:component/types@0.1.0": crate::bindings::plugin::airssys::component::types,
        },
        pub_export_macro: true,
        export_macro_name: "__export_state",
        default_bindings_module: "airssys_sdk::__private::bindings::state",
    });
}
