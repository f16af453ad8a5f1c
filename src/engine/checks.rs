//! Running checks: smoke tests after a stage, health checks during a rollout,
//! the check of a check gate, and the check that verifies a rollback. Every
//! attempt is a `CheckResult` in the journal.

use std::time::Duration;

use super::event::{CheckRole, Event, StepStatus};
use super::exec::Exec;
use super::{Engine, Fatal, Stop};
use crate::plan::{Check, HttpCheck, template};
use crate::probe;

impl Engine {
    /// A `Checks` step: each named check in turn; the first that fails fails the step.
    pub(super) async fn checks_step(
        &mut self,
        env: usize,
        step: usize,
        checks: &[usize],
        role: CheckRole,
    ) -> Result<(), Stop> {
        self.emit(Event::StepStarted {
            env,
            step,
            attempt: 1,
        })?;
        let started = std::time::Instant::now();
        let mut outcome = Ok(());
        for &c in checks {
            let nc = self.plan.checks[c].clone();
            let r = self
                .check_with_retries(
                    env,
                    step,
                    &nc.name,
                    role,
                    &nc.check,
                    nc.retries,
                    nc.interval,
                )
                .await?;
            if let Err(why) = r {
                outcome = Err(format!("{} {}: {why}", role.word(), nc.name));
                break;
            }
        }
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, message) = match &outcome {
            Ok(()) => (
                StepStatus::Succeeded,
                format!("{} checks passed", checks.len()),
            ),
            Err(m) => (StepStatus::Failed, m.clone()),
        };
        self.emit(Event::StepFinished {
            env,
            step,
            attempt: 1,
            status,
            exit_code: None,
            duration_ms,
            message,
        })?;
        outcome.map_err(|message| Stop::StepFailed { step, message })
    }

    /// Runs a check until it passes or its retries are spent; the error is the last message.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn check_with_retries(
        &mut self,
        env: usize,
        step: usize,
        name: &str,
        role: CheckRole,
        check: &Check,
        retries: u32,
        interval: Duration,
    ) -> Result<Result<(), String>, Stop> {
        let mut last = String::new();
        for attempt in 1..=retries + 1 {
            let (ok, message, latency_ms, stop) = self.run_check(env, step, check, attempt).await?;
            self.emit(Event::CheckResult {
                env,
                step,
                check: name.to_string(),
                role,
                attempt,
                ok,
                latency_ms,
                message: message.clone(),
            })?;
            if let Some(stop) = stop {
                return Err(stop);
            }
            if ok {
                return Ok(Ok(()));
            }
            last = message;
            if attempt <= retries
                && let Some(stop) = self.wait_for(interval, env, false).await?
            {
                return Err(stop);
            }
        }
        if retries > 0 {
            last = format!("{last} ({} attempts)", retries + 1);
        }
        Ok(Err(last))
    }

    /// Runs one check: (passed, message, latency, interrupting command).
    pub(super) async fn run_check(
        &mut self,
        env: usize,
        step: usize,
        check: &Check,
        attempt: u32,
    ) -> Result<(bool, String, u64, Option<Stop>), Fatal> {
        let expanded = match self.expand_check(env, check) {
            Ok(c) => c,
            Err(e) => return Ok((false, e, 0, None)),
        };
        let p = match &expanded {
            Check::Command { command, timeout } => {
                let r = self
                    .exec(Exec {
                        env,
                        step,
                        command,
                        stage: None,
                        vars: &[],
                        timeout: *timeout,
                        rollback: false,
                        attempt,
                    })
                    .await?;
                let ok = r.status == StepStatus::Succeeded;
                let msg = if ok {
                    "check command passed".to_string()
                } else {
                    format!("check command {}", r.message)
                };
                return Ok((ok, msg, r.duration_ms, r.interrupted));
            }
            Check::Http(h) => probe::http(h).await,
            Check::Tcp { addr, timeout } => probe::tcp(addr, *timeout).await,
            Check::Alerts {
                prometheus,
                labels,
                timeout,
            } => probe::alerts(prometheus, labels, *timeout).await,
        };
        Ok((p.ok, p.message, p.latency_ms, None))
    }

    /// The check with this environment's `${...}` placeholders filled in.
    fn expand_check(&self, env: usize, check: &Check) -> Result<Check, String> {
        let e = &self.plan.environments[env];
        let r = &self.plan.release;
        let x = |s: &str| template::expand(s, e, r);
        Ok(match check {
            Check::Command { .. } => check.clone(),
            Check::Http(h) => Check::Http(HttpCheck {
                url: x(&h.url)?,
                headers: h
                    .headers
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), x(v)?)))
                    .collect::<Result<_, String>>()?,
                json: match &h.json {
                    Some((field, serde_json::Value::String(want))) => {
                        Some((field.clone(), serde_json::Value::String(x(want)?)))
                    }
                    other => other.clone(),
                },
                ..h.clone()
            }),
            Check::Tcp { addr, timeout } => Check::Tcp {
                addr: x(addr)?,
                timeout: *timeout,
            },
            Check::Alerts {
                prometheus,
                labels,
                timeout,
            } => Check::Alerts {
                prometheus: x(prometheus)?,
                labels: labels
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), x(v)?)))
                    .collect::<Result<_, String>>()?,
                timeout: *timeout,
            },
        })
    }
}
