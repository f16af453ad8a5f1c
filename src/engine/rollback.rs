//! Rolling an environment back: undo what ran, newest first, and verify.
//!
//! The verification (`verify_rollback`) is the rollback's own: it is
//! journaled as `RollbackVerifyStarted` / `RollbackVerified`, never under a
//! step, and its command's output goes into that record. Without one the
//! rollback is said to be *not verified*: undo commands that exited 0 say
//! nothing about what is serving.
//!
//! The step that failed is undone first (it may have half-applied), then the
//! completed steps in reverse. An irreversible step is never silently
//! crossed: the rollback stops there and asks — hold, roll forward, or force.

use std::collections::HashSet;

use super::state::EnvView;
use crate::plan::steps::Step;

use super::backoff::backoff;
use super::checks::At;
use super::commands::{Ctx, Wake};
use super::event::{Actor, EnvOutcome, Event, RollbackChoice, StepStatus, Trigger};
use super::exec::Exec;
use super::state::NOT_VERIFIED;
use super::state::{StepState, UndoState};
use super::{Engine, Fatal, Unattended};

/// What the journal and every message call an environment's rollback check.
pub const VERIFY_CHECK: &str = "verify_rollback";

/// The steps a rollback of an environment undoes, newest first: every command
/// step that ran (one still running is stopped first), and only the last of
/// each rollback group (a canary is undone once, not once per weight). The
/// engine walks this list; the cockpit shows it before anyone confirms.
pub fn undo_order(view: &EnvView, steps: &[Step]) -> Vec<usize> {
    undo_order_where(steps, |i| {
        view.steps.get(i).is_some_and(|s| {
            matches!(
                s.state,
                StepState::Succeeded
                    | StepState::Failed
                    | StepState::TimedOut
                    | StepState::Killed
                    | StepState::Running
            )
        })
    })
}

/// [`undo_order`] for the steps `ran` says ran: with every step, what a
/// rollback of a finished environment undoes (`slate plan` shows it).
pub fn undo_order_where(steps: &[Step], ran: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut groups = HashSet::new();
    steps
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, _)| ran(*i))
        .filter_map(|(i, s)| Some((i, s.run()?)))
        .filter(|(_, spec)| spec.rollback_group.is_none_or(|g| groups.insert(g)))
        .map(|(i, _)| i)
        .collect()
}

pub(super) enum RollbackEnd {
    RolledBack,
    /// Stopped part-way; the environment stays where it is.
    Held(String),
    /// The operator keeps the new version: continue forward from this step.
    RollForward {
        from: usize,
    },
}

