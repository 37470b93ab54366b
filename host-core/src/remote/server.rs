//! `airssys serve`: a [`Host`] behind the HTTP API described in
//! [`crate::remote`] (axum on a tokio runtime of its own).
//!
//! Every `/v1/` route and `/metrics` need the bearer token; the comparison
//! takes the same time whatever the token sent. Host calls run on tokio's
//! blocking pool, never on the I/O threads.

use std::{
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, Path as UrlPath, Query, Request, State,
        rejection::{BytesRejection, QueryRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize};

use super::{CapabilityBody, ErrorBody, METADATA_HEADER, MissingDetail, PipelineRequest, Runtime};
use crate::{
    Error, Host, Input, Result, Value,
    deploy::DeployRequest,
    fsutil::{self, IfExists},
    registry::ComponentRef,
};

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bearer token every `/v1/` request must carry.
    pub token: String,
    /// Largest request body (an uploaded component), in bytes.
    pub max_body_bytes: usize,
}

impl ServerConfig {
    /// Loopback on `port`, 64 MiB bodies.
    pub fn loopback(port: u16, token: impl Into<String>) -> Self {
        ServerConfig { listen: SocketAddr::from(([127, 0, 0, 1], port)), token: token.into(), max_body_bytes: 64 << 20 }
    }
}

/// A server running on its own threads; stops when dropped.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _monitor: crate::metrics::Monitor,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks until the server stops (it does not stop on its own).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Clone)]
struct AppState {
    host: Host,
    token: Arc<str>,
}

/// Binds and starts serving `host`. Returns once the socket is bound.
pub fn start(host: Host, config: ServerConfig) -> Result<RunningServer> {
    if config.token.trim().len() < 16 {
        return Err(Error::Config("the server token must be at least 16 characters".into()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .thread_name("airssys-serve")
        .build()
        .map_err(|e| Error::Config(format!("cannot start the server's runtime: {e}")))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(config.listen))
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr().map_err(|e| Error::Config(format!("no local address: {e}")))?;
    let monitor = host.monitor(Duration::from_secs(5));
    let app = router(AppState { host: host.clone(), token: config.token.trim().into() }, config.max_body_bytes);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("airssys-serve".into())
        .spawn(move || {
            runtime.block_on(async move {
                use axum::serve::ListenerExt;
                // Small answers go out at once (no Nagle delay on loopback or LAN).
                let listener = listener.tap_io(|tcp| {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::warn!(error = %e, "cannot set TCP_NODELAY");
                    }
                });
                let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = stopped.await;
                });
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "the server stopped");
                }
            });
            host.close();
        })
        .map_err(|e| Error::Config(format!("cannot start the server thread: {e}")))?;
    Ok(RunningServer { addr, stop: Some(stop), thread: Some(thread), _monitor: monitor })
}

/// Reads the token from `path`, or makes one and writes it there as a
/// secret (mode 0600 from its first byte, whatever the umask; a missing
/// folder is created 0700; an existing file is never replaced). Returns the
/// token and whether it was new.
pub fn load_or_create_token(path: &Path) -> Result<(String, bool)> {
    if let Some(token) = read_token(path)? {
        return Ok((token, false));
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no randomness for a token: {e}")))?;
    let token = hex::encode(bytes);
    match fsutil::write_secret(path, format!("{token}\n").as_bytes(), IfExists::Refuse, "create the token file") {
        Ok(()) => Ok((token, true)),
        // Another server made it meanwhile: use that one.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            read_token(path)?.map(|token| (token, false)).ok_or_else(|| {
                Error::Config(format!(
                    "the token file {} was removed while it was made; start the server again",
                    path.display()
                ))
            })
        }
        Err(e) => Err(e),
    }
}

