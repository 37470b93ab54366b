//! The node agent inside `airssys serve --fleet URL --node NAME`: it makes
//! the local host run what the fleet's desired state says (fetching and
//! checking bytes from the shared registry), answers calls, pipeline runs
//! and control requests over NATS, reports its status every 2 s and
//! forwards its events. The node's data folder is a cache of the fleet.
//!
//! Owns: converging the local host, the node's subscriptions and reports.
//! Must not touch: the desired state (only clients write it) or other
//! nodes' reports.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{
    FleetConfig,
    desired::{self, DesiredService},
    names, registry,
    status::{NodeService, NodeStatus},
    store::{self, Stores},
    wire::{self, ControlRequest},
};
use crate::{
    ComponentKind, Digest, Error, Host, Input, Result,
    deploy::{DeployRequest, PoolMode, Strategy},
    events::RuntimeEvent,
    registry::ComponentRef,
    remote::PipelineRequest,
    security::{self, signing},
};

/// How often a node reports its status.
const REPORT_EVERY: Duration = Duration::from_secs(2);
/// How often a node puts its metrics.
const METRICS_EVERY: Duration = Duration::from_secs(5);
/// How often a node converges everything, changes or not.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);

/// A node's settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The fleet to join.
    pub fleet: FleetConfig,
    /// This node's name (unique in the fleet).
    pub node: String,
    /// This node's HTTP API, if it serves one (shown by `fleet status`).
    pub api: Option<String>,
}

/// A node that has joined its fleet; it leaves on drop (its report is
/// removed so the fleet stops counting on it at once).
pub struct FleetNode {
    runtime: Option<tokio::runtime::Runtime>,
    agent: Arc<Agent>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for FleetNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetNode").field("node", &self.agent.node).finish_non_exhaustive()
    }
}

/// A NATS message's reply subject and the node's client.
struct Replier {
    client: async_nats::Client,
    node: String,
}

impl Replier {
    async fn send(&self, reply: Option<async_nats::Subject>, result: Result<Vec<u8>>) {
        let Some(reply) = reply else { return };
        let (ok, body) = match result {
            Ok(body) => (true, body),
            Err(e) => (false, wire::encode_error(&e)),
        };
        let headers = wire::reply_headers(ok, &self.node);
        if let Err(e) = self.client.publish_with_headers(reply, headers, body.into()).await {
            tracing::warn!(error = %e, "cannot send a reply");
        }
    }
}

struct Agent {
    host: Host,
    stores: Stores,
    node: String,
    api: Option<String>,
    started_at_ms: u64,
    /// What the node last found per service.
    services: Mutex<BTreeMap<String, NodeService>>,
    /// Call subscriptions per service.
    subscriptions: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
    /// Converging one service at a time.
    converging: tokio::sync::Mutex<()>,
}

impl FleetNode {
    /// Joins the fleet: connects (an unreachable NATS fails within the
    /// connect timeout), converges every service of the desired state, then
    /// follows every change.
    ///
    /// Errors: [`Error::FleetConfig`], [`Error::FleetUnreachable`].
    pub fn start(host: Host, config: NodeConfig) -> Result<FleetNode> {
        names::check_node_name(&config.node)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("airssys-fleet-node")
            .build()
            .map_err(|e| Error::FleetRequest { what: "start the node's runtime".into(), reason: e.to_string() })?;
        let stores = runtime.block_on(Stores::open(&config.fleet, &format!("airssys-node-{}", config.node)))?;
        let agent = Arc::new(Agent {
            host,
            stores,
            node: config.node,
            api: config.api,
            started_at_ms: super::now_ms(),
            services: Mutex::default(),
            subscriptions: Mutex::default(),
            converging: tokio::sync::Mutex::new(()),
        });
        let (stop, stopped) = watch::channel(false);
        runtime.block_on(agent.converge_all());
        runtime.block_on(agent.report());
        runtime.spawn(agent.clone().follow_desired(stopped.clone()));
        runtime.spawn(agent.clone().report_loop(stopped.clone()));
        runtime.spawn(agent.clone().serve_control(stopped.clone()));
        runtime.spawn(agent.clone().serve_pipelines(stopped.clone()));
        runtime.spawn(agent.clone().serve_metrics(stopped.clone()));
        runtime.spawn(agent.clone().serve_traces(stopped.clone()));
        agent.clone().forward_events(runtime.handle().clone(), stopped);
        tracing::info!(node = %agent.node, fleet = %agent.stores.names.fleet(), "joined the fleet");
        Ok(FleetNode { runtime: Some(runtime), agent, stop })
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.agent.node
    }
}

