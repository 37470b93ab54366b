//! airssys-studio: the desktop studio over host-core.
//!
//! The studio holds no runtime logic: every request is a call of
//! host-core's `Runtime` trait made on the runtime thread ([`worker`]).
//! The window is state ([`state`]) drawn by views ([`views`]) that push
//! actions ([`action`]); [`studio`] applies the actions and the runtime's
//! replies. [`graph`] converts the canvas to and from host-core's
//! pipelines. This file only lists the modules.

pub mod action;
pub mod graph;
pub mod state;
pub mod studio;
pub mod views;
pub mod worker;

pub use studio::Studio;
