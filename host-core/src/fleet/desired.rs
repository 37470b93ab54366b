//! The fleet's desired state: per service, the spec every node should run
//! and the rollout in progress, written with compare-and-set so two clients
//! never overwrite each other silently; the trust policy; rollout locks.
//!
//! Owns: the shapes of those values and the rules to read and write them.
//! Must not touch: how nodes converge (see `node`) or how rollouts advance.

use serde::{Deserialize, Serialize};

use super::{
    names::{self, SERVICE_PREFIX},
    store::{self, Stores},
};
use crate::{
    Digest, Error, Result,
    deploy::{ServiceSpec, Strategy},
    registry::ComponentRef,
    security::signing::TrustPolicy,
};

/// What every node should run for one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredService {
    /// The service as the fleet runs it; `spec.component` is the version
    /// nodes reach once any rollout is through.
    pub spec: ServiceSpec,
    /// A rollout across nodes under way, if any.
    pub rollout: Option<FleetRollout>,
    /// Who wrote this (the client or node name), for conflict messages.
    pub writer: String,
    /// When, ms since the Unix epoch.
    pub written_at_ms: u64,
}

/// A rollout across nodes: waves of nodes move to the new version in turn;
/// the others keep the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetRollout {
    /// The rollout's id (also in its record).
    pub id: String,
    /// The version the nodes not reached yet keep running, if any.
    pub from: Option<(ComponentRef, Digest)>,
    /// How each node swaps its own instances (a rolling rollout across
    /// nodes swaps each node blue-green, so its own calls never fail).
    pub local: Strategy,
    /// Node names per wave, in order.
    pub waves: Vec<Vec<String>>,
    /// Waves `0..=wave` run the new version.
    pub wave: usize,
}

impl DesiredService {
    /// The version `node` should run now, and the strategy for its own swap.
    pub fn target_for(&self, node: &str) -> (ComponentRef, Digest, Strategy) {
        let new = (self.spec.component.clone(), self.spec.digest, Strategy::Immediate);
        let Some(rollout) = &self.rollout else { return new };
        let in_waves = rollout.waves.iter().flatten().any(|n| n == node);
        let reached = rollout.waves.iter().take(rollout.wave + 1).flatten().any(|n| n == node);
        match (&rollout.from, in_waves && !reached) {
            (Some((component, digest)), true) => (component.clone(), *digest, Strategy::Immediate),
            _ => (new.0, new.1, rollout.local.clone()),
        }
    }
}

/// The desired state of `service` and its revision.
pub(crate) async fn get(stores: &Stores, service: &str) -> Result<Option<(DesiredService, u64)>> {
    store::get_json(&stores.desired, &names::service_key(service)).await
}

/// Every service's desired state, by name.
pub(crate) async fn list(stores: &Stores) -> Result<Vec<DesiredService>> {
    Ok(list_with_revisions(stores).await?.into_iter().map(|(d, _)| d).collect())
}

/// Every service's desired state with its revision, by name.
pub(crate) async fn list_with_revisions(stores: &Stores) -> Result<Vec<(DesiredService, u64)>> {
    let mut out = Vec::new();
    for (key, _) in store::list_json::<serde_json::Value>(&stores.desired, SERVICE_PREFIX).await? {
        if let Some(found) = store::get_json::<DesiredService>(&stores.desired, &key).await? {
            out.push(found);
        }
    }
    Ok(out)
}

/// Writes the desired state of a service if it is still at `expected`
/// (`None`: if it does not exist yet). Returns the new revision.
///
/// Errors: [`Error::FleetConflict`] naming the revision and writer found
/// when someone else wrote first; nothing is written then.
pub(crate) async fn put(stores: &Stores, desired: &DesiredService, expected: Option<u64>) -> Result<u64> {
    let service = &desired.spec.name;
    match store::put_json_if(&stores.desired, &names::service_key(service), desired, expected).await? {
        Ok(revision) => Ok(revision),
        Err(()) => {
            let found = get(stores, service).await?;
            let detail = match (found, expected) {
                (Some((other, revision)), _) => format!(
                    "its desired state is at revision {revision}, written by {} at {} ms, not at the revision {} \
                     this change started from",
                    other.writer,
                    other.written_at_ms,
                    expected.map_or("(none: a first deploy)".to_string(), |r| r.to_string())
                ),
                (None, _) => "its desired state was removed meanwhile".to_string(),
            };
            Err(Error::FleetConflict { service: service.clone(), detail })
        }
    }
}

