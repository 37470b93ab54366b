//! Capabilities: deny by default, grant per service, enforce at a real
//! point, and keep a verifiable record. [`Security`] is the data folder's
//! side of it (the audit log, the signature policy, grant checks); the
//! files below hold what it is made of. It knows the registry's words, not
//! services or rollouts.
//!
//! # Threat model
//!
//! **What we defend against.** A component is untrusted code: it may be
//! buggy or hostile. It must not read or change host files, read host
//! environment, reach the network, observe time or entropy, write to host
//! stdio, call embedder functions, or exhaust the host, beyond what an
//! operator granted to the service it runs in.
//!
//! **Denied by default.** An instance starts with an empty WASI context: no
//! preopened folders, no environment variables, no arguments, no sockets
//! (TCP/UDP/name lookup off), stdin empty, stdout/stderr discarded, a wall
//! clock frozen at the Unix epoch and a monotonic clock stuck at zero, and a
//! fixed (non-random) byte sequence for `wasi:random`. Embedder-registered
//! (custom) host functions refuse callers whose service lacks the grant.
//!
//! **Which layer checks what.**
//!
//! | capability | checked by |
//! | --- | --- |
//! | `file-read:P`, `file-write:P` (`P` or `GUEST=HOST`) | a WASI preopen of exactly that folder at guest path `GUEST` (backed by host folder `HOST`, the same path unless given), read-only or read-write ([`wasmtime_wasi::FsPerms`]); wasmtime-wasi's capability-based filesystem (cap-std) refuses `..` and symlink escapes |
//! | `env:NAME`, `env:PREFIX*` | only matching host variables are copied into the WASI context |
//! | `net-out:HOST[:PORT]` | the wasi:sockets address check: connect/send only to addresses of granted hosts (names resolved when the service's policy is built) and ports; the wasi:http outgoing-request hook: requests only to granted host patterns (wildcards apply, the name is known) and ports; each refusal is audited |
//! | `net-in:PORT` | the wasi:sockets address check: explicit bind/listen only on granted ports |
//! | `syscall:clock`, `syscall:random`, `syscall:stdio` | the WASI context gets the real clocks, a real RNG, host stdout/stderr only with the grant |
//! | `custom:NAME=JSON` | the embedder's validator accepts the parameters at deploy; its host function asks [`crate::HostState::custom_grant`] on every call |
//! | memory, time, fuel | `ResourceLimiter` cap per instance, epoch deadline per call, optional fuel per call (see `instance`) |
//!
//! Deploys are refused unless every capability a component requires
//! (`required-capabilities()`) is covered by a grant of the same kind that is
//! equal or narrower (`file-read:/data` requested, `file-read:/data/in`
//! granted). The refusal lists every missing capability in textual form.
//! Grants, revokes, deploys, rollbacks, refused deploys and observed denials
//! go into the hash-chained audit log ([`audit`]).
//!
//! **Out of scope.** Side channels (timing, cache) between components on one
//! host; denial of service through legitimately granted capabilities (a
//! granted folder can be filled); DNS rebinding after the instance was made
//! (names are resolved once, at instantiation); the host operator, the data
//! folder and the compile cache, which are trusted; `wasi:cli/exit`, which is
//! always allowed because it only ends the component's own call.

pub mod audit;
mod coverage;
mod custom;
mod sandbox;
pub mod signing;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

pub use coverage::{covers, file_paths, missing};
pub(crate) use sandbox::HttpGate;
pub use {
    custom::{CustomCapability, CustomLinker, CustomValidator},
    sandbox::SandboxPolicy,
};

use crate::{
    Capability, Digest, Error, Result, fsutil,
    security::{
        audit::{AuditEvent, AuditLog},
        signing::{ComponentSignature, TrustPolicy},
    },
};

/// The data folder's security: its audit log (every change recorded, or
/// refused before it happens), its signature policy (`trust.json`), and
/// the checks a deploy passes (signatures, grants, requested capabilities).
#[derive(Debug)]
pub(crate) struct Security {
    dir: PathBuf,
    audit: AuditLog,
    custom: Vec<CustomCapability>,
}

