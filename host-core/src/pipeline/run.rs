//! Runs a message through a pipeline (the executor of `Pipelines`). Nodes of one level (same distance
//! from the sources) run concurrently; each node handles its inbox in
//! arrival order. Every call of a node is bounded by the message's
//! deadline as well as by its service's own timeout.
//!
//! A pipeline is validated once and compiled into a `Plan` (indices
//! instead of names), cached until the pipeline or a version of one of its
//! services changes (`plan`). Owns routing between nodes; calls go through
//! each node's live service.

use std::time::{Duration, Instant};

use serde::Serialize;

use tracing::instrument;

use super::{
    DEFAULT_PORT, ERROR_PORT, ErrorPolicy, PORT_KEY, Pipeline,
    plan::{Pipelines, Plan},
    trace::{MessageSummary, RunTrace, TraceId, TraceStep},
};
use crate::{Error, Input, Result, Value, deploy::Service, fsutil, wit};

impl Pipelines {
    /// Runs `input` through `pipeline` over the data folder's services and
    /// keeps its trace (when the host traces runs).
    #[instrument(target = "airssys::pipeline", name = "pipeline", level = "debug", skip_all,
                 fields(pipeline = %pipeline.name))]
    pub(crate) fn run(&self, pipeline: &Pipeline, input: Input, options: &RunOptions) -> Result<PipelineRun> {
        if !self.traces.enabled() {
            return self.execute(pipeline, input, options, None);
        }
        let trace_id = TraceId::random();
        let start_ms = fsutil::unix_millis();
        let started = Instant::now();
        let mut steps = Vec::new();
        let outcome = self.execute(pipeline, input, options, Some((started, &mut steps)));
        let (results, dropped) = outcome.as_ref().map_or((0, 0), |run| (run.results.len(), run.dropped));
        self.traces.record(RunTrace {
            trace_id,
            pipeline: pipeline.name.clone(),
            start_ms,
            duration_us: started.elapsed().as_micros() as u64,
            error: outcome.as_ref().err().map(ToString::to_string),
            results,
            dropped,
            steps,
        });
        outcome.map(|mut run| {
            run.trace_id = Some(trace_id);
            run
        })
    }

    /// The run itself; with `traced`, each node call is added to its steps.
    fn execute(
        &self,
        pipeline: &Pipeline,
        input: Input,
        options: &RunOptions,
        mut traced: Option<(Instant, &mut Vec<TraceStep>)>,
    ) -> Result<PipelineRun> {
        let plan = self.plan(pipeline)?;
        let started = traced.as_ref().map(|(started, _)| *started);
        let deadline = Instant::now() + options.deadline;
        let n = plan.ids.len();
        let mut inbox: Vec<Inbox> = (0..n).map(|_| Inbox::Empty).collect();
        let Input { data, metadata, context } = input;
        let mut first = Some(Message { data, metadata, context: None });
        for (i, &source) in plan.sources.iter().enumerate() {
            let message = if i + 1 == plan.sources.len() { first.take() } else { first.as_ref().map(Message::copy) };
            if let Some(message) = message {
                inbox[source].push(message);
            }
        }
        let context = &context;
        let mut router = Router { plan: &plan, inbox, run: PipelineRun::default(), trace: options.trace };
        let call = |i: usize| NodeCall { plan: &plan, index: i, service: &plan.live[i], context, deadline, started };
        let mut steps = Vec::new();
        let mut calls = Vec::new();
        // Each call checks the deadline; levels do not need to.
        for level in &plan.levels {
            let busy = level.iter().filter(|i| !router.inbox[**i].is_empty()).count();
            if busy <= 1 {
                // A lone node runs inline: a thread per call would cost more than the call.
                for &i in level {
                    if !router.inbox[i].is_empty() {
                        let messages = std::mem::take(&mut router.inbox[i]);
                        call(i).run(messages, &mut steps, &mut calls);
                        if let Some((_, traced)) = &mut traced {
                            traced.append(&mut calls);
                        }
                        router.take(i, &mut steps).map_err(|e| e.into_error(pipeline, &plan.ids[i], options))?;
                    }
                }
                continue;
            }
            // Independent nodes of one level run concurrently.
            let work: Vec<(usize, Inbox)> = level
                .iter()
                .map(|i| (*i, std::mem::take(&mut router.inbox[*i])))
                .filter(|(_, messages)| !messages.is_empty())
                .collect();
            let mut outcomes: Vec<(usize, Vec<NodeStep>, Vec<TraceStep>)> = std::thread::scope(|scope| {
                let handles: Vec<_> = work
                    .into_iter()
                    .map(|(i, messages)| {
                        scope.spawn(move || {
                            let (mut steps, mut calls) = (Vec::new(), Vec::new());
                            call(i).run(messages, &mut steps, &mut calls);
                            (i, steps, calls)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
            });
            if let Some((_, traced)) = &mut traced {
                for (_, _, calls) in &mut outcomes {
                    traced.append(calls);
                }
            }
            for (i, mut steps, _) in outcomes {
                router.take(i, &mut steps).map_err(|e| e.into_error(pipeline, &plan.ids[i], options))?;
            }
        }
        let Router { mut run, .. } = router;
        // By the sink's topological rank (its index in the plan); the sort
        // is stable, so results of one sink stay in arrival order. One
        // result (a chain) needs no sorting.
        if run.results.len() > 1 {
            run.results.sort_by_cached_key(|output| plan.ids.iter().position(|id| *id == output.node));
        }
        Ok(run)
    }
}

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
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PipelineRun {
    /// What reached the sinks, in sink topological order, then arrival.
    pub results: Vec<NodeOutput>,
    /// Every node's outputs, in the order nodes ran (for the run console),
    /// when [`RunOptions::trace`] is set.
    pub trace: Vec<NodeOutput>,
    /// The run's trace id (see `Runtime::traces`); `None` when the host
    /// does not trace runs.
    #[serde(default)]
    pub trace_id: Option<TraceId>,
    /// Messages that left by a port with no wires, and failures dropped by
    /// the `drop` policy.
    pub dropped: u64,
    /// Failures handled by `drop` or `route`: (node, error text).
    pub handled_errors: Vec<(String, String)>,
}

struct Message {
    data: Vec<u8>,
    metadata: Vec<(String, Value)>,
    /// The execution context of the call that emitted it: the next call
    /// reuses its strings (pipeline, node) instead of making new ones.
    context: Option<wit::ExecutionContext>,
}

impl Message {
    /// A copy for one more wire (fan-out), with a context of its own.
    fn copy(&self) -> Message {
        Message { data: self.data.clone(), metadata: self.metadata.clone(), context: None }
    }
}

/// A node's waiting messages; one message (the common case) needs no
/// allocation.
#[derive(Default)]
enum Inbox {
    #[default]
    Empty,
    One(Message),
    Many(Vec<Message>),
}

impl Inbox {
    fn push(&mut self, message: Message) {
        *self = match std::mem::take(self) {
            Inbox::Empty => Inbox::One(message),
            Inbox::One(first) => Inbox::Many(vec![first, message]),
            Inbox::Many(mut all) => {
                all.push(message);
                Inbox::Many(all)
            }
        };
    }

    fn is_empty(&self) -> bool {
        matches!(self, Inbox::Empty)
    }

    fn len(&self) -> usize {
        match self {
            Inbox::Empty => 0,
            Inbox::One(_) => 1,
            Inbox::Many(all) => all.len(),
        }
    }
}

impl IntoIterator for Inbox {
    type Item = Message;
    type IntoIter = std::iter::Chain<std::option::IntoIter<Message>, std::vec::IntoIter<Message>>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            Inbox::Empty => None.into_iter().chain(Vec::new()),
            Inbox::One(m) => Some(m).into_iter().chain(Vec::new()),
            Inbox::Many(all) => None.into_iter().chain(all),
        }
    }
}

/// Where messages are between levels, and what the run produced so far.
struct Router<'a> {
    plan: &'a Plan,
    inbox: Vec<Inbox>,
    run: PipelineRun,
    trace: bool,
}