impl Drop for FleetNode {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(runtime) = self.runtime.take() {
            let agent = self.agent.clone();
            let _ = runtime.block_on(async move {
                tokio::time::timeout(Duration::from_secs(1), agent.stores.nodes.purge(names::node_key(&agent.node)))
                    .await
            });
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Runs `f` on the blocking pool (host calls can take a while).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::FleetRequest { what: "run a host call".into(), reason: e.to_string() })
}

impl Agent {
    fn lock_services(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, NodeService>> {
        self.services.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Converges every service of the desired state.
    async fn converge_all(self: &Arc<Self>) {
        match desired::list_with_revisions(&self.stores).await {
            Ok(all) => {
                self.apply_trust().await;
                for (d, revision) in all {
                    self.converge(&d, revision).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the desired state"),
        }
    }

    /// The fleet's trust policy becomes the local one.
    async fn apply_trust(&self) {
        let Ok(policy) = desired::trust(&self.stores).await else { return };
        let host = self.host.clone();
        let _ = blocking(move || {
            if host.trust_policy().ok().as_ref() != Some(&policy)
                && let Err(e) = host.set_trust_policy(&policy)
            {
                tracing::warn!(error = %e, "cannot apply the fleet's trust policy");
            }
        })
        .await;
    }

    /// Makes the local host run what `desired` says this node should, and
    /// records how that went for the next report.
    async fn converge(self: &Arc<Self>, desired: &DesiredService, revision: u64) {
        let _one = self.converging.lock().await;
        let service = desired.spec.name.clone();
        let (target, digest, strategy) = desired.target_for(&self.node);
        let outcome = self.converge_to(desired, &target, digest, strategy).await;
        let host = self.host.clone();
        let name = service.clone();
        let live = blocking(move || host.status(Some(&name)).ok().and_then(|mut s| s.pop())).await.ok().flatten();
        let mut report = NodeService {
            component: live.as_ref().map(|s| s.spec.component.clone()),
            digest: live.as_ref().map(|s| s.spec.digest),
            target: target.clone(),
            target_digest: digest,
            converged: false,
            error: None,
            health: None,
            live_instances: live.as_ref().map_or(0, |s| s.versions.iter().map(|v| v.live_instances).sum()),
            revision,
        };
        match outcome {
            Ok(()) => report.converged = live.is_some_and(|s| matches_spec(&s.spec, desired, &target, digest)),
            Err(e) => {
                tracing::warn!(service, error = %e, "cannot converge");
                report.error = Some(e.to_string());
            }
        }
        if report.component.is_some() {
            self.subscribe_calls(&service).await;
        }
        self.lock_services().insert(service, report);
        self.report().await;
    }

    async fn converge_to(
        &self,
        desired: &DesiredService,
        target: &ComponentRef,
        digest: Digest,
        strategy: Strategy,
    ) -> Result<()> {
        let host = self.host.clone();
        let name = desired.spec.name.clone();
        let current = blocking(move || host.service_spec(&name).ok()).await?;
        if current.as_ref().is_some_and(|c| matches_spec(c, desired, target, digest)) {
            return Ok(());
        }
        self.ensure_local(target, digest).await?;
        let spec = &desired.spec;
        let request = DeployRequest {
            service: spec.name.clone(),
            component: Some(target.clone()),
            config: Some(spec.config.clone()),
            grants: Some(spec.grants.clone()),
            pool: Some(spec.pool),
            // A first deploy on this node has nothing to swap with.
            strategy: Some(if current.is_some() { strategy } else { Strategy::Immediate }),
            limits: Some(spec.limits),
            args: Some(spec.args.clone()),
        };
        let host = self.host.clone();
        blocking(move || host.deploy(request)).await?.map(drop)
    }

    /// The local registry holds `reference` with the fleet's bytes: fetched
    /// from the object store (digest checked), with its signature if any.
    async fn ensure_local(&self, reference: &ComponentRef, digest: Digest) -> Result<()> {
        let host = self.host.clone();
        let wanted = reference.clone();
        let local = blocking(move || host.registry().and_then(|r| r.resolve(&wanted))).await?;
        match local {
            Ok(record) if record.digest == digest => {}
            Ok(record) => {
                return Err(Error::VersionExists {
                    reference: reference.to_string(),
                    existing: record.digest,
                    new: digest,
                });
            }
            Err(_) => {
                let bytes = registry::fetch(&self.stores, &digest).await?;
                let host = self.host.clone();
                let reference = reference.clone();
                blocking(move || host.add_component(&reference, &bytes)).await??;
            }
        }
        if let Some(signature) = registry::signature(&self.stores, &digest).await? {
            let host = self.host.clone();
            blocking(move || host.add_signature(&signature)).await??;
        }
        Ok(())
    }

    /// Answers calls of `service` (queue group: the service), once.
    async fn subscribe_calls(self: &Arc<Self>, service: &str) {
        if self.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).contains_key(service) {
            return;
        }
        let subject = self.stores.names.invoke(service);
        let mut calls = match self.stores.client.queue_subscribe(subject, service.to_string()).await {
            Ok(subscription) => subscription,
            Err(e) => {
                tracing::warn!(service, error = %e, "cannot subscribe to calls");
                return;
            }
        };
        let agent = self.clone();
        let name = service.to_string();
        let task = tokio::spawn(async move {
            while let Some(message) = calls.next().await {
                let agent = agent.clone();
                let name = name.clone();
                tokio::spawn(async move { agent.answer_call(&name, message).await });
            }
        });
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).insert(service.to_string(), task);
    }

    async fn answer_call(&self, service: &str, message: async_nats::Message) {
        let replier = Replier { client: self.stores.client.clone(), node: self.node.clone() };
        let result = async {
            let remaining = wire::remaining(message.headers.as_ref());
            if remaining == Some(Duration::ZERO) {
                return Err(Error::Timeout { function: "execute", limit: Duration::ZERO });
            }
            let mut input = Input::new(message.payload.to_vec());
            input.metadata = wire::metadata_of(message.headers.as_ref())?;
            let deadline = remaining.map(|left| Instant::now() + left);
            // On this worker (its other tasks move to another one): a call
            // is short, and a hop to the blocking pool costs a thread
            // wake-up per call.
            tokio::task::block_in_place(|| self.host.live_service(service)?.invoke(&input, deadline, Instant::now()))
        }
        .await;
        let Some(reply) = message.reply else { return };
        match result {
            Ok(output) => {
                let mut headers = wire::reply_headers(true, &self.node);
                wire::metadata_header(&mut headers, &output.metadata);
                if let Err(e) = self.stores.client.publish_with_headers(reply, headers, output.data.into()).await {
                    tracing::warn!(error = %e, "cannot send a call's reply");
                }
            }
            Err(e) => replier.send(Some(reply), Err(e)).await,
        }
    }

    /// Writes this node's status (and, every few reports, its metrics).
    async fn report(&self) {
        let status = NodeStatus {
            node: self.node.clone(),
            api: self.api.clone(),
            started_at_ms: self.started_at_ms,
            updated_at_ms: super::now_ms(),
            services: self.lock_services().clone(),
        };
        if let Err(e) = store::put_json(&self.stores.nodes, &names::node_key(&self.node), &status).await {
            tracing::warn!(error = %e, "cannot report the node's status");
        }
    }

    async fn report_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut last_metrics = Instant::now() - METRICS_EVERY;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(REPORT_EVERY) => {}
            }
            self.refresh_live().await;
            self.report().await;
            if last_metrics.elapsed() >= METRICS_EVERY {
                last_metrics = Instant::now();
                let host = self.host.clone();
                if let Ok(Ok(snapshot)) = blocking(move || host.metrics()).await
                    && let Err(e) =
                        store::put_json(&self.stores.nodes, &names::metrics_key(&self.node), &snapshot).await
                {
                    tracing::warn!(error = %e, "cannot report the node's metrics");
                }
            }
        }
    }

    /// Refreshes health and instance counts of the services it reports.
    async fn refresh_live(&self) {
        let host = self.host.clone();
        let Ok(Ok(statuses)) = blocking(move || host.status(None)).await else { return };
        {
            let mut services = self.lock_services();
            for status in statuses {
                if let Some(report) = services.get_mut(&status.spec.name) {
                    report.component = Some(status.spec.component.clone());
                    report.digest = Some(status.spec.digest);
                    report.live_instances = status.versions.iter().map(|v| v.live_instances).sum();
                }
            }
        }
        let host = self.host.clone();
        if let Ok(Ok(metrics)) = blocking(move || host.metrics()).await {
            let mut services = self.lock_services();
            for m in metrics.services {
                if let (Some(report), Some(reading)) = (services.get_mut(&m.service), m.health) {
                    report.health = Some(reading.health);
                }
            }
        }
    }

    /// Converges on every change of the desired state, and every few
    /// seconds in any case (a missed change is caught up).
    async fn follow_desired(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let mut changes = match self.stores.desired.watch_all().await {
                Ok(changes) => changes,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the desired state; retrying");
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            let mut tick = tokio::time::interval(RECONCILE_EVERY);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tick.tick() => self.converge_all().await,
                    change = changes.next() => match change {
                        Some(Ok(entry)) if entry.key == names::TRUST_KEY => self.apply_trust().await,
                        Some(Ok(entry)) if entry.key.starts_with(names::SERVICE_PREFIX) => {
                            if let Ok(d) = serde_json::from_slice::<DesiredService>(&entry.value) {
                                self.converge(&d, entry.revision).await;
                            }
                        }
                        Some(_) => {}
                        None => break,
                    },
                }
            }
        }
    }

    /// Answers control requests (queue group `control`).
    async fn serve_control(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Ok(mut requests) = self.stores.client.queue_subscribe(self.stores.names.control(), "control".into()).await
        else {
            tracing::warn!("cannot subscribe to control requests");
            return;
        };
        loop {
            let message = tokio::select! {
                _ = stop.changed() => return,
                message = requests.next() => match message { Some(m) => m, None => return },
            };
            let agent = self.clone();
            tokio::spawn(async move {
                let result = match serde_json::from_slice::<ControlRequest>(&message.payload) {
                    Ok(request) => agent.control(request).await,
                    Err(e) => Err(Error::FleetRequest { what: "read a control request".into(), reason: e.to_string() }),
                };
                Replier { client: agent.stores.client.clone(), node: agent.node.clone() }
                    .send(message.reply, result)
                    .await;
            });
        }
    }

    async fn control(&self, request: ControlRequest) -> Result<Vec<u8>> {
        match request {
            ControlRequest::Check { digest, name } => {
                let bytes = registry::fetch(&self.stores, &digest).await?;
                let host = self.host.clone();
                blocking(move || host.load_named(&bytes, Some(name)).map(drop)).await??;
                Ok(b"{}".to_vec())
            }
            ControlRequest::Describe { reference, digest } => {
                self.ensure_local(&reference, digest).await?;
                let host = self.host.clone();
                let description = blocking(move || host.describe_version(&reference)).await??;
                to_json(&description)
            }
            ControlRequest::CheckDeploy { spec, strategy } => {
                self.ensure_local(&spec.component, spec.digest).await?;
                let trust = desired::trust(&self.stores).await?;
                let signature = registry::signature(&self.stores, &spec.digest).await?;
                signing::check(&trust, &spec.digest, signature.as_ref())?;
                let host = self.host.clone();
                blocking(move || check_deploy(&host, &spec, &strategy)).await??;
                Ok(b"{}".to_vec())
            }
        }
    }

    /// Answers every metrics request with a fresh snapshot (all nodes
    /// answer: the client merges them).
    async fn serve_metrics(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Ok(mut requests) = self.stores.client.subscribe(self.stores.names.metrics_request()).await else {
            tracing::warn!("cannot subscribe to metrics requests");
            return;
        };
        loop {
            let message = tokio::select! {
                _ = stop.changed() => return,
                message = requests.next() => match message { Some(m) => m, None => return },
            };
            let host = self.host.clone();
            let result = match blocking(move || host.metrics()).await {
                Ok(Ok(snapshot)) => to_json(&snapshot),
                Ok(Err(e)) | Err(e) => Err(e),
            };
            Replier { client: self.stores.client.clone(), node: self.node.clone() }.send(message.reply, result).await;
        }
    }

    /// Answers every traces request with this node's run traces (all nodes
    /// answer: the client merges them).
    async fn serve_traces(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Ok(mut requests) = self.stores.client.subscribe(self.stores.names.traces_request()).await else {
            tracing::warn!("cannot subscribe to trace requests");
            return;
        };
        loop {
            let message = tokio::select! {
                _ = stop.changed() => return,
                message = requests.next() => match message { Some(m) => m, None => return },
            };
            let host = self.host.clone();
            let result = match serde_json::from_slice::<wire::TracesRequest>(&message.payload) {
                Ok(request) => match blocking(move || host.traces(request.pipeline.as_deref(), request.last)).await {
                    Ok(Ok(traces)) => to_json(&traces),
                    Ok(Err(e)) | Err(e) => Err(e),
                },
                Err(e) => Err(Error::FleetRequest { what: "read a traces request".into(), reason: e.to_string() }),
            };
            Replier { client: self.stores.client.clone(), node: self.node.clone() }.send(message.reply, result).await;
        }
    }

    /// Runs pipelines (queue group `pipelines`): every node runs every
    /// service, so any node can run any pipeline in one process.
    async fn serve_pipelines(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Ok(mut requests) =
            self.stores.client.queue_subscribe(self.stores.names.pipelines(), "pipelines".into()).await
        else {
            tracing::warn!("cannot subscribe to pipeline runs");
            return;
        };
        loop {
            let message = tokio::select! {
                _ = stop.changed() => return,
                message = requests.next() => match message { Some(m) => m, None => return },
            };
            let agent = self.clone();
            tokio::spawn(async move {
                let result = async {
                    let request: PipelineRequest = serde_json::from_slice(&message.payload).map_err(|e| {
                        Error::FleetRequest { what: "read a pipeline run".into(), reason: e.to_string() }
                    })?;
                    let host = agent.host.clone();
                    let run = blocking(move || {
                        let options = request.options();
                        host.run_pipeline(&request.pipeline, Input::new(request.input), &options)
                    })
                    .await??;
                    to_json(&run)
                }
                .await;
                Replier { client: agent.stores.client.clone(), node: agent.node.clone() }
                    .send(message.reply, result)
                    .await;
            });
        }
    }

    /// Publishes the host's rollout progress and guest log lines.
    fn forward_events(self: Arc<Self>, handle: tokio::runtime::Handle, stop: watch::Receiver<bool>) {
        let events = match self.host.subscribe(Duration::from_secs(24 * 3600)) {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "cannot follow the host's events");
                return;
            }
        };
        let spawned = std::thread::Builder::new().name("airssys-fleet-events".into()).spawn(move || {
            while !*stop.borrow() {
                let Ok(event) = events.recv_timeout(Duration::from_millis(500)) else { continue };
                if matches!(event, RuntimeEvent::Metrics { .. }) {
                    continue;
                }
                let message = NodeEvent { node: self.node.clone(), event };
                let Ok(payload) = serde_json::to_vec(&message) else { continue };
                let client = self.stores.client.clone();
                let subject = self.stores.names.events(&self.node);
                handle.spawn(async move {
                    let _ = client.publish(subject, payload.into()).await;
                });
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the event forwarder");
        }
    }
}

