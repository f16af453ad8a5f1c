//! What the engine emits and the journal stores: one [`Record`] per event.
//!
//! The cockpit, headless output, attach clients, the dossier and crash
//! recovery all read these and nothing else, so every fact a client needs must
//! be here — never only in engine memory.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::analysis::{Judgement, Verdict};
pub use crate::evidence::{EvidenceKind, Finding};
pub use crate::plan::NotifyKind;
pub use crate::plan::steps::CheckRole;

/// The post-deploy review written after a run (`slate review`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub went_well: String,
    /// What failed or went badly.
    #[serde(default)]
    pub went_wrong: String,
    #[serde(default)]
    pub improve: String,
    /// Follow-ups, one per line.
    #[serde(default)]
    pub follow_ups: String,
    /// Incident tickets, one per line.
    #[serde(default)]
    pub incidents: String,
    /// Replaces the generated memory entry when set (at most 120 words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// A metric as an analysis measures it, for drawing sparklines without the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub name: String,
    pub unit: String,
    /// "< 0.05", or both conditions joined by ", fail ".
    pub condition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    pub interval_ms: u64,
    /// Samples planned for this metric.
    pub count: u32,
}

/// Who issued a command, and through which client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub uid: u32,
    /// "headless", "cockpit", "cli", "socket", "team", or "engine" for its own decisions.
    pub via: String,
    /// Set when the team store authenticated this person (team mode): the
    /// database roles they were a member of when they acted, which is what
    /// an approver `@group` means for them. `None`: an OS user, whose
    /// groups are the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

impl Actor {
    /// The OS user running this process.
    pub fn current(via: &str) -> Self {
        let uid = nix::unistd::getuid();
        let user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| format!("uid{}", uid.as_raw()));
        Self {
            user,
            uid: uid.as_raw(),
            via: via.to_string(),
            roles: None,
        }
    }

    pub fn engine() -> Self {
        Self {
            user: "slate".into(),
            uid: nix::unistd::getuid().as_raw(),
            via: "engine".into(),
            roles: None,
        }
    }
}

