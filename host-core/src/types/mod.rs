//! The vocabulary: plain data types every layer shares (digests, component
//! kinds and metadata, capabilities, `name@version` references, rollout
//! records, validation problems), with serde, mirroring the WIT types
//! where there are some. This is the floor of the crate: it names nothing
//! above it (not even the error type; references and strategy names have
//! their own small parse errors), so that `Error` can carry these types.

mod capability;
mod component;
mod guest;
mod problems;
mod reference;
mod rollout;

pub use capability::{Capability, ParseCapabilityError};
pub use component::{ComponentKind, Digest, Health, Metadata, ParseDigestError};
pub use guest::{GuestError, GuestErrorKind, LogLevel, LogLine};
pub use problems::{PipelineError, ShapeMismatch, mismatch_text};
pub use reference::{ComponentRef, InvalidReference, check_name};
pub use rollout::{NodeStep, RolloutOutcome, RolloutRecord, RolloutStep, StrategyKind, Trigger, UnknownStrategy};

/// A message as the host passes it along: bytes plus metadata.
pub use crate::bindings::wit::{Output, Value};

/// The contract version this host implements (`airssys:component@0.1.0`).
pub const CONTRACT_VERSION: &str = "0.1.0";
