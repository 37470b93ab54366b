//! Registry credentials: a token file named on the command line, else the
//! registry's entry in the Docker `config.json` (`auths.HOST.auth`, base64
//! of `user:password`, or `username`/`password`), else anonymous. Secrets
//! are never taken from the command line itself.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

use crate::{Error, Result};

/// How to authenticate to a registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials (public repositories, a local registry).
    #[default]
    Anonymous,
    /// HTTP Basic: a user and a password (or an access token as password).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
    /// A bearer token sent as it is.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl Credentials {
    /// Reads a token file: `user:password` (HTTP Basic) or a bare token
    /// (sent as a bearer token), surrounding whitespace ignored. On Unix a
    /// file others can read is refused.
    ///
    /// Errors: [`Error::OciCredentials`] (unreadable, empty, readable by others).
    pub fn from_token_file(path: &Path) -> Result<Self> {
        let problem = |problem: String| Error::OciCredentials { path: path.to_path_buf(), problem };
        let text = std::fs::read_to_string(path).map_err(|e| problem(format!("cannot read it: {e}")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0);
            if mode & 0o077 != 0 {
                return Err(problem(format!(
                    "others can read it (mode {:o}); make it private with `chmod 600 {}`",
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        let token = text.trim();
        if token.is_empty() {
            return Err(problem("it is empty; write the token (or user:password) into it".to_string()));
        }
        Ok(match token.split_once(':') {
            Some((user, password)) if !user.is_empty() => {
                Credentials::Basic { username: user.to_string(), password: password.to_string() }
            }
            _ => Credentials::Bearer(token.to_string()),
        })
    }

    /// The Docker config file: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub fn docker_config_path() -> Option<PathBuf> {
        match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("config.json")),
            _ => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json")),
        }
    }

    /// The credentials for `registry` (`HOST[:PORT]`) in the Docker config
    /// file at `path`; anonymous when the file or the entry is missing.
    /// Entries are matched by host and port, with or without a scheme or a
    /// path (`https://HOST/v1/`).
    ///
    /// Errors: [`Error::OciCredentials`] (not JSON, an `auth` that is not
    /// base64 of `user:password`).
    pub fn from_docker_config(path: &Path, registry: &str) -> Result<Self> {
        let problem = |problem: String| Error::OciCredentials { path: path.to_path_buf(), problem };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::Anonymous),
            Err(e) => return Err(problem(format!("cannot read it: {e}"))),
        };
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| problem(format!("it is not JSON: {e}")))?;
        let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
            return Ok(Credentials::Anonymous);
        };
        let host_of = |key: &str| {
            let key = key.split_once("://").map_or(key, |(_, rest)| rest);
            key.split('/').next().unwrap_or(key).to_string()
        };
        let Some(entry) = auths.iter().find(|(key, _)| host_of(key) == registry).map(|(_, v)| v) else {
            return Ok(Credentials::Anonymous);
        };
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| problem(format!("auths.{registry}.auth is not base64 of user:password")))?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| problem(format!("auths.{registry}.auth is not base64 of user:password")))?;
            return Ok(Credentials::Basic { username: username.to_string(), password: password.to_string() });
        }
        if let Some(token) = entry.get("registrytoken").and_then(|t| t.as_str()) {
            return Ok(Credentials::Bearer(token.to_string()));
        }
        match (entry.get("username").and_then(|u| u.as_str()), entry.get("password").and_then(|p| p.as_str())) {
            (Some(username), Some(password)) => {
                Ok(Credentials::Basic { username: username.to_string(), password: password.to_string() })
            }
            _ => Ok(Credentials::Anonymous),
        }
    }

    /// A token file when given, else the Docker config's entry for
    /// `registry`, else anonymous.
    pub fn resolve(registry: &str, token_file: Option<&Path>) -> Result<Self> {
        if let Some(path) = token_file {
            return Self::from_token_file(path);
        }
        match Self::docker_config_path() {
            Some(path) => Self::from_docker_config(&path, registry),
            None => Ok(Credentials::Anonymous),
        }
    }

    pub(crate) fn registry_auth(&self) -> RegistryAuth {
        match self {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => RegistryAuth::Basic(username.clone(), password.clone()),
            Credentials::Bearer(token) => RegistryAuth::Bearer(token.clone()),
        }
    }
}
