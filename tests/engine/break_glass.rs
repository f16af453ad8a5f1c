//! Break-glass needing a second person (`break_glass_second`), through the
//! engine's API with a real admission in front of it: prod is frozen until
//! the glass is broken. The request is journaled and the run waits; the
//! person who asked may not approve it (refused, journaled); someone the
//! policy does not allow may not either; an allowed second person lets the
//! run cross, journaled as the approval and then the crossing; a rejection
//! leaves the run held back as without break-glass. Every notice of it goes
//! to a real HTTP receiver on 127.0.0.1, whatever the channel's `events`.

use std::sync::{Arc, Mutex};

use slate::engine::admission::{Admission, Admit, Ask, Barrier, BarrierKind};
use slate::engine::event::{Event, Record};
use slate::engine::{Action, RunOutcome, RunState};

use crate::common;
use common::engine::*;

/// Prod is frozen for everyone but a break-glass run; records every ask.
struct Frozen {
    asks: Mutex<Vec<bool>>,
}

fn freeze() -> Barrier {
    Barrier {
        kind: BarrierKind::Freeze,
        message: "prod is frozen: holiday freeze until Mon 08:00 UTC".into(),
        holder: None,
        run_id: None,
        since: None,
        until: None,
        reason: "holiday".into(),
        stale: false,
    }
}

impl Admission for Frozen {
    fn enter(&self, ask: &Ask) -> Admit {
        self.asks.lock().unwrap().push(ask.break_glass);
        if ask.break_glass {
            Admit::Granted
        } else {
            Admit::Blocked(freeze())
        }
    }
    fn reenter(&self, _: &Ask) {}
    fn in_flight(&self, _: &Ask) -> Option<Barrier> {
        None
    }
    fn leave(&self, _: &str, _: Option<&str>) {}
}

/// prod, frozen; `starter` asks to break glass with a hostile reason; the
/// team's policy lets starter, bob and carol break glass, with a second person.
pub fn start_frozen(channels: &str) -> Run {
    frozen(channels, |o| o.break_glass = Some(REASON.into()))
}

fn frozen(channels: &str, tweak: impl FnOnce(&mut slate::engine::EngineOptions)) -> Run {
    start_engine(
        &format!("{}{channels}", prod_deploy("", "", "")),
        tweak,
        |e| {
            e.set_admission(Arc::new(Frozen {
                asks: Mutex::new(Vec::new()),
            }));
            e.set_break_glass_policy(
                Some(vec!["starter".into(), "bob".into(), "carol".into()]),
                true,
            );
        },
    )
}

pub const REASON: &str = "CVE-2026-1\n\u{1b}[31mhotfix";

fn approve(comment: &str) -> Action {
    Action::Approve {
        gate: Some("break-glass".into()),
        comment: comment.into(),
    }
}

