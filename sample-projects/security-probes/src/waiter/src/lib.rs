//! `waiter`: a test fixture that waits inside the host on purpose, the ways
//! a guest can: a sleep, `poll` over several pollables, a blocking read of a
//! socket's input stream. It asks for no capabilities (a socket read needs a
//! `net-out` grant to be let through). The host's call deadline must end
//! every one of these waits.
//!
//! Request (`application/json`), one of:
//!
//! * `{"op":"sleep","ms":N}`: `std::thread::sleep` (monotonic-clock
//!   `subscribe-duration` + `pollable.block`);
//! * `{"op":"poll","ms":[A,B,...]}`: one pollable per duration, then one
//!   `wasi:io/poll.poll` over all of them; answers the indexes that were ready;
//! * `{"op":"tcp-read","addr":"127.0.0.1:PORT"}`: connects and reads until
//!   the peer closes (a peer that never writes keeps it waiting); answers the
//!   byte count.
//!
//! Answers `{"ok":true,"value":...}` or `{"ok":false,"error":"..."}`.

use airssys_sdk::prelude::*;
use serde_json::{Value as Json, json};

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct Waiter;

impl Component for Waiter {
    fn metadata() -> Metadata {
        Metadata::new("waiter", "1.0.0", "Test fixture: waits inside the host (sleep, poll, socket read)")
            .accepts("application/json")
            .produces("application/json")
    }

    fn required_capabilities() -> Vec<Capability> {
        Vec::new()
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(Waiter)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let request: Json = serde_json::from_slice(&input.data)
            .map_err(|e| Error::invalid_input(format!("request is not valid JSON: {e}")))?;
        let outcome = match request.get("op").and_then(Json::as_str) {
            Some("sleep") => sleep(&request),
            Some("poll") => poll(&request),
            Some("tcp-read") => tcp_read(&request),
            _ => return Err(Error::invalid_input("`op` must be sleep, poll or tcp-read")),
        };
        let answer = match outcome {
            Ok(value) => json!({ "ok": true, "value": value }),
            Err(error) => json!({ "ok": false, "error": error }),
        };
        Ok(Output::json(answer.to_string()))
    }
}

type Outcome = Result<Json, String>;

fn millis(value: Option<&Json>) -> Result<u64, String> {
    value.and_then(Json::as_u64).ok_or_else(|| "durations are whole milliseconds".to_owned())
}

fn sleep(request: &Json) -> Outcome {
    let ms = millis(request.get("ms"))?;
    std::thread::sleep(std::time::Duration::from_millis(ms));
    Ok(json!(ms))
}

#[cfg(target_os = "wasi")]
fn poll(request: &Json) -> Outcome {
    use wasi::clocks::monotonic_clock;
    let durations = request.get("ms").and_then(Json::as_array).ok_or_else(|| "`ms` must be a list".to_owned())?;
    let mut pollables = Vec::new();
    for d in durations {
        pollables.push(monotonic_clock::subscribe_duration(millis(Some(d))?.saturating_mul(1_000_000)));
    }
    let refs: Vec<&wasi::io::poll::Pollable> = pollables.iter().collect();
    Ok(json!(wasi::io::poll::poll(&refs)))
}

#[cfg(not(target_os = "wasi"))]
fn poll(_request: &Json) -> Outcome {
    Err("wasi:io/poll is only available on wasm32-wasip2".to_owned())
}

fn tcp_read(request: &Json) -> Outcome {
    use std::io::Read;
    let addr = request.get("addr").and_then(Json::as_str).ok_or_else(|| "`addr` must be a string".to_owned())?;
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    let mut data = Vec::new();
    stream.read_to_end(&mut data).map_err(|e| format!("read: {e}"))?;
    Ok(json!(data.len()))
}

airssys_sdk::export_component!(Waiter);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(request: &str) -> Result<Json, Error> {
        let mut waiter = Waiter::init(&Config::default())?;
        let out = waiter.execute(Input::new(request.as_bytes().to_vec()))?;
        Ok(serde_json::from_slice(&out.data).map_err(|e| Error::internal(e.to_string()))?)
    }

    #[test]
    fn a_short_sleep_answers_its_duration() {
        assert_eq!(call(r#"{"op":"sleep","ms":1}"#).unwrap(), json!({"ok": true, "value": 1}));
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        assert!(call("not json").is_err());
        assert!(call(r#"{"op":"dance"}"#).is_err());
        assert_eq!(call(r#"{"op":"sleep","ms":"x"}"#).unwrap()["ok"], json!(false));
    }
}