impl Security {
    /// The security of data folder `dir`; `custom` are the embedder's
    /// capability kinds (their validators check grants).
    pub(crate) fn open(dir: &Path, custom: Vec<CustomCapability>) -> Self {
        Security { dir: dir.to_path_buf(), audit: AuditLog::open(dir), custom }
    }

    /// The audit log.
    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Refuses unless the audit log can take a record now
    /// ([`Error::LogTorn`], [`Error::LogUnwritable`]). Called before a change.
    pub(crate) fn check_recordable(&self) -> Result<()> {
        self.audit.check_appendable()
    }

    /// Appends the audit record of a change that took effect; a failure
    /// becomes [`Error::Unrecorded`] naming the change.
    pub(crate) fn record_change(
        &self,
        change: impl FnOnce() -> String,
        event: AuditEvent,
        service: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()> {
        match self.audit.append(event, service, detail) {
            Ok(_) => Ok(()),
            Err(source) => Err(Error::Unrecorded {
                change: change(),
                path: self.audit.path().to_path_buf(),
                source: Box::new(source),
            }),
        }
    }

    /// The signature policy (`trust.json`; default: none required).
    pub(crate) fn trust_policy(&self) -> Result<TrustPolicy> {
        Ok(fsutil::read_json(&self.dir.join("trust.json"))?.unwrap_or_default())
    }

    /// Replaces the signature policy; audited (`trust`), refused before
    /// anything changes while the log cannot take a record.
    pub(crate) fn set_trust_policy(&self, policy: &TrustPolicy) -> Result<()> {
        self.check_recordable()?;
        fsutil::write_json(&self.dir.join("trust.json"), policy)?;
        let detail = serde_json::to_value(policy).unwrap_or_default();
        self.record_change(|| "the new signature policy".to_string(), AuditEvent::Trust, None, detail)
    }

    /// Refuses bytes the policy does not accept ([`Error::Signature`]).
    pub(crate) fn check_signature(&self, digest: &Digest, signature: Option<&ComponentSignature>) -> Result<()> {
        signing::check(&self.trust_policy()?, digest, signature)
    }

    /// Checks custom grants against the embedder's validators
    /// ([`Error::GrantInvalid`]).
    pub(crate) fn check_grants(&self, grants: &[Capability]) -> Result<()> {
        for grant in grants {
            if let Capability::Custom { name, params } = grant {
                let Some(custom) = self.custom.iter().find(|c| &c.name == name) else {
                    return Err(Error::GrantInvalid {
                        capability: grant.to_string(),
                        reason: format!("this host has no custom capability named `{name}`"),
                    });
                };
                (custom.validate)(params)
                    .map_err(|reason| Error::GrantInvalid { capability: grant.to_string(), reason })?;
            }
        }
        Ok(())
    }

    /// Refuses a deploy of `component` to `service` whose `required`
    /// capabilities the `grants` do not all cover
    /// ([`Error::MissingCapabilities`], every missing one listed).
    pub(crate) fn require(
        &self,
        service: &str,
        component: &str,
        required: &[Capability],
        grants: &[Capability],
    ) -> Result<()> {
        let missing = missing(required, grants);
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::MissingCapabilities { service: service.to_string(), component: component.to_string(), missing })
    }

    /// The sandbox of `service`'s instances, its denials audited.
    pub(crate) fn policy(&self, service: &str, grants: &[Capability]) -> Result<Arc<SandboxPolicy>> {
        SandboxPolicy::from_grants(service, grants, Some(self.audit.clone()))
    }

    /// Records a person's decision on a capability (the studio's grant
    /// dialog).
    pub(crate) fn record_decision(&self, service: &str, capability: &Capability, allowed: bool) -> Result<()> {
        self.audit.append(
            AuditEvent::Decision { allowed },
            Some(service),
            serde_json::json!({ "capability": capability, "by": "user" }),
        )?;
        Ok(())
    }
}
