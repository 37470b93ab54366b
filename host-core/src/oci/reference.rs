//! `oci://REGISTRY/REPOSITORY:TAG` and `oci://REGISTRY/REPOSITORY@sha256:HEX`:
//! parsing (strict: the registry, the repository and a tag or digest are
//! all required; nothing defaults to Docker Hub or `latest`) and whether
//! the registry is on a loopback address.

use std::{fmt, net::IpAddr, str::FromStr};

use crate::{Error, Result};

/// The scheme every reference starts with.
pub const SCHEME: &str = "oci://";

/// A parsed `oci://` reference: a registry, a repository and a tag or a
/// pinned manifest digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciReference {
    inner: oci_client::Reference,
}

impl OciReference {
    /// Parses `oci://REGISTRY/REPOSITORY:TAG`,
    /// `oci://REGISTRY/REPOSITORY@sha256:HEX` (64 lowercase hex digits) or
    /// both (`:TAG@sha256:HEX`: the tag must still point at that digest).
    ///
    /// Errors: [`Error::OciReference`] naming what is missing (the scheme,
    /// the registry, the repository, a tag or digest) or malformed.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::OciReference { reference: text.to_string(), reason: reason.to_string() };
        let Some(rest) = text.strip_prefix(SCHEME) else {
            return Err(bad("it does not start with oci://"));
        };
        let Some((registry, path)) = rest.split_once('/') else {
            return Err(bad("it names no repository after the registry"));
        };
        if registry.is_empty() {
            return Err(bad("it names no registry"));
        }
        if path.is_empty() {
            return Err(bad("it names no repository"));
        }
        let repository = path.split(['@', ':']).next().unwrap_or(path);
        if !repository.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b)) {
            return Err(bad("the repository must be lowercase letters, digits and . _ - / separators"));
        }
        let inner = if let Some((repository, digest)) = path.split_once('@') {
            let hex = digest.strip_prefix("sha256:").ok_or_else(|| bad("a pinned digest must start with sha256:"))?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(bad("a sha256 digest is 64 lowercase hex digits"));
            }
            let last = repository.rsplit('/').next().unwrap_or(repository);
            match last.split_once(':') {
                // `REPO:TAG@sha256:...`: the tag must still point at the digest.
                Some((_, tag)) => oci_client::Reference::with_tag_and_digest(
                    registry.to_string(),
                    repository[..repository.len() - tag.len() - 1].to_string(),
                    tag.to_string(),
                    digest.to_string(),
                ),
                None => {
                    oci_client::Reference::with_digest(registry.to_string(), repository.to_string(), digest.to_string())
                }
            }
        } else {
            let last = path.rsplit('/').next().unwrap_or(path);
            let Some((_, tag)) = last.split_once(':') else {
                return Err(bad("it names no tag: add :TAG (e.g. :1.0.0) or @sha256:DIGEST"));
            };
            if tag.is_empty() {
                return Err(bad("the tag is empty"));
            }
            let repository = &path[..path.len() - tag.len() - 1];
            oci_client::Reference::with_tag(registry.to_string(), repository.to_string(), tag.to_string())
        };
        // The distribution spec's grammar (repository characters, tag length).
        let whole = inner.whole();
        let checked: oci_client::Reference = whole.parse().map_err(|e: oci_client::ParseError| bad(&e.to_string()))?;
        if checked.registry() != registry || checked.repository() != inner.repository() {
            return Err(bad("the repository must be lowercase letters, digits and . _ - / separators"));
        }
        Ok(OciReference { inner })
    }

    /// `HOST[:PORT]`.
    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    /// The repository path, e.g. `tools/upper`.
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    /// The tag, unless the reference is pinned.
    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The pinned manifest digest (`sha256:HEX`), if any.
    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// The same repository at another tag (the signature's sibling tag).
    pub fn with_tag(&self, tag: &str) -> OciReference {
        OciReference {
            inner: oci_client::Reference::with_tag(
                self.registry().to_string(),
                self.repository().to_string(),
                tag.to_string(),
            ),
        }
    }

    /// The same repository pinned to `digest`.
    pub fn with_digest(&self, digest: &str) -> OciReference {
        OciReference {
            inner: oci_client::Reference::with_digest(
                self.registry().to_string(),
                self.repository().to_string(),
                digest.to_string(),
            ),
        }
    }

    /// Whether the registry's host is `localhost` or a loopback address
    /// (127.0.0.0/8, ::1): spoken to over plain HTTP, as Docker does.
    pub fn is_loopback(&self) -> bool {
        is_loopback_registry(self.registry())
    }

    pub(crate) fn inner(&self) -> &oci_client::Reference {
        &self.inner
    }
}

/// Whether `HOST[:PORT]` names this machine's loopback interface by name
/// (`localhost`) or address; a name that merely resolves there does not
/// count.
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.rsplit_once(':').map_or(registry, |(host, _)| host)
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry(), self.repository())?;
        match (self.tag(), self.digest()) {
            (Some(tag), Some(digest)) => write!(f, ":{tag}@{digest}"),
            (None, Some(digest)) => write!(f, "@{digest}"),
            (Some(tag), None) => write!(f, ":{tag}"),
            (None, None) => Ok(()),
        }
    }
}

impl FromStr for OciReference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        OciReference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_need_scheme_registry_repository_and_a_tag_or_digest() {
        let r = OciReference::parse("oci://127.0.0.1:5000/tools/upper:1.0.0").unwrap();
        assert_eq!((r.registry(), r.repository(), r.tag()), ("127.0.0.1:5000", "tools/upper", Some("1.0.0")));
        assert!(r.is_loopback());
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/tools/upper:1.0.0");
        let pinned = format!("oci://ghcr.io/a/b@sha256:{}", "ab".repeat(32));
        let r = OciReference::parse(&pinned).unwrap();
        assert_eq!(r.to_string(), pinned);
        assert!(!r.is_loopback());
        for (text, words) in [
            ("127.0.0.1:5000/x:1", "oci://"),
            ("oci://127.0.0.1:5000/x", "no tag"),
            ("oci://127.0.0.1:5000", "no repository"),
            ("oci://127.0.0.1:5000/x@sha256:12", "64"),
            ("oci://127.0.0.1:5000/x@md5:12", "sha256:"),
            ("oci://127.0.0.1:5000/Upper:1", "lowercase"),
        ] {
            let err = OciReference::parse(text).unwrap_err().to_string();
            assert!(err.contains(words) && err.contains("oci://REGISTRY/REPOSITORY:TAG"), "{text}: {err}");
        }
    }

    #[test]
    fn loopback_is_localhost_or_a_loopback_address() {
        for yes in ["localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000", "LOCALHOST"] {
            assert!(is_loopback_registry(yes), "{yes}");
        }
        for no in ["10.1.2.3:5000", "registry.example.com", "ghcr.io", "[2001:db8::1]:443", "0.0.0.0:5000"] {
            assert!(!is_loopback_registry(no), "{no}");
        }
    }
}
