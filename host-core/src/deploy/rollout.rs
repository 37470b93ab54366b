//! Rollouts: how a new deployment replaces the live one, step by step
//! (the strategies), with events for observers and the state migration of
//! stateful components. Writes no file: the record is `phases`'.

use std::{
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::{Deployment, RoutingTable, Service, Strategy};
use crate::{
    Health, Result,
    events::bus::Bus,
    types::{ComponentRef, RolloutOutcome, RolloutRecord, RolloutStep, StrategyKind},
};

/// How long a retired deployment may take to finish its in-flight calls.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_secs(30);

/// Progress of a rollout, for the CLI and the studio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RolloutEvent {
    /// A rollout began.
    Started {
        /// The service.
        service: String,
        /// Rollout id.
        id: String,
        /// Live version, if any.
        from: Option<ComponentRef>,
        /// New version.
        to: ComponentRef,
        /// The strategy.
        strategy: StrategyKind,
    },
    /// The new version's health was checked.
    Health {
        /// The service.
        service: String,
        /// Rollout id.
        id: String,
        /// The version checked.
        version: ComponentRef,
        /// What it reported.
        health: Health,
    },
    /// Traffic weights changed, or a step was judged.
    Step {
        /// The service.
        service: String,
        /// Rollout id.
        id: String,
        /// The step.
        step: RolloutStep,
    },
    /// The rollout ended.
    Finished {
        /// The service.
        service: String,
        /// Rollout id.
        id: String,
        /// How.
        #[serde(flatten)]
        outcome: RolloutOutcome,
    },
}

/// Fans rollout events out to subscribers, and logs each.
#[derive(Debug, Default)]
pub(crate) struct EventBus(Bus<RolloutEvent>);

impl EventBus {
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<RolloutEvent> {
        self.0.subscribe()
    }

    pub(crate) fn emit(&self, event: RolloutEvent) {
        tracing::info!(target: "airssys::rollout", ?event);
        self.0.emit(event);
    }
}

/// Everything a running rollout needs.
pub(crate) struct Rollout<'a> {
    pub service: &'a Service,
    pub events: &'a EventBus,
    pub record: RolloutRecord,
}

