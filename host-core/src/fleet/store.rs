//! The connection to a fleet and its JetStream stores: buckets and streams
//! made with explicit settings (async-nats's `create_key_value` first asks
//! for account details that nats-server 2.9 answers in an older shape, so
//! the KV streams are created the way that call would make them).
//!
//! Owns: connecting (credentials, timeouts), making or opening the stores,
//! and the small typed helpers on them (JSON values, compare-and-set).
//! Must not touch: what the values mean (registry, desired state, status).

use std::time::Duration;

use async_nats::jetstream::{
    self,
    kv::{self, Operation},
    object_store::ObjectStore,
    stream::{self, DiscardPolicy},
};
use futures_util::StreamExt;
use serde::{Serialize, de::DeserializeOwned};

use super::{FleetConfig, FleetNames};
use crate::{Error, Result};

/// How long a node's status stays in the nodes bucket after its last report.
pub(crate) const NODE_TTL: Duration = Duration::from_secs(10);
/// How long a rollout lock lives unless renewed.
pub(crate) const LOCK_TTL: Duration = Duration::from_secs(30);

/// An open fleet: the client and every store.
#[derive(Clone)]
pub(crate) struct Stores {
    pub names: FleetNames,
    pub url: String,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub blobs: ObjectStore,
    pub tags: kv::Store,
    pub desired: kv::Store,
    pub nodes: kv::Store,
    pub locks: kv::Store,
    pub audit: stream::Stream,
    pub rollouts: stream::Stream,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").field("fleet", &self.names.fleet()).field("url", &self.url).finish_non_exhaustive()
    }
}

fn nats_err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::FleetRequest { what: what.to_string(), reason: e.to_string() }
}

impl Stores {
    /// Connects (within the connect timeout) and opens or makes every store.
    ///
    /// Errors: [`Error::FleetConfig`] (bad URL, fleet name, credentials
    /// file), [`Error::FleetUnreachable`] (no NATS at the URL, or no
    /// JetStream there).
    pub async fn open(config: &FleetConfig, client_name: &str) -> Result<Stores> {
        config.validate()?;
        let names = FleetNames::new(&config.name)?;
        let mut options = async_nats::ConnectOptions::new()
            .name(client_name)
            .connection_timeout(config.connect_timeout)
            .request_timeout(Some(config.request_timeout));
        if let Some(path) = &config.credentials {
            options = credentials(options, path).await?;
        }
        let unreachable = |reason: String| Error::FleetUnreachable { url: config.url.clone(), reason };
        let client = tokio::time::timeout(config.connect_timeout, options.connect(config.url.as_str()))
            .await
            .map_err(|_| unreachable(format!("no answer within {} ms", config.connect_timeout.as_millis())))?
            .map_err(|e| unreachable(e.to_string()))?;
        let js = jetstream::ContextBuilder::new().timeout(config.request_timeout).build(client.clone());
        let no_jetstream = |e: &dyn std::fmt::Display| {
            unreachable(format!("JetStream is not available there ({e}); start nats-server with -js"))
        };
        let blobs = match js.get_object_store(names.blobs()).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(jetstream::object_store::Config { bucket: names.blobs(), ..Default::default() })
                .await
                .map_err(|e| no_jetstream(&e))?,
        };
        let tags = kv_bucket(&js, &names.names(), 1, Duration::ZERO).await.map_err(|e| no_jetstream(&e))?;
        let desired = kv_bucket(&js, &names.desired(), 16, Duration::ZERO).await.map_err(|e| no_jetstream(&e))?;
        let nodes = kv_bucket(&js, &names.nodes(), 1, NODE_TTL).await.map_err(|e| no_jetstream(&e))?;
        let locks = kv_bucket(&js, &names.locks(), 1, LOCK_TTL).await.map_err(|e| no_jetstream(&e))?;
        let audit =
            log_stream(&js, &names.audit_stream(), &names.audit_subject()).await.map_err(|e| no_jetstream(&e))?;
        let rollouts =
            log_stream(&js, &names.rollouts_stream(), &names.rollouts_subject()).await.map_err(|e| no_jetstream(&e))?;
        Ok(Stores { names, url: config.url.clone(), client, js, blobs, tags, desired, nodes, locks, audit, rollouts })
    }

    /// The largest message the server takes, in bytes.
    pub fn max_payload(&self) -> usize {
        self.client.server_info().max_payload
    }
}

