//! What an audit record is about ([`AuditEvent`]), stored as the strings
//! data folders have always held; the log itself is `audit`'s.

use serde::{Deserialize, Serialize};

use crate::types::Trigger;

/// What an audit record is about. Stored as the strings data folders have
/// always held (`deploy`, `grant-refused`, `denied`, ...); a string this
/// version does not know reads back as [`AuditEvent::Other`], so a log
/// written by a newer version still verifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// A change went live: `deploy`, `rollback`, `grant`, `revoke`, `watch`.
    Changed(Trigger),
    /// A rollout ran and did not complete: `deploy-failed`, ...
    Failed(Trigger),
    /// Refused before anything changed: `deploy-refused`, ...
    Refused(Trigger),
    /// A deploy refused by the signature policy: `signature-refused`.
    SignatureRefused,
    /// The sandbox refused something a guest tried: `denied`.
    Denied,
    /// The signature policy changed: `trust`.
    Trust,
    /// A version was stored: `registry-add`.
    RegistryAdd,
    /// A version was removed: `registry-remove`.
    RegistryRemove,
    /// A signature was stored: `signature-add`.
    SignatureAdd,
    /// A torn tail was moved aside: `repair`.
    Repair,
    /// A person answered a capability request: `grant-allowed` / `grant-denied`.
    Decision {
        /// Whether the capability was allowed.
        allowed: bool,
    },
    /// An event this version does not know.
    Other(String),
}

impl AuditEvent {
    /// The stored string.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match self {
            AuditEvent::Changed(t) => Cow::Borrowed(t.name()),
            AuditEvent::Failed(t) => Cow::Owned(format!("{t}-failed")),
            AuditEvent::Refused(t) => Cow::Owned(format!("{t}-refused")),
            AuditEvent::SignatureRefused => Cow::Borrowed("signature-refused"),
            AuditEvent::Denied => Cow::Borrowed("denied"),
            AuditEvent::Trust => Cow::Borrowed("trust"),
            AuditEvent::RegistryAdd => Cow::Borrowed("registry-add"),
            AuditEvent::RegistryRemove => Cow::Borrowed("registry-remove"),
            AuditEvent::SignatureAdd => Cow::Borrowed("signature-add"),
            AuditEvent::Repair => Cow::Borrowed("repair"),
            AuditEvent::Decision { allowed: true } => Cow::Borrowed("grant-allowed"),
            AuditEvent::Decision { allowed: false } => Cow::Borrowed("grant-denied"),
            AuditEvent::Other(text) => Cow::Borrowed(text),
        }
    }

    /// Whether a guest or a person was refused something (views colour these).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AuditEvent::Refused(_)
                | AuditEvent::SignatureRefused
                | AuditEvent::Denied
                | AuditEvent::Decision { allowed: false }
        )
    }

    fn parse(text: &str) -> AuditEvent {
        const TRIGGERS: [Trigger; 5] =
            [Trigger::Deploy, Trigger::Rollback, Trigger::Grant, Trigger::Revoke, Trigger::Watch];
        let simple = [
            AuditEvent::SignatureRefused,
            AuditEvent::Denied,
            AuditEvent::Trust,
            AuditEvent::RegistryAdd,
            AuditEvent::RegistryRemove,
            AuditEvent::SignatureAdd,
            AuditEvent::Repair,
            AuditEvent::Decision { allowed: true },
            AuditEvent::Decision { allowed: false },
        ];
        if let Some(found) = simple.into_iter().find(|e| e.as_str() == text) {
            return found;
        }
        for t in TRIGGERS {
            for event in [AuditEvent::Changed(t), AuditEvent::Failed(t), AuditEvent::Refused(t)] {
                if event.as_str() == text {
                    return event;
                }
            }
        }
        AuditEvent::Other(text.to_string())
    }
}

impl std::fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl PartialEq<str> for AuditEvent {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for AuditEvent {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for AuditEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuditEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(AuditEvent::parse(&text))
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn events_are_stored_as_the_strings_data_folders_hold_and_unknown_ones_survive() {
        for text in [
            "deploy",
            "rollback-failed",
            "grant-refused",
            "watch",
            "signature-refused",
            "denied",
            "trust",
            "registry-add",
            "registry-remove",
            "signature-add",
            "repair",
            "grant-allowed",
            "grant-denied",
        ] {
            let event: AuditEvent = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert!(!matches!(event, AuditEvent::Other(_)), "{text} is known");
            assert_eq!(serde_json::to_value(&event).unwrap(), serde_json::json!(text));
        }
        let newer: AuditEvent = serde_json::from_value(serde_json::json!("quota-changed")).unwrap();
        assert_eq!(newer, AuditEvent::Other("quota-changed".into()));
        assert_eq!(serde_json::to_value(&newer).unwrap(), serde_json::json!("quota-changed"));
        assert!(
            AuditEvent::Refused(Trigger::Deploy).is_refusal() && !AuditEvent::Changed(Trigger::Deploy).is_refusal()
        );
    }
}
