//! The wire's figures: `airssys serve` on loopback measured with a raw
//! keep-alive HTTP/1.1 client (one `TcpStream`, TCP_NODELAY, one write per
//! request, no parsing beyond the status line and `content-length`), so
//! the server's cost per invoke is read against `/healthz` on the same
//! connection, and `RemoteRuntime` against that raw client.

use std::{
    hint::black_box,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
};

use super::measure::{BenchResult, compare, payload, result};
use crate::{
    Error, Host, HostConfig, Input, RemoteRuntime, Result, Runtime,
    deploy::{DeployRequest, PoolMode},
    remote::server::{self, ServerConfig},
};

/// One kept-alive connection and a reusable read buffer.
struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    fn connect(addr: SocketAddr) -> Result<Self> {
        let io = |e| Error::Measurement(format!("raw client: {e}"));
        let stream = TcpStream::connect(addr).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        Ok(RawClient { stream, buf: Vec::with_capacity(8192) })
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the answer;
    /// returns its body's length. Anything but 200 is an error.
    fn round_trip(&mut self, request: &[u8]) -> Result<usize> {
        let io = |e: std::io::Error| Error::Measurement(format!("raw client: {e}"));
        self.stream.write_all(request).map_err(io)?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = self.stream.read(&mut chunk).map_err(io)?;
            if n == 0 {
                return Err(Error::Measurement("raw client: the server closed the connection".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).unwrap_or("");
        if !head.starts_with("HTTP/1.1 200") {
            return Err(Error::Measurement(format!("raw client: {}", head.lines().next().unwrap_or(""))));
        }
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
            })
            .ok_or_else(|| Error::Measurement("raw client: no content-length".into()))?;
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).map_err(io)?;
            if n == 0 {
                return Err(Error::Measurement("raw client: the answer was cut short".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(length)
    }
}

/// Runs `requests` round trips on each client at once (one thread per client).
fn on_all(clients: &mut [RawClient], request: &[u8], requests: usize) -> Result<()> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .iter_mut()
            .map(|client| {
                scope.spawn(move || -> Result<()> {
                    for _ in 0..requests {
                        black_box(client.round_trip(request)?);
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

/// Every wire row, measured in this run against one server.
pub(super) fn results(bytes: &[u8], scratch: &std::path::Path, rounds: usize) -> Result<Vec<BenchResult>> {
    let host = Host::new(HostConfig {
        data_dir: Some(scratch.join("remote-data")),
        cache_dir: Some(scratch.join("remote-cache")),
        ..HostConfig::default()
    })?;
    let reference: crate::registry::ComponentRef = "bench@1.0.0".parse()?;
    host.add_component(&reference, bytes)?;
    host.deploy(DeployRequest::new("bench", reference).pool(PoolMode::Pooled { size: 2 }))?;
    let mut token = [0u8; 16];
    getrandom::fill(&mut token)
        .map_err(|e| Error::Randomness { purpose: "the bench server's token", reason: e.to_string() })?;
    let token = hex::encode(token);
    let running = server::start(host.clone(), ServerConfig::loopback(0, token.clone()))?;
    let body = payload(1024);
    let input = Input::new(body.clone());
    let healthz = b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n".to_vec();
    let mut invoke = format!(
        "POST /v1/services/bench/invoke HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {token}\r\n\
         content-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    invoke.extend_from_slice(&body);
    let mut results = Vec::new();

    // One connection: invoke against /healthz, then against embedded.
    // Two closures take turns with the same connection.
    let raw = std::cell::RefCell::new(RawClient::connect(running.addr())?);
    let (a, b) = compare(
        rounds,
        500,
        || raw.borrow_mut().round_trip(&invoke).map(drop),
        || raw.borrow_mut().round_trip(&healthz).map(drop),
    )?;
    results.push(result("remote_invoke_vs_healthz_1k", "invoke 1 KiB vs /healthz, 1 conn", a, b, Some(1.5)));
    let (a, b) = compare(
        rounds,
        500,
        || raw.borrow_mut().round_trip(&invoke).map(drop),
        || host.invoke("bench", &input).map(drop),
    )?;
    results.push(result("remote_invoke_latency_1k", "remote invoke 1 KiB vs embedded", a, b, None));

    // Eight connections at once: µs of wall time per request, so a ratio
    // of 1.43 is 0.7x the /healthz throughput.
    let eight =
        std::cell::RefCell::new((0..8).map(|_| RawClient::connect(running.addr())).collect::<Result<Vec<_>>>()?);
    let per_conn = 100;
    let (a, b) = compare(
        rounds,
        1,
        || on_all(&mut eight.borrow_mut(), &invoke, per_conn),
        || on_all(&mut eight.borrow_mut(), &healthz, per_conn),
    )?;
    let requests = (8 * per_conn) as f64;
    results.push(result(
        "remote_throughput_8_vs_healthz",
        "invoke vs /healthz, 8 conns (≥0.7x/s)",
        a / requests,
        b / requests,
        Some(1.43),
    ));

    // A batch of 100 x 1 KiB in one request against 100 embedded invokes:
    // per input; 2.0 is half the embedded throughput.
    let remote = RemoteRuntime::new(&running.url(), &token);
    let inputs: Vec<Input> = (0..100).map(|_| input.clone()).collect();
    let (a, b) = compare(
        rounds,
        5,
        || {
            let results = remote.invoke_batch("bench", &inputs)?;
            results.into_iter().try_for_each(|r| r.map(drop))
        },
        || inputs.iter().try_for_each(|i| host.invoke("bench", i).map(drop)),
    )?;
    results.push(result(
        "remote_batch_100x1k_vs_embedded",
        "batch 100x1 KiB vs embedded (≥0.5x/s)",
        a / 100.0,
        b / 100.0,
        Some(2.0),
    ));

    // The library's client against the raw one, same server, same body.
    let (a, b) = compare(
        rounds,
        500,
        || remote.invoke("bench", &input).map(drop),
        || raw.borrow_mut().round_trip(&invoke).map(drop),
    )?;
    results.push(result("remote_runtime_vs_raw_client", "RemoteRuntime vs raw client, 1 KiB", a, b, Some(1.2)));

    drop(raw);
    drop(eight);
    drop(running);
    host.close();
    Ok(results)
}
