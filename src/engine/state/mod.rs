//! The state of a run, rebuilt purely from its records.
//!
//! The live engine applies each record it emits through [`RunState::apply`],
//! and replay applies the journal through the same function, so a replayed
//! run equals the live one by construction. No clocks, no I/O in here.
//!
//! `apply` hands each record to the family of events it belongs to, one file
//! each: the run as a whole (`run`), environments and steps (`steps`), check
//! results (`checks`), gates (`gates`), analyses (`analysis`), stopping and
//! rolling back (`rollback`), steps waiting for a decision (`decisions`),
//! artifact digests (`artifacts`), and what is written about a run (`notes`).

use jiff::Timestamp;
use serde::Serialize;

use super::event::*;

pub mod admission;
mod analysis;
mod artifacts;
mod checks;
mod decisions;
mod gates;
mod notes;
mod promote;
mod rollback;
mod run;
mod steps;
mod views;

pub use admission::{BreakGlassView, HeldBack};
pub use artifacts::{ArtifactCheck, ArtifactView};
pub use checks::{CHECK_SAMPLES_KEPT, CheckSeries};
pub use views::*;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunState {
    pub run_id: String,
    pub plan_path: String,
    pub release: String,
    pub version: String,
    pub previous_version: String,
    pub owner: String,
    pub started_by: String,
    /// The engine's process id.
    pub pid: u32,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
    pub status: RunStatus,
    /// Status to return to when a pause ends.
    pub status_before_pause: Option<RunStatus>,
    pub pause_requested: bool,
    /// Why the engine paused by itself (an inconclusive analysis), until resumed.
    pub pause_reason: Option<String>,
    /// When the run came to rest paused (the header's pause clock), until resumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<Timestamp>,
    pub current_env: Option<usize>,
    pub envs: Vec<EnvView>,
    /// The release's artifacts as checked before each environment.
    pub artifacts: Vec<ArtifactView>,
    /// Each check's newest attempts, per environment, in the order first seen.
    pub checks: Vec<CheckSeries>,
    pub waiting: Option<GateWait>,
    pub blocked: Option<Blocked>,
    /// An abort or rollback that was asked for and has not begun yet.
    pub pending_stop: Option<PendingStop>,
    pub notes: Vec<Note>,
    /// Every time a new engine took the run over after a crash.
    pub recoveries: Vec<Recovery>,
    pub notifications: Vec<Delivery>,
    /// The newest post-deploy review, with who wrote it.
    pub review: Option<(String, Review)>,
    pub refusals: u64,
    pub outcome: Option<RunOutcome>,
    pub message: String,
    pub last_seq: u64,
    pub last_ts: Option<Timestamp>,
    /// Environments whose deploy lock the run holds.
    pub locked: Vec<usize>,
    /// What keeps the run out of (or stopped inside) an environment now.
    pub held_back: Option<admission::HeldBack>,
    /// Break-glass in effect, per environment crossed.
    pub break_glass: Vec<admission::BreakGlassView>,
    /// A break-glass waiting for a second person's approval.
    pub glass_wait: Option<admission::GlassWait>,
    /// The run is a rollback to a known-good version (`slate rollback --to`).
    pub rollback_to: Option<crate::engine::event::RollbackTo>,
    /// Pins this run promoted over (`--unpin`), per environment.
    pub unpinned: Vec<admission::UnpinView>,
}

impl Default for RunState {
    fn default() -> Self {
        Self {
            run_id: String::new(),
            plan_path: String::new(),
            release: String::new(),
            version: String::new(),
            previous_version: String::new(),
            owner: String::new(),
            started_by: String::new(),
            pid: 0,
            started: None,
            finished: None,
            status: RunStatus::Starting,
            status_before_pause: None,
            pause_requested: false,
            pause_reason: None,
            paused_since: None,
            current_env: None,
            envs: Vec::new(),
            artifacts: Vec::new(),
            checks: Vec::new(),
            waiting: None,
            blocked: None,
            pending_stop: None,
            notes: Vec::new(),
            recoveries: Vec::new(),
            notifications: Vec::new(),
            review: None,
            refusals: 0,
            outcome: None,
            message: String::new(),
            last_seq: 0,
            last_ts: None,
            locked: Vec::new(),
            held_back: None,
            break_glass: Vec::new(),
            glass_wait: None,
            rollback_to: None,
            unpinned: Vec::new(),
        }
    }
}

