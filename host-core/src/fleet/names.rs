//! The names a fleet uses on NATS: buckets, streams, subjects and keys.
//!
//! Owns: the naming rules only (no I/O). Keys use `/` between parts, which
//! neither component names nor versions can contain, so `a.1` + `0.0` and
//! `a` + `1.0.0` never meet.

use crate::{Error, Result, registry::ComponentRef};

/// Bucket, stream and subject names of one fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetNames {
    fleet: String,
}

/// Fleet names: lower-case letters, digits, `-` and `_`, 1 to 32 characters.
pub(crate) fn check_fleet_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::FleetConfig(format!("fleet name `{name}`: use 1 to 32 lower-case letters, digits, `-` and `_`")))
    }
}

impl FleetNames {
    /// The names of fleet `fleet` (checked with [`check_fleet_name`]).
    pub fn new(fleet: &str) -> Result<Self> {
        check_fleet_name(fleet)?;
        Ok(FleetNames { fleet: fleet.to_string() })
    }

    /// The fleet's name.
    pub fn fleet(&self) -> &str {
        &self.fleet
    }

    fn bucket(&self, what: &str) -> String {
        format!("airssys_{}_{what}", self.fleet.replace('-', "_"))
    }

    /// Object store of component bytes.
    pub fn blobs(&self) -> String {
        self.bucket("blobs")
    }

    /// KV of `name@version` tags and signatures.
    pub fn names(&self) -> String {
        self.bucket("names")
    }

    /// KV of desired state.
    pub fn desired(&self) -> String {
        self.bucket("desired")
    }

    /// KV of node status (short-lived entries).
    pub fn nodes(&self) -> String {
        self.bucket("nodes")
    }

    /// KV of rollout locks (short-lived entries).
    pub fn locks(&self) -> String {
        self.bucket("locks")
    }

    fn stream(&self, what: &str) -> String {
        format!("AIRSSYS_{}_{what}", self.fleet.replace('-', "_").to_uppercase())
    }

    /// Stream of the audit chain.
    pub fn audit_stream(&self) -> String {
        self.stream("AUDIT")
    }

    /// Subject of the audit chain.
    pub fn audit_subject(&self) -> String {
        format!("airssys.{}.audit", self.fleet)
    }

    /// Stream of rollout records.
    pub fn rollouts_stream(&self) -> String {
        self.stream("ROLLOUTS")
    }

    /// Subject of rollout records.
    pub fn rollouts_subject(&self) -> String {
        format!("airssys.{}.rollouts", self.fleet)
    }

    /// Where calls of `service` go (queue group: the service's name).
    pub fn invoke(&self, service: &str) -> String {
        format!("airssys.{}.svc.{service}.invoke", self.fleet)
    }

    /// Pipeline runs (queue group `pipelines`).
    pub fn pipelines(&self) -> String {
        format!("airssys.{}.pipeline.run", self.fleet)
    }

    /// Control requests any node answers (queue group `control`).
    pub fn control(&self) -> String {
        format!("airssys.{}.control", self.fleet)
    }

    /// Every node answers here with a fresh metrics snapshot (no queue group).
    pub fn metrics_request(&self) -> String {
        format!("airssys.{}.metrics", self.fleet)
    }

    /// Every node answers here with its run traces (no queue group); the
    /// request body is a [`super::wire::TracesRequest`].
    pub fn traces_request(&self) -> String {
        format!("airssys.{}.traces", self.fleet)
    }

    /// Events a node publishes (rollout progress, guest log lines).
    pub fn events(&self, node: &str) -> String {
        format!("airssys.{}.events.{node}", self.fleet)
    }

    /// Progress of rollouts across the fleet (published by the client that
    /// drives each one).
    pub fn rollout_events(&self) -> String {
        format!("airssys.{}.rollout-events", self.fleet)
    }

    /// Every node's events.
    pub fn all_events(&self) -> String {
        format!("airssys.{}.events.*", self.fleet)
    }
}

/// KV key of a tag.
pub(crate) fn tag_key(reference: &ComponentRef) -> String {
    // `+` (semver build metadata) is not a KV key character; `=` never
    // appears in a version, so the mapping is reversible.
    format!("tag/{}/{}", reference.name, reference.version.to_string().replace('+', "="))
}

/// KV key prefix of every tag.
pub(crate) const TAG_PREFIX: &str = "tag/";

/// KV key of the signature of a digest.
pub(crate) fn signature_key(digest: &crate::Digest) -> String {
    format!("sig/{}", digest.hex())
}

/// KV key of a service's desired state.
pub(crate) fn service_key(service: &str) -> String {
    format!("svc/{service}")
}

/// KV key prefix of every service.
pub(crate) const SERVICE_PREFIX: &str = "svc/";

/// KV key of the trust policy.
pub(crate) const TRUST_KEY: &str = "trust";

/// KV key of a node's status.
pub(crate) fn node_key(node: &str) -> String {
    format!("node/{node}")
}

/// KV key prefix of every node's status.
pub(crate) const NODE_PREFIX: &str = "node/";

/// KV key of a node's metrics.
pub(crate) fn metrics_key(node: &str) -> String {
    format!("metrics/{node}")
}

/// KV key of the rollout lock of a service.
pub(crate) fn lock_key(service: &str) -> String {
    format!("rollout/{service}")
}

/// Node names: what service names allow (they appear in keys and subjects).
pub(crate) fn check_node_name(node: &str) -> Result<()> {
    crate::registry::check_name(node).map_err(|_| {
        Error::FleetConfig(format!(
            "node name `{node}`: use lower-case letters, digits, `-`, `_` and `.`, at most 64 characters"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_name_and_version_apart() {
        let a: ComponentRef = "a.1@0.0.0".parse().unwrap();
        let b: ComponentRef = "a@1.0.0".parse().unwrap();
        assert_ne!(tag_key(&a), tag_key(&b));
        let built: ComponentRef = "x@1.0.0+build.5".parse().unwrap();
        assert_eq!(tag_key(&built), "tag/x/1.0.0=build.5");
        let names = FleetNames::new("prod-eu").unwrap();
        assert_eq!(names.blobs(), "airssys_prod_eu_blobs");
        assert_eq!(names.audit_stream(), "AIRSSYS_PROD_EU_AUDIT");
        assert_eq!(names.invoke("svc"), "airssys.prod-eu.svc.svc.invoke");
    }
}
