//! `name@version`: how a registry version, a service's component and a
//! rollout name a component ([`ComponentRef`]), and the rule for names
//! (they are file names too). A reference that does not parse is an
//! [`InvalidReference`]; `Error` turns it into its own variant.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// `name@version`, for example `text@1.2.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ComponentRef {
    /// The component's name in the registry.
    pub name: String,
    /// Its semantic version.
    pub version: semver::Version,
}

impl fmt::Display for ComponentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

impl FromStr for ComponentRef {
    type Err = InvalidReference;
    fn from_str(s: &str) -> Result<Self, InvalidReference> {
        let (name, version) = s.split_once('@').ok_or_else(|| InvalidReference {
            reference: s.to_string(),
            reason: "expected NAME@VERSION, for example text@1.0.0".into(),
        })?;
        check_name(name)?;
        let version = semver::Version::parse(version).map_err(|e| InvalidReference {
            reference: s.to_string(),
            reason: format!("`{version}` is not a semantic version ({e})"),
        })?;
        Ok(ComponentRef { name: name.to_string(), version })
    }
}

impl TryFrom<String> for ComponentRef {
    type Error = InvalidReference;
    fn try_from(s: String) -> Result<Self, InvalidReference> {
        s.parse()
    }
}

impl From<ComponentRef> for String {
    fn from(r: ComponentRef) -> String {
        r.to_string()
    }
}

/// Names are file names too: lower-case letters, digits, `-`, `_`, `.`.
pub fn check_name(name: &str) -> Result<(), InvalidReference> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(InvalidReference {
            reference: name.to_string(),
            reason: "names use lower-case letters, digits, `-`, `_` and `.`, start with a letter or digit, \
                     and are at most 64 characters"
                .into(),
        })
    }
}

/// A `NAME@VERSION` or a name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid component reference `{reference}`: {reason}")]
pub struct InvalidReference {
    /// What was given.
    pub reference: String,
    /// What is wrong with it.
    pub reason: String,
}
