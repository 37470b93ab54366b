//! The fleet as one client sees it: its stores, its name, and the request
//! helpers every client-side part (the runtime, the rollout coordinator)
//! shares: a request with a deadline where no responders is a typed error
//! at once, and the reply's body or the error it carries.
//!
//! Owns: the request/reply conventions on the client side. Must not touch:
//! the desired state or a node's host.

use std::time::Duration;

use async_nats::{HeaderMap, RequestErrorKind};

use super::{
    store::Stores,
    wire::{self, ControlRequest},
};
use crate::{Error, Result, deploy::EventBus};

/// The fleet as one client sees it.
pub(crate) struct Client {
    pub stores: Stores,
    /// Who this client is (in locks and the desired state's writer).
    pub name: String,
    pub events: EventBus,
    pub timeout: Duration,
}

impl Client {
    /// Tells this process's subscribers and every other client (through
    /// NATS) how a fleet rollout goes.
    pub async fn emit(&self, event: crate::deploy::RolloutEvent) {
        if let Ok(payload) = serde_json::to_vec(&event)
            && let Err(e) = self.stores.client.publish(self.stores.names.rollout_events(), payload.into()).await
        {
            tracing::warn!(error = %e, "cannot publish rollout progress");
        }
        self.events.emit(event);
    }

    /// A request to `subject` with a deadline; no responders is
    /// `no_one` at once, not a timeout.
    pub async fn request(
        &self,
        subject: String,
        mut headers: HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
        no_one: impl FnOnce() -> Error,
    ) -> Result<async_nats::Message> {
        let limit = self.stores.max_payload();
        if body.len() > limit {
            return Err(Error::FleetRequest {
                what: format!("send {} bytes to the fleet", body.len()),
                reason: format!("the NATS server takes at most {limit} bytes per message (its max_payload)"),
            });
        }
        wire::deadline_header(&mut headers, timeout);
        let request = async_nats::Request::new().payload(body.into()).headers(headers).timeout(Some(timeout));
        match self.stores.client.send_request(subject, request).await {
            Ok(message) => Ok(message),
            Err(e) if e.kind() == RequestErrorKind::NoResponders => Err(no_one()),
            Err(e) if e.kind() == RequestErrorKind::TimedOut => Err(Error::FleetRequest {
                what: "get an answer from a node".into(),
                reason: format!("none within {} ms", timeout.as_millis()),
            }),
            Err(e) => Err(Error::FleetRequest { what: "send a request to the fleet".into(), reason: e.to_string() }),
        }
    }

    /// The body of an `ok` reply, or the error it carries.
    pub fn answer(message: async_nats::Message) -> Result<Vec<u8>> {
        if wire::is_ok(message.headers.as_ref()) {
            Ok(message.payload.to_vec())
        } else {
            Err(wire::decode_error(&message.payload))
        }
    }

    /// A control request any node answers.
    pub async fn control(&self, request: ControlRequest) -> Result<Vec<u8>> {
        let body = serde_json::to_vec(&request)
            .map_err(|e| Error::FleetRequest { what: "encode a control request".into(), reason: e.to_string() })?;
        let fleet = self.stores.names.fleet().to_string();
        let message = self
            .request(self.stores.names.control(), HeaderMap::new(), body, self.timeout, || Error::NoNodeRuns {
                fleet,
                service: "(any: no node is up)".into(),
            })
            .await?;
        Client::answer(message)
    }
}
