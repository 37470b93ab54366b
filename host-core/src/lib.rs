//! host-core: the airssys-wasm runtime for WebAssembly components.
//!
//! A [`Host`] owns one wasmtime engine (component model, pooling allocator,
//! epoch deadlines, on-disk compile cache). It loads components that export
//! the `airssys:component@0.1.0` contract (see `wit/component.wit`) or plain
//! WASI commands, and makes [`Instance`]s whose every call is bounded in
//! time, memory and optionally fuel. Nothing is granted by default: an
//! instance sees no files, no environment, no network and no host stdio.
//!
//! ```no_run
//! use host_core::{Host, HostConfig, Input};
//! # fn main() -> Result<(), host_core::Error> {
//! let host = Host::new(HostConfig::default())?;
//! let component = host.load_file("sample-projects/text-tools/components/upper.wasm")?;
//! println!("{:#?}", host.describe(&component)?.metadata);
//! let mut instance = host.instantiate(&component)?;
//! instance.init(&[])?;
//! let output = instance.execute(&Input::new(b"hello".to_vec()))?;
//! assert_eq!(output.data, b"HELLO");
//! # Ok(()) }
//! ```

// Floors, bottom up (ARCHITECTURE.md has the map): the vocabulary and the
// error type; file and thread helpers; the store's state and the WIT host
// impl; components, instances and the engine; the subsystems (registry,
// security, metrics, deploy, pipeline, watch); the `Host` facade; the
// `Runtime` trait, its client and server; projects; the bench.
mod background;
pub mod bench;
mod bindings;
mod component;
mod config;
mod contract;
mod deadline;
pub mod deploy;
pub mod diff;
mod engine;
mod error;
pub mod events;
#[cfg(feature = "fleet")]
pub mod fleet;
mod fsutil;
mod guest_output;
mod host;
mod host_interface;
mod instance;
mod journal;
mod limits;
pub mod metrics;
#[cfg(feature = "oci")]
pub mod oci;
pub mod pipeline;
pub mod project;
pub mod registry;
pub mod remote;
pub mod security;
mod state;
pub mod types;
mod unique;
pub mod watch;

pub use bindings::wit;
pub use component::{CompileTier, ComponentInfo, LoadedComponent};
pub use config::{HostConfig, default_cache_dir, default_data_dir};
pub use engine::{Description, Inspection, LoadOrigin};
pub use error::{Error, ErrorKind, Result, WasmtimeError};
pub use host::Host;
pub use instance::Instance;
pub use limits::{CallLimits, PoolConfig, STDERR_TAIL_LINES};
pub use remote::{RemoteRuntime, Runtime};
pub use state::HostState;
pub use types::{
    CONTRACT_VERSION, Capability, ComponentKind, Digest, GuestError, GuestErrorKind, Health, Metadata, ShapeMismatch,
};
pub use wit::{Input, Output, Value};
