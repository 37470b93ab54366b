//! Append-only JSON Lines files of a data folder: `audit.jsonl` and
//! `rollouts.jsonl` (lines, tails and locks; what a record holds is the
//! caller's).
//!
//! Each record is one line, written whole by one `write` and fsynced. A crash
//! during an append can still leave the last line cut short: a *torn tail*.
//! So before a change, its log is checked ([`Journal::check_appendable`]):
//! the last line must be a complete record ending in `\n` and the file must
//! open for appending; otherwise the change is refused with
//! [`Error::LogTorn`] (file, line, what to do) or [`Error::LogUnwritable`],
//! and nothing is glued onto the torn bytes. [`Journal::move_aside`] moves a
//! torn tail to `NAME.torn-<UTC time>` in the same folder (`airssys audit
//! repair`).
//!
//! Appends from threads (a mutex) and processes (a folder lock in
//! `lock_dir`) take turns.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
};

use crate::{Error, Result, fsutil::FolderLock};

/// One line of a journal file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the line's first byte.
    pub start: usize,
    /// The line without its `\n`.
    pub text: &'a [u8],
    /// Whether a `\n` ends it (only the last line of a file can lack one).
    pub complete: bool,
}

/// The lines of `bytes`; a last line without `\n` is `complete: false`.
pub(crate) fn split(bytes: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let (text, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        lines.push(Line { number: lines.len() + 1, start, text, complete });
        start += text.len() + usize::from(complete);
    }
    lines
}

/// The torn tail of `bytes`: the lines after the last one `is_record`
/// accepts, if any of them is bad (or the last one lacks its `\n`). Returns
/// the first torn line.
pub(crate) fn torn_tail<'a>(lines: &[Line<'a>], is_record: impl Fn(&[u8]) -> bool) -> Option<Line<'a>> {
    let intact = |line: &Line<'_>| line.complete && is_record(line.text);
    let after_last_good = lines.iter().rposition(intact).map_or(0, |i| i + 1);
    lines.get(after_last_good).copied()
}

/// The lines before the torn tail, if there is one (it is skipped with a
/// warning naming the file and line: `airssys audit repair` moves it aside).
pub(crate) fn before_torn_tail<'a, 'b>(
    path: &Path,
    lines: &'b [Line<'a>],
    is_record: impl Fn(&[u8]) -> bool,
) -> &'b [Line<'a>] {
    match torn_tail(lines, is_record) {
        Some(torn) => {
            tracing::warn!(
                "{} line {}: skipping a torn last record; `airssys audit repair` moves it aside",
                path.display(),
                torn.number
            );
            &lines[..torn.number - 1]
        }
        None => lines,
    }
}

/// Why `line` is a torn (cut-short) record, in words.
pub(crate) fn torn_reason(line: &Line<'_>, is_record: impl Fn(&[u8]) -> bool) -> String {
    match (line.complete, is_record(line.text)) {
        (false, true) => "a record without its closing newline, cut short by a crash during an append".into(),
        (false, false) => "torn/incomplete record: the line is cut short, without its closing newline, as a crash \
                           during an append leaves it"
            .into(),
        (true, _) => "torn/incomplete record: the line is not a complete record, as a crash during an append \
                      leaves it"
            .into(),
    }
}

/// An append-only JSON Lines file.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    path: PathBuf,
    lock_dir: PathBuf,
    thread: Arc<Mutex<()>>,
}

/// Held while a journal is read and appended to.
pub(crate) struct JournalLock<'a> {
    _thread: MutexGuard<'a, ()>,
    _process: FolderLock,
}

impl Journal {
    /// The journal at `path`, locked through `lock_dir`.
    pub(crate) fn new(path: PathBuf, lock_dir: PathBuf) -> Self {
        Journal { path, lock_dir, thread: Arc::default() }
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's name, e.g. `audit.jsonl`.
    pub(crate) fn file_name(&self) -> String {
        file_name(&self.path)
    }

    /// Takes the journal's thread and process locks.
    pub(crate) fn lock(&self) -> Result<JournalLock<'_>> {
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        let process = FolderLock::acquire(&self.lock_dir)?;
        Ok(JournalLock { _thread: thread, _process: process })
    }

