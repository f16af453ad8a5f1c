//! The header with who else follows the run (a read-only watcher and a
//! steering one) at 80×24 and 200×50, and a paused run's clock.

use slate::cockpit::app::App;
use slate::cockpit::keymap::Keymap;
use slate::engine::event::*;

use crate::common;
use common::state::*;

fn screen(app: &mut App, w: u16, h: u16) -> String {
    common::render::text(common::render::render(app, w, h).backend().buffer())
}

fn attached_at_gate() -> App {
    let src = plan(false, false);
    let mut app = app_on(&src, Keymap::default());
    for r in records(at_gate_events(&src)) {
        app.apply_record(&r);
    }
    app.attached = true;
    app.set_watchers(watchers(&[(2, "bob", true, 300), (3, "carol", false, 12)]));
    app.now = t0() + jiff::SignedDuration::from_secs(60);
    app.toast = None;
    app
}

#[test]
fn snapshot_the_header_with_watchers_at_80x24() {
    let mut app = attached_at_gate();
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("bob"), "{s}");
    insta::assert_snapshot!("watchers_80x24", s);
}

#[test]
fn snapshot_the_header_with_watchers_at_200x50() {
    let mut app = attached_at_gate();
    let s = screen(&mut app, 200, 50);
    assert!(
        s.contains("also here: bob watching 5m, carol steering <1m"),
        "{s}"
    );
    assert!(!s.contains("alice"), "this cockpit is not listed: {s}");
    insta::assert_snapshot!("watchers_200x50", s);
}

#[test]
fn snapshot_a_paused_run_counting_seconds_then_minutes() {
    let src = plan(false, false);
    let mut app = app_on(&src, Keymap::default());
    let mut recs = records(at_gate_events(&src));
    recs.pop(); // not at the gate: paused before it
    let last = recs.last().unwrap().clone();
    recs.push(Record {
        seq: last.seq + 1,
        ts: last.ts,
        event: Event::PauseRequested {
            actor: actor("bob", "cli"),
            reason: None,
        },
    });
    recs.push(Record {
        seq: last.seq + 2,
        ts: last.ts,
        event: Event::Paused {
            env: Some(1),
            step: Some(0),
        },
    });
    for r in &recs {
        app.apply_record(r);
    }
    app.toast = None;
    app.now = last.ts + jiff::SignedDuration::from_secs(42);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("‖ paused 42s"), "{s}");
    insta::assert_snapshot!("paused_42s_80x24", s);
    app.now = last.ts + jiff::SignedDuration::from_secs(11 * 60 + 5);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("‖ paused 11m"), "{s}");
    assert!(!s.contains("11m 05s"), "{s}");
}
