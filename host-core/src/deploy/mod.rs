//! Services, routing and hot deployment: the deploy subsystem
//! ([`Services`]: live services, deploys in named phases, the rollout
//! history) and its words (strategies, pool modes, specs, requests). It
//! uses the engine, the registry, security and metrics; it does not know
//! the host facade.
//!
//! A **service** is a named slot holding a version, config, grants, a pool
//! mode and a strategy. Calls go through the service's router, which reads
//! an atomically swapped [`RoutingTable`]: a primary deployment and, during
//! a canary or rolling rollout, a second one with a weight. A call that
//! picked a deployment finishes on it; a deployment taken out of the table
//! is drained before its instances shut down, so no call fails because of a
//! swap.
//!
//! Strategies: [`Strategy::Immediate`], [`Strategy::BlueGreen`],
//! [`Strategy::Canary`] (automatic rollback when the canary's error rate
//! exceeds the baseline's by more than a threshold) and
//! [`Strategy::Rolling`]. Components exporting the `state` interface are
//! migrated with `snapshot` / `restore`; they run as a single instance and
//! accept only Immediate and BlueGreen (two live versions cannot share one
//! state).

mod phases;
mod pool;
mod rollout;
mod service;
mod services;
mod versions;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::limits::ServiceLimits;
pub use crate::types::{NodeStep, RolloutOutcome, RolloutRecord, RolloutStep, StrategyKind, Trigger, UnknownStrategy};
pub use pool::Deployment;
pub(crate) use rollout::EventBus;
pub use rollout::RolloutEvent;
pub(crate) use service::Service;
pub use service::{RoutingTable, ServiceStatus, VersionStatus};
pub(crate) use services::{Services, is_rollout_record};

use crate::{Capability, Digest, registry::ComponentRef};

/// How a new version replaces the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Strategy {
    /// Swap at once; let in-flight calls drain; shut the old version down.
    Immediate,
    /// Start, init and health-check the new pool; switch atomically; keep
    /// the old pool warm for `keep_old_ms` for instant rollback.
    BlueGreen {
        /// How long the old pool stays warm after the switch.
        keep_old_ms: u64,
    },
    /// Shift traffic step by step; roll back when the canary's error rate
    /// exceeds the baseline's by more than `max_error_increase`.
    Canary {
        /// Canary weights in percent, ascending, ending at 100.
        steps: Vec<u32>,
        /// Minimum time per step.
        interval_ms: u64,
        /// Calls the canary must serve in a step before it can be judged.
        min_calls: u64,
        /// Largest allowed (canary − baseline) error rate, 0.0–1.0.
        max_error_increase: f64,
    },
    /// Replace pool instances `batch` at a time, health-checking each batch.
    Rolling {
        /// Instances per batch.
        batch: usize,
    },
}

impl Strategy {
    /// Its kind.
    pub fn kind(&self) -> StrategyKind {
        match self {
            Strategy::Immediate => StrategyKind::Immediate,
            Strategy::BlueGreen { .. } => StrategyKind::BlueGreen,
            Strategy::Canary { .. } => StrategyKind::Canary,
            Strategy::Rolling { .. } => StrategyKind::Rolling,
        }
    }

    /// The strategy's short name (`immediate`, `blue-green`, ...).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Blue-green: how long the old pool stays warm by default, ms.
    pub const KEEP_OLD_MS: u64 = 30_000;
    /// Canary: default weights in percent.
    pub const CANARY_STEPS: [u32; 4] = [10, 25, 50, 100];
    /// Canary: default minimum time per step, ms.
    pub const CANARY_INTERVAL_MS: u64 = 2_000;
    /// Canary: default calls a step needs before it is judged.
    pub const CANARY_MIN_CALLS: u64 = 20;
    /// Canary: default largest allowed canary-minus-baseline error rate.
    pub const CANARY_MAX_ERROR_INCREASE: f64 = 0.05;
    /// Rolling: default instances per batch.
    pub const ROLLING_BATCH: usize = 1;

    /// A strategy of `kind` with the default parameters (the constants
    /// above): blue-green keeps the old pool 30 s; canary steps 10, 25, 50,
    /// 100 % every 2 s, judged after 20 calls, rolling back past +5 points
    /// of error rate; rolling replaces one instance at a time.
    pub fn defaults(kind: StrategyKind) -> Self {
        match kind {
            StrategyKind::Immediate => Strategy::Immediate,
            StrategyKind::BlueGreen => Strategy::BlueGreen { keep_old_ms: Strategy::KEEP_OLD_MS },
            StrategyKind::Canary => Strategy::Canary {
                steps: Strategy::CANARY_STEPS.to_vec(),
                interval_ms: Strategy::CANARY_INTERVAL_MS,
                min_calls: Strategy::CANARY_MIN_CALLS,
                max_error_increase: Strategy::CANARY_MAX_ERROR_INCREASE,
            },
            StrategyKind::Rolling => Strategy::Rolling { batch: Strategy::ROLLING_BATCH },
        }
    }

    /// Default blue-green (see [`Strategy::defaults`]).
    pub fn blue_green() -> Self {
        Strategy::defaults(StrategyKind::BlueGreen)
    }

    /// Default canary (see [`Strategy::defaults`]).
    pub fn canary() -> Self {
        Strategy::defaults(StrategyKind::Canary)
    }

