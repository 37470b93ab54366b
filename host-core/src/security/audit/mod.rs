//! The audit log: append-only JSON Lines (`DATA/audit.jsonl`), each record
//! carrying the sha256 of the previous record and its own, so an edited,
//! removed or reordered line is found by [`AuditLog::verify`]. Owns the
//! file and its chain; what a change records is the caller's.
//!
//! A record's `hash` is sha256 of `prev` + `\n` + the JSON of its body
//! (`seq`, `time_ms`, `event`, `service`, `detail`); `prev` is the previous
//! record's `hash` (64 zeros for the first).
//!
//! Audit or refuse: a state change first checks that its record can be
//! appended ([`AuditLog::check_appendable`]: the last line is a complete
//! record ending in a newline, the file opens for appending) and is refused
//! before anything changes otherwise; then it appends the record of its
//! outcome. A torn last line (a crash during an append) is named by file and
//! line; [`AuditLog::repair`] (`airssys audit repair`) moves exactly those
//! bytes to `audit.jsonl.torn-<UTC time>` and records a `repair`, after
//! which the chain verifies. A break anywhere else is an edit, and repair
//! refuses it rather than hide it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{
    Error, Result,
    journal::{self, Journal},
};
pub use event::AuditEvent;

mod event;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed part of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBody {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// What happened.
    pub event: AuditEvent,
    /// The service concerned, if any.
    pub service: Option<String>,
    /// Event details.
    pub detail: serde_json::Value,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The hashed body.
    #[serde(flatten)]
    pub body: AuditBody,
    /// The previous record's hash.
    pub prev: String,
    /// This record's hash.
    pub hash: String,
}

impl AuditRecord {
    /// The record that follows `last` (the first of a chain when `None`):
    /// next sequence number, `prev` = `last`'s hash, its own hash. The one
    /// rule for the file log and the fleet's stream.
    pub(crate) fn chained(
        last: Option<&AuditRecord>,
        event: AuditEvent,
        service: Option<&str>,
        detail: serde_json::Value,
    ) -> AuditRecord {
        let (seq, prev) = match last {
            Some(last) => (last.body.seq + 1, last.hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let body = AuditBody { seq, time_ms, event, service: service.map(str::to_string), detail };
        let hash = record_hash(&prev, &body);
        AuditRecord { body, prev, hash }
    }

    /// Why this record cannot stand at `position` (1-based) after a record
    /// whose hash is `prev` (the genesis hash for the first), if it cannot.
    pub(crate) fn chain_fault(&self, position: u64, prev: &str) -> Option<String> {
        if self.body.seq != position {
            return Some(format!(
                "sequence number {} where {position} was expected (a record was removed or moved)",
                self.body.seq
            ));
        }
        if self.prev != prev {
            return Some("its `prev` does not match the previous record's hash (a record was removed or moved)".into());
        }
        if record_hash(&self.prev, &self.body) != self.hash {
            return Some("its content does not match its hash (the record was edited)".into());
        }
        None
    }
}

/// The hash of the first record's predecessor.
pub(crate) const GENESIS_HASH: &str = GENESIS;

fn record_hash(prev: &str, body: &AuditBody) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// What `verify` found wrong, at which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error(
    "{} line {line}: {reason}{}: {}",
    journal::file_name(path),
    if *torn { ". `airssys audit repair` moves it aside" } else { "" },
    path.display()
)]
pub struct AuditBreak {
    /// 1-based line number of the first bad record.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
    /// The log file (on the machine that keeps it).
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// Whether this is a torn last line (a crash during an append), which
    /// `airssys audit repair` moves aside; otherwise the log was edited.
    #[serde(default)]
    pub torn: bool,
}

fn default_path() -> PathBuf {
    PathBuf::from(FILE)
}

/// A torn tail that `airssys audit repair` moved aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedTail {
    /// The log it was cut from: `audit.jsonl` or `rollouts.jsonl`.
    pub file: String,
    /// 1-based number of the first torn line.
    pub line: usize,
    /// How many bytes were moved (from the start of that line to the end of the file).
    pub bytes: u64,
    /// The file of the data folder that now holds exactly those bytes,
    /// e.g. `audit.jsonl.torn-20240611T103045Z`.
    pub moved_to: String,
}

