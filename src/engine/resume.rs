//! Where a run whose engine died picks up again, decided from its replayed
//! state alone (pure: no clock, no I/O).
//!
//! The rule is that nothing that completed runs again, and nothing that was
//! decided is lost: a journaled approval still counts, a requested abort or
//! rollback still happens, a pause still holds. Only a command step that was
//! running when the engine died is uncertain (it may or may not have done its
//! work), and that one is a question for a person unless the stage says it is
//! idempotent.

use super::event::{EnvOutcome, RunOutcome, Trigger};
use super::state::{EnvStatus, RunState, StepState, UndoState};
use crate::plan::Plan;
use crate::plan::steps::{Step, StepKind};

/// What the recovering engine does first.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// Walk forward from `step` of `env`; `fresh` when the environment had not started.
    Forward {
        env: usize,
        step: usize,
        fresh: bool,
    },
    /// A command step was running when the engine died.
    Interrupted { env: usize, step: usize },
    /// A rollback step was running when the engine died.
    UndoInterrupted { env: usize, step: usize },
    /// Roll `env` back: go on with one under way (`resume`), or start one
    /// that was asked for or made necessary and not yet begun.
    Rollback {
        env: usize,
        trigger: Trigger,
        reason: String,
        resume: bool,
    },
    /// Every environment has ended; only the run's end is missing.
    Finish { outcome: RunOutcome },
}

/// Why a run cannot be recovered.
#[derive(Debug, Clone, PartialEq)]
pub enum NotResumable {
    NeverStarted,
    Finished(RunOutcome),
}

/// The run outcome a rollback started by `trigger` ends in.
pub fn outcome_of(trigger: &Trigger) -> RunOutcome {
    match trigger {
        Trigger::Abort => RunOutcome::Aborted,
        Trigger::GateRejected { .. } => RunOutcome::Rejected,
        _ => RunOutcome::RolledBack,
    }
}

