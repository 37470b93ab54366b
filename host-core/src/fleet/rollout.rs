//! Rollouts across a fleet's nodes, driven by the client that deploys:
//! lock the service, check the deploy on a node, write the desired state
//! (compare-and-set), then move waves of nodes and wait for each to report
//! the new version healthy; a node that fails rolls every node back; a node
//! that stops reporting is skipped with the reason, and converges when it
//! returns.
//!
//! Owns: the waves, the waiting and the rollback across nodes. Must not
//! touch: how a node swaps its own instances (its host's strategies do).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use super::{
    audit,
    desired::{self, DesiredService, FleetRollout, LockHolder},
    names, registry,
    status::NodeStatus,
    store::{self, LOCK_TTL, Stores},
    wire::ControlRequest,
};
use crate::{
    Error, Result,
    deploy::{
        DeployRequest, DeployedVersion, NodeStep, PoolMode, RolloutEvent, RolloutOutcome, RolloutRecord, RolloutStep,
        ServiceLimits, ServiceSpec, Strategy,
    },
    security::audit::AuditEvent,
    types::Trigger,
};

/// How long a wave may take beyond what its strategy needs.
const WAVE_SLACK: Duration = Duration::from_secs(20);
/// How often the coordinator reads the nodes' reports while it waits.
const POLL: Duration = Duration::from_millis(50);

/// A rollout's client: the fleet, who it is, where its events go.
pub(crate) struct Coordinator<'a> {
    pub client: &'a super::client::Client,
}

fn rollout_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{:x}-{}-f{}", super::now_ms(), std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The nodes that reported in the last 10 s, by name.
pub(crate) async fn live_nodes(stores: &Stores) -> Result<Vec<NodeStatus>> {
    Ok(store::list_json::<NodeStatus>(&stores.nodes, names::NODE_PREFIX).await?.into_iter().map(|(_, s)| s).collect())
}

