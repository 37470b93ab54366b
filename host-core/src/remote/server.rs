//! `airssys serve`: a [`Host`] behind the HTTP API described in
//! [`crate::remote`] (axum on a tokio runtime of its own).
//!
//! Every `/v1/` route and `/metrics` need the bearer token; the comparison
//! takes the same time whatever the token sent. Host work runs on the I/O
//! worker that took the request. An invoke of a service whose last call
//! was short (under [`INLINE_CALL_LIMIT`]) runs inline: a warm call takes
//! microseconds, less than handing the worker's other tasks to another
//! thread (`block_in_place`) or a trip to the blocking pool (two thread
//! wake-ups) would cost; every other piece of host work, and the calls of
//! slow services, run under `block_in_place`, so the other connections
//! carry on meanwhile (a call that waits inside the host hands its worker
//! on the same way, in [`crate::deadline`]). With a certificate and key
//! ([`TlsFiles`]) it speaks HTTPS only (rustls). Owns routing, the
//! extractors (JSON body, `name@version` path, query, batch frames) and the
//! one map from an error's kind to an HTTP status; it calls only the
//! [`Host`] facade.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

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

use super::{
    CapabilityBody, DecisionBody, ErrorBody, METADATA_HEADER, PIPELINE_DEADLINE_HEADER, PIPELINE_HEADER,
    PIPELINE_TRACE_HEADER, PipelineRequest, Runtime, batch,
    tls::{TlsListener, tls_acceptor},
    token::same_token,
};
use crate::{
    Error, Host, Input, Result, Value,
    deploy::DeployRequest,
    pipeline::RunOptions,
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
    /// Largest request body (an uploaded component, a whole batch), in bytes.
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate and key (`None`: plain HTTP).
    pub tls: Option<TlsFiles>,
}

impl ServerConfig {
    /// Loopback on `port`, 64 MiB bodies, plain HTTP.
    pub fn loopback(port: u16, token: impl Into<String>) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            token: token.into(),
            max_body_bytes: 64 << 20,
            tls: None,
        }
    }
}

/// An invoke of a service whose last call took less than this runs inline
/// on the I/O worker; a longer one is handed on (`block_in_place`).
pub const INLINE_CALL_LIMIT: Duration = Duration::from_micros(500);

/// A server running on its own threads; stops when dropped.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _monitor: crate::metrics::Monitor,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, or `https://ADDR` with TLS.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
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
    costs: Arc<CallCosts>,
}

/// Each service's recent call time (µs, a moving average), which decides whether its next
/// invoke runs inline (see [`INLINE_CALL_LIMIT`]).
#[derive(Default)]
struct CallCosts(RwLock<HashMap<String, Arc<AtomicU64>>>);

impl CallCosts {
    fn of(&self, service: &str) -> Arc<AtomicU64> {
        if let Some(cost) = self.0.read().ok().and_then(|map| map.get(service).cloned()) {
            return cost;
        }
        let mut map = match self.0.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Bounded: a client naming endless unknown services cannot grow it without end.
        if map.len() > 4096 {
            map.clear();
        }
        map.entry(service.to_string()).or_default().clone()
    }
}

/// Runs one invoke of `service`, inline when its recent calls were short
/// (a moving average of their time, so one call slowed down by the
/// machine does not move the service off the fast path).
fn call<T>(costs: &CallCosts, service: &str, work: impl FnOnce() -> T) -> T {
    let cost = costs.of(service);
    let average = cost.load(Ordering::Relaxed);
    let timed = || {
        let started = Instant::now();
        let out = work();
        let took = started.elapsed().as_micros().min(u64::MAX as u128) as u64;
        cost.store(if average == 0 { took } else { (average * 7 + took) / 8 }, Ordering::Relaxed);
        out
    };
    if average < INLINE_CALL_LIMIT.as_micros() as u64 { timed() } else { tokio::task::block_in_place(timed) }
}

