//! The run as a whole: its start, its engines, pausing and resuming, refused
//! commands, and its end.

use jiff::Timestamp;

use super::{EnvStatus, EnvView, Recovery, RunState, RunStatus, StepState, StepView};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event, ts: Timestamp) {
    match event {
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
            rollback_to,
            ..
        } => {
            s.pid = *pid;
            s.rollback_to = rollback_to.as_deref().cloned();
            s.run_id = run_id.clone();
            s.plan_path = plan_path.clone();
            s.release = release.clone();
            s.version = version.clone();
            s.previous_version = previous_version.clone();
            s.owner = owner.clone();
            s.started_by = actor.user.clone();
            s.started = Some(ts);
            s.status = RunStatus::Running;
            s.envs = environments.iter().map(env_view).collect();
        }
        Event::RunRecovered {
            actor,
            pid,
            previous_pid,
            warning,
            leftovers,
        } => {
            // Leftovers in places the run does not have: a damaged or forged journal.
            if leftovers
                .iter()
                .any(|l| s.envs.get(l.env).is_none_or(|e| l.step >= e.steps.len()))
            {
                return;
            }
            s.pid = *pid;
            for e in &mut s.envs {
                for step in &mut e.steps {
                    step.pgid = None;
                }
            }
            s.recoveries.push(Recovery {
                user: actor.user.clone(),
                at: ts,
                previous_pid: *previous_pid,
                warning: warning.clone(),
                leftovers: leftovers.clone(),
            });
        }
        Event::CommandRefused { .. } => s.refusals += 1,
        Event::PauseRequested { reason, .. } => {
            s.pause_reason = reason.clone();
            s.pause_requested = true;
            if s.status == RunStatus::Running {
                s.status = RunStatus::Pausing;
            }
        }
        Event::Paused { .. } => {
            if s.status != RunStatus::Paused {
                let before = if s.status == RunStatus::Pausing {
                    RunStatus::Running
                } else {
                    s.status
                };
                s.status_before_pause = Some(before);
                s.paused_since = Some(ts);
            }
            s.status = RunStatus::Paused;
        }
        Event::Resumed { .. } => {
            s.pause_requested = false;
            s.pause_reason = None;
            s.paused_since = None;
            if let Some(prev) = s.status_before_pause.take() {
                s.status = prev;
            } else if s.status == RunStatus::Pausing {
                s.status = RunStatus::Running;
            }
        }
        Event::RunFinished { outcome, message } => {
            s.status = RunStatus::Finished(*outcome);
            s.outcome = Some(*outcome);
            s.message = message.clone();
            s.finished = Some(ts);
            s.held_back = None;
            s.glass_wait = None;
            s.waiting = None;
            s.blocked = None;
            s.pending_stop = None;
            s.pause_requested = false;
            s.pause_reason = None;
            s.paused_since = None;
            s.status_before_pause = None;
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}

impl RunState {
    /// The run its plan outlines, before any record: the release, each
    /// environment's steps as the engine will walk them (`outline`), all
    /// pending, status `Starting`; no id, no starter, no clock, since no
    /// run exists yet. The cockpit draws it while the engine host starts,
    /// and replaces it with the state the run's records build.
    pub fn outlined(
        release: &str,
        version: &str,
        previous_version: &str,
        environments: &[EnvOutline],
    ) -> RunState {
        RunState {
            release: release.to_string(),
            version: version.to_string(),
            previous_version: previous_version.to_string(),
            status: RunStatus::Starting,
            envs: environments.iter().map(env_view).collect(),
            ..RunState::default()
        }
    }
}

/// An environment as `RunStarted` outlines it, before anything ran.
fn env_view(e: &EnvOutline) -> EnvView {
    EnvView {
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
        verification: None,
        analyses: Vec::new(),
        held_weight: None,
        change: None,
        started: None,
        finished: None,
    }
}
