//! A WASI command's stdout, kept in memory up to a cap, remembering whether
//! the guest tried to write past it.
//!
//! wasmtime-wasi's `MemoryOutputPipe` refuses a write past its capacity
//! (a trap, or a closed stream when already full), but does not say
//! afterwards that it did: a guest that handles the refused write and exits
//! with status 1 then looks like any failing command. This pipe records the
//! refusal, so the host reports the output cap as the cause whatever the
//! guest did next, and never returns truncated output as a success.

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::{
    cli::{IsTerminal, StdoutStream},
    p2::{OutputStream, Pollable, StreamError},
};

/// Write permit offered when the buffer is full, so that a guest learns of
/// the cap from a refused write (and a flush of exactly-full output works).
const FULL_PERMIT: usize = 4096;

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// A write was refused because it would have passed the cap.
    refused: bool,
}

/// Captured stdout with a cap in bytes. Clones share the buffer.
#[derive(Debug, Clone)]
pub(crate) struct CappedOutput {
    capacity: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl CappedOutput {
    pub(crate) fn new(capacity: usize) -> Self {
        CappedOutput { capacity, buffer: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `bytes` whole, or refuses them (and remembers it) when they
    /// would pass the cap.
    fn push(&self, bytes: &[u8]) -> bool {
        let mut buffer = self.lock();
        if bytes.len() > self.capacity - buffer.bytes.len() {
            buffer.refused = true;
            return false;
        }
        buffer.bytes.extend_from_slice(bytes);
        true
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

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if self.push(&bytes) { Ok(()) } else { Err(StreamError::Closed) }
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        let buffer = self.lock();
        if buffer.refused {
            return Err(StreamError::Closed);
        }
        let left = self.capacity - buffer.bytes.len();
        Ok(if left == 0 { FULL_PERMIT } else { left })
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.push(buf) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_up_to_the_cap_is_kept_and_more_is_refused_and_remembered() {
        let out = CappedOutput::new(10);
        let mut stream = out.p2_stream();
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
        let mut stream = out.p2_stream();
        stream.write(Bytes::from_static(b"ab")).unwrap();
        assert!(stream.write(Bytes::from_static(b"cde")).is_err());
        assert!(out.overflowed());
        assert_eq!(out.take(), b"ab");
    }
}
