//! How the engine answers each command, given what it is doing right now.
//!
//! Every decision is journaled — including refusals — so the record shows not
//! only what happened but what was asked and why it was turned down.

use super::command::{Action, Command, Instruction, NOTIFIER};
use super::event::{Actor, ApprovalSource, EnvOutcome, Event, RollbackChoice};
use super::state::{EnvStatus, RunStatus};
use super::{Engine, Fatal, Stop};

/// A manual gate that is waiting for approvals.
pub(super) struct GateCtx {
    pub step: usize,
    pub name: String,
    pub required: u32,
    pub require_comment: bool,
}

/// What the engine is doing while it waits for something.
pub(super) enum Ctx<'a> {
    /// Walking environment `env` forward (a step runs, a timer or gate waits, or it is paused).
    InEnv {
        env: usize,
        gate: Option<&'a GateCtx>,
    },
    RollingBack,
    Blocked {
        env: usize,
        step: usize,
        choices: &'a [RollbackChoice],
    },
    Finished,
}

/// What a command changed for the code that is waiting.
pub(super) enum Wake {
    Stop(Stop),
    GateApproved,
    GateRejected {
        reason: String,
    },
    PauseRequested,
    Resumed,
    Decision {
        choice: RollbackChoice,
        actor: Actor,
        note: String,
    },
    RollbackEnv {
        env: usize,
        reason: String,
    },
    /// The pause or soak being waited out ends now (`promote`).
    Promoted,
    /// Set the canary (step `canary`) to `weight` and hold it (`weight N`).
    Weight {
        canary: usize,
        weight: u32,
    },
    Shutdown,
    /// Stop waiting for a decision: the engine was told to stop.
    Terminate,
    /// A break-glass waiting for a second person was approved or rejected:
    /// ask for the environment again now.
    GlassDecided,
}

impl Engine {
    pub(super) fn on_command(
        &mut self,
        cmd: Command,
        ctx: &Ctx<'_>,
    ) -> Result<Option<Wake>, Fatal> {
        let Command {
            actor,
            instruction,
            reply,
        } = cmd;
        let described = instruction.describe();
        let answer = match instruction {
            Instruction::Client(action) => self.decide(&actor, action, ctx)?,
            Instruction::RecordNotification(delivered) => {
                // Whatever the engine is doing: a delivery is a fact to journal.
                if actor.via != NOTIFIER {
                    Err("only the notifier records notifications".into())
                } else {
                    self.emit(delivered.into_event())?;
                    Ok(("notification recorded".into(), None))
                }
            }
            Instruction::Shutdown => {
                if matches!(ctx, Ctx::Finished) {
                    Ok(("shutting down".into(), Some(Wake::Shutdown)))
                } else {
                    Err("the run is still active".into())
                }
            }
            Instruction::Terminate { reason } => self.terminate(&actor, reason, ctx)?,
            Instruction::Refuse { reason, .. } => Err(reason),
        };
        let (reply_value, wake) = match answer {
            Ok((msg, wake)) => (Ok(msg), wake),
            Err(reason) => {
                self.emit(Event::CommandRefused {
                    actor,
                    command: described,
                    reason: reason.clone(),
                })?;
                (Err(reason), None)
            }
        };
        if let Some(tx) = reply {
            let _ = tx.send(reply_value);
        }
        Ok(wake)
    }