/// The token in `path`; `None` when there is no such file.
fn read_token(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => {
            Err(Error::Config(format!("the token file {} is empty; delete it to get a new token", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read the token file", path, e)),
    }
}

fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/metrics", get(prometheus))
        .route("/v1/components", get(components))
        .route("/v1/components/{name}/{version}", put(add_component).get(describe).delete(remove_component))
        .route("/v1/signatures", put(add_signature))
        .route("/v1/trust", get(trust_policy).put(set_trust_policy))
        .route("/v1/audit/verify", get(verify_audit))
        .route("/v1/audit/repair", post(repair_audit))
        .route("/v1/services", get(services))
        .route("/v1/services/{name}", get(service))
        .route("/v1/deploy", post(deploy))
        .route("/v1/services/{name}/rollback", post(rollback))
        .route("/v1/services/{name}/grant", post(grant))
        .route("/v1/services/{name}/revoke", post(revoke))
        .route("/v1/services/{name}/decisions", post(decision))
        .route("/v1/services/{name}/invoke", post(invoke))
        .route("/v1/pipelines/run", post(run_pipeline))
        .route("/v1/metrics", get(metrics))
        .route("/v1/audit", get(audit))
        .route("/v1/rollouts", get(rollouts))
        .route("/v1/events", get(events))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async {
            failure(StatusCode::NOT_FOUND, "not-found", "no such endpoint; see `airssys serve --help`")
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// A JSON error response.
fn failure(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (status, Json(ErrorBody { error: message.into(), kind: kind.to_string(), missing: None })).into_response()
}

/// How an error from the host answers over HTTP.
fn error_response(e: &Error) -> Response {
    if let Error::MissingCapabilities { service, component, missing } = e {
        let detail = MissingDetail { service: service.clone(), component: component.clone(), missing: missing.clone() };
        let body = ErrorBody { error: e.to_string(), kind: "missing-capabilities".into(), missing: Some(detail) };
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    let (status, kind) = match e {
        Error::UnknownService { .. } => (StatusCode::NOT_FOUND, "unknown-service"),
        Error::UnknownComponent { .. } | Error::UnknownVersion { .. } => (StatusCode::NOT_FOUND, "unknown-component"),
        Error::UnknownPipeline { .. } => (StatusCode::NOT_FOUND, "unknown-pipeline"),
        Error::NotWasm { .. }
        | Error::CoreModule
        | Error::InvalidComponent(_)
        | Error::MissingExport { .. }
        | Error::ContractVersion { .. }
        | Error::ContractShape { .. }
        | Error::InvalidReference { .. }
        | Error::InvalidStrategy(_)
        | Error::StatefulStrategy { .. }
        | Error::GrantInvalid { .. }
        | Error::InvalidPipeline { .. }
        | Error::Config(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        Error::MissingCapabilities { .. } | Error::Signature(_) => (StatusCode::FORBIDDEN, "refused"),
        Error::VersionExists { .. } | Error::InUse { .. } | Error::NothingToRollBack { .. } => {
            (StatusCode::CONFLICT, "conflict")
        }
        Error::RolloutFailed(_) => (StatusCode::CONFLICT, "rollout-failed"),
        Error::LogTorn { .. } => (StatusCode::CONFLICT, "log-torn"),
        Error::LogCorrupt { .. } => (StatusCode::CONFLICT, "log-corrupt"),
        e if e.is_guest_fault() => (StatusCode::UNPROCESSABLE_ENTITY, "component-failed"),
        Error::Poisoned | Error::PipelineNode { .. } | Error::PipelineTimeout { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "component-failed")
        }
        Error::PoolBusy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    failure(status, kind, e.to_string())
}

/// Same time for every token of the same length; a wrong length is refused at once.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(token) if same_token(token.as_bytes(), state.token.as_bytes()) => next.run(request).await,
        Some(_) => failure(StatusCode::UNAUTHORIZED, "unauthorized", "wrong token"),
        None => failure(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the server's token: send `Authorization: Bearer TOKEN` (the token is in the file given to `airssys serve --token-file`)",
        ),
    }
}

/// Runs host work on the blocking pool and answers with its JSON.
async fn blocking<T: Serialize + Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Host) -> Result<T> + Send + 'static,
) -> Response {
    // On this worker thread, handing its other tasks to another one: a
    // trip to the blocking pool costs two thread wake-ups per request.
    match tokio::task::block_in_place(|| work(&state.host)) {
        Ok(value) => Json(value).into_response(),
        Err(e) => error_response(&e),
    }
}

/// The parsed JSON body, or the error response to send (boxed: it is large).
fn json_body<T: serde::de::DeserializeOwned>(
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<T, Box<Response>> {
    let bytes = body.map_err(|r| Box::new(body_rejection(r)))?;
    // Strict: a key named twice (a config key, a node id) is refused, not
    // silently reduced to its last entry.
    crate::unique::from_json(&bytes).map_err(|e| {
        Box::new(failure(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("the request body is not the JSON this endpoint takes: {e}"),
        ))
    })
}

fn query_rejection(rejection: QueryRejection) -> Response {
    failure(StatusCode::BAD_REQUEST, "bad-request", format!("bad query string: {}", rejection.body_text()))
}

fn body_rejection(rejection: BytesRejection) -> Response {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        failure(
            status,
            "too-large",
            "the request body is larger than the server accepts (`airssys serve --max-body-mib`)",
        )
    } else {
        failure(status, "bad-request", rejection.body_text())
    }
}

async fn prometheus(State(state): State<AppState>) -> Response {
    // In place on the I/O worker, like every other host call here.
    match tokio::task::block_in_place(|| state.host.metrics()) {
        Ok(snapshot) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], snapshot.to_prometheus()).into_response()
        }
        Err(e) => error_response(&e),
    }
}

