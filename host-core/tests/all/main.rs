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
mod errors;
mod fleet;
mod folders;
mod languages;
mod limits;
mod loading;
mod metrics;
mod pipeline;
mod project;
mod registry;
mod remote;
mod samples;
mod security;
mod tiny;
mod watch;
mod wire;
