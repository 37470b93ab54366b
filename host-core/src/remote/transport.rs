//! The client's TCP transport for ureq: a request goes out in one write.
//!
//! ureq sends a request's head and its body in separate writes; with
//! TCP_NODELAY that is two segments, and the server wakes up twice (the
//! raw-client figures in `airssys bench` show what that costs). Here the
//! bytes ureq hands over stay in the output buffer until ureq waits for
//! the answer (or the buffer fills up), then go out in one `write`. TLS
//! (ureq's rustls connector) sits on top, so its records are sent
//! together the same way. No proxy: the client talks to the server itself.

use std::{
    io::{self, Read, Write},
    net::TcpStream,
    time::Duration,
};

use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport};

/// When less than this is left in the output buffer, what is held goes out.
const ROOM: usize = 16 * 1024;

/// Connects with TCP_NODELAY and hands out [`OneWrite`] transports.
#[derive(Debug, Default)]
pub(super) struct OneWriteConnector;

impl<In: Transport> Connector<In> for OneWriteConnector {
    type Out = OneWrite;

    fn connect(&self, details: &ConnectionDetails, _chained: Option<In>) -> Result<Option<OneWrite>, ureq::Error> {
        let timeout = details.config.timeouts().connect.unwrap_or(Duration::from_secs(10));
        let mut last = None;
        for addr in details.addrs.iter() {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    let buffers = LazyBuffers::new(
                        details.config.input_buffer_size(),
                        details.config.output_buffer_size().max(4 * ROOM),
                    );
                    return Ok(Some(OneWrite { stream, buffers: Held { buffers, held: 0 }, refused: false }));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.map(ureq::Error::Io).unwrap_or(ureq::Error::HostNotFound))
    }
}

/// ureq's buffers, with the output that is held back kept in front of
/// what ureq sees as the output buffer.
#[derive(Debug)]
struct Held {
    buffers: LazyBuffers,
    held: usize,
}

impl Buffers for Held {
    fn output(&mut self) -> &mut [u8] {
        &mut self.buffers.output()[self.held..]
    }

    fn input(&self) -> &[u8] {
        self.buffers.input()
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.buffers.input_append_buf()
    }

    fn input_appended(&mut self, amount: usize) {
        self.buffers.input_appended(amount)
    }

    fn input_consume(&mut self, amount: usize) {
        self.buffers.input_consume(amount)
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        let held = self.held;
        let (tmp, output) = self.buffers.tmp_and_output();
        (tmp, &mut output[held..])
    }

    fn can_use_input(&self) -> bool {
        self.buffers.can_use_input()
    }
}

/// A TCP connection whose writes wait for ureq to wait for the answer.
#[derive(Debug)]
pub(super) struct OneWrite {
    stream: TcpStream,
    buffers: Held,
    /// The server stopped reading the request (it answered early, e.g.
    /// 413 for a body over its limit): the rest is dropped and the answer
    /// read.
    refused: bool,
}

impl OneWrite {
    fn flush(&mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.buffers.held);
        if held == 0 || self.refused {
            return Ok(());
        }
        match self.stream.write_all(&self.buffers.buffers.output()[..held]) {
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {
                self.refused = true;
                Ok(())
            }
            other => other,
        }
    }
}

impl Transport for OneWrite {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.buffers.held += amount;
        if self.buffers.output().len() < ROOM {
            self.flush()?;
        }
        Ok(())
    }

    fn await_input(&mut self, _timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.flush()?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // A kept-alive connection is usable when nothing waits to be read
        // (would block) and the peer has not closed it.
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8];
        let open = matches!(self.stream.read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        open && self.stream.set_nonblocking(false).is_ok()
    }
}
