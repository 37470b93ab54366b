//! Helpers on the contract's types: constructors, builders and look-ups.
//!
//! The types themselves are generated from `wit/component.wit` and re-exported
//! at the crate root ([`Value`], [`Error`], [`Input`], [`Output`], ...).

use crate::bindings::plugin::airssys::component::types as wit;

pub use wit::{
    Capability, ComponentMetadata, CustomCapability, Error, ErrorKind, ExecutionContext, HealthStatus, Input,
    MetadataMap, Output, Value,
};

/// What a component says about itself; returned by
/// [`Component::metadata`](crate::Component::metadata).
pub type Metadata = ComponentMetadata;

/// The component's view of its own health; returned by
/// [`Component::health`](crate::Component::health).
pub type Health = HealthStatus;

/// Where a call comes from (request id, pipeline, node, deadline, attempt).
pub type Context = ExecutionContext;

/// Metadata key naming the media type of a message.
pub const CONTENT_TYPE: &str = "content-type";

/// Metadata key choosing the pipeline port an output leaves by.
pub const PORT: &str = "port";

/// The port an output leaves by when it names none.
pub const DEFAULT_PORT: &str = "out";

fn lookup<'a>(map: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn upsert(map: &mut MetadataMap, key: String, value: Value) {
    match map.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => map.push((key, value)),
    }
}

// ---------------------------------------------------------------- Value

impl Value {
    /// The text of a [`Value::Text`] or [`Value::Json`], else `None`.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Json(s) => Some(s),
            _ => None,
        }
    }

    /// The integer of a [`Value::S64`], else `None`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::S64(n) => Some(*n),
            _ => None,
        }
    }

    /// The number of a [`Value::F64`] or [`Value::S64`], else `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F64(n) => Some(*n),
            Value::S64(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// The flag of a [`Value::Boolean`], else `None`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::S64(n)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::F64(n)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b)
    }
}

// ---------------------------------------------------------------- Error

impl Error {
    /// An error of any kind. `retryable` is true for
    /// [`ErrorKind::Unavailable`] and [`ErrorKind::Timeout`], false otherwise;
    /// change it with [`Error::with_retryable`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), retryable: matches!(kind, ErrorKind::Unavailable | ErrorKind::Timeout) }
    }

    /// The input could not be processed (malformed, wrong type).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The configuration given to `init` is missing or wrong.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }

    /// A bug or unexpected state inside the component.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// A capability the call needed was not granted.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Denied, message)
    }

    /// A dependency is temporarily unavailable (retryable).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// The call ran out of time on the component's own terms (retryable).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// A call arrived before a successful `init` (or after `shutdown`).
    pub fn not_initialized() -> Self {
        Self::new(
            ErrorKind::NotInitialized,
            "component is not initialized: init has not succeeded (or shutdown was called)",
        )
    }

    /// The same error with `retryable` set to `retryable`.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }
}

// ---------------------------------------------------------------- Metadata

impl ComponentMetadata {
    /// Metadata with a name, a version and a one-line description; it accepts
    /// and produces nothing until [`accepts`](Self::accepts) and
    /// [`produces`](Self::produces) add media types.
    ///
    /// `stateful` is set by [`export_component!`](crate::export_component)
    /// to match the exported world, whatever is set here.
    pub fn new(name: impl Into<String>, version: impl Into<String>, description: impl Into<String>) -> Self {
        ComponentMetadata {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            accepts: Vec::new(),
            produces: Vec::new(),
            stateful: false,
        }
    }

    /// Adds a media type that `execute` accepts (`*/*` for anything).
    pub fn accepts(mut self, media_type: impl Into<String>) -> Self {
        self.accepts.push(media_type.into());
        self
    }

    /// Adds a media type that `execute` produces.
    pub fn produces(mut self, media_type: impl Into<String>) -> Self {
        self.produces.push(media_type.into());
        self
    }

    /// Sets the `stateful` flag.
    pub fn stateful(mut self, stateful: bool) -> Self {
        self.stateful = stateful;
        self
    }
}

// ---------------------------------------------------------------- Context

impl ExecutionContext {
    /// A first-attempt context with this request id and nothing else; for
    /// tests that call a component directly.
    pub fn new(request_id: impl Into<String>) -> Self {
        ExecutionContext { request_id: request_id.into(), pipeline: None, node: None, deadline_ms: None, attempt: 1 }
    }
}

impl Default for ExecutionContext {
    fn default() -> Self {
        Self::new("")
    }
}

// ---------------------------------------------------------------- Input

impl Input {
    /// An input carrying `data`, no metadata and a default context; for tests
    /// that call a component directly.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        Input { data: data.into(), metadata: Vec::new(), context: ExecutionContext::default() }
    }

    /// The same input with metadata `key` set to `value` (replacing an
    /// existing entry with that key).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        upsert(&mut self.metadata, key.into(), value.into());
        self
    }

    /// The body as UTF-8 text, or an `invalid-input` error saying where the
    /// first invalid byte is.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.data).map_err(|e| Error::invalid_input(format!("input is not valid UTF-8: {e}")))
    }

    /// The metadata value under `key`, if any.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        lookup(&self.metadata, key)
    }

    /// The metadata value under `key` if it is text (or JSON text).
    pub fn metadata_text(&self, key: &str) -> Option<&str> {
        self.metadata_value(key).and_then(Value::as_text)
    }

    /// The `content-type` metadata, if present and textual.
    pub fn content_type(&self) -> Option<&str> {
        self.metadata_text(CONTENT_TYPE)
    }
}