/// Why a run stops at a node.
enum Stop {
    Failed(Error),
    TimedOut,
}

impl Stop {
    fn into_error(self, pipeline: &Pipeline, node: &str, options: &RunOptions) -> Error {
        match self {
            Stop::TimedOut => Error::PipelineTimeout { pipeline: pipeline.name.clone(), limit: options.deadline },
            Stop::Failed(e) => {
                Error::PipelineNode { pipeline: pipeline.name.clone(), node: node.to_string(), source: Box::new(e) }
            }
        }
    }
}

impl Router<'_> {
    /// Sends what node `i` emitted on along its wires (draining `steps`).
    fn take(&mut self, i: usize, steps: &mut Vec<NodeStep>) -> std::result::Result<(), Stop> {
        let plan = self.plan;
        let id = &plan.ids[i];
        for step in steps.drain(..) {
            let (port, data, metadata, context) = match step {
                NodeStep::TimedOut => return Err(Stop::TimedOut),
                NodeStep::Failed(e) => return Err(Stop::Failed(e)),
                NodeStep::Dropped(text) => {
                    self.run.dropped += 1;
                    self.run.handled_errors.push((id.clone(), text));
                    continue;
                }
                NodeStep::Emitted { port, data, metadata, routed_error, context } => {
                    if let Some(text) = routed_error {
                        self.run.handled_errors.push((id.clone(), text));
                    }
                    (port, data, metadata, context)
                }
            };
            let port_name = port.as_deref().unwrap_or(DEFAULT_PORT);
            if self.trace {
                self.run.trace.push(NodeOutput {
                    node: id.clone(),
                    port: port_name.to_string(),
                    data: data.clone(),
                    metadata: metadata.clone(),
                });
            }
            if plan.sinks[i] {
                let output = NodeOutput { node: id.clone(), port: port_name.to_string(), data, metadata };
                self.run.results.push(output);
                continue;
            }
            let targets = plan.routes[i].iter().find(|(p, _)| p == port_name).map_or(&[][..], |(_, t)| t);
            if targets.is_empty() {
                self.run.dropped += 1;
            }
            // Fan-out copies the body; the last target takes it.
            let mut last = Some(Message { data, metadata, context });
            for (k, &target) in targets.iter().enumerate() {
                let message = if k + 1 == targets.len() { last.take() } else { last.as_ref().map(Message::copy) };
                if let Some(message) = message {
                    self.inbox[target].push(message);
                }
            }
        }
        Ok(())
    }
}

