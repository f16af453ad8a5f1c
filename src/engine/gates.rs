//! Gates: manual approvals, timed soaks and checks that must pass.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::commands::{Ctx, GateCtx, Wake};
use super::event::{ApprovalSource, Event, StepStatus};
use super::exec::Exec;
use super::{Engine, Fatal, Stop, Unattended};
use crate::plan::{Check, GateKind};

impl Engine {
    pub(super) async fn gate(&mut self, env: usize, step: usize, gate: usize) -> Result<(), Stop> {
        let g = self.plan.gates[gate].clone();
        self.emit(Event::StepStarted {
            env,
            step,
            attempt: 1,
        })?;
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
        }
    }

    async fn manual_gate(
        &mut self,
        env: usize,
        g: GateCtx,
        timeout: Option<Duration>,
    ) -> Result<(), Stop> {
        self.emit(Event::GateWaiting {
            env,
            step: g.step,
            gate: g.name.clone(),
            required: g.required,
            require_comment: g.require_comment,
            timeout_ms: timeout.map(|t| t.as_millis() as u64),
        })?;
        let pre = if self.opts.pre_approved.contains(&g.name) {
            Some(ApprovalSource::PreApproved)
        } else if self.opts.auto_approve {
            Some(ApprovalSource::AutoApproved)
        } else {
            None
        };
        if let Some(source) = pre {
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
        if self.opts.unattended == Unattended::FailClosed {
            let reason = format!(
                "manual gate {} needs a decision and nobody can give one in this mode; \
                 run again with --approve {} or --auto-approve",
                g.name, g.name
            );
            return Err(self.fail_gate(env, g.step, &g.name, reason));
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut approved = false;
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
    fn fail_gate(&mut self, env: usize, step: usize, gate: &str, reason: String) -> Stop {
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
        let started = Timestamp::now();
        self.emit(Event::TimerStarted {
            env,
            step,
            started,
            duration_ms: wait.as_millis() as u64,
        })?;
        if let Some(stop) = self.wait_for(wait, env, false).await? {
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
        let mut last = String::new();
        for attempt in 1..=retries + 1 {
            let (ok, message, latency_ms, stop) = self.run_check(env, step, check, attempt).await?;
            self.emit(Event::CheckResult {
                env,
                step,
                gate: gate.to_string(),
                attempt,
                ok,
                latency_ms,
                message: message.clone(),
            })?;
            if let Some(stop) = stop {
                return Err(stop);
            }
            if ok {
                self.emit(Event::GatePassed {
                    env,
                    step,
                    gate: gate.to_string(),
                })?;
                return Ok(());
            }
            last = message;
            if attempt <= retries
                && let Some(stop) = self.wait_for(interval, env, false).await?
            {
                return Err(stop);
            }
        }
        let tries = if retries > 0 {
            format!(" ({} attempts)", retries + 1)
        } else {
            String::new()
        };
        Err(self.fail_gate(env, step, gate, format!("{last}{tries}")))
    }

    /// Runs one check: (passed, message, latency, interrupting command).
    pub(super) async fn run_check(
        &mut self,
        env: usize,
        step: usize,
        check: &Check,
        attempt: u32,
    ) -> Result<(bool, String, u64, Option<Stop>), Fatal> {
        match check {
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
                Ok((ok, msg, r.duration_ms, r.interrupted))
            }
            Check::Http {
                url,
                method,
                expect_status,
                contains,
                timeout,
            } => {
                let (ok, msg, ms) =
                    http_probe(url, method, *expect_status, contains.as_deref(), *timeout).await;
                Ok((ok, msg, ms, None))
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// One HTTP probe: passes on the expected status (and body substring, if any).
pub async fn http_probe(
    url: &str,
    method: &str,
    expect: u16,
    contains: Option<&str>,
    timeout: Duration,
) -> (bool, String, u64) {
    let started = Instant::now();
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot build HTTP client: {e}"), 0),
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let result = client.request(method.clone(), url).send().await;
    let ms = started.elapsed().as_millis() as u64;
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                format!("no answer within {}", humantime::format_duration(timeout))
            } else if e.is_connect() {
                "connection refused or unreachable".to_string()
            } else {
                e.to_string()
            };
            return (false, format!("{method} {url}: {why}"), ms);
        }
    };
    let status = resp.status().as_u16();
    if status != expect {
        return (
            false,
            format!("{method} {url}: status {status}, expected {expect}"),
            ms,
        );
    }
    if let Some(needle) = contains {
        // Read a bounded prefix: a probe never needs a huge body.
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return (false, format!("{method} {url}: reading body: {e}"), ms),
        };
        let text = String::from_utf8_lossy(&body[..body.len().min(1 << 20)]);
        if !text.contains(needle) {
            return (
                false,
                format!("{method} {url}: body does not contain \"{needle}\""),
                ms,
            );
        }
    }
    (true, format!("{method} {url}: {status} in {ms} ms"), ms)
}
