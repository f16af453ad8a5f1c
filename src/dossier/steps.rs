//! Section 3, Deployment Plan: the checklist that was executed, per environment:
//! stage, owner, command, planned timeout, actual duration, retries, result.

use super::input::Input;
use super::md::{self, Table};
use crate::engine::state::{StepState, StepView, UndoState};
use crate::plan::steps::StepKind;
use crate::runs::Outcome;

pub fn write(out: &mut String, input: &Input) {
    md::heading(out, 2, "Deployment Plan");
    if input.plan.is_none() {
        md::para(
            out,
            "The plan recorded in the journal could not be read back, so owners and commands are missing below.",
        );
    }
    for (ei, env) in input.state.envs.iter().enumerate() {
        md::heading(
            out,
            3,
            &format!("{} ({})", md::text(&env.name), env.strategy),
        );
        let mut t = Table::new(&[
            "#", "Step", "Owner", "Command", "Timeout", "Duration", "Retries", "Result",
        ]);
        for (si, s) in env.steps.iter().enumerate() {
            let (owner, command) = planned(input, ei, si, s);
            if input.planned {
                t.row(vec![
                    (si + 1).to_string(),
                    md::text(&s.label),
                    owner,
                    command,
                    s.timeout_ms
                        .map(md::duration_ms)
                        .unwrap_or_else(|| "—".into()),
                    "—".into(),
                    super::planned::retries(input, ei, si),
                    "planned".into(),
                ]);
                continue;
            }
            t.row(vec![
                (si + 1).to_string(),
                md::text(&s.label),
                owner,
                command,
                s.timeout_ms
                    .map(md::duration_ms)
                    .unwrap_or_else(|| "—".into()),
                s.duration_ms
                    .map(md::duration_ms)
                    .unwrap_or_else(|| "—".into()),
                s.attempts.saturating_sub(1).to_string(),
                result(input, s),
            ]);
        }
        t.write(out);
    }
}

fn planned(input: &Input, env: usize, step: usize, view: &StepView) -> (String, String) {
    let (Some(plan), Some(planned)) = (&input.plan, input.step(env, step)) else {
        return (
            "—".into(),
            view.stage.clone().map(|s| md::text(&s)).unwrap_or_default(),
        );
    };
    match &planned.kind {
        StepKind::Run(r) => {
            let st = &plan.stages[r.stage];
            let irreversible = if r.irreversible {
                " (irreversible)"
            } else {
                ""
            };
            (
                md::text(&st.owner),
                format!("{}{irreversible}", md::command(&r.command)),
            )
        }
        StepKind::Gate { gate } => {
            let g = &plan.gates[*gate];
            let who = match &g.kind {
                crate::plan::GateKind::Manual { .. } => {
                    let ap = &plan.environments[env].approval;
                    let who = if ap.approvers.is_empty() {
                        "any approver".to_string()
                    } else {
                        md::text(&ap.approvers.join(", "))
                    };
                    if ap.four_eyes {
                        format!("{who} (four-eyes: not the starter)")
                    } else {
                        who
                    }
                }
                _ => "slate".into(),
            };
            (who, format!("{} gate {}", g.kind.name(), md::code(&g.name)))
        }
        StepKind::Pause { wait } => (
            "slate".into(),
            format!("pause {}", md::duration_ms(wait.as_millis() as u64)),
        ),
        StepKind::Analysis { analysis, .. } => (
            "slate".into(),
            format!("analysis {}", md::code(&plan.analyses[*analysis].name)),
        ),
        StepKind::Checks { checks, role } => (
            "slate".into(),
            format!(
                "{} checks {}",
                role.word(),
                checks
                    .iter()
                    .map(|c| md::code(&plan.checks[*c].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

fn result(input: &Input, s: &StepView) -> String {
    let base = match s.state {
        StepState::Succeeded => "✔".to_string(),
        StepState::Failed => format!("✘ failed: {}", md::text(&s.message)),
        StepState::TimedOut => format!("✘ timed out: {}", md::text(&s.message)),
        StepState::Killed => format!("✘ stopped: {}", md::text(&s.message)),
        StepState::Skipped => md::text(&s.message),
        StepState::Pending
            if input.state.is_finished() || input.summary.outcome == Outcome::Interrupted =>
        {
            "skipped".into()
        }
        StepState::Pending => "pending".into(),
        StepState::Running | StepState::Waiting
            if input.summary.outcome == Outcome::Interrupted =>
        {
            "⚠ interrupted".into()
        }
        StepState::Running | StepState::Waiting => "running".into(),
    };
    let undo = match &s.undo {
        Some(u) => match u.state {
            UndoState::Done => " · undone ✔".to_string(),
            UndoState::Failed => format!(" · undo ✘: {}", md::text(&u.message)),
            UndoState::Skipped => format!(" · undo skipped: {}", md::text(&u.message)),
            UndoState::Running => " · undo running".into(),
        },
        None => String::new(),
    };
    format!("{base}{undo}")
}
