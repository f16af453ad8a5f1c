//! Environments and their steps going forward: started, running a process,
//! writing output, waiting on a timer, finished or scheduled for a retry.

use jiff::Timestamp;

use super::{EnvStatus, RunState, RunStatus, StepState};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event, ts: Timestamp) {
    match event {
        Event::EnvStarted { env } => {
            s.current_env = Some(*env);
            if let Some(e) = s.envs.get_mut(*env) {
                e.status = EnvStatus::Running;
                e.started = Some(ts);
            }
        }
        Event::StepStarted { env, step, attempt } => {
            s.current_env = Some(*env);
            if let Some(e) = s.envs.get_mut(*env) {
                e.current_step = Some(*step);
                e.status = EnvStatus::Running;
            }
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::Running;
                st.attempts = *attempt;
                st.started = Some(ts);
                st.duration_ms = None;
                st.exit_code = None;
                st.message.clear();
                st.undo = None;
                st.evidence.clear();
            }
            s.set_status(RunStatus::Running);
        }
        Event::ProcessStarted {
            env,
            step,
            pgid,
            start_ticks,
            ..
        } => {
            if let Some(st) = s.step_mut(*env, *step) {
                st.pgid = Some((*pgid, *start_ticks));
            }
        }
        Event::Output { env, step, .. } => {
            if let Some(st) = s.step_mut(*env, *step) {
                st.output_lines += 1;
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
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::from_status(*status);
                st.exit_code = *exit_code;
                st.duration_ms = Some(*duration_ms);
                st.message = message.clone();
                st.pgid = None;
            }
        }
        Event::RetryScheduled { env, step, .. } => {
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::Pending;
            }
        }
        Event::TimerStarted {
            env,
            step,
            started,
            duration_ms,
        } => {
            if let Some(st) = s.step_mut(*env, *step) {
                st.timer = Some((*started, *duration_ms));
                st.state = StepState::Waiting;
            }
        }
        Event::EnvFinished { env, outcome } => {
            if let Some(e) = s.envs.get_mut(*env) {
                e.status = EnvStatus::Done(*outcome);
                e.current_step = None;
                e.held_weight = None;
                e.finished = Some(ts);
            }
            if s.status == RunStatus::RollingBack || s.status == RunStatus::Blocked {
                s.status = RunStatus::Running;
            }
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}
