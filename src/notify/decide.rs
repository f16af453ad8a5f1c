//! Which record calls for which notification, and what it says. Pure: the
//! state and the record carry everything, the clock comes in as an argument.
//!
//! | record | kind |
//! |---|---|
//! | `RunStarted` | `run_started` |
//! | `GateWaiting` | `gate_waiting` |
//! | `EnvFinished { outcome: deployed }` | `env_promoted` |
//! | `RollbackStarted` | `rollback` (with its trigger and reason) |
//! | `StepFinished` failed or timed out with no retry left | `failure` |
//! | `GateFailed`, `AnalysisFinished { verdict: failed }` | `failure` |
//! | `RollbackBlocked` (a rollback needs a decision) | `failure` |
//! | `RunFinished { outcome: failed }` | `failure`, then `completed` |
//! | `RunFinished` (any outcome) | `completed` (saying which) |
//! | every `[communication] cadence` until the run finishes | `status` |
//! | `BreakGlassRequested`, `BreakGlass`, `BreakGlassRefused`, `BreakGlassRejected` | `break_glass` (to every channel) |
//!
//! One failure is announced once: an analysis gate that fails journals the
//! analysis's verdict, the gate's failure and the step's end, and only the
//! first of them is told.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;

use crate::engine::RunState;
use crate::engine::event::{EnvOutcome, Event, Record, RunOutcome, StepStatus, Trigger, Verdict};
use crate::plan::steps::env_steps;
use crate::plan::{NotifyKind, Plan};

/// Longest text a notification carries; a step's message can be long.
const MAX_TEXT: usize = 600;

/// One thing to tell every channel that listens for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NotifyKind,
    pub run_id: String,
    pub release: String,
    pub version: String,
    pub previous_version: String,
    /// The environment it concerns, if any.
    pub environment: Option<String>,
    /// One readable line, starting with the release and version.
    pub text: String,
    /// When it happened: the record's timestamp, or the clock for a status.
    pub at: Timestamp,
    /// The record that prompted it; none for a status update.
    pub seq: Option<u64>,
    /// How the run ended (`completed`).
    pub outcome: Option<RunOutcome>,
    /// Why (`rollback`, `failure`, and `completed` when not released).
    pub reason: Option<String>,
    pub gate: Option<String>,
    /// The step's label (`failure` of a step, `status`).
    pub step: Option<String>,
    /// What started a rollback: step_failed, gate_rejected, gate_failed,
    /// analysis_failed, abort or manual.
    pub trigger: Option<&'static str>,
    /// The run's status in words (`status`).
    pub status: Option<String>,
    /// Seconds since the run started (`status`).
    pub elapsed_s: Option<u64>,
    /// `[communication] support` (`completed`).
    pub support: Option<String>,
    /// What the promotion changes against what is live (`gate_waiting`).
    pub change: Option<Box<crate::change::Change>>,
    /// Who asked for the break-glass (`break_glass`).
    pub actor: Option<String>,
    /// Who approved, rejected or refused it, where someone did (`break_glass`).
    pub decided_by: Option<String>,
    /// What it crosses, in one line (`break_glass`).
    pub crossed: Option<String>,
    /// `requested`, `crossed`, `refused` or `rejected` (`break_glass`).
    pub glass: Option<&'static str>,
}

impl Notice {
    fn new(kind: NotifyKind, state: &RunState, at: Timestamp, text: String) -> Self {
        Self {
            kind,
            run_id: state.run_id.clone(),
            release: state.release.clone(),
            version: state.version.clone(),
            previous_version: state.previous_version.clone(),
            environment: None,
            text: one_line(&text),
            at,
            seq: None,
            outcome: None,
            reason: None,
            gate: None,
            step: None,
            trigger: None,
            status: None,
            elapsed_s: None,
            support: None,
            change: None,
            actor: None,
            decided_by: None,
            crossed: None,
            glass: None,
        }
    }

