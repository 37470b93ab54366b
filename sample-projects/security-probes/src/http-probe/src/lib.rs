//! `http-probe`: a test fixture that makes one outgoing HTTP GET through
//! `wasi:http/outgoing-handler` (WASI 0.2) and reports what happened.
//!
//! It asks for no capabilities, so every request that gets through was let
//! through by the host. It never uses raw sockets and it never panics on a
//! failed request: a refusal (`ErrorCode::HttpRequestDenied`), a connection
//! error or a bad URL is data, not a trap.
//!
//! Request (`application/json`): `{"url":"http://127.0.0.1:PORT/path?query"}`.
//! Only `http://` URLs are supported; the fragment (`#...`) is dropped, an
//! empty path becomes `/`, user info (`user@host`) is refused.
//!
//! Answers:
//!
//! * `{"ok":true,"value":{"status":200,"body":"..."}}` — the response status
//!   and its body as lossy UTF-8, cut at [`MAX_BODY`] bytes (64 KiB);
//! * `{"ok":false,"error":"..."}` — the `Debug` text of the `wasi:http`
//!   `ErrorCode` (for example `ErrorCode::HttpRequestDenied`) or a sentence
//!   for any other failure (`only http is supported` for `https://`).
//!
//! A request that is not valid JSON or has no string field `url` is an
//! `invalid-input` error instead.

use airssys_sdk::prelude::*;
use serde_json::{Value as Json, json};

/// The most body bytes read from a response; the rest is left unread.
pub const MAX_BODY: usize = 64 * 1024;

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct HttpProbe;

impl Component for HttpProbe {
    fn metadata() -> Metadata {
        Metadata::new("http-probe", "1.0.0", "Test fixture: makes an outgoing HTTP GET through wasi:http")
            .accepts("application/json")
            .produces("application/json")
    }

    fn required_capabilities() -> Vec<Capability> {
        Vec::new()
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(HttpProbe)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let request: Json = serde_json::from_slice(&input.data)
            .map_err(|e| Error::invalid_input(format!("request is not valid JSON: {e}")))?;
        let url = request
            .get("url")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::invalid_input("request must be a JSON object with a string field `url`"))?;
        Ok(Output::json(answer(probe(url)).to_string()))
    }
}

/// What a probe produced: a value, or the error's text.
type Outcome = Result<Json, String>;

/// The answer for `outcome`: `{"ok":true,"value":..}` or `{"ok":false,"error":..}`.
fn answer(outcome: Outcome) -> Json {
    match outcome {
        Ok(value) => json!({ "ok": true, "value": value }),
        Err(error) => json!({ "ok": false, "error": error }),
    }
}

/// Parses `url`, sends the GET and describes the response.
fn probe(url: &str) -> Outcome {
    let target = Target::parse(url)?;
    let response = get(&target)?;
    Ok(json!({
        "status": response.status,
        "body": String::from_utf8_lossy(&response.body),
    }))
}

/// Where a GET goes: the parts of an `http://` URL that `wasi:http` wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]`, as written in the URL.
    pub authority: String,
    /// The path and query, starting with `/`; never empty.
    pub path_with_query: String,
}

impl Target {
    /// Splits an `http://host[:port][/path][?query][#fragment]` URL.
    ///
    /// Deliberately minimal: no percent-decoding or normalisation; the host
    /// parses the authority again and decides what is allowed.
    pub fn parse(url: &str) -> Result<Target, String> {
        let url = url.trim();
        if url.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!("URL contains whitespace or control characters: {url:?}"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("not an absolute http:// URL: {url:?}"))?;
        if !scheme.eq_ignore_ascii_case("http") {
            return Err("only http is supported".to_owned());
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _fragment)| before);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_with_query) = rest.split_at(end);
        if authority.is_empty() {
            return Err(format!("URL has no host: {url:?}"));
        }
        if authority.contains('@') {
            return Err(format!("user info in URLs is not supported: {url:?}"));
        }
        let path_with_query = match path_with_query.chars().next() {
            None => "/".to_owned(),
            Some('?') => format!("/{path_with_query}"),
            Some(_) => path_with_query.to_owned(),
        };
        Ok(Target { authority: authority.to_owned(), path_with_query })
    }
}

/// A response: its status and (at most [`MAX_BODY`] bytes of) its body.
#[derive(Debug)]
struct Response {
    status: u16,
    body: Vec<u8>,
}

