//! Steps that wait for a person to decide: a rollback that reached something
//! it cannot undo, a step a dead engine left running, and the decision (or
//! retry) that ends the wait.

use super::{Blocked, EnvStatus, RunState, RunStatus, StepState};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event) {
    match event {
        Event::RollbackBlocked {
            env,
            step,
            reason,
            choices,
        } => block(s, *env, *step, reason, choices, true),
        Event::StepInterrupted {
            env,
            step,
            rollback,
            reason,
            choices,
        } => block(s, *env, *step, reason, choices, *rollback),
        Event::RetryRequested { env, step, .. } => {
            let undo = s.blocked.take().is_some_and(|b| b.undo);
            if undo {
                s.set_env_status(*env, EnvStatus::RollingBack);
                s.status = RunStatus::RollingBack;
            } else {
                if let Some(st) = s.step_mut(*env, *step) {
                    st.state = StepState::Pending;
                }
                s.set_env_status(*env, EnvStatus::Running);
                s.set_status(RunStatus::Running);
            }
        }
        Event::RollbackDecision {
            env, step, choice, ..
        } => {
            let undo = s.blocked.take().is_none_or(|b| b.undo);
            if *choice == RollbackChoice::Force
                && let Some(st) = s.step_mut(*env, *step)
            {
                st.forced = true;
            }
            match choice {
                RollbackChoice::RollForward => {
                    s.set_env_status(*env, EnvStatus::Running);
                    s.status = RunStatus::Running;
                }
                RollbackChoice::Force => {
                    s.set_env_status(*env, EnvStatus::RollingBack);
                    s.status = RunStatus::RollingBack;
                }
                // An interrupted forward step counted as done: the walk goes on.
                RollbackChoice::Done if !undo => {
                    s.set_env_status(*env, EnvStatus::Running);
                    s.status = RunStatus::Running;
                }
                RollbackChoice::Done => {
                    s.set_env_status(*env, EnvStatus::RollingBack);
                    s.status = RunStatus::RollingBack;
                }
                RollbackChoice::Hold | RollbackChoice::Retry | RollbackChoice::Rollback => {}
            }
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}

/// Waiting for a decision on a step (`undo`: one being rolled back).
fn block(
    s: &mut RunState,
    env: usize,
    step: usize,
    reason: &str,
    choices: &[RollbackChoice],
    undo: bool,
) {
    s.blocked = Some(Blocked {
        env,
        step,
        reason: reason.to_string(),
        choices: choices.to_vec(),
        undo,
    });
    s.set_env_status(env, EnvStatus::Blocked);
    s.status = RunStatus::Blocked;
}