/// Reads the credentials file into the connect options.
async fn credentials(
    options: async_nats::ConnectOptions,
    path: &std::path::Path,
) -> Result<async_nats::ConnectOptions> {
    let bad = |reason: String| Error::FleetConfig(format!("credentials file {}: {reason}", path.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Group-readable is allowed (a Kubernetes secret mounted for the
        // pod's group); readable or writable by everyone is not.
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        if meta.permissions().mode() & 0o007 != 0 {
            return Err(bad(format!(
                "readable by others (mode {:o}); make it private: chmod 600 {}",
                meta.permissions().mode() & 0o777,
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let text = text.trim();
    if text.contains("-----BEGIN NATS USER JWT-----") {
        return options.credentials_file(path).await.map_err(|e| bad(e.to_string()));
    }
    if text.starts_with("SU") && !text.contains(char::is_whitespace) {
        return Ok(options.nkey(text.to_string()));
    }
    if let Some((user, password)) = text.split_once(':')
        && !user.is_empty()
        && !text.contains('\n')
    {
        return Ok(options.user_and_password(user.to_string(), password.to_string()));
    }
    if !text.is_empty() && !text.contains(char::is_whitespace) {
        return Ok(options.token(text.to_string()));
    }
    Err(bad("expected a .creds file, an nkey seed (SU...), `user:password` or a token".into()))
}

/// A KV bucket, made like `create_key_value` makes one when missing.
async fn kv_bucket(js: &jetstream::Context, bucket: &str, history: i64, max_age: Duration) -> Result<kv::Store> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: history,
        max_age,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(nats_err("make a KV bucket"))?;
    js.get_key_value(bucket).await.map_err(nats_err("open a KV bucket"))
}

/// An append-only stream on one subject (audit chain, rollout records).
async fn log_stream(js: &jetstream::Context, name: &str, subject: &str) -> Result<stream::Stream> {
    js.get_or_create_stream(stream::Config {
        name: name.to_string(),
        subjects: vec![subject.to_string()],
        allow_direct: true,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(nats_err("make a stream"))
}

/// A JSON value and its revision.
pub(crate) async fn get_json<T: DeserializeOwned>(store: &kv::Store, key: &str) -> Result<Option<(T, u64)>> {
    let entry = store.entry(key).await.map_err(nats_err("read a KV entry"))?;
    match entry {
        Some(entry) if entry.operation == Operation::Put => {
            let value = serde_json::from_slice(&entry.value).map_err(|e| Error::FleetRequest {
                what: format!("read `{key}` in {}", entry.bucket),
                reason: format!("not the expected JSON ({e})"),
            })?;
            Ok(Some((value, entry.revision)))
        }
        _ => Ok(None),
    }
}

/// Every JSON value whose key starts with `prefix`, with its key.
///
/// The keys come from one stream-info request listing the bucket's
/// subjects: a KV `keys()` watcher can keep waiting for the end of a bucket
/// that is written all the time (node reports every 2 s).
pub(crate) async fn list_json<T: DeserializeOwned>(store: &kv::Store, prefix: &str) -> Result<Vec<(String, T)>> {
    let head = format!("$KV.{}.", store.name);
    let mut subjects = store.stream.info_with_subjects(format!("{head}>")).await.map_err(nats_err("list KV keys"))?;
    let mut wanted = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(nats_err("list KV keys"))?;
        if let Some(key) = subject.strip_prefix(&head)
            && key.starts_with(prefix)
        {
            wanted.push(key.to_string());
        }
    }
    wanted.sort();
    let mut out = Vec::new();
    for key in wanted {
        if let Some((value, _)) = get_json(store, &key).await? {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Writes `value` as JSON: created when `expected` is `None` (refused if the
/// key exists), else updated only at revision `expected`. `Ok(Err(()))`
/// when the condition did not hold.
pub(crate) async fn put_json_if<T: Serialize>(
    store: &kv::Store,
    key: &str,
    value: &T,
    expected: Option<u64>,
) -> Result<std::result::Result<u64, ()>> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| Error::FleetRequest { what: format!("encode `{key}`"), reason: e.to_string() })?;
    match expected {
        None => match store.create(key, bytes.into()).await {
            Ok(revision) => Ok(Ok(revision)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(Err(())),
            Err(e) => Err(Error::FleetRequest { what: format!("create `{key}`"), reason: e.to_string() }),
        },
        Some(revision) => match store.update(key, bytes.into(), revision).await {
            Ok(revision) => Ok(Ok(revision)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(Err(())),
            Err(e) => Err(Error::FleetRequest { what: format!("update `{key}`"), reason: e.to_string() }),
        },
    }
}

/// Writes `value` as JSON, whatever was there.
pub(crate) async fn put_json<T: Serialize>(store: &kv::Store, key: &str, value: &T) -> Result<u64> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| Error::FleetRequest { what: format!("encode `{key}`"), reason: e.to_string() })?;
    store.put(key, bytes.into()).await.map_err(nats_err("write a KV entry"))
}
