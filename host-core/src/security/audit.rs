//! The audit log: append-only JSON Lines (`DATA/audit.jsonl`), each record
//! carrying the sha256 of the previous record and its own, so an edited,
//! removed or reordered line is found by [`AuditLog::verify`].
//!
//! A record's `hash` is sha256 of `prev` + `\n` + the JSON of its body
//! (`seq`, `time_ms`, `event`, `service`, `detail`); `prev` is the previous
//! record's `hash` (64 zeros for the first).

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Error, Result, fsutil};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed part of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBody {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// `grant`, `revoke`, `deploy`, `rollback`, `deploy-refused`, `denied`, `signature-refused`, ...
    pub event: String,
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

fn record_hash(prev: &str, body: &AuditBody) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// What `verify` found wrong, at which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("audit log broken at line {line}: {reason}")]
pub struct AuditBreak {
    /// 1-based line number of the first bad record.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The audit log of a data folder. Cheap to clone; appends from threads and
/// processes are serialized.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    lock_dir: PathBuf,
    inner: Arc<Mutex<()>>,
}

impl AuditLog {
    /// The log in `data_dir`.
    pub fn open(data_dir: &Path) -> Self {
        AuditLog { path: data_dir.join("audit.jsonl"), lock_dir: data_dir.join("audit.lock.d"), inner: Arc::default() }
    }

    /// Appends a record chained to the last one.
    pub fn append(&self, event: &str, service: Option<&str>, detail: serde_json::Value) -> Result<AuditRecord> {
        let _thread = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let _process = fsutil::FolderLock::acquire(&self.lock_dir)?;
        let (seq, prev) = match self.last()? {
            Some(last) => (last.body.seq + 1, last.hash),
            None => (1, GENESIS.to_string()),
        };
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let body = AuditBody { seq, time_ms, event: event.to_string(), service: service.map(str::to_string), detail };
        let hash = record_hash(&prev, &body);
        let record = AuditRecord { body, prev, hash };
        let mut line = serde_json::to_vec(&record).map_err(|e| Error::Config(format!("cannot serialize: {e}")))?;
        line.push(b'\n');
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
            file.write_all(&line)?;
            file.sync_all()
        };
        write().map_err(|e| Error::io("append to the audit log", &self.path, e))?;
        Ok(record)
    }

    fn lines(&self) -> Result<Vec<String>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text.lines().map(str::to_string).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("read the audit log", &self.path, e)),
        }
    }

    fn last(&self) -> Result<Option<AuditRecord>> {
        let lines = self.lines()?;
        match lines.iter().rev().find(|l| !l.trim().is_empty()) {
            Some(line) => serde_json::from_str(line)
                .map(Some)
                .map_err(|source| Error::DataCorrupt { path: self.path.clone(), source }),
            None => Ok(None),
        }
    }

    /// Every record (unverified), oldest first.
    pub fn records(&self) -> Result<Vec<AuditRecord>> {
        self.lines()?
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|source| Error::DataCorrupt { path: self.path.clone(), source }))
            .collect()
    }

    /// Checks the whole chain; returns the number of records, or the first
    /// bad one.
    pub fn verify(&self) -> Result<std::result::Result<usize, AuditBreak>> {
        let mut prev = GENESIS.to_string();
        let lines = self.lines()?;
        for (i, line) in lines.iter().enumerate() {
            let fail = |reason: String| Ok(Err(AuditBreak { line: i + 1, reason }));
            let record: AuditRecord = match serde_json::from_str(line) {
                Ok(r) => r,
                Err(e) => return fail(format!("not a record ({e})")),
            };
            if record.body.seq != i as u64 + 1 {
                return fail(format!(
                    "sequence number {} where {} was expected (a line was removed or moved)",
                    record.body.seq,
                    i + 1
                ));
            }
            if record.prev != prev {
                return fail(
                    "its `prev` does not match the previous record's hash (a line was removed or moved)".into(),
                );
            }
            if record_hash(&record.prev, &record.body) != record.hash {
                return fail("its content does not match its hash (the line was edited)".into());
            }
            prev = record.hash;
        }
        Ok(Ok(lines.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path());
        for i in 0..n {
            log.append("grant", Some("svc"), serde_json::json!({ "capability": format!("env:V{i}") })).unwrap();
        }
        (dir, log)
    }

    fn rewrite(log: &AuditLog, f: impl FnOnce(&mut Vec<String>)) {
        let mut lines = log.lines().unwrap();
        f(&mut lines);
        std::fs::write(&log.path, lines.join("\n") + "\n").unwrap();
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
        again.append("revoke", Some("svc"), serde_json::json!({})).unwrap();
        assert_eq!(again.verify().unwrap(), Ok(3));
    }
}
