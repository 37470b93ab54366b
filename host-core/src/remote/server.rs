//! `airssys serve`: a [`Host`] behind the HTTP API described in
//! [`crate::remote`] (axum on a tokio runtime of its own).
//!
//! Every `/v1/` route and `/metrics` need the bearer token; the comparison
//! takes the same time whatever the token sent. Host calls run in place on
//! the I/O worker that took the request (`block_in_place`: tokio hands the
//! worker's other tasks to another thread meanwhile), which saves the two
//! thread wake-ups a trip to the blocking pool costs. Owns routing, the
//! extractors (JSON body, `name@version` path, query) and the one map from
//! an error's kind to an HTTP status; it calls only the [`Host`] facade.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path as UrlPath, Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tracing::instrument;

use super::{CapabilityBody, DecisionBody, ErrorBody, METADATA_HEADER, PipelineRequest, Runtime};
use crate::{
    Error, ErrorKind, Host, Input, Result, Value,
    deploy::DeployRequest,
    fsutil::{self, IfExists},
    registry::ComponentRef,
    security::signing::{ComponentSignature, TrustPolicy},
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
    max_body_bytes: usize,
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
        .map_err(Error::thread("server runtime"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(config.listen))
        .map_err(|source| Error::Listen { address: config.listen.to_string(), source })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen { address: config.listen.to_string(), source })?;
    let monitor = host.monitor(Duration::from_secs(5))?;
    let state =
        AppState { host: host.clone(), token: config.token.trim().into(), max_body_bytes: config.max_body_bytes };
    let app = router(state);
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
        .map_err(Error::thread("server"))?;
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
    getrandom::fill(&mut bytes).map_err(|e| Error::Randomness { purpose: "a server token", reason: e.to_string() })?;
    let token = hex::encode(bytes);
    match fsutil::write_secret(path, format!("{token}\n").as_bytes(), IfExists::Refuse, "create the token file") {
        Ok(()) => Ok((token, true)),
        // Another server made it meanwhile: use that one.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            read_token(path)?.map(|token| (token, false)).ok_or_else(|| Error::TokenFile {
                path: path.to_path_buf(),
                problem: "it was removed while it was made; start the server again".into(),
            })
        }
        Err(e) => Err(e),
    }
}

/// The token in `path`; `None` when there is no such file.
fn read_token(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => Err(Error::TokenFile {
            path: path.to_path_buf(),
            problem: "it is empty; delete it to get a new token".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read the token file", path, e)),
    }
}

fn router(state: AppState) -> Router {
    let max_body_bytes = state.max_body_bytes;
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
        .route("/v1/traces", get(traces))
        .route("/v1/events", get(events))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|method: Method, uri: Uri| async move {
            ApiError(Error::NoEndpoint { method: method.to_string(), path: uri.path().to_string() })
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// The HTTP status of every error of a kind: the one place statuses are
/// decided.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Denied => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Invalid | ErrorKind::GuestFault => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as an HTTP answer: the status of its kind, the JSON body.
struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (status_of(self.0.kind()), Json(ErrorBody::of(&self.0))).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
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
    let reason = match given {
        Some(token) if same_token(token.as_bytes(), state.token.as_bytes()) => return next.run(request).await,
        Some(_) => "wrong token",
        None => {
            "this endpoint needs the server's token: send `Authorization: Bearer TOKEN` (the token is in the \
             server's token file)"
        }
    };
    ApiError(Error::Unauthorized { reason: reason.into() }).into_response()
}

/// Runs host work in place on this I/O worker and answers with its JSON.
fn answer<T: Serialize>(state: &AppState, work: impl FnOnce(&Host) -> Result<T>) -> Response {
    // On this worker thread, handing its other tasks to another one: a
    // trip to the blocking pool costs two thread wake-ups per request.
    match tokio::task::block_in_place(|| work(&state.host)) {
        Ok(value) => Json(value).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// 204 for host work that answers nothing.
fn done(state: &AppState, work: impl FnOnce(&Host) -> Result<()>) -> Response {
    match tokio::task::block_in_place(|| work(&state.host)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// The request body's bytes, refused with [`Error::BodyTooLarge`] over the
/// server's limit.
struct RawBody(Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> std::result::Result<Self, ApiError> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError(Error::BodyTooLarge { limit_bytes: state.max_body_bytes as u64 }))
            }
            Err(r) => Err(ApiError(Error::BadRequest { reason: r.body_text() })),
        }
    }
}

/// A JSON request body, read strictly: a key named twice (a config key, a
/// node id) is refused, not silently reduced to its last entry.
struct JsonBody<T>(T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> std::result::Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        crate::unique::from_json(&bytes).map(JsonBody).map_err(|e| {
            ApiError(Error::BadRequest { reason: format!("the request body is not the JSON this endpoint takes: {e}") })
        })
    }
}

/// The query string, refused with a 400 that says what is wrong.
struct QueryParams<T>(T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(q)) => Ok(QueryParams(q)),
            Err(r) => Err(ApiError(Error::BadRequest { reason: format!("bad query string: {}", r.body_text()) })),
        }
    }
}

