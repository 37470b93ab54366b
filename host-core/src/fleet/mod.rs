//! A fleet: many `airssys serve --fleet URL --node NAME` nodes that share one
//! registry, one desired state and one audit chain through NATS JetStream,
//! and a third [`crate::Runtime`], [`FleetRuntime`], that acts on all of them.
//!
//! Owns: the fleet's names (buckets, streams, subjects: [`FleetNames`]),
//! the connection ([`FleetConfig`], credentials from a file), the stores
//! built on JetStream, the node agent and the runtime. Must not touch: the
//! embedded host's internals beyond its public API and the crate-private
//! service call with a deadline; the host works with no NATS at all (this
//! module is the optional `fleet` feature, on by default).
//!
//! | concern | NATS |
//! | --- | --- |
//! | component bytes | object store `airssys_F_blobs`, object name = sha256 hex; nodes verify the digest before use |
//! | `name@version` tags, signatures | KV `airssys_F_names`, written create-only: a tag is immutable fleet-wide |
//! | desired state per service, trust policy | KV `airssys_F_desired`, written with compare-and-set |
//! | node liveness and status, metrics | KV `airssys_F_nodes` (entries expire 10 s after the node's last report) |
//! | one rollout per service at a time | KV `airssys_F_locks` (entries expire unless renewed) |
//! | the fleet's audit chain | stream `AIRSSYS_F_AUDIT`, appended with an expected last sequence |
//! | rollout history | stream `AIRSSYS_F_ROLLOUTS` |
//! | calls | `airssys.F.svc.S.invoke`, queue group `S`, every request carries its deadline |
//!
//! Rules learnt from wasmCloud's lattice: every NATS call has a deadline; a
//! service no node runs is an immediate typed error (no responders), never a
//! timeout; a node that cannot reach NATS says so and exits within its
//! connect timeout; buckets are made with explicit stream settings, which
//! nats-server 2.9 accepts.

mod audit;
mod client;
mod desired;
mod launch;
mod names;
mod node;
mod registry;
mod rollout;
mod runtime;
mod status;
mod store;
mod wire;

use std::{path::PathBuf, time::Duration};

pub use desired::{DesiredService, FleetRollout};
pub use launch::LocalNats;
pub use names::FleetNames;
pub use node::{FleetNode, NodeConfig};
pub use runtime::FleetRuntime;
pub use status::{FleetStatus, NodeService, NodeStatus, ServiceView};

use crate::{Error, Result};

/// How to reach a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// The NATS server(s), e.g. `nats://127.0.0.1:4222` (several separated
    /// by commas). Credentials never go here: see `credentials`.
    pub url: String,
    /// The fleet's name (default `default`): lower-case letters, digits,
    /// `-` and `_`, at most 32 characters. Fleets on one NATS server do not
    /// see each other.
    pub name: String,
    /// A file with the NATS credentials: a `.creds` file (JWT and nkey
    /// seed), an nkey seed (`SU...`), `user:password`, or a token. It must
    /// not be readable by others (its owner and group only).
    pub credentials: Option<PathBuf>,
    /// How long connecting may take before the fleet counts as unreachable.
    pub connect_timeout: Duration,
    /// The deadline of control requests (checks, descriptions, pipeline runs).
    pub request_timeout: Duration,
}

impl FleetConfig {
    /// The fleet `default` at `url`, 5 s to connect, 30 s per request.
    pub fn new(url: impl Into<String>) -> Self {
        FleetConfig {
            url: url.into(),
            name: "default".into(),
            credentials: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// With another fleet name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Refuses a URL carrying credentials (they belong in a file, not on a
    /// command line or in a process list) and a bad fleet name.
    pub fn validate(&self) -> Result<()> {
        names::check_fleet_name(&self.name)?;
        for url in self.url.split(',') {
            let url = url.trim();
            let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
            if rest.split('/').next().is_some_and(|authority| authority.contains('@')) {
                return Err(Error::FleetConfig(format!(
                    "`{url}` carries credentials; put them in a file and name it with --fleet-creds FILE \
                     (FleetConfig::credentials)"
                )));
            }
        }
        if self.url.trim().is_empty() {
            return Err(Error::FleetConfig("no NATS URL: pass --fleet nats://HOST:PORT".into()));
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_refused() {
        let err = FleetConfig::new("nats://alice:secret@127.0.0.1:4222").validate().unwrap_err();
        assert!(err.to_string().contains("--fleet-creds"), "{err}");
        assert!(FleetConfig::new("nats://127.0.0.1:4222,nats://127.0.0.1:4223").validate().is_ok());
        assert!(FleetConfig::new("nats://127.0.0.1:4222").named("Prod Fleet").validate().is_err());
    }
}