    /// The file's bytes; empty when it does not exist yet.
    pub(crate) fn read(&self) -> std::io::Result<Vec<u8>> {
        match fs::read(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    /// Refuses unless a record can be appended now: the last line (if any)
    /// is a complete record `is_record` accepts, ending in `\n`, and the
    /// file opens for appending. Takes the lock itself.
    pub(crate) fn check_appendable(&self, is_record: impl Fn(&[u8]) -> bool) -> Result<()> {
        let _lock = self.lock()?;
        self.intact_last_line(is_record)?;
        self.open_append().map(drop)
    }

    /// The last line (without its `\n`) once it is known to be a complete
    /// record; `None` for an empty or missing file. [`Error::LogTorn`] names
    /// the line otherwise. Reads only the end of the file (the whole file
    /// only to number a torn line). The caller holds the lock.
    pub(crate) fn intact_last_line(&self, is_record: impl Fn(&[u8]) -> bool) -> Result<Option<Vec<u8>>> {
        let last = match fs::File::open(&self.path) {
            Ok(mut file) => last_line(&mut file).map_err(|source| self.unwritable(source))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(self.unwritable(source)),
        };
        match last {
            Some((text, true)) if is_record(&text) => Ok(Some(text)),
            None => Ok(None),
            Some(_) => {
                let bytes = self.read().map_err(|source| self.unwritable(source))?;
                let lines = split(&bytes);
                let torn = lines
                    .last()
                    .ok_or_else(|| self.unwritable(std::io::Error::other("the file changed while it was read")))?;
                Err(Error::LogTorn { path: self.path.clone(), line: torn.number, reason: torn_reason(torn, is_record) })
            }
        }
    }

    fn open_append(&self) -> Result<fs::File> {
        fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(|source| self.unwritable(source))
    }

    /// The error for a journal that cannot be read or appended to.
    pub(crate) fn unwritable(&self, source: std::io::Error) -> Error {
        Error::LogUnwritable { path: self.path.clone(), source }
    }

    /// Appends `line` (which ends in `\n`) and fsyncs. The caller holds the
    /// lock and has checked the tail.
    pub(crate) fn append_line(&self, line: &[u8]) -> Result<()> {
        let mut file = self.open_append()?;
        file.write_all(line).and_then(|()| file.sync_all()).map_err(|source| self.unwritable(source))
    }

    /// Moves `bytes[from..]` (the torn tail) to `NAME.torn-<UTC time>` in the
    /// same folder, fsynced, then cuts the journal at `from`. The caller
    /// holds the lock and read `bytes` under it. Returns the new file.
    pub(crate) fn move_aside(&self, bytes: &[u8], from: usize) -> Result<PathBuf> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let stem = format!("{}.torn-{}", self.file_name(), utc_stamp(crate::fsutil::unix_now()));
        let (aside, mut file) = (1..1000)
            .map(|n| if n == 1 { dir.join(&stem) } else { dir.join(format!("{stem}-{n}")) })
            .find_map(|candidate| {
                fs::OpenOptions::new().write(true).create_new(true).open(&candidate).ok().map(|f| (candidate, f))
            })
            .ok_or_else(|| {
                Error::io(
                    "create a file for the torn bytes",
                    dir.join(&stem),
                    std::io::Error::new(std::io::ErrorKind::AlreadyExists, "every name is taken"),
                )
            })?;
        file.write_all(&bytes[from..])
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write the torn bytes aside", &aside, e))?;
        // Only now, with the bytes safe elsewhere, cut the journal.
        (|| -> std::io::Result<()> {
            let journal = fs::OpenOptions::new().write(true).open(&self.path)?;
            journal.set_len(from as u64)?;
            journal.sync_all()?;
            fs::File::open(dir)?.sync_all()
        })()
        .map_err(|e| Error::io("cut the torn bytes off", &self.path, e))?;
        Ok(aside)
    }
}

/// The last line of `file`: its bytes without `\n` and whether a `\n` ends
/// it; `None` when the file is empty. Reads backwards in 64 KiB steps.
fn last_line(file: &mut fs::File) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    use std::io::{Read, Seek, SeekFrom};
    const STEP: u64 = 64 * 1024;
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut pos = len;
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let step = pos.min(STEP);
        pos -= step;
        let mut chunk = vec![0; step as usize];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        // A `\n` before the final byte ends the line before the last one.
        let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
        if let Some(end) = body.iter().rposition(|&b| b == b'\n') {
            tail.drain(..=end);
            break;
        }
        if pos == 0 {
            break;
        }
    }
    let complete = tail.last() == Some(&b'\n');
    if complete {
        tail.pop();
    }
    Ok(Some((tail, complete)))
}

