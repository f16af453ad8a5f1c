//! `promote`, `promote --full` and `weight N`: people steering a rollout
//! past its plan. Each is an approval-grade decision (the environment's
//! approval policy, four-eyes included, decides who may), needs a reason,
//! and is journaled as its own record before the engine acts on it.
//!
//! They act on the pause or soak being waited out (`Engine::timed`): a
//! running command is never cut short by them, and a manual gate is
//! passed by approving it, not by promoting.

use super::commands::{Ctx, Wake};
use super::event::{Actor, Event, StepStatus};
use super::exec::Exec;
use super::{Engine, Fatal, Stop};
use crate::plan::Strategy;

/// The weights `weight N` accepts: 0 is a rollback and 100 is `promote --full`.
pub const WEIGHTS: std::ops::RangeInclusive<u32> = 1..=99;

type Answer = Result<Result<(String, Option<Wake>), String>, Fatal>;

impl Engine {
    /// Whether a rollout step (a canary weight or a rolling batch) is step `i` of `env`.
    fn is_rollout_step(&self, env: usize, i: usize) -> bool {
        self.steps[env][i].run().is_some_and(|r| {
            r.vars
                .iter()
                .any(|(k, _)| k == "SLATE_WEIGHT" || k == "SLATE_BATCH")
        })
    }

    /// The pause or soak of `ctx`'s environment being waited out, or why
    /// there is nothing to promote; and whether `actor` may decide here.
    fn promotable(
        &self,
        actor: &Actor,
        what: &str,
        ctx: &Ctx<'_>,
    ) -> Result<(usize, usize), String> {
        let env = match ctx {
            Ctx::InEnv { gate: Some(g), .. } => {
                return Err(format!(
                    "gate {} waits for an approval: approve it ({what} ends a pause or soak)",
                    g.name
                ));
            }
            Ctx::InEnv { env, .. } => *env,
            Ctx::RollingBack | Ctx::Blocked { .. } => {
                return Err("a rollback is under way".into());
            }
            Ctx::Finished => return Err("the run has finished".into()),
        };
        let Some((e, step)) = self.timed.filter(|(e, _)| *e == env) else {
            return Err(format!(
                "nothing to {what}: no pause or soak is being waited out (a step is running)"
            ));
        };
        let policy = &self.plan.environments[e];
        if let Some(why) = super::policy::refusal(
            &policy.approval,
            &policy.name,
            super::policy::Who::of(actor),
            &self.state.started_by,
        ) {
            return Err(format!("{why} ({what} is decided like an approval)"));
        }
        Ok((e, step))
    }

    pub(super) fn decide_promote(
        &mut self,
        actor: &Actor,
        full: bool,
        reason: String,
        missing: Option<&'static str>,
        ctx: &Ctx<'_>,
    ) -> Answer {
        if let Some(why) = missing {
            return Ok(Err(why.into()));
        }
        let what = if full { "promote --full" } else { "promote" };
        let (env, step) = match self.promotable(actor, what, ctx) {
            Ok(at) => at,
            Err(why) => return Ok(Err(why)),
        };
        let mut skipped = Vec::new();
        if full {
            let last = (step + 1..self.steps[env].len())
                .rev()
                .find(|&i| self.is_rollout_step(env, i));
            let Some(last) = last else {
                return Ok(Err(
                    "nothing to skip: the rollout is at its last step; use promote".into(),
                ));
            };
            skipped = (step + 1..last).collect();
            self.skip_to = Some((env, last));
        }
        self.emit(Event::Promoted {
            env,
            step,
            full,
            actor: actor.clone(),
            reason: reason.trim().to_string(),
            skipped: skipped.clone(),
        })?;
        self.promoted = Some((env, step));
        let label = &self.steps[env][step].label;
        let msg = if full {
            let last = self.skip_to.map_or(step, |(_, l)| l);
            format!(
                "promoted: {label} ends now; skipping {} step(s) to {}",
                skipped.len(),
                self.steps[env][last].label
            )
        } else {
            format!("promoted: {label} ends now")
        };
        Ok(Ok((msg, Some(Wake::Promoted))))
    }

