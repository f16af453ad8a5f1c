//! The cockpit says what keeps a run out of an environment (another run's
//! lock, a hold, a freeze) and a break-glass in effect, in its header, from
//! the records alone; hostile text in them is shown, never sent.

use crate::common;

use common::actor;
use common::render::*;
use jiff::Timestamp;
use slate::engine::admission::{Barrier, BarrierKind};
use slate::engine::{Event, Record};

const PLAN: &str = r#"
[release]
name = "pay"
version = "2"
previous_version = "1"
owner = "qa"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = "true"
"#;

fn rec(seq: u64, event: Event) -> Record {
    Record {
        seq,
        ts: Timestamp::from_second(1_780_000_000 + seq as i64).unwrap(),
        event,
    }
}

fn started() -> Record {
    rec(
        1,
        Event::RunStarted {
            run_id: "20260601-000000.000-aaaa".into(),
            plan_path: "release.toml".into(),
            plan_source: PLAN.into(),
            release: "pay".into(),
            version: "2".into(),
            previous_version: "1".into(),
            owner: "qa".into(),
            // The outline the engine journals for PLAN.
            environments: slate::engine::outline(
                &slate::plan::parse(PLAN, "release.toml", ".".into()).expect("PLAN parses"),
            ),
            actor: actor("alice", "headless"),
            pid: 1,
            pre_approved: vec![],
            sealed: vec![],
            auto_approve: false,
            vars: Vec::new(),
            rollback_to: None,
        },
    )
}

fn barrier(message: &str) -> Barrier {
    Barrier {
        kind: BarrierKind::Hold,
        message: message.into(),
        holder: Some("bob".into()),
        run_id: None,
        since: None,
        until: None,
        reason: "incident".into(),
        stale: false,
    }
}

fn header(records: &[Record]) -> String {
    let mut app = plan_app(PLAN, theme("default"));
    for r in records {
        app.apply_record(r);
    }
    app.now = records.last().unwrap().ts;
    let term = render(&mut app, 200, 24);
    text(term.backend().buffer())
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_header_says_what_holds_the_run_back_and_a_break_glass_in_effect() {
    let blocked = rec(
        2,
        Event::EnvBlocked {
            env: 0,
            barrier: barrier("prod is held by bob since 09:00: incident\u{1b}[2J\nnext"),
            until: None,
            in_flight: false,
        },
    );
    let h = header(&[started(), blocked.clone()]);
    assert!(
        h.contains("⏳ prod is held by bob since 09:00: incident"),
        "{h}"
    );
    assert!(!h.contains('\u{1b}'), "{h:?}");
    // The glass is broken: the header flags it, and no longer waits.
    let glass = rec(
        3,
        Event::BreakGlass {
            env: 0,
            actor: actor("alice", "headless"),
            reason: "CVE hotfix".into(),
            crossed: barrier("prod is held by bob"),
            approved_by: None,
        },
    );
    let h = header(&[started(), blocked, glass]);
    assert!(h.contains("⚠ BREAK-GLASS by alice: CVE hotfix"), "{h}");
    assert!(!h.contains('⏳'), "{h}");
}

#[test]
fn the_header_says_a_break_glass_waits_for_a_second_person_until_approved() {
    let asked = rec(
        2,
        Event::BreakGlassRequested {
            env: 0,
            actor: actor("alice", "headless"),
            reason: "CVE\u{1b}]52;c;x\u{7}\nhotfix".into(),
            crossed: barrier("prod is held by bob"),
        },
    );
    let h = header(&[started(), asked.clone()]);
    assert!(h.contains("⏳ BREAK-GLASS asked by alice: CVE"), "{h}");
    assert!(h.contains("for a second person's approval"), "{h}");
    assert!(!h.contains('\u{1b}') && !h.contains('\u{7}'), "{h:?}");
    let approved = rec(
        3,
        Event::BreakGlassApproved {
            env: 0,
            actor: actor("bob", "cli"),
            comment: "ok".into(),
        },
    );
    let crossed = rec(
        4,
        Event::BreakGlass {
            env: 0,
            actor: actor("alice", "headless"),
            reason: "CVE hotfix".into(),
            crossed: barrier("prod is held by bob"),
            approved_by: Some(actor("bob", "cli")),
        },
    );
    let h = header(&[started(), asked, approved, crossed]);
    assert!(
        h.contains("⚠ BREAK-GLASS by alice: CVE hotfix (approved by bob)"),
        "{h}"
    );
    assert!(!h.contains("second person"), "{h}");
}

/// `B` when a freeze (or a hold) keeps the run out: the reason dialog, then
/// the engine's `break_glass` command with it; never for another run's lock.
#[test]
fn b_breaks_the_glass_of_a_freeze_after_asking_why_but_not_of_a_lock() {
    use ratatui::crossterm::event::KeyCode;
    use slate::cockpit::app::{Effect, Modal};
    use slate::cockpit::dialog::reason::Ask;
    use slate::engine::Action;
    let freeze = Barrier {
        kind: BarrierKind::Freeze,
        ..barrier("prod is frozen: holiday until Mon 08:00 UTC")
    };
    let mut app = plan_app(PLAN, theme("default"));
    for r in [
        started(),
        rec(
            2,
            Event::EnvBlocked {
                env: 0,
                barrier: freeze,
                until: Some(Timestamp::from_second(1_790_000_000).unwrap()),
                in_flight: false,
            },
        ),
    ] {
        app.apply_record(&r);
    }
    assert!(app.on_key(key('B')).is_empty());
    assert!(matches!(
        app.modal,
        Some(Modal::Reason {
            ask: Ask::BreakGlass,
            ..
        })
    ));
    let screen = text(render(&mut app, 120, 30).backend().buffer());
    assert!(
        screen.contains("Crosses: prod is frozen: holiday until Mon 08:00 UTC"),
        "{screen}"
    );
    // No reason: the engine's words, and the dialog stays.
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert!(app.modal.is_some());
    for c in "CVE-2026-1".chars() {
        app.on_key(key(c));
    }
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        [Effect::Send(Action::BreakGlass {
            reason: "CVE-2026-1".into()
        })]
    );
    // Another run's lock is never crossed: no dialog.
    let mut app = plan_app(PLAN, theme("default"));
    let lock = Barrier {
        kind: BarrierKind::Lock,
        ..barrier("prod for pay is locked by run r2")
    };
    for r in [
        started(),
        rec(
            2,
            Event::EnvBlocked {
                env: 0,
                barrier: lock,
                until: None,
                in_flight: false,
            },
        ),
    ] {
        app.apply_record(&r);
    }
    assert!(app.on_key(key('B')).is_empty());
    assert!(app.modal.is_none());
    let toast = app
        .toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(toast.contains("no glass to break"), "{toast}");
}

