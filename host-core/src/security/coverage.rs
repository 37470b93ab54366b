//! What a grant covers: same kind, equal or narrower scope (paths under a
//! folder, host patterns, env prefixes), and the requests no grant covers.
//! Pure functions over the textual capabilities; enforcement is
//! `sandbox`'s.

use std::path::{Component as PathPart, Path};

use crate::Capability;

/// Whether `grant` covers `request`: same kind, and the grant's scope is
/// equal to or inside the request's.
pub fn covers(grant: &Capability, request: &Capability) -> bool {
    use Capability::*;
    match (grant, request) {
        (FileRead(g) | FileWrite(g), FileRead(r)) | (FileWrite(g), FileWrite(r)) => {
            path_within(file_paths(g).0, file_paths(r).0)
        }
        (NetworkOutbound(g), NetworkOutbound(r)) => host_pattern_within(g, r),
        (NetworkInbound(g), NetworkInbound(r)) => g == r,
        (EnvironmentRead(g), EnvironmentRead(r)) => env_within(g, r),
        (SystemCall(g), SystemCall(r)) => g == r,
        (Custom { name: g, .. }, Custom { name: r, .. }) => g == r,
        _ => false,
    }
}

/// A file capability's `(guest path, host path)`: `GUEST=HOST` backs the
/// guest folder with another host folder; a plain path is both.
pub fn file_paths(value: &str) -> (&str, &str) {
    value.split_once('=').unwrap_or((value, value))
}

/// The requested capabilities no grant covers.
pub fn missing(requested: &[Capability], granted: &[Capability]) -> Vec<Capability> {
    requested.iter().filter(|r| !granted.iter().any(|g| covers(g, r))).cloned().collect()
}

/// `inner` is `outer` or below it, comparing normal path components.
fn path_within(inner: &str, outer: &str) -> bool {
    let parts = |p: &str| -> Option<Vec<String>> {
        Path::new(p)
            .components()
            .filter(|c| !matches!(c, PathPart::CurDir | PathPart::RootDir))
            .map(|c| match c {
                PathPart::Normal(s) => s.to_str().map(str::to_string),
                _ => None, // `..` or a prefix never matches
            })
            .collect()
    };
    match (parts(inner), parts(outer)) {
        (Some(i), Some(o)) => Path::new(inner).is_absolute() == Path::new(outer).is_absolute() && i.starts_with(&o),
        _ => false,
    }
}

/// Splits `host[:port]` (IPv6 literals in brackets).
pub(crate) fn split_host_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some((host, after)) = pattern.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match pattern.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (pattern, None),
        },
        _ => (pattern, None),
    }
}

/// Whether host name `host` matches `pattern` (`*.example.com` matches any
/// subdomain, `*` anything).
pub(crate) fn host_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.ends_with(&format!(".{suffix}")) || host == suffix,
        None => pattern == host,
    }
}

fn host_pattern_within(grant: &str, request: &str) -> bool {
    let (gh, gp) = split_host_port(grant);
    let (rh, rp) = split_host_port(request);
    let port_ok = match (gp, rp) {
        (_, None) => true,
        (Some(g), Some(r)) => g == r,
        (None, Some(_)) => false,
    };
    let host_ok = match gh.strip_prefix("*.") {
        // A wildcard grant is within a request only if the request's
        // pattern also covers every name the grant does.
        Some(suffix) => host_matches(rh, &format!("x.{suffix}")) && (rh.starts_with("*.") || rh == "*"),
        None => host_matches(rh, gh),
    };
    port_ok && host_ok
}

fn env_within(grant: &str, request: &str) -> bool {
    match (grant.strip_suffix('*'), request.strip_suffix('*')) {
        (None, None) => grant == request,
        (None, Some(prefix)) => grant.starts_with(prefix),
        (Some(g), Some(r)) => g.starts_with(r),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(s: &str) -> Capability {
        s.parse().unwrap()
    }

    #[test]
    fn narrower_grants_cover_wider_requests() {
        let yes = [
            ("file-read:/data/in", "file-read:/data"),
            ("file-read:/data", "file-read:/data"),
            ("file-write:/data/out", "file-read:/data"),
            ("file-write:/data/out", "file-write:/data"),
            ("file-read:/data/in=/srv/files/in", "file-read:/data"),
            ("net-out:api.example.com:443", "net-out:*.example.com"),
            ("net-out:api.example.com:443", "net-out:api.example.com"),
            ("net-out:*.a.example.com", "net-out:*.example.com"),
            ("net-in:8080", "net-in:8080"),
            ("env:APP_NAME", "env:APP_*"),
            ("env:APP_X*", "env:APP_*"),
            ("syscall:clock", "syscall:clock"),
            ("custom:kv={\"bucket\":\"a\"}", "custom:kv"),
        ];
        for (g, r) in yes {
            assert!(covers(&cap(g), &cap(r)), "{g} should cover {r}");
        }
        let no = [
            ("file-read:/data", "file-read:/data/in"),
            ("file-read:/datax", "file-read:/data"),
            ("file-read:/data/../etc", "file-read:/data"),
            ("file-read:/data", "file-write:/data"),
            ("file-read:/srv=/data", "file-read:/data"),
            ("net-out:api.example.com", "net-out:api.example.com:443"),
            ("net-out:*.example.com", "net-out:api.example.com"),
            ("net-out:evil.com", "net-out:*.example.com"),
            ("net-in:8081", "net-in:8080"),
            ("env:APP_*", "env:APP_NAME"),
            ("env:HOME", "env:APP_*"),
            ("syscall:random", "syscall:clock"),
            ("custom:kv", "custom:queue"),
        ];
        for (g, r) in no {
            assert!(!covers(&cap(g), &cap(r)), "{g} must not cover {r}");
        }
    }

    #[test]
    fn missing_lists_each_uncovered_request() {
        let requested = [cap("file-read:/data"), cap("env:HOME"), cap("syscall:clock")];
        let granted = [cap("file-read:/data/in")];
        assert_eq!(missing(&requested, &granted), vec![cap("env:HOME"), cap("syscall:clock")]);
    }

    #[test]
    fn host_port_patterns_split() {
        assert_eq!(split_host_port("a.b:443"), ("a.b", Some(443)));
        assert_eq!(split_host_port("a.b"), ("a.b", None));
        assert_eq!(split_host_port("[::1]:80"), ("::1", Some(80)));
        assert!(host_matches("*.example.com", "api.example.com"));
        assert!(!host_matches("*.example.com", "example.org"));
    }
}
