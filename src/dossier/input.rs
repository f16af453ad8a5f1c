//! Everything a dossier section may read: the records, the state they
//! rebuild, the plan as it was run (parsed back from the journal) and the
//! run's summary. Nothing here comes from a screen.

use crate::engine::event::{Event, Record};
use crate::engine::state::RunState;
use crate::plan::Plan;
use crate::plan::steps::{Step, env_steps};
use crate::runs::RunSummary;

pub struct Input<'a> {
    pub records: &'a [Record],
    pub state: RunState,
    /// `None` when the journal's plan no longer parses (a newer or older Slate).
    pub plan: Option<Plan>,
    /// Each environment's steps, as the engine walked them.
    pub steps: Vec<Vec<Step>>,
    pub summary: RunSummary,
    /// A pre-release dossier (`slate plan --dossier`): nothing has run, and
    /// the sections say what is planned rather than what happened.
    pub planned: bool,
}

impl<'a> Input<'a> {
    pub fn new(records: &'a [Record], alive: bool) -> Self {
        let state = RunState::replay(records);
        let plan = crate::runs::recorded_plan(records).and_then(Result::ok);
        let steps = match &plan {
            Some(p) if p.environments.len() == state.envs.len() => {
                (0..p.environments.len()).map(|e| env_steps(p, e)).collect()
            }
            _ => Vec::new(),
        };
        let summary = RunSummary::from_state(&state, alive);
        Self {
            records,
            state,
            plan,
            steps,
            summary,
            planned: false,
        }
    }

    /// The step as planned, when the plan matches the journal's outline.
    pub fn step(&self, env: usize, step: usize) -> Option<&Step> {
        self.steps.get(env)?.get(step)
    }

    /// The label a step was journaled with ("" when the journal has no such step).
    pub fn step_label(&self, env: usize, step: usize) -> &str {
        self.state
            .envs
            .get(env)
            .and_then(|e| e.steps.get(step))
            .map_or("", |s| s.label.as_str())
    }

    pub fn env_name(&self, env: usize) -> &str {
        self.state.envs.get(env).map_or("?", |e| e.name.as_str())
    }

    pub fn events(&self) -> impl Iterator<Item = (&'a Record, &'a Event)> {
        self.records.iter().map(|r| (r, &r.event))
    }
}