/// The last component of `path`, e.g. `audit.jsonl`.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds (UTC), usable in file names.
pub(crate) fn utc_stamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_digit_line(text: &[u8]) -> bool {
        !text.is_empty() && text.iter().all(u8::is_ascii_digit)
    }

    #[test]
    fn lines_know_their_offsets_and_whether_a_newline_ends_them() {
        let lines = split(b"1\n22\n33");
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[1].number, lines[1].start, lines[1].text, lines[1].complete), (2, 2, &b"22"[..], true));
        assert_eq!((lines[2].start, lines[2].complete), (5, false));
        assert!(split(b"").is_empty());
        assert_eq!(split(b"1\n\n").len(), 2);
    }

    #[test]
    fn the_last_line_is_read_from_the_end_even_past_a_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let long = "7".repeat(150_000);
        for (content, last) in [
            (String::new(), None),
            ("1\n".to_string(), Some(("1".to_string(), true))),
            ("1\n22".to_string(), Some(("22".to_string(), false))),
            (format!("1\n{long}\n"), Some((long.clone(), true))),
            (format!("{long}\n{long}"), Some((long.clone(), false))),
            ("1\n\n".to_string(), Some((String::new(), true))),
        ] {
            std::fs::write(&path, &content).unwrap();
            let read = last_line(&mut fs::File::open(&path).unwrap()).unwrap();
            assert_eq!(read.map(|(t, c)| (String::from_utf8(t).unwrap(), c)), last, "{:.20}", content);
        }
    }

    #[test]
    fn the_torn_tail_starts_after_the_last_intact_line() {
        let torn = |bytes: &[u8]| torn_tail(&split(bytes), is_digit_line).map(|l| (l.number, l.start));
        assert_eq!(torn(b"1\n2\n"), None);
        assert_eq!(torn(b"1\n2"), Some((2, 2)), "no newline: torn even though it reads");
        assert_eq!(torn(b"1\n2\nx"), Some((3, 4)));
        assert_eq!(torn(b"1\nx\ny\n"), Some((2, 2)), "two bad lines at the end are one tail");
        assert_eq!(torn(b"1\nx\n3\n"), None, "a bad line followed by a good one is not a tail");
        assert_eq!(torn(b"x"), Some((1, 0)));
    }

    #[test]
    fn a_torn_tail_is_moved_aside_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path().join("j.jsonl"), dir.path().join("j.lock.d"));
        std::fs::write(journal.path(), b"1\n2\n3x").unwrap();
        let bytes = journal.read().unwrap();
        let aside = journal.move_aside(&bytes, 4).unwrap();
        assert_eq!(std::fs::read(&aside).unwrap(), b"3x");
        assert_eq!(std::fs::read(journal.path()).unwrap(), b"1\n2\n");
        assert!(file_name(&aside).starts_with("j.jsonl.torn-"), "{}", aside.display());
        // A second repair in the same second gets a name of its own.
        std::fs::write(journal.path(), b"1\nyy").unwrap();
        let again = journal.move_aside(&journal.read().unwrap(), 2).unwrap();
        assert_ne!(again, aside);
        assert_eq!(std::fs::read(&again).unwrap(), b"yy");
    }

    #[test]
    fn a_torn_last_line_refuses_the_append_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path().join("j.jsonl"), dir.path().join("j.lock.d"));
        journal.check_appendable(is_digit_line).unwrap();
        std::fs::write(journal.path(), b"1\n2\n3").unwrap();
        let err = journal.check_appendable(is_digit_line).unwrap_err();
        assert!(matches!(err, Error::LogTorn { line: 3, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("j.jsonl line 3") && text.contains("airssys audit repair"), "{text}");
    }

    #[test]
    fn a_folder_in_place_of_the_file_refuses_the_append() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path().join("j.jsonl"), dir.path().join("j.lock.d"));
        std::fs::create_dir(journal.path()).unwrap();
        let err = journal.check_appendable(is_digit_line).unwrap_err();
        assert!(matches!(err, Error::LogUnwritable { .. }), "{err:?}");
        assert!(err.to_string().contains("j.jsonl"), "{err}");
    }

    #[test]
    fn utc_stamps_are_civil_dates() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_718_101_845), "20240611T103045Z");
    }
}