/// One GET through `wasi:http/outgoing-handler.handle`.
#[cfg(target_os = "wasi")]
fn get(target: &Target) -> Result<Response, String> {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, Method, OutgoingRequest, Scheme};

    let request = OutgoingRequest::new(Fields::new());
    request.set_method(&Method::Get).map_err(|()| "the method GET was refused".to_owned())?;
    request.set_scheme(Some(&Scheme::Http)).map_err(|()| "the scheme http was refused".to_owned())?;
    request
        .set_authority(Some(&target.authority))
        .map_err(|()| format!("invalid authority {:?}", target.authority))?;
    request
        .set_path_with_query(Some(&target.path_with_query))
        .map_err(|()| format!("invalid path {:?}", target.path_with_query))?;

    // The host may refuse here already (for example `ErrorCode::HttpRequestDenied`).
    let future = outgoing_handler::handle(request, None).map_err(|code| format!("{code:?}"))?;
    let response = loop {
        match future.get() {
            Some(Ok(Ok(response))) => break response,
            Some(Ok(Err(code))) => return Err(format!("{code:?}")),
            Some(Err(())) => return Err("the response was already taken".to_owned()),
            // Not ready yet: wait (the pollable is dropped before the next `get`).
            None => future.subscribe().block(),
        }
    };

    let status = response.status();
    let body = response.consume().map_err(|()| "the response body was already taken".to_owned())?;
    let data = {
        let stream = body.stream().map_err(|()| "the response body stream was already taken".to_owned())?;
        read_capped(&stream)?
        // `stream` (a child of `body`) is dropped here, before `body`.
    };
    drop(body);
    drop(response);
    Ok(Response { status, body: data })
}

/// Reads `stream` until it closes or [`MAX_BODY`] bytes have arrived.
#[cfg(target_os = "wasi")]
fn read_capped(stream: &wasi::io::streams::InputStream) -> Result<Vec<u8>, String> {
    use wasi::io::streams::StreamError;

    let mut data = Vec::new();
    while data.len() < MAX_BODY {
        let want = u64::try_from(MAX_BODY - data.len()).unwrap_or(u64::MAX);
        match stream.blocking_read(want) {
            Ok(chunk) => data.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(error)) => {
                return Err(match wasi::http::types::http_error_code(&error) {
                    Some(code) => format!("reading the body: {code:?}"),
                    None => format!("reading the body: {}", error.to_debug_string()),
                });
            }
        }
    }
    data.truncate(MAX_BODY);
    Ok(data)
}

/// Off WASI there is no `wasi:http`; the rest of the logic still tests natively.
#[cfg(not(target_os = "wasi"))]
fn get(_target: &Target) -> Result<Response, String> {
    Err("wasi:http is only available on wasm32-wasip2".to_owned())
}

airssys_sdk::export_component!(HttpProbe);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(request: &str) -> Result<Json, Error> {
        let out = HttpProbe::init(&Config::default())?.execute(Input::new(request))?;
        assert_eq!(out.content_type(), Some("application/json"));
        Ok(serde_json::from_slice(&out.data).unwrap())
    }

    fn target(authority: &str, path_with_query: &str) -> Target {
        Target { authority: authority.to_owned(), path_with_query: path_with_query.to_owned() }
    }

    #[test]
    fn metadata() {
        let meta = HttpProbe::metadata();
        assert_eq!(meta.name, "http-probe");
        assert_eq!(meta.version, "1.0.0");
        assert!(HttpProbe::required_capabilities().is_empty());
    }

    #[test]
    fn parses_http_urls() {
        assert_eq!(Target::parse("http://127.0.0.1:8080/a/b?x=1").unwrap(), target("127.0.0.1:8080", "/a/b?x=1"));
        assert_eq!(Target::parse("HTTP://example.com").unwrap(), target("example.com", "/"));
        assert_eq!(Target::parse("http://h:1?q").unwrap(), target("h:1", "/?q"));
        assert_eq!(Target::parse(" http://h:1/p#frag ").unwrap(), target("h:1", "/p"));
        assert_eq!(Target::parse("http://[::1]:80/").unwrap(), target("[::1]:80", "/"));
    }

    #[test]
    fn refuses_other_urls() {
        assert_eq!(Target::parse("https://127.0.0.1/").unwrap_err(), "only http is supported");
        assert_eq!(Target::parse("ftp://127.0.0.1/").unwrap_err(), "only http is supported");
        for bad in ["127.0.0.1:80/x", "http:///x", "http://u:p@h/", "http://h/a b", ""] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_failures_are_answers_not_errors() {
        let https = call(r#"{"url":"https://127.0.0.1:1/"}"#).unwrap();
        assert_eq!(https, json!({"ok": false, "error": "only http is supported"}));
        let native = call(r#"{"url":"http://127.0.0.1:1/"}"#).unwrap();
        assert_eq!(native["ok"], false, "{native}");
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        for bad in ["not json", "{}", r#"{"url":1}"#, "[]"] {
            let err = call(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad}: {err:?}");
        }
    }
}