impl Engine {
    /// `resume`: the rollback began before a crash; steps already undone (or
    /// skipped) are not undone again, and a decision it was waiting for is asked again.
    pub(super) async fn rollback_env(
        &mut self,
        env: usize,
        trigger: Trigger,
        reason: String,
        resume: bool,
    ) -> Result<RollbackEnd, Fatal> {
        if !resume {
            self.emit(Event::RollbackStarted {
                env,
                trigger,
                reason: reason.clone(),
            })?;
        }
        let view = &self.state.envs[env];
        let to_undo: Vec<usize> = undo_order(view, &self.steps[env])
            .into_iter()
            .filter(|&i| {
                !view.steps[i]
                    .undo
                    .as_ref()
                    .is_some_and(|u| matches!(u.state, UndoState::Done | UndoState::Skipped))
            })
            .collect();
        if to_undo.is_empty() && !resume {
            // Nothing ran here, so nothing changed: there is nothing to undo or verify.
            let name = self.plan.environments[env].name.clone();
            self.emit(Event::RollbackVerified {
                env,
                ok: true,
                message: format!("nothing had run in {name}; nothing to undo"),
                check: None,
                output: Vec::new(),
            })?;
            self.emit(Event::EnvFinished {
                env,
                outcome: EnvOutcome::RolledBack,
            })?;
            return Ok(RollbackEnd::RolledBack);
        }
        let (mut undone, mut skipped) = (0, 0);
        for step in to_undo {
            let spec = self.steps[env][step]
                .run()
                .expect("undo_order yields runs")
                .clone();
            let view = &self.state.envs[env].steps[step];
            // Forced before a crash: the decision stands.
            let mut forced = view.forced;
            // A failed undo the dead engine was asking about is asked about again, not rerun.
            let mut ask_first = resume
                && view
                    .undo
                    .as_ref()
                    .is_some_and(|u| u.state == UndoState::Failed)
                && self
                    .state
                    .blocked
                    .as_ref()
                    .is_some_and(|b| b.undo && b.env == env && b.step == step);
            if spec.irreversible && !forced {
                let label = self.steps[env][step].label.clone();
                let why = format!(
                    "{label} is irreversible: rolling back past it cannot restore the previous state"
                );
                match self
                    .decide_blocked(
                        env,
                        step,
                        why,
                        &[
                            RollbackChoice::Hold,
                            RollbackChoice::RollForward,
                            RollbackChoice::Force,
                        ],
                    )
                    .await?
                {
                    RollbackChoice::Hold => {
                        return self.hold(
                            env,
                            format!("rollback stopped at irreversible step {label}"),
                        );
                    }
                    RollbackChoice::RollForward => {
                        return Ok(RollbackEnd::RollForward { from: step + 1 });
                    }
                    _ => forced = true,
                }
            }
            let Some(command) = spec.rollback.clone() else {
                let reason = if forced {
                    "forced past an irreversible step that has no rollback command".to_string()
                } else {
                    "no rollback command".to_string()
                };
                self.emit(Event::RollbackStepSkipped { env, step, reason })?;
                skipped += 1;
                continue;
            };
            let stage = self.plan.stages[spec.stage].clone();
            let mut attempt = 1;
            loop {
                let failure = if ask_first {
                    ask_first = false;
                    self.state.envs[env].steps[step]
                        .undo
                        .as_ref()
                        .map(|u| u.message.clone())
                        .unwrap_or_default()
                } else {
                    self.emit(Event::RollbackStepStarted { env, step, attempt })?;
                    let r = self
                        .exec(Exec {
                            env,
                            step,
                            command: &command,
                            stage: Some(spec.stage),
                            vars: &spec.rollback_vars,
                            timeout: stage.timeout,
                            rollback: true,
                            attempt,
                            verify: false,
                        })
                        .await?;
                    self.emit(Event::RollbackStepFinished {
                        env,
                        step,
                        attempt,
                        status: r.status,
                        exit_code: r.exit_code,
                        duration_ms: r.duration_ms,
                        message: r.message.clone(),
                    })?;
                    if r.status == StepStatus::Succeeded {
                        undone += 1;
                        break;
                    }
                    if attempt <= stage.retries {
                        self.wait_for(backoff(stage.backoff, attempt), env, true)
                            .await?;
                        attempt += 1;
                        continue;
                    }
                    r.message
                };
                let label = self.steps[env][step].label.clone();
                let why = format!("rollback of {label} failed: {failure}");
                match self
                    .decide_blocked(
                        env,
                        step,
                        why,
                        &[
                            RollbackChoice::Retry,
                            RollbackChoice::Hold,
                            RollbackChoice::Force,
                        ],
                    )
                    .await?
                {
                    RollbackChoice::Retry => attempt = 1,
                    RollbackChoice::Force => {
                        self.emit(Event::RollbackStepSkipped {
                            env,
                            step,
                            reason: "forced past its failed rollback".into(),
                        })?;
                        skipped += 1;
                        break;
                    }
                    _ => return self.hold(env, format!("rollback of {label} failed")),
                }
            }
        }
        let (ok, message, check, output) = match self.plan.environments[env].verify_rollback.clone()
        {
            Some(check) => {
                self.emit(Event::RollbackVerifyStarted {
                    env,
                    check: VERIFY_CHECK.into(),
                })?;
                // Commands during a rollback are refused, so nothing stops it early.
                let run = self.run_check(env, At::Verify, &check, 1).await?;
                (
                    run.ok,
                    run.message,
                    Some(VERIFY_CHECK.to_string()),
                    run.output,
                )
            }
            // Undo commands that exited 0 are not a verification: say so.
            None => (
                true,
                format!(
                    "{NOT_VERIFIED}; {undone} rollback command(s) succeeded, {skipped} skipped"
                ),
                None,
                Vec::new(),
            ),
        };
        self.emit(Event::RollbackVerified {
            env,
            ok,
            message: message.clone(),
            check,
            output,
        })?;
        if !ok {
            return self.hold(env, format!("{VERIFY_CHECK} failed: {message}"));
        }
        self.emit(Event::EnvFinished {
            env,
            outcome: EnvOutcome::RolledBack,
        })?;
        Ok(RollbackEnd::RolledBack)
    }

