//! [`FleetRuntime`]: the third [`Runtime`], next to the embedded `Host` and
//! the HTTP client: the same calls, acting on every node of a fleet. The
//! CLI (`--fleet URL` on every verb that takes `--remote`) and the studio's
//! target bar use it.
//!
//! Owns: the client side of the fleet (its own small tokio runtime; every
//! method blocks until done, like `RemoteRuntime`). Must not touch: a node's
//! host (nodes converge on their own from the desired state).

use std::{
    sync::{Arc, mpsc},
    time::Duration,
};

use async_nats::HeaderMap;
use futures_util::StreamExt;

use super::{
    FleetConfig, audit,
    client::Client,
    desired::{self, DesiredService},
    node::NodeEvent,
    registry,
    rollout::{Coordinator, live_nodes},
    status::FleetStatus,
    store::{self, Stores},
    wire::{self, ControlRequest},
};
use crate::{
    Capability, Description, Digest, Error, Input, Output, Result, Runtime,
    deploy::{DeployRequest, EventBus, RolloutRecord, ServiceStatus, Strategy, VersionStatus},
    events::RuntimeEvent,
    metrics::MetricsSnapshot,
    pipeline::{Pipeline, PipelineRun, RunOptions, RunTrace},
    registry::{ComponentRef, NameRecord, VersionRecord},
    remote::{AuditCheck, PipelineRequest},
    security::{
        audit::{AuditEvent, AuditRecord, LogRepair},
        signing::{ComponentSignature, TrustPolicy},
    },
    types::Trigger,
};

/// A runtime that is a whole fleet: components go to the shared registry,
/// deploys roll out across the nodes, calls go to any node that runs the
/// service.
pub struct FleetRuntime {
    runtime: tokio::runtime::Runtime,
    client: Arc<Client>,
}

impl std::fmt::Debug for FleetRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetRuntime").field("fleet", &self.client.stores.names.fleet()).finish_non_exhaustive()
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::FleetRequest { what: format!("read {what}"), reason: e.to_string() })
}

impl FleetRuntime {
    /// Connects to the fleet (within the connect timeout).
    ///
    /// Errors: [`Error::FleetConfig`], [`Error::FleetUnreachable`].
    pub fn connect(config: FleetConfig) -> Result<FleetRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("airssys-fleet")
            .build()
            .map_err(|e| Error::FleetRequest { what: "start the fleet client".into(), reason: e.to_string() })?;
        let name = format!("client-{}-{}", std::process::id(), super::now_ms() % 100_000);
        let stores = runtime.block_on(Stores::open(&config, &format!("airssys-{name}")))?;
        let client = Arc::new(Client { stores, name, events: EventBus::default(), timeout: config.request_timeout });
        Ok(FleetRuntime { runtime, client })
    }

    fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    fn stores(&self) -> &Stores {
        &self.client.stores
    }

    /// Progress of the rollouts this client drives, as they go.
    pub fn subscribe_rollouts(&self) -> mpsc::Receiver<crate::deploy::RolloutEvent> {
        self.client.events.subscribe()
    }

    /// The nodes that reported in the last 10 s and what each runs, and per
    /// service which nodes are behind and why.
    pub fn fleet_status(&self) -> Result<FleetStatus> {
        self.block_on(async {
            let nodes = live_nodes(self.stores()).await?;
            let desired = desired::list(self.stores()).await?;
            Ok(FleetStatus::of(self.stores().names.fleet(), nodes, &desired))
        })
    }

    fn coordinator(&self) -> Coordinator<'_> {
        Coordinator { client: &self.client }
    }

    fn deploy_as(&self, request: DeployRequest, trigger: Trigger) -> Result<RolloutRecord> {
        self.block_on(self.coordinator().deploy(request, trigger))
    }

    /// A change of a service's grants, rolled out Immediate.
    fn regrant(
        &self,
        service: &str,
        change: impl FnOnce(&mut Vec<Capability>) -> Result<()>,
        trigger: Trigger,
    ) -> Result<RolloutRecord> {
        let current = self.desired(service)?;
        let mut grants = current.spec.grants.clone();
        change(&mut grants)?;
        let request = DeployRequest {
            service: service.to_string(),
            grants: Some(grants),
            strategy: Some(Strategy::Immediate),
            ..Default::default()
        };
        self.deploy_as(request, trigger)
    }

    fn desired(&self, service: &str) -> Result<DesiredService> {
        self.block_on(desired::get(self.stores(), service))?
            .map(|(d, _)| d)
            .ok_or_else(|| Error::UnknownService { name: service.to_string() })
    }

    fn audited(&self, event: AuditEvent, service: Option<&str>, detail: serde_json::Value) -> Result<()> {
        self.block_on(audit::append(self.stores(), event, service, detail)).map(drop)
    }

    /// The merged metrics of every node that reported them.
    fn merged_metrics(&self) -> Result<MetricsSnapshot> {
        self.block_on(merged_metrics(self.stores()))
    }
}

