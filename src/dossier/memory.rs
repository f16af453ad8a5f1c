//! The memory entry: a short plain-prose note of how a run went and what
//! comes next, for whoever releases this service after us.

use crate::engine::event::EnvOutcome;
use crate::engine::state::{NOT_VERIFIED, RunState, StepState};
use crate::runs::Outcome;

/// Words allowed in a memory entry.
pub const MAX_WORDS: usize = 120;

pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Cuts text to `max` words, marking the cut with "…".
pub fn clamp_words(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max {
        return words.join(" ");
    }
    let mut s = words[..max].join(" ");
    s.push('…');
    s
}

/// The review's entry when someone wrote one, else one generated from the run.
pub fn entry(state: &RunState, outcome: Outcome) -> String {
    if let Some((_, review)) = &state.review
        && let Some(m) = review.memory.as_deref().filter(|m| !m.trim().is_empty())
    {
        return clamp_words(m, MAX_WORDS);
    }
    clamp_words(&generated(state, outcome), MAX_WORDS)
}

/// "dev still runs 2.5.0", "dev and staging still run 2.5.0".
pub fn run_or_runs(envs: &[&str]) -> &'static str {
    if envs.len() == 1 { "runs" } else { "run" }
}

fn names(list: &[&str]) -> String {
    match list {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn generated(state: &RunState, outcome: Outcome) -> String {
    let rel = format!("{} {}", state.release, state.version);
    let prev = &state.previous_version;
    let deployed = state.envs_ended(EnvOutcome::Deployed);
    let day = state
        .started
        .map(|t| format!(" on {}", t.strftime("%Y-%m-%d")))
        .unwrap_or_default();
    let approvers = state.approvers();
    let approved = if approvers.is_empty() {
        String::new()
    } else {
        format!(" Approved by {}.", names(&approvers))
    };
    let failed_analyses: Vec<String> = state
        .envs
        .iter()
        .flat_map(|e| &e.analyses)
        .filter(|a| a.verdict.as_ref().is_some_and(|v| v.word() != "passed"))
        .filter(|a| !state.message.contains(&a.reason))
        .map(|a| {
            format!(
                "{} {}: {}",
                a.name,
                a.verdict.as_ref().map_or("", |v| v.word()),
                a.reason
            )
        })
        .collect();
    let mut out = match outcome {
        Outcome::Released => format!(
            "{rel} replaced {prev} in {}{day}, started by {}.{approved}",
            names(&deployed),
            state.started_by
        ),
        Outcome::RolledBack | Outcome::Rejected | Outcome::Aborted | Outcome::Held => {
            let mut s = format!(
                "{rel} did not ship{day}: {}.{approved}",
                state.message.trim_end_matches('.')
            );
            let back = state.envs_ended(EnvOutcome::RolledBack);
            if !back.is_empty() {
                let envs = || {
                    state
                        .envs
                        .iter()
                        .filter(|e| back.contains(&e.name.as_str()))
                };
                let verified =
                    envs().all(|e| e.verification.as_ref().is_some_and(|v| v.verified()));
                let unchecked = envs().any(|e| e.unverified_undo());
                // "Back on" only when a check saw it.
                s.push_str(&if verified {
                    format!(" {} back on {prev}, verified.", names(&back))
                } else if unchecked {
                    format!(" {} rolled back to {prev} ({NOT_VERIFIED}).", names(&back))
                } else {
                    format!(" {} rolled back to {prev}.", names(&back))
                });
            }
            if !deployed.is_empty() {
                s.push_str(&format!(
                    " {} still {} {}.",
                    names(&deployed),
                    run_or_runs(&deployed),
                    state.version
                ));
            }
            s
        }
        Outcome::Failed => format!(
            "{rel} failed{day}: {}.",
            state.message.trim_end_matches('.')
        ),
        Outcome::Running => format!(
            "{rel} is being released{day}, started by {}.",
            state.started_by
        ),
        Outcome::Interrupted => {
            let running = state.envs.iter().find_map(|e| {
                e.steps
                    .iter()
                    .find(|s| matches!(s.state, StepState::Running | StepState::Waiting))
                    .map(|s| format!("{} in {}", s.label, e.name))
            });
            format!(
                "{rel} was interrupted{day}: its engine stopped without finishing{}.",
                running.map(|r| format!(" during {r}")).unwrap_or_default()
            )
        }
    };
    if !failed_analyses.is_empty() && outcome != Outcome::Released {
        out.push_str(&format!(" Analysis: {}.", failed_analyses.join("; ")));
    }
    out.push_str(" Next: ");
    out.push_str(match outcome {
        Outcome::Released => "watch the release's metrics for a day, then retire the previous version.",
        Outcome::RolledBack | Outcome::Failed => {
            "find and fix the cause before releasing again; the journal and this dossier hold the evidence."
        }
        Outcome::Rejected => "address the reviewers' objection before asking again.",
        Outcome::Aborted => "decide whether to release again once the reason for the abort is gone.",
        Outcome::Held => "a person must settle the held environment by hand.",
        Outcome::Running => "follow the run to its end.",
        Outcome::Interrupted => {
            "check what each environment runs now, then recover the run or roll it back by hand."
        }
    });
    out
}
