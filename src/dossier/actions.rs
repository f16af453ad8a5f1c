//! Section 6, Post-Deployment Actions: the review, notes taken during the run,
//! failed or skipped items, and follow-ups.

use super::input::Input;
use super::md;
use crate::engine::event::Event;
use crate::engine::state::{StepState, Verification};
use crate::runs::Outcome;

pub fn write(out: &mut String, input: &Input) {
    let s = &input.state;
    md::heading(out, 2, "Post-Deployment Actions");

    md::heading(out, 3, "Review");
    match &s.review {
        None => md::para(
            out,
            &format!(
                "No post-deploy review yet: write one with {}.",
                md::code(&format!("slate review {}", s.run_id))
            ),
        ),
        Some((user, r)) => {
            md::para(out, &format!("Written by {}.", md::text(user)));
            for (title, body) in [
                ("What went well", &r.went_well),
                ("What failed", &r.went_wrong),
                ("What to improve", &r.improve),
            ] {
                if !body.trim().is_empty() {
                    md::para(
                        out,
                        &format!("**{title}:** {}", md::text(&join_lines(body))),
                    );
                }
            }
            let incidents = lines(&r.incidents);
            if !incidents.is_empty() {
                md::para(out, "**Incident tickets:**");
                md::bullets(out, &incidents);
            }
        }
    }

    md::heading(out, 3, "Notes taken during the run");
    if s.notes.is_empty() {
        md::para(out, "None.");
    } else {
        let notes: Vec<String> = s
            .notes
            .iter()
            .map(|n| {
                format!(
                    "{} {}: {}",
                    md::time(n.at),
                    md::text(&n.user),
                    md::text(&n.text)
                )
            })
            .collect();
        md::bullets(out, &notes);
    }

    if !s.recoveries.is_empty() {
        md::heading(out, 3, "Crash recoveries");
        md::bullets(out, &recoveries(input));
    }

    md::heading(out, 3, "Failed or skipped items");
    let mut items = Vec::new();
    let ended = s.is_finished() || input.summary.outcome == Outcome::Interrupted;
    for e in &s.envs {
        for st in &e.steps {
            let what = match st.state {
                StepState::Failed => format!("✘ failed: {}", md::text(&st.message)),
                StepState::TimedOut => format!("✘ timed out: {}", md::text(&st.message)),
                StepState::Killed => format!("✘ stopped: {}", md::text(&st.message)),
                StepState::Running | StepState::Waiting
                    if input.summary.outcome == Outcome::Interrupted =>
                {
                    "⚠ interrupted: the engine stopped while it ran".into()
                }
                StepState::Pending if ended => "skipped".into(),
                _ => continue,
            };
            items.push(format!(
                "{} / {}: {what}",
                md::text(&e.name),
                md::text(&st.label)
            ));
        }
    }
    for (_, ev) in input.events() {
        if let Event::CommandRefused {
            actor,
            command,
            reason,
        } = ev
        {
            items.push(format!(
                "refused {} from {}: {}",
                md::text(command),
                md::text(&actor.user),
                md::text(reason)
            ));
        }
    }
    if items.is_empty() {
        md::para(out, "None: every step ran and passed.");
    } else {
        md::bullets(out, &items);
    }

    md::heading(out, 3, "Follow-ups");
    let mut follow: Vec<String> = s
        .review
        .as_ref()
        .map(|(_, r)| lines(&r.follow_ups))
        .unwrap_or_default();
    follow.extend(generated_follow_ups(input));
    md::bullets(out, &follow);
}