pub use super::{status::status_of, tls::TlsFiles, token::load_or_create_token};

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
    let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(config.listen))
        .map_err(|source| Error::Listen { address: config.listen.to_string(), source })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen { address: config.listen.to_string(), source })?;
    let monitor = host.monitor(Duration::from_secs(5))?;
    let state = AppState {
        host: host.clone(),
        token: config.token.trim().into(),
        max_body_bytes: config.max_body_bytes,
        costs: Arc::default(),
    };
    let tls = acceptor.is_some();
    let app = router(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("airssys-serve".into())
        .spawn(move || {
            runtime.block_on(async move {
                use axum::serve::ListenerExt;
                let stopped = async move {
                    let _ = stopped.await;
                };
                let served = match acceptor {
                    None => {
                        // Small answers go out at once (no Nagle delay on loopback or LAN).
                        let listener = listener.tap_io(|tcp| {
                            if let Err(e) = tcp.set_nodelay(true) {
                                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
                            }
                        });
                        axum::serve(listener, app).with_graceful_shutdown(stopped).await
                    }
                    Some(acceptor) => {
                        let listener = TlsListener::new(listener, acceptor);
                        axum::serve(listener, app).with_graceful_shutdown(stopped).await
                    }
                };
                if let Err(e) = served {
                    tracing::error!(error = %e, "the server stopped");
                }
            });
            host.close();
        })
        .map_err(Error::thread("server"))?;
    Ok(RunningServer { addr, tls, stop: Some(stop), thread: Some(thread), _monitor: monitor })
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
        .route("/v1/services/{name}/invoke-batch", post(invoke_batch))
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
        let input = Input { metadata, ..Input::new(Vec::from(bytes)) };
        call(&state.costs, &name, || state.host.invoke(&name, &input))
    });
    match outcome {
        Ok(output) => {
            let metadata = metadata_value(&output.metadata);
            let mut response = output.data.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            if let Some(value) = metadata {
                headers.insert(METADATA_HEADER, value);
            }
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The [`METADATA_HEADER`] value of output metadata (none when empty).
fn metadata_value(metadata: &[(String, Value)]) -> Option<HeaderValue> {
    if metadata.is_empty() {
        return Some(HeaderValue::from_static("[]"));
    }
    HeaderValue::from_str(&serde_json::to_string(metadata).ok()?).ok()
}

/// `POST /v1/services/{name}/invoke-batch`: the body is input frames, the
/// answer result frames in the same order ([`batch`]); one input's error
/// is its frame's, the others go on.
#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/services/{name}/invoke-batch", skip_all, fields(service = %name))]
async fn invoke_batch(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    RawBody(bytes): RawBody,
) -> Response {
    let inputs = match batch::decode_inputs(&bytes) {
        Ok(inputs) => inputs,
        Err(e) => return ApiError(e).into_response(),
    };
    let results = tokio::task::block_in_place(|| Runtime::invoke_batch(&state.host, &name, &inputs));
    match results {
        Ok(results) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static(batch::CONTENT_TYPE))], batch::encode_results(&results))
                .into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /v1/pipelines/run` with a raw body: the input bytes as they are
/// (no JSON), the pipeline and options in headers.
fn raw_pipeline_request(headers: &HeaderMap, bytes: Bytes) -> Result<(crate::pipeline::Pipeline, Input, RunOptions)> {
    let text = |name: &str| -> Result<Option<&str>> {
        headers
            .get(name)
            .map(|v| v.to_str().map_err(|_| Error::BadRequest { reason: format!("the {name} header is not text") }))
            .transpose()
    };
    let pipeline = text(PIPELINE_HEADER)?.ok_or_else(|| Error::BadRequest {
        reason: format!(
            "a raw pipeline run needs the pipeline (JSON) in the {PIPELINE_HEADER} header, or send a JSON body \
             (content-type: application/json)"
        ),
    })?;
    let pipeline = crate::unique::from_json(pipeline.as_bytes()).map_err(|e| Error::BadRequest {
        reason: format!("the {PIPELINE_HEADER} header is not a pipeline (JSON): {e}"),
    })?;
    let mut options = RunOptions::default();
    if let Some(ms) = text(PIPELINE_DEADLINE_HEADER)? {
        let ms: u64 = ms.trim().parse().map_err(|_| Error::BadRequest {
            reason: format!("the {PIPELINE_DEADLINE_HEADER} header is not a number of milliseconds: `{ms}`"),
        })?;
        options.deadline = Duration::from_millis(ms);
    }
    if let Some(trace) = text(PIPELINE_TRACE_HEADER)? {
        options.trace = match trace.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            other => {
                return Err(Error::BadRequest {
                    reason: format!("the {PIPELINE_TRACE_HEADER} header is `true` or `false`, not `{other}`"),
                });
            }
        };
    }
    let input = Input { metadata: input_metadata(headers)?, ..Input::new(Vec::from(bytes)) };
    Ok((pipeline, input, options))
}

#[instrument(target = "airssys::http", level = "debug", name = "POST /v1/pipelines/run", skip_all)]
async fn run_pipeline(State(state): State<AppState>, request: Request) -> Response {
    let raw = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
    if raw {
        let headers = request.headers().clone();
        let bytes = match RawBody::from_request(request, &state).await {
            Ok(RawBody(bytes)) => bytes,
            Err(e) => return e.into_response(),
        };
        return match raw_pipeline_request(&headers, bytes) {
            Ok((pipeline, input, options)) => answer(&state, |host| host.run_pipeline(&pipeline, input, &options)),
            Err(e) => ApiError(e).into_response(),
        };
    }
    match JsonBody::<PipelineRequest>::from_request(request, &state).await {
        Ok(JsonBody(request)) => answer(&state, |host| {
            let options = request.options();
            host.run_pipeline(&request.pipeline, Input::new(request.input), &options)
        }),
        Err(e) => e.into_response(),
    }
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
