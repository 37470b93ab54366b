//! The words of a rollout: what started it ([`Trigger`]), which kind of
//! strategy ran ([`StrategyKind`]), its steps and outcome, and the record
//! kept in `rollouts.jsonl`. Serialized as data folders have always held
//! them; the strategies' parameters and the rollout itself live in `deploy`.

use serde::{Deserialize, Serialize};

use super::ComponentRef;

/// What started a rollout. Serialized as today's strings (`deploy`,
/// `rollback`, `grant`, `revoke`, `watch`), so data folders stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// `deploy` (CLI, API, a project apply, the studio's Deploy).
    Deploy,
    /// `rollback`: the previous version of the history again.
    Rollback,
    /// A grant redeployed the live version.
    Grant,
    /// A revoke redeployed the live version.
    Revoke,
    /// `watch` saw a component file change.
    Watch,
}

impl Trigger {
    /// The name as stored and shown (`deploy`, `rollback`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Deploy => "deploy",
            Trigger::Rollback => "rollback",
            Trigger::Grant => "grant",
            Trigger::Revoke => "revoke",
            Trigger::Watch => "watch",
        }
    }
}

impl PartialEq<&str> for Trigger {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The four strategies by name, without their parameters: what the CLI's
/// `--strategy` and the studio's selector choose from. Serialized as the
/// strategy's short name (`immediate`, `blue-green`, `canary`, `rolling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// See [`Strategy::Immediate`].
    Immediate,
    /// See [`Strategy::BlueGreen`].
    BlueGreen,
    /// See [`Strategy::Canary`].
    Canary,
    /// See [`Strategy::Rolling`].
    Rolling,
}

impl StrategyKind {
    /// Every kind, in the order people meet them.
    pub const ALL: [StrategyKind; 4] =
        [StrategyKind::Immediate, StrategyKind::BlueGreen, StrategyKind::Canary, StrategyKind::Rolling];

    /// The short name (`immediate`, `blue-green`, `canary`, `rolling`).
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Immediate => "immediate",
            StrategyKind::BlueGreen => "blue-green",
            StrategyKind::Canary => "canary",
            StrategyKind::Rolling => "rolling",
        }
    }

    /// A label for people (`Blue-green`).
    pub fn label(self) -> &'static str {
        match self {
            StrategyKind::Immediate => "Immediate",
            StrategyKind::BlueGreen => "Blue-green",
            StrategyKind::Canary => "Canary",
            StrategyKind::Rolling => "Rolling",
        }
    }
}

impl PartialEq<&str> for StrategyKind {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StrategyKind {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, UnknownStrategy> {
        StrategyKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| UnknownStrategy(s.to_string()))
    }
}

/// A strategy name that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy `{0}`; choose one of immediate, blue-green, canary, rolling")]
pub struct UnknownStrategy(pub String);

/// One step of a canary or rolling rollout (on one host: a traffic weight
/// or a batch of instances; across a fleet: a wave of nodes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutStep {
    /// 0-based.
    pub index: usize,
    /// Share of calls the new version got, percent.
    pub new_weight_percent: f64,
    /// Calls and errors of the new version during the step.
    pub new_calls: u64,
    /// Errors of the new version during the step.
    pub new_errors: u64,
    /// Calls of the old version during the step.
    pub old_calls: u64,
    /// Errors of the old version during the step.
    pub old_errors: u64,
    /// How long the step took.
    pub duration_ms: u64,
    /// Across a fleet: the nodes this step moved, and what happened on each
    /// that did not converge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeStep>,
}

/// One node in a fleet rollout's step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStep {
    /// The node.
    pub node: String,
    /// Whether it runs the new version now.
    pub converged: bool,
    /// Why not, if it does not (its error, or that it stopped reporting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "kebab-case")]
pub enum RolloutOutcome {
    /// The new version serves all traffic.
    Succeeded,
    /// The rollout was undone on its own; the old version serves.
    RolledBack(String),
    /// The new version never went live; the old version serves.
    Failed(String),
}

/// A rollout as kept on disk (`DATA/rollouts.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutRecord {
    /// Unique id.
    pub id: String,
    /// The service.
    pub service: String,
    /// What started it.
    pub trigger: Trigger,
    /// The version that was live, if any.
    pub from: Option<ComponentRef>,
    /// The version rolled out.
    pub to: ComponentRef,
    /// The strategy.
    pub strategy: StrategyKind,
    /// Steps taken (canary and rolling).
    pub steps: Vec<RolloutStep>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: RolloutOutcome,
    /// Start, ms since the Unix epoch.
    pub started_at_ms: u64,
    /// End, ms since the Unix epoch.
    pub finished_at_ms: u64,
}