/// Each takeover after a crash, and what was decided about the step it cut short.
fn recoveries(input: &Input) -> Vec<String> {
    let mut out = Vec::new();
    // Steps asked about since the crash, until their decision is recorded.
    let mut asked = std::collections::HashSet::new();
    for (r, ev) in input.events() {
        let ts = r.ts;
        match ev {
            Event::RunRecovered {
                actor,
                previous_pid,
                warning,
                leftovers,
                ..
            } => {
                let mut line = format!(
                    "{} {} took the run over after its engine (pid {previous_pid}) died",
                    md::time(ts),
                    md::text(&actor.user)
                );
                if let Some(w) = warning {
                    line.push_str(&format!("; {}", md::text(w)));
                }
                for l in leftovers {
                    line.push_str(&format!(
                        "; left running at {}: process group {} — {}",
                        md::text(input.step_label(l.env, l.step)),
                        l.pgid,
                        md::text(&l.message)
                    ));
                }
                out.push(line);
            }
            Event::StepInterrupted { env, step, .. } => {
                asked.insert((*env, *step));
                out.push(format!(
                    "{} {} was interrupted by the crash",
                    md::time(ts),
                    md::text(input.step_label(*env, *step))
                ))
            }
            Event::RollbackDecision {
                env,
                step,
                choice,
                actor,
                note,
            } if asked.remove(&(*env, *step)) => out.push(format!(
                "{} {}: {} chose {} ({})",
                md::time(ts),
                md::text(input.step_label(*env, *step)),
                md::text(&actor.user),
                choice.word(),
                md::text(note)
            )),
            Event::RetryRequested { env, step, actor } if asked.remove(&(*env, *step)) => {
                out.push(format!(
                    "{} {}: {} chose retry",
                    md::time(ts),
                    md::text(input.step_label(*env, *step)),
                    md::text(&actor.user)
                ))
            }
            _ => {}
        }
    }
    out
}

fn generated_follow_ups(input: &Input) -> Vec<String> {
    let s = &input.state;
    let mut f = Vec::new();
    match input.summary.outcome {
        Outcome::Released => f.push(format!(
            "Watch the release's metrics, then retire {}.",
            md::code(&s.previous_version)
        )),
        Outcome::RolledBack | Outcome::Failed => f.push(format!(
            "Find the cause of “{}” before releasing {} again.",
            md::text(&s.message),
            md::code(&s.version)
        )),
        Outcome::Rejected => {
            f.push("Answer the rejection before asking for approval again.".into())
        }
        Outcome::Aborted => f.push("Decide whether to release again.".into()),
        Outcome::Held => {
            f.push("Settle the held environment by hand and record what was done.".into())
        }
        Outcome::Running => {
            f.push("The run is still going; regenerate this dossier when it ends.".into())
        }
        Outcome::Interrupted => f.push(format!(
            "The engine stopped without finishing: {} carries it on from its journal.",
            md::code(&format!("slate recover {}", s.run_id))
        )),
    }
    let mixed = s.envs_ended(crate::engine::event::EnvOutcome::Deployed);
    if input.summary.outcome != Outcome::Released && !mixed.is_empty() {
        f.push(format!(
            "{} still {} {}: keep {} or roll {} back deliberately.",
            md::text(&mixed.join(", ")),
            super::memory::run_or_runs(&mixed),
            md::code(&s.version),
            if mixed.len() == 1 { "it" } else { "them" },
            if mixed.len() == 1 { "it" } else { "them" },
        ));
    }
    if s.envs
        .iter()
        .any(|e| matches!(e.verification, Some(Verification::Failed { .. })))
    {
        f.push("A rollback could not be verified: confirm by hand what is serving.".into());
    }
    let unverified: Vec<&str> = s
        .envs
        .iter()
        .filter(|e| e.unverified_undo())
        .map(|e| e.name.as_str())
        .collect();
    if !unverified.is_empty() {
        f.push(format!(
            "Nothing checked the rollback of {}: confirm by hand what is serving, and give {} a `verify_rollback` check.",
            md::text(&unverified.join(", ")),
            if unverified.len() == 1 { "it" } else { "each" }
        ));
    }
    if s.notifications.iter().any(|n| !n.ok) {
        f.push("Some notifications were not delivered: tell those stakeholders directly.".into());
    }
    if s.review.is_none() && input.summary.outcome.is_final() {
        f.push(format!(
            "Write the post-deploy review: {}.",
            md::code(&format!("slate review {}", s.run_id))
        ));
    }
    f
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().trim_start_matches(['-', '*']).trim())
        .filter(|l| !l.is_empty())
        .map(md::text)
        .collect()
}

fn join_lines(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