impl MovedTail {
    fn detail(&self) -> serde_json::Value {
        serde_json::json!({ "file": self.file, "line": self.line, "bytes": self.bytes, "moved_to": self.moved_to })
    }
}

/// What `airssys audit repair` did to each log of a data folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRepair {
    /// The torn tail moved out of `audit.jsonl`, if it had one.
    pub audit: Option<MovedTail>,
    /// The torn tail moved out of `rollouts.jsonl`, if it had one.
    pub rollouts: Option<MovedTail>,
}

/// The log's file name in a data folder.
pub const FILE: &str = "audit.jsonl";

/// Whether a line is a whole audit record (chained or not).
fn is_record(text: &[u8]) -> bool {
    serde_json::from_slice::<AuditRecord>(text).is_ok()
}

/// The audit log of a data folder. Cheap to clone; appends from threads and
/// processes are serialized.
///
/// A change that must be audited first calls [`AuditLog::check_appendable`]
/// (refused with [`Error::LogTorn`] or [`Error::LogUnwritable`] before
/// anything changes), then appends its record.
#[derive(Debug, Clone)]
pub struct AuditLog {
    journal: Journal,
}

impl AuditLog {
    /// The log in `data_dir`.
    pub fn open(data_dir: &Path) -> Self {
        AuditLog { journal: Journal::new(data_dir.join(FILE), data_dir.join("audit.lock.d")) }
    }

    /// The file, `DATA/audit.jsonl`.
    pub fn path(&self) -> &Path {
        self.journal.path()
    }

    /// Refuses unless a record can be appended now: the last line is a
    /// complete record ending in a newline ([`Error::LogTorn`] names the
    /// line otherwise) and the file opens for appending
    /// ([`Error::LogUnwritable`]).
    pub fn check_appendable(&self) -> Result<()> {
        self.journal.check_appendable(is_record)
    }

    /// Appends a record chained to the last one. Refused, with nothing
    /// written, when the last line is torn ([`Error::LogTorn`]).
    pub fn append(&self, event: AuditEvent, service: Option<&str>, detail: serde_json::Value) -> Result<AuditRecord> {
        let _lock = self.journal.lock()?;
        self.append_locked(event, service, detail)
    }

