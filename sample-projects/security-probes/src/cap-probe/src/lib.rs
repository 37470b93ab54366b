//! `cap-probe`: a test fixture that tries capabilities and reports what
//! happened.
//!
//! It asks for no capabilities, so everything it manages to do was granted
//! to it by the host (or leaked). Each request is one JSON object naming an
//! operation; the answer says whether the operation worked and, if not,
//! carries the OS/WASI error text. It never panics on a failed operation:
//! failures are data, not traps.
//!
//! Requests (`application/json`):
//!
//! | request | `value` on success |
//! | --- | --- |
//! | `{"op":"read","path":"/abs/file"}` | the file's contents (lossy UTF-8) |
//! | `{"op":"write","path":"/abs/file","data":"text"}` | bytes written (creates or truncates) |
//! | `{"op":"list","path":"/abs/dir"}` | the entry names, sorted |
//! | `{"op":"env","name":"X"}` | the variable's value, or `null` when unset |
//! | `{"op":"env-all"}` | an object of every visible variable |
//! | `{"op":"clock"}` | whole seconds since the Unix epoch (wall clock) |
//! | `{"op":"random"}` | 16 bytes from `wasi:random/random`, as 32 hex digits |
//! | `{"op":"connect","addr":"127.0.0.1:PORT"}` | what the peer sent back (≤ 64 bytes, lossy) after `ping\n` |
//! | `{"op":"bind","addr":"127.0.0.1:PORT"}` | the bound local port |
//! | `{"op":"print","text":"..."}` | `true` (the text went to stdout and stderr) |
//! | `{"op":"everything"}` | an object: op name → that op's answer |
//!
//! Answers: `{"ok":true,"value":...}` or `{"ok":false,"error":"..."}`.
//! `everything` answers `{"ok":true,"value":{"bind":{...},"clock":{...},...}}`
//! with fixed arguments (see [`everything`]). Bad JSON, an unknown `op` or a
//! missing argument is an `invalid-input` error instead.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airssys_sdk::prelude::*;
use serde_json::{Map, Value as Json, json};

/// How long `connect` waits to connect, and then for the reply.
const NET_TIMEOUT: Duration = Duration::from_secs(2);

/// The operations, as named in requests.
pub const OPS: [&str; 11] =
    ["read", "write", "list", "env", "env-all", "clock", "random", "connect", "bind", "print", "everything"];

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct CapProbe;

impl Component for CapProbe {
    fn metadata() -> Metadata {
        Metadata::new("cap-probe", "1.0.0", "Test fixture: tries capabilities and reports what happened")
            .accepts("application/json")
            .produces("application/json")
    }

    fn required_capabilities() -> Vec<Capability> {
        Vec::new()
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(CapProbe)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let request: Json = serde_json::from_slice(&input.data)
            .map_err(|e| Error::invalid_input(format!("request is not valid JSON: {e}")))?;
        Ok(Output::json(handle(&request)?.to_string()))
    }
}

/// What one operation produced: a value, or the error's text.
type Outcome = Result<Json, String>;

/// The answer for `outcome`: `{"ok":true,"value":..}` or `{"ok":false,"error":..}`.
fn answer(outcome: Outcome) -> Json {
    match outcome {
        Ok(value) => json!({ "ok": true, "value": value }),
        Err(error) => json!({ "ok": false, "error": error }),
    }
}

/// Runs one request; `Err` only for a request that makes no sense.
fn handle(request: &Json) -> Result<Json, Error> {
    let op = request
        .get("op")
        .and_then(Json::as_str)
        .ok_or_else(|| Error::invalid_input("request must be a JSON object with a string field `op`"))?;
    let arg = |name: &str| {
        request
            .get(name)
            .and_then(Json::as_str)
            .ok_or_else(|| Error::invalid_input(format!("op `{op}` needs a string field `{name}`")))
    };
    let outcome = match op {
        "read" => read(arg("path")?),
        "write" => write(arg("path")?, arg("data")?),
        "list" => list(arg("path")?),
        "env" => env(arg("name")?),
        "env-all" => env_all(),
        "clock" => clock(),
        "random" => random(),
        "connect" => connect(arg("addr")?),
        "bind" => bind(arg("addr")?),
        "print" => print(arg("text")?),
        "everything" => Ok(everything()),
        other => {
            return Err(Error::invalid_input(format!("unknown op {other:?}; expected one of: {}", OPS.join(", "))));
        }
    };
    Ok(answer(outcome))
}

