//! Taking over a run whose engine died (`slate recover RUN`).
//!
//! The new engine takes the run's lock (refused while the old one lives),
//! rebuilds the state from the journal, cuts off a torn last line, stops
//! whatever the dead engine left running, journals `RunRecovered`, and then
//! re-enters the same walk at the point `resume::point` finds. Completed
//! steps are never run again; a command step that was running is
//! interrupted, and someone decides: retry it, count it as done, or roll back.

use std::path::Path;

use jiff::Timestamp;

use super::event::{Actor, Event, Leftover, RollbackChoice, RunOutcome, StepStatus, Trigger};
use super::leftovers;
use super::resume::{self, NotResumable, Point};
use super::state::{StepState, UndoState, Verification};
use super::walk::Entry;
use super::{Engine, EngineHandle, EngineOptions, Fatal, RunState};
use crate::journal::{JournalWriter, read_journal};
use crate::plan::steps::env_steps;

/// Why a run could not be taken over, and the exit status that says so.
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    /// 2: nothing to do or not allowed (finished, live, corrupt); 1: I/O.
    pub code: i32,
}

/// The journaled plan with the values its journal masks (`RunStarted.sealed`)
/// taken back from the plan file, and what could not be, said for the
/// record. A webhook whose URL is lost stays silent; a check or metric URL
/// or header that is lost refuses the recovery, since running it without
/// its credentials would fail it and roll back for nothing.
pub(crate) fn unseal(
    journaled: crate::plan::Plan,
    records: &[super::Record],
) -> Result<(crate::plan::Plan, Option<String>), String> {
    let Some(super::Event::RunStarted {
        sealed,
        plan_path,
        vars,
        rollback_to,
        ..
    }) = records.first().map(|r| &r.event)
    else {
        return Ok((journaled, None));
    };
    if sealed.is_empty() {
        return Ok((journaled, None));
    }
    let file = crate::plan::load_file_with(Path::new(plan_path), vars).ok();
    let restored = crate::plan::sealed::restore(&journaled, sealed, file.as_ref());
    let (channels, others): (Vec<_>, Vec<_>) =
        restored.lost.iter().partition(|l| l.channel.is_some());
    if !others.is_empty() {
        let fields: Vec<&str> = others.iter().map(|l| l.field.as_str()).collect();
        let (it, was) = if others.len() == 1 {
            ("it", "it was")
        } else {
            ("them", "they were")
        };
        return Err(format!(
            "{} may hold credentials, which are never journaled, and {plan_path} no longer \
             has {it} as the run started with {it}; put {it} back in that file as {was} (or \
             write credentials as `${{secret.NAME}}` references, which are journaled)",
            fields.join(", "),
        ));
    }
    let mut plan = crate::plan::parse_with(
        &restored.source,
        plan_path,
        journaled.base_dir.clone(),
        vars,
    )
    .and_then(|p| match rollback_to {
        Some(to) => crate::runs::cut_down(p, to),
        None => Ok(p),
    })
    .map_err(|e| {
        format!(
            "its plan, with the masked values read back from {plan_path}, does not load: {}",
            e.lines().join("; ")
        )
    })?;
    let silent: Vec<&str> = channels
        .iter()
        .filter_map(|l| l.channel.as_deref())
        .collect();
    plan.channels.retain(|c| !silent.contains(&c.name.as_str()));
    let note = (!silent.is_empty()).then(|| {
        format!(
            "channel {} stays silent: its URL is never journaled and {plan_path} no longer \
             has it as the run started with it",
            silent.join(", ")
        )
    });
    Ok((plan, note))
}

/// What the recovering engine knows about the one that died.
pub(super) struct Taking {
    previous_pid: u32,
    warning: Option<String>,
}

/// A run about to be taken over: the engine, its handle, and what reading
/// the journal warned about.
pub struct Recovering {
    pub engine: Engine,
    pub handle: EngineHandle,
    pub warning: Option<String>,
    /// The records the journal already held.
    pub records: Vec<super::Record>,
}

