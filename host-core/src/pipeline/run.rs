//! Runs a message through a pipeline. Nodes of one level (same distance
//! from the sources) run concurrently; each node handles its inbox in
//! arrival order.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{DEFAULT_PORT, ERROR_PORT, ErrorPolicy, PORT_KEY, Pipeline, validate};
use crate::{Error, Host, Input, Result, Value, wit};

/// How a run is bounded.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The whole run must finish within this time.
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

impl Host {
    /// Runs `input` through `pipeline` over this host's services.
    pub fn run_pipeline(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        let order = validate::validate(pipeline, |service| self.node_contract(service))
            .map_err(|errors| Error::InvalidPipeline { pipeline: pipeline.name.clone(), errors })?;
        let started = Instant::now();
        let rank: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();

        // Level = longest distance from a source; a node's inputs are all
        // complete once every lower level has run.
        let mut level: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &order {
            let l = pipeline.wires.iter().filter(|w| &w.to == id).filter_map(|w| level.get(w.from.as_str())).max();
            level.insert(id.as_str(), l.map_or(0, |l| l + 1));
        }
        let levels = level.values().max().map_or(0, |m| m + 1);

        let mut inbox: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        for source in pipeline.sources() {
            inbox
                .entry(source.to_string())
                .or_default()
                .push(Message { data: input.data.clone(), metadata: input.metadata.clone() });
        }
        let context = &input.context;
        let mut run = PipelineRun::default();
        let mut results: Vec<(usize, usize, NodeOutput)> = Vec::new();
        for current in 0..levels {
            let elapsed = started.elapsed();
            if elapsed >= options.deadline {
                return Err(Error::PipelineTimeout { pipeline: pipeline.name.clone(), limit: options.deadline });
            }
            let remaining = options.deadline - elapsed;
            let nodes: Vec<&str> = order.iter().map(String::as_str).filter(|id| level[id] == current).collect();
            let work: Vec<(&str, Vec<Message>)> =
                nodes.iter().map(|id| (*id, inbox.remove(*id).unwrap_or_default())).collect();
            // Independent nodes of one level run concurrently; a lone node
            // runs inline (a thread per call would cost more than the call).
            let outcomes: Vec<(&str, Vec<NodeStep>)> = if work.len() == 1 {
                work.into_iter()
                    .map(|(id, messages)| (id, self.run_node(pipeline, id, messages, context, remaining)))
                    .collect()
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = work
                        .into_iter()
                        .map(|(id, messages)| {
                            scope.spawn(move || (id, self.run_node(pipeline, id, messages, context, remaining)))
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
                })
            };
            for (id, steps) in outcomes {
                for step in steps {
                    match step {
                        NodeStep::Failed(e) => {
                            return Err(Error::PipelineNode {
                                pipeline: pipeline.name.clone(),
                                node: id.to_string(),
                                source: Box::new(e),
                            });
                        }
                        NodeStep::Dropped(text) => {
                            run.dropped += 1;
                            run.handled_errors.push((id.to_string(), text));
                        }
                        NodeStep::Emitted(output, routed_error) => {
                            if let Some(text) = routed_error {
                                run.handled_errors.push((id.to_string(), text));
                            }
                            if options.trace {
                                run.trace.push(output.clone());
                            }
                            if pipeline.is_sink(id) {
                                results.push((rank[id], results.len(), output));
                                continue;
                            }
                            let targets: Vec<&str> =
                                pipeline.wires_from(id, &output.port).map(|w| w.to.as_str()).collect();
                            if targets.is_empty() {
                                run.dropped += 1;
                            }
                            // Fan-out copies the body; the last target takes it.
                            let NodeOutput { data, metadata, .. } = output;
                            let mut last = Some(Message { data, metadata });
                            for (i, target) in targets.iter().enumerate() {
                                let message = if i + 1 == targets.len() {
                                    last.take()
                                } else {
                                    last.as_ref()
                                        .map(|m| Message { data: m.data.clone(), metadata: m.metadata.clone() })
                                };
                                if let Some(message) = message {
                                    inbox.entry(target.to_string()).or_default().push(message);
                                }
                            }
                        }
                    }
                }
            }
        }
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

    fn run_node(
        &self,
        pipeline: &Pipeline,
        id: &str,
        messages: Vec<Message>,
        context: &wit::ExecutionContext,
        remaining: Duration,
    ) -> Vec<NodeStep> {
        let Some(node) = pipeline.nodes.get(id) else { return Vec::new() };
        let mut steps = Vec::with_capacity(messages.len());
        for message in messages {
            let input = Input {
                data: message.data,
                metadata: message.metadata,
                context: wit::ExecutionContext {
                    request_id: context.request_id.clone(),
                    pipeline: Some(pipeline.name.clone()),
                    node: Some(id.to_string()),
                    deadline_ms: Some(remaining.as_millis() as u64),
                    attempt: 1,
                },
            };
            match self.invoke(&node.service, &input) {
                Ok(out) => {
                    let mut port = DEFAULT_PORT.to_string();
                    let metadata = out
                        .metadata
                        .into_iter()
                        .filter(|(k, v)| match (k.as_str(), v) {
                            (PORT_KEY, Value::Text(p)) => {
                                port = p.clone();
                                false
                            }
                            _ => true,
                        })
                        .collect();
                    steps.push(NodeStep::Emitted(
                        NodeOutput { node: id.to_string(), port, data: out.data, metadata },
                        None,
                    ));
                }
                Err(e) => match node.on_error {
                    ErrorPolicy::Fail => {
                        steps.push(NodeStep::Failed(e));
                        break;
                    }
                    ErrorPolicy::Drop => steps.push(NodeStep::Dropped(e.to_string())),
                    ErrorPolicy::Route => {
                        let text = e.to_string();
                        let output = NodeOutput {
                            node: id.to_string(),
                            port: ERROR_PORT.to_string(),
                            data: text.clone().into_bytes(),
                            metadata: vec![("content-type".into(), Value::Text("text/plain".into()))],
                        };
                        steps.push(NodeStep::Emitted(output, Some(text)));
                    }
                },
            }
        }
        steps
    }
}

enum NodeStep {
    Emitted(NodeOutput, Option<String>),
    Dropped(String),
    Failed(Error),
}
