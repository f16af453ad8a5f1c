//! The pre-release dossier's own parts (`slate plan --dossier`): where a
//! run's dossier says what happened, these say what is planned, from the
//! same preview `slate plan` prints (`plan::preview`). The other writers
//! serve both dossiers and ask `Input::planned` where they differ.

use super::input::Input;
use super::md::{self, Table};
use crate::plan::preview::{self, Preview};
use crate::plan::{GateKind, Plan};

fn preview_of<'a>(input: &'a Input<'_>) -> Option<(&'a Plan, Preview)> {
    let plan = input.plan.as_ref()?;
    Some((plan, preview::preview(plan, &[])))
}

/// Release Summary rows after the owner: who decides, what it will take.
pub fn summary_rows(t: &mut Table, input: &Input) {
    let status = "**planned: not run** — nothing below has happened".to_string();
    let Some((plan, p)) = preview_of(input) else {
        t.row(vec!["Outcome".into(), status]);
        return;
    };
    let manual: Vec<String> = plan
        .environments
        .iter()
        .enumerate()
        .filter(|(i, _)| has_manual_gate(plan, *i))
        .map(|(i, e)| {
            format!(
                "{}: {}",
                md::text(&e.name),
                md::text(&preview::approvers(plan, i, None))
            )
        })
        .collect();
    t.row(vec![
        "Approvals required".into(),
        if manual.is_empty() {
            "none (no manual gate)".into()
        } else {
            manual.join("; ")
        },
    ]);
    t.row(vec!["Outcome".into(), status]);
    t.row(vec![
        "Minimum duration".into(),
        format!(
            "{} of soaks, pauses and analysis windows, before the commands' own time",
            md::duration_ms(p.min_duration_ms)
        ),
    ]);
    t.row(vec!["Run".into(), "none yet".into()]);
    t.row(vec!["Plan".into(), md::code(&input.state.plan_path)]);
}

fn has_manual_gate(plan: &Plan, env: usize) -> bool {
    crate::plan::steps::env_steps(plan, env)
        .iter()
        .any(|s| match s.kind {
            crate::plan::steps::StepKind::Gate { gate } => {
                matches!(plan.gates[gate].kind, GateKind::Manual { .. })
            }
            _ => false,
        })
}

/// The Environment Matrix's approval cell: what its manual gates require.
pub fn approval(input: &Input, env: usize) -> String {
    match &input.plan {
        Some(plan) if env < plan.environments.len() => {
            if has_manual_gate(plan, env) {
                md::text(&preview::approvers(plan, env, None))
            } else {
                "no manual gate".into()
            }
        }
        _ => "unknown (plan unreadable)".into(),
    }
}

/// The Deployment Plan's retries cell: how many a step may take.
pub fn retries(input: &Input, env: usize, step: usize) -> String {
    match (
        input.plan.as_ref(),
        input.step(env, step).and_then(|s| s.run()),
    ) {
        (Some(plan), Some(r)) => match plan.stages[r.stage].retries {
            0 => "0".into(),
            n => format!("up to {n}"),
        },
        _ => "—".into(),
    }
}

/// Rollback Strategy, planned: what a rollback of each finished
/// environment would undo, in order, and where it would stop.
pub fn undo_order(out: &mut String, input: &Input) {
    md::heading(out, 3, "Planned undo order");
    let Some((_, p)) = preview_of(input) else {
        md::para(out, "Unknown: the plan could not be read back.");
        return;
    };
    md::para(
        out,
        "If an environment rolls back once all its steps ran, these are undone, newest first. \
         A rollback never silently crosses an irreversible step: it stops there and asks.",
    );
    let mut t = Table::new(&["Environment", "Step undone", "Undo command", "Note"]);
    for e in &p.environments {
        for u in &e.undo {
            t.row(vec![
                md::text(&e.name),
                format!("{}. {}", u.step, md::text(&u.label)),
                u.command
                    .as_deref()
                    .map(md::command)
                    .unwrap_or_else(|| "none".into()),
                if u.irreversible {
                    "**irreversible**: the rollback stops here and asks".into()
                } else if u.command.is_none() {
                    "left as it is".into()
                } else {
                    String::new()
                },
            ]);
        }
    }
    t.write(out);
}

