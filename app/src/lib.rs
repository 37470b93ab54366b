//! airssys-studio: the desktop studio over host-core.
//!
//! The studio holds no runtime logic: every action is a call of host-core's
//! `Runtime` trait made on a worker thread ([`worker`]); the window edits
//! the pipeline graph ([`graph`], [`canvas`]) and shows what comes back.

pub mod canvas;
pub mod graph;
pub mod panels;
pub mod studio;
pub mod worker;

pub use studio::Studio;
