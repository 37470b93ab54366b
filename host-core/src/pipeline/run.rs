//! Runs a message through a pipeline. Nodes of one level (same distance
//! from the sources) run concurrently; each node handles its inbox in
//! arrival order. Every call of a node is bounded by the message's
//! deadline as well as by its service's own timeout.
//!
//! A pipeline is validated once and compiled into a [`Plan`] (indices
//! instead of names), cached by the host until the pipeline or a version
//! of one of its services changes.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{DEFAULT_PORT, ERROR_PORT, ErrorPolicy, PORT_KEY, Pipeline, validate};
use crate::{Digest, Error, Host, Input, Result, Value, deploy::Service, metrics::NodeStats, wit};

/// How a run is bounded.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The message's deadline: every node call must finish within this
    /// time from the start of the run, or the run fails with
    /// [`Error::PipelineTimeout`] (whatever the node's error policy).
    pub deadline: Duration,
    /// Keep every node's output in [`PipelineRun::trace`] (copies each body).
    pub trace: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { deadline: Duration::from_secs(30), trace: false }
    }
}

/// A message a node emitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeOutput {
    /// The node.
    pub node: String,
    /// The port it left by.
    pub port: String,
    /// The body.
    pub data: Vec<u8>,
    /// Its metadata (without the `port` key).
    pub metadata: Vec<(String, Value)>,
}

/// What a run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineRun {
    /// What reached the sinks, in sink topological order, then arrival.
    pub results: Vec<NodeOutput>,
    /// Every node's outputs, in the order nodes ran (for the run console),
    /// when [`RunOptions::trace`] is set.
    pub trace: Vec<NodeOutput>,
    /// Messages that left by a port with no wires, and failures dropped by
    /// the `drop` policy.
    pub dropped: u64,
    /// Failures handled by `drop` or `route`: (node, error text).
    pub handled_errors: Vec<(String, String)>,
}

struct Message {
    data: Vec<u8>,
    metadata: Vec<(String, Value)>,
}

/// A validated pipeline, compiled: nodes by index in topological order.
pub(crate) struct Plan {
    /// The definition it was compiled from.
    pipeline: Pipeline,
    /// Node ids in topological order (ties by id); indices below refer here.
    ids: Vec<String>,
    services: Vec<String>,
    policies: Vec<ErrorPolicy>,
    /// Nodes of each level (longest distance from a source).
    levels: Vec<Vec<usize>>,
    sinks: Vec<bool>,
    /// Per node: (port, targets) in wire order.
    routes: Vec<Vec<(String, Vec<usize>)>>,
    sources: Vec<usize>,
    /// The primary digest of each node's service when validated.
    digests: Vec<Digest>,
    stats: Vec<Arc<NodeStats>>,
}

impl Plan {
    fn compile(host: &Host, pipeline: &Pipeline, order: Vec<String>, digests: Vec<Digest>) -> Self {
        let index: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        let n = order.len();
        let mut level = vec![0usize; n];
        let mut routes: Vec<Vec<(String, Vec<usize>)>> = vec![Vec::new(); n];
        let mut has_input = vec![false; n];
        for wire in &pipeline.wires {
            let (from, to) = (index[wire.from.as_str()], index[wire.to.as_str()]);
            has_input[to] = true;
            match routes[from].iter_mut().find(|(port, _)| *port == wire.port) {
                Some((_, targets)) => targets.push(to),
                None => routes[from].push((wire.port.clone(), vec![to])),
            }
        }
        // Topological order: every wire goes from a lower index to a higher one.
        for from in 0..n {
            for (_, targets) in &routes[from] {
                for &to in targets {
                    level[to] = level[to].max(level[from] + 1);
                }
            }
        }
        let depth = level.iter().max().map_or(0, |m| m + 1);
        let mut levels = vec![Vec::new(); depth];
        for (i, l) in level.iter().enumerate() {
            levels[*l].push(i);
        }
        let nodes: Vec<&super::Node> = order.iter().map(|id| &pipeline.nodes[id]).collect();
        let stats = match host.data_store() {
            Some(data) => order.iter().map(|id| data.metrics.node(&pipeline.name, id)).collect(),
            None => order.iter().map(|_| Arc::default()).collect(),
        };
        Plan {
            pipeline: pipeline.clone(),
            services: nodes.iter().map(|node| node.service.clone()).collect(),
            policies: nodes.iter().map(|node| node.on_error).collect(),
            levels,
            sinks: routes.iter().map(Vec::is_empty).collect(),
            sources: (0..n).filter(|i| !has_input[*i]).collect(),
            routes,
            digests,
            stats,
            ids: order,
        }
    }
}