    fn env(mut self, state: &RunState, env: usize) -> Self {
        self.environment = state.envs.get(env).map(|e| e.name.clone());
        self
    }

    fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(one_line(reason));
        self
    }
}

/// Remembers what a pure function of one record cannot know: each run
/// step's retries (from the plan) and which failures were already told.
pub struct Decider {
    /// Per environment and step: a run step's retries; `None` for other steps.
    retries: Vec<Vec<Option<u32>>>,
    announced: HashSet<(usize, usize)>,
    support: String,
    /// Who asked for the break-glass waiting per environment, for its rejection.
    glass_asked: std::collections::HashMap<usize, String>,
}

impl Decider {
    pub fn new(plan: &Plan) -> Self {
        let retries = (0..plan.environments.len())
            .map(|e| {
                env_steps(plan, e)
                    .iter()
                    .map(|s| s.run().map(|r| plan.stages[r.stage].retries))
                    .collect()
            })
            .collect();
        Self {
            retries,
            announced: HashSet::new(),
            glass_asked: Default::default(),
            support: plan.communication.support.clone(),
        }
    }

    /// What `rec` calls for; `state` is the replica with `rec` already applied.
    pub fn decide(&mut self, state: &RunState, rec: &Record) -> Vec<Notice> {
        let at = rec.ts;
        let rel = release(state);
        let mut out = match &rec.event {
            Event::RunStarted { actor, .. } => {
                let path: Vec<&str> = state.envs.iter().map(|e| e.name.as_str()).collect();
                vec![Notice::new(
                    NotifyKind::RunStarted,
                    state,
                    at,
                    format!(
                        "{rel}: release started by {}, replacing {}, through {}",
                        actor.user,
                        state.previous_version,
                        path.join(" then ")
                    ),
                )]
            }
            Event::StepStarted { env, step, .. } => {
                // A step run again (roll forward) may fail again and be told again.
                self.announced.remove(&(*env, *step));
                Vec::new()
            }
            Event::GateWaiting {
                env,
                gate,
                required,
                timeout_ms,
                ..
            } => {
                let approvals = if *required == 1 {
                    "1 approval".to_string()
                } else {
                    format!("{required} approvals")
                };
                let closes = timeout_ms
                    .map(|ms| format!("; it fails closed after {}", dur(ms)))
                    .unwrap_or_default();
                let change = state.envs.get(*env).and_then(|e| e.change.clone());
                let changes = change
                    .as_deref()
                    .map(|c| {
                        format!(
                            ". {}: {}",
                            crate::change::headline(c, &env_name(state, *env)),
                            crate::change::summary(c)
                        )
                    })
                    .unwrap_or_default();
                let mut n = Notice::new(
                    NotifyKind::GateWaiting,
                    state,
                    at,
                    format!(
                        "{rel}: gate {gate} in {} is waiting for {approvals}{closes}{changes}",
                        env_name(state, *env)
                    ),
                )
                .env(state, *env);
                n.gate = Some(gate.clone());
                n.change = change;
                vec![n]
            }
            Event::EnvFinished {
                env,
                outcome: EnvOutcome::Deployed,
            } => vec![
                Notice::new(
                    NotifyKind::EnvPromoted,
                    state,
                    at,
                    format!(
                        "{rel} is deployed to {} ({} of {} environments)",
                        env_name(state, *env),
                        env + 1,
                        state.envs.len()
                    ),
                )
                .env(state, *env),
            ],
            Event::RollbackStarted {
                env,
                trigger,
                reason,
            } => {
                let mut n = Notice::new(
                    NotifyKind::Rollback,
                    state,
                    at,
                    format!(
                        "{rel}: rolling {} back to {}: {reason}",
                        env_name(state, *env),
                        state.previous_version
                    ),
                )
                .env(state, *env)
                .reason(reason);
                n.trigger = Some(trigger_word(trigger));
                vec![n]
            }
            Event::StepFinished {
                env,
                step,
                attempt,
                status: status @ (StepStatus::Failed | StepStatus::TimedOut),
                message,
                ..
            } => {
                let retries = self
                    .retries
                    .get(*env)
                    .and_then(|s| s.get(*step))
                    .copied()
                    .flatten()
                    .unwrap_or(0);
                if *attempt <= retries {
                    return Vec::new();
                }
                let label = step_label(state, *env, *step);
                let how = if *status == StepStatus::TimedOut {
                    "timed out"
                } else {
                    "failed"
                };
                let tries = if *attempt > 1 {
                    format!(" after {attempt} attempts")
                } else {
                    String::new()
                };
                let text = format!(
                    "{rel}: step {label} {how} in {}{tries}: {message}",
                    env_name(state, *env)
                );
                self.failure(state, at, *env, *step, text, message)
                    .map(|mut n| {
                        n.step = Some(label);
                        n
                    })
                    .into_iter()
                    .collect()
            }
            Event::GateFailed {
                env,
                step,
                gate,
                reason,
            } => {
                let text = format!(
                    "{rel}: gate {gate} failed in {}: {reason}",
                    env_name(state, *env)
                );
                self.failure(state, at, *env, *step, text, reason)
                    .map(|mut n| {
                        n.gate = Some(gate.clone());
                        n
                    })
                    .into_iter()
                    .collect()
            }
            Event::AnalysisFinished {
                env,
                step,
                analysis,
                verdict: Verdict::Failed,
                reason,
            } => {
                let text = format!(
                    "{rel}: analysis {analysis} failed in {}: {reason}",
                    env_name(state, *env)
                );
                self.failure(state, at, *env, *step, text, reason)
                    .into_iter()
                    .collect()
            }
            Event::RollbackBlocked {
                env,
                step,
                reason,
                choices,
            } => {
                let label = step_label(state, *env, *step);
                let words: Vec<&str> = choices.iter().map(|c| c.word()).collect();
                let mut n = Notice::new(
                    NotifyKind::Failure,
                    state,
                    at,
                    format!(
                        "{rel}: rolling back {} is blocked at {label} and needs a decision ({}): {reason}",
                        env_name(state, *env),
                        words.join(", ")
                    ),
                )
                .env(state, *env)
                .reason(reason);
                n.step = Some(label);
                vec![n]
            }
            Event::BreakGlassRequested {
                env,
                actor,
                reason,
                crossed,
            } => {
                self.glass_asked.insert(*env, actor.user.clone());
                vec![glass(
                    glass_notice(
                        state,
                        at,
                        *env,
                        reason,
                        format!(
                            "{rel}: BREAK-GLASS into {} asked by {}: {reason}; it waits for a second person's approval to cross: {}",
                            env_name(state, *env),
                            actor.user,
                            crossed.message
                        ),
                    ),
                    "requested",
                    &actor.user,
                    None,
                    Some(&crossed.message),
                )]
            }
            Event::BreakGlass {
                env,
                actor,
                reason,
                crossed,
                approved_by,
            } => {
                let approved = approved_by
                    .as_ref()
                    .map(|a| format!(", approved by {}", a.user))
                    .unwrap_or_default();
                vec![glass(
                    glass_notice(
                        state,
                        at,
                        *env,
                        reason,
                        format!(
                            "{rel}: BREAK-GLASS into {} by {}{approved}: {reason}; crossing: {}",
                            env_name(state, *env),
                            actor.user,
                            crossed.message
                        ),
                    ),
                    "crossed",
                    &actor.user,
                    approved_by.as_ref().map(|a| a.user.as_str()),
                    Some(&crossed.message),
                )]
            }
            Event::BreakGlassRefused {
                env,
                actor,
                reason,
                why,
            } => vec![glass(
                glass_notice(
                    state,
                    at,
                    *env,
                    reason,
                    format!(
                        "{rel}: break-glass into {} by {} refused ({why}): {reason}",
                        env_name(state, *env),
                        actor.user
                    ),
                ),
                "refused",
                &actor.user,
                None,
                None,
            )],
            Event::BreakGlassRejected { env, actor, reason } => {
                let asked = self.glass_asked.get(env).cloned().unwrap_or_default();
                vec![glass(
                    glass_notice(
                        state,
                        at,
                        *env,
                        reason,
                        format!(
                            "{rel}: break-glass into {} rejected by {}: {reason}",
                            env_name(state, *env),
                            actor.user
                        ),
                    ),
                    "rejected",
                    &asked,
                    Some(&actor.user),
                    None,
                )]
            }
            Event::RunFinished { outcome, message } => {
                let mut out = Vec::new();
                if *outcome == RunOutcome::Failed {
                    out.push(
                        Notice::new(
                            NotifyKind::Failure,
                            state,
                            at,
                            format!("{rel}: the run failed: {message}"),
                        )
                        .reason(message),
                    );
                }
                let support = if self.support.is_empty() {
                    String::new()
                } else {
                    format!(". Support: {}", self.support)
                };
                let mut n = Notice::new(
                    NotifyKind::Completed,
                    state,
                    at,
                    format!("{rel} finished: {}. {message}{support}", outcome.word()),
                );
                n.outcome = Some(*outcome);
                if !outcome.released() {
                    n = n.reason(message);
                }
                n.support = (!self.support.is_empty()).then(|| self.support.clone());
                out.push(n);
                out
            }
            _ => Vec::new(),
        };
        for n in &mut out {
            n.seq = Some(rec.seq);
        }
        out
    }