async fn components(State(state): State<AppState>) -> Response {
    blocking(&state, Runtime::components).await
}

async fn add_component(
    State(state): State<AppState>,
    UrlPath((name, version)): UrlPath<(String, String)>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(rejection) => return body_rejection(rejection),
    };
    let reference: ComponentRef = match format!("{name}@{version}").parse() {
        Ok(reference) => reference,
        Err(e) => return error_response(&e),
    };
    blocking(&state, move |host| host.add_component(&reference, &bytes)).await
}

async fn services(State(state): State<AppState>) -> Response {
    blocking(&state, |host| host.status(None)).await
}

async fn service(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    blocking(&state, move |host| host.status(Some(&name))?.pop().ok_or(Error::UnknownService { name: name.clone() }))
        .await
}

async fn deploy(State(state): State<AppState>, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    match json_body::<DeployRequest>(body) {
        Ok(request) => blocking(&state, move |host| host.deploy(request)).await,
        Err(response) => *response,
    }
}

async fn rollback(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    blocking(&state, move |host| host.rollback(&name)).await
}

async fn grant(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    match json_body::<CapabilityBody>(body) {
        Ok(b) => blocking(&state, move |host| host.grant(&name, b.capability)).await,
        Err(response) => *response,
    }
}

async fn revoke(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    match json_body::<CapabilityBody>(body) {
        Ok(b) => blocking(&state, move |host| host.revoke(&name, &b.capability)).await,
        Err(response) => *response,
    }
}

async fn invoke(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(rejection) => return body_rejection(rejection),
    };
    let metadata: Vec<(String, Value)> = match headers.get(METADATA_HEADER).map(|v| v.to_str()) {
        None => Vec::new(),
        Some(Ok(text)) => match serde_json::from_str(text) {
            Ok(metadata) => metadata,
            Err(e) => {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    format!("the {METADATA_HEADER} header is not metadata JSON: {e}"),
                );
            }
        },
        Some(Err(_)) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("the {METADATA_HEADER} header is not text"),
            );
        }
    };
    let started = Instant::now();
    let outcome = tokio::task::block_in_place(|| {
        let mut input = Input::new(bytes.to_vec());
        input.metadata = metadata;
        state.host.invoke(&name, &input)
    });
    match outcome {
        Ok(output) => {
            let mut response = output.data.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            if let Ok(value) = HeaderValue::from_str(&serde_json::to_string(&output.metadata).unwrap_or_default()) {
                headers.insert(METADATA_HEADER, value);
            }
            tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "invoke");
            response
        }
        Err(e) => error_response(&e),
    }
}

