//! Section 2, Environment Matrix: each environment's version before and after,
//! config deltas, approval status and outcome.

use super::input::Input;
use super::md::{self, Table};
use crate::engine::event::{ApprovalSource, EnvOutcome, Event};
use crate::engine::state::{EnvStatus, NOT_VERIFIED, Verification};
use crate::plan::ConfigDelta;
use crate::runs::Outcome;

pub fn write(out: &mut String, input: &Input) {
    let s = &input.state;
    md::heading(out, 2, "Environment Matrix");
    let mut t = Table::new(&[
        "Environment",
        "Strategy",
        "Version before → after",
        "Config deltas",
        "Approval",
        "Outcome",
    ]);
    for (i, e) in s.envs.iter().enumerate() {
        // What was live there by the ledger when the run entered; the
        // plan's `previous_version` only where the run compared nothing.
        let live = e
            .change
            .as_deref()
            .and_then(|c| c.live.as_ref())
            .map(|l| l.version.as_str());
        let was = live.unwrap_or(&s.previous_version);
        let before = match (live, e.change.as_deref()) {
            (Some(v), _) => md::code(v),
            (None, Some(c)) if c.first() => {
                format!("{} (per the plan; the ledger had none)", md::code(was))
            }
            (None, _) => md::code(was),
        };
        if input.planned {
            t.row(vec![
                md::text(&e.name),
                e.strategy.clone(),
                format!("{before} → {} (planned)", md::code(&s.version)),
                deltas(input, i),
                super::planned::approval(input, i),
                "planned".into(),
            ]);
            continue;
        }
        let after = match e.status {
            EnvStatus::Done(EnvOutcome::Deployed) => md::code(&s.version),
            EnvStatus::Done(EnvOutcome::RolledBack) => format!("{} (rolled back)", md::code(was)),
            EnvStatus::Done(EnvOutcome::Held) => "partly changed (held)".into(),
            EnvStatus::Pending => "unchanged (not reached)".into(),
            _ if input.summary.outcome == Outcome::Interrupted => {
                "unknown (interrupted mid-change)".into()
            }
            _ => "in progress".into(),
        };
        t.row(vec![
            md::text(&e.name),
            e.strategy.clone(),
            format!("{before} → {after}"),
            deltas(input, i),
            approval(input, i),
            outcome(input, i),
        ]);
    }
    t.write(out);
    if !input.planned {
        changes(out, input);
        super::artifacts::write(out, input);
    }
}

/// What each promotion changed against what the ledger said was live in
/// its environment, as the run journaled it when it took the lock.
fn changes(out: &mut String, input: &Input) {
    let s = &input.state;
    let with: Vec<_> = s
        .envs
        .iter()
        .filter_map(|e| e.change.as_deref().map(|c| (e, c)))
        .collect();
    if with.is_empty() {
        return;
    }
    md::heading(out, 3, "What changed against what was live");
    for (e, c) in with {
        let mut items = vec![md::text(&crate::change::summary(c))];
        items.extend(
            crate::change::rows(c)
                .into_iter()
                .map(|r| md::code(&format!("{} {}", r.mark.sign(), r.text))),
        );
        md::para(
            out,
            &format!("**{}**", md::text(&crate::change::headline(c, &e.name))),
        );
        md::bullets(out, &items);
    }
}

fn deltas(input: &Input, env: usize) -> String {
    let Some(plan) = &input.plan else {
        return "unknown (plan unreadable)".into();
    };
    if env >= plan.environments.len() {
        return String::new();
    }
    let d = plan.config_deltas(env);
    if d.is_empty() {
        return if env == 0 {
            "no config".into()
        } else {
            "same as previous".into()
        };
    }
    d.iter()
        .map(|d| match d {
            ConfigDelta::Added(k, v) => md::code(&format!("+{k}={v}")),
            ConfigDelta::Changed(k, a, b) => md::code(&format!("~{k}: {a} → {b}")),
            ConfigDelta::Removed(k, _) => md::code(&format!("-{k}")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn approval(input: &Input, env: usize) -> String {
    let mut parts = Vec::new();
    let mut waited = false;
    for (r, ev) in input.events() {
        match ev {
            Event::GateWaiting { env: e, .. } if *e == env => waited = true,
            Event::Approved {
                env: e,
                gate,
                actor,
                comment,
                source,
                ..
            } if *e == env => {
                let how = match source {
                    ApprovalSource::Operator => String::new(),
                    ApprovalSource::PreApproved => " (pre-approved with --approve)".into(),
                    ApprovalSource::AutoApproved => " (--auto-approve)".into(),
                };
                let said = if comment.trim().is_empty() {
                    String::new()
                } else {
                    format!(": “{}”", md::text(comment.trim()))
                };
                parts.push(format!(
                    "✔ {} approved {} at {}{how}{said}",
                    md::text(&actor.user),
                    md::text(gate),
                    md::time(r.ts),
                ));
            }
            Event::Promoted {
                env: e,
                full,
                actor,
                reason,
                skipped,
                ..
            } if *e == env => parts.push(format!(
                "⏩ {} promoted{} at {}: “{}”",
                md::text(&actor.user),
                if *full {
                    format!(
                        " to the last rollout step (--full, {} step(s) skipped)",
                        skipped.len()
                    )
                } else {
                    String::new()
                },
                md::time(r.ts),
                md::text(reason)
            )),
            Event::WeightHeld {
                env: e,
                weight,
                actor,
                reason,
                ..
            } if *e == env => parts.push(format!(
                "⏸ {} held the canary at {weight}% at {}: “{}”",
                md::text(&actor.user),
                md::time(r.ts),
                md::text(reason)
            )),
            Event::Rejected {
                env: e,
                gate,
                actor,
                reason,
                ..
            } if *e == env => parts.push(format!(
                "✘ {} rejected {} at {}: “{}”",
                md::text(&actor.user),
                md::text(gate),
                md::time(r.ts),
                md::text(reason)
            )),
            _ => {}
        }
    }
    if parts.is_empty() {
        let has_gate = input
            .state
            .envs
            .get(env)
            .is_some_and(|e| e.steps.iter().any(|s| s.kind == "gate"));
        return match (waited, has_gate) {
            (true, _) => "⏳ waited for approval, undecided".into(),
            (false, true) => "gates not reached or automatic".into(),
            (false, false) => "no gate".into(),
        };
    }
    parts.join("; ")
}

fn outcome(input: &Input, env: usize) -> String {
    let e = &input.state.envs[env];
    let verified = match &e.verification {
        Some(v) if v.verified() => ", verified".to_string(),
        Some(Verification::Failed { .. }) => ", verification failed".to_string(),
        _ if e.unverified_undo() => format!(" ({})", md::text(NOT_VERIFIED)),
        _ => String::new(),
    };
    match e.status {
        EnvStatus::Done(EnvOutcome::Deployed) => "✔ deployed".into(),
        EnvStatus::Done(EnvOutcome::RolledBack) => format!(
            "✘ rolled back{verified}: {}",
            md::text(e.rollback_reason.as_deref().unwrap_or(""))
        ),
        EnvStatus::Done(EnvOutcome::Held) => "✘ held".into(),
        EnvStatus::Pending => "not reached".into(),
        _ if input.summary.outcome == Outcome::Interrupted => {
            format!("⚠ interrupted while {}", e.status.word())
        }
        other => other.word().into(),
    }
}
