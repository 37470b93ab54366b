//! A deploy, phase by phase: **resolve** (the service, the version, the
//! component), **check** (signature, limits, strategy, capacity, grants and
//! requested capabilities), **start** (a new deployment, or the warm
//! blue-green standby), **migrate** (state, for stateful components),
//! **roll out** (the strategy), **record** (the spec on success, the
//! rollout history, the events). Around them, audit or refuse: a deploy is
//! refused before anything changes while the audit log or the rollout
//! history cannot take a record, and a change that took effect but could
//! not be recorded says so ([`Error::Unrecorded`]). Rollback, grant and
//! revoke are deploys with their own trigger.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use tracing::instrument;

use super::{
    DeployRequest, DeployedVersion, Deployment, PoolMode, RolloutEvent, Service, ServiceSpec, Services, Strategy,
    rollout::{MigrationHold, Rollout, migrate_state},
};
use crate::{
    Capability, ComponentKind, Error, Result,
    component::LoadedComponent,
    fsutil,
    metrics::HealthReading,
    registry::{ComponentRef, VersionRecord},
    security::{SandboxPolicy, audit::AuditEvent},
    types::{RolloutOutcome, RolloutRecord, Trigger, check_name},
};

/// What a deploy works on, found by [`Services::resolve`].
struct Resolved {
    /// The service as it runs now (none for a first deploy).
    live: Option<Arc<Service>>,
    /// Its stored spec.
    current: Option<ServiceSpec>,
    reference: ComponentRef,
    version: VersionRecord,
    component: Arc<LoadedComponent>,
}

/// What [`Services::check`] approved.
struct Checked {
    /// The spec the service will have once the rollout succeeds.
    spec: ServiceSpec,
    strategy: Strategy,
    policy: Arc<SandboxPolicy>,
    /// Whether the new, the old version exports the `state` interface.
    new_has_state: bool,
    old_has_state: bool,
}

fn rollout_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{:x}-{}-{}", fsutil::unix_millis(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn has_state(component: &LoadedComponent) -> bool {
    matches!(component.kind(), ComponentKind::Contract { state: true, .. })
}

impl Services {
    /// Deploys a version to a service with a strategy, and records the
    /// rollout. A rollout that rolls back or fails returns
    /// [`Error::RolloutFailed`]; the old version keeps serving.
    pub(crate) fn deploy(&self, request: DeployRequest, trigger: Trigger) -> Result<RolloutRecord> {
        self.deploy_recorded(request, trigger, true)
    }

    /// Deploys the version that was live before the current one.
    pub(crate) fn rollback(&self, service: &str) -> Result<RolloutRecord> {
        let request = self.spec(service)?.rollback_request()?;
        self.deploy(request, Trigger::Rollback)
    }

    /// Adds a grant and redeploys the live version with it (Immediate).
    pub(crate) fn grant(&self, service: &str, capability: Capability) -> Result<RolloutRecord> {
        let mut grants = self.spec(service)?.grants;
        if !grants.contains(&capability) {
            grants.push(capability.clone());
        }
        self.redeploy_with_grants(service, grants, Trigger::Grant, &capability, true)
    }

