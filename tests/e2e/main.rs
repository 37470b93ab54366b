//! End-to-end tests: the `airssys` binary run as a user runs it.
//!
//! `cargo test --workspace --release` builds the binary before any test runs (host-core
//! has integration tests, so its binaries are built); these tests find it
//! next to their own executable.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod cli;
mod contract_shape;
mod deploy;
mod diff;
mod files;
mod fleet;
mod new;
mod oci;
mod packaging;
mod project;
mod remote;
mod security;
mod support;