fn refusals(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::CommandRefused { actor, reason, .. } => {
                Some((actor.user.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_second_person_approves_and_the_run_crosses_but_never_the_requester() {
    let mut run = start_frozen("");
    run.until("the request", |e| {
        matches!(e, Event::BreakGlassRequested { .. })
    })
    .await;
    // Waiting: the state says so, and nothing entered prod.
    let waiting = RunState::replay(&run.seen);
    let w = waiting.glass_wait.as_ref().expect("a break-glass waits");
    assert_eq!(w.actor.user, "starter");
    assert_eq!(w.reason, REASON);
    assert!(!common::engine::types(&run.seen).contains(&"env_started"));
    // Whoever asked may not approve it; someone the policy does not allow may not either.
    let own = run.send("starter", approve("mine")).await.unwrap_err();
    assert_eq!(
        own,
        "four-eyes: starter asked for this break-glass into prod, so someone else must approve it"
    );
    let outsider = run.send("mallory", approve("me too")).await.unwrap_err();
    assert!(
        outsider.contains(
            "mallory may not approve a break-glass into prod (allowed: starter, bob, carol)"
        ),
        "{outsider}"
    );
    assert_eq!(
        run.send("bob", approve("seen the CVE")).await,
        Ok("approved the break-glass into prod".into())
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(
        state.outcome,
        Some(RunOutcome::Released),
        "{}",
        state.message
    );
    assert_eq!(
        refusals(&records),
        [("starter".into(), own), ("mallory".into(), outsider)]
    );
    let order: Vec<&str> = records
        .iter()
        .map(|r| r.event.type_name())
        .filter(|t| t.starts_with("break_glass") || *t == "env_started" || *t == "env_locked")
        .collect();
    assert_eq!(
        order,
        [
            "break_glass_requested",
            "break_glass_approved",
            "break_glass",
            "env_locked",
            "env_started"
        ]
    );
    let glass = state.break_glass.first().expect("crossed");
    assert_eq!(glass.user, "starter");
    assert_eq!(
        glass.approved_by,
        Some(("bob".to_string(), "seen the CVE".to_string()))
    );
    assert!(state.glass_wait.is_none());
    // The ledger row says how the version got in: who broke the glass, why, who approved.
    let rows = slate::store::ledger::deployments(&state, false, &[]);
    let hows: Vec<(&str, &str, &str)> = rows[0]
        .approvals
        .iter()
        .map(|a| (a.user.as_str(), a.how.as_str(), a.comment.as_str()))
        .collect();
    assert_eq!(
        hows,
        [
            ("starter", "break_glass", REASON),
            ("bob", "break_glass_approved", "seen the CVE")
        ]
    );
}

#[tokio::test]
async fn a_rejected_break_glass_leaves_the_run_held_back_as_without_it() {
    let mut run = start_frozen("");
    run.until("the request", |e| {
        matches!(e, Event::BreakGlassRequested { .. })
    })
    .await;
    assert_eq!(
        run.send(
            "carol",
            Action::Reject {
                gate: None,
                reason: "not for this".into()
            }
        )
        .await,
        Ok("rejected the break-glass into prod".into())
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Failed), "{}", state.message);
    assert!(
        state.message.contains("prod is frozen"),
        "{}",
        state.message
    );
    assert!(ledger.is_empty());
    assert!(state.break_glass.is_empty());
    assert!(!common::engine::types(&records).contains(&"env_started"));
    let order: Vec<&str> = records
        .iter()
        .map(|r| r.event.type_name())
        .filter(|t| t.starts_with("break_glass") || t.starts_with("env_"))
        .collect();
    assert_eq!(
        order,
        [
            "break_glass_requested",
            "break_glass_rejected",
            "env_blocked"
        ]
    );
}

/// The cockpit's `B`: a run waiting for a freeze (`lock_wait`) is asked to
/// break the glass by whoever presses it, under the same policy: someone
/// it does not allow is refused (journaled), a blank reason too; someone it
/// allows asks, and with a second person's approval the run crosses.
#[tokio::test]
async fn breaking_the_glass_of_a_waiting_run_follows_the_same_policy() {
    let mut run = frozen("", |o| {
        o.lock_wait = Some(std::time::Duration::from_secs(60));
    });
    run.until("waiting for the freeze", |e| {
        matches!(e, Event::EnvBlocked { until: Some(_), .. })
    })
    .await;
    let glass = |reason: &str| Action::BreakGlass {
        reason: reason.into(),
    };
    assert_eq!(
        run.send("carol", glass("  ")).await,
        Err("a break-glass needs a reason: say why the line is crossed".into())
    );
    let refused = run.send("mallory", glass("mine")).await.unwrap_err();
    assert!(
        refused.contains("mallory may not break glass into prod (allowed: starter, bob, carol)"),
        "{refused}"
    );
    assert_eq!(
        run.send("carol", glass("pager says so")).await,
        Ok("break-glass into prod asked for: it waits for a second person's approval".into())
    );
    run.until("the request", |e| {
        matches!(e, Event::BreakGlassRequested { .. })
    })
    .await;
    assert_eq!(
        run.send("carol", approve("")).await,
        Err("four-eyes: carol asked for this break-glass into prod, so someone else must approve it".into())
    );
    assert_eq!(
        run.send("starter", approve("fine")).await,
        Ok("approved the break-glass into prod".into())
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(
        state.outcome,
        Some(RunOutcome::Released),
        "{}",
        state.message
    );
    let g = &state.break_glass[0];
    assert_eq!(
        (g.user.as_str(), g.reason.as_str()),
        ("carol", "pager says so")
    );
    assert!(common::engine::types(&records).contains(&"break_glass_refused"));
}
