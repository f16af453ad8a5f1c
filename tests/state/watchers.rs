//! Who is here, and clocks people can quote, in the cockpit's state: the
//! watcher list the run's socket sends is folded in like a record (bounded,
//! names neutralised, redrawn only when it changes); a decision someone
//! else made is a toast naming them, one this cockpit's user made is not
//! repeated; a paused run keeps its own clock.

use slate::cockpit::app::App;
use slate::cockpit::keymap::Keymap;
use slate::engine::event::*;

use crate::common;
use common::state::*;

fn at_gate() -> (App, Vec<Record>) {
    let src = plan(false, false);
    let mut app = app_on(&src, Keymap::default());
    let recs = records(at_gate_events(&src));
    for r in &recs {
        app.apply_record(r);
    }
    (app, recs)
}

fn next(recs: &[Record], event: Event) -> Record {
    let last = recs.last().unwrap();
    Record {
        seq: last.seq + 1,
        ts: last.ts + jiff::SignedDuration::from_secs(1),
        event,
    }
}

#[test]
fn watchers_are_folded_in_bounded_and_neutralised_and_only_a_change_redraws() {
    let (mut app, _) = at_gate();
    let mut w = watchers(&[(2, "bob\x1b]0;pwned\x07", true, 30)]);
    w.list
        .extend((3..100).map(|id| slate::control::presence::Watcher {
            id,
            user: "x".repeat(500),
            read_only: false,
            since: t0(),
        }));
    app.dirty = false;
    app.set_watchers(w.clone());
    assert!(app.dirty, "a new list is drawn");
    let got = app.watchers.as_ref().unwrap();
    assert!(got.list.len() <= slate::control::presence::MAX_LISTED + 1);
    assert!(
        got.list
            .iter()
            .all(|x| !x.user.contains('\x1b') && !x.user.contains('\x07'))
    );
    assert!(got.list.iter().all(|x| x.user.chars().count() <= 33));
    app.dirty = false;
    app.set_watchers(w);
    assert!(!app.dirty, "the same list again changes nothing on screen");
}

#[test]
fn a_decision_by_someone_else_is_a_toast_naming_them() {
    let (mut app, recs) = at_gate();
    app.set_watchers(watchers(&[(2, "bob", false, 30)]));
    // bob, from his own cockpit.
    app.apply_record(&next(
        &recs,
        Event::Approved {
            env: 1,
            step: 0,
            gate: "go".into(),
            actor: actor("bob", "cockpit"),
            comment: "LGTM".into(),
            source: ApprovalSource::Operator,
        },
    ));
    assert_eq!(toast(&app), "bob approved go: LGTM");
}

#[test]
fn this_users_own_cockpit_decision_is_not_told_twice() {
    let (mut app, recs) = at_gate();
    app.set_watchers(watchers(&[(2, "bob", false, 30)]));
    app.toast = None;
    app.apply_record(&next(
        &recs,
        Event::Approved {
            env: 1,
            step: 0,
            gate: "go".into(),
            actor: actor("alice", "cockpit"),
            comment: "mine".into(),
            source: ApprovalSource::Operator,
        },
    ));
    assert_eq!(toast(&app), "", "the reply to alice's own command says it");
    // Through the CLI it is news to the cockpit, whoever sent it.
    app.apply_record(&next(
        &recs,
        Event::Rejected {
            env: 1,
            step: 0,
            gate: "go".into(),
            actor: actor("alice", "cli"),
            reason: "from the shell".into(),
        },
    ));
    assert_eq!(toast(&app), "alice rejected go: from the shell");
}

#[test]
fn a_paused_run_keeps_its_own_clock_until_resumed() {
    let (mut app, recs) = at_gate();
    let paused = next(
        &recs,
        Event::Paused {
            env: None,
            step: None,
        },
    );
    app.apply_record(&paused);
    assert_eq!(app.run.paused_since, Some(paused.ts));
    // A second Paused (a recovery re-journals it) keeps the first moment.
    let again = Record {
        seq: paused.seq + 1,
        ts: paused.ts + jiff::SignedDuration::from_secs(5),
        event: Event::Paused {
            env: None,
            step: None,
        },
    };
    app.apply_record(&again);
    assert_eq!(app.run.paused_since, Some(paused.ts));
    app.apply_record(&Record {
        seq: again.seq + 1,
        ts: again.ts,
        event: Event::Resumed {
            actor: actor("bob", "cli"),
        },
    });
    assert_eq!(app.run.paused_since, None);
}
