//! Walking the plan: environments in promotion order, steps in order, with
//! pauses honoured at safe points (between steps and at gates).

use super::commands::{Ctx, Wake};
use super::event::{EnvOutcome, Event, RunOutcome, StepStatus, Trigger};
use super::exec::Exec;
use super::rollback::RollbackEnd;
use super::{Engine, Fatal, Stop};
use crate::journal::Durable;
use crate::plan::steps::{RunSpec, StepKind};

/// How a walk enters its first environment.
pub(super) enum Entry {
    /// From its first step, journaling that it started.
    Fresh,
    /// Part-way: it started before a crash.
    At(usize),
    /// By rolling it back; `resume` when the rollback had begun before a crash.
    RollBack {
        trigger: Trigger,
        reason: String,
        resume: bool,
    },
}

impl Engine {
    pub(super) async fn run_all(&mut self) -> Result<(), Fatal> {
        let envs = self.outline();
        // Credentials the plan spells out stay out of the journal (see `plan::sealed`).
        let (plan_source, sealed) = self.plan.journaled_source();
        self.emit(Event::RunStarted {
            run_id: self.run_id.clone(),
            plan_path: self.opts.plan_path.clone(),
            plan_source,
            sealed,
            release: self.plan.release.name.clone(),
            version: self.plan.release.version.clone(),
            previous_version: self.plan.release.previous_version.clone(),
            owner: self.plan.release.owner.clone(),
            environments: envs,
            actor: self.opts.actor.clone(),
            pid: std::process::id(),
            pre_approved: self.opts.pre_approved.clone(),
            auto_approve: self.opts.auto_approve,
            vars: self.plan.set.clone(),
            rollback_to: self.opts.rollback_to.clone().map(Box::new),
        })?;
        self.resolve_secrets().await?;
        self.walk(0, Entry::Fresh).await
    }