/// Asks every live node for its run traces and merges them (by start
/// time; a node that does not answer within a second is left out).
async fn merged_traces(stores: &Stores, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>> {
    let failed =
        |e: &dyn std::fmt::Display| Error::FleetRequest { what: "ask for traces".into(), reason: e.to_string() };
    let nodes = live_nodes(stores).await?;
    let inbox = stores.client.new_inbox();
    let mut replies = stores.client.subscribe(inbox.clone()).await.map_err(|e| failed(&e))?;
    let request = wire::TracesRequest { pipeline: pipeline.map(str::to_string), last };
    let body = serde_json::to_vec(&request).map_err(|e| failed(&e))?;
    stores
        .client
        .publish_with_reply(stores.names.traces_request(), inbox, body.into())
        .await
        .map_err(|e| failed(&e))?;
    let mut runs: Vec<RunTrace> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut answered = 0;
    while answered < nodes.len() {
        match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(message)) => {
                answered += 1;
                if wire::is_ok(message.headers.as_ref())
                    && let Ok(traces) = serde_json::from_slice::<Vec<RunTrace>>(&message.payload)
                {
                    runs.extend(traces);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    runs.sort_by_key(|r| r.start_ms);
    let mut seen = std::collections::HashSet::new();
    runs.retain(|r| seen.insert(r.trace_id));
    if last > 0 && runs.len() > last {
        runs.drain(..runs.len() - last);
    }
    Ok(runs)
}

/// Asks every node for a fresh snapshot and merges them; a node that does
/// not answer within a second counts with its last reported one.
async fn merged_metrics(stores: &Stores) -> Result<MetricsSnapshot> {
    let nodes = live_nodes(stores).await?;
    let inbox = stores.client.new_inbox();
    let mut replies = stores
        .client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| Error::FleetRequest { what: "ask for metrics".into(), reason: e.to_string() })?;
    stores
        .client
        .publish_with_reply(stores.names.metrics_request(), inbox, "".into())
        .await
        .map_err(|e| Error::FleetRequest { what: "ask for metrics".into(), reason: e.to_string() })?;
    let mut fresh: std::collections::BTreeMap<String, MetricsSnapshot> = std::collections::BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while fresh.len() < nodes.len() {
        match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(message)) if wire::is_ok(message.headers.as_ref()) => {
                let node =
                    message.headers.as_ref().and_then(|h| h.get(wire::NODE)).map(|v| v.to_string()).unwrap_or_default();
                if let Ok(snapshot) = serde_json::from_slice(&message.payload) {
                    fresh.insert(node, snapshot);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    for (key, snapshot) in store::list_json::<MetricsSnapshot>(&stores.nodes, "metrics/").await? {
        let node = key.trim_start_matches("metrics/").to_string();
        fresh.entry(node).or_insert(snapshot);
    }
    Ok(MetricsSnapshot::merge(&fresh.into_values().collect::<Vec<_>>()))
}

impl Runtime for FleetRuntime {
    fn add_component(&self, reference: &ComponentRef, bytes: &[u8]) -> Result<VersionRecord> {
        crate::registry::check_name(&reference.name)?;
        crate::component::check_header(bytes)?;
        let digest = Digest::of(bytes);
        self.block_on(async {
            audit::check(self.stores()).await?;
            if let Ok(existing) = registry::resolve(self.stores(), reference).await {
                if existing.digest == digest {
                    return Ok(existing);
                }
                return Err(Error::VersionExists {
                    reference: reference.to_string(),
                    existing: existing.digest,
                    new: digest,
                });
            }
            registry::store_blob(self.stores(), &digest, bytes).await?;
            // A node checks the bytes are a component this host accepts.
            let checked = self.client.control(ControlRequest::Check { digest, name: reference.name.clone() }).await;
            if let Err(e) = checked {
                let named =
                    registry::list(self.stores()).await?.iter().any(|n| n.versions.iter().any(|v| v.digest == digest));
                if !named {
                    registry::delete_blob(self.stores(), &digest).await?;
                }
                return Err(e);
            }
            let record = registry::tag(self.stores(), reference, digest, bytes.len() as u64).await?;
            let detail = serde_json::json!({ "component": reference, "digest": digest, "fleet": true });
            audit::append(self.stores(), AuditEvent::RegistryAdd, None, detail).await?;
            Ok(record)
        })
    }

    fn components(&self) -> Result<Vec<NameRecord>> {
        self.block_on(registry::list(self.stores()))
    }

    fn describe(&self, reference: &ComponentRef) -> Result<Description> {
        self.block_on(async {
            let version = registry::resolve(self.stores(), reference).await?;
            let reply = self
                .client
                .control(ControlRequest::Describe { reference: reference.clone(), digest: version.digest })
                .await?;
            decode("a description", &reply)
        })
    }

    fn remove_component(&self, reference: &ComponentRef) -> Result<()> {
        self.block_on(async {
            audit::check(self.stores()).await?;
            let version = registry::resolve(self.stores(), reference).await?;
            let users: Vec<String> = desired::list(self.stores())
                .await?
                .into_iter()
                .filter(|d| {
                    d.spec.digest == version.digest
                        || d.rollout
                            .as_ref()
                            .and_then(|r| r.from.as_ref())
                            .is_some_and(|(_, digest)| *digest == version.digest)
                })
                .map(|d| d.spec.name)
                .collect();
            if !users.is_empty() {
                return Err(Error::InUse { reference: reference.to_string(), services: users.join(", ") });
            }
            registry::untag(self.stores(), reference, &version.digest).await?;
            let detail = serde_json::json!({ "component": reference, "digest": version.digest, "fleet": true });
            audit::append(self.stores(), AuditEvent::RegistryRemove, None, detail).await.map(drop)
        })
    }

    fn add_signature(&self, signature: &ComponentSignature) -> Result<()> {
        self.block_on(async {
            audit::check(self.stores()).await?;
            registry::add_signature(self.stores(), signature).await?;
            let detail = serde_json::json!({ "digest": signature.digest, "key": signature.public_key, "fleet": true });
            audit::append(self.stores(), AuditEvent::SignatureAdd, None, detail).await.map(drop)
        })
    }

    fn trust_policy(&self) -> Result<TrustPolicy> {
        self.block_on(desired::trust(self.stores()))
    }

    fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        self.block_on(async {
            audit::check(self.stores()).await?;
            desired::set_trust(self.stores(), policy).await?;
            let detail = serde_json::to_value(policy).unwrap_or_default();
            audit::append(self.stores(), AuditEvent::Trust, None, detail).await.map(drop)
        })
    }

    fn verify_audit(&self) -> Result<AuditCheck> {
        self.block_on(audit::verify(self.stores()))
    }

    /// A stream cannot be left torn (each append is one message): nothing
    /// to repair.
    fn repair_audit(&self) -> Result<LogRepair> {
        Ok(LogRepair::default())
    }

    fn deploy(&self, request: DeployRequest) -> Result<RolloutRecord> {
        self.deploy_as(request, Trigger::Deploy)
    }

    fn rollback(&self, service: &str) -> Result<RolloutRecord> {
        let request = self.desired(service)?.spec.rollback_request()?;
        self.deploy_as(request, Trigger::Rollback)
    }

    fn grant(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        let capability = capability.clone();
        self.regrant(
            service,
            |grants| {
                if !grants.contains(&capability) {
                    grants.push(capability);
                }
                Ok(())
            },
            Trigger::Grant,
        )
    }

    fn revoke(&self, service: &str, capability: &Capability) -> Result<RolloutRecord> {
        self.regrant(
            service,
            |grants| {
                let before = grants.len();
                grants.retain(|g| g != capability);
                if grants.len() == before {
                    return Err(Error::GrantInvalid {
                        capability: capability.to_string(),
                        reason: format!("service `{service}` does not hold this grant"),
                    });
                }
                Ok(())
            },
            Trigger::Revoke,
        )
    }

    /// One request per input, in order (a node answers one call per
    /// message); each input's error is its own.
    fn invoke_batch(&self, service: &str, inputs: &[Input]) -> Result<Vec<Result<Output>>> {
        Ok(inputs.iter().map(|input| self.invoke(service, input)).collect())
    }

    fn invoke(&self, service: &str, input: &Input) -> Result<Output> {
        let mut headers = HeaderMap::new();
        wire::metadata_header(&mut headers, &input.metadata);
        let fleet = self.stores().names.fleet().to_string();
        let subject = self.stores().names.invoke(service);
        let sent =
            self.block_on(self.client.request(subject, headers, input.data.clone(), self.client.timeout, || {
                Error::NoNodeRuns { fleet, service: service.to_string() }
            }));
        let message = match sent {
            // No node answers: a service the fleet does not have at all is
            // unknown; one it has is running nowhere.
            Err(Error::NoNodeRuns { .. }) if self.block_on(desired::get(self.stores(), service))?.is_none() => {
                return Err(Error::UnknownService { name: service.to_string() });
            }
            other => other?,
        };
        let metadata = wire::metadata_of(message.headers.as_ref())?;
        let data = Client::answer(message)?;
        Ok(Output { data, metadata })
    }

    fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        let request = PipelineRequest {
            pipeline: pipeline.clone(),
            input: input.data,
            deadline_ms: u64::try_from(options.deadline.as_millis()).unwrap_or(u64::MAX),
            trace: options.trace,
        };
        let body = serde_json::to_vec(&request)
            .map_err(|e| Error::FleetRequest { what: "encode a pipeline run".into(), reason: e.to_string() })?;
        let fleet = self.stores().names.fleet().to_string();
        let timeout = options.deadline + Duration::from_secs(1);
        let message = self.block_on(self.client.request(
            self.stores().names.pipelines(),
            HeaderMap::new(),
            body,
            timeout,
            || Error::NoNodeRuns { fleet, service: format!("(pipeline `{}`: no node is up)", pipeline.name) },
        ))?;
        decode("a pipeline run", &Client::answer(message)?)
    }

    fn traces(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>> {
        self.block_on(merged_traces(self.stores(), pipeline, last))
    }

    fn status(&self, service: Option<&str>) -> Result<Vec<ServiceStatus>> {
        self.block_on(async {
            let all = desired::list(self.stores()).await?;
            let nodes = live_nodes(self.stores()).await?;
            let wanted: Vec<DesiredService> = match service {
                Some(name) => {
                    let found: Vec<DesiredService> = all.into_iter().filter(|d| d.spec.name == name).collect();
                    if found.is_empty() {
                        return Err(Error::UnknownService { name: name.to_string() });
                    }
                    found
                }
                None => all,
            };
            Ok(wanted
                .into_iter()
                .map(|d| {
                    // Each version live on some node, with the share of nodes on it.
                    let mut versions: Vec<VersionStatus> = Vec::new();
                    let reporting = nodes.iter().filter_map(|n| n.services.get(&d.spec.name)).collect::<Vec<_>>();
                    for report in &reporting {
                        let (Some(component), Some(digest)) = (&report.component, report.digest) else { continue };
                        match versions.iter_mut().find(|v| v.digest == digest) {
                            Some(v) => {
                                v.weight_percent += 1.0;
                                v.live_instances += report.live_instances;
                            }
                            None => versions.push(VersionStatus {
                                component: component.clone(),
                                digest,
                                weight_percent: 1.0,
                                calls: 0,
                                errors: 0,
                                live_instances: report.live_instances,
                                tier: Default::default(),
                            }),
                        }
                    }
                    let total: f64 = versions.iter().map(|v| v.weight_percent).sum();
                    for v in &mut versions {
                        v.weight_percent = if total > 0.0 { 100.0 * v.weight_percent / total } else { 0.0 };
                    }
                    ServiceStatus { spec: d.spec, versions }
                })
                .collect())
        })
    }

    fn metrics(&self) -> Result<MetricsSnapshot> {
        self.merged_metrics()
    }

    fn audit(&self, service: Option<&str>, since_ms: Option<u64>) -> Result<Vec<AuditRecord>> {
        let records = self.block_on(audit::records(self.stores()))?;
        Ok(records
            .into_iter()
            .filter(|r| service.is_none_or(|s| r.body.service.as_deref() == Some(s)))
            .filter(|r| since_ms.is_none_or(|t| r.body.time_ms >= t))
            .collect())
    }

    fn rollouts(&self, service: Option<&str>) -> Result<Vec<RolloutRecord>> {
        let records = self.block_on(audit::rollouts(self.stores()))?;
        Ok(records.into_iter().filter(|r| service.is_none_or(|s| r.service == s)).collect())
    }

    fn record_decision(&self, service: &str, capability: &Capability, allowed: bool) -> Result<()> {
        let detail = serde_json::json!({ "capability": capability, "by": "user", "fleet": true });
        self.audited(AuditEvent::Decision { allowed }, Some(service), detail)
    }

    fn subscribe(&self, metrics_every: Duration) -> Result<mpsc::Receiver<RuntimeEvent>> {
        let (tx, rx) = mpsc::channel();
        // Rollouts across the fleet (whoever drives them), the nodes' guest
        // log lines (their own per-node swaps are part of those rollouts),
        // and periodically the merged metrics.
        let stores = self.stores().clone();
        let (mut rollouts, mut nodes) = self
            .block_on(async {
                let rollouts = stores.client.subscribe(stores.names.rollout_events()).await?;
                let nodes = stores.client.subscribe(stores.names.all_events()).await?;
                Ok::<_, async_nats::SubscribeError>((rollouts, nodes))
            })
            .map_err(|e| Error::FleetRequest { what: "follow the fleet's events".into(), reason: e.to_string() })?;
        self.runtime.spawn(async move {
            let mut tick = tokio::time::interval(metrics_every.max(Duration::from_millis(100)));
            loop {
                let event = tokio::select! {
                    message = rollouts.next() => match message {
                        Some(m) => match serde_json::from_slice(&m.payload) {
                            Ok(event) => RuntimeEvent::Rollout { event },
                            Err(_) => continue,
                        },
                        None => return,
                    },
                    message = nodes.next() => match message {
                        Some(m) => match serde_json::from_slice::<NodeEvent>(&m.payload) {
                            Ok(NodeEvent { event: event @ RuntimeEvent::Log { .. }, .. }) => event,
                            _ => continue,
                        },
                        None => return,
                    },
                    _ = tick.tick() => match merged_metrics(&stores).await {
                        Ok(snapshot) => RuntimeEvent::Metrics { snapshot },
                        Err(_) => continue,
                    },
                };
                if tx.send(event).is_err() {
                    return; // the subscriber is gone
                }
            }
        });
        Ok(rx)
    }
}
