//! What a [`Host`] tells about itself while it runs: metrics (the data
//! folder's, plus this process's unflushed counts), health readings, the
//! monitor thread that polls and flushes them, and the live event stream
//! (rollouts, guest log lines, metrics snapshots) of `subscribe`.

use std::{
    sync::mpsc,
    time::{Duration, Instant},
};

use super::Host;
use crate::{
    Error, Result,
    background::{Background, Step},
    events::RuntimeEvent,
    metrics::{HealthReading, MetricsSnapshot, Monitor},
};

impl Host {
    /// Metrics of every service and pipeline node of the data folder: what
    /// is stored plus what this process has not stored yet.
    pub fn metrics(&self) -> Result<MetricsSnapshot> {
        let data = self.data()?;
        data.metrics.snapshot(&data.services.live_instances())
    }

    /// Adds this process's new counts to `DATA/metrics.json`. [`Host::close`]
    /// does it; long-running processes do it periodically ([`Host::monitor`]).
    pub fn flush_metrics(&self) -> Result<()> {
        let data = self.data()?;
        data.metrics.flush(&data.dir)
    }

    /// Calls `health()` of a service (starting it in this process if it is
    /// not running here) and records the reading.
    pub fn check_health(&self, service: &str) -> Result<HealthReading> {
        Ok(self.data()?.services.check_health(service))
    }

    /// Reads the health of every service running in this process.
    pub fn poll_health(&self) -> Result<Vec<(String, HealthReading)>> {
        let services = &self.data()?.services;
        Ok(services.live_names().into_iter().map(|name| (name.clone(), services.check_health(&name))).collect())
    }

    /// Starts a thread that polls health and flushes metrics and run traces every
    /// `interval`, until the returned handle is dropped (or the host is).
    ///
    /// Errors: [`Error::Thread`] when the thread cannot start.
    pub fn monitor(&self, interval: Duration) -> Result<Monitor> {
        let weak = self.downgrade();
        let thread = Background::start("monitor", interval, move |_| {
            let Some(host) = weak.upgrade() else { return Step::Stop };
            if let Err(e) = host.poll_health() {
                tracing::warn!(error = %e, "health polling failed");
            }
            if let Err(e) = host.flush_metrics() {
                tracing::warn!(error = %e, "cannot store metrics");
            }
            if let Err(e) = host.flush_traces() {
                tracing::warn!(error = %e, "cannot store run traces");
            }
            Step::Again
        })?;
        Ok(Monitor::new(thread))
    }

    /// Rollout events, guest log lines and a metrics snapshot every
    /// `metrics_every`, until the receiver is dropped.
    pub fn subscribe(&self, metrics_every: Duration) -> Result<mpsc::Receiver<RuntimeEvent>> {
        let rollouts = self.subscribe_rollouts()?;
        let logs = self.inner.engine.logs().subscribe();
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
            .map_err(Error::thread("event stream"))?;
        Ok(rx)
    }
}
