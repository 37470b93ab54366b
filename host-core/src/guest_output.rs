//! Where a guest's output goes when it stays in memory: a WASI command's
//! stdout up to a cap ([`CappedOutput`], which remembers a refused write),
//! and the bounded tail of a contract instance's stderr ([`StderrTail`],
//! kept for trap reports). Both are [`Sink`]s; [`Pipe`] gives any sink
//! the wasmtime-wasi stream traits (written once here). Nothing reaches
//! the host's own stdio.

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::{
    cli::{IsTerminal, StdoutStream},
    p2::{OutputStream, Pollable, StreamError},
};

/// An in-memory destination of guest output. Writes never block.
pub(crate) trait Sink: Clone + Send + Sync + Unpin + 'static {
    /// Takes `bytes` whole (`true`), or refuses them (`false`: the stream
    /// reads as closed).
    fn put(&self, bytes: &[u8]) -> bool;
    /// How many bytes the guest may write next; `None` once closed.
    fn room(&self) -> Option<usize>;
}

/// A [`Sink`] as a WASI output stream (p2 and async). Clones share the sink.
#[derive(Debug, Clone)]
pub(crate) struct Pipe<S>(pub S);

impl<S: Sink> IsTerminal for Pipe<S> {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl<S: Sink> StdoutStream for Pipe<S> {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl<S: Sink> OutputStream for Pipe<S> {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if self.0.put(&bytes) { Ok(()) } else { Err(StreamError::Closed) }
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        self.0.room().ok_or(StreamError::Closed)
    }
}

#[wasmtime_wasi::async_trait]
impl<S: Sink> Pollable for Pipe<S> {
    async fn ready(&mut self) {}
}

impl<S: Sink> AsyncWrite for Pipe<S> {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.0.put(buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::StorageFull, "output cap reached")))
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Write permit offered when the buffer is full, so that a guest learns of
/// the cap from a refused write (and a flush of exactly-full output works).
const FULL_PERMIT: usize = 4096;

/// A WASI command's stdout, kept up to a cap in bytes. wasmtime-wasi's
/// `MemoryOutputPipe` refuses a write past its capacity but does not say
/// afterwards that it did, so a guest that handles the refusal and exits 1
/// looks like any failing command; this one records the refusal, so the
/// host reports the output cap as the cause whatever the guest did next,
/// and never returns truncated output as a success. Clones share the buffer.
#[derive(Debug, Clone)]
pub(crate) struct CappedOutput {
    capacity: usize,
    buffer: Arc<Mutex<Buffer>>,
}

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// A write was refused because it would have passed the cap.
    refused: bool,
}

impl CappedOutput {
    pub(crate) fn new(capacity: usize) -> Self {
        CappedOutput { capacity, buffer: Arc::default() }
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a write was refused at the cap.
    pub(crate) fn overflowed(&self) -> bool {
        self.lock().refused
    }

    /// What was written.
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.lock().bytes)
    }
}

impl Sink for CappedOutput {
    fn put(&self, bytes: &[u8]) -> bool {
        let mut buffer = self.lock();
        if bytes.len() > self.capacity - buffer.bytes.len() {
            buffer.refused = true;
            return false;
        }
        buffer.bytes.extend_from_slice(bytes);
        true
    }

    fn room(&self) -> Option<usize> {
        let buffer = self.lock();
        if buffer.refused {
            return None;
        }
        let left = self.capacity - buffer.bytes.len();
        Some(if left == 0 { FULL_PERMIT } else { left })
    }
}

/// How much of the guest's stderr is kept.
const TAIL_BYTES: usize = 8 * 1024;

/// The last [`TAIL_BYTES`] a guest wrote to stderr, so that a trap can be
/// reported with what the guest said last (a Rust panic prints its message
/// there before aborting). Writing never fails: older bytes fall off the
/// front.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrTail(Arc<Tail>);

#[derive(Debug, Default)]
pub(crate) struct Tail {
    bytes: Mutex<VecDeque<u8>>,
    /// Set by a write, so that clearing an untouched tail (every call) takes no lock.
    written: AtomicBool,
}

impl StderrTail {
    /// Forgets what was written (before a new call).
    pub(crate) fn clear(&self) {
        // Calls into one store are sequential: nothing writes meanwhile.
        if self.0.written.load(Ordering::Acquire) {
            self.0.written.store(false, Ordering::Release);
            self.0.bytes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    /// What was written since the last `clear`, as text.
    pub(crate) fn text(&self) -> String {
        let tail = self.0.bytes.lock().unwrap_or_else(|p| p.into_inner());
        let (a, b) = tail.as_slices();
        let mut bytes = a.to_vec();
        bytes.extend_from_slice(b);
        String::from_utf8_lossy(&bytes).trim().to_string()
    }
}

impl Sink for StderrTail {
    fn put(&self, bytes: &[u8]) -> bool {
        self.0.written.store(true, Ordering::Release);
        let mut tail = self.0.bytes.lock().unwrap_or_else(|p| p.into_inner());
        let keep = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let overflow = (tail.len() + keep.len()).saturating_sub(TAIL_BYTES);
        let drop_front = overflow.min(tail.len());
        tail.drain(..drop_front);
        tail.extend(keep);
        true
    }

    fn room(&self) -> Option<usize> {
        Some(64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_up_to_the_cap_is_kept_and_more_is_refused_and_remembered() {
        let out = CappedOutput::new(10);
        let mut stream = Pipe(out.clone()).p2_stream();
        assert_eq!(stream.check_write().unwrap(), 10);
        stream.write(Bytes::from_static(b"0123456789")).unwrap();
        assert!(!out.overflowed(), "exactly the cap is not an overflow");
        // Full: a flush still works, the next write is refused.
        stream.flush().unwrap();
        assert_eq!(stream.check_write().unwrap(), FULL_PERMIT);
        assert!(stream.write(Bytes::from_static(b"x")).is_err());
        assert!(out.overflowed());
        assert!(stream.check_write().is_err(), "closed after a refusal");
        assert_eq!(out.take(), b"0123456789");
    }

    #[test]
    fn a_write_that_does_not_fit_is_refused_whole() {
        let out = CappedOutput::new(4);
        let mut stream = Pipe(out.clone()).p2_stream();
        stream.write(Bytes::from_static(b"ab")).unwrap();
        assert!(stream.write(Bytes::from_static(b"cde")).is_err());
        assert!(out.overflowed());
        assert_eq!(out.take(), b"ab");
    }

    #[test]
    fn the_stderr_tail_keeps_only_the_end() {
        let tail = StderrTail::default();
        tail.put(b"first line\n");
        tail.put(&vec![b'x'; TAIL_BYTES]);
        tail.put(b"\npanicked at the end");
        let text = tail.text();
        assert!(text.ends_with("panicked at the end"));
        assert!(!text.contains("first line"));
        assert!(text.len() <= TAIL_BYTES);
        tail.clear();
        assert_eq!(tail.text(), "");
    }
}