impl Rollout<'_> {
    fn emit_health(&self, version: &ComponentRef, health: &Health) {
        self.events.emit(RolloutEvent::Health {
            service: self.record.service.clone(),
            id: self.record.id.clone(),
            version: version.clone(),
            health: health.clone(),
        });
    }

    fn push_step(&mut self, step: RolloutStep) {
        self.events.emit(RolloutEvent::Step {
            service: self.record.service.clone(),
            id: self.record.id.clone(),
            step: step.clone(),
        });
        self.record.steps.push(step);
    }

    /// Checks the new deployment's health; an unhealthy one never goes live.
    fn check_health(&self, new: &Deployment) -> std::result::Result<(), String> {
        match new.health() {
            Ok(health) => {
                self.emit_health(new.reference(), &health);
                match health {
                    Health::Unhealthy(reason) => Err(format!("{} reported unhealthy: {reason}", new.reference())),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(format!("health check of {} failed: {e}", new.reference())),
        }
    }

    /// Makes `new` the only deployment, drains `old`, and either shuts it
    /// down or keeps it warm until `keep_until`.
    fn switch(&self, old: &Arc<Deployment>, new: &Arc<Deployment>, keep_until: Option<Instant>) {
        self.service.table.store(Arc::new(RoutingTable::only(new.clone())));
        old.drain(DRAIN_GRACE);
        match keep_until {
            Some(until) => {
                let slot = self.service.standby.clone();
                let previous = slot.lock().unwrap_or_else(|p| p.into_inner()).replace((old.clone(), until));
                if let Some((stale, _)) = previous {
                    stale.shutdown();
                }
                // When the window ends, stop the standby unless a rollback
                // took it back (or a newer rollout replaced it) meanwhile.
                let kept = old.clone();
                let _ = std::thread::Builder::new().name("airssys-standby".into()).spawn(move || {
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                    let mut standby = slot.lock().unwrap_or_else(|p| p.into_inner());
                    if standby.as_ref().is_some_and(|(d, _)| Arc::ptr_eq(d, &kept)) {
                        standby.take();
                        drop(standby);
                        kept.shutdown();
                    }
                });
            }
            None => old.shutdown(),
        }
    }

    /// Runs `strategy` from `old` to `new` (both started; `new` already
    /// holds migrated state if there was any).
    pub(crate) fn run(&mut self, old: &Arc<Deployment>, new: &Arc<Deployment>, strategy: &Strategy) -> RolloutOutcome {
        match strategy {
            Strategy::Immediate => {
                self.switch(old, new, None);
                RolloutOutcome::Succeeded
            }
            Strategy::BlueGreen { keep_old_ms } => {
                if let Err(reason) = self.check_health(new) {
                    new.shutdown();
                    return RolloutOutcome::Failed(reason);
                }
                self.switch(old, new, Some(Instant::now() + Duration::from_millis(*keep_old_ms)));
                RolloutOutcome::Succeeded
            }
            Strategy::Canary { steps, interval_ms, min_calls, max_error_increase } => {
                if let Err(reason) = self.check_health(new) {
                    new.shutdown();
                    return RolloutOutcome::Failed(reason);
                }
                for (index, percent) in steps.iter().enumerate() {
                    if *percent >= 100 {
                        break;
                    }
                    match self.canary_step(old, new, index, *percent, *interval_ms, *min_calls, *max_error_increase) {
                        Ok(()) => {}
                        Err(reason) => {
                            self.service.table.store(Arc::new(RoutingTable::only(old.clone())));
                            new.drain(DRAIN_GRACE);
                            new.shutdown();
                            return RolloutOutcome::RolledBack(reason);
                        }
                    }
                }
                self.switch(old, new, None);
                RolloutOutcome::Succeeded
            }
            Strategy::Rolling { batch } => self.rolling(old, new, *batch),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn canary_step(
        &mut self,
        old: &Arc<Deployment>,
        new: &Arc<Deployment>,
        index: usize,
        percent: u32,
        interval_ms: u64,
        min_calls: u64,
        max_error_increase: f64,
    ) -> std::result::Result<(), String> {
        let started = Instant::now();
        let (old_calls0, old_errors0) = old.stats().read();
        let (new_calls0, new_errors0) = new.stats().read();
        self.service
            .table
            .store(Arc::new(RoutingTable { primary: old.clone(), secondary: Some((new.clone(), percent * 100)) }));
        let interval = Duration::from_millis(interval_ms);
        // A step that cannot gather enough calls is not judged healthy.
        let give_up = started + interval.max(Duration::from_secs(1)) * 20;
        loop {
            std::thread::sleep(Duration::from_millis(5));
            let new_calls = new.stats().read().0 - new_calls0;
            let now = Instant::now();
            if now - started >= interval && new_calls >= min_calls {
                break;
            }
            if now >= give_up {
                return Err(format!(
                    "canary got {new_calls} calls at {percent}% in {} ms, fewer than the {min_calls} needed to judge it",
                    (now - started).as_millis()
                ));
            }
        }
        let (old_calls, old_errors) = old.stats().read();
        let (new_calls, new_errors) = new.stats().read();
        let step = RolloutStep {
            index,
            new_weight_percent: f64::from(percent),
            new_calls: new_calls - new_calls0,
            new_errors: new_errors - new_errors0,
            old_calls: old_calls - old_calls0,
            old_errors: old_errors - old_errors0,
            duration_ms: started.elapsed().as_millis() as u64,
            nodes: Vec::new(),
        };
        let rate = |errors: u64, calls: u64| if calls == 0 { 0.0 } else { errors as f64 / calls as f64 };
        let new_rate = rate(step.new_errors, step.new_calls);
        let old_rate = rate(step.old_errors, step.old_calls);
        self.push_step(step);
        if new_rate - old_rate > max_error_increase {
            return Err(format!(
                "canary error rate {:.1}% exceeded the baseline's {:.1}% by more than {:.1} points at {percent}%",
                new_rate * 100.0,
                old_rate * 100.0,
                max_error_increase * 100.0
            ));
        }
        Ok(())
    }

    /// Grows the new pool and shrinks the old one `batch` instances at a
    /// time, shifting the weight with the instance count.
    fn rolling(&mut self, old: &Arc<Deployment>, new: &Arc<Deployment>, batch: usize) -> RolloutOutcome {
        let total = old.live_instances();
        if total == 0 {
            // A per-call service has no instances to replace in batches.
            if let Err(reason) = self.check_health(new) {
                new.shutdown();
                return RolloutOutcome::Failed(reason);
            }
            self.switch(old, new, None);
            return RolloutOutcome::Succeeded;
        }
        let mut moved = 0;
        let mut index = 0;
        while moved < total {
            let step_started = Instant::now();
            let n = batch.min(total - moved);
            if let Err(e) = new.grow(n) {
                return self.undo_rolling(old, new, format!("starting batch {} failed: {e}", index + 1));
            }
            if let Err(reason) = self.check_health(new) {
                return self.undo_rolling(old, new, reason);
            }
            moved += n;
            let weight = (moved * 10_000 / total) as u32;
            if moved < total {
                self.service
                    .table
                    .store(Arc::new(RoutingTable { primary: old.clone(), secondary: Some((new.clone(), weight)) }));
                old.shrink(n);
            }
            self.push_step(RolloutStep {
                index,
                new_weight_percent: f64::from(weight) / 100.0,
                new_calls: new.stats().read().0,
                new_errors: new.stats().read().1,
                old_calls: old.stats().read().0,
                old_errors: old.stats().read().1,
                duration_ms: step_started.elapsed().as_millis() as u64,
                nodes: Vec::new(),
            });
            index += 1;
        }
        self.switch(old, new, None);
        RolloutOutcome::Succeeded
    }

    fn undo_rolling(&mut self, old: &Arc<Deployment>, new: &Arc<Deployment>, reason: String) -> RolloutOutcome {
        self.service.table.store(Arc::new(RoutingTable::only(old.clone())));
        new.drain(DRAIN_GRACE);
        new.shutdown();
        // Refill what the rollout took out of the old pool.
        let missing = self.service.spec().pool_size().saturating_sub(old.live_instances());
        if let Err(e) = old.grow(missing) {
            tracing::warn!(error = %e, "cannot refill the old pool after a failed rolling update");
        }
        RolloutOutcome::RolledBack(reason)
    }
}

/// Migrates state from `old` to `new`: snapshot on the old instance (held
/// exclusively, so no call changes it meanwhile), init and restore on a new
/// one. On failure the old instance goes back and keeps serving.
pub(crate) fn migrate_state(old: &Deployment, new: &Deployment) -> Result<MigrationHold> {
    let Some(mut held) = old.take_one()? else {
        return Ok(MigrationHold { held: None });
    };
    let snapshot = match held.snapshot() {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            old.put_back(held);
            return Ok(MigrationHold { held: None });
        }
        Err(e) => {
            old.put_back(held);
            return Err(e);
        }
    };
    let restored = (|| {
        let mut instance = new.new_instance()?;
        new.initialise(&mut instance)?;
        instance.restore(&snapshot, &old.reference().version.to_string())?;
        Ok(instance)
    })();
    match restored {
        Ok(instance) => {
            new.adopt(instance);
            Ok(MigrationHold { held: Some(held) })
        }
        Err(e) => {
            old.put_back(held);
            Err(e)
        }
    }
}

/// The old instance held during a state migration; it goes back to its
/// (by then retired) pool when the switch is done or abandoned.
pub(crate) struct MigrationHold {
    held: Option<crate::Instance>,
}

impl MigrationHold {
    pub(crate) fn release(self, old: &Deployment) {
        if let Some(instance) = self.held {
            old.put_back(instance);
        }
    }
}