    /// A failure of `(env, step)`, unless one was already told.
    fn failure(
        &mut self,
        state: &RunState,
        at: Timestamp,
        env: usize,
        step: usize,
        text: String,
        reason: &str,
    ) -> Option<Notice> {
        self.announced.insert((env, step)).then(|| {
            Notice::new(NotifyKind::Failure, state, at, text)
                .env(state, env)
                .reason(reason)
        })
    }
}

/// The periodic status update: where the run is and how long it has taken.
/// `None` before the run starts and once it has finished.
pub fn status(state: &RunState, now: Timestamp) -> Option<Notice> {
    let started = state.started?;
    if state.is_finished() {
        return None;
    }
    let elapsed = now.duration_since(started).as_secs().max(0) as u64;
    let mut text = format!("{} status: {}", release(state), state.status.word());
    let mut step_label = None;
    if let Some(env) = state.current_env.and_then(|e| state.envs.get(e)) {
        text.push_str(&format!(" in {}", env.name));
        if let Some(i) = env.current_step
            && let Some(step) = env.steps.get(i)
        {
            text.push_str(&format!(
                ", step {} ({} of {})",
                step.label,
                i + 1,
                env.steps.len()
            ));
            step_label = Some(step.label.clone());
        }
    }
    text.push_str(&format!(
        ", {} elapsed",
        humantime::format_duration(Duration::from_secs(elapsed))
    ));
    let mut n = Notice::new(NotifyKind::Status, state, now, text);
    if let Some(env) = state.current_env {
        n = n.env(state, env);
    }
    n.step = step_label;
    n.status = Some(state.status.word().to_string());
    n.elapsed_s = Some(elapsed);
    Some(n)
}

