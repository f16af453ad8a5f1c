//! Gates: manual approvals, timed soaks and checks that must pass (evidence
//! gates are in `evidence.rs`).

use std::time::Duration;

use jiff::Timestamp;

use super::commands::{Ctx, GateCtx, Wake};
use super::event::{ApprovalSource, CheckRole, Event};
use super::{Engine, Fatal, Stop, Unattended};
use crate::journal::Durable;
use crate::plan::{Check, GateKind};

impl Engine {
    pub(super) async fn gate(&mut self, env: usize, step: usize, gate: usize) -> Result<(), Stop> {
        let g = self.plan.gates[gate].clone();
        // A manual gate's next record is its wait, which is waited for: the
        // step's start rides on that fsync. Other gates act (a request, a
        // file read, a timer) and have it on disk first.
        let when = match g.kind {
            GateKind::Manual { .. } => Durable::Lazy,
            _ => Durable::Now,
        };
        self.emit_as(
            Event::StepStarted {
                env,
                step,
                attempt: 1,
            },
            when,
        )?;
        match &g.kind {
            GateKind::Manual {
                require_comment,
                approvals,
            } => {
                let policy = &self.plan.environments[env].approval;
                let ctx = GateCtx {
                    step,
                    name: g.name.clone(),
                    required: approvals.unwrap_or(policy.required),
                    require_comment: *require_comment || policy.require_comment,
                };
                self.manual_gate(env, ctx, g.timeout).await
            }
            GateKind::Soak { wait } => {
                self.timer(env, step, *wait).await?;
                self.emit(Event::GatePassed {
                    env,
                    step,
                    gate: g.name,
                })?;
                Ok(())
            }
            GateKind::Check {
                check,
                retries,
                interval,
            } => {
                self.check_gate(env, step, &g.name, check, *retries, *interval)
                    .await
            }
            GateKind::Evidence(spec) => {
                self.evidence_gate(env, step, &g.name, spec, g.timeout)
                    .await
            }
            GateKind::Analysis { analysis } => {
                let idx = self
                    .plan
                    .analyses
                    .iter()
                    .position(|a| &a.name == analysis)
                    .ok_or_else(|| Stop::Fatal(Fatal(format!("no analysis `{analysis}`"))))?;
                match self.analyze(env, step, idx, None).await {
                    Err(Stop::AnalysisFailed { reason, .. }) => {
                        return Err(self.fail_gate(env, step, &g.name, reason));
                    }
                    // The gate fails, and the rollback says it was for want of proof.
                    Err(Stop::AnalysisInconclusive {
                        step,
                        analysis,
                        reason,
                    }) => {
                        let why = format!("inconclusive: {reason}");
                        return Err(match self.fail_gate(env, step, &g.name, why) {
                            Stop::GateFailed { .. } => Stop::AnalysisInconclusive {
                                step,
                                analysis,
                                reason,
                            },
                            fatal => fatal,
                        });
                    }
                    r => r?,
                };
                self.emit(Event::GatePassed {
                    env,
                    step,
                    gate: g.name,
                })?;
                Ok(())
            }
        }
    }