// ---------------------------------------------------------------- Output

impl Output {
    /// An output carrying `data` and no metadata.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        Output { data: data.into(), metadata: Vec::new() }
    }

    /// A `text/plain` output.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(text.into().into_bytes()).with_content_type("text/plain")
    }

    /// An `application/json` output; `json` must already be a JSON document.
    pub fn json(json: impl Into<String>) -> Self {
        Self::new(json.into().into_bytes()).with_content_type("application/json")
    }

    /// The same output with metadata `key` set to `value`. Keys stay unique:
    /// an existing entry is replaced in place.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        upsert(&mut self.metadata, key.into(), value.into());
        self
    }

    /// The same output with `content-type` set.
    pub fn with_content_type(self, media_type: impl Into<String>) -> Self {
        self.with_metadata(CONTENT_TYPE, Value::Text(media_type.into()))
    }

    /// The same output routed to pipeline port `port` (metadata key `port`).
    #[allow(clippy::wrong_self_convention)] // a builder step, named by the contract's wording
    pub fn to_port(self, port: impl Into<String>) -> Self {
        self.with_metadata(PORT, Value::Text(port.into()))
    }

    /// The metadata value under `key`, if any.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        lookup(&self.metadata, key)
    }

    /// The port this output leaves by: metadata `port`, else `out`.
    pub fn port(&self) -> &str {
        self.metadata_value(PORT).and_then(Value::as_text).unwrap_or(DEFAULT_PORT)
    }

    /// The `content-type` metadata, if present and textual.
    pub fn content_type(&self) -> Option<&str> {
        self.metadata_value(CONTENT_TYPE).and_then(Value::as_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_builder_sets_and_replaces_metadata() {
        let out = Output::new(b"x".to_vec())
            .with_metadata("content-type", Value::Text("text/plain".into()))
            .with_metadata("n", 3_i64)
            .with_content_type("application/json")
            .to_port("alert");
        assert_eq!(out.data, b"x");
        assert_eq!(out.content_type(), Some("application/json"));
        assert_eq!(out.metadata_value("n"), Some(&Value::S64(3)));
        assert_eq!(out.port(), "alert");
        // keys stay unique and keep their first position
        assert_eq!(out.metadata.len(), 3);
        assert_eq!(out.metadata[0].0, "content-type");
        assert_eq!(out.metadata[2], ("port".to_string(), Value::Text("alert".into())));
    }

    #[test]
    fn output_defaults_to_port_out() {
        let out = Output::text("hi");
        assert_eq!(out.port(), "out");
        assert_eq!(out.content_type(), Some("text/plain"));
        assert_eq!(Output::json("{}").content_type(), Some("application/json"));
    }

    #[test]
    fn input_text_and_metadata() {
        let input = Input::new("héllo").with_metadata("content-type", "text/plain");
        assert_eq!(input.text(), Ok("héllo"));
        assert_eq!(input.content_type(), Some("text/plain"));
        assert_eq!(input.metadata_value("missing"), None);
        assert_eq!(input.context.attempt, 1);

        let bad = Input::new(vec![b'a', 0xff]);
        let err = bad.text().err();
        assert_eq!(err.as_ref().map(|e| e.kind), Some(ErrorKind::InvalidInput));
        assert!(err.is_some_and(|e| e.message.contains("UTF-8")));
    }

    #[test]
    fn error_constructors_set_kind_and_retryable() {
        assert_eq!(Error::invalid_input("x").kind, ErrorKind::InvalidInput);
        assert_eq!(Error::invalid_config("x").kind, ErrorKind::InvalidConfig);
        assert_eq!(Error::internal("x").kind, ErrorKind::Internal);
        assert!(!Error::internal("x").retryable);
        assert!(Error::unavailable("x").retryable);
        assert!(Error::timeout("x").retryable);
        assert!(!Error::timeout("x").with_retryable(false).retryable);
        assert_eq!(Error::not_initialized().kind, ErrorKind::NotInitialized);
    }

    #[test]
    fn metadata_builder() {
        let m = Metadata::new("upper", "1.0.0", "Upper-cases text").accepts("text/plain").produces("text/plain");
        assert_eq!(m.name, "upper");
        assert_eq!(m.accepts, vec!["text/plain".to_string()]);
        assert_eq!(m.produces, vec!["text/plain".to_string()]);
        assert!(!m.stateful);
    }

    #[test]
    fn value_accessors() {
        assert_eq!(Value::from("a").as_text(), Some("a"));
        assert_eq!(Value::Json("{}".into()).as_text(), Some("{}"));
        assert_eq!(Value::from(2_i64).as_f64(), Some(2.0));
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::Null.as_i64(), None);
    }
}