    /// [`AuditLog::append`] for a caller holding the lock.
    fn append_locked(
        &self,
        event: AuditEvent,
        service: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<AuditRecord> {
        let last = self.journal.intact_last_line(is_record)?;
        let last = last.and_then(|text| serde_json::from_slice::<AuditRecord>(&text).ok());
        let record = AuditRecord::chained(last.as_ref(), event, service, detail);
        let mut line = serde_json::to_vec(&record).map_err(Error::encode("the audit record"))?;
        line.push(b'\n');
        self.journal.append_line(&line)?;
        Ok(record)
    }

    fn read(&self) -> Result<Vec<u8>> {
        self.journal.read().map_err(|e| Error::io("read the audit log", self.path(), e))
    }

    /// Every record (unverified), oldest first. A torn last line is skipped
    /// with a warning naming the file and line; any other unreadable line
    /// is [`Error::LogCorrupt`].
    pub fn records(&self) -> Result<Vec<AuditRecord>> {
        let bytes = self.read()?;
        let lines = journal::split(&bytes);
        let mut records = Vec::with_capacity(lines.len());
        for line in journal::before_torn_tail(self.path(), &lines, is_record) {
            match serde_json::from_slice(line.text) {
                Ok(record) => records.push(record),
                Err(e) => {
                    return Err(Error::LogCorrupt {
                        path: self.path().to_path_buf(),
                        line: line.number,
                        reason: format!("not a record ({e}), and intact records follow it"),
                    });
                }
            }
        }
        Ok(records)
    }

    /// Checks the whole chain; returns the number of records, or the first
    /// bad one (file, line, reason, and whether it is a torn last line).
    pub fn verify(&self) -> Result<std::result::Result<usize, AuditBreak>> {
        Ok(self.check_chain(&self.read()?))
    }

    fn check_chain(&self, bytes: &[u8]) -> std::result::Result<usize, AuditBreak> {
        let lines = journal::split(bytes);
        let torn = journal::torn_tail(&lines, is_record).map_or(usize::MAX, |l| l.number);
        let mut prev = GENESIS.to_string();
        for line in &lines {
            let fail = |reason: String, torn: bool| {
                Err(AuditBreak { line: line.number, reason, path: self.path().to_path_buf(), torn })
            };
            if line.number == torn {
                return fail(journal::torn_reason(line, is_record), true);
            }
            let record: AuditRecord = match serde_json::from_slice(line.text) {
                Ok(r) => r,
                Err(e) => return fail(format!("not a record ({e}), and intact records follow it"), false),
            };
            if let Some(fault) = record.chain_fault(line.number as u64, &prev) {
                return fail(fault, false);
            }
            prev = record.hash;
        }
        Ok(lines.len())
    }

    /// Repairs a torn tail (what a crash during an append leaves): moves the
    /// bytes from the start of the torn line to the end of the file to
    /// `audit.jsonl.torn-<UTC time>` beside it, then appends a `repair`
    /// record (detail: `file`, `line`, `bytes`, `moved_to`), so the chain
    /// verifies again. `None` when the chain is intact.
    ///
    /// Any other break (an edited, removed or moved line, an unreadable line
    /// with records after it) is refused with [`Error::LogCorrupt`] and
    /// nothing is touched: moving it aside would hide the edit.
    pub fn repair(&self) -> Result<Option<MovedTail>> {
        let _lock = self.journal.lock()?;
        let bytes = self.journal.read().map_err(|e| self.journal.unwritable(e))?;
        let broken = match self.check_chain(&bytes) {
            Ok(_) => return Ok(None),
            Err(broken) => broken,
        };
        if !broken.torn {
            return Err(Error::LogCorrupt {
                path: self.path().to_path_buf(),
                line: broken.line,
                reason: broken.reason,
            });
        }
        let from = journal::split(&bytes).get(broken.line - 1).map_or(bytes.len(), |l| l.start);
        let moved = self.move_tail(&self.journal, &bytes, from, broken.line)?;
        self.append_locked(AuditEvent::Repair, None, moved.detail()).map_err(|e| unrecorded(&moved, self.path(), e))?;
        Ok(Some(moved))
    }

    /// Repairs the torn tail of another log of the data folder, one without
    /// a chain (`rollouts.jsonl`), and records the repair in this log.
    /// Unreadable lines followed by readable ones stay (readers skip them
    /// with a warning). `None` when its last line is a complete record.
    pub(crate) fn repair_other(&self, other: &Journal, is_record: impl Fn(&[u8]) -> bool) -> Result<Option<MovedTail>> {
        let _lock = other.lock()?;
        let bytes = other.read().map_err(|e| other.unwritable(e))?;
        let lines = journal::split(&bytes);
        let Some(first) = journal::torn_tail(&lines, is_record) else { return Ok(None) };
        // The repair must be recordable before anything moves.
        self.check_appendable()?;
        let moved = self.move_tail(other, &bytes, first.start, first.number)?;
        self.append(AuditEvent::Repair, None, moved.detail()).map_err(|e| unrecorded(&moved, self.path(), e))?;
        Ok(Some(moved))
    }

    fn move_tail(&self, journal: &Journal, bytes: &[u8], from: usize, line: usize) -> Result<MovedTail> {
        let aside = journal.move_aside(bytes, from)?;
        let moved = MovedTail {
            file: journal.file_name(),
            line,
            bytes: (bytes.len() - from) as u64,
            moved_to: journal::file_name(&aside),
        };
        tracing::info!(file = %moved.file, line, bytes = moved.bytes, moved_to = %aside.display(), "moved a torn tail aside");
        Ok(moved)
    }
}

fn unrecorded(moved: &MovedTail, path: &Path, source: Error) -> Error {
    Error::Unrecorded {
        change: format!(
            "the repair of {} (line {} on, {} bytes, moved to {})",
            moved.file, moved.line, moved.bytes, moved.moved_to
        ),
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Trigger;

    fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path());
        for i in 0..n {
            log.append(
                AuditEvent::Changed(Trigger::Grant),
                Some("svc"),
                serde_json::json!({ "capability": format!("env:V{i}") }),
            )
            .unwrap();
        }
        (dir, log)
    }

