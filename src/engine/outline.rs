//! The outline a run's start journals: each environment's steps as the
//! engine will walk them. A pure function of the plan, so a test that
//! writes a `RunStarted` by hand gets exactly what the engine emits.

use crate::plan::Plan;
use crate::plan::steps::{Step, StepKind, env_steps};

use super::event::{EnvOutline, StepOutline};

/// The outline of every environment of `plan`.
pub fn outline(plan: &Plan) -> Vec<EnvOutline> {
    let steps: Vec<Vec<Step>> = (0..plan.environments.len())
        .map(|e| env_steps(plan, e))
        .collect();
    of_steps(plan, &steps)
}

/// The outline of `steps`, the plan's environments' steps as the engine
/// built them.
pub(super) fn of_steps(plan: &Plan, steps: &[Vec<Step>]) -> Vec<EnvOutline> {
    plan.environments
        .iter()
        .zip(steps)
        .map(|(env, steps)| EnvOutline {
            name: env.name.clone(),
            strategy: env.strategy.name().to_string(),
            steps: steps.iter().map(|s| step(plan, s)).collect(),
        })
        .collect()
}

fn step(plan: &Plan, s: &Step) -> StepOutline {
    let (kind, stage, timeout, irreversible) = match &s.kind {
        StepKind::Run(r) => {
            let st = &plan.stages[r.stage];
            (
                "run",
                Some(st.name.clone()),
                Some(st.timeout.as_millis() as u64),
                r.irreversible,
            )
        }
        StepKind::Gate { .. } => ("gate", None, None, false),
        StepKind::Pause { wait } => ("pause", None, Some(wait.as_millis() as u64), false),
        StepKind::Analysis { window, .. } => (
            "analysis",
            None,
            window.map(|w| w.as_millis() as u64),
            false,
        ),
        StepKind::Checks { .. } => ("checks", None, None, false),
    };
    StepOutline {
        label: s.label.clone(),
        kind: kind.to_string(),
        stage,
        timeout_ms: timeout,
        irreversible,
    }
}
