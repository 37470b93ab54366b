//! Live events of a runtime for the studio and remote clients
//! ([`RuntimeEvent`]: rollout progress, periodic metrics snapshots, guest
//! log lines), and the fan-out that carries them (`bus`). The host facade
//! merges the streams in `Host::subscribe`.

pub(crate) mod bus;

use serde::{Deserialize, Serialize};

pub use crate::types::LogLine;
use crate::{deploy::RolloutEvent, metrics::MetricsSnapshot};

/// Something that happened in a runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RuntimeEvent {
    /// Rollout progress.
    Rollout {
        /// What happened.
        event: RolloutEvent,
    },
    /// Metrics now (sent periodically).
    Metrics {
        /// The snapshot.
        snapshot: MetricsSnapshot,
    },
    /// A line a guest logged through `host.log`.
    Log {
        /// The line.
        line: LogLine,
    },
}
