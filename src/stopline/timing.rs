//! What `slate validate` warns about: a plan whose known timing (pauses,
//! soaks, analysis windows), started now, would run into a freeze it or the
//! team's config knows of. Only the waits the plan states are counted, so a
//! crossing found is certain and one not found may still happen.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::window::Windows;
use crate::plan::steps::{StepKind, env_steps};
use crate::plan::{GateKind, Plan};

/// The waits an environment's steps state, summed.
fn known(plan: &Plan, env: usize) -> Duration {
    env_steps(plan, env)
        .iter()
        .map(|s| match &s.kind {
            StepKind::Pause { wait } => *wait,
            StepKind::Analysis { window, .. } => window.unwrap_or_default(),
            StepKind::Gate { gate } => match &plan.gates[*gate].kind {
                GateKind::Soak { wait } => *wait,
                _ => Duration::ZERO,
            },
            _ => Duration::ZERO,
        })
        .sum()
}

/// One line per freeze the plan, started at `now`, would meet.
pub fn crossings(plan: &Plan, windows: &Windows, now: Timestamp) -> Vec<String> {
    let mut out = Vec::new();
    let mut t = now;
    for (i, env) in plan.environments.iter().enumerate() {
        let spent = known(plan, i);
        let end = t + SignedDuration::try_from(spent).unwrap_or(SignedDuration::MAX);
        for f in windows.freezes.iter().filter(|f| f.applies(&env.name)) {
            if let Some(until) = f.calendar.open_at(t) {
                let when = if t == now {
                    "is open now".to_string()
                } else {
                    format!(
                        "would be open when a run started now reaches {} (after {} of known waits)",
                        env.name,
                        humantime::format_duration(Duration::from_secs(
                            t.duration_since(now).as_secs().max(0) as u64
                        ))
                    )
                };
                out.push(format!(
                    "{}: {} {when}, until {}: the run would wait or be refused there",
                    env.name,
                    f.name,
                    f.calendar.shown(until)
                ));
            } else if let Some(opens) = f.calendar.next_open(t).filter(|o| *o < end) {
                out.push(format!(
                    "{}: the plan's known waits ({} by the end of {}) would run into {} at {}",
                    env.name,
                    humantime::format_duration(Duration::from_secs(
                        end.duration_since(now).as_secs().max(0) as u64
                    )),
                    env.name,
                    f.name,
                    f.calendar.shown(opens)
                ));
            }
        }
        t = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soak_that_would_run_into_a_freeze_is_found() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let at = |h: i64| now + SignedDuration::from_hours(h);
        let text = format!(
            r#"
[release]
name = "pay"
version = "2"
previous_version = "1"
owner = "qa"

[[environments]]
name = "staging"
gates = ["bake"]

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = "true"

[[gates]]
name = "bake"
kind = "soak"
wait = "3h"

[[freezes]]
name = "evening"
environments = ["prod"]
timezone = "UTC"
from = "{}"
until = "{}"
"#,
            at(2).strftime("%Y-%m-%d %H:%M:%S"),
            at(5).strftime("%Y-%m-%d %H:%M:%S")
        );
        let plan = crate::plan::parse(&text, "p.toml", ".".into()).unwrap();
        // Prod starts 3 h from now, an hour into the freeze.
        let w = crossings(&plan, &plan.windows, now);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("prod: evening would be open when a run started now reaches prod (after 3h of known waits)"),
            "{w:?}"
        );
        // Started after the freeze, nothing is in the way.
        assert!(crossings(&plan, &plan.windows, at(6)).is_empty());
        // Started 4 h before it, the soak ends before it starts.
        assert!(crossings(&plan, &plan.windows, at(-4)).is_empty());
    }
}
