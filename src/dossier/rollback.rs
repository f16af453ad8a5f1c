//! Section 5, Rollback Strategy: the triggers and procedure in force, irreversible
//! steps, and what any rollback actually did and how recovery was checked.

use super::input::Input;
use super::md::{self, Table};
use crate::engine::event::{Event, StepStatus, Trigger};
use crate::plan::Check;

pub fn write(out: &mut String, input: &Input) {
    md::heading(out, 2, "Rollback Strategy");
    if let Some(to) = &input.state.rollback_to {
        md::heading(out, 3, "This run is a rollback to a known-good version");
        md::bullets(
            out,
            &[
                format!(
                    "Rollback to {} in {}, replacing {}, ordered by {}: {}.",
                    md::code(&input.state.version),
                    md::text(&to.env),
                    md::code(&to.replacing),
                    md::text(&input.state.started_by),
                    md::text(&to.reason)
                ),
                format!(
                    "A new run of the plan of run {}, which put the version live there; the environment's gates, canary pauses and analyses were skipped, its health checks and `verify_rollback` ran{}.",
                    md::code(&to.from_run),
                    if to.approval {
                        ", after the approval the plan asks for (`rollback_approval`)"
                    } else {
                        ""
                    }
                ),
                "The artifacts had to match the digests the ledger recorded when the version was live. The environment is pinned afterwards: a run promoting into it needs `--unpin`.".to_string(),
            ],
        );
    }
    md::heading(out, 3, "In force");
    let mut triggers = vec![
        "A stage that still fails after its retries, a failed check or analysis gate, or a rejected gate rolls its environment back automatically.".to_string(),
        "A failed canary or post-deploy analysis rolls its environment back automatically.".to_string(),
        "An operator may roll back by hand at any time, with a reason (cockpit `R`).".to_string(),
    ];
    if let Some(plan) = &input.plan {
        let inconclusive: Vec<String> = plan
            .environments
            .iter()
            .map(|e| format!("{} → {}", md::text(&e.name), e.on_inconclusive.word()))
            .collect();
        triggers.push(format!(
            "Inconclusive analysis: {}.",
            inconclusive.join(", ")
        ));
    }
    md::bullets(out, &triggers);
    match &input.plan {
        None => md::para(
            out,
            "The plan could not be read back from the journal; its procedure is not shown.",
        ),
        Some(plan) => {
            md::para(
                out,
                "Procedure: completed steps are undone in reverse order with each stage's rollback command; a canary is undone once, not once per weight.",
            );
            let mut t = Table::new(&["Stage", "Rollback command", "Irreversible", "Idempotent"]);
            for st in &plan.stages {
                t.row(vec![
                    md::text(&st.name),
                    st.rollback
                        .as_deref()
                        .map(md::command)
                        .unwrap_or_else(|| "none (nothing to undo)".into()),
                    if st.irreversible {
                        "⚠ yes: stops and asks".into()
                    } else {
                        "no".into()
                    },
                    if st.idempotent {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]);
            }
            t.write(out);
            let irreversible: Vec<String> = plan
                .stages
                .iter()
                .filter(|s| s.irreversible)
                .map(|s| md::text(&s.name))
                .collect();
            md::para(
                out,
                &if irreversible.is_empty() {
                    "Irreversible steps: none.".to_string()
                } else {
                    format!(
                        "Irreversible steps: {}. A rollback reaching one stops and needs an operator's decision.",
                        irreversible.join(", ")
                    )
                },
            );
            let verify: Vec<String> = plan
                .environments
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        md::text(&e.name),
                        match &e.verify_rollback {
                            Some(Check::Command { command, .. }) => {
                                format!("`verify_rollback`, the command {}", md::command(command))
                            }
                            Some(c) => format!(
                                "`verify_rollback`, {}",
                                md::text(&c.describe_in(e, &plan.release))
                            ),
                            None => "nothing: it has no `verify_rollback`, so a rollback there \
                                     is not verified. Add one that proves the old version \
                                     serves again (e.g. an HTTP check of its version)."
                                .into(),
                        }
                    )
                })
                .collect();
            md::para(out, "Recovery is validated by:");
            md::bullets(out, &verify);
        }
    }

    if input.planned {
        super::planned::undo_order(out, input);
        return;
    }
    md::heading(out, 3, "What happened");
    let mut any = false;
    let mut requested_by: Option<String> = None;
    for (r, ev) in input.events() {
        match ev {
            Event::RollbackRequested { actor, reason, .. } => {
                requested_by = Some(format!("{} ({})", md::text(&actor.user), md::text(reason)));
            }
            Event::AbortRequested { actor, reason } => {
                requested_by = Some(format!(
                    "{} aborted ({})",
                    md::text(&actor.user),
                    md::text(reason)
                ));
            }
            Event::RollbackStarted {
                env,
                trigger,
                reason,
            } => {
                any = true;
                let why = match trigger {
                    Trigger::StepFailed { .. } => "a step failed",
                    Trigger::GateRejected { .. } => "a gate was rejected",
                    Trigger::GateFailed { .. } => "a gate failed",
                    Trigger::AnalysisFailed { .. } => "an analysis failed",
                    Trigger::AnalysisInconclusive { .. } => "an analysis proved nothing",
                    Trigger::Abort => "the run was aborted",
                    Trigger::Manual => "an operator asked",
                    Trigger::Interrupted { .. } => "the engine died during a step",
                };
                md::heading(
                    out,
                    4,
                    &format!(
                        "{} rolled back at {}",
                        md::text(input.env_name(*env)),
                        md::time(r.ts)
                    ),
                );
                let mut items = vec![
                    format!("Trigger: {why}."),
                    format!("Reason: {}.", md::text(reason.trim_end_matches('.'))),
                ];
                match requested_by.take() {
                    Some(who) => items.push(format!("Requested by {who}.")),
                    None => items.push("Started by slate automatically.".into()),
                }
                md::bullets(out, &items);
                undo_steps(out, input, *env, r.seq);
            }
            _ => {}
        }
    }
    if !any {
        md::para(out, "No rollback happened.");
    }
}

