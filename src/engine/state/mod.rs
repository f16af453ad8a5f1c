//! The state of a run, rebuilt purely from its records.
//!
//! The live engine applies each record it emits through [`RunState::apply`],
//! and replay applies the journal through the same function, so a replayed
//! run equals the live one by construction. No clocks, no I/O in here.

use jiff::Timestamp;
use serde::Serialize;

use super::event::*;

mod artifacts;
mod views;

pub use artifacts::{ArtifactCheck, ArtifactView};
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
    pub current_env: Option<usize>,
    pub envs: Vec<EnvView>,
    /// The release's artifacts as checked before each environment.
    pub artifacts: Vec<ArtifactView>,
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
            current_env: None,
            envs: Vec::new(),
            artifacts: Vec::new(),
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

    /// Waiting for a decision on a step (`undo`: one being rolled back).
    fn block(
        &mut self,
        env: usize,
        step: usize,
        reason: &str,
        choices: &[RollbackChoice],
        undo: bool,
    ) {
        self.blocked = Some(Blocked {
            env,
            step,
            reason: reason.to_string(),
            choices: choices.to_vec(),
            undo,
        });
        self.set_env_status(env, EnvStatus::Blocked);
        self.status = RunStatus::Blocked;
    }

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
        if let Event::RunRecovered { leftovers, .. } = &rec.event
            && leftovers
                .iter()
                .any(|l| self.envs.get(l.env).is_none_or(|e| l.step >= e.steps.len()))
        {
            return;
        }
        let ts = rec.ts;
        match &rec.event {
            Event::RunStarted {
                run_id,
                plan_path,
                release,
                version,
                previous_version,
                owner,
                environments,
                actor,
                pid,
                ..
            } => {
                self.pid = *pid;
                self.run_id = run_id.clone();
                self.plan_path = plan_path.clone();
                self.release = release.clone();
                self.version = version.clone();
                self.previous_version = previous_version.clone();
                self.owner = owner.clone();
                self.started_by = actor.user.clone();
                self.started = Some(ts);
                self.status = RunStatus::Running;
                self.envs = environments
                    .iter()
                    .map(|e| EnvView {
                        name: e.name.clone(),
                        strategy: e.strategy.clone(),
                        status: EnvStatus::Pending,
                        steps: e
                            .steps
                            .iter()
                            .map(|s| StepView {
                                label: s.label.clone(),
                                kind: s.kind.clone(),
                                stage: s.stage.clone(),
                                timeout_ms: s.timeout_ms,
                                irreversible: s.irreversible,
                                state: StepState::Pending,
                                attempts: 0,
                                started: None,
                                duration_ms: None,
                                exit_code: None,
                                message: String::new(),
                                pgid: None,
                                timer: None,
                                output_lines: 0,
                                undo: None,
                                forced: false,
                                evidence: Vec::new(),
                            })
                            .collect(),
                        current_step: None,
                        approvals: Vec::new(),
                        rollback_reason: None,
                        rollback_trigger: None,
                        rollback_verified: None,
                        analyses: Vec::new(),
                        started: None,
                        finished: None,
                    })
                    .collect();
            }
            Event::ArtifactVerified {
                env,
                name,
                expected,
                found,
                ok,
                message,
            } => artifacts::apply(
                &mut self.artifacts,
                ArtifactCheck {
                    env: *env,
                    found: found.clone(),
                    ok: *ok,
                    message: message.clone(),
                    at: ts,
                },
                name,
                expected,
            ),
            Event::EnvStarted { env } => {
                self.current_env = Some(*env);
                if let Some(e) = self.envs.get_mut(*env) {
                    e.status = EnvStatus::Running;
                    e.started = Some(ts);
                }
            }
            Event::StepStarted { env, step, attempt } => {
                self.current_env = Some(*env);
                if let Some(e) = self.envs.get_mut(*env) {
                    e.current_step = Some(*step);
                    e.status = EnvStatus::Running;
                }
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::Running;
                    s.attempts = *attempt;
                    s.started = Some(ts);
                    s.duration_ms = None;
                    s.exit_code = None;
                    s.message.clear();
                    s.undo = None;
                    s.evidence.clear();
                }
                self.set_status(RunStatus::Running);
            }
            Event::ProcessStarted {
                env,
                step,
                pgid,
                start_ticks,
                ..
            } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.pgid = Some((*pgid, *start_ticks));
                }
            }
            Event::Output { env, step, .. } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.output_lines += 1;
                }
            }
            Event::StepFinished {
                env,
                step,
                status,
                exit_code,
                duration_ms,
                message,
                ..
            } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::from_status(*status);
                    s.exit_code = *exit_code;
                    s.duration_ms = Some(*duration_ms);
                    s.message = message.clone();
                    s.pgid = None;
                }
            }
            Event::RetryScheduled { env, step, .. } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::Pending;
                }
            }
            Event::GateWaiting {
                env,
                step,
                gate,
                required,
                require_comment,
                since,
                ..
            } => {
                let ts = since.unwrap_or(ts);
                self.waiting = Some(GateWait {
                    env: *env,
                    step: *step,
                    gate: gate.clone(),
                    required: *required,
                    require_comment: *require_comment,
                    since: ts,
                });
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::Waiting;
                }
                self.set_env_status(*env, EnvStatus::WaitingApproval);
                self.set_status(RunStatus::WaitingApproval);
            }
            Event::TimerStarted {
                env,
                step,
                started,
                duration_ms,
            } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.timer = Some((*started, *duration_ms));
                    s.state = StepState::Waiting;
                }
            }
            Event::CheckResult {
                env, step, message, ..
            } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.message = message.clone();
                }
            }
            Event::EvidenceChecked {
                env,
                step,
                kind,
                path,
                ok,
                summary,
                findings,
                more,
                ..
            } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.message = format!("{} {path}: {summary}", kind.word());
                    s.evidence.push(EvidenceView {
                        kind: *kind,
                        path: path.clone(),
                        ok: *ok,
                        summary: summary.clone(),
                        findings: findings.clone(),
                        more: *more,
                    });
                }
            }
            Event::Approved {
                env,
                step,
                gate,
                actor,
                comment,
                source,
                ..
            } => {
                if let Some(e) = self.envs.get_mut(*env) {
                    e.approvals.push(Approval {
                        gate: gate.clone(),
                        step: *step,
                        user: actor.user.clone(),
                        via: actor.via.clone(),
                        comment: comment.clone(),
                        source: *source,
                        at: ts,
                    });
                }
            }
            Event::Rejected {
                env, step, reason, ..
            } => {
                self.waiting = None;
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::Failed;
                    s.message = format!("rejected: {reason}");
                }
            }
            Event::GatePassed { env, step, .. } => {
                if self
                    .waiting
                    .as_ref()
                    .is_some_and(|w| w.env == *env && w.step == *step)
                {
                    self.waiting = None;
                }
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::Succeeded;
                    if let Some(st) = s.started {
                        s.duration_ms = Some(ts.duration_since(st).as_millis().max(0) as u64);
                    }
                }
                self.set_env_status(*env, EnvStatus::Running);
                self.set_status(RunStatus::Running);
            }
            Event::GateFailed {
                env, step, reason, ..
            } => {
                self.waiting = None;
                if let Some(s) = self.step_mut(*env, *step) {
                    s.state = StepState::Failed;
                    s.message = reason.clone();
                }
            }
            Event::AnalysisStarted {
                env,
                step,
                analysis,
                metrics,
                ..
            } => {
                if let Some(e) = self.envs.get_mut(*env) {
                    e.analyses.push(AnalysisView {
                        step: *step,
                        name: analysis.clone(),
                        metrics: metrics
                            .iter()
                            .map(|info| MetricView {
                                info: info.clone(),
                                samples: Default::default(),
                                taken: 0,
                                failed: 0,
                                last_shown: String::new(),
                                last_why: String::new(),
                            })
                            .collect(),
                        verdict: None,
                        reason: String::new(),
                    });
                }
            }
            Event::MetricSampled {
                env,
                step,
                metric,
                value,
                shown,
                judgement,
                why,
                ..
            } => {
                let view = self
                    .envs
                    .get_mut(*env)
                    .and_then(|e| e.analyses.iter_mut().rev().find(|a| a.step == *step))
                    .and_then(|a| a.metrics.iter_mut().find(|m| &m.info.name == metric));
                if let Some(m) = view {
                    if m.samples.len() == SAMPLES_KEPT {
                        m.samples.pop_front();
                    }
                    m.samples.push_back((*value, *judgement));
                    m.taken += 1;
                    if *judgement == Judgement::Fail {
                        m.failed += 1;
                    }
                    m.last_shown = shown.clone();
                    m.last_why = why.clone();
                }
                if let Some(s) = self.step_mut(*env, *step) {
                    s.message = format!("{metric} {shown}: {why}");
                }
            }
            Event::AnalysisFinished {
                env,
                step,
                verdict,
                reason,
                ..
            } => {
                let view = self
                    .envs
                    .get_mut(*env)
                    .and_then(|e| e.analyses.iter_mut().rev().find(|a| a.step == *step));
                if let Some(a) = view {
                    a.verdict = Some(verdict.clone());
                    a.reason = reason.clone();
                }
                if let Some(s) = self.step_mut(*env, *step) {
                    s.message = format!("{}: {reason}", verdict.word());
                }
            }
            Event::CommandRefused { .. } => self.refusals += 1,
            Event::PauseRequested { reason, .. } => {
                self.pause_reason = reason.clone();
                self.pause_requested = true;
                if self.status == RunStatus::Running {
                    self.status = RunStatus::Pausing;
                }
            }
            Event::Paused { .. } => {
                if self.status != RunStatus::Paused {
                    let before = if self.status == RunStatus::Pausing {
                        RunStatus::Running
                    } else {
                        self.status
                    };
                    self.status_before_pause = Some(before);
                }
                self.status = RunStatus::Paused;
            }
            Event::Resumed { .. } => {
                self.pause_requested = false;
                self.pause_reason = None;
                if let Some(prev) = self.status_before_pause.take() {
                    self.status = prev;
                } else if self.status == RunStatus::Pausing {
                    self.status = RunStatus::Running;
                }
            }
            Event::AbortRequested { reason, .. } => {
                self.message = format!("abort requested: {reason}");
                self.pending_stop = Some(PendingStop {
                    abort: true,
                    env: None,
                    reason: reason.clone(),
                });
            }
            Event::RollbackRequested { env, reason, .. } => {
                self.message = format!("rollback requested: {reason}");
                self.pending_stop = Some(PendingStop {
                    abort: false,
                    env: Some(*env),
                    reason: reason.clone(),
                });
            }
            Event::RetryRequested { env, step, .. } => {
                let undo = self.blocked.take().is_some_and(|b| b.undo);
                if undo {
                    self.set_env_status(*env, EnvStatus::RollingBack);
                    self.status = RunStatus::RollingBack;
                } else {
                    if let Some(s) = self.step_mut(*env, *step) {
                        s.state = StepState::Pending;
                    }
                    self.set_env_status(*env, EnvStatus::Running);
                    self.set_status(RunStatus::Running);
                }
            }
            Event::RollbackStarted {
                env,
                reason,
                trigger,
            } => {
                self.current_env = Some(*env);
                self.waiting = None;
                if let Some(e) = self.envs.get_mut(*env) {
                    // A gate or pause cut short by the rollback never finishes on its own.
                    for s in &mut e.steps {
                        s.forced = false;
                        if matches!(s.state, StepState::Running | StepState::Waiting) {
                            s.state = StepState::Killed;
                            s.message = "interrupted by the rollback".into();
                            s.timer = None;
                            if let Some(st) = s.started {
                                s.duration_ms =
                                    Some(ts.duration_since(st).as_millis().max(0) as u64);
                            }
                        }
                    }
                    e.current_step = None;
                    e.status = EnvStatus::RollingBack;
                    e.rollback_reason = Some(reason.clone());
                    e.rollback_trigger = Some(trigger.clone());
                    e.rollback_verified = None;
                }
                self.pause_requested = false;
                self.pause_reason = None;
                self.status_before_pause = None;
                self.pending_stop = None;
                self.status = RunStatus::RollingBack;
            }
            Event::RollbackStepStarted { env, step, attempt } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.undo = Some(Undo {
                        state: UndoState::Running,
                        message: String::new(),
                        attempts: *attempt,
                    });
                }
            }
            Event::RollbackStepFinished {
                env,
                step,
                status,
                message,
                ..
            } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    let attempts = s.undo.as_ref().map(|u| u.attempts).unwrap_or(1);
                    s.undo = Some(Undo {
                        state: if *status == StepStatus::Succeeded {
                            UndoState::Done
                        } else {
                            UndoState::Failed
                        },
                        message: message.clone(),
                        attempts,
                    });
                    s.pgid = None;
                }
            }
            Event::RollbackStepSkipped { env, step, reason } => {
                if let Some(s) = self.step_mut(*env, *step) {
                    s.undo = Some(Undo {
                        state: UndoState::Skipped,
                        message: reason.clone(),
                        attempts: 0,
                    });
                }
            }
            Event::RollbackBlocked {
                env,
                step,
                reason,
                choices,
            } => self.block(*env, *step, reason, choices, true),
            Event::StepInterrupted {
                env,
                step,
                rollback,
                reason,
                choices,
            } => self.block(*env, *step, reason, choices, *rollback),
            Event::RollbackDecision {
                env, step, choice, ..
            } => {
                let undo = self.blocked.take().is_none_or(|b| b.undo);
                if *choice == RollbackChoice::Force
                    && let Some(s) = self.step_mut(*env, *step)
                {
                    s.forced = true;
                }
                match choice {
                    RollbackChoice::RollForward => {
                        self.set_env_status(*env, EnvStatus::Running);
                        self.status = RunStatus::Running;
                    }
                    RollbackChoice::Force => {
                        self.set_env_status(*env, EnvStatus::RollingBack);
                        self.status = RunStatus::RollingBack;
                    }
                    // An interrupted forward step counted as done: the walk goes on.
                    RollbackChoice::Done if !undo => {
                        self.set_env_status(*env, EnvStatus::Running);
                        self.status = RunStatus::Running;
                    }
                    RollbackChoice::Done => {
                        self.set_env_status(*env, EnvStatus::RollingBack);
                        self.status = RunStatus::RollingBack;
                    }
                    RollbackChoice::Hold | RollbackChoice::Retry | RollbackChoice::Rollback => {}
                }
            }
            Event::RollbackVerified { env, ok, .. } => {
                if let Some(e) = self.envs.get_mut(*env) {
                    e.rollback_verified = Some(*ok);
                }
            }
            Event::EnvFinished { env, outcome } => {
                if let Some(e) = self.envs.get_mut(*env) {
                    e.status = EnvStatus::Done(*outcome);
                    e.current_step = None;
                    e.finished = Some(ts);
                }
                if self.status == RunStatus::RollingBack || self.status == RunStatus::Blocked {
                    self.status = RunStatus::Running;
                }
            }
            Event::NoteAdded { actor, text } => self.notes.push(Note {
                user: actor.user.clone(),
                text: text.clone(),
                at: ts,
            }),
            Event::NotificationSent {
                channel,
                kind,
                ok,
                attempts,
                status,
                message,
                ..
            } => self.notifications.push(Delivery {
                channel: channel.clone(),
                kind: *kind,
                ok: *ok,
                attempts: *attempts,
                status: *status,
                message: message.clone(),
                at: ts,
            }),
            Event::ReviewSaved { actor, review } => {
                self.review = Some((actor.user.clone(), review.clone()))
            }
            Event::RunRecovered {
                actor,
                pid,
                previous_pid,
                warning,
                leftovers,
            } => {
                self.pid = *pid;
                for e in &mut self.envs {
                    for s in &mut e.steps {
                        s.pgid = None;
                    }
                }
                self.recoveries.push(Recovery {
                    user: actor.user.clone(),
                    at: ts,
                    previous_pid: *previous_pid,
                    warning: warning.clone(),
                    leftovers: leftovers.clone(),
                });
            }
            Event::RunFinished { outcome, message } => {
                self.status = RunStatus::Finished(*outcome);
                self.outcome = Some(*outcome);
                self.message = message.clone();
                self.finished = Some(ts);
                self.waiting = None;
                self.blocked = None;
                self.pending_stop = None;
                self.pause_requested = false;
                self.pause_reason = None;
                self.status_before_pause = None;
            }
        }
    }
}