/// A break-glass notice's who, what and how it went.
/// A break-glass notice about `env`, with why, before [`glass`] says what happened.
fn glass_notice(state: &RunState, at: Timestamp, env: usize, reason: &str, text: String) -> Notice {
    Notice::new(NotifyKind::BreakGlass, state, at, text)
        .env(state, env)
        .reason(reason)
}

fn glass(
    mut n: Notice,
    how: &'static str,
    actor: &str,
    decided_by: Option<&str>,
    crossed: Option<&str>,
) -> Notice {
    n.glass = Some(how);
    n.actor = Some(one_line(actor));
    n.decided_by = decided_by.map(one_line);
    n.crossed = crossed.map(one_line);
    n
}

fn release(state: &RunState) -> String {
    format!("{} {}", state.release, state.version)
}

fn env_name(state: &RunState, env: usize) -> String {
    state
        .envs
        .get(env)
        .map(|e| e.name.clone())
        .unwrap_or_else(|| format!("environment {env}"))
}

fn step_label(state: &RunState, env: usize, step: usize) -> String {
    state
        .envs
        .get(env)
        .and_then(|e| e.steps.get(step))
        .map(|s| s.label.clone())
        .unwrap_or_else(|| format!("step {}", step + 1))
}

fn trigger_word(t: &Trigger) -> &'static str {
    match t {
        Trigger::StepFailed { .. } => "step_failed",
        Trigger::GateRejected { .. } => "gate_rejected",
        Trigger::GateFailed { .. } => "gate_failed",
        Trigger::AnalysisFailed { .. } => "analysis_failed",
        Trigger::AnalysisInconclusive { .. } => "analysis_inconclusive",
        Trigger::Abort => "abort",
        Trigger::Manual => "manual",
        Trigger::Interrupted { .. } => "interrupted",
    }
}