/// An event a node publishes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodeEvent {
    pub node: String,
    pub event: RuntimeEvent,
}

/// Whether a local spec is what `desired` asks of this node.
fn matches_spec(
    local: &crate::deploy::ServiceSpec,
    desired: &DesiredService,
    target: &ComponentRef,
    digest: Digest,
) -> bool {
    let d = &desired.spec;
    local.component == *target
        && local.digest == digest
        && local.config == d.config
        && local.grants == d.grants
        && local.pool == d.pool
        && local.limits == d.limits
        && local.args == d.args
}

/// What a deploy of `spec` with `strategy` would be refused for on this
/// host, checked without changing anything: strategy, limits, custom
/// grants, the component's requested capabilities, stateful constraints.
fn check_deploy(host: &Host, spec: &crate::deploy::ServiceSpec, strategy: &Strategy) -> Result<()> {
    strategy.validate()?;
    spec.limits.validate(&host.config().pool)?;
    let description = host.describe_version(&spec.component)?;
    if !spec.args.is_empty() && !matches!(description.info.kind, ComponentKind::WasiCommand) {
        return Err(Error::ArgsNeedCommand { service: spec.name.clone(), component: spec.component.to_string() });
    }
    let missing = security::missing(&description.required_capabilities, &spec.grants);
    if !missing.is_empty() {
        return Err(Error::MissingCapabilities {
            service: spec.name.clone(),
            component: spec.component.to_string(),
            missing,
        });
    }
    security::SandboxPolicy::from_grants(&spec.name, &spec.grants, None)?;
    let stateful = matches!(description.info.kind, ComponentKind::Contract { state: true, .. });
    if stateful && matches!(strategy, Strategy::Canary { .. } | Strategy::Rolling { .. }) {
        return Err(Error::StatefulStrategy { service: spec.name.clone(), strategy: strategy.kind() });
    }
    if stateful && !matches!(spec.pool, PoolMode::Pooled { size: 1 }) {
        tracing::debug!(service = %spec.name, "a stateful service runs one instance per node");
    }
    Ok(())
}

/// A reply value as JSON.
fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::FleetRequest { what: "encode a reply".into(), reason: e.to_string() })
}