    async fn manual_gate(
        &mut self,
        env: usize,
        g: GateCtx,
        timeout: Option<Duration>,
    ) -> Result<(), Stop> {
        // Re-entered after a crash: the gate has waited since it first did.
        let since = self
            .state
            .waiting
            .as_ref()
            .filter(|w| self.resuming == Some((env, g.step)) && w.env == env && w.step == g.step)
            .map(|w| w.since);
        self.emit(Event::GateWaiting {
            env,
            step: g.step,
            gate: g.name.clone(),
            required: g.required,
            require_comment: g.require_comment,
            timeout_ms: timeout.map(|t| t.as_millis() as u64),
            since,
        })?;
        // Approvals journaled before a crash still count.
        let mut approved = self.approvals_for(env, g.step, &g.name) >= g.required;
        let pre = if self.opts.pre_approved.contains(&g.name) {
            Some(ApprovalSource::PreApproved)
        } else if self.opts.auto_approve {
            Some(ApprovalSource::AutoApproved)
        } else {
            None
        };
        let four_eyes = self.plan.environments[env].approval.four_eyes;
        if !approved
            && four_eyes
            && let Some(source) = pre
        {
            // Four-eyes: only an approval at the gate, by someone else, counts.
            let how = match source {
                ApprovalSource::PreApproved => format!("pre-approve {}", g.name),
                _ => format!("auto-approve {}", g.name),
            };
            let reason = super::policy::pre_approval_refused(
                &self.plan.environments[env].name,
                &self.state.started_by,
            );
            self.emit(Event::CommandRefused {
                actor: self.opts.actor.clone(),
                command: how,
                reason,
            })?;
        } else if !approved && let Some(source) = pre {
            let how = match source {
                ApprovalSource::PreApproved => format!("pre-approved with --approve {}", g.name),
                _ => "approved with --auto-approve".to_string(),
            };
            self.emit(Event::Approved {
                env,
                step: g.step,
                gate: g.name.clone(),
                actor: self.opts.actor.clone(),
                comment: how,
                source,
            })?;
            self.emit(Event::GatePassed {
                env,
                step: g.step,
                gate: g.name,
            })?;
            return Ok(());
        }
        if !approved && self.opts.unattended == Unattended::FailClosed {
            let reason = if four_eyes {
                format!(
                    "manual gate {} needs an approval by someone other than {} (four-eyes) \
                     and nobody can give one in this mode",
                    g.name, self.state.started_by
                )
            } else {
                format!(
                    "manual gate {} needs a decision and nobody can give one in this mode; \
                     run again with --approve {} or --auto-approve",
                    g.name, g.name
                )
            };
            return Err(self.fail_gate(env, g.step, &g.name, reason));
        }
        let waited = since.map_or(Duration::ZERO, |s| {
            Duration::from_millis(Timestamp::now().duration_since(s).as_millis().max(0) as u64)
        });
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t.saturating_sub(waited));
        loop {
            if approved && !self.state.pause_requested {
                self.emit(Event::GatePassed {
                    env,
                    step: g.step,
                    gate: g.name.clone(),
                })?;
                return Ok(());
            }
            let cmd = tokio::select! {
                c = self.next_command() => c,
                _ = sleep_until_opt(deadline) => {
                    let reason = format!("no decision within {}", humantime::format_duration(timeout.unwrap_or_default()));
                    return Err(self.fail_gate(env, g.step, &g.name, reason));
                }
            };
            let Some(cmd) = cmd else {
                // Every client is gone: nobody can decide before the gate's own timeout.
                let reason = match timeout {
                    Some(t) => {
                        sleep_until_opt(deadline).await;
                        format!("no decision within {}", humantime::format_duration(t))
                    }
                    None => "every client disconnected from a gate that has no timeout".to_string(),
                };
                return Err(self.fail_gate(env, g.step, &g.name, reason));
            };
            match self.on_command(
                cmd,
                &Ctx::InEnv {
                    env,
                    gate: Some(&g),
                },
            )? {
                Some(Wake::GateApproved) => approved = true,
                Some(Wake::GateRejected { reason }) => {
                    return Err(Stop::GateRejected {
                        step: g.step,
                        gate: g.name,
                        reason,
                    });
                }
                Some(Wake::PauseRequested) => {
                    // A waiting gate is a safe point: the pause takes effect at once.
                    self.emit(Event::Paused {
                        env: Some(env),
                        step: Some(g.step),
                    })?;
                }
                Some(Wake::Stop(stop)) => return Err(stop),
                _ => {}
            }
        }
    }

    /// Journals a gate's failure and returns the stop that rolls the environment back.
    pub(super) fn fail_gate(
        &mut self,
        env: usize,
        step: usize,
        gate: &str,
        reason: String,
    ) -> Stop {
        if let Err(f) = self.emit(Event::GateFailed {
            env,
            step,
            gate: gate.to_string(),
            reason: reason.clone(),
        }) {
            return Stop::Fatal(f);
        }
        Stop::GateFailed {
            step,
            gate: gate.to_string(),
            reason,
        }
    }

    /// A soak or pause, journaled as start + length so a restart neither resets nor skips it.
    pub(super) async fn timer(
        &mut self,
        env: usize,
        step: usize,
        wait: Duration,
    ) -> Result<(), Stop> {
        // Re-entered after a crash: the timer keeps its start, and only what is left is waited.
        let resumed = self.state.envs[env].steps[step]
            .timer
            .filter(|(_, ms)| self.resuming == Some((env, step)) && *ms == wait.as_millis() as u64)
            .map(|(s, _)| s);
        let started = resumed.unwrap_or_else(Timestamp::now);
        self.emit(Event::TimerStarted {
            env,
            step,
            started,
            duration_ms: wait.as_millis() as u64,
        })?;
        let elapsed = Duration::from_millis(
            Timestamp::now().duration_since(started).as_millis().max(0) as u64,
        );
        // `promote` and `weight` act on this wait, and only while it lasts.
        self.timed = Some((env, step));
        let waited = self
            .wait_for(wait.saturating_sub(elapsed), env, false)
            .await;
        self.timed = None;
        if let Some(stop) = waited? {
            return Err(stop);
        }
        Ok(())
    }

    async fn check_gate(
        &mut self,
        env: usize,
        step: usize,
        gate: &str,
        check: &Check,
        retries: u32,
        interval: Duration,
    ) -> Result<(), Stop> {
        match self
            .check_with_retries(env, step, gate, CheckRole::Gate, check, retries, interval)
            .await?
        {
            Ok(()) => {
                self.emit(Event::GatePassed {
                    env,
                    step,
                    gate: gate.to_string(),
                })?;
                Ok(())
            }
            Err(why) => Err(self.fail_gate(env, step, gate, why)),
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