impl Engine {
    /// Takes the run in `run_dir` over. Nothing runs until [`Engine::run`].
    pub fn recover(run_dir: &Path, mut opts: EngineOptions) -> Result<Recovering, Refused> {
        let refuse = |message: String| Refused { message, code: 2 };
        let run_id = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The lock first: a live engine may still be appending to the journal.
        let lock = crate::runs::EngineLock::acquire(run_dir)
            .map_err(|e| refuse(format!("{e}; `slate attach {run_id}` steers it")))?;
        let journal_path = run_dir.join(crate::journal::JOURNAL_FILE);
        let read = read_journal(&journal_path).map_err(|e| match e {
            crate::journal::JournalError::Corrupt { .. } => refuse(format!(
                "cannot recover run {run_id}: {}: {e}; it was left as it is",
                journal_path.display()
            )),
            crate::journal::JournalError::Io(m) => Refused {
                message: format!("cannot read the journal: {m}"),
                code: 1,
            },
        })?;
        let (plan, unsealed) = match crate::runs::recorded_plan(&read.records) {
            Some(Ok(p)) => unseal(p, &read.records)
                .map_err(|why| refuse(format!("cannot recover run {run_id}: {why}")))?,
            Some(Err(e)) => {
                return Err(refuse(format!(
                    "cannot recover run {run_id}: its recorded plan no longer loads: {}",
                    e.lines().join("; ")
                )));
            }
            None => {
                return Err(refuse(format!(
                    "run {run_id} never started (its journal has no run_started); nothing to recover"
                )));
            }
        };
        let state = RunState::replay(&read.records);
        let steps: Vec<_> = (0..plan.environments.len())
            .map(|e| env_steps(&plan, e))
            .collect();
        match resume::point(&state, &plan, &steps) {
            Ok(_) => {}
            Err(NotResumable::NeverStarted) => {
                return Err(refuse(format!(
                    "run {run_id} never started; nothing to recover"
                )));
            }
            Err(NotResumable::Finished(o)) => {
                return Err(refuse(format!(
                    "run {run_id} already ended ({}); nothing to recover",
                    o.word()
                )));
            }
        }
        let journal = JournalWriter::reopen(run_dir, read.valid_len).map_err(|e| Refused {
            message: format!("cannot open {} to append: {e}", journal_path.display()),
            code: 1,
        })?;
        let sharing = super::share(&plan, &opts.state_dir, run_dir).map_err(refuse)?;
        let previous_pid = state.pid;
        // What the run was told at its start still holds.
        if let Some(super::Event::RunStarted {
            pre_approved,
            auto_approve,
            ..
        }) = read.records.first().map(|r| &r.event)
        {
            opts.pre_approved = pre_approved.clone();
            opts.auto_approve = *auto_approve;
        }
        // Stage directories are relative to the plan file the run started from.
        opts.plan_path = state.plan_path.clone();
        let (mut engine, handle) = Self::assemble(
            plan,
            opts,
            super::Opened {
                run_id,
                run_dir: run_dir.to_path_buf(),
                journal,
                lock,
                state,
                sharing,
            },
        );
        let warning = [read.warning.clone(), unsealed]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
        engine.recovery = Some(Taking {
            previous_pid,
            warning: (!warning.is_empty()).then_some(warning),
        });
        Ok(Recovering {
            engine,
            handle,
            warning: read.warning,
            records: read.records,
        })
    }