/// The approval dialog (the cockpit's `a`, which the board opens from its
/// inbox) decides a break-glass waiting for a second person too: it says
/// who asked, why and what it crosses, and sends the approval by its name.
#[test]
fn the_approval_dialog_decides_a_break_glass_waiting_for_a_second_person() {
    use ratatui::crossterm::event::KeyCode;
    use slate::cockpit::app::{Effect, Modal};
    use slate::engine::Action;
    let mut app = plan_app(PLAN, theme("default"));
    for r in [
        started(),
        rec(
            2,
            Event::BreakGlassRequested {
                env: 0,
                actor: actor("alice", "headless"),
                reason: "CVE\u{1b}[2J hotfix".into(),
                crossed: barrier("prod is held by bob"),
            },
        ),
    ] {
        app.apply_record(&r);
    }
    app.on_key(key('a'));
    assert!(matches!(app.modal, Some(Modal::Gate { .. })));
    let screen = text(render(&mut app, 120, 30).backend().buffer());
    assert!(screen.contains("Approve the break-glass?"), "{screen}");
    assert!(screen.contains("into prod asked by alice"), "{screen}");
    assert!(screen.contains("to cross: prod is held by bob"), "{screen}");
    assert!(!screen.contains('\u{1b}'), "{screen:?}");
    for c in "seen".chars() {
        app.on_key(key(c));
    }
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        [Effect::Send(Action::Approve {
            gate: Some("break-glass".into()),
            comment: "seen".into()
        })]
    );
}

/// A freeze coming on an environment the run has still to finish is in
/// the header, muted; one in effect in the pause colour; none once the
/// environment is done, and none repeated when the freeze already holds
/// the run back (the engine's words say it).
#[test]
fn the_header_names_the_next_freeze_on_an_environment_still_ahead() {
    use slate::stopline::upcoming::Upcoming;
    let upcoming = |now: bool| Upcoming {
        envs: vec!["prod".into()],
        name: "weekend\u{1b}[2J".into(),
        reason: "quiet\nplease".into(),
        from: (!now).then(|| Timestamp::from_second(1_780_100_000).unwrap()),
        until: Some(Timestamp::from_second(1_780_200_000).unwrap()),
        from_shown: "Sat 2026-05-30 00:00 UTC".into(),
        until_shown: "Mon 2026-06-01 00:00 UTC".into(),
        closed: false,
    };
    let draw = |records: &[Record], freezes: Vec<Upcoming>| {
        let mut app = plan_app(PLAN, theme("default"));
        for r in records {
            app.apply_record(r);
        }
        app.now = records.last().unwrap().ts;
        app.set_freezes(freezes);
        render(&mut app, 200, 24)
    };
    let term = draw(&[started()], vec![upcoming(false)]);
    let h = text(term.backend().buffer());
    let want =
        "❄ prod frozen from Sat 2026-05-30 00:00 UTC until Mon 2026-06-01 00:00 UTC: weekend";
    assert!(h.contains(want), "{h}");
    assert!(!h.contains('\u{1b}'), "{h:?}");
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "❄ prod frozen from");
    assert_eq!(buf[(x, y)].fg, theme("default").muted.fg.unwrap());

    let term = draw(&[started()], vec![upcoming(true)]);
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "❄ prod frozen now: weekend");
    assert_eq!(buf[(x, y)].fg, theme("default").paused.fg.unwrap());

    // Held back by that freeze: the engine's barrier is said, not the note.
    let blocked = rec(
        2,
        Event::EnvBlocked {
            env: 0,
            barrier: Barrier {
                kind: BarrierKind::Freeze,
                ..barrier("prod is frozen: weekend until Mon 00:00 UTC")
            },
            until: None,
            in_flight: false,
        },
    );
    let h = text(
        draw(&[started(), blocked], vec![upcoming(true)])
            .backend()
            .buffer(),
    );
    assert!(h.contains("⏳ prod is frozen: weekend"), "{h}");
    assert!(!h.contains('❄'), "{h}");
}

fn find(buf: &ratatui::buffer::Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let rest: String = (x..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            if rest.starts_with(needle) {
                return (x, y);
            }
        }
    }
    panic!("{needle} not on screen");
}