    fn rewrite(log: &AuditLog, f: impl FnOnce(&mut Vec<String>)) {
        let text = std::fs::read_to_string(log.path()).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        f(&mut lines);
        std::fs::write(log.path(), lines.join("\n") + "\n").unwrap();
    }

    /// Cuts the last `n` bytes off the log, as a crash during an append does.
    fn tear(log: &AuditLog, n: usize) -> Vec<u8> {
        let mut bytes = std::fs::read(log.path()).unwrap();
        let torn = bytes.split_off(bytes.len() - n);
        std::fs::write(log.path(), &bytes).unwrap();
        torn
    }

    fn moved_aside(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| journal::file_name(p).starts_with("audit.jsonl.torn-"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (_dir, log) = log_with(5);
        assert_eq!(log.verify().unwrap(), Ok(5));
        assert_eq!(log.records().unwrap()[4].body.seq, 5);
    }

    #[test]
    fn an_edited_line_is_named() {
        let (_dir, log) = log_with(5);
        rewrite(&log, |lines| lines[2] = lines[2].replace("env:V2", "env:EVIL"));
        let broken = log.verify().unwrap().unwrap_err();
        assert_eq!(broken.line, 3);
        assert!(broken.reason.contains("edited"), "{broken}");
    }

    #[test]
    fn a_removed_line_is_found() {
        let (_dir, log) = log_with(5);
        rewrite(&log, |lines| {
            lines.remove(1);
        });
        assert_eq!(log.verify().unwrap().unwrap_err().line, 2);
    }

    #[test]
    fn swapped_lines_are_found() {
        let (_dir, log) = log_with(5);
        rewrite(&log, |lines| lines.swap(1, 3));
        assert_eq!(log.verify().unwrap().unwrap_err().line, 2);
    }

    #[test]
    fn appending_after_a_restart_continues_the_chain() {
        let (dir, log) = log_with(2);
        drop(log);
        let again = AuditLog::open(dir.path());
        again.append(AuditEvent::Changed(Trigger::Revoke), Some("svc"), serde_json::json!({})).unwrap();
        assert_eq!(again.verify().unwrap(), Ok(3));
    }

    #[test]
    fn a_torn_last_line_is_named_by_file_and_line() {
        let (_dir, log) = log_with(3);
        tear(&log, 20);
        let broken = log.verify().unwrap().unwrap_err();
        assert_eq!((broken.line, broken.torn), (3, true));
        let text = broken.to_string();
        assert!(text.starts_with("audit.jsonl line 3: torn/incomplete record"), "{text}");
        assert!(text.contains("airssys audit repair") && text.contains(&log.path().display().to_string()), "{text}");
    }

    #[test]
    fn a_torn_tail_refuses_appends_and_writes_nothing() {
        let (_dir, log) = log_with(2);
        tear(&log, 5);
        let before = std::fs::read(log.path()).unwrap();
        for err in [
            log.check_appendable().unwrap_err(),
            log.append(AuditEvent::Changed(Trigger::Grant), None, serde_json::json!({})).unwrap_err(),
        ] {
            assert!(matches!(err, Error::LogTorn { line: 2, .. }), "{err:?}");
            let text = err.to_string();
            assert!(text.contains("audit.jsonl line 2") && text.contains("airssys audit repair"), "{text}");
            assert!(text.contains("refusal itself cannot be recorded"), "{text}");
        }
        assert_eq!(std::fs::read(log.path()).unwrap(), before);
    }

    #[test]
    fn a_record_without_its_newline_is_a_torn_tail() {
        let (_dir, log) = log_with(2);
        assert_eq!(tear(&log, 1), b"\n");
        let broken = log.verify().unwrap().unwrap_err();
        assert_eq!((broken.line, broken.torn), (2, true));
        assert!(matches!(log.check_appendable(), Err(Error::LogTorn { line: 2, .. })));
    }

    #[test]
    fn repair_moves_exactly_the_torn_bytes_aside_and_records_itself() {
        let (dir, log) = log_with(3);
        let full = std::fs::read(log.path()).unwrap();
        let torn_from = full[..full.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
        tear(&log, 20);
        let torn = full[torn_from..full.len() - 20].to_vec();
        let moved = log.repair().unwrap().expect("a torn tail to move");
        assert_eq!((moved.file.as_str(), moved.line, moved.bytes), ("audit.jsonl", 3, torn.len() as u64));
        let aside = moved_aside(dir.path());
        assert_eq!(aside.len(), 1);
        assert_eq!(journal::file_name(&aside[0]), moved.moved_to);
        assert_eq!(std::fs::read(&aside[0]).unwrap(), torn);
        assert_eq!(log.verify().unwrap(), Ok(3));
        let last = log.records().unwrap().pop().unwrap();
        assert!(last.body.event == "repair" && last.body.seq == 3, "{last:?}");
        assert_eq!(last.body.detail["moved_to"], moved.moved_to.as_str());
        assert_eq!(last.body.detail["bytes"], torn.len());
        // Appends work again, and a second repair finds nothing to do.
        log.append(AuditEvent::Changed(Trigger::Grant), Some("svc"), serde_json::json!({})).unwrap();
        assert_eq!(log.verify().unwrap(), Ok(4));
        assert_eq!(log.repair().unwrap(), None);
    }

    #[test]
    fn repair_refuses_an_unreadable_line_with_records_after_it() {
        let (dir, log) = log_with(4);
        rewrite(&log, |lines| lines[1].truncate(30));
        let before = std::fs::read(log.path()).unwrap();
        let broken = log.verify().unwrap().unwrap_err();
        assert_eq!((broken.line, broken.torn), (2, false));
        let err = log.repair().unwrap_err();
        assert!(matches!(err, Error::LogCorrupt { line: 2, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("audit.jsonl line 2") && text.contains("hide an edit"), "{text}");
        assert_eq!(std::fs::read(log.path()).unwrap(), before, "nothing touched");
        assert!(moved_aside(dir.path()).is_empty());
        // The listing does not skip it either.
        assert!(matches!(log.records(), Err(Error::LogCorrupt { line: 2, .. })));
    }

    #[test]
    fn repair_refuses_an_edited_last_line() {
        let (_dir, log) = log_with(3);
        rewrite(&log, |lines| lines[2] = lines[2].replace("env:V2", "env:EVIL"));
        let before = std::fs::read(log.path()).unwrap();
        assert!(matches!(log.repair(), Err(Error::LogCorrupt { line: 3, .. })));
        assert_eq!(std::fs::read(log.path()).unwrap(), before);
    }

    #[test]
    fn the_listing_skips_a_torn_tail_but_keeps_every_record_before_it() {
        let (_dir, log) = log_with(3);
        tear(&log, 10);
        assert_eq!(log.records().unwrap().len(), 2);
    }

    #[test]
    fn a_break_travels_with_its_file_and_kind() {
        let (_dir, log) = log_with(2);
        tear(&log, 3);
        let broken = log.verify().unwrap().unwrap_err();
        let json = serde_json::to_string(&broken).unwrap();
        assert_eq!(serde_json::from_str::<AuditBreak>(&json).unwrap(), broken);
        // An answer without the newer fields still reads.
        let old: AuditBreak = serde_json::from_str(r#"{"line": 2, "reason": "x"}"#).unwrap();
        assert_eq!((old.path, old.torn), (PathBuf::from("audit.jsonl"), false));
    }
}
