//! One line of history per run: what the history browser, `slate history
//! --json` and `slate memory` show without opening the run's journal.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::event::{Record, RunOutcome};
use crate::engine::state::{EnvStatus, RunState};

/// How a run ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Released,
    RolledBack,
    Rejected,
    Aborted,
    Held,
    Failed,
    /// Its engine is still alive.
    Running,
    /// No end was journaled and its engine is gone: it crashed or was killed.
    Interrupted,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Released,
        Outcome::RolledBack,
        Outcome::Rejected,
        Outcome::Aborted,
        Outcome::Held,
        Outcome::Failed,
        Outcome::Running,
        Outcome::Interrupted,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Outcome::Released => "released",
            Outcome::RolledBack => "rolled back",
            Outcome::Rejected => "rejected",
            Outcome::Aborted => "aborted",
            Outcome::Held => "held",
            Outcome::Failed => "failed",
            Outcome::Running => "running",
            Outcome::Interrupted => "interrupted",
        }
    }

    pub fn from_run(o: RunOutcome) -> Self {
        match o {
            RunOutcome::Released => Outcome::Released,
            RunOutcome::RolledBack => Outcome::RolledBack,
            RunOutcome::Rejected => Outcome::Rejected,
            RunOutcome::Aborted => Outcome::Aborted,
            RunOutcome::Held => Outcome::Held,
            RunOutcome::Failed => Outcome::Failed,
        }
    }

    /// Over: nothing will change it but a review.
    pub fn is_final(self) -> bool {
        !matches!(self, Outcome::Running | Outcome::Interrupted)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub release: String,
    pub version: String,
    pub previous_version: String,
    pub owner: String,
    pub started_by: String,
    pub started: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The furthest environment the run reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<String>,
    pub outcome: Outcome,
    /// Everyone who approved a gate, in order, once each.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// The run's final message ("prod rolled back: analysis canary failed: …").
    #[serde(default)]
    pub message: String,
    /// The memory entry: the review's when one was written, else the generated one.
    #[serde(default)]
    pub memory: String,
    /// The engine's process, to tell a live run from a crashed one.
    #[serde(default)]
    pub pid: u32,
}

impl RunSummary {
    /// Summarises a run from its records; `alive` says whether its engine still runs.
    pub fn from_records(records: &[Record], alive: bool) -> Self {
        let state = RunState::replay(records);
        Self::from_state(&state, alive)
    }

    pub fn from_state(state: &RunState, alive: bool) -> Self {
        let outcome = match state.outcome {
            Some(o) => Outcome::from_run(o),
            None if alive => Outcome::Running,
            None => Outcome::Interrupted,
        };
        let reached = state
            .envs
            .iter()
            .rev()
            .find(|e| e.status != EnvStatus::Pending)
            .map(|e| e.name.clone());
        let approvers = state.approvers().into_iter().map(str::to_string).collect();
        let duration_ms = match (state.started, state.finished) {
            (Some(a), Some(b)) => Some(b.duration_since(a).as_millis().max(0) as u64),
            _ => None,
        };
        RunSummary {
            run_id: state.run_id.clone(),
            release: state.release.clone(),
            version: state.version.clone(),
            previous_version: state.previous_version.clone(),
            owner: state.owner.clone(),
            started_by: state.started_by.clone(),
            started: state.started,
            finished: state.finished,
            duration_ms,
            reached,
            outcome,
            approvers,
            message: state.message.clone(),
            memory: crate::dossier::memory::entry(state, outcome),
            pid: state.pid,
        }
    }

    /// True when the text filter matches any field a person would search by.
    pub fn matches(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return true;
        }
        let needle = needle.to_lowercase();
        [
            self.run_id.as_str(),
            &self.release,
            &self.version,
            &self.previous_version,
            &self.owner,
            &self.started_by,
            self.reached.as_deref().unwrap_or(""),
            self.outcome.word(),
            &self.message,
        ]
        .iter()
        .chain(
            self.approvers
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|f| f.to_lowercase().contains(&needle))
    }
}