    pub(super) fn hold(&mut self, env: usize, why: String) -> Result<RollbackEnd, Fatal> {
        self.emit(Event::EnvFinished {
            env,
            outcome: EnvOutcome::Held,
        })?;
        Ok(RollbackEnd::Held(why))
    }

    /// Waits for someone to pick one of `choices` for a blocked step. When
    /// nobody can (fail-closed mode, or every client has gone) the engine
    /// picks `fallback` itself, saying `what_then`.
    pub(super) async fn wait_decision(
        &mut self,
        env: usize,
        step: usize,
        choices: &[RollbackChoice],
        fallback: RollbackChoice,
        what_then: &str,
    ) -> Result<(RollbackChoice, Actor, String), Fatal> {
        if self.opts.unattended == Unattended::FailClosed {
            return Ok((
                fallback,
                Actor::engine(),
                format!("no operator can decide in this mode, so {what_then}"),
            ));
        }
        loop {
            if let Some(why) = &self.terminating {
                return Ok((
                    fallback,
                    Actor::engine(),
                    format!("the engine was told to stop ({why}), so {what_then}"),
                ));
            }
            let Some(cmd) = self.next_command().await else {
                return Ok((
                    fallback,
                    Actor::engine(),
                    format!("every client disconnected, so {what_then}"),
                ));
            };
            // A terminate is taken at the top of the loop, with its reason.
            if let Some(Wake::Decision {
                choice,
                actor,
                note,
            }) = self.on_command(cmd, &Ctx::Blocked { env, step, choices })?
            {
                return Ok((choice, actor, note));
            }
        }
    }

    /// Journals the block, waits for (or, unattended, makes) the decision, journals it.
    async fn decide_blocked(
        &mut self,
        env: usize,
        step: usize,
        reason: String,
        choices: &[RollbackChoice],
    ) -> Result<RollbackChoice, Fatal> {
        self.emit(Event::RollbackBlocked {
            env,
            step,
            reason,
            choices: choices.to_vec(),
        })?;
        let (choice, actor, note) = self
            .wait_decision(
                env,
                step,
                choices,
                RollbackChoice::Hold,
                "the environment is held as it is",
            )
            .await?;
        tracing::info!(env, step, choice = choice.word(), "rollback decision");
        if choice != RollbackChoice::Retry {
            // Retry has its own record (RetryRequested), written when it was asked for.
            self.record_decision(env, step, choice, actor, note)?;
        }
        Ok(choice)
    }

    /// Journals the answer to a blocked step.
    pub(super) fn record_decision(
        &mut self,
        env: usize,
        step: usize,
        choice: RollbackChoice,
        actor: Actor,
        note: String,
    ) -> Result<(), Fatal> {
        self.emit(Event::RollbackDecision {
            env,
            step,
            choice,
            actor,
            note,
        })
    }
}