/// One node's share of a run.
struct NodeCall<'a> {
    plan: &'a Plan,
    index: usize,
    service: &'a Service,
    context: &'a wit::ExecutionContext,
    deadline: Instant,
    /// When the run started, if it is traced.
    started: Option<Instant>,
}

impl NodeCall<'_> {
    /// Calls the node's service once per message, in arrival order.
    #[instrument(target = "airssys::pipeline", name = "node", level = "debug", skip_all,
                 fields(node = %self.plan.ids[self.index]))]
    fn run(&self, messages: Inbox, steps: &mut Vec<NodeStep>, calls: &mut Vec<TraceStep>) {
        let plan = self.plan;
        let id = &plan.ids[self.index];
        let received = messages.len() as u64;
        let (mut emitted, mut failed) = (0, 0);
        for message in messages {
            let now = Instant::now();
            let remaining = self.deadline.saturating_duration_since(now);
            if remaining.is_zero() {
                steps.push(NodeStep::TimedOut);
                break;
            }
            let deadline_ms = Some(remaining.as_millis() as u64);
            let mut call = self.started.map(|started| TraceStep {
                node: id.clone(),
                service: plan.pipeline.nodes[id].service.clone(),
                input: MessageSummary::of(&message.data, &message.metadata),
                port: None,
                output: None,
                start_us: now.duration_since(started).as_micros() as u64,
                duration_us: 0,
                error: None,
            });
            let context = match message.context {
                // The previous node's context, with this node's name (no new strings).
                Some(mut context) => {
                    if let Some(node) = &mut context.node {
                        node.clear();
                        node.push_str(id);
                    }
                    context.deadline_ms = deadline_ms;
                    context
                }
                None => wit::ExecutionContext {
                    request_id: self.context.request_id.clone(),
                    pipeline: Some(plan.pipeline.name.clone()),
                    node: Some(id.clone()),
                    deadline_ms,
                    attempt: 1,
                },
            };
            let input = Input { data: message.data, metadata: message.metadata, context };
            let outcome = self.service.invoke(&input, Some(self.deadline), now);
            if let Some(call) = &mut call {
                call.duration_us = now.elapsed().as_micros() as u64;
            }
            match outcome {
                Ok(out) => {
                    let mut port = None;
                    let metadata: Vec<(String, Value)> = out
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
                    if let Some(mut call) = call {
                        call.output = Some(MessageSummary::of(&out.data, &metadata));
                        call.port = Some(port.clone().unwrap_or_else(|| DEFAULT_PORT.to_string()));
                        calls.push(call);
                    }
                    let context = Some(input.context);
                    steps.push(NodeStep::Emitted { port, data: out.data, metadata, routed_error: None, context });
                }
                Err(e) if Instant::now() >= self.deadline => {
                    failed += 1;
                    if let Some(mut call) = call {
                        call.error = Some(format!("the run's deadline passed: {e}"));
                        calls.push(call);
                    }
                    steps.push(NodeStep::TimedOut);
                    break;
                }
                Err(e) => {
                    failed += 1;
                    if let Some(mut call) = call {
                        call.error = Some(e.to_string());
                        if plan.policies[self.index] == ErrorPolicy::Route {
                            let text = call.error.as_deref().unwrap_or_default().as_bytes();
                            let metadata = [("content-type".to_string(), Value::Text("text/plain".into()))];
                            call.output = Some(MessageSummary::of(text, &metadata));
                            call.port = Some(ERROR_PORT.to_string());
                        }
                        calls.push(call);
                    }
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
                                port: Some(ERROR_PORT.to_string()),
                                data: text.clone().into_bytes(),
                                metadata: vec![("content-type".into(), Value::Text("text/plain".into()))],
                                routed_error: Some(text),
                                context: None,
                            });
                        }
                    }
                }
            }
        }
        plan.stats[self.index].record(received, emitted, failed);
    }
}

enum NodeStep {
    Emitted {
        /// `None` is the default port.
        port: Option<String>,
        data: Vec<u8>,
        metadata: Vec<(String, Value)>,
        routed_error: Option<String>,
        /// The call's context, for the next call to reuse.
        context: Option<wit::ExecutionContext>,
    },
    Dropped(String),
    Failed(Error),
    /// The message's deadline passed.
    TimedOut,
}