async fn run_pipeline(State(state): State<AppState>, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    match json_body::<PipelineRequest>(body) {
        Ok(request) => {
            blocking(&state, move |host| {
                let options = request.options();
                host.run_pipeline(&request.pipeline, Input::new(request.input), &options)
            })
            .await
        }
        Err(response) => *response,
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    blocking(&state, |host| host.metrics()).await
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    service: Option<String>,
    since_ms: Option<u64>,
}

async fn audit(State(state): State<AppState>, q: std::result::Result<Query<AuditQuery>, QueryRejection>) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return query_rejection(e),
    };
    blocking(&state, move |host| Runtime::audit(host, q.service.as_deref(), q.since_ms)).await
}

#[derive(Debug, Deserialize)]
struct RolloutQuery {
    service: Option<String>,
}

async fn rollouts(
    State(state): State<AppState>,
    q: std::result::Result<Query<RolloutQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return query_rejection(e),
    };
    blocking(&state, move |host| host.rollouts(q.service.as_deref())).await
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    metrics_ms: Option<u64>,
}

/// Server-sent events: each `data:` line is one [`crate::events::RuntimeEvent`].
async fn events(State(state): State<AppState>, q: std::result::Result<Query<EventsQuery>, QueryRejection>) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return query_rejection(e),
    };
    use axum::response::sse::{Event, KeepAlive, Sse};
    let every = Duration::from_millis(q.metrics_ms.unwrap_or(1000).max(100));
    let receiver = match state.host.subscribe(every) {
        Ok(receiver) => receiver,
        Err(e) => return error_response(&e),
    };
    // A thread bridges the host's channel to the async stream; both end
    // when the client goes away.
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    let bridge = std::thread::Builder::new().name("airssys-sse".into()).spawn(move || {
        for event in receiver {
            let Ok(json) = serde_json::to_string(&event) else { continue };
            if tx.blocking_send(json).is_err() {
                return;
            }
        }
    });
    if let Err(e) = bridge {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("cannot stream events: {e}"));
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let json = rx.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(Event::default().data(json)), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

async fn remove_component(
    State(state): State<AppState>,
    UrlPath((name, version)): UrlPath<(String, String)>,
) -> Response {
    let reference: ComponentRef = match format!("{name}@{version}").parse() {
        Ok(reference) => reference,
        Err(e) => return error_response(&e),
    };
    done(tokio::task::block_in_place(|| state.host.remove_component(&reference)))
}

async fn add_signature(State(state): State<AppState>, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    match json_body::<crate::security::signing::ComponentSignature>(body) {
        Ok(signature) => done(tokio::task::block_in_place(|| Runtime::add_signature(&state.host, &signature))),
        Err(response) => *response,
    }
}

async fn trust_policy(State(state): State<AppState>) -> Response {
    blocking(&state, |host| host.trust_policy()).await
}

async fn set_trust_policy(State(state): State<AppState>, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    match json_body::<crate::security::signing::TrustPolicy>(body) {
        Ok(policy) => done(tokio::task::block_in_place(|| state.host.set_trust_policy(&policy))),
        Err(response) => *response,
    }
}

async fn verify_audit(State(state): State<AppState>) -> Response {
    blocking(&state, Runtime::verify_audit).await
}

async fn repair_audit(State(state): State<AppState>) -> Response {
    blocking(&state, Runtime::repair_audit).await
}

/// 204, or the error.
fn done(result: Result<()>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

async fn describe(State(state): State<AppState>, UrlPath((name, version)): UrlPath<(String, String)>) -> Response {
    let reference: ComponentRef = match format!("{name}@{version}").parse() {
        Ok(reference) => reference,
        Err(e) => return error_response(&e),
    };
    blocking(&state, move |host| host.describe_version(&reference)).await
}

#[derive(Debug, Deserialize)]
struct DecisionBody {
    capability: crate::Capability,
    allowed: bool,
}

async fn decision(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    match json_body::<DecisionBody>(body) {
        Ok(d) => done(tokio::task::block_in_place(|| state.host.record_decision(&name, &d.capability, d.allowed))),
        Err(response) => *response,
    }
}
