//! Running checks: smoke tests after a stage, health checks during a rollout,
//! the check of a check gate, and the check that verifies a rollback. Every
//! attempt is a `CheckResult` in the journal.

use std::time::Duration;

use super::commands::{Ctx, Wake};
use super::event::{CheckRole, Event, StepStatus};
use super::exec::Exec;
use super::{Engine, Fatal, Stop};
use crate::plan::Check;
use crate::plan::template;
use crate::probe;

/// Where a check runs: a step of the walk, or the verification of a
/// rollback, which belongs to the rollback and to no step.
#[derive(Debug, Clone, Copy)]
pub(super) enum At {
    Step(usize),
    Verify,
}

/// One run of a check.
pub(super) struct CheckRun {
    pub ok: bool,
    /// One line; it names no command text.
    pub message: String,
    pub latency_ms: u64,
    /// A command that stopped the check (an abort, a rollback).
    pub stop: Option<Stop>,
    /// The last lines a verification's command printed (see `Exec::verify`).
    pub output: Vec<String>,
}

impl CheckRun {
    fn done(ok: bool, message: String, latency_ms: u64) -> CheckRun {
        CheckRun {
            ok,
            message,
            latency_ms,
            stop: None,
            output: Vec::new(),
        }
    }
}

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
            let CheckRun {
                ok,
                message,
                latency_ms,
                stop,
                ..
            } = self.run_check(env, At::Step(step), check, attempt).await?;
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

    /// Runs one check. A probe is awaited while commands are still answered,
    /// so an abort is never stuck behind a slow endpoint or a waiting alert.
    pub(super) async fn run_check(
        &mut self,
        env: usize,
        at: At,
        check: &Check,
        attempt: u32,
    ) -> Result<CheckRun, Fatal> {
        let started = std::time::Instant::now();
        let expanded = match self.expand_check(env, check) {
            Ok(c) => c,
            Err(e) => return Ok(CheckRun::done(false, e, 0)),
        };
        if let Check::Command { command, timeout } = &expanded {
            let (step, verify) = match at {
                At::Step(step) => (step, false),
                At::Verify => (0, true),
            };
            let r = self
                .exec(Exec {
                    env,
                    step,
                    command,
                    stage: None,
                    vars: &[],
                    timeout: *timeout,
                    rollback: verify,
                    attempt,
                    verify,
                })
                .await?;
            let ok = r.status == StepStatus::Succeeded;
            let msg = if ok {
                "check command passed".to_string()
            } else {
                format!("check command {}", r.message)
            };
            return Ok(CheckRun {
                ok,
                message: msg,
                latency_ms: r.duration_ms,
                stop: r.interrupted,
                output: r.kept,
            });
        }
        let shown = self.shown_url(env, check);
        let probe = async move {
            match &expanded {
                Check::Http(h) => probe::http(h, &shown).await,
                Check::Tcp { addr, timeout } => probe::tcp(addr, *timeout).await,
                Check::Alerts {
                    prometheus,
                    labels,
                    timeout,
                    pending,
                } => probe::alerts(prometheus, &shown, labels, *timeout, *pending).await,
                Check::Command { .. } => unreachable!("run above, through exec"),
            }
        };
        let ctx = match at {
            At::Step(_) => Ctx::InEnv { env, gate: None },
            At::Verify => Ctx::RollingBack,
        };
        Ok(match self.answering(&ctx, probe).await? {
            Ok(p) => CheckRun::done(p.ok, p.message, p.latency_ms),
            Err(stop) => CheckRun {
                stop: Some(stop),
                ..CheckRun::done(
                    false,
                    "stopped by operator".into(),
                    started.elapsed().as_millis() as u64,
                )
            },
        })
    }

    /// Awaits `fut` while answering commands in `ctx`: `Err` carries the
    /// command that stops what is waiting (an abort, a rollback).
    async fn answering<T>(
        &mut self,
        ctx: &Ctx<'_>,
        fut: impl std::future::Future<Output = T>,
    ) -> Result<Result<T, Stop>, Fatal> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                v = &mut fut => return Ok(Ok(v)),
                c = self.cmds.recv(), if self.cmds_open => match c {
                    None => self.cmds_open = false,
                    Some(cmd) => {
                        if let Some(Wake::Stop(stop)) = self.on_command(cmd, ctx)? {
                            return Ok(Err(stop));
                        }
                    }
                },
            }
        }
    }

    /// The check with this environment's `${...}` placeholders filled in, as
    /// it is asked: `${secret.NAME}` in its URL and headers becomes the
    /// value (see [`template::expand_for_request`]).
    fn expand_check(&self, env: usize, check: &Check) -> Result<Check, String> {
        let e = &self.plan.environments[env];
        let r = &self.plan.release;
        template::expand_check_with(
            check,
            |s, how| template::expand_for_request(s, e, r, &self.secrets, how),
            |s| template::expand(s, e, r),
        )
    }

    /// A check's URL as every message shows it: placeholders filled in but
    /// secrets named, credentials masked.
    fn shown_url(&self, env: usize, check: &Check) -> String {
        let url = match check {
            Check::Http(h) => &h.url,
            Check::Alerts { prometheus, .. } => prometheus,
            _ => return String::new(),
        };
        let e = &self.plan.environments[env];
        let written = template::expand(url, e, &self.plan.release).unwrap_or_else(|_| url.clone());
        crate::secrets::url::shown(&written)
    }
}