/// The undo steps of one rollback, its decisions and its verification.
fn undo_steps(out: &mut String, input: &Input, env: usize, from_seq: u64) {
    let mut t = Table::new(&["Step undone", "Result", "Detail"]);
    let mut after = Vec::new();
    let label = |step: usize| md::text(input.step_label(env, step));
    for r in input.records.iter().filter(|r| r.seq > from_seq) {
        match &r.event {
            Event::RollbackStepFinished {
                env: e,
                step,
                status,
                message,
                ..
            } if *e == env => t.row(vec![
                label(*step),
                if *status == StepStatus::Succeeded {
                    "✔ undone".into()
                } else {
                    "✘ failed".into()
                },
                md::text(message),
            ]),
            Event::RollbackStepSkipped {
                env: e,
                step,
                reason,
            } if *e == env => t.row(vec![label(*step), "skipped".into(), md::text(reason)]),
            Event::RollbackBlocked {
                env: e,
                step,
                reason,
                ..
            } if *e == env => after.push(format!(
                "Blocked at {}: {}.",
                label(*step),
                md::text(reason.trim_end_matches('.'))
            )),
            Event::RollbackDecision {
                env: e,
                choice,
                actor,
                note,
                ..
            } if *e == env => after.push(format!(
                "{} chose {}{}.",
                md::text(&actor.user),
                choice.word(),
                if note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", md::text(note))
                }
            )),
            Event::RollbackVerified {
                env: e,
                ok,
                message,
                check,
                output,
            } if *e == env => {
                let message = md::text(message.trim_end_matches('.'));
                after.push(match (check, ok) {
                    (Some(c), true) => {
                        format!("Recovery ✔ verified by {}: {message}.", md::code(c))
                    }
                    (c, false) => format!(
                        "Recovery ✘ not verified: {} failed: {message}.",
                        md::code(c.as_deref().unwrap_or("verify_rollback"))
                    ),
                    // Undo commands that exited 0 prove nothing about what serves.
                    (None, true) if !t.is_empty() => {
                        format!("Recovery: rolled back ({message}).")
                    }
                    (None, true) => format!("Recovery: {message}."),
                });
                if !output.is_empty() {
                    after.push(format!(
                        "Its command's last lines: {}.",
                        output
                            .iter()
                            .map(|l| md::code(l))
                            .collect::<Vec<_>>()
                            .join(" ⏎ ")
                    ));
                }
            }
            Event::EnvFinished { env: e, outcome } if *e == env => {
                after.push(format!(
                    "{} ended {}.",
                    md::text(input.env_name(env)),
                    outcome.word()
                ));
                break;
            }
            Event::RollbackStarted { .. } | Event::RunFinished { .. } => break,
            _ => {}
        }
    }
    if t.is_empty() {
        md::para(out, "Nothing had to be undone.");
    } else {
        t.write(out);
    }
    md::bullets(out, &after);
}