    /// Checks the parameters.
    pub fn validate(&self) -> crate::Result<()> {
        let fail = |m: &str| Err(crate::Error::InvalidStrategy(m.to_string()));
        match self {
            Strategy::Canary { steps, max_error_increase, .. } => {
                if steps.is_empty() || steps.iter().any(|s| *s == 0 || *s > 100) {
                    return fail("canary steps are percentages between 1 and 100");
                }
                if steps.windows(2).any(|w| w[0] >= w[1]) {
                    return fail("canary steps must increase, for example 10,25,50,100");
                }
                if !(0.0..=1.0).contains(max_error_increase) {
                    return fail("the maximum error-rate increase is a fraction between 0 and 1");
                }
                Ok(())
            }
            Strategy::Rolling { batch: 0 } => fail("a rolling batch holds at least one instance"),
            _ => Ok(()),
        }
    }
}

/// How a service keeps instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum PoolMode {
    /// A pool of live instances, each initialised once and reused
    /// (instances keep their memory between calls).
    Pooled {
        /// Number of instances.
        size: usize,
    },
    /// A fresh instance for every call (nothing survives a call).
    PerCall,
}

impl Default for PoolMode {
    fn default() -> Self {
        PoolMode::Pooled { size: 2 }
    }
}

/// A version a service ran, in its deployment history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedVersion {
    /// The version.
    pub component: ComponentRef,
    /// Its bytes.
    pub digest: Digest,
    /// When it went live (ms since the Unix epoch).
    pub at_ms: u64,
}

/// A service as stored on disk (`DATA/services/<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// The service name.
    pub name: String,
    /// The live version.
    pub component: ComponentRef,
    /// Its digest.
    pub digest: Digest,
    /// Configuration passed to `init` (a key given twice is an error when read).
    #[serde(deserialize_with = "crate::unique::map")]
    pub config: BTreeMap<String, String>,
    /// Capabilities granted.
    pub grants: Vec<Capability>,
    /// Instance pool.
    pub pool: PoolMode,
    /// Strategy for deploys that name none.
    pub strategy: Strategy,
    /// Strategy for `watch` redeploys.
    pub dev_strategy: Strategy,
    /// Bounds on every call (stored flat: `timeout_ms`, `max_memory_mib`,
    /// `max_table_elements`, as data folders have always had them).
    #[serde(flatten)]
    pub limits: ServiceLimits,
    /// Versions that went live, oldest first; the last is the live one.
    pub history: Vec<DeployedVersion>,
    /// A WASI command's arguments after `argv[0]` (the service name); empty
    /// for contract components. With none, a command gets `--KEY=VALUE`
    /// for each config entry instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl ServiceSpec {
    /// Instances in the pool (0 for per-call services).
    pub fn pool_size(&self) -> usize {
        match self.pool {
            PoolMode::Pooled { size } => size,
            PoolMode::PerCall => 0,
        }
    }

    /// The deploy that goes back to the version live before the current
    /// one (Immediate), as `rollback` makes it on a host and on a fleet.
    ///
    /// Errors: [`crate::Error::NothingToRollBack`] with one version in the
    /// history.
    pub fn rollback_request(&self) -> crate::Result<DeployRequest> {
        let Some(previous) = self.history.len().checked_sub(2).and_then(|i| self.history.get(i)) else {
            return Err(crate::Error::NothingToRollBack { service: self.name.clone() });
        };
        Ok(DeployRequest {
            service: self.name.clone(),
            component: Some(previous.component.clone()),
            strategy: Some(Strategy::Immediate),
            ..Default::default()
        })
    }

    /// The per-call limits this service runs with.
    pub fn call_limits(&self) -> crate::limits::CallLimits {
        self.limits.call_limits()
    }
}

/// What to deploy; unset fields keep the service's current values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployRequest {
    /// The service (created on first deploy).
    pub service: String,
    /// The version to deploy.
    pub component: Option<ComponentRef>,
    /// Replace the configuration (a key given twice is an error when read).
    #[serde(default, deserialize_with = "crate::unique::optional_map")]
    pub config: Option<BTreeMap<String, String>>,
    /// Replace the grants.
    pub grants: Option<Vec<Capability>>,
    /// Replace the pool mode.
    pub pool: Option<PoolMode>,
    /// Use this strategy for this deploy.
    pub strategy: Option<Strategy>,
    /// Replace the limits.
    #[serde(default)]
    pub limits: Option<ServiceLimits>,
    /// Replace a WASI command's arguments (after `argv[0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

impl DeployRequest {
    /// Deploy `component` to `service` with the service's defaults.
    pub fn new(service: impl Into<String>, component: ComponentRef) -> Self {
        DeployRequest { service: service.into(), component: Some(component), ..Default::default() }
    }

    /// With a strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// With a pool mode.
    pub fn pool(mut self, pool: PoolMode) -> Self {
        self.pool = Some(pool);
        self
    }

    /// With limits.
    pub fn limits(mut self, limits: ServiceLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// With a WASI command's arguments (after `argv[0]`, the service name).
    pub fn args<A: Into<String>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// With configuration.
    pub fn config<K: Into<String>, V: Into<String>>(mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        self.config = Some(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }
}