/// Verification & Monitoring, planned: every check, metric, analysis and
/// evidence gate the run will use, with thresholds, per environment step.
pub fn verify(out: &mut String, input: &Input) {
    md::heading(out, 2, "Verification & Monitoring");
    let Some((plan, p)) = preview_of(input) else {
        md::para(out, "Unknown: the plan could not be read back.");
        return;
    };
    md::heading(out, 3, "Checks, gates and analyses on the way");
    let mut t = Table::new(&["Environment", "Step", "What is verified"]);
    for e in &p.environments {
        for s in e.steps.iter().filter(|s| s.kind != "run") {
            t.row(vec![
                md::text(&e.name),
                format!("{}. {}", s.number, md::text(&s.label)),
                md::text(&s.detail),
            ]);
        }
    }
    if t.is_empty() {
        md::para(out, "No checks, gates or analyses are planned.");
    } else {
        t.write(out);
    }
    md::heading(out, 3, "Metrics");
    if plan.metrics.is_empty() {
        md::para(out, "The plan measures no metrics.");
    } else {
        let mut t = Table::new(&["Metric", "Source", "Every", "Passes", "Fails"]);
        for m in &plan.metrics {
            let cond = |c: &Option<crate::plan::Condition>| {
                c.map(|c| md::code(&c.to_string()))
                    .unwrap_or_else(|| "—".into())
            };
            t.row(vec![
                md::text(&m.name),
                m.source.kind().into(),
                md::duration_ms(m.interval.as_millis() as u64),
                cond(&m.success),
                cond(&m.failure),
            ]);
        }
        t.write(out);
    }
    md::heading(out, 3, "Rollback verification");
    let items: Vec<String> = p
        .environments
        .iter()
        .map(|e| match &e.verify_rollback {
            Some(v) => format!("{}: {}", md::text(&e.name), md::text(v)),
            None => format!("{}: not verified (no `verify_rollback`)", md::text(&e.name)),
        })
        .collect();
    md::bullets(out, &items);
}

/// Post-Deployment Actions, planned: what follows the run.
pub fn actions(out: &mut String, input: &Input) {
    md::heading(out, 2, "Post-Deployment Actions");
    let support = input
        .plan
        .as_ref()
        .map(|p| p.communication.support.trim())
        .filter(|s| !s.is_empty());
    let mut items = vec![
        "Once the run ends, `slate dossier RUN` records what happened and `slate review RUN` \
         writes the post-deploy review and memory entry."
            .to_string(),
        "Compare the run's dossier with this plan: steps skipped, rolled back or decided \
         differently show there."
            .to_string(),
    ];
    match support {
        Some(s) => items.push(format!("Hand over to support: {}.", md::text(s))),
        None => items.push("The plan names no support handoff (`[communication] support`).".into()),
    }
    md::bullets(out, &items);
}

/// The Memory Entry, planned: one paragraph of what is intended.
pub fn memory(input: &Input) -> String {
    let s = &input.state;
    let envs: Vec<&str> = s.envs.iter().map(|e| e.name.as_str()).collect();
    let steps: usize = s.envs.iter().map(|e| e.steps.len()).sum();
    let gates: usize = s
        .envs
        .iter()
        .map(|e| e.steps.iter().filter(|st| st.kind == "gate").count())
        .sum();
    format!(
        "Planned: {} {} replacing {}, through {}, in {steps} steps with {gates} gates. \
         Not run yet; this entry is replaced by the run's own.",
        s.release,
        s.version,
        s.previous_version,
        envs.join(" → ")
    )
}

/// A finished run against its plan, in a paragraph: what was planned (and
/// where to read the plan as reviewed) and where the run departed from it.
/// `None` while the run goes on, or when its plan cannot be read back.
pub fn departures(input: &Input) -> Option<String> {
    use crate::engine::state::StepState;
    let s = &input.state;
    input.plan.as_ref()?;
    if !s.is_finished() {
        return None;
    }
    let planned: usize = s.envs.iter().map(|e| e.steps.len()).sum();
    let mut skipped = 0;
    let mut failed = 0;
    let mut undone = 0;
    for e in &s.envs {
        for st in &e.steps {
            match st.state {
                StepState::Pending => skipped += 1,
                StepState::Failed | StepState::TimedOut | StepState::Killed => failed += 1,
                _ => {}
            }
            if st.undo.is_some() {
                undone += 1;
            }
        }
    }
    let rolled_back: Vec<&str> = s
        .envs
        .iter()
        .filter(|e| {
            matches!(
                e.status,
                crate::engine::state::EnvStatus::Done(crate::engine::event::EnvOutcome::RolledBack)
            )
        })
        .map(|e| e.name.as_str())
        .collect();
    let mut parts = Vec::new();
    if skipped > 0 {
        parts.push(format!("{skipped} never ran"));
    }
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if undone > 0 {
        parts.push(format!("{undone} undone"));
    }
    let head = format!(
        "Against its plan ({planned} steps; {} renders the plan as reviewed): ",
        md::code(&format!("slate plan {} --dossier", s.plan_path))
    );
    let body = if parts.is_empty() {
        "every planned step ran.".to_string()
    } else {
        let mut b = format!("of the planned steps, {}", parts.join(", "));
        if !rolled_back.is_empty() {
            b.push_str(&format!(
                "; rolled back: {}",
                md::text(&rolled_back.join(", "))
            ));
        }
        b.push('.');
        b
    };
    Some(format!("{head}{body}"))
}