/// Every operation once, with fixed arguments; op name → answer.
///
/// `read /etc/passwd`, `write /tmp/x` (`cap-probe`), `list /`, `env-all`,
/// `clock`, `random`, `connect 127.0.0.1:1`, `bind 127.0.0.1:0` and
/// `print cap-probe: everything`.
pub fn everything() -> Json {
    let mut all = Map::new();
    let mut put = |op: &str, outcome: Outcome| {
        all.insert(op.to_owned(), answer(outcome));
    };
    put("read", read("/etc/passwd"));
    put("write", write("/tmp/x", "cap-probe"));
    put("list", list("/"));
    put("env-all", env_all());
    put("clock", clock());
    put("random", random());
    put("connect", connect("127.0.0.1:1"));
    put("bind", bind("127.0.0.1:0"));
    put("print", print("cap-probe: everything"));
    Json::Object(all)
}

fn text(e: io::Error) -> String {
    e.to_string()
}

fn read(path: &str) -> Outcome {
    let data = std::fs::read(path).map_err(text)?;
    Ok(Json::String(String::from_utf8_lossy(&data).into_owned()))
}

fn write(path: &str, data: &str) -> Outcome {
    let mut file = std::fs::File::create(path).map_err(text)?;
    file.write_all(data.as_bytes()).and_then(|()| file.flush()).map_err(text)?;
    Ok(json!(data.len()))
}

fn list(path: &str) -> Outcome {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path).map_err(text)? {
        names.push(entry.map_err(text)?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(json!(names))
}

fn env(name: &str) -> Outcome {
    Ok(match std::env::var_os(name) {
        Some(value) => Json::String(value.to_string_lossy().into_owned()),
        None => Json::Null,
    })
}

fn env_all() -> Outcome {
    let vars = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), Json::String(v.to_string_lossy().into_owned())))
        .collect::<Map<_, _>>();
    Ok(Json::Object(vars))
}

fn clock() -> Outcome {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
    Ok(json!(since.as_secs()))
}

