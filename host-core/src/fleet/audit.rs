//! The fleet's audit chain: one JetStream stream of the same hash-chained
//! records as a data folder's `audit.jsonl`, appended with an expected last
//! sequence so that two writers never fork the chain (the loser reads the
//! new tail and chains after it); and the fleet's rollout history.
//!
//! Owns: appending, reading and verifying the stream. Must not touch: what
//! the records say (the callers choose the event and detail).

use async_nats::{HeaderMap, jetstream::context::PublishErrorKind};

use super::store::Stores;
use crate::{
    Error, Result,
    deploy::RolloutRecord,
    remote::AuditCheck,
    security::audit::{AuditBreak, AuditEvent, AuditRecord, GENESIS_HASH},
};

fn request_failed(what: &str) -> impl FnOnce(String) -> Error + '_ {
    move |reason| Error::FleetRequest { what: what.to_string(), reason }
}

/// The last sequence of a stream (0 when empty).
async fn last_sequence(stream: &async_nats::jetstream::stream::Stream) -> Result<u64> {
    let info = stream.get_info().await.map_err(|e| request_failed("read the audit stream")(e.to_string()))?;
    Ok(info.state.last_sequence)
}

/// Refuses a change before it happens when the audit stream cannot be
/// reached (audit or refuse).
pub(crate) async fn check(stores: &Stores) -> Result<()> {
    last_sequence(&stores.audit).await.map(drop)
}

async fn record_at(stores: &Stores, sequence: u64) -> Result<AuditRecord> {
    let message =
        stores.audit.direct_get(sequence).await.map_err(|e| request_failed("read the audit stream")(e.to_string()))?;
    serde_json::from_slice(&message.payload).map_err(|e| Error::FleetRequest {
        what: format!("read audit record {sequence}"),
        reason: format!("not a record ({e})"),
    })
}

/// Appends a record chained after the stream's last one.
pub(crate) async fn append(
    stores: &Stores,
    event: AuditEvent,
    service: Option<&str>,
    detail: serde_json::Value,
) -> Result<AuditRecord> {
    for _ in 0..16 {
        let last_seq = last_sequence(&stores.audit).await?;
        let last = if last_seq == 0 { None } else { Some(record_at(stores, last_seq).await?) };
        let record = AuditRecord::chained(last.as_ref(), event.clone(), service, detail.clone());
        let payload =
            serde_json::to_vec(&record).map_err(|e| request_failed("encode an audit record")(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Expected-Last-Sequence", last_seq.to_string().as_str());
        let ack = stores
            .js
            .publish_with_headers(stores.names.audit_subject(), headers, payload.into())
            .await
            .map_err(|e| request_failed("append to the audit stream")(e.to_string()))?;
        match ack.await {
            Ok(_) => return Ok(record),
            // Another writer appended first: chain after its record.
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => continue,
            Err(e) => return Err(request_failed("append to the audit stream")(e.to_string())),
        }
    }
    Err(Error::FleetRequest {
        what: "append to the audit stream".into(),
        reason: "other writers kept appending first (16 tries)".into(),
    })
}

/// Every record, oldest first.
pub(crate) async fn records(stores: &Stores) -> Result<Vec<AuditRecord>> {
    let last = last_sequence(&stores.audit).await?;
    let mut out = Vec::with_capacity(last as usize);
    for sequence in 1..=last {
        out.push(record_at(stores, sequence).await?);
    }
    Ok(out)
}

/// Checks the chain: each record's sequence, `prev` and hash.
pub(crate) async fn verify(stores: &Stores) -> Result<AuditCheck> {
    let records = records(stores).await?;
    let mut prev = GENESIS_HASH.to_string();
    for (i, record) in records.iter().enumerate() {
        let position = i as u64 + 1;
        if let Some(reason) = record.chain_fault(position, &prev) {
            let broken =
                AuditBreak { line: position as usize, reason, path: stores.names.audit_stream().into(), torn: false };
            return Ok(AuditCheck { records: records.len(), broken: Some(broken) });
        }
        prev = record.hash.clone();
    }
    Ok(AuditCheck { records: records.len(), broken: None })
}

/// Appends a rollout record to the fleet's history.
pub(crate) async fn append_rollout(stores: &Stores, record: &RolloutRecord) -> Result<()> {
    let payload = serde_json::to_vec(record).map_err(|e| request_failed("encode a rollout record")(e.to_string()))?;
    let ack = stores
        .js
        .publish(stores.names.rollouts_subject(), payload.into())
        .await
        .map_err(|e| request_failed("append to the rollout history")(e.to_string()))?;
    ack.await.map(drop).map_err(|e| request_failed("append to the rollout history")(e.to_string()))
}

/// The fleet's rollout history, oldest first.
pub(crate) async fn rollouts(stores: &Stores) -> Result<Vec<RolloutRecord>> {
    let last = last_sequence(&stores.rollouts).await?;
    let mut out = Vec::new();
    for sequence in 1..=last {
        let message = stores
            .rollouts
            .direct_get(sequence)
            .await
            .map_err(|e| request_failed("read the rollout history")(e.to_string()))?;
        match serde_json::from_slice(&message.payload) {
            Ok(record) => out.push(record),
            Err(e) => tracing::warn!(sequence, error = %e, "skipping an unreadable rollout record"),
        }
    }
    Ok(out)
}