    /// Walks the environments from `first` to the end (or to the rollback
    /// that ends the run), then finishes the run. `entry` says how to enter
    /// `first`: a new run starts it; a recovery may re-enter it part-way, or
    /// roll it back.
    pub(super) async fn walk(&mut self, first: usize, entry: Entry) -> Result<(), Fatal> {
        let mut outcome = RunOutcome::Released;
        let mut message = String::new();
        let mut entry = Some(entry);
        'envs: for env in first..self.plan.environments.len() {
            let (mut start, mut pending) = match entry.take().unwrap_or(Entry::Fresh) {
                Entry::Fresh => {
                    // Nothing of `env` has run: another run's lock, a hold or a
                    // freeze keeps the run out (it may wait), as does a changed artifact.
                    let baseline = match self.admit(env).await {
                        Ok(super::admission::Admitted::Go(baseline)) => baseline,
                        Ok(super::admission::Admitted::Refused(why)) => {
                            outcome = RunOutcome::Failed;
                            message = why;
                            break 'envs;
                        }
                        Err(Stop::Fatal(f)) => return Err(f),
                        Err(stop) => {
                            outcome = RunOutcome::Aborted;
                            let name = &self.plan.environments[env].name;
                            message = match stop {
                                Stop::Abort { reason } | Stop::Rollback { reason } => {
                                    format!("aborted while waiting for {name}: {reason}")
                                }
                                _ => format!("stopped while waiting for {name}"),
                            };
                            break 'envs;
                        }
                    };
                    if let Some(why) = self.verify_artifacts(env).await? {
                        outcome = RunOutcome::Failed;
                        message = why;
                        break 'envs;
                    }
                    if let Some(baseline) = baseline {
                        self.describe_change(env, baseline).await?;
                    }
                    // Nothing is done inside the environment before a
                    // record that is waited for, or `commit` before a
                    // process starts: it rides on that one's fsync.
                    self.emit_as(Event::EnvStarted { env }, Durable::Lazy)?;
                    (0, None)
                }
                Entry::At(step) => {
                    self.reenter(env).await?;
                    (step, None)
                }
                Entry::RollBack {
                    trigger,
                    reason,
                    resume,
                } => {
                    self.reenter(env).await?;
                    (0, Some((trigger, reason, resume)))
                }
            };
            loop {
                let (trigger, reason, resume) = match pending.take() {
                    Some(p) => p,
                    None => match self.run_env(env, start).await {
                        Ok(()) => {
                            self.emit(Event::EnvFinished {
                                env,
                                outcome: EnvOutcome::Deployed,
                            })?;
                            self.leave(env).await?;
                            continue 'envs;
                        }
                        Err(Stop::Fatal(f)) => return Err(f),
                        Err(stop) => {
                            let (trigger, reason) = self.stop_trigger(env, stop)?;
                            (trigger, reason, false)
                        }
                    },
                };
                let name = self.plan.environments[env].name.clone();
                let run_outcome = super::resume::outcome_of(&trigger);
                match self
                    .rollback_env(env, trigger, reason.clone(), resume)
                    .await?
                {
                    RollbackEnd::RollForward { from } => {
                        start = from;
                        continue;
                    }
                    RollbackEnd::RolledBack => {
                        outcome = run_outcome;
                        let how = self.state.envs[env].rolled_back();
                        message = format!("{name} {how}: {reason}");
                    }
                    RollbackEnd::Held(why) => {
                        outcome = RunOutcome::Held;
                        message = format!("{name} held: {why}");
                    }
                }
                break 'envs;
            }
        }
        self.finish(outcome, message).await
    }

    /// Journals the run's end (worded from its outcome when `message` is
    /// empty), lets the clients that hold the end finish with it, and
    /// lingers if asked to.
    pub(super) async fn finish(
        &mut self,
        outcome: RunOutcome,
        mut message: String,
    ) -> Result<(), Fatal> {
        if outcome == RunOutcome::Released {
            message = format!(
                "{} {} released to {}",
                self.plan.release.name,
                self.plan.release.version,
                self.plan
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        self.leave_all().await?;
        self.emit(Event::RunFinished { outcome, message })?;
        self.settle().await;
        if self.opts.linger {
            self.linger().await?;
        }
        Ok(())
    }

    /// The rollback trigger and its one-line reason for why a walk stopped.
    fn stop_trigger(&self, env: usize, stop: Stop) -> Result<(Trigger, String), Fatal> {
        Ok(match stop {
            Stop::Abort { reason } => (Trigger::Abort, format!("aborted: {reason}")),
            Stop::Rollback { reason } => (Trigger::Manual, reason),
            Stop::StepFailed { step, message } => (
                Trigger::StepFailed { step },
                format!("{} failed: {message}", self.step(env, step).label),
            ),
            Stop::GateRejected { step, gate, reason } => (
                Trigger::GateRejected {
                    step,
                    gate: gate.clone(),
                },
                format!("gate {gate} rejected: {reason}"),
            ),
            Stop::GateFailed { step, gate, reason } => (
                Trigger::GateFailed {
                    step,
                    gate: gate.clone(),
                },
                format!("gate {gate} failed: {reason}"),
            ),
            Stop::AnalysisFailed {
                step,
                analysis,
                reason,
            } => (
                Trigger::AnalysisFailed {
                    step,
                    analysis: analysis.clone(),
                },
                format!("analysis {analysis} failed: {reason}"),
            ),
            Stop::AnalysisInconclusive {
                step,
                analysis,
                reason,
            } => (
                Trigger::AnalysisInconclusive {
                    step,
                    analysis: analysis.clone(),
                },
                format!("analysis {analysis} inconclusive: {reason}"),
            ),
            Stop::Fatal(f) => return Err(f),
        })
    }

    /// After the run: answer commands (late rollbacks, notes) until told to stop.
    pub(super) async fn linger(&mut self) -> Result<(), Fatal> {
        while self.cmds_open {
            let Some(cmd) = self.cmds.recv().await else {
                self.cmds_open = false;
                break;
            };
            match self.on_command(cmd, &Ctx::Finished)? {
                Some(Wake::Shutdown) => break,
                Some(Wake::RollbackEnv { env, reason }) => {
                    self.rollback_after_release(env, Trigger::Manual, reason, false)
                        .await?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Undoes a deployed environment after the run ended, and ends the run again.
    pub(super) async fn rollback_after_release(
        &mut self,
        env: usize,
        trigger: Trigger,
        reason: String,
        resume: bool,
    ) -> Result<(), Fatal> {
        let name = self.plan.environments[env].name.clone();
        let (outcome, message) = match self
            .rollback_env(env, trigger, reason.clone(), resume)
            .await?
        {
            RollbackEnd::RolledBack => (
                RunOutcome::RolledBack,
                format!(
                    "{name} {} after release: {reason}",
                    self.state.envs[env].rolled_back()
                ),
            ),
            RollbackEnd::Held(why) => (RunOutcome::Held, format!("{name} held: {why}")),
            // Rolling forward after a release means keeping what is deployed.
            RollbackEnd::RollForward { .. } => {
                self.emit(Event::EnvFinished {
                    env,
                    outcome: EnvOutcome::Deployed,
                })?;
                (
                    RunOutcome::Released,
                    format!("{name} kept on {}", self.plan.release.version),
                )
            }
        };
        // A recovery may come here with a lock its dead engine kept.
        self.leave_all().await?;
        self.emit(Event::RunFinished { outcome, message })?;
        self.settle().await;
        Ok(())
    }

    async fn run_env(&mut self, env: usize, start: usize) -> Result<(), Stop> {
        for step in start..self.steps[env].len() {
            if self.resuming.is_some_and(|r| r != (env, step)) {
                self.resuming = None;
            }
            // `promote --full` skips to the rollout's last step (the
            // skipped steps are in its record).
            match self.skip_to {
                Some((e, to)) if e == env && step < to => continue,
                Some(_) => self.skip_to = None,
                None => {}
            }
            self.safe_point(env, step).await?;
            // A hold or freeze that began since the run entered stops it here.
            self.stay_out(env).await?;
            match self.step(env, step).kind.clone() {
                StepKind::Run(spec) => self.run_step(env, step, &spec).await?,
                StepKind::Gate { gate } => self.gate(env, step, gate).await?,
                StepKind::Analysis { analysis, window } => {
                    self.analysis_step(env, step, analysis, window).await?
                }
                StepKind::Checks { checks, role } => {
                    self.checks_step(env, step, &checks, role).await?
                }
                StepKind::Pause { wait } => {
                    self.emit(Event::StepStarted {
                        env,
                        step,
                        attempt: 1,
                    })?;
                    let began = std::time::Instant::now();
                    self.timer(env, step, wait).await?;
                    let (duration_ms, message) = if self.promoted.take() == Some((env, step)) {
                        (began.elapsed().as_millis() as u64, "promoted early".into())
                    } else {
                        (wait.as_millis() as u64, "pause over".into())
                    };
                    self.emit(Event::StepFinished {
                        env,
                        step,
                        attempt: 1,
                        status: StepStatus::Succeeded,
                        exit_code: None,
                        duration_ms,
                        message,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Between steps: if a pause was asked for, stop here until resumed.
    async fn safe_point(&mut self, env: usize, step: usize) -> Result<(), Stop> {
        if !self.state.pause_requested {
            return Ok(());
        }
        self.emit(Event::Paused {
            env: Some(env),
            step: Some(step),
        })?;
        self.wait_while_paused(env, None).await
    }

    /// Answers commands until a resume; abort and rollback still work while paused.
    pub(super) async fn wait_while_paused(
        &mut self,
        env: usize,
        gate: Option<&super::commands::GateCtx>,
    ) -> Result<(), Stop> {
        while self.state.pause_requested {
            let Some(cmd) = self.next_command().await else {
                // Nobody can resume this run any more: hold it where it is, safely.
                return Err(Stop::Abort {
                    reason: "paused and every client has gone".into(),
                });
            };
            if let Some(Wake::Stop(stop)) = self.on_command(cmd, &Ctx::InEnv { env, gate })? {
                return Err(stop);
            }
        }
        Ok(())
    }

    pub(super) async fn next_command(&mut self) -> Option<super::Command> {
        if !self.cmds_open {
            return None;
        }
        let c = self.cmds.recv().await;
        if c.is_none() {
            self.cmds_open = false;
        }
        c
    }

    async fn run_step(&mut self, env: usize, step: usize, spec: &RunSpec) -> Result<(), Stop> {
        let stage = self.plan.stages[spec.stage].clone();
        // After a crash the attempts go on counting: the interrupted one was an attempt.
        let mut attempt = if self.resuming == Some((env, step)) {
            self.state.envs[env].steps[step].attempts + 1
        } else {
            1
        };
        loop {
            self.emit(Event::StepStarted { env, step, attempt })?;
            let r = self
                .exec(Exec {
                    env,
                    step,
                    command: &spec.command,
                    stage: Some(spec.stage),
                    vars: &spec.vars,
                    timeout: stage.timeout,
                    rollback: false,
                    attempt,
                    verify: false,
                })
                .await?;
            // Whatever the engine does next (the next step, a retry, a
            // rollback, the run's end) journals a record it must wait for
            // before acting, and one fsync covers both.
            self.emit_as(
                Event::StepFinished {
                    env,
                    step,
                    attempt,
                    status: r.status,
                    exit_code: r.exit_code,
                    duration_ms: r.duration_ms,
                    message: r.message.clone(),
                },
                Durable::Lazy,
            )?;
            if let Some(stop) = r.interrupted {
                return Err(stop);
            }
            if r.status == StepStatus::Succeeded {
                return Ok(());
            }
            if attempt > stage.retries {
                let tries = if attempt > 1 {
                    format!(" after {attempt} attempts")
                } else {
                    String::new()
                };
                return Err(Stop::StepFailed {
                    step,
                    message: format!("{}{tries}", r.message),
                });
            }
            let delay = super::backoff::backoff(stage.backoff, attempt);
            self.emit(Event::RetryScheduled {
                env,
                step,
                next_attempt: attempt + 1,
                delay_ms: delay.as_millis() as u64,
            })?;
            if let Some(stop) = self.wait_for(delay, env, false).await? {
                return Err(stop);
            }
            attempt += 1;
        }
    }
}