fn random() -> Outcome {
    let mut hex = String::with_capacity(32);
    for byte in random_bytes()? {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(Json::String(hex))
}

/// 16 bytes from `wasi:random/random.get-random-bytes`.
#[cfg(target_os = "wasi")]
fn random_bytes() -> Result<Vec<u8>, String> {
    Ok(wasi::random::random::get_random_bytes(16))
}

/// 16 bytes from the OS, so the logic can be tested natively.
#[cfg(not(target_os = "wasi"))]
fn random_bytes() -> Result<Vec<u8>, String> {
    let mut bytes = vec![0; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).map_err(text)?;
    Ok(bytes)
}

fn connect(addr: &str) -> Outcome {
    let targets: Vec<SocketAddr> = match addr.parse() {
        Ok(one) => vec![one],
        Err(_) => addr.to_socket_addrs().map_err(|e| format!("cannot resolve {addr}: {e}"))?.collect(),
    };
    let mut last = format!("{addr} resolved to no address");
    for target in targets {
        match connect_one(target) {
            Ok(mut stream) => return ping(&mut stream).map_err(text),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn connect_one(target: SocketAddr) -> io::Result<TcpStream> {
    match TcpStream::connect_timeout(&target, NET_TIMEOUT) {
        // a platform without timed connects: fall back to a plain one
        Err(e) if e.kind() == io::ErrorKind::Unsupported => TcpStream::connect(target),
        other => other,
    }
}

/// Sends `ping\n` and returns what comes back (up to 64 bytes, lossy).
fn ping(stream: &mut TcpStream) -> io::Result<Json> {
    // Best effort: without timeouts a silent peer blocks until the host's deadline.
    let _ = stream.set_read_timeout(Some(NET_TIMEOUT));
    let _ = stream.set_write_timeout(Some(NET_TIMEOUT));
    stream.write_all(b"ping\n")?;
    stream.flush()?;
    let mut reply = [0_u8; 64];
    let n = stream.read(&mut reply)?;
    Ok(Json::String(String::from_utf8_lossy(reply.get(..n).unwrap_or_default()).into_owned()))
}

fn bind(addr: &str) -> Outcome {
    let listener = TcpListener::bind(addr).map_err(text)?;
    let local = listener.local_addr().map_err(text)?;
    Ok(json!(local.port()))
}

fn print(line: &str) -> Outcome {
    // `println!` would panic (and so trap) when stdout fails; report it instead.
    let mut out = io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| format!("stdout: {e}"))?;
    let mut err = io::stderr().lock();
    writeln!(err, "{line}").and_then(|()| err.flush()).map_err(|e| format!("stderr: {e}"))?;
    Ok(Json::Bool(true))
}

airssys_sdk::export_component!(CapProbe);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn call(request: &str) -> Result<Json, Error> {
        let out = CapProbe::init(&Config::default())?.execute(Input::new(request))?;
        assert_eq!(out.content_type(), Some("application/json"));
        Ok(serde_json::from_slice(&out.data).unwrap())
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("airssys-cap-probe-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn write_read_list_round_trip() {
        let dir = temp_dir("files");
        let file = dir.join("b.txt");
        let request = json!({"op": "write", "path": file, "data": "héllo"}).to_string();
        assert_eq!(call(&request).unwrap(), json!({"ok": true, "value": 6}));
        std::fs::write(dir.join("a.txt"), [b'x', 0xff]).unwrap();
        let read = call(&json!({"op": "read", "path": file}).to_string()).unwrap();
        assert_eq!(read, json!({"ok": true, "value": "héllo"}));
        let read = call(&json!({"op": "read", "path": dir.join("a.txt")}).to_string()).unwrap();
        assert_eq!(read["value"], "x\u{fffd}");
        let listed = call(&json!({"op": "list", "path": dir}).to_string()).unwrap();
        assert_eq!(listed, json!({"ok": true, "value": ["a.txt", "b.txt"]}));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failures_are_reported_not_raised() {
        let missing = call(r#"{"op":"read","path":"/definitely/not/here"}"#).unwrap();
        assert_eq!(missing["ok"], false);
        assert!(missing["error"].as_str().unwrap().contains("No such file"), "{missing}");
        assert_eq!(call(r#"{"op":"list","path":"/definitely/not/here"}"#).unwrap()["ok"], false);
    }

    #[test]
    fn env_clock_random_print() {
        assert_eq!(
            call(r#"{"op":"env","name":"AIRSSYS_CAP_PROBE_SURELY_UNSET"}"#).unwrap(),
            json!({"ok": true, "value": null})
        );
        assert!(call(r#"{"op":"env-all"}"#).unwrap()["value"].is_object());
        assert!(call(r#"{"op":"clock"}"#).unwrap()["value"].as_u64().unwrap() > 1_600_000_000);
        let hex = call(r#"{"op":"random"}"#).unwrap()["value"].as_str().unwrap().to_owned();
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(call(r#"{"op":"print","text":"cap-probe test"}"#).unwrap(), json!({"ok": true, "value": true}));
    }

    #[test]
    fn bind_and_connect() {
        let bound = call(r#"{"op":"bind","addr":"127.0.0.1:0"}"#).unwrap();
        assert!(bound["value"].as_u64().unwrap() > 0, "{bound}");

        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"ping\n");
            s.write_all(b"pong\n").unwrap();
        });
        let reply = call(&json!({"op": "connect", "addr": format!("127.0.0.1:{port}")}).to_string()).unwrap();
        peer.join().unwrap();
        assert_eq!(reply, json!({"ok": true, "value": "pong\n"}));
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        for bad in
            ["not json", "[]", r#"{"op":1}"#, r#"{"op":"nope"}"#, r#"{"op":"read"}"#, r#"{"op":"write","path":"/x"}"#]
        {
            let err = call(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad}: {}", err.message);
        }
        assert!(call(r#"{"op":"nope"}"#).unwrap_err().message.contains("everything"));
    }

    #[test]
    fn metadata_and_capabilities_need_no_init() {
        assert_eq!(CapProbe::metadata().name, "cap-probe");
        assert!(CapProbe::required_capabilities().is_empty());
    }
}