    pub(super) fn decide_weight(
        &mut self,
        actor: &Actor,
        weight: u32,
        reason: String,
        missing: Option<&'static str>,
        ctx: &Ctx<'_>,
    ) -> Answer {
        if let Some(why) = missing {
            return Ok(Err(why.into()));
        }
        if !WEIGHTS.contains(&weight) {
            return Ok(Err(format!(
                "weight {weight} is out of range: give 1 to 99 (0 is a rollback, 100 is promote --full)"
            )));
        }
        if let Ctx::InEnv { env, .. } = ctx
            && !matches!(
                self.plan.environments[*env].strategy,
                Strategy::Canary { .. }
            )
        {
            let e = &self.plan.environments[*env];
            return Ok(Err(format!(
                "weight applies to a canary; {} rolls out {}",
                e.name,
                e.strategy.name()
            )));
        }
        let (env, step) = match self.promotable(actor, "weight", ctx) {
            Ok(at) => at,
            Err(why) => return Ok(Err(why)),
        };
        let canary = (0..step).rev().find(|&i| {
            self.is_rollout_step(env, i)
                && self.state.envs[env].steps[i].state == super::state::StepState::Succeeded
        });
        let Some(canary) = canary else {
            return Ok(Err("no canary step has run yet in this environment".into()));
        };
        self.emit(Event::WeightHeld {
            env,
            step,
            canary,
            weight,
            actor: actor.clone(),
            reason: reason.trim().to_string(),
        })?;
        Ok(Ok((
            format!("setting the canary to {weight}% and holding it until promoted"),
            Some(Wake::Weight { canary, weight }),
        )))
    }

    /// Runs the canary's rollout command with `SLATE_WEIGHT=weight`, then
    /// waits (answering commands) until someone promotes, sets another
    /// weight, aborts or rolls back. A failed command fails the canary step.
    pub(super) async fn hold_weight(
        &mut self,
        env: usize,
        mut canary: usize,
        mut weight: u32,
    ) -> Result<Option<Stop>, Fatal> {
        let timed = self.timed;
        loop {
            let Some(spec) = self.steps[env][canary].run().cloned() else {
                return Ok(None);
            };
            let vars: Vec<(String, String)> = spec
                .vars
                .iter()
                .map(|(k, v)| match k.as_str() {
                    "SLATE_WEIGHT" => (k.clone(), weight.to_string()),
                    _ => (k.clone(), v.clone()),
                })
                .collect();
            // While the command runs nothing is being waited out.
            self.timed = None;
            let r = self
                .exec(Exec {
                    env,
                    step: canary,
                    command: &spec.command,
                    stage: Some(spec.stage),
                    vars: &vars,
                    timeout: self.plan.stages[spec.stage].timeout,
                    rollback: false,
                    attempt: self.state.envs[env].steps[canary].attempts + 1,
                    verify: false,
                })
                .await?;
            self.timed = timed;
            if let Some(stop) = r.interrupted {
                return Ok(Some(stop));
            }
            if r.status != StepStatus::Succeeded {
                return Ok(Some(Stop::StepFailed {
                    step: canary,
                    message: format!("setting the weight to {weight}%: {}", r.message),
                }));
            }
            // Held: only a person ends this.
            loop {
                let Some(cmd) = self.next_command().await else {
                    return Ok(Some(Stop::Abort {
                        reason: format!("held at {weight}% and every client has gone"),
                    }));
                };
                match self.on_command(cmd, &Ctx::InEnv { env, gate: None })? {
                    Some(Wake::Stop(stop)) => return Ok(Some(stop)),
                    Some(Wake::Promoted) => return Ok(None),
                    Some(Wake::Weight {
                        canary: c,
                        weight: w,
                    }) => {
                        (canary, weight) = (c, w);
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
}
