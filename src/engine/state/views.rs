//! What the state is made of: statuses and the per-environment, per-step,
//! per-analysis views that `RunState` holds and every client draws.

use jiff::Timestamp;
use serde::Serialize;

use crate::engine::event::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Starting,
    Running,
    WaitingApproval,
    Pausing,
    Paused,
    RollingBack,
    /// Waiting for an operator decision (irreversible step, failed rollback).
    Blocked,
    Finished(RunOutcome),
}

impl RunStatus {
    pub fn word(self) -> &'static str {
        match self {
            RunStatus::Starting => "starting",
            RunStatus::Running => "running",
            RunStatus::WaitingApproval => "waiting for approval",
            RunStatus::Pausing => "pausing…",
            RunStatus::Paused => "paused",
            RunStatus::RollingBack => "rolling back",
            RunStatus::Blocked => "needs a decision",
            RunStatus::Finished(o) => o.word(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvStatus {
    Pending,
    Running,
    WaitingApproval,
    RollingBack,
    Blocked,
    Done(EnvOutcome),
}

impl EnvStatus {
    pub fn word(self) -> &'static str {
        match self {
            EnvStatus::Pending => "pending",
            EnvStatus::Running => "running",
            EnvStatus::WaitingApproval => "waiting for approval",
            EnvStatus::RollingBack => "rolling back",
            EnvStatus::Blocked => "needs a decision",
            EnvStatus::Done(outcome) => outcome.word(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Waiting,
    Succeeded,
    Failed,
    TimedOut,
    Killed,
    /// Never ran: `promote --full` skipped it on the way to the last rollout step.
    Skipped,
}

/// What a rollback did to a step, kept apart from how the step itself ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UndoState {
    Running,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undo {
    pub state: UndoState,
    pub message: String,
    pub attempts: u32,
}

impl StepState {
    pub fn word(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Waiting => "waiting",
            StepState::Succeeded => "ok",
            StepState::Failed => "failed",
            StepState::TimedOut => "timed out",
            StepState::Killed => "stopped",
            StepState::Skipped => "skipped",
        }
    }

    pub fn from_status(s: StepStatus) -> Self {
        match s {
            StepStatus::Succeeded => StepState::Succeeded,
            StepStatus::Failed => StepState::Failed,
            StepStatus::TimedOut => StepState::TimedOut,
            StepStatus::Killed => StepState::Killed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub gate: String,
    pub step: usize,
    pub user: String,
    pub via: String,
    pub comment: String,
    pub source: ApprovalSource,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
    pub label: String,
    pub kind: String,
    pub stage: Option<String>,
    pub timeout_ms: Option<u64>,
    pub irreversible: bool,
    pub state: StepState,
    pub attempts: u32,
    pub started: Option<Timestamp>,
    pub duration_ms: Option<u64>,
    pub exit_code: Option<i32>,
    pub message: String,
    /// Process group of the running command (its leader's start time from
    /// /proc alongside), for recovery.
    pub pgid: Option<(i32, Option<u64>)>,
    pub timer: Option<(Timestamp, u64)>,
    pub output_lines: u64,
    pub undo: Option<Undo>,
    /// A rollback was forced past this (irreversible) step.
    pub forced: bool,
    /// What an evidence gate judged, in order (empty for other steps).
    pub evidence: Vec<EvidenceView>,
}

/// One evidence item as its `EvidenceChecked` record says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceView {
    pub kind: EvidenceKind,
    pub path: String,
    pub ok: bool,
    pub summary: String,
    pub findings: Vec<Finding>,
    pub more: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvView {
    pub name: String,
    pub strategy: String,
    pub status: EnvStatus,
    pub steps: Vec<StepView>,
    pub current_step: Option<usize>,
    pub approvals: Vec<Approval>,
    pub rollback_reason: Option<String>,
    /// What started the newest rollback, so a recovered one ends the same way.
    pub rollback_trigger: Option<Trigger>,
    /// How the newest rollback was verified, once it got that far.
    pub verification: Option<Verification>,
    /// Analyses run in this environment, in order.
    pub analyses: Vec<AnalysisView>,
    /// The canary weight someone holds it at (`weight N`) until promoted.
    pub held_weight: Option<u32>,
    /// What promoting here changes against what is live (`EnvChange`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Box<crate::change::Change>>,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
}

/// A rollback's verification: its own place in the rollback, apart from
/// the steps it undid.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Verification {
    /// The check is running.
    Running { check: String },
    /// The check passed: the environment was seen back on its old version.
    Passed { check: String, message: String },
    /// The check failed (the environment is then held).
    Failed {
        check: String,
        message: String,
        output: Vec<String>,
    },
    /// Nothing checked the rollback: the environment has no
    /// `verify_rollback`, or nothing had run that needed undoing. Undo
    /// commands that exited 0 are not a verification.
    NotChecked { message: String },
}

/// The verification a `RollbackVerified` record says. A failure without a
/// check's name is a journal from before checks were named here; a pass
/// without one verified nothing.
pub(super) fn verification(
    ok: bool,
    message: &str,
    check: &Option<String>,
    output: &[String],
) -> Verification {
    let message = message.to_string();
    match (check, ok) {
        (Some(check), true) => Verification::Passed {
            check: check.clone(),
            message,
        },
        (check, false) => Verification::Failed {
            check: check.clone().unwrap_or_else(|| "verify_rollback".into()),
            message,
            output: output.to_vec(),
        },
        (None, true) => Verification::NotChecked { message },
    }
}

impl Verification {
    /// The rollback was checked and the check passed.
    pub fn verified(&self) -> bool {
        matches!(self, Verification::Passed { .. })
    }
}

/// How a rolled-back environment is described when nothing verified the
/// rollback, said the same way everywhere.
pub const NOT_VERIFIED: &str = "not verified: no verify_rollback";

impl EnvView {
    /// "rolled back", or "rolled back (not verified: no verify_rollback)"
    /// when undo commands ran but no check looked at the result.
    pub fn rolled_back(&self) -> String {
        if self.unverified_undo() {
            format!("rolled back ({NOT_VERIFIED})")
        } else {
            "rolled back".to_string()
        }
    }

    /// Steps were undone (or skipped, having no undo) and no check looked at
    /// the result.
    pub fn unverified_undo(&self) -> bool {
        matches!(self.verification, Some(Verification::NotChecked { .. }))
            && self.steps.iter().any(|s| s.undo.is_some())
    }
}

/// Samples kept per metric in the state; the journal keeps them all.
pub const SAMPLES_KEPT: usize = 240;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisView {
    pub step: usize,
    pub name: String,
    pub metrics: Vec<MetricView>,
    pub verdict: Option<Verdict>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricView {
    pub info: MetricInfo,
    /// Newest last; `None` where a sample had no finite value.
    pub samples: std::collections::VecDeque<(Option<f64>, Judgement)>,
    pub taken: u32,
    pub failed: u32,
    pub last_shown: String,
    pub last_why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateWait {
    pub env: usize,
    pub step: usize,
    pub gate: String,
    pub required: u32,
    pub require_comment: bool,
    pub since: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocked {
    pub env: usize,
    pub step: usize,
    pub reason: String,
    pub choices: Vec<RollbackChoice>,
    /// The step is being undone (a rollback), not run forward.
    pub undo: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingStop {
    pub abort: bool,
    /// The environment a rollback was asked for (none for an abort).
    pub env: Option<usize>,
    pub reason: String,
}

/// An engine taking over after the previous one died.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    pub user: String,
    pub at: Timestamp,
    pub previous_pid: u32,
    pub warning: Option<String>,
    pub leftovers: Vec<Leftover>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub user: String,
    pub text: String,
    pub at: Timestamp,
}

/// A notification as journaled: delivered or not, when, where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub channel: String,
    pub kind: NotifyKind,
    pub ok: bool,
    pub attempts: u32,
    pub status: Option<u16>,
    pub message: String,
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal written before verifications named their check still
    /// replays: a passing one verified nothing, a failing one was a check.
    #[test]
    fn older_rollback_verified_records_still_read() {
        let old = r#"{"seq":9,"ts":"2026-11-22T10:00:00Z","event":{"type":"rollback_verified","env":0,"ok":true,"message":"3 rollback command(s) succeeded, 0 skipped"}}"#;
        let rec: Record = serde_json::from_str(old).unwrap();
        let Event::RollbackVerified {
            ok,
            message,
            check,
            output,
            ..
        } = &rec.event
        else {
            panic!("{rec:?}");
        };
        assert_eq!((check, output.is_empty()), (&None, true));
        let v = verification(*ok, message, check, output);
        assert!(matches!(&v, Verification::NotChecked { .. }) && !v.verified());
        let failed = verification(false, "check command exited with status 1", &None, &[]);
        assert!(
            matches!(&failed, Verification::Failed { check, .. } if check == "verify_rollback")
        );
    }
}