pub fn point(state: &RunState, plan: &Plan, steps: &[Vec<Step>]) -> Result<Point, NotResumable> {
    if state.envs.is_empty() {
        return Err(NotResumable::NeverStarted);
    }
    // A rollback under way (also one after the release) goes on first.
    if let Some(env) = state
        .envs
        .iter()
        .position(|e| matches!(e.status, EnvStatus::RollingBack) || is_undo_block(state, e))
    {
        let e = &state.envs[env];
        if let Some(step) = e.steps.iter().position(|s| {
            s.undo
                .as_ref()
                .is_some_and(|u| u.state == UndoState::Running)
        }) {
            return Ok(Point::UndoInterrupted { env, step });
        }
        return Ok(Point::Rollback {
            env,
            trigger: e.rollback_trigger.clone().unwrap_or(Trigger::Manual),
            reason: e.rollback_reason.clone().unwrap_or_default(),
            resume: true,
        });
    }
    if let Some(outcome) = state.outcome {
        // Finished and nothing under way; a rollback asked for after the release still happens.
        return match &state.pending_stop {
            Some(p) => match p.env {
                Some(env) => Ok(Point::Rollback {
                    env,
                    trigger: Trigger::Manual,
                    reason: p.reason.clone(),
                    resume: false,
                }),
                None => Err(NotResumable::Finished(outcome)),
            },
            None => Err(NotResumable::Finished(outcome)),
        };
    }
    let Some(env) = state.current_env else {
        return Ok(Point::Forward {
            env: 0,
            step: 0,
            fresh: true,
        });
    };
    let e = &state.envs[env];
    match e.status {
        EnvStatus::Done(EnvOutcome::Deployed) => {
            return Ok(if env + 1 < state.envs.len() {
                Point::Forward {
                    env: env + 1,
                    step: 0,
                    fresh: true,
                }
            } else {
                Point::Finish {
                    outcome: RunOutcome::Released,
                }
            });
        }
        EnvStatus::Done(EnvOutcome::RolledBack) => {
            return Ok(Point::Finish {
                outcome: e
                    .rollback_trigger
                    .as_ref()
                    .map(outcome_of)
                    .unwrap_or(RunOutcome::RolledBack),
            });
        }
        EnvStatus::Done(EnvOutcome::Held) => {
            return Ok(Point::Finish {
                outcome: RunOutcome::Held,
            });
        }
        _ => {}
    }
    // An abort or rollback that was journaled but had not begun is still owed.
    if let Some(p) = &state.pending_stop {
        let (trigger, reason) = if p.abort {
            (Trigger::Abort, format!("aborted: {}", p.reason))
        } else {
            (Trigger::Manual, p.reason.clone())
        };
        return Ok(Point::Rollback {
            env,
            trigger,
            reason,
            resume: false,
        });
    }
    // A step the previous engine had already asked about after a crash.
    if let Some(b) = state.blocked.as_ref().filter(|b| !b.undo && b.env == env) {
        return Ok(match e.steps.get(b.step).map(|s| s.state) {
            // Counted as done (journaled before the decision): carry on after it.
            Some(StepState::Succeeded) => Point::Forward {
                env,
                step: b.step + 1,
                fresh: false,
            },
            _ => Point::Interrupted { env, step: b.step },
        });
    }
    // Steps `promote --full` skipped are behind the run, as done ones are.
    let Some(step) = e
        .steps
        .iter()
        .position(|s| !matches!(s.state, StepState::Succeeded | StepState::Skipped))
    else {
        // Every step succeeded; only the environment's end was not journaled.
        return Ok(Point::Forward {
            env,
            step: e.steps.len(),
            fresh: false,
        });
    };
    let s = &e.steps[step];
    let spec = steps
        .get(env)
        .and_then(|st| st.get(step))
        .and_then(|st| st.run());
    let retries = spec.map(|r| plan.stages[r.stage].retries);
    Ok(match s.state {
        StepState::Running if spec.is_some() => Point::Interrupted { env, step },
        // Checks and analyses only observe, a gate or a timer only waits: do them again.
        StepState::Running | StepState::Waiting | StepState::Pending | StepState::Skipped => {
            Point::Forward {
                env,
                step,
                fresh: false,
            }
        }
        // A failure the dead engine had not yet acted on: retry while the stage allows, else roll back.
        StepState::Failed | StepState::TimedOut | StepState::Killed => {
            if retries.is_some_and(|r| s.attempts <= r) && s.state != StepState::Killed {
                Point::Forward {
                    env,
                    step,
                    fresh: false,
                }
            } else {
                let trigger = failure_trigger(state, plan, steps, env, step);
                // Worded as the walk words it (the step's message holds "rejected: …").
                let reason = match &trigger {
                    Trigger::GateRejected { gate, .. } => format!("gate {gate} {}", s.message),
                    Trigger::GateFailed { gate, .. } => {
                        format!("gate {gate} failed: {}", s.message)
                    }
                    _ => format!("{} failed: {}", s.label, s.message),
                };
                Point::Rollback {
                    env,
                    trigger,
                    reason,
                    resume: false,
                }
            }
        }
        StepState::Succeeded => unreachable!("found as not succeeded"),
    })
}

fn is_undo_block(state: &RunState, e: &super::state::EnvView) -> bool {
    e.status == EnvStatus::Blocked
        && state
            .blocked
            .as_ref()
            .is_some_and(|b| b.undo && state.envs.get(b.env).is_some_and(|x| x.name == e.name))
}

/// The trigger the walk would have used for a failed step.
fn failure_trigger(
    state: &RunState,
    plan: &Plan,
    steps: &[Vec<Step>],
    env: usize,
    step: usize,
) -> Trigger {
    let e = &state.envs[env];
    let s = &e.steps[step];
    let gate = match steps
        .get(env)
        .and_then(|st| st.get(step))
        .map(|st| &st.kind)
    {
        Some(StepKind::Gate { gate }) => plan.gates[*gate].name.clone(),
        _ => s.label.clone(),
    };
    match s.kind.as_str() {
        // Only recovery marks a step killed without a rollback under way.
        _ if s.state == StepState::Killed => Trigger::Interrupted { step },
        "gate" if s.message.starts_with("rejected: ") => Trigger::GateRejected { step, gate },
        "gate" | "analysis" if s.message.starts_with("inconclusive: ") => {
            Trigger::AnalysisInconclusive {
                step,
                analysis: e
                    .analyses
                    .iter()
                    .rev()
                    .find(|a| a.step == step)
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| s.label.clone()),
            }
        }
        "gate" => Trigger::GateFailed { step, gate },
        "analysis" => Trigger::AnalysisFailed {
            step,
            analysis: e
                .analyses
                .iter()
                .rev()
                .find(|a| a.step == step)
                .map(|a| a.name.clone())
                .unwrap_or_else(|| s.label.clone()),
        },
        _ => Trigger::StepFailed { step },
    }
}
