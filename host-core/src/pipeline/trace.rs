//! Message traces: what each pipeline run did, node by node, kept for the
//! last runs.
//!
//! Every run gets a [`TraceId`] (16 random bytes, 32 lowercase hex digits,
//! as OpenTelemetry and W3C Trace Context spell trace ids). Its
//! [`RunTrace`] lists the node calls in the order they ran ([`TraceStep`]:
//! node, service, input and output summaries, the output's port, start and
//! duration in µs, error). A [`MessageSummary`] keeps a message's size,
//! media type (`content-type` metadata), its first [`PREVIEW_BYTES`] bytes
//! and at most [`METADATA_ENTRIES`] metadata entries (long values cut to
//! [`PREVIEW_BYTES`]): a trace never copies a whole body.
//!
//! [`Traces`] is a host's ring of the last N runs (`HostConfig::trace_runs`;
//! 0 turns tracing off). Runs go into memory during the run (a push under a
//! mutex); the disk is written off the hot path: at `Host::close`, and by
//! the monitor thread of long-running processes. `DATA/traces.jsonl` holds
//! one `RunTrace` per line, oldest first, trimmed to the last N runs; a
//! flush reads it, appends what this process has not written and rewrites
//! it atomically under the data folder's lock, so processes sharing the
//! folder add up and never tear it. A line that does not parse is skipped.
//!
//! ```text
//! DATA/traces.jsonl   {"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","pipeline":"text",...}
//! ```

use std::{
    collections::{HashSet, VecDeque},
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

use crate::{Result, Value, fsutil};

/// Runs a host keeps by default (memory and `traces.jsonl`).
pub const DEFAULT_TRACE_RUNS: usize = 100;
/// Bytes of a body a trace keeps, and of each metadata value.
pub const PREVIEW_BYTES: usize = 256;
/// Metadata entries a trace keeps per message.
pub const METADATA_ENTRIES: usize = 16;
/// The file in the data folder.
pub const TRACES_FILE: &str = "traces.jsonl";

/// A run's id: 16 random bytes, shown as 32 lowercase hex digits (never all
/// zeros), like an OpenTelemetry trace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

impl TraceId {
    /// A new random id. The process draws a 128-bit key from the system's
    /// randomness once (the clock if it has none); each id is that key and
    /// a counter through SplitMix64, so ids are unique within a process and
    /// unpredictable across processes, with no system call per run.
    pub fn random() -> TraceId {
        use std::sync::{
            OnceLock,
            atomic::{AtomicU64, Ordering},
        };
        static KEY: OnceLock<[u64; 2]> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let key = KEY.get_or_init(|| {
            let mut bytes = [0u8; 16];
            if getrandom::fill(&mut bytes).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                bytes[..8].copy_from_slice(&nanos.to_le_bytes());
                bytes[8..].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
            }
            let key = u128::from_le_bytes(bytes);
            [key as u64, (key >> 64) as u64]
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // SplitMix64 is a bijection of its input: distinct counters give distinct high halves.
        let high = splitmix64(key[0].wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let low = splitmix64(key[1] ^ high) | 1;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&high.to_be_bytes());
        bytes[8..].copy_from_slice(&low.to_be_bytes());
        TraceId(bytes)
    }
}

/// SplitMix64's output function (Steele, Lea, Flood 2014).
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::str::FromStr for TraceId {
    type Err = String;

    /// 32 hex digits.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| format!("`{s}` is not a trace id (32 hex digits)"))?;
        Ok(TraceId(bytes))
    }
}

impl Serialize for TraceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TraceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A message as a trace keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// The body's size in bytes.
    pub size: u64,
    /// The `content-type` metadata, when it is text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The body's first [`PREVIEW_BYTES`] bytes as UTF-8 (invalid bytes
    /// replaced by U+FFFD).
    pub preview: String,
    /// The first [`METADATA_ENTRIES`] metadata entries besides
    /// `content-type`, text, JSON and byte values cut to [`PREVIEW_BYTES`]
    /// bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<(String, Value)>,
}

impl MessageSummary {
    /// The summary of a body and its metadata (copies at most
    /// [`PREVIEW_BYTES`] of the body).
    pub fn of(data: &[u8], metadata: &[(String, Value)]) -> MessageSummary {
        let media_type = metadata.iter().find_map(|(k, v)| match v {
            Value::Text(t) if k == "content-type" => Some(t.clone()),
            _ => None,
        });
        let preview = String::from_utf8_lossy(&data[..data.len().min(PREVIEW_BYTES)]).into_owned();
        // `content-type` is the media type already.
        let metadata = metadata
            .iter()
            .filter(|(k, _)| k != "content-type")
            .take(METADATA_ENTRIES)
            .map(|(k, v)| (cut(k).to_string(), capped(v)))
            .collect();
        MessageSummary { size: data.len() as u64, media_type, preview, metadata }
    }
}