impl Host {
    /// The compiled plan of `pipeline` and its nodes' live services,
    /// validating (again) when the pipeline or a service version changed.
    fn plan(&self, pipeline: &Pipeline) -> Result<(Arc<Plan>, Vec<Arc<Service>>)> {
        let resolve = |plan: &Plan| -> Result<Option<Vec<Arc<Service>>>> {
            let mut services = Vec::with_capacity(plan.services.len());
            for (name, digest) in plan.services.iter().zip(&plan.digests) {
                match self.live_service(name) {
                    Ok(service) if service.table.load().primary.digest() == *digest => services.push(service),
                    Ok(_) | Err(Error::UnknownService { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            Ok(Some(services))
        };
        if let Some(plan) = self.cached_plan(&pipeline.name)
            && plan.pipeline == *pipeline
            && let Some(services) = resolve(&plan)?
        {
            return Ok((plan, services));
        }
        let order = validate::validate(pipeline, |service| self.node_contract(service))
            .map_err(|errors| Error::InvalidPipeline { pipeline: pipeline.name.clone(), errors })?;
        let mut digests = Vec::with_capacity(order.len());
        for id in &order {
            let service = self.live_service(&pipeline.nodes[id].service)?;
            digests.push(service.table.load().primary.digest());
        }
        let plan = Arc::new(Plan::compile(self, pipeline, order, digests));
        let services = resolve(&plan)?.ok_or_else(|| {
            Error::Config("a service of the pipeline changed while it was being checked; run again".into())
        })?;
        self.cache_plan(&pipeline.name, plan.clone());
        Ok((plan, services))
    }

    /// Runs `input` through `pipeline` over this host's services.
    pub fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        let (plan, services) = self.plan(pipeline)?;
        let deadline = Instant::now() + options.deadline;
        let timed_out = || Error::PipelineTimeout { pipeline: pipeline.name.clone(), limit: options.deadline };
        let n = plan.ids.len();
        let mut inbox: Vec<Vec<Message>> = (0..n).map(|_| Vec::new()).collect();
        let Input { data, metadata, context } = input;
        let mut first = Some(Message { data, metadata });
        for (i, &source) in plan.sources.iter().enumerate() {
            let message = if i + 1 == plan.sources.len() {
                first.take()
            } else {
                first.as_ref().map(|m| Message { data: m.data.clone(), metadata: m.metadata.clone() })
            };
            inbox[source].extend(message);
        }
        let context = &context;
        let mut run = PipelineRun::default();
        let mut results: Vec<(usize, usize, NodeOutput)> = Vec::new();
        for level in &plan.levels {
            if Instant::now() >= deadline {
                return Err(timed_out());
            }
            let work: Vec<(usize, Vec<Message>)> = level
                .iter()
                .map(|i| (*i, std::mem::take(&mut inbox[*i])))
                .filter(|(_, messages)| !messages.is_empty())
                .collect();
            let node = |i: usize, messages: Vec<Message>| {
                let call = NodeCall { plan: &plan, index: i, service: &services[i], context, deadline };
                (i, call.run(messages))
            };
            // Independent nodes of one level run concurrently; a lone node
            // runs inline (a thread per call would cost more than the call).
            let outcomes: Vec<(usize, Vec<NodeStep>)> = if work.len() <= 1 {
                work.into_iter().map(|(i, messages)| node(i, messages)).collect()
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> =
                        work.into_iter().map(|(i, messages)| scope.spawn(move || node(i, messages))).collect();
                    handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
                })
            };
            for (i, steps) in outcomes {
                let id = &plan.ids[i];
                for step in steps {
                    let (port, data, metadata) = match step {
                        NodeStep::TimedOut => return Err(timed_out()),
                        NodeStep::Failed(e) => {
                            return Err(Error::PipelineNode {
                                pipeline: pipeline.name.clone(),
                                node: id.clone(),
                                source: Box::new(e),
                            });
                        }
                        NodeStep::Dropped(text) => {
                            run.dropped += 1;
                            run.handled_errors.push((id.clone(), text));
                            continue;
                        }
                        NodeStep::Emitted { port, data, metadata, routed_error } => {
                            if let Some(text) = routed_error {
                                run.handled_errors.push((id.clone(), text));
                            }
                            (port, data, metadata)
                        }
                    };
                    let output = || NodeOutput {
                        node: id.clone(),
                        port: port.clone(),
                        data: data.clone(),
                        metadata: metadata.clone(),
                    };
                    if options.trace {
                        run.trace.push(output());
                    }
                    if plan.sinks[i] {
                        results.push((i, results.len(), NodeOutput { node: id.clone(), port, data, metadata }));
                        continue;
                    }
                    let targets = plan.routes[i].iter().find(|(p, _)| *p == port).map_or(&[][..], |(_, t)| t);
                    if targets.is_empty() {
                        run.dropped += 1;
                    }
                    // Fan-out copies the body; the last target takes it.
                    let mut last = Some(Message { data, metadata });
                    for (k, &target) in targets.iter().enumerate() {
                        let message = if k + 1 == targets.len() {
                            last.take()
                        } else {
                            last.as_ref().map(|m| Message { data: m.data.clone(), metadata: m.metadata.clone() })
                        };
                        inbox[target].extend(message);
                    }
                }
            }
        }
        // Node indices are topological ranks.
        results.sort_by_key(|(rank, arrival, _)| (*rank, *arrival));
        run.results = results.into_iter().map(|(_, _, output)| output).collect();
        Ok(run)
    }

    /// A service's media types from its component's metadata, or `None`
    /// when the service does not exist. Cached by digest: a pipeline run
    /// validates its graph without touching the disk or instantiating.
    pub fn node_contract(&self, service: &str) -> Option<validate::NodeContract> {
        let (digest, name) = self.live_digest(service).or_else(|| {
            let spec = self.service_spec(service).ok()?;
            Some((spec.digest, spec.component.name))
        })?;
        if let Some(found) = self.cached_contract(&digest) {
            return Some(found);
        }
        let bytes = self.registry().ok()?.read_blob(&digest).ok()?;
        let component = self.load_named(&bytes, Some(name)).ok()?;
        let metadata = self.describe(&component).ok()?.metadata;
        let contract = validate::NodeContract { accepts: metadata.accepts, produces: metadata.produces };
        self.cache_contract(digest, contract.clone());
        Some(contract)
    }
}

/// One node's share of a run.
struct NodeCall<'a> {
    plan: &'a Plan,
    index: usize,
    service: &'a Service,
    context: &'a wit::ExecutionContext,
    deadline: Instant,
}

