//! The WASI context an instance gets, built from its service's grants
//! ([`SandboxPolicy`]: preopens, env, the socket check, clocks, random,
//! stdio, custom grants), and the wasi:http gate. Knows the capabilities
//! and the audit log, not the stores that use it.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr, ToSocketAddrs},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use wasmtime_wasi::{
    Deterministic, FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder, sockets::SocketAddrUse,
};

use super::{
    audit::AuditLog,
    coverage::{file_paths, host_matches, split_host_port},
};
use crate::{Capability, Error, Result};

#[derive(Debug, Clone)]
struct OutboundRule {
    /// The host part of the grant (name, IP literal or wildcard pattern).
    host: String,
    port: Option<u16>,
    addresses: Vec<IpAddr>,
}

/// Everything a service's instances may reach. The default denies all.
#[derive(Debug, Default)]
pub struct SandboxPolicy {
    service: String,
    /// (host folder, guest path, permissions)
    files: Vec<(PathBuf, String, FsPerms)>,
    env: Vec<(String, String)>,
    outbound: Vec<OutboundRule>,
    inbound_ports: Vec<u16>,
    clock: bool,
    random: bool,
    stdio: bool,
    custom: BTreeMap<String, String>,
    audit: Option<AuditLog>,
}

impl SandboxPolicy {
    /// Nothing granted.
    pub fn deny_all() -> Arc<Self> {
        Arc::new(SandboxPolicy::default())
    }

