//! Strict reading: a key named twice is an error, never "last one wins"
//! (serde helpers for project files and request bodies; no domain types).
//!
//! serde's own `BTreeMap` keeps the last of two equal keys without a word,
//! in RON and in JSON alike, so an entry of `project.ron` or of a request
//! body could vanish silently. Every map keyed by a name (services,
//! pipelines, nodes, config) reads through [`map`] (or [`optional_map`]),
//! and every list whose entries carry a name (test cases) through
//! [`named_list`]; both refuse a repeated name at the repeated entry, so the
//! format's error position (RON's line:column, JSON's line and column)
//! points there. [`from_ron`] and [`from_json`] add the path of the map
//! (`services`, `pipelines.p.nodes`, `services.s.config`, `tests`) to
//! every error message.
//!
//! ```text
//! #[derive(serde::Deserialize)]
//! struct File {
//!     #[serde(deserialize_with = "crate::unique::map")]
//!     services: std::collections::BTreeMap<String, String>,
//! }
//! ```

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::{self, Display},
    marker::PhantomData,
};

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

/// Reads a map, refusing a key that appears twice with
/// "duplicate key `KEY`: ...".
pub(crate) fn map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + Display,
    V: Deserialize<'de>,
{
    deserializer.deserialize_map(UniqueMap(PhantomData))
}

/// [`map`] for an optional map (`None`/`null` or a map).
pub(crate) fn optional_map<'de, D, K, V>(deserializer: D) -> Result<Option<BTreeMap<K, V>>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + Display,
    V: Deserialize<'de>,
{
    Ok(Option::<Keyed<K, V>>::deserialize(deserializer)?.map(|keyed| keyed.0))
}

/// An entry of a list that is identified by its name.
pub(crate) trait Named {
    /// What names the entry.
    fn name(&self) -> &str;
    /// What the entries are, for the message ("test").
    const WHAT: &'static str;
}

/// Reads a list, refusing an entry whose name an earlier entry already has
/// with "duplicate WHAT name `NAME`: ...".
pub(crate) fn named_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Named,
{
    deserializer.deserialize_seq(UniqueNames(PhantomData))
}

/// Parses RON; an error gives (line, column, message), the message starting
/// with the path of the failing part (`in services: ...`).
pub(crate) fn from_ron<T: DeserializeOwned>(text: &str) -> Result<T, (usize, usize, String)> {
    let spanned = |e: ron::error::SpannedError| (e.span.start.line, e.span.start.col, e.code.to_string());
    let mut deserializer = ron::Deserializer::from_str(text).map_err(spanned)?;
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let error = deserializer.span_error(e.into_inner());
        let (line, column, message) = spanned(error);
        (line, column, with_path(&path, message))
    })?;
    deserializer.end().map_err(|e| spanned(deserializer.span_error(e)))?;
    Ok(value)
}

/// Parses JSON; the error message starts with the path of the failing part
/// and ends with serde_json's line and column.
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| with_path(&e.path().to_string(), e.into_inner().to_string()))?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

fn with_path(path: &str, message: String) -> String {
    if path == "." { message } else { format!("in {path}: {message}") }
}

/// A map read through [`map`].
struct Keyed<K, V>(BTreeMap<K, V>);

impl<'de, K, V> Deserialize<'de> for Keyed<K, V>
where
    K: Deserialize<'de> + Ord + Display,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        map(deserializer).map(Keyed)
    }
}

struct UniqueMap<K, V>(PhantomData<(K, V)>);