fn dur(ms: u64) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_millis(ms))
}

/// One line (a step's message may hold several), at most [`MAX_TEXT`] characters.
fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= MAX_TEXT {
        return joined;
    }
    let mut cut: String = joined.chars().take(MAX_TEXT - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Actor, EnvOutline, RollbackChoice, StepOutline};

    const PLAN: &str = r#"
[release]
name = "svc"
version = "2.0"
previous_version = "1.0"
owner = "o"
[[environments]]
name = "staging"
[[environments]]
name = "prod"
gates = ["go"]
[[stages]]
name = "deploy"
command = "true"
retries = 1
[[gates]]
name = "go"
kind = "manual"
[communication]
support = "payments on-call"
"#;

    fn plan() -> Plan {
        crate::plan::parse(PLAN, "p.toml", ".".into()).unwrap()
    }

    fn actor() -> Actor {
        Actor {
            user: "ana".into(),
            uid: 1,
            via: "test".into(),
            roles: None,
        }
    }

    /// Applies each event in turn and returns every notice decided.
    fn run(events: Vec<Event>) -> (RunState, Vec<Notice>) {
        let plan = plan();
        let mut d = Decider::new(&plan);
        let mut state = RunState::default();
        let mut out = Vec::new();
        let started = RunStarted(&plan);
        for (i, event) in std::iter::once(started).chain(events).enumerate() {
            let rec = Record {
                seq: i as u64 + 1,
                ts: Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
                event,
            };
            state.apply(&rec);
            out.extend(d.decide(&state, &rec));
        }
        (state, out)
    }

    #[allow(non_snake_case)]
    fn RunStarted(plan: &Plan) -> Event {
        let environments = (0..plan.environments.len())
            .map(|e| EnvOutline {
                name: plan.environments[e].name.clone(),
                strategy: "all-at-once".into(),
                steps: env_steps(plan, e)
                    .iter()
                    .map(|s| StepOutline {
                        label: s.label.clone(),
                        kind: if s.run().is_some() { "run" } else { "gate" }.into(),
                        stage: None,
                        timeout_ms: None,
                        irreversible: false,
                    })
                    .collect(),
            })
            .collect();
        Event::RunStarted {
            run_id: "r1".into(),
            plan_path: "p.toml".into(),
            plan_source: String::new(),
            release: "svc".into(),
            version: "2.0".into(),
            previous_version: "1.0".into(),
            owner: "o".into(),
            environments,
            actor: actor(),
            pid: 1,
            pre_approved: Vec::new(),
            sealed: Vec::new(),
            auto_approve: false,
            vars: Vec::new(),
            rollback_to: None,
        }
    }

    fn kinds(n: &[Notice]) -> Vec<&'static str> {
        n.iter().map(|n| n.kind.name()).collect()
    }

    fn step_failed(env: usize, step: usize, attempt: u32) -> Event {
        Event::StepFinished {
            env,
            step,
            attempt,
            status: StepStatus::Failed,
            exit_code: Some(1),
            duration_ms: 5,
            message: "exit 1".into(),
        }
    }

    #[test]
    fn a_released_run_tells_start_gate_promotions_and_completion() {
        let (_, n) = run(vec![
            Event::EnvStarted { env: 0 },
            Event::EnvFinished {
                env: 0,
                outcome: EnvOutcome::Deployed,
            },
            Event::EnvStarted { env: 1 },
            Event::GateWaiting {
                env: 1,
                step: 0,
                gate: "go".into(),
                required: 2,
                require_comment: false,
                timeout_ms: Some(1_800_000),
                since: None,
            },
            Event::EnvFinished {
                env: 1,
                outcome: EnvOutcome::Deployed,
            },
            Event::RunFinished {
                outcome: RunOutcome::Released,
                message: "svc 2.0 released to staging, prod".into(),
            },
        ]);
        assert_eq!(
            kinds(&n),
            [
                "run_started",
                "env_promoted",
                "gate_waiting",
                "env_promoted",
                "completed"
            ]
        );
        assert_eq!(
            n[0].text,
            "svc 2.0: release started by ana, replacing 1.0, through staging then prod"
        );
        assert_eq!(
            n[1].text,
            "svc 2.0 is deployed to staging (1 of 2 environments)"
        );
        assert_eq!(n[1].environment.as_deref(), Some("staging"));
        assert_eq!(
            n[2].text,
            "svc 2.0: gate go in prod is waiting for 2 approvals; it fails closed after 30m"
        );
        assert_eq!(n[2].gate.as_deref(), Some("go"));
        assert_eq!(
            n[4].text,
            "svc 2.0 finished: released. svc 2.0 released to staging, prod. Support: payments on-call"
        );
        assert_eq!(n[4].outcome, Some(RunOutcome::Released));
        assert_eq!(n[4].reason, None);
        assert_eq!(n[4].seq, Some(7));
    }

    #[test]
    fn a_step_fails_for_good_only_when_its_retries_are_spent() {
        // deploy has retries = 1: the first failure is retried, the second is final.
        let (_, n) = run(vec![
            Event::EnvStarted { env: 0 },
            step_failed(0, 0, 1),
            step_failed(0, 0, 2),
            Event::RollbackStarted {
                env: 0,
                trigger: Trigger::StepFailed { step: 0 },
                reason: "deploy failed: exit 1 after 2 attempts".into(),
            },
            Event::RunFinished {
                outcome: RunOutcome::RolledBack,
                message: "staging rolled back: deploy failed".into(),
            },
        ]);
        assert_eq!(
            kinds(&n),
            ["run_started", "failure", "rollback", "completed"]
        );
        assert_eq!(
            n[1].text,
            "svc 2.0: step deploy failed in staging after 2 attempts: exit 1"
        );
        assert_eq!(n[1].step.as_deref(), Some("deploy"));
        assert_eq!(n[1].reason.as_deref(), Some("exit 1"));
        assert_eq!(n[2].trigger, Some("step_failed"));
        assert_eq!(
            n[2].text,
            "svc 2.0: rolling staging back to 1.0: deploy failed: exit 1 after 2 attempts"
        );
        assert_eq!(n[3].outcome, Some(RunOutcome::RolledBack));
        assert_eq!(
            n[3].reason.as_deref(),
            Some("staging rolled back: deploy failed")
        );
    }

    #[test]
    fn one_failure_is_told_once_and_a_failed_run_also_completes() {
        let (_, n) = run(vec![
            Event::EnvStarted { env: 1 },
            Event::AnalysisFinished {
                env: 1,
                step: 0,
                analysis: "canary".into(),
                verdict: Verdict::Failed,
                reason: "error_ratio 0.07 > 0.05".into(),
            },
            Event::GateFailed {
                env: 1,
                step: 0,
                gate: "go".into(),
                reason: "error_ratio 0.07 > 0.05".into(),
            },
            Event::StepFinished {
                env: 1,
                step: 0,
                attempt: 1,
                status: StepStatus::Failed,
                exit_code: None,
                duration_ms: 1,
                message: "error_ratio 0.07 > 0.05".into(),
            },
            Event::RunFinished {
                outcome: RunOutcome::Failed,
                message: "cannot write the journal".into(),
            },
        ]);
        assert_eq!(
            kinds(&n),
            ["run_started", "failure", "failure", "completed"]
        );
        assert_eq!(
            n[1].text,
            "svc 2.0: analysis canary failed in prod: error_ratio 0.07 > 0.05"
        );
        assert_eq!(
            n[2].text,
            "svc 2.0: the run failed: cannot write the journal"
        );
    }

    #[test]
    fn gate_failures_timeouts_and_blocked_rollbacks_are_failures() {
        let (_, n) = run(vec![
            Event::EnvStarted { env: 1 },
            Event::GateFailed {
                env: 1,
                step: 0,
                gate: "go".into(),
                reason: "no decision within 30m".into(),
            },
            Event::StepFinished {
                env: 1,
                step: 1,
                attempt: 2,
                status: StepStatus::TimedOut,
                exit_code: None,
                duration_ms: 1,
                message: "timed out after 10m".into(),
            },
            Event::RollbackBlocked {
                env: 1,
                step: 1,
                reason: "deploy is irreversible".into(),
                choices: vec![RollbackChoice::Hold, RollbackChoice::Force],
            },
            Event::StepFinished {
                env: 1,
                step: 1,
                attempt: 1,
                status: StepStatus::Killed,
                exit_code: None,
                duration_ms: 1,
                message: "stopped".into(),
            },
        ]);
        assert_eq!(kinds(&n), ["run_started", "failure", "failure", "failure"]);
        assert_eq!(n[1].gate.as_deref(), Some("go"));
        assert_eq!(
            n[2].text,
            "svc 2.0: step deploy timed out in prod after 2 attempts: timed out after 10m"
        );
        assert_eq!(
            n[3].text,
            "svc 2.0: rolling back prod is blocked at deploy and needs a decision (hold, force): deploy is irreversible"
        );
    }

    #[test]
    fn status_says_where_the_run_is_and_for_how_long() {
        let (mut state, _) = run(vec![
            Event::EnvStarted { env: 1 },
            Event::StepStarted {
                env: 1,
                step: 1,
                attempt: 1,
            },
        ]);
        let now = state.started.unwrap() + jiff::SignedDuration::from_secs(75);
        let n = status(&state, now).unwrap();
        assert_eq!(n.kind, NotifyKind::Status);
        assert_eq!(
            n.text,
            "svc 2.0 status: running in prod, step deploy (2 of 2), 1m 15s elapsed"
        );
        assert_eq!(n.elapsed_s, Some(75));
        assert_eq!(n.step.as_deref(), Some("deploy"));
        assert_eq!(n.seq, None);
        state.apply(&Record {
            seq: 99,
            ts: now,
            event: Event::RunFinished {
                outcome: RunOutcome::Released,
                message: String::new(),
            },
        });
        assert_eq!(status(&state, now), None, "no status once finished");
        assert_eq!(
            status(&RunState::default(), now),
            None,
            "nor before it starts"
        );
    }

    #[test]
    fn texts_are_one_bounded_line() {
        assert_eq!(one_line("exit 1\n  stderr: boom\n"), "exit 1 stderr: boom");
        let long = "x".repeat(MAX_TEXT * 2);
        assert_eq!(one_line(&long).chars().count(), MAX_TEXT);
    }
}