    pub(super) async fn resume_all(&mut self, taking: Taking) -> Result<(), Fatal> {
        let leftovers = self.stop_leftovers().await;
        self.emit(Event::RunRecovered {
            actor: self.opts.actor.clone(),
            pid: std::process::id(),
            previous_pid: taking.previous_pid,
            warning: taking.warning,
            leftovers,
        })?;
        self.resolve_secrets().await?;
        let point = resume::point(&self.state, &self.plan, &self.steps)
            .map_err(|e| Fatal(format!("nothing to recover: {e:?}")))?;
        tracing::info!(?point, "recovering");
        match point {
            Point::Forward { env, step, fresh } => {
                if fresh {
                    self.walk(env, Entry::Fresh).await
                } else {
                    self.resuming = Some((env, step));
                    self.walk(env, Entry::At(step)).await
                }
            }
            Point::Interrupted { env, step } => self.resume_interrupted(env, step).await,
            Point::UndoInterrupted { env, step } => self.resume_interrupted_undo(env, step).await,
            Point::Rollback {
                env,
                trigger,
                reason,
                resume,
            } => self.resume_rollback(env, trigger, reason, resume).await,
            Point::Finish { outcome } => {
                let message = self.ended_message(outcome);
                self.finish(outcome, message).await
            }
        }
    }

    /// Goes on with (or starts) a rollback, before or after the release.
    async fn resume_rollback(
        &mut self,
        env: usize,
        trigger: Trigger,
        reason: String,
        resume: bool,
    ) -> Result<(), Fatal> {
        if self.state.outcome.is_none() {
            return self
                .walk(
                    env,
                    Entry::RollBack {
                        trigger,
                        reason,
                        resume,
                    },
                )
                .await;
        }
        self.rollback_after_release(env, trigger, reason, resume)
            .await?;
        if self.opts.linger {
            self.linger().await?;
        }
        Ok(())
    }

    /// The run's last message when every environment had already ended.
    fn ended_message(&self, outcome: RunOutcome) -> String {
        let Some(e) = self.state.current_env.and_then(|i| self.state.envs.get(i)) else {
            return String::new();
        };
        match outcome {
            RunOutcome::Released => String::new(),
            RunOutcome::Held => format!("{} held after its rollback stopped", e.name),
            _ => format!(
                "{} {}: {}",
                e.name,
                e.rolled_back(),
                e.rollback_reason.clone().unwrap_or_default()
            ),
        }
    }

    /// A command step ran when the engine died: journal it as interrupted,
    /// then retry it, count it as done, or roll back — as decided.
    async fn resume_interrupted(&mut self, env: usize, step: usize) -> Result<(), Fatal> {
        let label = self.steps[env][step].label.clone();
        self.mark_interrupted(env, step, false)?;
        let idempotent = self.steps[env][step]
            .run()
            .is_some_and(|r| self.plan.stages[r.stage].idempotent);
        // An idempotent stage leaves nothing to choose.
        let choices: &[RollbackChoice] = if idempotent {
            &[RollbackChoice::Retry]
        } else {
            &[
                RollbackChoice::Retry,
                RollbackChoice::Done,
                RollbackChoice::Rollback,
            ]
        };
        let reason = if idempotent {
            format!(
                "{label} was running when the engine died; its stage is idempotent, so it runs again"
            )
        } else {
            format!(
                "{label} was running when the engine died and may or may not have done its work"
            )
        };
        let (choice, actor, note) = self
            .interrupted_choice(env, step, reason, choices, idempotent, false)
            .await?;
        match choice {
            RollbackChoice::Retry => {
                self.resuming = Some((env, step));
                self.walk(env, Entry::At(step)).await
            }
            RollbackChoice::Done => {
                let attempt = self.state.envs[env].steps[step].attempts;
                // The step's end before the decision's record: a crash in
                // between still finds the step done.
                self.emit(Event::StepFinished {
                    env,
                    step,
                    attempt,
                    status: StepStatus::Succeeded,
                    exit_code: None,
                    duration_ms: 0,
                    message: format!("counted as done by {} after the engine died", actor.user),
                })?;
                self.record_decision(env, step, choice, actor, note)?;
                self.walk(env, Entry::At(step + 1)).await
            }
            _ => {
                let user = actor.user.clone();
                self.record_decision(env, step, RollbackChoice::Rollback, actor, note)?;
                self.walk(
                    env,
                    Entry::RollBack {
                        trigger: Trigger::Interrupted { step },
                        reason: format!(
                            "{label} was interrupted when the engine died; {user} chose to roll back"
                        ),
                        resume: false,
                    },
                )
                .await
            }
        }
    }

