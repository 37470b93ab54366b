//! host-core integration tests: one binary, real components.
//!
//! `samples` drives the committed sample components; `limits` and `loading`
//! use tiny components written in the component text format (`tiny`).

mod common;
mod limits;
mod loading;
mod samples;
mod tiny;