/// `text` cut to at most [`PREVIEW_BYTES`] bytes, at a character boundary.
fn cut(text: &str) -> &str {
    if text.len() <= PREVIEW_BYTES {
        return text;
    }
    let mut end = PREVIEW_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn capped(value: &Value) -> Value {
    match value {
        Value::Text(t) => Value::Text(cut(t).to_string()),
        Value::Json(t) => Value::Json(cut(t).to_string()),
        Value::Bytes(b) => Value::Bytes(b[..b.len().min(PREVIEW_BYTES)].to_vec()),
        other => other.clone(),
    }
}

/// One call of a node in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The node.
    pub node: String,
    /// The service it called.
    pub service: String,
    /// The message it received.
    pub input: MessageSummary,
    /// The port the output left by (`out` unless the component chose;
    /// `error` for a failure the node routes); `None` when nothing left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// What it emitted (for a routed failure: the error message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<MessageSummary>,
    /// When the call started, µs after the run started.
    pub start_us: u64,
    /// How long the call took, µs.
    pub duration_us: u64,
    /// Why the call failed (whatever the node's error policy did with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTrace {
    /// Its id (also in `PipelineRun::trace_id`).
    pub trace_id: TraceId,
    /// The pipeline's name.
    pub pipeline: String,
    /// When it started, ms since the Unix epoch.
    pub start_ms: u64,
    /// How long it took, µs.
    pub duration_us: u64,
    /// Why the run failed; `None` when it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Messages that reached the sinks.
    pub results: usize,
    /// Messages dropped (unwired ports, the `drop` policy).
    pub dropped: u64,
    /// The node calls, in the order they ran.
    pub steps: Vec<TraceStep>,
}

impl RunTrace {
    /// Whether the run completed.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// When it started, RFC 3339 in UTC with milliseconds
    /// (`2026-12-01T09:30:00.123Z`).
    pub fn started_at(&self) -> String {
        let stamp = crate::journal::utc_stamp(self.start_ms / 1000);
        // YYYYMMDDTHHMMSSZ
        format!(
            "{}-{}-{}T{}:{}:{}.{:03}Z",
            &stamp[..4],
            &stamp[4..6],
            &stamp[6..8],
            &stamp[9..11],
            &stamp[11..13],
            &stamp[13..15],
            self.start_ms % 1000
        )
    }
}

/// The ring: the last runs, the newest `unflushed` not in the file yet.
#[derive(Default)]
struct Ring {
    runs: VecDeque<RunTrace>,
    unflushed: usize,
}

/// A host's traces: the ring in memory and `DATA/traces.jsonl`.
pub(crate) struct Traces {
    capacity: usize,
    dir: PathBuf,
    ring: Mutex<Ring>,
    /// One flush (or read) at a time in this process; the folder lock
    /// orders processes.
    flushing: Mutex<()>,
}

impl Traces {
    /// The traces of data folder `dir`, keeping `capacity` runs (0: none).
    pub(crate) fn new(dir: &Path, capacity: usize) -> Self {
        Traces { capacity, dir: dir.to_path_buf(), ring: Mutex::default(), flushing: Mutex::default() }
    }

