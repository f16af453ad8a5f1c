//! Gates: waiting for people, approvals and rejections, evidence judged, and
//! how a gate ended.

use jiff::Timestamp;

use super::{Approval, EnvStatus, EvidenceView, GateWait, RunState, RunStatus, StepState};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event, ts: Timestamp) {
    match event {
        Event::GateWaiting {
            env,
            step,
            gate,
            required,
            require_comment,
            since,
            ..
        } => {
            s.waiting = Some(GateWait {
                env: *env,
                step: *step,
                gate: gate.clone(),
                required: *required,
                require_comment: *require_comment,
                since: since.unwrap_or(ts),
            });
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::Waiting;
            }
            s.set_env_status(*env, EnvStatus::WaitingApproval);
            s.set_status(RunStatus::WaitingApproval);
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
            if let Some(st) = s.step_mut(*env, *step) {
                st.message = format!("{} {path}: {summary}", kind.word());
                st.evidence.push(EvidenceView {
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
            if let Some(e) = s.envs.get_mut(*env) {
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
            s.waiting = None;
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::Failed;
                st.message = format!("rejected: {reason}");
            }
        }
        Event::GatePassed { env, step, .. } => {
            if s.waiting
                .as_ref()
                .is_some_and(|w| w.env == *env && w.step == *step)
            {
                s.waiting = None;
            }
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::Succeeded;
                if let Some(started) = st.started {
                    st.duration_ms = Some(ts.duration_since(started).as_millis().max(0) as u64);
                }
            }
            s.set_env_status(*env, EnvStatus::Running);
            s.set_status(RunStatus::Running);
        }
        Event::GateFailed {
            env, step, reason, ..
        } => {
            s.waiting = None;
            if let Some(st) = s.step_mut(*env, *step) {
                st.state = StepState::Failed;
                st.message = reason.clone();
            }
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}
