//! The compiled plan of a pipeline ([`Plan`]: indices in topological order,
//! levels, routes, each node's live service and counters) and the
//! [`Pipelines`] subsystem that validates, compiles and caches plans and
//! runs them (`run`). It reads services and the registry; it changes
//! nothing but its caches.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use super::{ErrorPolicy, Pipeline, Traces, validate};
use crate::{
    Digest, Error, Result,
    deploy::{Service, Services},
    engine::Engine,
    metrics::{Metrics, NodeStats},
    registry::Registry,
};

/// A validated pipeline, compiled: nodes by index in topological order.
pub(crate) struct Plan {
    /// The definition it was compiled from.
    pub(super) pipeline: Pipeline,
    /// Node ids in topological order (ties by id); indices below refer here.
    pub(super) ids: Vec<String>,
    pub(super) policies: Vec<ErrorPolicy>,
    /// Nodes of each level (longest distance from a source).
    pub(super) levels: Vec<Vec<usize>>,
    pub(super) sinks: Vec<bool>,
    /// Per node: (port, targets) in wire order.
    pub(super) routes: Vec<Vec<(String, Vec<usize>)>>,
    pub(super) sources: Vec<usize>,
    /// Each node's live service, and its primary digest when validated.
    pub(super) live: Vec<Arc<Service>>,
    pub(super) digests: Vec<Digest>,
    /// The host's service generation the services were resolved in.
    pub(super) generation: u64,
    pub(super) stats: Vec<Arc<NodeStats>>,
}

impl Plan {
    /// Whether this plan still holds for `pipeline`: the same definition,
    /// no service started or stopped since, the same versions live.
    fn holds_for(&self, pipeline: &Pipeline, generation: u64) -> bool {
        self.generation == generation
            && self.live.iter().zip(&self.digests).all(|(s, d)| s.table.load().primary.digest() == *d)
            && self.pipeline == *pipeline
    }

    fn compile(
        metrics: &Metrics,
        pipeline: &Pipeline,
        order: Vec<String>,
        live: Vec<Arc<Service>>,
        generation: u64,
    ) -> Self {
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
        let stats = order.iter().map(|id| metrics.node(&pipeline.name, id)).collect();
        Plan {
            pipeline: pipeline.clone(),
            policies: nodes.iter().map(|node| node.on_error).collect(),
            levels,
            sinks: routes.iter().map(Vec::is_empty).collect(),
            sources: (0..n).filter(|i| !has_input[*i]).collect(),
            routes,
            digests: live.iter().map(|s| s.table.load().primary.digest()).collect(),
            live,
            generation,
            stats,
            ids: order,
        }
    }
}

/// The pipelines of a data folder: their plans and the node contracts
/// (media types) validation reads, cached.
pub(crate) struct Pipelines {
    pub(super) engine: Engine,
    pub(super) registry: Registry,
    pub(super) services: Arc<Services>,
    pub(super) metrics: Arc<Metrics>,
    /// The last runs' traces.
    pub(crate) traces: Arc<Traces>,
    /// By pipeline name (a few: a sorted map is cheaper than hashing the name).
    plans: Mutex<BTreeMap<String, Arc<Plan>>>,
    contracts: Mutex<HashMap<Digest, validate::NodeContract>>,
}

impl Pipelines {
    pub(crate) fn new(
        engine: Engine,
        registry: Registry,
        services: Arc<Services>,
        metrics: Arc<Metrics>,
        traces: Arc<Traces>,
    ) -> Self {
        Pipelines { engine, registry, services, metrics, traces, plans: Mutex::default(), contracts: Mutex::default() }
    }

    /// The compiled plan of `pipeline`, validating (again) when the
    /// pipeline, a service of this process or a service version changed.
    pub(super) fn plan(&self, pipeline: &Pipeline) -> Result<Arc<Plan>> {
        let cached = self.plans.lock().unwrap_or_else(|p| p.into_inner()).get(&pipeline.name).cloned();
        if let Some(plan) = cached.filter(|plan| plan.holds_for(pipeline, self.services.generation())) {
            return Ok(plan);
        }
        let order = validate::validate(pipeline, |service| self.node_contract(service))
            .map_err(|errors| Error::InvalidPipeline { pipeline: pipeline.name.clone(), errors })?;
        // Starting a service bumps the generation: resolve first, then read it.
        let live = order
            .iter()
            .map(|id| self.services.live_service(&pipeline.nodes[id].service))
            .collect::<Result<Vec<_>>>()?;
        let generation = self.services.generation();
        let plan = Arc::new(Plan::compile(&self.metrics, pipeline, order, live, generation));
        self.plans.lock().unwrap_or_else(|p| p.into_inner()).insert(pipeline.name.clone(), plan.clone());
        Ok(plan)
    }

    /// A service's media types from its component's metadata, or `None`
    /// when the service does not exist. Cached by digest: a pipeline run
    /// validates its graph without touching the disk or instantiating.
    pub(crate) fn node_contract(&self, service: &str) -> Option<validate::NodeContract> {
        let (digest, name) = self.services.live_digest(service).or_else(|| {
            let spec = self.services.spec(service).ok()?;
            Some((spec.digest, spec.component.name))
        })?;
        if let Some(found) = self.contracts.lock().unwrap_or_else(|p| p.into_inner()).get(&digest) {
            return Some(found.clone());
        }
        let bytes = self.registry.read_blob(&digest).ok()?;
        let component = self.engine.load_named(&bytes, Some(name)).ok()?;
        let metadata = self.engine.describe(&component).ok()?.metadata;
        let contract = validate::NodeContract { accepts: metadata.accepts, produces: metadata.produces };
        self.contracts.lock().unwrap_or_else(|p| p.into_inner()).insert(digest, contract.clone());
        Some(contract)
    }
}