    /// A rollback step ran when the engine died: retry it, count it as
    /// undone, or hold the environment — then the rollback goes on.
    async fn resume_interrupted_undo(&mut self, env: usize, step: usize) -> Result<(), Fatal> {
        let label = self.steps[env][step].label.clone();
        self.mark_interrupted(env, step, true)?;
        let choices = [
            RollbackChoice::Retry,
            RollbackChoice::Done,
            RollbackChoice::Hold,
        ];
        let reason = format!(
            "the rollback of {label} was running when the engine died and may or may not have finished"
        );
        let (choice, actor, note) = self
            .interrupted_choice(env, step, reason, &choices, false, true)
            .await?;
        let view = &self.state.envs[env];
        let trigger = view.rollback_trigger.clone().unwrap_or(Trigger::Manual);
        let reason = view.rollback_reason.clone().unwrap_or_default();
        match choice {
            RollbackChoice::Done => {
                let attempt = view.steps[step].undo.as_ref().map_or(1, |u| u.attempts);
                self.emit(Event::RollbackStepFinished {
                    env,
                    step,
                    attempt,
                    status: StepStatus::Succeeded,
                    exit_code: None,
                    duration_ms: 0,
                    message: format!("counted as undone by {} after the engine died", actor.user),
                })?;
                self.record_decision(env, step, choice, actor, note)?;
            }
            RollbackChoice::Hold => {
                self.record_decision(env, step, choice, actor, note)?;
                self.hold(env, format!("the rollback of {label} was interrupted"))?;
                let message = format!(
                    "{} held: the rollback of {label} was interrupted",
                    self.plan.environments[env].name
                );
                if self.state.outcome.is_some() {
                    self.emit(Event::RunFinished {
                        outcome: RunOutcome::Held,
                        message,
                    })?;
                    self.settle().await;
                    if self.opts.linger {
                        self.linger().await?;
                    }
                    return Ok(());
                }
                return self.finish(RunOutcome::Held, message).await;
            }
            _ => {}
        }
        self.resume_rollback(env, trigger, reason, true).await
    }

    /// Journals the step (or its undo) as stopped by the crash, unless an
    /// earlier recovery already did.
    fn mark_interrupted(&mut self, env: usize, step: usize, undo: bool) -> Result<(), Fatal> {
        let prev = self.state.recoveries.last().map_or(0, |r| r.previous_pid);
        let s = &self.state.envs[env].steps[step];
        let message = format!("interrupted: the engine (pid {prev}) died while this ran");
        let elapsed = |since: Option<Timestamp>| {
            since.map_or(0, |t| {
                Timestamp::now().duration_since(t).as_millis().max(0) as u64
            })
        };
        if undo {
            let Some(u) = s.undo.as_ref().filter(|u| u.state == UndoState::Running) else {
                return Ok(());
            };
            let attempt = u.attempts;
            self.emit(Event::RollbackStepFinished {
                env,
                step,
                attempt,
                status: StepStatus::Killed,
                exit_code: None,
                duration_ms: 0,
                message,
            })
        } else if s.state == StepState::Running {
            let (attempt, duration_ms) = (s.attempts, elapsed(s.started));
            self.emit(Event::StepFinished {
                env,
                step,
                attempt,
                status: StepStatus::Killed,
                exit_code: None,
                duration_ms,
                message,
            })
        } else {
            Ok(())
        }
    }

