//! Stopping: an abort or rollback asked for, the rollback itself step by step,
//! and whether it was verified.

use jiff::Timestamp;

use super::{
    EnvStatus, PendingStop, RunState, RunStatus, StepState, Undo, UndoState, Verification,
};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event, ts: Timestamp) {
    match event {
        Event::AbortRequested { reason, .. } => {
            s.message = format!("abort requested: {reason}");
            s.pending_stop = Some(PendingStop {
                abort: true,
                env: None,
                reason: reason.clone(),
            });
        }
        Event::RollbackRequested { env, reason, .. } => {
            s.message = format!("rollback requested: {reason}");
            s.pending_stop = Some(PendingStop {
                abort: false,
                env: Some(*env),
                reason: reason.clone(),
            });
        }
        Event::RollbackStarted {
            env,
            reason,
            trigger,
        } => {
            s.current_env = Some(*env);
            s.waiting = None;
            if let Some(e) = s.envs.get_mut(*env) {
                // A gate or pause cut short by the rollback never finishes on its own.
                for st in &mut e.steps {
                    st.forced = false;
                    if matches!(st.state, StepState::Running | StepState::Waiting) {
                        st.state = StepState::Killed;
                        st.message = "interrupted by the rollback".into();
                        st.timer = None;
                        if let Some(started) = st.started {
                            st.duration_ms =
                                Some(ts.duration_since(started).as_millis().max(0) as u64);
                        }
                    }
                }
                e.current_step = None;
                e.held_weight = None;
                e.status = EnvStatus::RollingBack;
                e.rollback_reason = Some(reason.clone());
                e.rollback_trigger = Some(trigger.clone());
                e.verification = None;
            }
            s.pause_requested = false;
            s.pause_reason = None;
            s.status_before_pause = None;
            s.pending_stop = None;
            s.status = RunStatus::RollingBack;
        }
        Event::RollbackStepStarted { env, step, attempt } => {
            if let Some(st) = s.step_mut(*env, *step) {
                st.undo = Some(Undo {
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
            if let Some(st) = s.step_mut(*env, *step) {
                let attempts = st.undo.as_ref().map(|u| u.attempts).unwrap_or(1);
                st.undo = Some(Undo {
                    state: if *status == StepStatus::Succeeded {
                        UndoState::Done
                    } else {
                        UndoState::Failed
                    },
                    message: message.clone(),
                    attempts,
                });
                st.pgid = None;
            }
        }
        Event::RollbackStepSkipped { env, step, reason } => {
            if let Some(st) = s.step_mut(*env, *step) {
                st.undo = Some(Undo {
                    state: UndoState::Skipped,
                    message: reason.clone(),
                    attempts: 0,
                });
            }
        }
        Event::RollbackVerifyStarted { env, check } => {
            if let Some(e) = s.envs.get_mut(*env) {
                e.verification = Some(Verification::Running {
                    check: check.clone(),
                });
            }
        }
        Event::RollbackVerified {
            env,
            ok,
            message,
            check,
            output,
        } => {
            if let Some(e) = s.envs.get_mut(*env) {
                e.verification = Some(super::views::verification(*ok, message, check, output));
            }
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}
