//! Structured logging through the host's `log` import.
//!
//! Each function sends one line with `key=value` fields; the host tags it with
//! the service, version and request id. Off wasm (for example in a component's
//! own unit tests on the build machine) the line goes to standard error.
//!
//! ```
//! use airssys_sdk::log;
//! log::info("parsed readings", &[("count", "3"), ("sensor", "t1")]);
//! ```

/// Severity of a log line.
pub use crate::bindings::plugin::airssys::component::host::LogLevel as Level;

/// Writes one log line at `level` with `fields`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    #[cfg(target_arch = "wasm32")]
    crate::bindings::plugin::airssys::component::host::log(level, message, &fields);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}{}", render_fields(&fields));
}

/// Writes a `trace` line.
pub fn trace(message: &str, fields: &[(&str, &str)]) {
    log(Level::Trace, message, fields);
}

/// Writes a `debug` line.
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, message, fields);
}

/// Writes an `info` line.
pub fn info(message: &str, fields: &[(&str, &str)]) {
    log(Level::Info, message, fields);
}

/// Writes a `warn` line.
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, message, fields);
}

/// Writes an `error` line.
pub fn error(message: &str, fields: &[(&str, &str)]) {
    log(Level::Error, message, fields);
}

/// Records a numeric measurement under `name` (a counter increment or a gauge
/// value) with `labels`, through the host's `emit-metric` import. Off wasm
/// the measurement goes to standard error.
///
/// ```
/// airssys_sdk::metric("readings_total", 3.0, &[("sensor", "t1")]);
/// ```
pub fn metric(name: &str, value: f64, labels: &[(&str, &str)]) {
    let labels: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    #[cfg(target_arch = "wasm32")]
    crate::bindings::plugin::airssys::component::host::emit_metric(name, value, &labels);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[metric] {name}={value}{}", render_fields(&labels));
}

#[cfg(not(target_arch = "wasm32"))]
fn render_fields(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!(" {k}={v}")).collect()
}
