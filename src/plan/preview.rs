//! What a run of a plan would do, worked out without running anything:
//! `slate plan` prints it, `--json` serialises it, `--dossier` renders the
//! pre-release dossier around it.
//!
//! Everything comes from what the run itself uses: the steps from
//! [`env_steps`] (what the engine walks), the variables from
//! [`super::vars::command_vars`] (what the engine sets), the undo order
//! from [`crate::engine::undo_order_where`] (what a rollback undoes). So the
//! preview cannot describe another run than the one `slate run` makes.
//! Secrets appear by name only; channel URLs not at all.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::steps::{Step, StepKind, env_steps};
use super::{GateKind, Plan, Strategy};

/// The variables only a run knows, named so a reader sees they exist.
pub const RUN_VARS: [&str; 5] = [
    "SLATE_RUN_ID",
    "SLATE_RUN_DIR",
    "SLATE_ATTEMPT",
    "SLATE_STEP_ID",
    "SLATE_BIN",
];

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub release: String,
    pub version: String,
    pub previous_version: String,
    pub owner: String,
    pub environments: Vec<EnvPreview>,
    /// The least time the run takes if every command were instant: soaks,
    /// pauses and analysis windows.
    pub min_duration_ms: u64,
    /// Variables every command also gets, whose values only a run knows.
    pub run_vars: Vec<&'static str>,
    /// Secrets by name, with where their value is read from (`env`, `file`, `cmd`).
    pub secrets: Vec<SecretRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretRef {
    pub name: String,
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvPreview {
    /// The environment's index in the plan.
    pub index: usize,
    pub name: String,
    pub strategy: String,
    /// The strategy in words: weights, batches, pauses, gates.
    pub rollout: String,
    pub production: bool,
    pub on_inconclusive: &'static str,
    pub approval: String,
    pub steps: Vec<StepPreview>,
    /// Step numbers (1-based) a rollback of the finished environment undoes, in order.
    pub undo: Vec<UndoPreview>,
    /// The check that confirms a rollback, in words.
    pub verify_rollback: Option<String>,
    pub min_duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepPreview {
    /// 1-based, as the cockpit and the dossier number steps.
    pub number: usize,
    pub label: String,
    /// run, gate, pause, analysis or checks.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The `SLATE_*` (and stage `env`) variables the command receives.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Secrets the command receives, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub irreversible: bool,
    /// What a gate, pause, analysis or check does and who decides it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// How long it waits at least (soaks, pauses, analysis windows).
    #[serde(skip_serializing_if = "is_zero_ms")]
    pub wait_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UndoPreview {
    /// The step undone (1-based).
    pub step: usize,
    pub label: String,
    /// The undo command; `None`: the step has none, so nothing is undone.
    pub command: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// A rollback stops here and asks (hold, roll forward or force).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub irreversible: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
fn is_zero_ms(n: &u64) -> bool {
    *n == 0
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn fmt(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// The preview of `plan`, for the environments `only` names (all when empty).
pub fn preview(plan: &Plan, only: &[String]) -> Preview {
    let environments: Vec<EnvPreview> = plan
        .environments
        .iter()
        .enumerate()
        .filter(|(_, e)| only.is_empty() || only.contains(&e.name))
        .map(|(i, _)| env_preview(plan, i))
        .collect();
    let min_duration_ms = environments
        .iter()
        .map(|e| e.min_duration_ms)
        .fold(0u64, u64::saturating_add);
    Preview {
        release: plan.release.name.clone(),
        version: plan.release.version.clone(),
        previous_version: plan.release.previous_version.clone(),
        owner: plan.release.owner.clone(),
        environments,
        min_duration_ms,
        run_vars: RUN_VARS.to_vec(),
        secrets: plan
            .secrets
            .iter()
            .map(|s| SecretRef {
                name: s.name.clone(),
                source: match s.source {
                    super::SecretSource::Env(_) => "env",
                    super::SecretSource::File(_) => "file",
                    super::SecretSource::Command(_) => "cmd",
                },
            })
            .collect(),
    }
}

fn rollout(strategy: &Strategy) -> String {
    let between = |b: &super::Between| {
        let mut parts = Vec::new();
        if let Some(p) = b.pause {
            parts.push(format!("pause {}", fmt(p)));
        }
        if let Some(a) = &b.analysis {
            parts.push(format!("analysis {a}"));
        }
        if let Some(g) = &b.gate {
            parts.push(format!("gate {g}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(", between steps: {}", parts.join(", "))
        }
    };
    match strategy {
        Strategy::AllAtOnce => "every stage once".to_string(),
        Strategy::Rolling {
            batches,
            between: b,
        } => {
            format!("{batches} batches{}", between(b))
        }
        Strategy::Canary {
            weights,
            between: b,
        } => format!(
            "weights {}{}",
            weights
                .iter()
                .map(|w| format!("{w}%"))
                .collect::<Vec<_>>()
                .join(" → "),
            between(b)
        ),
        Strategy::BlueGreen {
            color,
            old_color,
            confirm,
            retire,
            ..
        } => format!(
            "deploy {color} beside {old_color}, switch traffic{}{}",
            confirm
                .as_ref()
                .map(|g| format!(", gate {g}"))
                .unwrap_or_default(),
            if retire.is_some() {
                format!(", retire {old_color}")
            } else {
                String::new()
            }
        ),
    }
}

/// Who may decide a manual gate of environment `env`, in words.
pub fn approvers(plan: &Plan, env: usize, gate: Option<&super::Gate>) -> String {
    let ap = &plan.environments[env].approval;
    let required = match gate.map(|g| &g.kind) {
        Some(GateKind::Manual {
            approvals: Some(n), ..
        }) => *n,
        _ => ap.required,
    };
    let who = if ap.approvers.is_empty() {
        "anyone".to_string()
    } else {
        ap.approvers.join(", ")
    };
    let comment = ap.require_comment
        || matches!(
            gate.map(|g| &g.kind),
            Some(GateKind::Manual {
                require_comment: true,
                ..
            })
        );
    let mut s = format!(
        "{required} approval{} from {who}",
        if required == 1 { "" } else { "s" }
    );
    if ap.four_eyes {
        s.push_str(", not the person who started the run");
    }
    if comment {
        s.push_str(", with a comment");
    }
    s
}

fn env_preview(plan: &Plan, env: usize) -> EnvPreview {
    let e = &plan.environments[env];
    let steps = env_steps(plan, env);
    let previews: Vec<StepPreview> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| step_preview(plan, env, i, s))
        .collect();
    let undo = crate::engine::undo_order_where(&steps, |_| true)
        .into_iter()
        .filter_map(|i| {
            let r = steps[i].run()?;
            Some(UndoPreview {
                step: i + 1,
                label: steps[i].label.clone(),
                command: r.rollback.clone(),
                vars: r
                    .rollback
                    .as_ref()
                    .map(|_| {
                        super::vars::command_vars(plan, env, Some(r.stage), &r.rollback_vars, true)
                            .into_iter()
                            .collect()
                    })
                    .unwrap_or_default(),
                irreversible: r.irreversible,
            })
        })
        .collect();
    let min_duration_ms = previews
        .iter()
        .map(|s| s.wait_ms)
        .fold(0u64, u64::saturating_add);
    EnvPreview {
        index: env,
        name: e.name.clone(),
        strategy: e.strategy.name().to_string(),
        rollout: rollout(&e.strategy),
        production: e.production,
        on_inconclusive: e.on_inconclusive.word(),
        approval: approvers(plan, env, None),
        steps: previews,
        undo,
        verify_rollback: e
            .verify_rollback
            .as_ref()
            .map(|c| c.describe_in(e, &plan.release)),
        min_duration_ms,
    }
}

fn step_preview(plan: &Plan, env: usize, i: usize, s: &Step) -> StepPreview {
    let mut p = StepPreview {
        number: i + 1,
        label: s.label.clone(),
        kind: "run",
        stage: None,
        owner: None,
        command: None,
        vars: BTreeMap::new(),
        secrets: Vec::new(),
        timeout_ms: None,
        retries: 0,
        irreversible: false,
        detail: String::new(),
        wait_ms: 0,
    };
    match &s.kind {
        StepKind::Run(r) => {
            let st = &plan.stages[r.stage];
            p.stage = Some(st.name.clone());
            p.owner = Some(st.owner.clone());
            p.command = Some(r.command.clone());
            p.vars = super::vars::command_vars(plan, env, Some(r.stage), &r.vars, false)
                .into_iter()
                .collect();
            p.secrets = st.secrets.clone();
            p.timeout_ms = Some(ms(st.timeout));
            p.retries = st.retries;
            p.irreversible = r.irreversible;
        }
        StepKind::Gate { gate } => {
            let g = &plan.gates[*gate];
            p.kind = "gate";
            p.timeout_ms = g.timeout.map(ms);
            p.detail = match &g.kind {
                GateKind::Manual { .. } => {
                    format!("manual: {}", approvers(plan, env, Some(g)))
                }
                GateKind::Soak { wait } => {
                    p.wait_ms = ms(*wait);
                    format!("soak: wait {}", fmt(*wait))
                }
                GateKind::Check { check, retries, .. } => format!(
                    "check: {} ({} attempt{})",
                    check.describe_in(&plan.environments[env], &plan.release),
                    retries + 1,
                    if *retries == 0 { "" } else { "s" }
                ),
                GateKind::Analysis { analysis } => {
                    let (text, wait) = analysis_text(plan, analysis, None);
                    p.wait_ms = wait;
                    format!("analysis: {text}")
                }
                GateKind::Evidence(spec) => format!("evidence: {}", evidence_text(spec)),
            };
        }
        StepKind::Pause { wait } => {
            p.kind = "pause";
            p.wait_ms = ms(*wait);
            p.detail = format!("wait {}", fmt(*wait));
        }
        StepKind::Analysis { analysis, window } => {
            p.kind = "analysis";
            let a = &plan.analyses[*analysis];
            let (text, wait) = analysis_text(plan, &a.name, *window);
            p.wait_ms = wait;
            p.detail = text;
        }
        StepKind::Checks { checks, role } => {
            p.kind = "checks";
            p.detail = format!(
                "{} checks: {}",
                role.word(),
                checks
                    .iter()
                    .map(|c| {
                        let c = &plan.checks[*c];
                        format!(
                            "{} ({})",
                            c.name,
                            c.check.describe_in(&plan.environments[env], &plan.release)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    p
}

/// An analysis in words (metrics and thresholds) and the least time it measures.
fn analysis_text(plan: &Plan, name: &str, window: Option<Duration>) -> (String, u64) {
    let Some(a) = plan.analysis(name) else {
        return (name.to_string(), 0);
    };
    let metrics: Vec<String> = a
        .metrics
        .iter()
        .map(|m| match plan.metric(m) {
            Some(m) => {
                let mut judged = Vec::new();
                if let Some(c) = &m.success {
                    judged.push(format!("pass {c}"));
                }
                if let Some(c) = &m.failure {
                    judged.push(format!("fail {c}"));
                }
                format!(
                    "{} [{}, every {}: {}]",
                    m.name,
                    m.source.kind(),
                    fmt(m.interval),
                    judged.join(", ")
                )
            }
            None => m.clone(),
        })
        .collect();
    let wait = window.or(a.duration).unwrap_or_default() + a.initial_delay;
    let mut text = format!("{} measures {}", a.name, metrics.join("; "));
    if !wait.is_zero() {
        text.push_str(&format!(" for {}", fmt(wait)));
    }
    text.push_str(&format!(
        ", tolerating {} failed and {} inconclusive measurement(s)",
        a.failure_limit, a.inconclusive_limit
    ));
    (text, ms(wait))
}

fn evidence_text(spec: &crate::evidence::Spec) -> String {
    let mut parts = Vec::new();
    if spec.junit.is_some() {
        parts.push("JUnit report");
    }
    if spec.coverage.is_some() {
        parts.push("coverage report");
    }
    if spec.sarif.is_some() {
        parts.push("SARIF report");
    }
    if spec.command.is_some() {
        parts.push("a command");
    }
    parts.join(", ")
}
