//! Snapshots of the cockpit in replay mode: the same screens as a live run,
//! with the replay banner, the player's keys and read-only refusals.
//!
//! The records come from a real engine run of a small plan (so the screens
//! follow the engine as it evolves), normalised so they are the same on every
//! machine: timestamps, durations, pids, run ids and user names.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test screens replay::`
//! and review every changed `.snap` as a screen.

use std::sync::OnceLock;

use jiff::SignedDuration;
use slate::cockpit::app::{App, Effect, Modal};
use slate::cockpit::replay::Replay;
use slate::engine::Action;
use slate::engine::event::{Event, Record};

use crate::common;
use common::render::*;

const PLAN: &str = common::release_plan!("checkout" "2.4.0" from "2.3.1" by "release-manager"; r#"
[[environments]]
name = "staging"
config = { replicas = 2 }

[[environments]]
name = "prod"
config = { replicas = 4 }
gates = ["prod-approval"]

[[stages]]
name = "build"
environments = ["staging"]
command = 'echo "built checkout $SLATE_VERSION"'

[[stages]]
name = "deploy"
command = 'echo "deploying $SLATE_ENV"; echo "rolled out 100%"'
rollback = 'echo "scaling $SLATE_ENV back"'

[[gates]]
name = "prod-approval"
kind = "manual"
"#);

/// How long prod waited for alice, in the normalised records.
const GATE_WAIT: SignedDuration = SignedDuration::from_mins(47);

/// The run's records, normalised; alice approves prod after a long wait.
fn records() -> &'static [Record] {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let raw = rt.block_on(run_engine(PLAN, |event| match event {
            Event::GateWaiting { gate, .. } => Some((
                Action::Approve {
                    gate: Some(gate.clone()),
                    comment: "dashboards green".into(),
                },
                None,
            )),
            _ => None,
        }));
        let mut after_gate = false;
        raw.iter()
            .map(|r| {
                // Everything after the gate happened GATE_WAIT later.
                let ts = ts_for(r.seq)
                    + if after_gate {
                        GATE_WAIT
                    } else {
                        SignedDuration::ZERO
                    };
                let n = normalise(r, ts);
                after_gate |= matches!(r.event, Event::GateWaiting { .. });
                n
            })
            .collect()
    })
}

/// A replay of the run at 4×, paused at prod's gate (reached with `n`).
fn paused_at_gate() -> (App, Replay) {
    let mut app = plan_app(PLAN, theme("default"));
    let mut replay =
        Replay::new(records().to_vec(), 4.0, jiff::tz::TimeZone::UTC, &mut app).expect("a replay");
    press(&mut app, &mut replay, 'n');
    (app, replay)
}

fn press(app: &mut App, replay: &mut Replay, c: char) {
    for e in app.on_key(key(c)) {
        match e {
            Effect::Replay(c) => replay.control(app, c),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The cockpit's screen at `w`×`h`, the animation frame reset first.
fn render_replay(
    app: &mut App,
    w: u16,
    h: u16,
) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    app.frame = 0;
    render(app, w, h)
}

#[test]
fn replay_paused_at_the_gate() {
    let (mut app, _replay) = paused_at_gate();
    let term = render_replay(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    let view = app.replay.as_ref().unwrap();
    let clock = view.clock.strftime("%H:%M:%S");
    let banner = format!(
        "‖ REPLAY 4× · {clock} · {}/{} · paused",
        view.pos, view.total
    );
    assert!(screen.contains(&banner), "{banner}\n{screen}");
    assert!(screen.contains("WAITING FOR APPROVAL"), "{screen}");
    assert!(
        screen.contains("⏭ gate prod-approval waiting in prod"),
        "{screen}"
    );
    assert!(!screen.contains("a decides"), "no approve hint in a replay");
    assert!(
        screen.contains("Space play"),
        "the player's keys in the footer"
    );
    insta::assert_snapshot!("replay_paused_at_gate_120x40", term.backend());
}

#[test]
fn approving_in_a_replay_is_refused_on_screen() {
    let (mut app, mut replay) = paused_at_gate();
    press(&mut app, &mut replay, 'a');
    assert!(app.modal.is_none());
    let screen = text(render_replay(&mut app, 120, 40).backend().buffer());
    assert!(
        screen.contains("✘ read-only (replay): approve is not available"),
        "{screen}"
    );
}

#[test]
fn replay_help_lists_the_player_keys_and_what_they_take_over() {
    let (mut app, _replay) = paused_at_gate();
    app.on_key(key('?'));
    assert!(matches!(app.modal, Some(Modal::Help { .. })));
    // Tall enough for the whole help, replay group included.
    let term = render_replay(&mut app, 100, 64);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("release (read-only in this replay"),
        "{screen}"
    );
    assert!(screen.contains("jump to the next gate"), "{screen}");
    assert!(
        screen.contains("in a replay these replace: → (next environment)"),
        "{screen}"
    );
    assert!(screen.contains("p (pause / resume"), "{screen}");
    insta::assert_snapshot!("replay_help_100x64", term.backend());
}

#[test]
fn replay_screens_draw_at_every_size() {
    let (mut app, mut replay) = paused_at_gate();
    for (w, h) in [(60, 16), (80, 24), (100, 30), (200, 60)] {
        let screen = text(render_replay(&mut app, w, h).backend().buffer());
        assert!(screen.contains("REPLAY 4×"), "{w}x{h}:\n{screen}");
    }
    // Played to the end, the banner says so.
    press(&mut app, &mut replay, '$');
    let screen = text(render_replay(&mut app, 120, 40).backend().buffer());
    assert!(screen.contains("■ REPLAY 4×"), "{screen}");
    assert!(screen.contains(" · end "), "{screen}");
    assert!(screen.contains("RELEASED"), "{screen}");
}