impl<'de, K, V> Visitor<'de> for UniqueMap<K, V>
where
    K: Deserialize<'de> + Ord + Display,
    V: Deserialize<'de>,
{
    type Value = BTreeMap<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map whose keys are all different")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        // Checked as soon as the key is read, so the error's position is
        // the repeated key's.
        while let Some(key) = access.next_key::<K>()? {
            if entries.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}`: it appears more than once, and only one entry may have it; \
                     remove or rename one of them"
                )));
            }
            let value = access.next_value()?;
            entries.insert(key, value);
        }
        Ok(entries)
    }
}

struct UniqueNames<T>(PhantomData<T>);

impl<'de, T> Visitor<'de> for UniqueNames<T>
where
    T: Deserialize<'de> + Named,
{
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {}s with different names", T::WHAT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut names = BTreeSet::new();
        let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = access.next_element::<T>()? {
            if !names.insert(entry.name().to_string()) {
                return Err(de::Error::custom(format_args!(
                    "duplicate {} name `{}`: it appears more than once, and only one {} may have it; rename one",
                    T::WHAT,
                    entry.name(),
                    T::WHAT
                )));
            }
            entries.push(entry);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Case {
        name: String,
    }

    impl Named for Case {
        fn name(&self) -> &str {
            &self.name
        }
        const WHAT: &'static str = "case";
    }

    #[derive(Debug, serde::Deserialize)]
    struct Doc {
        #[serde(default, deserialize_with = "map")]
        outer: BTreeMap<String, Inner>,
        #[serde(default, deserialize_with = "optional_map")]
        maybe: Option<BTreeMap<String, u32>>,
        #[serde(default, deserialize_with = "named_list")]
        cases: Vec<Case>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Inner {
        #[serde(deserialize_with = "map")]
        inner: BTreeMap<String, u32>,
    }

    #[test]
    fn distinct_keys_read_as_before_in_ron_and_json() {
        let doc: Doc = from_ron(r#"(outer: {"a": (inner: {"x": 1}), "b": (inner: {})}, maybe: Some({"k": 2}), cases: [(name: "one"), (name: "two")])"#).unwrap();
        assert_eq!(doc.outer.len(), 2);
        assert_eq!(doc.outer["a"].inner["x"], 1);
        assert_eq!(doc.maybe.unwrap()["k"], 2);
        assert_eq!(doc.cases.len(), 2);
        let doc: Doc = from_json(br#"{"outer": {"a": {"inner": {"x": 1}}}, "maybe": null}"#).unwrap();
        assert_eq!(doc.outer["a"].inner["x"], 1);
        assert!(doc.maybe.is_none());
    }

    #[test]
    fn a_nested_duplicate_key_in_ron_names_the_key_its_map_and_its_line() {
        let text = "(\n  outer: {\n    \"a\": (inner: {\n      \"x\": 1,\n      \"x\": 2,\n    }),\n  },\n)";
        let (line, column, message) = from_ron::<Doc>(text).unwrap_err();
        // RON points at the repeated key's first character, inside its quotes.
        assert_eq!((line, column), (5, 8), "{message}");
        assert!(message.starts_with("in outer.a.inner: duplicate key `x`"), "{message}");
    }

    #[test]
    fn a_duplicate_name_in_a_list_is_refused_at_its_entry() {
        let text = "(cases: [\n  (name: \"one\"),\n  (name: \"one\"),\n])";
        let (line, _, message) = from_ron::<Doc>(text).unwrap_err();
        assert_eq!(line, 3, "{message}");
        assert!(message.starts_with("in cases: duplicate case name `one`"), "{message}");
    }

    #[test]
    fn duplicate_keys_in_json_are_refused_with_path_and_position() {
        let message = from_json::<Doc>(br#"{"outer": {"a": {"inner": {}}, "a": {"inner": {}}}}"#).unwrap_err();
        assert!(message.starts_with("in outer: duplicate key `a`"), "{message}");
        assert!(message.contains("line 1 column"), "{message}");
        let message = from_json::<Doc>(br#"{"maybe": {"k": 1, "k": 2}}"#).unwrap_err();
        assert!(message.starts_with("in maybe: duplicate key `k`"), "{message}");
        let message = from_json::<Doc>(br#"{"cases": [{"name": "z"}, {"name": "z"}]}"#).unwrap_err();
        assert!(message.starts_with("in cases: duplicate case name `z`"), "{message}");
    }

    #[test]
    fn other_errors_keep_their_position_and_gain_the_path() {
        let (line, _, message) = from_ron::<Doc>("(\n  outer: {\"a\": (inner: {\"x\": \"text\"})},\n)").unwrap_err();
        assert_eq!(line, 2, "{message}");
        assert!(message.starts_with("in outer.a.inner.x: "), "{message}");
        let (_, _, message) = from_ron::<Doc>("(outer: {}) trailing").unwrap_err();
        assert!(!message.is_empty());
    }
}
