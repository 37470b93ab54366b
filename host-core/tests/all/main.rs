//! host-core integration tests: one binary, real components.
//!
//! `samples` drives the committed sample components; `limits` and `loading`
//! use tiny components written in the component text format (`tiny`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod audit;
mod common;
mod contract_shape;
mod deadline;
mod deploy;
mod diff;
mod errors;
mod fleet;
mod folders;
mod languages;
mod limits;
mod loading;
mod metrics;
#[cfg(feature = "oci")]
mod oci;
mod pipeline;
mod project;
mod registry;
mod remote;
mod samples;
mod security;
mod tiers;
mod tiny;
mod traces;
mod watch;
mod wire;
