//! Live events of a runtime for the studio and remote clients: rollout
//! progress, periodic metrics snapshots and guest log lines.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use crate::{Host, Result, deploy::RolloutEvent, metrics::MetricsSnapshot};

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

/// A guest's log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The component's name.
    pub component: String,
    /// Its level.
    pub level: crate::types::LogLevel,
    /// The message (at most 4 KiB).
    pub message: String,
    /// Structured fields.
    pub fields: Vec<(String, String)>,
}

/// Fans guest log lines out to subscribers; free when nobody listens.
#[derive(Debug, Default)]
pub(crate) struct LogBus {
    listening: AtomicBool,
    subscribers: Mutex<Vec<mpsc::Sender<LogLine>>>,
}

impl LogBus {
    pub(crate) fn is_listened_to(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    pub(crate) fn subscribe(&self) -> mpsc::Receiver<LogLine> {
        let (tx, rx) = mpsc::channel();
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subscribers.push(tx);
        self.listening.store(true, Ordering::Relaxed);
        rx
    }

    pub(crate) fn emit(&self, line: LogLine) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subscribers.retain(|tx| tx.send(line.clone()).is_ok());
        self.listening.store(!subscribers.is_empty(), Ordering::Relaxed);
    }
}

impl Host {
    /// Rollout events, guest log lines and a metrics snapshot every
    /// `metrics_every`, until the receiver is dropped.
    pub fn subscribe(&self, metrics_every: Duration) -> Result<mpsc::Receiver<RuntimeEvent>> {
        let rollouts = self.subscribe_rollouts()?;
        let logs = self.log_bus().subscribe();
        let (tx, rx) = mpsc::channel();
        let weak = self.downgrade();
        std::thread::Builder::new()
            .name("airssys-events".into())
            .spawn(move || {
                let mut next_metrics = Instant::now();
                loop {
                    let mut sent = Ok(());
                    while let Ok(event) = rollouts.try_recv() {
                        sent = sent.and(tx.send(RuntimeEvent::Rollout { event }));
                    }
                    while let Ok(line) = logs.try_recv() {
                        sent = sent.and(tx.send(RuntimeEvent::Log { line }));
                    }
                    if Instant::now() >= next_metrics {
                        next_metrics = Instant::now() + metrics_every;
                        let Some(host) = weak.upgrade() else { return };
                        match host.metrics() {
                            Ok(snapshot) => sent = sent.and(tx.send(RuntimeEvent::Metrics { snapshot })),
                            Err(e) => tracing::warn!(error = %e, "no metrics for a subscriber"),
                        }
                    }
                    if sent.is_err() {
                        return; // the subscriber is gone
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
            .map_err(crate::Error::thread("event stream"))?;
        Ok(rx)
    }
}