    /// Removes a grant and redeploys the live version without it. The
    /// revoke always takes effect, even if the component asks for the
    /// capability: it then meets a denial when it tries to use it.
    pub(crate) fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        let mut grants = self.spec(service)?.grants;
        let before = grants.len();
        grants.retain(|g| g != capability);
        if grants.len() == before {
            return Err(Error::GrantInvalid {
                capability: capability.to_string(),
                reason: format!("service `{service}` does not hold this grant"),
            });
        }
        self.redeploy_with_grants(service, grants, Trigger::Revoke, capability, false)
    }

    /// Audits a grant change and redeploys the live version with `grants`
    /// (Immediate); `require` checks the component's requests.
    fn redeploy_with_grants(
        &self,
        service: &str,
        grants: Vec<Capability>,
        trigger: Trigger,
        capability: &Capability,
        require: bool,
    ) -> Result<RolloutRecord> {
        self.check_recordable()?;
        let detail = serde_json::json!({ "capability": capability });
        self.security.audit().append(AuditEvent::Changed(trigger), Some(service), detail)?;
        let request = DeployRequest {
            service: service.to_string(),
            grants: Some(grants),
            strategy: Some(Strategy::Immediate),
            ..Default::default()
        };
        self.deploy_recorded(request, trigger, require)
    }

    /// Deploys and writes the audit record of the outcome (refusals too).
    /// Refused before anything changes while the audit log or the rollout
    /// history cannot take a record.
    fn deploy_recorded(&self, request: DeployRequest, trigger: Trigger, require: bool) -> Result<RolloutRecord> {
        self.check_recordable()?;
        let service = request.service.clone();
        let wanted = request.component.as_ref().map(ToString::to_string);
        let mut unrecorded_rollout = None;
        let result = self.deploy_phases(request, trigger, require, &mut unrecorded_rollout);
        let (event, detail) = match &result {
            Ok(record) => (
                AuditEvent::Changed(trigger),
                serde_json::json!({ "from": record.from, "to": record.to, "strategy": record.strategy }),
            ),
            Err(Error::RolloutFailed(record)) => (
                AuditEvent::Failed(trigger),
                serde_json::json!({ "from": record.from, "to": record.to, "outcome": record.outcome }),
            ),
            Err(e) => {
                let event = match e {
                    Error::Signature(_) => AuditEvent::SignatureRefused,
                    _ => AuditEvent::Refused(trigger),
                };
                (event, serde_json::json!({ "component": wanted, "reason": e.to_string() }))
            }
        };
        let audit = self.security.audit();
        let audited = audit.append(event, Some(&service), detail);
        match result {
            // Live: the change must not pass as recorded when a log missed it.
            Ok(record) => {
                let change = || format!("{trigger} of {} to `{}`", record.to, record.service);
                if let Err(source) = audited {
                    let path = audit.path().to_path_buf();
                    return Err(Error::Unrecorded { change: change(), path, source: Box::new(source) });
                }
                if let Some(source) = unrecorded_rollout {
                    let path = self.rollout_journal().path().to_path_buf();
                    return Err(Error::Unrecorded { change: change(), path, source: Box::new(source) });
                }
                Ok(record)
            }
            // Nothing changed: the refusal's own error is what the caller needs.
            Err(e) => {
                if let Err(audit_error) = audited {
                    tracing::error!(error = %audit_error, "cannot record this refusal in the audit log");
                }
                if let Some(rollout_error) = unrecorded_rollout {
                    tracing::error!(error = %rollout_error, "the failed rollout could not be recorded in the history");
                }
                Err(e)
            }
        }
    }

    /// The phases, in order; `unrecorded_rollout` receives the error of a
    /// rollout record that could not be appended after the rollout ran.
    #[instrument(target = "airssys::deploy", name = "deploy", level = "debug", skip_all,
                 fields(service = %request.service, %trigger))]
    fn deploy_phases(
        &self,
        request: DeployRequest,
        trigger: Trigger,
        require: bool,
        unrecorded_rollout: &mut Option<Error>,
    ) -> Result<RolloutRecord> {
        check_name(&request.service)?;
        let live = self.activate(&request.service)?;
        // One rollout of a service at a time, from resolving to recording.
        let _one_at_a_time = live.as_ref().map(|s| s.rollout_lock.lock().unwrap_or_else(|p| p.into_inner()));
        let resolved = self.resolve(&request, live.clone())?;
        let mut checked = self.check(&request, &resolved, require)?;
        let mut record = self.begin(&request, trigger, &resolved, &checked);
        let outcome = match &resolved.live {
            None => self.start_first(&resolved, &checked),
            Some(service) => self.replace(service, &resolved, &checked, &mut record),
        };
        self.record(record, outcome, &resolved, &mut checked.spec, unrecorded_rollout)
    }

    /// Resolve: the current spec, the version asked for (or the live one,
    /// for a redeploy) and its component, loaded.
    #[instrument(target = "airssys::deploy", level = "debug", skip_all)]
    fn resolve(&self, request: &DeployRequest, live: Option<Arc<Service>>) -> Result<Resolved> {
        let current = live.as_ref().map(|service| service.spec());
        let reference = request
            .component
            .clone()
            .or_else(|| current.as_ref().map(|c| c.component.clone()))
            .ok_or_else(|| Error::InvalidStrategy("a first deploy needs a NAME@VERSION".into()))?;
        let (version, component) = self.load_version(&reference)?;
        Ok(Resolved { live, current, reference, version, component })
    }

    /// Check: the signature policy, then the spec the request makes (config,
    /// grants, pool, limits), the strategy, the host's capacity, custom
    /// grants, the component's requested capabilities (when `require`), and
    /// the stateful rules (one state, one instance; no canary or rolling).
    #[instrument(target = "airssys::deploy", level = "debug", skip_all)]
    fn check(&self, request: &DeployRequest, resolved: &Resolved, require: bool) -> Result<Checked> {
        let digest = resolved.version.digest;
        self.security.check_signature(&digest, self.registry.signature(&digest)?.as_ref())?;
        let config = self.engine.config();
        let mut spec = resolved.current.clone().unwrap_or_else(|| ServiceSpec {
            name: request.service.clone(),
            component: resolved.reference.clone(),
            digest,
            config: BTreeMap::new(),
            grants: Vec::new(),
            pool: PoolMode::default(),
            strategy: Strategy::Immediate,
            dev_strategy: Strategy::Immediate,
            limits: (&config.default_limits).into(),
            history: Vec::new(),
            args: Vec::new(),
        });
        if let Some(args) = &request.args {
            spec.args = args.clone();
        }
        if !spec.args.is_empty() && !matches!(resolved.component.kind(), ComponentKind::WasiCommand) {
            return Err(Error::ArgsNeedCommand {
                service: request.service.clone(),
                component: resolved.reference.to_string(),
            });
        }
        if let Some(values) = &request.config {
            spec.config = values.clone();
        }
        if let Some(grants) = &request.grants {
            spec.grants = grants.clone();
        }
        if let Some(pool) = request.pool {
            spec.pool = pool;
        }
        if let Some(limits) = request.limits {
            limits.validate(&config.pool)?;
            spec.limits = limits;
        }
        let strategy = request.strategy.clone().unwrap_or_else(|| spec.strategy.clone());
        strategy.validate()?;
        self.engine.check_capacity(spec.pool_size())?;
        self.security.check_grants(&spec.grants)?;
        if require {
            let required = self.engine.describe(&resolved.component)?.required_capabilities;
            let component = resolved.reference.to_string();
            self.security.require(&spec.name, &component, &required, &spec.grants)?;
        }
        let policy = self.security.policy(&spec.name, &spec.grants)?;
        let new_has_state = has_state(&resolved.component);
        let old_has_state = resolved.live.as_ref().is_some_and(|s| has_state(&s.table.load().primary.component));
        if new_has_state || old_has_state {
            if matches!(strategy, Strategy::Canary { .. } | Strategy::Rolling { .. }) {
                return Err(Error::StatefulStrategy { service: request.service.clone(), strategy: strategy.kind() });
            }
            // One state, one instance.
            spec.pool = PoolMode::Pooled { size: 1 };
        }
        Ok(Checked { spec, strategy, policy, new_has_state, old_has_state })
    }

    /// The rollout's record, as it starts; observers hear that it started.
    fn begin(
        &self,
        request: &DeployRequest,
        trigger: Trigger,
        resolved: &Resolved,
        checked: &Checked,
    ) -> RolloutRecord {
        let record = RolloutRecord {
            id: rollout_id(),
            service: request.service.clone(),
            trigger,
            from: resolved.current.as_ref().map(|c| c.component.clone()),
            to: resolved.reference.clone(),
            strategy: checked.strategy.kind(),
            steps: Vec::new(),
            outcome: RolloutOutcome::Succeeded,
            started_at_ms: fsutil::unix_millis(),
            finished_at_ms: 0,
        };
        self.events.emit(RolloutEvent::Started {
            service: record.service.clone(),
            id: record.id.clone(),
            from: record.from.clone(),
            to: record.to.clone(),
            strategy: record.strategy,
        });
        record
    }

    /// Start, for a first deploy: the new service goes live at once.
    #[instrument(target = "airssys::deploy", name = "start", level = "debug", skip_all)]
    fn start_first(&self, resolved: &Resolved, checked: &Checked) -> RolloutOutcome {
        let Checked { spec, policy, .. } = checked;
        let component = resolved.component.clone();
        match self.start_deployment(spec, &resolved.reference, component, spec.pool, policy.clone()) {
            Ok(deployment) => {
                self.insert(Arc::new(Service::new(spec.clone(), deployment)));
                RolloutOutcome::Succeeded
            }
            Err(e) => RolloutOutcome::Failed(format!("{} did not start: {e}", resolved.reference)),
        }
    }

    /// Start, migrate, roll out: the new version replaces the live one.
    fn replace(
        &self,
        service: &Service,
        resolved: &Resolved,
        checked: &Checked,
        record: &mut RolloutRecord,
    ) -> RolloutOutcome {
        let old = service.table.load().primary.clone();
        let migrate = checked.new_has_state && checked.old_has_state;
        let new = match self.start_next(service, resolved, checked, migrate) {
            Ok(new) => new,
            Err(e) => return RolloutOutcome::Failed(format!("{} did not start: {e}", resolved.reference)),
        };
        let hold = if migrate {
            match self.migrate(&old, &new) {
                Ok(hold) => Some(hold),
                Err(reason) => return RolloutOutcome::Failed(reason),
            }
        } else {
            None
        };
        self.roll_out(service, &old, &new, &checked.strategy, record, hold)
    }

    /// Start: the blue-green predecessor if it is still warm (the instant
    /// way back), else a new deployment (empty while a migration or a
    /// rolling update fills it).
    #[instrument(target = "airssys::deploy", name = "start", level = "debug", skip_all)]
    fn start_next(
        &self,
        service: &Service,
        resolved: &Resolved,
        checked: &Checked,
        migrate: bool,
    ) -> Result<Arc<Deployment>> {
        let spec = &checked.spec;
        let standby = {
            let mut slot = service.standby.lock().unwrap_or_else(|p| p.into_inner());
            match slot.take() {
                Some((d, until)) if Instant::now() < until && d.digest() == resolved.version.digest && !migrate => {
                    Some(d)
                }
                Some((expired, _)) => {
                    expired.shutdown();
                    None
                }
                None => None,
            }
        };
        if let Some(warm) = standby {
            warm.reactivate();
            return Ok(warm);
        }
        let rolling = matches!(checked.strategy, Strategy::Rolling { .. }) && spec.pool_size() > 0;
        let initial = if migrate || rolling { PoolMode::Pooled { size: 0 } } else { spec.pool };
        self.start_deployment(spec, &resolved.reference, resolved.component.clone(), initial, checked.policy.clone())
    }

    /// Migrate: the old instance's state, restored into a new one; on
    /// failure the new deployment stops and the old one keeps serving.
    #[instrument(target = "airssys::deploy", level = "debug", skip_all)]
    fn migrate(&self, old: &Deployment, new: &Deployment) -> std::result::Result<MigrationHold, String> {
        migrate_state(old, new).map_err(|e| {
            new.shutdown();
            format!("state migration from {} failed: {e}", old.reference())
        })
    }

    /// Roll out: the strategy moves traffic from `old` to `new`; a migrated
    /// state's old instance is released, and on success stopped for good.
    #[instrument(target = "airssys::deploy", name = "roll out", level = "debug", skip_all)]
    fn roll_out(
        &self,
        service: &Service,
        old: &Arc<Deployment>,
        new: &Arc<Deployment>,
        strategy: &Strategy,
        record: &mut RolloutRecord,
        hold: Option<MigrationHold>,
    ) -> RolloutOutcome {
        let mut rollout = Rollout { service, events: &self.events, record: record.clone() };
        let outcome = rollout.run(old, new, strategy);
        record.steps = rollout.record.steps;
        if let Some(hold) = hold {
            hold.release(old);
            if outcome == RolloutOutcome::Succeeded {
                // Stale state must not come back through a standby.
                service.standby.lock().unwrap_or_else(|p| p.into_inner()).take();
                old.shutdown();
            }
        }
        outcome
    }

    /// Record: on success the spec (version, history) is written and the
    /// new version's first health reading taken; the rollout goes into the
    /// history either way, and observers hear how it ended.
    #[instrument(target = "airssys::deploy", name = "record", level = "debug", skip_all)]
    fn record(
        &self,
        mut record: RolloutRecord,
        outcome: RolloutOutcome,
        resolved: &Resolved,
        spec: &mut ServiceSpec,
        unrecorded_rollout: &mut Option<Error>,
    ) -> Result<RolloutRecord> {
        if outcome == RolloutOutcome::Succeeded {
            spec.component = resolved.reference.clone();
            spec.digest = resolved.version.digest;
            if record.trigger == Trigger::Rollback {
                spec.history.pop();
            } else {
                spec.history.push(DeployedVersion {
                    component: resolved.reference.clone(),
                    digest: resolved.version.digest,
                    at_ms: fsutil::unix_millis(),
                });
            }
            fsutil::write_json(&self.spec_path(&spec.name), &spec)?;
            if let Some(service) = self.live(&spec.name) {
                service.set_spec(spec.clone());
                // The first health reading of the new version.
                let reading = HealthReading::of(service.table.load().primary.health());
                self.metrics.set_health(&spec.name, reading);
            }
        }
        record.outcome = outcome.clone();
        record.finished_at_ms = fsutil::unix_millis();
        if let Err(e) = self.append_rollout(&record) {
            *unrecorded_rollout = Some(e);
        }
        self.events.emit(RolloutEvent::Finished {
            service: record.service.clone(),
            id: record.id.clone(),
            outcome: outcome.clone(),
        });
        match outcome {
            RolloutOutcome::Succeeded => Ok(record),
            _ => Err(Error::RolloutFailed(Box::new(record))),
        }
    }
}
