//! The WIT `airssys:component/host` interface, as the guest calls it:
//! `log` (bounded per instance, forwarded to `tracing` and to log
//! subscribers) and `emit-metric`; a WASI command's stderr lines go the
//! same way. Only `impl Host for HostState`, apart
//! from the state it works on (as wasmtime keeps `wasi/src/p2/host/*`).

use crate::{
    bindings::{self, LogLevel},
    state::HostState,
    types::LogLine,
};

const MAX_LOG_LINES_PER_INSTANCE: u64 = 10_000;
const MAX_LOG_LINE_BYTES: usize = 4096;

impl bindings::airssys::component::types::Host for HostState {}

impl bindings::airssys::component::host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String, fields: Vec<(String, String)>) {
        let log = &mut self.log;
        log.lines += 1;
        if log.lines > MAX_LOG_LINES_PER_INSTANCE {
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut cut = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        if log.shared.logs.is_listened_to() {
            log.shared.logs.emit(LogLine {
                time_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
                component: log.component.clone(),
                level: level.into(),
                message: message.clone(),
                fields: fields.clone(),
            });
        }
        let component = log.component.as_str();
        let fields = FieldList(&fields);
        match level {
            LogLevel::Trace => tracing::trace!(target: "airssys::guest", component, %fields, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "airssys::guest", component, %fields, "{message}"),
            LogLevel::Info => tracing::info!(target: "airssys::guest", component, %fields, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "airssys::guest", component, %fields, "{message}"),
            LogLevel::Error => tracing::error!(target: "airssys::guest", component, %fields, "{message}"),
        }
    }

    fn emit_metric(&mut self, name: String, value: f64, labels: Vec<(String, String)>) {
        tracing::trace!(target: "airssys::guest", component = %self.log.component, metric = %name, value, labels = %FieldList(&labels));
    }
}

impl HostState {
    /// One line a WASI command wrote to stderr, as a guest log line at info
    /// level with the field `stream="stderr"` (same bounds as `host.log`).
    pub(crate) fn log_stderr(&mut self, line: &str) {
        use bindings::airssys::component::host::Host as _;
        self.log(LogLevel::Info, line.to_string(), vec![("stream".to_string(), "stderr".to_string())]);
    }
}

struct FieldList<'a>(&'a [(String, String)]);

impl std::fmt::Display for FieldList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        Ok(())
    }
}