impl Coordinator<'_> {
    fn stores(&self) -> &Stores {
        &self.client.stores
    }

    /// Deploys across the fleet and records the rollout (audit chain and
    /// rollout history). Refused before anything changes when the audit
    /// stream cannot be reached, the lock is held, a node finds the deploy
    /// unacceptable, or someone else wrote the desired state first.
    pub async fn deploy(&self, request: DeployRequest, trigger: Trigger) -> Result<RolloutRecord> {
        crate::registry::check_name(&request.service)?;
        audit::check(self.stores()).await?;
        let service = request.service.clone();
        let id = rollout_id();
        let holder = LockHolder { holder: self.client.name.clone(), rollout: id.clone(), since_ms: super::now_ms() };
        let lock = desired::lock(self.stores(), &service, holder.clone()).await?;
        let (stop_renewing, renewing) = tokio::sync::oneshot::channel::<()>();
        let renewer = tokio::spawn(renew(self.stores().clone(), service.clone(), holder, lock, renewing));
        let wanted = request.component.as_ref().map(ToString::to_string);
        let result = self.deploy_locked(request, trigger, &id).await;
        let _ = stop_renewing.send(());
        let _ = renewer.await;
        desired::unlock(self.stores(), &service).await;
        let (event, detail) = match &result {
            Ok(record) => (
                AuditEvent::Changed(trigger),
                serde_json::json!({ "from": record.from, "to": record.to, "strategy": record.strategy, "fleet": true }),
            ),
            Err(Error::RolloutFailed(record)) => (
                AuditEvent::Failed(trigger),
                serde_json::json!({ "from": record.from, "to": record.to, "outcome": record.outcome, "fleet": true }),
            ),
            Err(e) => {
                let event = if matches!(e, Error::Signature(_)) {
                    AuditEvent::SignatureRefused
                } else {
                    AuditEvent::Refused(trigger)
                };
                (event, serde_json::json!({ "component": wanted, "reason": e.to_string(), "fleet": true }))
            }
        };
        let audited = audit::append(self.stores(), event, Some(&service), detail).await;
        match (result, audited) {
            (Ok(record), Err(source)) => Err(Error::Unrecorded {
                change: format!("{trigger} of {} to `{service}`", record.to),
                path: self.stores().names.audit_stream().into(),
                source: Box::new(source),
            }),
            (result, Err(audit_error)) => {
                tracing::error!(error = %audit_error, "cannot record this refusal in the fleet's audit stream");
                result
            }
            (result, Ok(_)) => result,
        }
    }

    async fn deploy_locked(&self, request: DeployRequest, trigger: Trigger, id: &str) -> Result<RolloutRecord> {
        let current = desired::get(self.stores(), &request.service).await?;
        let reference = request
            .component
            .clone()
            .or_else(|| current.as_ref().map(|(d, _)| d.spec.component.clone()))
            .ok_or_else(|| Error::InvalidStrategy("a first deploy needs a NAME@VERSION".into()))?;
        let version = registry::resolve(self.stores(), &reference).await?;
        let mut spec = match &current {
            Some((d, _)) => d.spec.clone(),
            None => ServiceSpec {
                name: request.service.clone(),
                component: reference.clone(),
                digest: version.digest,
                config: BTreeMap::new(),
                grants: Vec::new(),
                pool: PoolMode::default(),
                strategy: Strategy::Immediate,
                dev_strategy: Strategy::Immediate,
                limits: ServiceLimits::default(),
                history: Vec::new(),
                args: Vec::new(),
            },
        };
        if let Some(config) = request.config {
            spec.config = config;
        }
        if let Some(grants) = request.grants {
            spec.grants = grants;
        }
        if let Some(pool) = request.pool {
            spec.pool = pool;
        }
        if let Some(limits) = request.limits {
            spec.limits = limits;
        }
        if let Some(args) = request.args {
            spec.args = args;
        }
        let strategy = request.strategy.unwrap_or_else(|| spec.strategy.clone());
        strategy.validate()?;
        let from = current.as_ref().map(|(d, _)| (d.spec.component.clone(), d.spec.digest));
        spec.component = reference.clone();
        spec.digest = version.digest;
        // A node checks what every node would refuse, before anything changes.
        let check = ControlRequest::CheckDeploy { spec: Box::new(spec.clone()), strategy: strategy.clone() };
        tracing::debug!(target: "airssys::fleet", service = %spec.name, "checking the deploy on a node");
        self.client.control(check).await?;

        let mut nodes: Vec<String> = live_nodes(self.stores()).await?.into_iter().map(|n| n.node).collect();
        nodes.sort();
        if nodes.is_empty() {
            return Err(Error::NoNodeRuns { fleet: self.stores().names.fleet().to_string(), service: request.service });
        }
        let waves: Vec<Vec<String>> = match &strategy {
            Strategy::Rolling { batch } => nodes.chunks((*batch).max(1)).map(<[String]>::to_vec).collect(),
            _ => vec![nodes.clone()],
        };
        // How each node swaps its own instances: across nodes, a rolling
        // rollout swaps each node blue-green, so its own calls never fail.
        let local = match &strategy {
            Strategy::Rolling { .. } => Strategy::blue_green(),
            other => other.clone(),
        };
        if trigger == Trigger::Rollback {
            spec.history.pop();
        } else {
            spec.history.push(DeployedVersion {
                component: reference.clone(),
                digest: version.digest,
                at_ms: super::now_ms(),
            });
        }
        let mut record = RolloutRecord {
            id: id.to_string(),
            service: spec.name.clone(),
            trigger,
            from: from.as_ref().map(|(c, _)| c.clone()),
            to: reference.clone(),
            strategy: strategy.kind(),
            steps: Vec::new(),
            outcome: RolloutOutcome::Succeeded,
            started_at_ms: super::now_ms(),
            finished_at_ms: 0,
        };
        self.client
            .emit(RolloutEvent::Started {
                service: record.service.clone(),
                id: record.id.clone(),
                from: record.from.clone(),
                to: reference.clone(),
                strategy: record.strategy,
            })
            .await;
        let mut desired = DesiredService {
            spec: spec.clone(),
            rollout: from.clone().map(|from| FleetRollout {
                id: id.to_string(),
                from: Some(from),
                local: local.clone(),
                waves: waves.clone(),
                wave: 0,
            }),
            writer: self.client.name.clone(),
            written_at_ms: super::now_ms(),
        };
        let mut revision = desired::put(self.stores(), &desired, current.as_ref().map(|(_, r)| *r)).await?;
        let wave_limit = WAVE_SLACK + strategy_time(&local);
        for (index, wave) in waves.iter().enumerate() {
            if index > 0 {
                if let Some(rollout) = desired.rollout.as_mut() {
                    rollout.wave = index;
                }
                desired.written_at_ms = super::now_ms();
                revision = desired::put(self.stores(), &desired, Some(revision)).await?;
            }
            let started = Instant::now();
            tracing::debug!(target: "airssys::fleet", service = %desired.spec.name, wave = index, nodes = ?wave, "wave starts");
            let outcome = self.wait_for(&desired, revision, wave, wave_limit).await?;
            tracing::debug!(target: "airssys::fleet", service = %desired.spec.name, wave = index, ?outcome, "wave done");
            let step = RolloutStep {
                index,
                new_weight_percent: 100.0 * waves[..=index].iter().map(Vec::len).sum::<usize>() as f64
                    / nodes.len() as f64,
                duration_ms: started.elapsed().as_millis() as u64,
                nodes: outcome.clone(),
                ..RolloutStep::default()
            };
            record.steps.push(step.clone());
            self.client.emit(RolloutEvent::Step { service: record.service.clone(), id: record.id.clone(), step }).await;
            let failures: Vec<&NodeStep> = outcome.iter().filter(|n| !n.converged && !is_gone(n)).collect();
            if !failures.is_empty() {
                let reason = failures
                    .iter()
                    .map(|n| format!("{}: {}", n.node, n.reason.as_deref().unwrap_or("did not converge")))
                    .collect::<Vec<_>>()
                    .join("; ");
                return self.roll_back(record, desired, revision, from, reason).await;
            }
        }
        desired.rollout = None;
        desired.written_at_ms = super::now_ms();
        desired::put(self.stores(), &desired, Some(revision)).await?;
        self.finish(record, RolloutOutcome::Succeeded).await
    }

    /// Waits until every node of `wave` runs the new version, failed, or
    /// stopped reporting; then says how each node ended.
    async fn wait_for(
        &self,
        desired: &DesiredService,
        revision: u64,
        wave: &[String],
        limit: Duration,
    ) -> Result<Vec<NodeStep>> {
        let deadline = Instant::now() + limit;
        loop {
            let reports: BTreeMap<String, NodeStatus> =
                live_nodes(self.stores()).await?.into_iter().map(|n| (n.node.clone(), n)).collect();
            let steps: Vec<NodeStep> =
                wave.iter().map(|node| node_step(node, reports.get(node), desired, revision)).collect();
            let pending = steps.iter().any(|s| !s.converged && s.reason.is_none());
            if !pending {
                return Ok(steps);
            }
            if Instant::now() >= deadline {
                return Ok(steps
                    .into_iter()
                    .map(|mut s| {
                        if !s.converged && s.reason.is_none() {
                            s.reason = Some(format!("did not converge within {} s", limit.as_secs()));
                        }
                        s
                    })
                    .collect());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Puts every node back on `from` and records the rollout as rolled back.
    async fn roll_back(
        &self,
        record: RolloutRecord,
        mut desired: DesiredService,
        revision: u64,
        from: Option<(crate::registry::ComponentRef, crate::Digest)>,
        reason: String,
    ) -> Result<RolloutRecord> {
        if let Some((component, digest)) = from {
            desired.spec.component = component;
            desired.spec.digest = digest;
            desired.spec.history.pop();
            desired.rollout = None;
            desired.written_at_ms = super::now_ms();
            let revision = desired::put(self.stores(), &desired, Some(revision)).await?;
            // Best effort: the nodes converge back on their own.
            let nodes: Vec<String> = live_nodes(self.stores()).await?.into_iter().map(|n| n.node).collect();
            let _ = self.wait_for(&desired, revision, &nodes, WAVE_SLACK).await;
        }
        let outcome = RolloutOutcome::RolledBack(format!("every node went back to the previous version: {reason}"));
        let record = self.finish(record, outcome).await?;
        Err(Error::RolloutFailed(Box::new(record)))
    }

    async fn finish(&self, mut record: RolloutRecord, outcome: RolloutOutcome) -> Result<RolloutRecord> {
        record.outcome = outcome.clone();
        record.finished_at_ms = super::now_ms();
        if let Err(e) = audit::append_rollout(self.stores(), &record).await {
            tracing::error!(error = %e, "cannot append the rollout to the fleet's history");
        }
        self.client
            .emit(RolloutEvent::Finished { service: record.service.clone(), id: record.id.clone(), outcome })
            .await;
        Ok(record)
    }
}

/// How a node stands for `desired`, judged by a report that answers its
/// revision `revision` or a later one (an older one says nothing about
/// this change).
fn node_step(node: &str, report: Option<&NodeStatus>, desired: &DesiredService, revision: u64) -> NodeStep {
    let (target, digest, _) = desired.target_for(node);
    // Reports come every 2 s; three missed ones mean the node is gone
    // (killed: its entry would otherwise linger until it expires).
    let stale = report.is_none_or(|r| super::now_ms().saturating_sub(r.updated_at_ms) > 6_000);
    let Some(report) = report.filter(|_| !stale) else {
        return NodeStep { node: node.to_string(), converged: false, reason: Some(GONE.to_string()) };
    };
    match report.services.get(&desired.spec.name) {
        Some(s) if s.revision < revision => NodeStep { node: node.to_string(), converged: false, reason: None },
        Some(s) if s.target != target || s.target_digest != digest => {
            NodeStep { node: node.to_string(), converged: false, reason: None }
        }
        Some(s) if s.error.is_some() => NodeStep {
            node: node.to_string(),
            converged: false,
            reason: Some(format!("{target}: {}", s.error.as_deref().unwrap_or_default())),
        },
        Some(s) if s.converged => NodeStep { node: node.to_string(), converged: true, reason: None },
        _ => NodeStep { node: node.to_string(), converged: false, reason: None },
    }
}

/// Why a node is not waited for: it is not there.
const GONE: &str = "stopped reporting (gone); it converges to the desired version when it returns";

fn is_gone(step: &NodeStep) -> bool {
    step.reason.as_deref() == Some(GONE)
}

/// How long a node's own swap may take with `strategy`.
fn strategy_time(strategy: &Strategy) -> Duration {
    match strategy {
        Strategy::Canary { steps, interval_ms, .. } => {
            Duration::from_millis(interval_ms.saturating_mul(steps.len() as u64 + 1))
        }
        _ => Duration::ZERO,
    }
}

/// Renews the rollout lock until told to stop.
async fn renew(
    stores: Stores,
    service: String,
    holder: LockHolder,
    mut revision: u64,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(LOCK_TTL / 3) => {}
        }
        match desired::renew(&stores, &service, &holder, revision).await {
            Ok(next) => revision = next,
            Err(e) => {
                tracing::warn!(service, error = %e, "the rollout lock could not be renewed");
                return;
            }
        }
    }
}