    fn decide(
        &mut self,
        actor: &Actor,
        action: Action,
        ctx: &Ctx<'_>,
    ) -> Result<Result<(String, Option<Wake>), String>, Fatal> {
        let finished = matches!(ctx, Ctx::Finished);
        // The text a command must carry (an approval's comment when the
        // waiting gate's policy asks for one); each refusal below says so at
        // the point where it always has.
        let comment_required = matches!(ctx, Ctx::InEnv { gate: Some(g), .. } if g.require_comment);
        let missing = action.missing_text(comment_required);
        Ok(match action {
            Action::Note { text } => {
                let text = text.trim().to_string();
                if let Some(why) = missing {
                    Err(why.into())
                } else {
                    self.emit(Event::NoteAdded {
                        actor: actor.clone(),
                        text,
                    })?;
                    Ok(("note added".into(), None))
                }
            }
            Action::Pause => {
                if finished {
                    Err("the run has finished; there is nothing to pause".into())
                } else if matches!(ctx, Ctx::RollingBack | Ctx::Blocked { .. }) {
                    Err("a rollback is not paused half-way; it runs to the end".into())
                } else if self.state.pause_requested {
                    Ok(("already pausing".into(), None))
                } else {
                    self.emit(Event::PauseRequested {
                        actor: actor.clone(),
                        reason: None,
                    })?;
                    Ok((
                        "pausing at the next safe point".into(),
                        Some(Wake::PauseRequested),
                    ))
                }
            }
            Action::Resume => {
                if !self.state.pause_requested && self.state.status != RunStatus::Paused {
                    Err("the run is not paused".into())
                } else {
                    self.emit(Event::Resumed {
                        actor: actor.clone(),
                    })?;
                    Ok(("resumed".into(), Some(Wake::Resumed)))
                }
            }
            Action::Abort { reason } => match ctx {
                Ctx::InEnv { env, .. } => match missing {
                    Some(why) => Err(why.into()),
                    None => Ok(self.abort_env(actor, *env, reason)?),
                },
                Ctx::RollingBack | Ctx::Blocked { .. } => {
                    Err("a rollback is already under way".into())
                }
                Ctx::Finished => {
                    Err("the run has finished; use rollback to undo an environment".into())
                }
            },
            Action::Rollback { env, reason } => {
                self.decide_rollback(actor, env, reason, missing, ctx)?
            }
            Action::Retry => match ctx {
                Ctx::Blocked { env, step, choices } if choices.contains(&RollbackChoice::Retry) => {
                    self.emit(Event::RetryRequested {
                        env: *env,
                        step: *step,
                        actor: actor.clone(),
                    })?;
                    Ok((
                        "retrying the step".into(),
                        Some(Wake::Decision {
                            choice: RollbackChoice::Retry,
                            actor: actor.clone(),
                            note: String::new(),
                        }),
                    ))
                }
                Ctx::Blocked { choices, .. } => Err(format!(
                    "this step cannot be retried; choose {}",
                    choices
                        .iter()
                        .map(|c| c.word())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => Err("nothing to retry: no step is waiting after a failure".into()),
            },
            // "decide retry" is the retry command by another name, with the same record.
            Action::Decide {
                choice: RollbackChoice::Retry,
                ..
            } => return self.decide(actor, Action::Retry, ctx),
            Action::Decide { choice, note } => match ctx {
                Ctx::Blocked { env, step, choices } if choices.contains(&choice) => {
                    // Said with what blocked the rollback; the rule is `missing_text`'s.
                    if missing.is_some() {
                        Err(self.force_needs_a_note(*env, *step))
                    } else {
                        Ok((
                            format!("decision recorded: {}", choice.word()),
                            Some(Wake::Decision {
                                choice,
                                actor: actor.clone(),
                                note,
                            }),
                        ))
                    }
                }
                Ctx::Blocked { choices, .. } => Err(format!(
                    "`{}` is not one of the choices here ({})",
                    choice.word(),
                    choices
                        .iter()
                        .map(|c| c.word())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => Err("nothing is waiting for a decision".into()),
            },
            Action::Approve { gate, comment } if self.glass_asked(gate.as_deref()) => {
                self.decide_glass(actor, Ok(comment))?
            }
            Action::Reject { gate, reason } if self.glass_asked(gate.as_deref()) => match missing {
                Some(why) => Err(why.into()),
                None => self.decide_glass(actor, Err(reason))?,
            },
            Action::Approve { gate, comment } => {
                self.decide_approve(actor, gate, comment, missing, ctx)?
            }
            Action::Promote { full, reason } => {
                self.decide_promote(actor, full, reason, missing, ctx)?
            }
            Action::BreakGlass { reason } => match missing {
                Some(why) => Err(why.into()),
                None => self.decide_break_glass(actor, reason)?,
            },
            Action::Weight { weight, reason } => {
                self.decide_weight(actor, weight, reason, missing, ctx)?
            }
            Action::Reject { gate, reason } => match ctx {
                Ctx::InEnv { env, gate: Some(g) }
                    if gate.as_deref().is_none_or(|n| n == g.name) =>
                {
                    if let Some(why) = missing {
                        Err(why.into())
                    } else {
                        self.emit(Event::Rejected {
                            env: *env,
                            step: g.step,
                            gate: g.name.clone(),
                            actor: actor.clone(),
                            reason: reason.clone(),
                        })?;
                        Ok((
                            format!("rejected {}", g.name),
                            Some(Wake::GateRejected { reason }),
                        ))
                    }
                }
                _ => Err(not_waiting(gate.as_deref(), ctx)),
            },
        })
    }

    /// Why `force` without a note is refused, in the words of what blocks:
    /// a step whose undo failed, or an irreversible one not yet undone.
    fn force_needs_a_note(&self, env: usize, step: usize) -> String {
        let undo_failed = self.state.envs[env].steps[step]
            .undo
            .as_ref()
            .is_some_and(|u| u.state == super::state::UndoState::Failed);
        if undo_failed {
            "forcing a rollback past a step whose undo failed needs a note (--note): say what was checked or done by hand".into()
        } else {
            "forcing a rollback past an irreversible step needs an acknowledgement note (--note)"
                .into()
        }
    }

    fn decide_approve(
        &mut self,
        actor: &Actor,
        gate: Option<String>,
        comment: String,
        missing: Option<&'static str>,
        ctx: &Ctx<'_>,
    ) -> Result<Result<(String, Option<Wake>), String>, Fatal> {
        let Ctx::InEnv { env, gate: Some(g) } = ctx else {
            return Ok(Err(not_waiting(gate.as_deref(), ctx)));
        };
        if gate.as_deref().is_some_and(|n| n != g.name) {
            return Ok(Err(not_waiting(gate.as_deref(), ctx)));
        }
        let env = *env;
        let e = &self.plan.environments[env];
        if let Some(why) = super::policy::refusal(
            &e.approval,
            &e.name,
            super::policy::Who::of(actor),
            &self.state.started_by,
        ) {
            return Ok(Err(why));
        }
        if let Some(why) = missing {
            return Ok(Err(why.into()));
        }
        let already = self.state.envs[env]
            .approvals
            .iter()
            .any(|a| a.gate == g.name && a.step == g.step && a.user == actor.user);
        if already {
            return Ok(Err(format!(
                "{} has already approved {}",
                actor.user, g.name
            )));
        }
        self.emit(Event::Approved {
            env,
            step: g.step,
            gate: g.name.clone(),
            actor: actor.clone(),
            comment: comment.trim().to_string(),
            source: ApprovalSource::Operator,
        })?;
        let have = self.approvals_for(env, g.step, &g.name);
        if have >= g.required {
            Ok(Ok((
                format!("approved {}", g.name),
                Some(Wake::GateApproved),
            )))
        } else {
            Ok(Ok((
                format!("approved {} ({have} of {})", g.name, g.required),
                None,
            )))
        }
    }

    /// Someone asks to break the glass now (the cockpit's `B`): only past
    /// a freeze or a person's hold that keeps the run out (or stops it at a
    /// safe point), by the same policy as `--break-glass`.
    fn decide_break_glass(
        &mut self,
        actor: &Actor,
        reason: String,
    ) -> Result<Result<(String, Option<Wake>), String>, Fatal> {
        use super::admission::{BarrierKind, Glass};
        let Some(h) = self.state.held_back.clone() else {
            return Ok(Err(match &self.state.glass_wait {
                Some(w) => format!(
                    "a break-glass into {} already waits for a second person's approval",
                    self.plan.environments[w.env].name
                ),
                None => "no freeze or hold keeps the run out: there is no glass to break".into(),
            }));
        };
        if !matches!(h.barrier.kind, BarrierKind::Freeze | BarrierKind::Hold) {
            return Ok(Err(format!(
                "a break-glass crosses a freeze or a person's hold, never this: {}",
                h.barrier.message
            )));
        }
        let reason = reason.trim().to_string();
        let name = self.plan.environments[h.env].name.clone();
        Ok(
            match self.ask_break_glass(h.env, &h.barrier, actor.clone(), reason)? {
                Glass::Crossed => Ok((
                    format!("BREAK-GLASS into {name}: crossing"),
                    Some(Wake::GlassDecided),
                )),
                Glass::Waiting => Ok((
                    format!(
                        "break-glass into {name} asked for: it waits for a second person's approval"
                    ),
                    Some(Wake::GlassDecided),
                )),
                Glass::Refused(why) => Err(why),
                Glass::No => Err("the break-glass was not asked for".into()),
            },
        )
    }

    /// A break-glass waits for a second person and `gate` names it (or no gate).
    fn glass_asked(&self, gate: Option<&str>) -> bool {
        self.state.glass_wait.is_some()
            && gate.is_none_or(|g| g == super::state::admission::GLASS_GATE)
    }

    /// The second person's answer to the break-glass that waits: `Ok(comment)`
    /// approves it, `Err(reason)` rejects it. Only someone other than who
    /// asked for it, whom the break-glass policy allows, may approve it;
    /// they, or whoever asked, may reject it. A refusal is journaled by the caller.
    fn decide_glass(
        &mut self,
        actor: &Actor,
        answer: Result<String, String>,
    ) -> Result<Result<(String, Option<Wake>), String>, Fatal> {
        let Some(w) = self.state.glass_wait.clone() else {
            return Ok(Err("no break-glass is waiting for approval".into()));
        };
        let e = &self.plan.environments[w.env];
        let list = self.glass_list();
        let refusal = |what| {
            super::policy::glass_refusal(
                &list,
                &e.approval,
                &e.name,
                super::policy::Who::of(actor),
                what,
            )
        };
        let name = e.name.clone();
        match answer {
            Ok(comment) => {
                if actor.user == w.actor.user {
                    return Ok(Err(super::policy::glass_four_eyes(&name, &w.actor.user)));
                }
                if let Some(why) = refusal("approve a break-glass into") {
                    return Ok(Err(why));
                }
                self.emit(Event::BreakGlassApproved {
                    env: w.env,
                    actor: actor.clone(),
                    comment: comment.trim().to_string(),
                })?;
                self.emit(Event::BreakGlass {
                    env: w.env,
                    actor: w.actor.clone(),
                    reason: w.reason.clone(),
                    crossed: w.crossed.clone(),
                    approved_by: Some(actor.clone()),
                })?;
                Ok(Ok((
                    format!("approved the break-glass into {name}"),
                    Some(Wake::GlassDecided),
                )))
            }
            Err(reason) => {
                if actor.user != w.actor.user
                    && let Some(why) = refusal("reject a break-glass into")
                {
                    return Ok(Err(why));
                }
                self.glass_refused.push(w.env);
                self.emit(Event::BreakGlassRejected {
                    env: w.env,
                    actor: actor.clone(),
                    reason: reason.trim().to_string(),
                })?;
                Ok(Ok((
                    format!("rejected the break-glass into {name}"),
                    Some(Wake::GlassDecided),
                )))
            }
        }
    }

    /// Journals the abort of the environment in progress and stops its walk.
    fn abort_env(
        &mut self,
        actor: &Actor,
        env: usize,
        reason: String,
    ) -> Result<(String, Option<Wake>), Fatal> {
        self.emit(Event::AbortRequested {
            actor: actor.clone(),
            reason: reason.clone(),
        })?;
        let name = &self.plan.environments[env].name;
        Ok((
            format!("aborting {name}: stopping and rolling back"),
            Some(Wake::Stop(Stop::Abort { reason })),
        ))
    }

    /// The engine's process was told to stop (see [`Instruction::Terminate`]).
    fn terminate(
        &mut self,
        actor: &Actor,
        reason: String,
        ctx: &Ctx<'_>,
    ) -> Result<Result<(String, Option<Wake>), String>, Fatal> {
        Ok(match ctx {
            Ctx::InEnv { env, .. } => Ok(self.abort_env(actor, *env, reason)?),
            Ctx::RollingBack => {
                self.terminating = Some(reason);
                Ok((
                    "a rollback is under way: it finishes, and any decision it needs is taken the safe way (hold)".into(),
                    None,
                ))
            }
            Ctx::Blocked { .. } => {
                self.terminating = Some(reason);
                Ok((
                    "nobody will decide now: taking the safe choice without waiting (a blocked rollback is held, an interrupted step rolled back)".into(),
                    Some(Wake::Terminate),
                ))
            }
            Ctx::Finished => Ok((
                "the run is over: shutting down".into(),
                Some(Wake::Shutdown),
            )),
        })
    }

    pub(super) fn approvals_for(&self, env: usize, step: usize, gate: &str) -> u32 {
        let mut users: Vec<&str> = self.state.envs[env]
            .approvals
            .iter()
            .filter(|a| a.gate == gate && a.step == step)
            .map(|a| a.user.as_str())
            .collect();
        users.sort_unstable();
        users.dedup();
        users.len() as u32
    }

    fn decide_rollback(
        &mut self,
        actor: &Actor,
        target: Option<String>,
        reason: String,
        missing: Option<&'static str>,
        ctx: &Ctx<'_>,
    ) -> Result<Result<(String, Option<Wake>), String>, Fatal> {
        if let Some(why) = missing {
            return Ok(Err(why.into()));
        }
        let target = match &target {
            Some(name) => match self.plan.env_index(name) {
                Some(i) => Some(i),
                None => return Ok(Err(format!("there is no environment `{name}`"))),
            },
            None => None,
        };
        match ctx {
            Ctx::InEnv { env, .. } => {
                let env = *env;
                if target.is_some_and(|t| t != env) {
                    let name = &self.plan.environments[env].name;
                    return Ok(Err(format!(
                        "{name} is in progress; roll back {name} first (or abort) before undoing an earlier environment"
                    )));
                }
                self.emit(Event::RollbackRequested {
                    env,
                    actor: actor.clone(),
                    reason: reason.clone(),
                })?;
                let name = self.plan.environments[env].name.clone();
                Ok(Ok((
                    format!("rolling back {name}"),
                    Some(Wake::Stop(Stop::Rollback { reason })),
                )))
            }
            Ctx::RollingBack | Ctx::Blocked { .. } => {
                Ok(Err("a rollback is already under way".into()))
            }
            Ctx::Finished => {
                let deployed =
                    |i: usize| self.state.envs[i].status == EnvStatus::Done(EnvOutcome::Deployed);
                let env = match target {
                    Some(t) if deployed(t) => t,
                    Some(t) => {
                        return Ok(Err(format!(
                            "{} is not deployed with {}; nothing to roll back",
                            self.plan.environments[t].name, self.state.version
                        )));
                    }
                    None => match (0..self.state.envs.len()).rev().find(|&i| deployed(i)) {
                        Some(i) => i,
                        None => {
                            return Ok(Err(
                                "no environment is deployed; nothing to roll back".into()
                            ));
                        }
                    },
                };
                self.emit(Event::RollbackRequested {
                    env,
                    actor: actor.clone(),
                    reason: reason.clone(),
                })?;
                let name = self.plan.environments[env].name.clone();
                Ok(Ok((
                    format!("rolling back {name}"),
                    Some(Wake::RollbackEnv { env, reason }),
                )))
            }
        }
    }
}

fn not_waiting(gate: Option<&str>, ctx: &Ctx<'_>) -> String {
    let waiting = match ctx {
        Ctx::InEnv { gate: Some(g), .. } => Some(g.name.as_str()),
        _ => None,
    };
    match (gate, waiting) {
        (Some(asked), Some(w)) => format!("gate {asked} is not waiting (waiting: {w})"),
        (Some(asked), None) => format!("gate {asked} is not waiting; no gate is"),
        (None, _) => "no gate is waiting for a decision".into(),
    }
}
