//! A guest's stderr kept privately as a bounded tail, so that a trap can be
//! reported with what the guest said last (a Rust panic prints its message
//! there before aborting). Nothing reaches the host's own stderr.

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
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

/// How much of the guest's stderr is kept.
const TAIL_BYTES: usize = 8 * 1024;

/// The last [`TAIL_BYTES`] a guest wrote to stderr. Writing never fails and
/// never blocks: older bytes fall off the front.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrTail(Arc<Tail>);

#[derive(Debug, Default)]
pub(crate) struct Tail {
    bytes: Mutex<VecDeque<u8>>,
    /// Set by a write, so that clearing an untouched tail (every call) takes no lock.
    written: AtomicBool,
}

impl StderrTail {
    fn push(&self, bytes: &[u8]) {
        self.0.written.store(true, Ordering::Release);
        let mut tail = self.0.bytes.lock().unwrap_or_else(|p| p.into_inner());
        let keep = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let overflow = (tail.len() + keep.len()).saturating_sub(TAIL_BYTES);
        let drop_front = overflow.min(tail.len());
        tail.drain(..drop_front);
        tail.extend(keep);
    }

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

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for StderrTail {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrTail {
    async fn ready(&mut self) {}
}

impl AsyncWrite for StderrTail {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail() {
        let tail = StderrTail::default();
        tail.push(b"first line\n");
        tail.push(&vec![b'x'; TAIL_BYTES]);
        tail.push(b"\npanicked at the end");
        let text = tail.text();
        assert!(text.ends_with("panicked at the end"));
        assert!(!text.contains("first line"));
        assert!(text.len() <= TAIL_BYTES);
        tail.clear();
        assert_eq!(tail.text(), "");
    }
}