impl NodeCall<'_> {
    /// Calls the node's service once per message, in arrival order.
    fn run(&self, messages: Vec<Message>) -> Vec<NodeStep> {
        let plan = self.plan;
        let id = &plan.ids[self.index];
        let received = messages.len() as u64;
        let mut steps = Vec::with_capacity(messages.len());
        let (mut emitted, mut failed) = (0, 0);
        for message in messages {
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                steps.push(NodeStep::TimedOut);
                break;
            }
            let input = Input {
                data: message.data,
                metadata: message.metadata,
                context: wit::ExecutionContext {
                    request_id: self.context.request_id.clone(),
                    pipeline: Some(plan.pipeline.name.clone()),
                    node: Some(id.clone()),
                    deadline_ms: Some(remaining.as_millis() as u64),
                    attempt: 1,
                },
            };
            match self.service.invoke(&input, Some(self.deadline)) {
                Ok(out) => {
                    let mut port = None;
                    let metadata = out
                        .metadata
                        .into_iter()
                        .filter(|(k, v)| match (k.as_str(), v) {
                            (PORT_KEY, Value::Text(p)) => {
                                port = Some(p.clone());
                                false
                            }
                            _ => true,
                        })
                        .collect();
                    emitted += 1;
                    steps.push(NodeStep::Emitted {
                        port: port.unwrap_or_else(|| DEFAULT_PORT.to_string()),
                        data: out.data,
                        metadata,
                        routed_error: None,
                    });
                }
                Err(_) if Instant::now() >= self.deadline => {
                    failed += 1;
                    steps.push(NodeStep::TimedOut);
                    break;
                }
                Err(e) => {
                    failed += 1;
                    match plan.policies[self.index] {
                        ErrorPolicy::Fail => {
                            steps.push(NodeStep::Failed(e));
                            break;
                        }
                        ErrorPolicy::Drop => steps.push(NodeStep::Dropped(e.to_string())),
                        ErrorPolicy::Route => {
                            let text = e.to_string();
                            emitted += 1;
                            steps.push(NodeStep::Emitted {
                                port: ERROR_PORT.to_string(),
                                data: text.clone().into_bytes(),
                                metadata: vec![("content-type".into(), Value::Text("text/plain".into()))],
                                routed_error: Some(text),
                            });
                        }
                    }
                }
            }
        }
        plan.stats[self.index].record(received, emitted, failed);
        steps
    }
}

enum NodeStep {
    Emitted {
        port: String,
        data: Vec<u8>,
        metadata: Vec<(String, Value)>,
        routed_error: Option<String>,
    },
    Dropped(String),
    Failed(Error),
    /// The message's deadline passed.
    TimedOut,
}