/// One journal line: a sequence number, a timestamp and the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub ts: Timestamp,
    pub event: Event,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The shape of an environment, so a reader can draw it without the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvOutline {
    pub name: String,
    pub strategy: String,
    pub steps: Vec<StepOutline>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutline {
    pub label: String,
    /// "run", "gate" or "pause".
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub irreversible: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Succeeded,
    Failed,
    TimedOut,
    /// Stopped by an abort or rollback while running.
    Killed,
}

/// Why an environment is being rolled back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    StepFailed {
        step: usize,
    },
    GateRejected {
        step: usize,
        gate: String,
    },
    GateFailed {
        step: usize,
        gate: String,
    },
    AnalysisFailed {
        step: usize,
        analysis: String,
    },
    /// An analysis proved nothing (no data, NaN, an unreachable source) and
    /// the environment's `on_inconclusive` did not let the rollout go on.
    AnalysisInconclusive {
        step: usize,
        analysis: String,
    },
    Abort,
    Manual,
    /// The engine died while the step ran, and recovery chose to roll back.
    Interrupted {
        step: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackChoice {
    /// Leave the environment where it is; a human takes over.
    Hold,
    /// Keep the new version and try the failed step again after a fix.
    RollForward,
    /// Roll back across the irreversible step, acknowledged.
    Force,
    /// Run a failed rollback step again, or an interrupted step after a crash.
    Retry,
    /// After a crash: the interrupted step did its work; carry on after it.
    Done,
    /// After a crash: roll the environment back instead of finishing the step.
    Rollback,
}

impl RollbackChoice {
    /// How the choice is written for people and accepted by the CLI.
    pub fn word(self) -> &'static str {
        match self {
            RollbackChoice::Hold => "hold",
            RollbackChoice::RollForward => "roll-forward",
            RollbackChoice::Force => "force",
            RollbackChoice::Retry => "retry",
            RollbackChoice::Done => "done",
            RollbackChoice::Rollback => "rollback",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalSource {
    /// Decided by a person at the gate.
    Operator,
    /// `--approve GATE` on the command line before the run.
    PreApproved,
    /// `--auto-approve` for every manual gate.
    AutoApproved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvOutcome {
    Deployed,
    RolledBack,
    /// Stopped part-way by choice or because a rollback could not finish.
    Held,
}

impl EnvOutcome {
    pub fn word(self) -> &'static str {
        match self {
            EnvOutcome::Deployed => "deployed",
            EnvOutcome::RolledBack => "rolled back",
            EnvOutcome::Held => "held",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Released,
    RolledBack,
    Rejected,
    Aborted,
    Held,
    Failed,
}

impl RunOutcome {
    pub fn released(self) -> bool {
        self == RunOutcome::Released
    }

    pub fn word(self) -> &'static str {
        match self {
            RunOutcome::Released => "released",
            RunOutcome::RolledBack => "rolled back",
            RunOutcome::Rejected => "rejected",
            RunOutcome::Aborted => "aborted",
            RunOutcome::Held => "held",
            RunOutcome::Failed => "failed",
        }
    }
}

/// What a rollback to a known-good version restores (`RunStarted.rollback_to`).
/// Everything the cut-down plan depends on is here, so replay and recovery
/// build the same plan from the journal alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackTo {
    /// The one environment the run deploys to.
    pub env: String,
    /// Its place in the plan that deployed the version (the ledger's order).
    pub env_index: u32,
    /// The run that put the version live there; its plan is this run's.
    pub from_run: String,
    /// The version live in the environment when the rollback began.
    #[serde(default)]
    pub replacing: String,
    pub reason: String,
    /// The plan asks for an approval first (`rollback_approval`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval: bool,
    /// Each artifact's digest as the ledger recorded it (name, sha256 hex):
    /// the bits must be the ones that were live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        plan_path: String,
        /// The plan text as run, so the record stands alone if the file changes.
        plan_source: String,
        release: String,
        version: String,
        previous_version: String,
        owner: String,
        environments: Vec<EnvOutline>,
        actor: Actor,
        pid: u32,
        /// Gates approved in advance (`--approve`), so a recovery honours them too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pre_approved: Vec<String>,
        /// Values of `plan_source` that were masked because they may carry a
        /// credential ("`url` of channel `ops`"): a recovery takes them back
        /// from the plan file (see `plan::sealed`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sealed: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        auto_approve: bool,
        /// `--set NAME=VALUE` values for the plan's `[vars]`, so the plan
        /// reads back from the journal as it ran.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vars: Vec<(String, String)>,
        /// This run is a rollback to a known-good version (`slate rollback
        /// --to`): what it restores, from which run, and why. Its plan is
        /// `plan_source` cut down by [`RollbackTo`] (`plan::rollback_to`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rollback_to: Option<Box<RollbackTo>>,
    },
    /// An artifact's digest, computed before environment `env` starts.
    ArtifactVerified {
        env: usize,
        name: String,
        /// What it had to be: the plan's sha256, or the first digest this run
        /// saw (none the first time a command's digest is seen).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<String>,
        /// What was found; none when it could not be computed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        found: Option<String>,
        ok: bool,
        message: String,
    },
    /// What promoting into `env` changes against what the ledger says is
    /// live there, worked out while the run holds its lock (`change`).
    EnvChange {
        env: usize,
        change: Box<crate::change::Change>,
    },
    EnvStarted {
        env: usize,
    },
    StepStarted {
        env: usize,
        step: usize,
        attempt: u32,
    },
    /// The process group a step runs in, so recovery can find leftovers.
    ProcessStarted {
        env: usize,
        step: usize,
        pid: u32,
        pgid: i32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
        /// The leader's start time (clock ticks since boot, from /proc), so
        /// recovery can tell the group from a later one that reused its id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_ticks: Option<u64>,
    },
    Output {
        env: usize,
        step: usize,
        stream: Stream,
        line: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
    },
    StepFinished {
        env: usize,
        step: usize,
        attempt: u32,
        status: StepStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        duration_ms: u64,
        message: String,
    },
    RetryScheduled {
        env: usize,
        step: usize,
        next_attempt: u32,
        delay_ms: u64,
    },
    GateWaiting {
        env: usize,
        step: usize,
        gate: String,
        required: u32,
        require_comment: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        /// When it began waiting, if before this record: a gate re-entered
        /// after a crash has waited since then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<jiff::Timestamp>,
    },
    /// A soak or pause began; the start and length let a restart resume it exactly.
    TimerStarted {
        env: usize,
        step: usize,
        started: Timestamp,
        duration_ms: u64,
    },
    CheckResult {
        env: usize,
        step: usize,
        /// The check's name (for a gate's own check, the gate's name).
        #[serde(alias = "gate")]
        check: String,
        #[serde(default)]
        role: CheckRole,
        attempt: u32,
        ok: bool,
        latency_ms: u64,
        message: String,
    },
    /// An analysis began: what it measures and how the cockpit should draw it.
    AnalysisStarted {
        env: usize,
        step: usize,
        analysis: String,
        metrics: Vec<MetricInfo>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_ms: Option<u64>,
    },
    MetricSampled {
        env: usize,
        step: usize,
        analysis: String,
        metric: String,
        /// The finite value; absent for no data, NaN, ±Inf and errors.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        /// The value as shown: "0.071", "NaN", "no data", "error".
        shown: String,
        judgement: Judgement,
        why: String,
    },
    AnalysisFinished {
        env: usize,
        step: usize,
        analysis: String,
        verdict: Verdict,
        /// One line: "error_ratio 0.071 > 0.05 for 3 of 3 samples".
        reason: String,
    },
    /// One piece of evidence an evidence gate judged: a report file or its command.
    EvidenceChecked {
        env: usize,
        step: usize,
        gate: String,
        kind: EvidenceKind,
        /// The file as the plan names it (placeholders filled in), relative to
        /// the plan's directory; for a command, its first line.
        path: String,
        ok: bool,
        /// One line: "212 tests, 0 failures, 0 errors", or what is wrong with the file.
        summary: String,
        /// What blocked: failing tests or findings, at most `evidence::MAX_FINDINGS`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        findings: Vec<Finding>,
        /// Blocking findings beyond those listed.
        #[serde(default, skip_serializing_if = "is_zero")]
        more: u64,
    },
    Approved {
        env: usize,
        step: usize,
        gate: String,
        actor: Actor,
        comment: String,
        source: ApprovalSource,
    },
    Rejected {
        env: usize,
        step: usize,
        gate: String,
        actor: Actor,
        reason: String,
    },
    GatePassed {
        env: usize,
        step: usize,
        gate: String,
    },
    /// Someone ended the pause, soak or weight hold at `step` early
    /// (`promote`), or also skipped the rest of the rollout to its last
    /// step (`promote --full`): `skipped` lists the steps that will not run.
    Promoted {
        env: usize,
        step: usize,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        full: bool,
        actor: Actor,
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skipped: Vec<usize>,
    },
    /// Someone set the canary to `weight` percent during the wait at `step`
    /// and holds it there until promoted (`weight N`). Journaled before the
    /// rollout command runs with `SLATE_WEIGHT=N`; a failure of that
    /// command fails `canary` (the canary step whose weight it changed).
    WeightHeld {
        env: usize,
        step: usize,
        canary: usize,
        weight: u32,
        actor: Actor,
        reason: String,
    },
    GateFailed {
        env: usize,
        step: usize,
        gate: String,
        reason: String,
    },
    /// A command the engine would not carry out, and why.
    CommandRefused {
        actor: Actor,
        command: String,
        reason: String,
    },
    PauseRequested {
        actor: Actor,
        /// Why the engine itself paused (an inconclusive analysis asks the operator).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Paused {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
    },
    Resumed {
        actor: Actor,
    },
    AbortRequested {
        actor: Actor,
        reason: String,
    },
    RollbackRequested {
        env: usize,
        actor: Actor,
        reason: String,
    },
    RetryRequested {
        env: usize,
        step: usize,
        actor: Actor,
    },
    RollbackStarted {
        env: usize,
        trigger: Trigger,
        reason: String,
    },
    /// Undoing one completed step (`step` indexes the forward step).
    RollbackStepStarted {
        env: usize,
        step: usize,
        attempt: u32,
    },
    RollbackStepFinished {
        env: usize,
        step: usize,
        attempt: u32,
        status: StepStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        duration_ms: u64,
        message: String,
    },
    RollbackStepSkipped {
        env: usize,
        step: usize,
        reason: String,
    },
    /// The rollback reached something it cannot honestly undo and needs a decision.
    RollbackBlocked {
        env: usize,
        step: usize,
        reason: String,
        choices: Vec<RollbackChoice>,
    },
    RollbackDecision {
        env: usize,
        step: usize,
        choice: RollbackChoice,
        actor: Actor,
        note: String,
    },
    /// The environment's `verify_rollback` began; it belongs to the
    /// rollback, not to any step.
    RollbackVerifyStarted {
        env: usize,
        /// The check's name.
        check: String,
    },
    /// How the rollback ended: verified by a check, or not verified at all.
    RollbackVerified {
        env: usize,
        /// Nothing failed: the check passed, or there was none to run.
        ok: bool,
        /// One line; names the check, never a command's text.
        message: String,
        /// The check that ran (`verify_rollback`). None when nothing
        /// verified the rollback (no `verify_rollback`, nothing to undo, or
        /// a journal from before checks were named here).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<String>,
        /// The last lines the check's command printed, if it is one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        output: Vec<String>,
    },
    EnvFinished {
        env: usize,
        outcome: EnvOutcome,
    },
    NoteAdded {
        actor: Actor,
        text: String,
    },
    RunFinished {
        outcome: RunOutcome,
        message: String,
    },
    /// One webhook delivery, after its retries: delivered or given up on.
    NotificationSent {
        channel: String,
        kind: NotifyKind,
        ok: bool,
        attempts: u32,
        /// The receiver's HTTP status, when it answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        latency_ms: u64,
        /// What was said (the Slack text), or why delivery failed.
        message: String,
    },
    /// A post-deploy review saved after the run; a newer one replaces it.
    ReviewSaved {
        actor: Actor,
        review: Review,
    },
    /// A new engine took over the run after the previous one died (`slate recover`).
    RunRecovered {
        actor: Actor,
        /// The new engine's process id.
        pid: u32,
        /// The dead engine's process id.
        previous_pid: u32,
        /// What reading the journal warned about (a torn last line), if anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
        /// Processes the dead engine left behind, and what was done about them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        leftovers: Vec<Leftover>,
    },
    /// Something keeps the run out of environment `env` (another run's
    /// lock, a hold, a freeze), or, `in_flight`, stops it at a safe point
    /// inside: journaled before the run waits, or before it is refused.
    /// `until`: how long the run will wait (None: it does not wait, or, in
    /// flight, until the barrier is gone).
    EnvBlocked {
        env: usize,
        barrier: super::admission::Barrier,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        in_flight: bool,
    },
    /// What stopped the run inside `env` is gone; it goes on.
    EnvCleared {
        env: usize,
    },
    /// Break-glass: the run crosses a freeze or a person's hold to promote
    /// into `env`, by `actor` (who started it, allowed by the policy), for
    /// `reason`. In effect until the run ends; never crosses another run's lock.
    BreakGlass {
        env: usize,
        actor: Actor,
        reason: String,
        crossed: super::admission::Barrier,
        /// Who approved it, when the policy asks for a second person
        /// (`break_glass_second`); journaled just before as `BreakGlassApproved`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approved_by: Option<Actor>,
    },
    /// A break-glass the policy allows `actor` to ask for, but which needs
    /// a second person's approval (`break_glass_second`): journaled before
    /// the run waits for someone other than `actor`, whom the policy allows,
    /// to approve it (`BreakGlassApproved`, then `BreakGlass`), or for
    /// anyone who may to reject it (`BreakGlassRejected`).
    BreakGlassRequested {
        env: usize,
        actor: Actor,
        reason: String,
        crossed: super::admission::Barrier,
    },
    /// The second person's approval of the break-glass waiting in `env`.
    BreakGlassApproved {
        env: usize,
        actor: Actor,
        #[serde(default)]
        comment: String,
    },
    /// The break-glass waiting in `env` was rejected: the run is held back
    /// as if none had been asked for.
    BreakGlassRejected {
        env: usize,
        actor: Actor,
        #[serde(default)]
        reason: String,
    },
    /// The run promotes over a pin (a rollback to a known-good version left
    /// `env` pinned): `--unpin`, by `actor`, for `reason`. Journaled before
    /// the run enters, and it clears the pin.
    Unpinned {
        env: usize,
        actor: Actor,
        reason: String,
        /// The pin it lifted, as it was described.
        pin: String,
    },
    /// A break-glass the policy does not allow: journaled, and the run is
    /// held back as if none had been asked for.
    BreakGlassRefused {
        env: usize,
        actor: Actor,
        reason: String,
        why: String,
    },
    /// The run holds `env`'s deploy lock (release × environment).
    EnvLocked {
        env: usize,
    },
    /// The run gives `env`'s deploy lock back.
    EnvUnlocked {
        env: usize,
    },
    /// A step (or a step's undo) was running when the engine died; someone must
    /// say whether it is retried, counted as done, or rolled back.
    StepInterrupted {
        env: usize,
        step: usize,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
        reason: String,
        choices: Vec<RollbackChoice>,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A process group left running by an engine that died.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftover {
    pub env: usize,
    pub step: usize,
    pub pgid: i32,
    /// Stopped by recovery (SIGTERM, then SIGKILL); false when it was left alone.
    pub stopped: bool,
    pub message: String,
    /// It was the environment's rollback verification, not `step`'s.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify: bool,
}

impl Event {
    /// The environment (and step) a record is about, if any: readers check
    /// it against the run's outline, since a journal is untrusted input.
    pub fn place(&self) -> Option<(usize, Option<usize>)> {
        use Event::*;
        match self {
            EnvStarted { env } | EnvFinished { env, .. } | RollbackStarted { env, .. } => {
                Some((*env, None))
            }
            RollbackRequested { env, .. }
            | RollbackVerifyStarted { env, .. }
            | RollbackVerified { env, .. }
            | ArtifactVerified { env, .. }
            | EnvBlocked { env, .. }
            | EnvChange { env, .. }
            | BreakGlass { env, .. }
            | Unpinned { env, .. }
            | BreakGlassRefused { env, .. }
            | BreakGlassRequested { env, .. }
            | BreakGlassApproved { env, .. }
            | BreakGlassRejected { env, .. }
            | EnvCleared { env }
            | EnvLocked { env }
            | EnvUnlocked { env } => Some((*env, None)),
            StepStarted { env, step, .. }
            | ProcessStarted { env, step, .. }
            | Output { env, step, .. }
            | StepFinished { env, step, .. }
            | RetryScheduled { env, step, .. }
            | GateWaiting { env, step, .. }
            | TimerStarted { env, step, .. }
            | CheckResult { env, step, .. }
            | AnalysisStarted { env, step, .. }
            | MetricSampled { env, step, .. }
            | AnalysisFinished { env, step, .. }
            | Approved { env, step, .. }
            | Rejected { env, step, .. }
            | GatePassed { env, step, .. }
            | Promoted { env, step, .. }
            | WeightHeld { env, step, .. }
            | GateFailed { env, step, .. }
            | RetryRequested { env, step, .. }
            | RollbackStepStarted { env, step, .. }
            | RollbackStepFinished { env, step, .. }
            | RollbackStepSkipped { env, step, .. }
            | RollbackBlocked { env, step, .. }
            | RollbackDecision { env, step, .. }
            | StepInterrupted { env, step, .. }
            | EvidenceChecked { env, step, .. } => Some((*env, Some(*step))),
            Paused { env, step } => env.map(|e| (e, *step)),
            _ => None,
        }
    }

    /// Output lines may be batched on disk; everything else is flushed before the engine acts.
    pub fn is_state_change(&self) -> bool {
        !matches!(self, Event::Output { .. })
    }

    pub fn type_name(&self) -> &'static str {
        macro_rules! names {
            ($($v:ident => $n:literal),* $(,)?) => {
                match self { $(Event::$v { .. } => $n,)* }
            };
        }
        names!(
            RunStarted => "run_started", EnvStarted => "env_started", StepStarted => "step_started",
            ArtifactVerified => "artifact_verified",
            ProcessStarted => "process_started", Output => "output", StepFinished => "step_finished",
            RetryScheduled => "retry_scheduled", GateWaiting => "gate_waiting", TimerStarted => "timer_started",
            CheckResult => "check_result", AnalysisStarted => "analysis_started",
            MetricSampled => "metric_sampled", AnalysisFinished => "analysis_finished",
            EvidenceChecked => "evidence_checked", Approved => "approved", Rejected => "rejected",
            GatePassed => "gate_passed", Promoted => "promoted", WeightHeld => "weight_held", GateFailed => "gate_failed", CommandRefused => "command_refused",
            PauseRequested => "pause_requested", Paused => "paused", Resumed => "resumed",
            AbortRequested => "abort_requested", RollbackRequested => "rollback_requested",
            RetryRequested => "retry_requested", RollbackStarted => "rollback_started",
            RollbackStepStarted => "rollback_step_started", RollbackStepFinished => "rollback_step_finished",
            RollbackStepSkipped => "rollback_step_skipped", RollbackBlocked => "rollback_blocked",
            RollbackDecision => "rollback_decision", RollbackVerifyStarted => "rollback_verify_started",
            RollbackVerified => "rollback_verified",
            EnvFinished => "env_finished", NoteAdded => "note_added", RunFinished => "run_finished",
            NotificationSent => "notification_sent", ReviewSaved => "review_saved",
            RunRecovered => "run_recovered", StepInterrupted => "step_interrupted",
            EnvBlocked => "env_blocked", EnvCleared => "env_cleared", EnvLocked => "env_locked", EnvChange => "env_change",
            EnvUnlocked => "env_unlocked", BreakGlass => "break_glass",
            BreakGlassRefused => "break_glass_refused", Unpinned => "unpinned",
            BreakGlassRequested => "break_glass_requested",
            BreakGlassApproved => "break_glass_approved",
            BreakGlassRejected => "break_glass_rejected",
        )
    }
}