    /// Asks about an interrupted step, or takes the answer given in advance
    /// (`--interrupted`) or implied (an idempotent stage is retried).
    async fn interrupted_choice(
        &mut self,
        env: usize,
        step: usize,
        reason: String,
        choices: &[RollbackChoice],
        idempotent: bool,
        undo: bool,
    ) -> Result<(RollbackChoice, Actor, String), Fatal> {
        self.emit(Event::StepInterrupted {
            env,
            step,
            rollback: undo,
            reason,
            choices: choices.to_vec(),
        })?;
        // Rolling back is already what an interrupted undo is doing: retry it.
        let preset = self.opts.on_interrupted.map(|c| match c {
            RollbackChoice::Rollback if undo => RollbackChoice::Retry,
            c => c,
        });
        let decided = if idempotent {
            Some((
                RollbackChoice::Retry,
                Actor::engine(),
                "the stage is idempotent".to_string(),
            ))
        } else {
            preset.filter(|c| choices.contains(c)).map(|c| {
                (
                    c,
                    self.opts.actor.clone(),
                    format!("chosen in advance with --interrupted {}", c.word()),
                )
            })
        };
        let Some((choice, actor, note)) = decided else {
            let (fallback, what_then) = if undo {
                (RollbackChoice::Hold, "the environment is held as it is")
            } else {
                (RollbackChoice::Rollback, "the environment is rolled back")
            };
            // A retry asked for by a command has journaled its own RetryRequested.
            return self
                .wait_decision(env, step, choices, fallback, what_then)
                .await;
        };
        if choice == RollbackChoice::Retry {
            self.emit(Event::RetryRequested {
                env,
                step,
                actor: actor.clone(),
            })?;
        }
        Ok((choice, actor, note))
    }

    /// Finds what the dead engine left running and stops it: the process
    /// groups on record, then whatever still carries the running step's mark
    /// (a group started but not yet journaled, or a helper that left it).
    async fn stop_leftovers(&self) -> Vec<Leftover> {
        if let Some(there) = &self.opts.foreign {
            return self.foreign_leftovers(there);
        }
        let mut groups = Vec::new();
        let mut marks = Vec::new();
        for (e, env) in self.state.envs.iter().enumerate() {
            for (s, step) in env.steps.iter().enumerate() {
                if let Some((g, t)) = step.pgid {
                    groups.push((e, s, g, t));
                }
                let undo = step.undo.as_ref().filter(|u| u.state == UndoState::Running);
                if let Some(u) = undo {
                    marks.push((
                        e,
                        Some(s),
                        leftovers::step_id(&self.run_id, e, s, u.attempts, true),
                    ));
                } else if step.state == StepState::Running && step.kind == "run" {
                    marks.push((
                        e,
                        Some(s),
                        leftovers::step_id(&self.run_id, e, s, step.attempts, false),
                    ));
                }
            }
        }
        // A rollback's verification has no step; its command carries its own mark.
        for (e, env) in self.state.envs.iter().enumerate() {
            if matches!(env.verification, Some(Verification::Running { .. })) {
                marks.push((e, None, leftovers::verify_id(&self.run_id, e)));
            }
        }
        tokio::task::spawn_blocking(move || {
            leftovers::stop_all(groups, marks, super::process::KILL_GRACE)
        })
        .await
        .unwrap_or_default()
    }

    /// Recovering on another machine: the process groups of the steps that
    /// were running belong to `there`, and their ids mean nothing here (a
    /// local group may have the same id), so nothing is signalled; each is
    /// reported, for someone on that machine to stop.
    fn foreign_leftovers(&self, there: &str) -> Vec<Leftover> {
        let mut out = Vec::new();
        for (e, env) in self.state.envs.iter().enumerate() {
            for (s, step) in env.steps.iter().enumerate() {
                let running = step.state == StepState::Running
                    || step
                        .undo
                        .as_ref()
                        .is_some_and(|u| u.state == UndoState::Running);
                if let (true, Some((pgid, _))) = (running, step.pgid) {
                    out.push(Leftover {
                        env: e,
                        step: s,
                        pgid,
                        stopped: false,
                        message: format!(
                            "process group {pgid} was started on {there}; this machine cannot stop it (stop it there if it still runs)"
                        ),
                        verify: false,
                    });
                }
            }
        }
        out
    }
}
