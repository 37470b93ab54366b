//! A live service: its routing table and the router that reads it, and
//! its status. Owns the swap-safe call path of a service; starting,
//! replacing and recording deployments is `phases`'.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use arc_swap::ArcSwap;
use serde::Serialize;

use super::{Deployment, ServiceSpec, pool::CallError};
use crate::{Digest, Error, Input, Output, Result, registry::ComponentRef};

/// Where calls go: a primary deployment and, during a rollout, a second one
/// with a weight in basis points (1/100 of a percent).
#[derive(Debug, Clone)]
pub struct RoutingTable {
    /// Takes every call the second deployment does not.
    pub primary: Arc<Deployment>,
    /// The version being rolled out and its share in basis points.
    pub secondary: Option<(Arc<Deployment>, u32)>,
}

impl RoutingTable {
    pub(crate) fn only(primary: Arc<Deployment>) -> Self {
        RoutingTable { primary, secondary: None }
    }

    /// Picks a deployment for the next call (numbered by `counter` while a
    /// second version takes a share). Multiplying by a number coprime with
    /// 10 000 walks every bucket once per 10 000 calls, so the split is exact
    /// over any window of that size and well mixed inside it.
    fn pick(&self, counter: &AtomicU64) -> &Arc<Deployment> {
        match &self.secondary {
            Some((secondary, weight)) => {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if (n.wrapping_mul(7919) % 10_000) < u64::from(*weight) { secondary } else { &self.primary }
            }
            None => &self.primary,
        }
    }
}

/// A blue-green predecessor kept warm for instant rollback, and until when.
pub(crate) type Standby = (Arc<Deployment>, Instant);

/// A service while this process runs it.
pub(crate) struct Service {
    pub(crate) name: String,
    pub(crate) table: ArcSwap<RoutingTable>,
    pub(crate) spec: Mutex<ServiceSpec>,
    counter: AtomicU64,
    /// One rollout at a time.
    pub(crate) rollout_lock: Mutex<()>,
    /// A blue-green predecessor kept warm, and until when.
    pub(crate) standby: Arc<Mutex<Option<Standby>>>,
}

impl Service {
    pub(crate) fn new(spec: ServiceSpec, primary: Arc<Deployment>) -> Self {
        Service {
            name: spec.name.clone(),
            table: ArcSwap::from_pointee(RoutingTable::only(primary)),
            spec: Mutex::new(spec),
            counter: AtomicU64::new(0),
            rollout_lock: Mutex::new(()),
            standby: Arc::new(Mutex::new(None)),
        }
    }

    pub(crate) fn spec(&self) -> ServiceSpec {
        self.spec.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set_spec(&self, spec: ServiceSpec) {
        *self.spec.lock().unwrap_or_else(|p| p.into_inner()) = spec;
    }

    /// Routes one call, which `started` (the caller read the clock; its
    /// latency counts from there). A call that picked a deployment which
    /// was retired before it started goes back to the (new) table.
    pub(crate) fn invoke(&self, input: &Input, deadline: Option<Instant>, started: Instant) -> Result<Output> {
        for _ in 0..1_000 {
            let table = self.table.load();
            match table.pick(&self.counter).call(input, deadline, started) {
                Ok(output) => return Ok(output),
                Err(CallError::Failed(e)) => return Err(e),
                Err(CallError::Retired) => std::thread::yield_now(),
            }
        }
        Err(Error::NoRoute { service: self.name.clone() })
    }

    pub(crate) fn status(&self) -> ServiceStatus {
        let table = self.table.load();
        let spec = self.spec();
        let version = |d: &Arc<Deployment>, weight: u32| {
            let (calls, errors) = d.stats().read();
            VersionStatus {
                component: d.reference().clone(),
                digest: d.digest(),
                weight_percent: f64::from(weight) / 100.0,
                calls,
                errors,
                live_instances: d.live_instances(),
                tier: d.component.tier(),
            }
        };
        let mut versions = Vec::new();
        match &table.secondary {
            Some((secondary, weight)) => {
                versions.push(version(&table.primary, 10_000 - weight));
                versions.push(version(secondary, *weight));
            }
            None => versions.push(version(&table.primary, 10_000)),
        }
        ServiceStatus { spec, versions }
    }
}

/// A service's state for `airssys status` and the studio.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ServiceStatus {
    /// What is stored on disk.
    #[serde(flatten)]
    pub spec: ServiceSpec,
    /// The versions taking traffic now, with their share.
    pub versions: Vec<VersionStatus>,
}

/// One version taking traffic.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct VersionStatus {
    /// The version.
    pub component: ComponentRef,
    /// Its digest.
    pub digest: Digest,
    /// Share of calls, percent.
    pub weight_percent: f64,
    /// Calls served in this process.
    pub calls: u64,
    /// Calls failed in this process.
    pub errors: u64,
    /// Live instances.
    pub live_instances: usize,
    /// Which compiler made the code it runs (baseline until a large new
    /// component's optimised code is ready).
    #[serde(default)]
    pub tier: crate::CompileTier,
}
