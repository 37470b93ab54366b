//! The configuration handed to [`Component::init`](crate::Component::init).

use std::fmt::Display;
use std::str::FromStr;

use crate::types::Error;

/// Key/value configuration from the service file or `--config KEY=VALUE`.
///
/// When a key appears more than once, the **last** value wins, so a later
/// override (for example from the command line) beats an earlier default.
/// Every error returned here has kind `invalid-config` and names the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    entries: Vec<(String, String)>,
}

impl Config {
    /// A configuration holding `entries` in the order given.
    pub fn new(entries: Vec<(String, String)>) -> Self {
        Config { entries }
    }

    /// A configuration built from `(key, value)` pairs; handy in tests.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Config { entries: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, or an `invalid-config` error naming the key when
    /// it is missing or blank.
    pub fn require(&self, key: &str) -> Result<&str, Error> {
        match self.get(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            Some(_) => {
                Err(Error::invalid_config(format!("config key `{key}` is empty; set it with --config {key}=VALUE")))
            }
            None => Err(Error::invalid_config(format!(
                "missing required config key `{key}`; set it with --config {key}=VALUE"
            ))),
        }
    }

    /// The value of `key` parsed as `T` (surrounding whitespace ignored):
    /// `Ok(None)` when the key is absent, an `invalid-config` error naming the
    /// key and the value when it does not parse.
    pub fn parse<T>(&self, key: &str) -> Result<Option<T>, Error>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.get(key).map(|v| parse_value(key, v)).transpose()
    }

    /// Like [`parse`](Self::parse), with `default` when the key is absent.
    pub fn parse_or<T>(&self, key: &str, default: T) -> Result<T, Error>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.parse(key)?.unwrap_or(default))
    }

    /// Like [`parse`](Self::parse), but a missing or blank key is an error.
    pub fn require_parse<T>(&self, key: &str) -> Result<T, Error>
    where
        T: FromStr,
        T::Err: Display,
    {
        parse_value(key, self.require(key)?)
    }

    /// All entries, in the order received (duplicates included).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries (duplicates included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl From<Vec<(String, String)>> for Config {
    fn from(entries: Vec<(String, String)>) -> Self {
        Config::new(entries)
    }
}

fn parse_value<T>(key: &str, value: &str) -> Result<T, Error>
where
    T: FromStr,
    T::Err: Display,
{
    value
        .trim()
        .parse::<T>()
        .map_err(|e| Error::invalid_config(format!("config key `{key}`: cannot use {value:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ErrorKind;

    fn cfg() -> Config {
        Config::from_pairs([
            ("indent", "4"),
            ("name", "a"),
            ("name", "b"),
            ("blank", "  "),
            ("threshold", " 21.5 "),
            ("bad", "x1"),
        ])
    }

    #[test]
    fn get_returns_last_value() {
        let c = cfg();
        assert_eq!(c.get("name"), Some("b"));
        assert_eq!(c.get("nope"), None);
        assert!(c.contains_key("indent"));
        assert_eq!(c.len(), 6);
        assert!(!c.is_empty());
        assert!(Config::default().is_empty());
    }

    #[test]
    fn require_names_missing_and_blank_keys() {
        let c = cfg();
        assert_eq!(c.require("indent"), Ok("4"));
        let missing = c.require("threshold2").err();
        assert_eq!(missing.as_ref().map(|e| e.kind), Some(ErrorKind::InvalidConfig));
        assert!(missing.is_some_and(|e| e.message.contains("`threshold2`")));
        let blank = c.require("blank").err();
        assert!(blank.is_some_and(|e| e.message.contains("`blank` is empty")));
    }

    #[test]
    fn parse_variants() {
        let c = cfg();
        assert_eq!(c.parse::<u8>("indent"), Ok(Some(4)));
        assert_eq!(c.parse::<u8>("missing"), Ok(None));
        assert_eq!(c.parse::<f64>("threshold"), Ok(Some(21.5)));
        assert_eq!(c.parse_or::<u8>("missing", 2), Ok(2));
        assert_eq!(c.require_parse::<f64>("threshold"), Ok(21.5));

        let bad = c.parse::<f64>("bad").err();
        assert_eq!(bad.as_ref().map(|e| e.kind), Some(ErrorKind::InvalidConfig));
        assert!(bad.is_some_and(|e| e.message.contains("`bad`") && e.message.contains("x1")));
        assert!(c.require_parse::<u32>("missing").is_err());
        assert!(c.require_parse::<u32>("blank").is_err());
    }
}