impl RunState {
    /// Rebuilds a run from its records, in order.
    pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut s = RunState::default();
        for r in records {
            s.apply(r);
        }
        s
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.status, RunStatus::Finished(_))
    }

    /// Everyone who approved a gate, in order, once each.
    pub fn approvers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in self.envs.iter().flat_map(|e| &e.approvals) {
            if !out.contains(&a.user.as_str()) {
                out.push(&a.user);
            }
        }
        out
    }

    /// The environments that ended the way `outcome` says, in order.
    pub fn envs_ended(&self, outcome: EnvOutcome) -> Vec<&str> {
        self.envs
            .iter()
            .filter(|e| e.status == EnvStatus::Done(outcome))
            .map(|e| e.name.as_str())
            .collect()
    }

    /// Output lines a follower was told of without their records (a
    /// cockpit behind a flood is sent counts instead).
    pub fn count_output(&mut self, env: usize, step: usize, lines: u64) {
        if let Some(s) = self.step_mut(env, step) {
            s.output_lines += lines;
        }
    }

    fn step_mut(&mut self, env: usize, step: usize) -> Option<&mut StepView> {
        self.envs.get_mut(env)?.steps.get_mut(step)
    }

    fn set_env_status(&mut self, env: usize, status: EnvStatus) {
        if let Some(e) = self.envs.get_mut(env) {
            e.status = status;
        }
    }

    /// While paused, status changes are remembered for when the run resumes.
    fn set_status(&mut self, status: RunStatus) {
        if matches!(self.status, RunStatus::Paused) && !matches!(status, RunStatus::Finished(_)) {
            self.status_before_pause = Some(status);
        } else if self.pause_requested && status == RunStatus::Running {
            self.status = RunStatus::Pausing;
        } else {
            self.status = status;
        }
    }

    /// Applies one record: checks it fits the run, then hands it to its family.
    pub fn apply(&mut self, rec: &Record) {
        self.last_seq = rec.seq;
        self.last_ts = Some(rec.ts);
        // A record about a place the run does not have (a damaged or forged
        // journal) changes nothing: every view may then index safely.
        if let Some((env, step)) = rec.event.place() {
            let fits = self
                .envs
                .get(env)
                .is_some_and(|e| step.is_none_or(|s| s < e.steps.len()));
            if !fits {
                return;
            }
        }
        let ts = rec.ts;
        let event = &rec.event;
        match event {
            Event::RunStarted { .. }
            | Event::RunRecovered { .. }
            | Event::CommandRefused { .. }
            | Event::PauseRequested { .. }
            | Event::Paused { .. }
            | Event::Resumed { .. }
            | Event::RunFinished { .. } => run::apply(self, event, ts),
            Event::EnvStarted { .. }
            | Event::StepStarted { .. }
            | Event::ProcessStarted { .. }
            | Event::Output { .. }
            | Event::StepFinished { .. }
            | Event::RetryScheduled { .. }
            | Event::TimerStarted { .. }
            | Event::EnvFinished { .. } => steps::apply(self, event, ts),
            Event::CheckResult { .. } => checks::apply(self, event),
            Event::Promoted { .. } | Event::WeightHeld { .. } => promote::apply(self, event),
            Event::GateWaiting { .. }
            | Event::EvidenceChecked { .. }
            | Event::Approved { .. }
            | Event::Rejected { .. }
            | Event::GatePassed { .. }
            | Event::GateFailed { .. } => gates::apply(self, event, ts),
            Event::AnalysisStarted { .. }
            | Event::MetricSampled { .. }
            | Event::AnalysisFinished { .. } => analysis::apply(self, event),
            Event::AbortRequested { .. }
            | Event::RollbackRequested { .. }
            | Event::RollbackStarted { .. }
            | Event::RollbackStepStarted { .. }
            | Event::RollbackStepFinished { .. }
            | Event::RollbackStepSkipped { .. }
            | Event::RollbackVerifyStarted { .. }
            | Event::RollbackVerified { .. } => rollback::apply(self, event, ts),
            Event::RollbackBlocked { .. }
            | Event::StepInterrupted { .. }
            | Event::RetryRequested { .. }
            | Event::RollbackDecision { .. } => decisions::apply(self, event),
            Event::ArtifactVerified { .. } => artifacts::apply(&mut self.artifacts, event, ts),
            Event::NoteAdded { .. }
            | Event::NotificationSent { .. }
            | Event::ReviewSaved { .. } => notes::apply(self, event, ts),
            Event::EnvBlocked { .. }
            | Event::EnvCleared { .. }
            | Event::EnvLocked { .. }
            | Event::EnvUnlocked { .. }
            | Event::BreakGlass { .. }
            | Event::Unpinned { .. }
            | Event::BreakGlassRefused { .. }
            | Event::BreakGlassRequested { .. }
            | Event::BreakGlassApproved { .. }
            | Event::BreakGlassRejected { .. } => admission::apply(self, event, ts),
            Event::EnvChange { env, change } => self.envs[*env].change = Some(change.clone()),
        }
    }
}