/// `/{name}/{version}` of a component route, as a `name@version`.
struct VersionPath(ComponentRef);

impl FromRequestParts<AppState> for VersionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, ApiError> {
        let UrlPath((name, version)) = UrlPath::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|r| ApiError(Error::BadRequest { reason: r.body_text() }))?;
        Ok(VersionPath(format!("{name}@{version}").parse::<ComponentRef>().map_err(Error::from)?))
    }
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /metrics", skip_all)]
async fn prometheus(State(state): State<AppState>) -> Response {
    match tokio::task::block_in_place(|| state.host.metrics()) {
        Ok(snapshot) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], snapshot.to_prometheus()).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/components", skip_all)]
async fn components(State(state): State<AppState>) -> Response {
    answer(&state, Runtime::components)
}

#[instrument(target = "airssys::http", level = "debug", name = "PUT /v1/components", skip_all, fields(component = %reference))]
async fn add_component(
    State(state): State<AppState>,
    VersionPath(reference): VersionPath,
    RawBody(bytes): RawBody,
) -> Response {
    answer(&state, |host| host.add_component(&reference, &bytes))
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/components/{name}/{version}", skip_all, fields(component = %reference))]
async fn describe(State(state): State<AppState>, VersionPath(reference): VersionPath) -> Response {
    answer(&state, |host| host.describe_version(&reference))
}

#[instrument(target = "airssys::http", level = "debug", name = "DELETE /v1/components", skip_all, fields(component = %reference))]
async fn remove_component(State(state): State<AppState>, VersionPath(reference): VersionPath) -> Response {
    done(&state, |host| host.remove_component(&reference))
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/services", skip_all)]
async fn services(State(state): State<AppState>) -> Response {
    answer(&state, |host| host.status(None))
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/services/{name}", skip_all, fields(service = %name))]
async fn service(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    answer(&state, |host| host.status(Some(&name))?.pop().ok_or(Error::UnknownService { name: name.clone() }))
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/deploy", skip_all, fields(service = %request.service))]
async fn deploy(State(state): State<AppState>, JsonBody(request): JsonBody<DeployRequest>) -> Response {
    answer(&state, |host| host.deploy(request))
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/services/{name}/rollback", skip_all, fields(service = %name))]
async fn rollback(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    answer(&state, |host| host.rollback(&name))
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/services/{name}/grant", skip_all, fields(service = %name))]
async fn grant(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    JsonBody(body): JsonBody<CapabilityBody>,
) -> Response {
    answer(&state, |host| host.grant(&name, body.capability))
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/services/{name}/revoke", skip_all, fields(service = %name))]
async fn revoke(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    JsonBody(body): JsonBody<CapabilityBody>,
) -> Response {
    answer(&state, |host| host.revoke(&name, &body.capability))
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/services/{name}/decisions", skip_all, fields(service = %name))]
async fn decision(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Response {
    done(&state, |host| host.record_decision(&name, &body.capability, body.allowed))
}

/// The input metadata from the [`METADATA_HEADER`] header (none: empty).
fn input_metadata(headers: &HeaderMap) -> Result<Vec<(String, Value)>> {
    let Some(value) = headers.get(METADATA_HEADER) else { return Ok(Vec::new()) };
    let text = value
        .to_str()
        .map_err(|_| Error::BadRequest { reason: format!("the {METADATA_HEADER} header is not text") })?;
    serde_json::from_str(text)
        .map_err(|e| Error::BadRequest { reason: format!("the {METADATA_HEADER} header is not metadata JSON: {e}") })
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/services/{name}/invoke", skip_all, fields(service = %name))]
async fn invoke(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Response {
    let outcome = input_metadata(&headers).and_then(|metadata| {
        let input = Input { metadata, ..Input::new(bytes.to_vec()) };
        tokio::task::block_in_place(|| state.host.invoke(&name, &input))
    });
    match outcome {
        Ok(output) => {
            let mut response = output.data.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            if let Ok(value) = HeaderValue::from_str(&serde_json::to_string(&output.metadata).unwrap_or_default()) {
                headers.insert(METADATA_HEADER, value);
            }
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/pipelines/run", skip_all, fields(pipeline = %request.pipeline.name))]
async fn run_pipeline(State(state): State<AppState>, JsonBody(request): JsonBody<PipelineRequest>) -> Response {
    answer(&state, |host| {
        let options = request.options();
        host.run_pipeline(&request.pipeline, Input::new(request.input), &options)
    })
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/metrics", skip_all)]
async fn metrics(State(state): State<AppState>) -> Response {
    answer(&state, |host| host.metrics())
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    service: Option<String>,
    since_ms: Option<u64>,
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/audit", skip_all)]
async fn audit(State(state): State<AppState>, QueryParams(q): QueryParams<AuditQuery>) -> Response {
    answer(&state, |host| Runtime::audit(host, q.service.as_deref(), q.since_ms))
}

#[derive(Debug, Deserialize)]
struct RolloutQuery {
    service: Option<String>,
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/rollouts", skip_all)]
async fn rollouts(State(state): State<AppState>, QueryParams(q): QueryParams<RolloutQuery>) -> Response {
    answer(&state, |host| host.rollouts(q.service.as_deref()))
}

#[derive(Debug, Deserialize)]
struct TracesQuery {
    pipeline: Option<String>,
    last: Option<usize>,
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/traces", skip_all)]
async fn traces(State(state): State<AppState>, QueryParams(q): QueryParams<TracesQuery>) -> Response {
    answer(&state, |host| host.traces(q.pipeline.as_deref(), q.last.unwrap_or(0)))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    metrics_ms: Option<u64>,
}

/// Server-sent events: each `data:` line is one [`crate::events::RuntimeEvent`].
#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/events", skip_all)]
async fn events(State(state): State<AppState>, QueryParams(q): QueryParams<EventsQuery>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let every = Duration::from_millis(q.metrics_ms.unwrap_or(1000).max(100));
    let receiver = match state.host.subscribe(every) {
        Ok(receiver) => receiver,
        Err(e) => return ApiError(e).into_response(),
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
        return ApiError(Error::thread("event stream")(e)).into_response();
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let json = rx.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(Event::default().data(json)), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

#[instrument(target = "airssys::http", level = "debug", name = "PUT /v1/signatures", skip_all)]
async fn add_signature(State(state): State<AppState>, JsonBody(signature): JsonBody<ComponentSignature>) -> Response {
    done(&state, |host| Runtime::add_signature(host, &signature))
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/trust", skip_all)]
async fn trust_policy(State(state): State<AppState>) -> Response {
    answer(&state, |host| host.trust_policy())
}

#[instrument(target = "airssys::http", level = "debug", name = "PUT /v1/trust", skip_all)]
async fn set_trust_policy(State(state): State<AppState>, JsonBody(policy): JsonBody<TrustPolicy>) -> Response {
    done(&state, |host| host.set_trust_policy(&policy))
}

#[instrument(target = "airssys::http", level = "debug", name = "GET /v1/audit/verify", skip_all)]
async fn verify_audit(State(state): State<AppState>) -> Response {
    answer(&state, Runtime::verify_audit)
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/audit/repair", skip_all)]
async fn repair_audit(State(state): State<AppState>) -> Response {
    answer(&state, Runtime::repair_audit)
}