    /// Whether runs are traced.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Keeps a run (dropping the oldest past the capacity).
    pub(crate) fn record(&self, trace: RunTrace) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.runs.push_back(trace);
        let evicted = if ring.runs.len() > self.capacity { ring.runs.pop_front() } else { None };
        ring.unflushed = (ring.unflushed + 1).min(ring.runs.len());
        drop(ring);
        // Freed outside the lock.
        drop(evicted);
    }

    /// The runs this process has not written yet, oldest first.
    fn unflushed(&self) -> Vec<RunTrace> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.runs.iter().skip(ring.runs.len() - ring.unflushed).cloned().collect()
    }

    fn path(&self) -> PathBuf {
        self.dir.join(TRACES_FILE)
    }

    /// The runs in the file, oldest first (lines that do not parse skipped).
    fn stored(&self) -> Result<Vec<RunTrace>> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(crate::Error::io("read the traces", &path, e)),
        };
        let mut skipped = 0;
        let runs = bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| {
                let run = serde_json::from_slice(line).ok();
                skipped += usize::from(run.is_none());
                run
            })
            .collect();
        if skipped > 0 {
            tracing::warn!(path = %path.display(), skipped, "skipped unreadable trace lines");
        }
        Ok(runs)
    }

    /// Adds this process's new runs to the file, keeping the last
    /// `capacity` runs.
    pub(crate) fn flush(&self) -> Result<()> {
        let _one = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let new = self.unflushed();
        if new.is_empty() {
            return Ok(());
        }
        let _folder = fsutil::FolderLock::acquire(&self.dir)?;
        let mut runs = self.stored()?;
        runs.extend(new.iter().cloned());
        let keep = runs.len().saturating_sub(self.capacity);
        let mut bytes = Vec::new();
        for run in &runs[keep..] {
            serde_json::to_writer(&mut bytes, run).map_err(crate::Error::encode("a trace"))?;
            bytes.push(b'\n');
        }
        fsutil::write_atomic(&self.path(), &bytes)?;
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.unflushed = ring.unflushed.saturating_sub(new.len());
        Ok(())
    }

    /// The last `last` runs (0: all kept), of one pipeline or all, oldest
    /// first: the file plus what this process has not written yet.
    pub(crate) fn list(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunTrace>> {
        let _one = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let mut runs = self.stored()?;
        let mut seen: HashSet<TraceId> = runs.iter().map(|r| r.trace_id).collect();
        runs.extend(self.unflushed().into_iter().filter(|r| seen.insert(r.trace_id)));
        // Stable: runs of one process keep their order.
        runs.sort_by_key(|r| r.start_ms);
        if self.capacity > 0 && runs.len() > self.capacity {
            runs.drain(..runs.len() - self.capacity);
        }
        runs.retain(|r| pipeline.is_none_or(|p| r.pipeline == p));
        if last > 0 && runs.len() > last {
            runs.drain(..runs.len() - last);
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u64) -> RunTrace {
        RunTrace {
            trace_id: TraceId::random(),
            pipeline: if n.is_multiple_of(2) { "even".into() } else { "odd".into() },
            start_ms: n,
            duration_us: 1,
            error: None,
            results: 1,
            dropped: 0,
            steps: Vec::new(),
        }
    }

    #[test]
    fn trace_ids_are_32_hex_digits_and_read_back() {
        let id = TraceId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{text}");
        assert_eq!(text.parse::<TraceId>().unwrap(), id);
        assert_ne!(TraceId::random(), id);
        assert!("xyz".parse::<TraceId>().unwrap_err().contains("32 hex digits"));
    }

    #[test]
    fn start_times_read_as_rfc_3339() {
        let mut trace = run(0);
        trace.start_ms = 1_764_581_400_123;
        assert_eq!(trace.started_at(), "2025-12-01T09:30:00.123Z");
    }

    #[test]
    fn a_summary_keeps_the_first_bytes_and_caps_metadata() {
        let body = vec![b'a'; 1000];
        let mut metadata: Vec<(String, Value)> = vec![("content-type".into(), Value::Text("text/plain".into()))];
        metadata.extend((0..40).map(|i| (format!("k{i}"), Value::Text("é".repeat(200)))));
        let summary = MessageSummary::of(&body, &metadata);
        assert_eq!((summary.size, summary.preview.len()), (1000, PREVIEW_BYTES));
        assert_eq!(summary.media_type.as_deref(), Some("text/plain"));
        assert_eq!(summary.metadata.len(), METADATA_ENTRIES);
        let Value::Text(cut) = &summary.metadata[1].1 else { panic!("text") };
        assert!(cut.len() <= PREVIEW_BYTES && cut.chars().all(|c| c == 'é'), "cut at a character boundary");
    }

    #[test]
    fn the_ring_and_the_file_keep_the_last_runs() {
        let dir = tempfile::tempdir().unwrap();
        let traces = Traces::new(dir.path(), 3);
        for n in 0..5 {
            traces.record(run(n));
        }
        assert_eq!(traces.list(None, 0).unwrap().iter().map(|r| r.start_ms).collect::<Vec<_>>(), [2, 3, 4]);
        traces.flush().unwrap();
        // Another process on the same folder adds its own.
        let other = Traces::new(dir.path(), 3);
        other.record(run(5));
        assert_eq!(other.list(None, 0).unwrap().iter().map(|r| r.start_ms).collect::<Vec<_>>(), [3, 4, 5]);
        other.flush().unwrap();
        let text = std::fs::read_to_string(dir.path().join(TRACES_FILE)).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert_eq!(traces.list(Some("odd"), 1).unwrap().iter().map(|r| r.start_ms).collect::<Vec<_>>(), [5]);
        // Flushing again writes nothing twice.
        traces.flush().unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join(TRACES_FILE)).unwrap(), text);
    }
}