    /// The policy for `service` with `grants`. Host names in `net-out`
    /// grants are resolved now; a granted folder must exist.
    pub fn from_grants(service: &str, grants: &[Capability], audit: Option<AuditLog>) -> Result<Arc<Self>> {
        let mut policy = SandboxPolicy { service: service.to_string(), audit, ..SandboxPolicy::default() };
        for grant in grants {
            match grant {
                Capability::FileRead(value) | Capability::FileWrite(value) => {
                    let (guest, host) = file_paths(value);
                    let dir = PathBuf::from(host);
                    if !dir.is_dir() {
                        return Err(Error::GrantInvalid {
                            capability: grant.to_string(),
                            reason: "the folder does not exist on this host".into(),
                        });
                    }
                    let perms =
                        if matches!(grant, Capability::FileWrite(_)) { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
                    policy.files.push((dir, guest.to_string(), perms));
                }
                Capability::EnvironmentRead(name) => match name.strip_suffix('*') {
                    Some(prefix) => {
                        policy.env.extend(std::env::vars().filter(|(k, _)| k.starts_with(prefix)));
                    }
                    None => {
                        if let Ok(value) = std::env::var(name) {
                            policy.env.push((name.clone(), value));
                        }
                    }
                },
                Capability::NetworkOutbound(pattern) => {
                    let (host, port) = split_host_port(pattern);
                    let addresses = match host.parse::<IpAddr>() {
                        Ok(ip) => vec![ip],
                        Err(_) if host.contains('*') => Vec::new(), // wildcards match names, not addresses
                        Err(_) => (host, port.unwrap_or(0))
                            .to_socket_addrs()
                            .map(|addrs| addrs.map(|a| a.ip()).collect())
                            .unwrap_or_default(),
                    };
                    policy.outbound.push(OutboundRule { host: host.to_string(), port, addresses });
                }
                Capability::NetworkInbound(port) => policy.inbound_ports.push(*port),
                Capability::SystemCall(name) => match name.as_str() {
                    "clock" => policy.clock = true,
                    "random" => policy.random = true,
                    "stdio" => policy.stdio = true,
                    other => {
                        return Err(Error::GrantInvalid {
                            capability: grant.to_string(),
                            reason: format!("`{other}` is not a gated system interface (clock, random, stdio)"),
                        });
                    }
                },
                Capability::Custom { name, params } => {
                    policy.custom.insert(name.clone(), params.clone());
                }
            }
        }
        policy.env.sort();
        policy.env.dedup();
        Ok(Arc::new(policy))
    }

    /// The service this policy belongs to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether host stdout/stderr were granted (`syscall:stdio`).
    pub(crate) fn stdio(&self) -> bool {
        self.stdio
    }

    /// The parameters of a custom grant, if granted.
    pub fn custom_grant(&self, name: &str) -> Option<&str> {
        self.custom.get(name).map(String::as_str)
    }

    /// Whether the socket address check lets this through.
    fn allows(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let outbound = |addr: SocketAddr| {
            self.outbound.iter().any(|rule| {
                rule.port.is_none_or(|p| p == addr.port())
                    && (rule.addresses.contains(&addr.ip()) || host_matches(&rule.host, &addr.ip().to_string()))
            })
        };
        match use_ {
            SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => outbound(addr),
            // Port 0: an implicit bind before a connect, or an ephemeral
            // port whose listen is checked next.
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind if addr.port() == 0 => {
                !self.outbound.is_empty() || !self.inbound_ports.is_empty()
            }
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind | SocketAddrUse::TcpListen => {
                self.inbound_ports.contains(&addr.port())
            }
            SocketAddrUse::TcpAccept => !self.inbound_ports.is_empty(),
        }
    }

    /// Whether an outgoing wasi:http request to `host:port` is granted.
    /// Here the host name is known, so wildcard patterns apply too.
    pub(crate) fn allows_http(&self, host: &str, port: u16) -> bool {
        self.outbound.iter().any(|rule| {
            rule.port.is_none_or(|p| p == port)
                && (host_matches(&rule.host, host)
                    || host.parse::<IpAddr>().is_ok_and(|ip| rule.addresses.contains(&ip)))
        })
    }

    /// Applies the policy to a fresh WASI context builder.
    pub(crate) fn apply(self: &Arc<Self>, wasi: &mut WasiCtxBuilder) -> Result<()> {
        for (dir, guest, perms) in &self.files {
            wasi.preopened_dir(dir, guest, *perms).map_err(|e| Error::GrantInvalid {
                capability: format!("file:{guest}"),
                reason: format!("cannot open the folder: {e:#}"),
            })?;
        }
        wasi.envs(&self.env);
        if !self.clock {
            wasi.wall_clock(FrozenClock).monotonic_clock(FrozenClock);
        }
        if !self.random {
            wasi.secure_random(Deterministic::new(vec![0x2a; 32]))
                .insecure_random(Deterministic::new(vec![0x2a; 32]))
                .insecure_random_seed(0);
        }
        if self.stdio {
            wasi.inherit_stdout().inherit_stderr();
        }
        let network = !self.outbound.is_empty() || !self.inbound_ports.is_empty();
        wasi.allow_tcp(network).allow_udp(network);
        // Name lookup only when some grant names a host rather than an IP.
        wasi.allow_ip_name_lookup(self.outbound.iter().any(|r| r.host.parse::<IpAddr>().is_err()));
        let policy = self.clone();
        wasi.socket_addr_check(move |addr, use_| {
            let allowed = policy.allows(addr, use_);
            if !allowed {
                policy.audit_denial(&format!("{use_:?} {addr}"), "no network grant covers this address");
            }
            Box::pin(async move { allowed })
        });
        Ok(())
    }

    /// Records a denial the host observed.
    pub(crate) fn audit_denial(&self, attempt: &str, reason: &str) {
        tracing::warn!(target: "airssys::security", service = %self.service, attempt, reason, "denied");
        if let Some(audit) = &self.audit {
            let detail = serde_json::json!({ "attempt": attempt, "reason": reason });
            if let Err(e) = audit.append(super::audit::AuditEvent::Denied, Some(&self.service), detail) {
                tracing::error!(error = %e, "cannot write the audit log");
            }
        }
    }
}

/// A clock stopped at the Unix epoch (wall) or at zero (monotonic).
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The wasi:http outgoing-request hook: lets through only requests whose
/// authority a `net-out` grant covers; the rest get `HttpRequestDenied` and
/// an audit record.
pub(crate) struct HttpGate {
    pub(crate) policy: Arc<SandboxPolicy>,
}

impl wasmtime_wasi_http::WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = std::result::Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = std::result::Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = std::result::Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if !self.policy.allows_http(&host, port) {
            self.policy
                .audit_denial(&format!("http {} {host}:{port}", request.method()), "no net-out grant covers this host");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        wasmtime_wasi_http::default_hooks().send_request(request, options, fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(grants: &[&str]) -> Arc<SandboxPolicy> {
        let grants: Vec<Capability> = grants.iter().map(|g| g.parse().unwrap()).collect();
        SandboxPolicy::from_grants("t", &grants, None).unwrap()
    }

    #[test]
    fn ip_grants_with_a_port_match_that_address_and_port_only() {
        let p = policy(&["net-out:127.0.0.1:8080"]);
        assert_eq!(p.outbound[0].host, "127.0.0.1");
        assert!(p.allows("127.0.0.1:8080".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(!p.allows("127.0.0.1:8081".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(p.allows_http("127.0.0.1", 8080));
        assert!(!p.allows_http("localhost", 8080));
    }

    #[test]
    fn wildcard_host_grants_match_names_over_http() {
        let p = policy(&["net-out:*.example.com:443"]);
        assert!(p.allows_http("api.example.com", 443));
        assert!(!p.allows_http("api.example.com", 80));
        assert!(!p.allows_http("example.org", 443));
    }
}