/// The fleet's signature policy (default: none required).
pub(crate) async fn trust(stores: &Stores) -> Result<TrustPolicy> {
    Ok(store::get_json(&stores.desired, names::TRUST_KEY).await?.map(|(p, _)| p).unwrap_or_default())
}

/// Replaces the fleet's signature policy.
pub(crate) async fn set_trust(stores: &Stores, policy: &TrustPolicy) -> Result<()> {
    store::put_json(&stores.desired, names::TRUST_KEY, policy).await.map(drop)
}

/// Who holds a rollout lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LockHolder {
    pub holder: String,
    pub rollout: String,
    pub since_ms: u64,
}

/// Takes the rollout lock of `service` (it expires unless renewed).
///
/// Errors: [`Error::FleetConflict`] naming the holder when another rollout
/// of the service runs.
pub(crate) async fn lock(stores: &Stores, service: &str, holder: LockHolder) -> Result<u64> {
    let key = names::lock_key(service);
    match store::put_json_if(&stores.locks, &key, &holder, None).await? {
        Ok(revision) => Ok(revision),
        Err(()) => {
            let other = store::get_json::<LockHolder>(&stores.locks, &key).await?;
            let state = match get(stores, service).await? {
                Some((d, revision)) => format!("its desired state is at revision {revision}, written by {}", d.writer),
                None => "it has no desired state yet".to_string(),
            };
            let detail = match other {
                Some((other, _)) => format!(
                    "rollout {} by {} has run since {} ms ({state}); one rollout per service at a time",
                    other.rollout, other.holder, other.since_ms
                ),
                None => format!("another rollout just ended ({state}); try again"),
            };
            Err(Error::FleetConflict { service: service.to_string(), detail })
        }
    }
}

/// Renews a held lock; `Err` when it was lost.
pub(crate) async fn renew(stores: &Stores, service: &str, holder: &LockHolder, revision: u64) -> Result<u64> {
    match store::put_json_if(&stores.locks, &names::lock_key(service), holder, Some(revision)).await? {
        Ok(revision) => Ok(revision),
        Err(()) => {
            Err(Error::FleetConflict { service: service.to_string(), detail: "the rollout lock was lost".into() })
        }
    }
}

/// Releases a lock.
pub(crate) async fn unlock(stores: &Stores, service: &str) {
    if let Err(e) = stores.locks.purge(names::lock_key(service)).await {
        tracing::warn!(service, error = %e, "cannot release the rollout lock; it expires on its own");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{PoolMode, ServiceLimits};

    fn desired(rollout: Option<FleetRollout>) -> DesiredService {
        DesiredService {
            spec: ServiceSpec {
                name: "svc".into(),
                component: "text@2.0.0".parse().unwrap(),
                digest: Digest::of(b"v2"),
                config: Default::default(),
                grants: Vec::new(),
                pool: PoolMode::default(),
                strategy: Strategy::Immediate,
                dev_strategy: Strategy::Immediate,
                limits: ServiceLimits::default(),
                history: Vec::new(),
                args: Vec::new(),
            },
            rollout,
            writer: "test".into(),
            written_at_ms: 0,
        }
    }

    #[test]
    fn nodes_of_waves_not_reached_keep_the_old_version() {
        let rollout = FleetRollout {
            id: "r".into(),
            from: Some(("text@1.0.0".parse().unwrap(), Digest::of(b"v1"))),
            local: Strategy::blue_green(),
            waves: vec![vec!["n1".into()], vec!["n2".into()], vec!["n3".into()]],
            wave: 1,
        };
        let d = desired(Some(rollout));
        assert_eq!(d.target_for("n1").1, Digest::of(b"v2"));
        assert_eq!(d.target_for("n2").1, Digest::of(b"v2"));
        assert_eq!(d.target_for("n2").2, Strategy::blue_green(), "a reached node swaps its own way");
        assert_eq!(d.target_for("n3").1, Digest::of(b"v1"));
        assert_eq!(d.target_for("n9").1, Digest::of(b"v2"), "a node that joined meanwhile takes the new version");
        assert_eq!(desired(None).target_for("n3").1, Digest::of(b"v2"));
    }
}
