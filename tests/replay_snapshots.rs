//! Snapshots of the cockpit in replay mode: the same screens as a live run,
//! with the replay banner, the player's keys and read-only refusals.
//!
//! The records come from a real engine run of a small plan (so the screens
//! follow the engine as it evolves), normalised so they are the same on every
//! machine: timestamps, durations, pids, run ids and user names.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test replay_snapshots`
//! and review every changed `.snap` as a screen.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use slate::cockpit::app::{App, Effect, Modal};
use slate::cockpit::keymap::Keymap;
use slate::cockpit::replay::Replay;
use slate::cockpit::theme::Theme;
use slate::engine::event::{Actor, Event, Record};
use slate::engine::{Action, Engine, EngineOptions, Unattended};

const PLAN: &str = r#"
[release]
name = "checkout"
version = "2.4.0"
previous_version = "2.3.1"
owner = "release-manager"

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
"#;

const BASE_DIR: &str = "/srv/releases/checkout";
/// How long prod waited for alice, in the normalised records.
const GATE_WAIT: SignedDuration = SignedDuration::from_mins(47);

fn actor(user: &str, via: &str) -> Actor {
    Actor {
        user: user.into(),
        uid: 1000,
        via: via.into(),
    }
}

/// The run's records, normalised; alice approves prod after a long wait.
fn records() -> &'static [Record] {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let raw = rt.block_on(run_engine());
        let mut after_gate = false;
        raw.iter()
            .map(|r| {
                let n = normalise(r, after_gate);
                after_gate |= matches!(r.event, Event::GateWaiting { .. });
                n
            })
            .collect()
    })
}

async fn run_engine() -> Vec<Record> {
    let home = tempfile::TempDir::new().unwrap();
    let work = tempfile::TempDir::new().unwrap();
    let plan = slate::plan::parse(PLAN, "release.toml", work.path().to_path_buf())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = EngineOptions::new(
        "release.toml",
        home.path(),
        actor("release-manager", "cockpit"),
    );
    opts.unattended = Unattended::Wait;
    opts.durable = false;
    let (engine, handle) = Engine::new(plan, opts).unwrap();
    let mut rx = handle.subscribe();
    let task = tokio::spawn(engine.run());
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rec = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("the run finished in time")
            .expect("event stream open");
        let event = rec.event.clone();
        seen.push(rec);
        match event {
            Event::GateWaiting { gate, .. } => {
                let reply = handle
                    .send(
                        actor("alice", "cockpit"),
                        Action::Approve {
                            gate: Some(gate),
                            comment: "dashboards green".into(),
                        },
                    )
                    .await;
                assert!(reply.is_ok(), "{reply:?}");
            }
            Event::RunFinished { .. } => break,
            _ => {}
        }
    }
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("engine stopped")
        .unwrap();
    seen
}

fn ts_for(seq: u64, after_gate: bool) -> Timestamp {
    let base: Timestamp = "2025-03-14T09:00:00Z".parse().unwrap();
    let t = base + SignedDuration::from_millis(seq as i64 * 250);
    if after_gate { t + GATE_WAIT } else { t }
}

fn normalise(rec: &Record, after_gate: bool) -> Record {
    let mut r = rec.clone();
    r.ts = ts_for(r.seq, after_gate);
    let fixed = |a: &Actor| actor(if a.via == "engine" { "slate" } else { &a.user }, &a.via);
    match &mut r.event {
        Event::RunStarted {
            run_id,
            plan_path,
            actor,
            pid,
            ..
        } => {
            *run_id = "20250314-090000-snap".into();
            *plan_path = format!("{BASE_DIR}/release.toml");
            *actor = fixed(actor);
            *pid = 4242;
        }
        Event::ProcessStarted { pid, pgid, .. } => {
            *pid = 31337;
            *pgid = 31337;
        }
        Event::StepFinished { duration_ms, .. } => *duration_ms = 1200,
        Event::Approved { actor, .. } | Event::CommandRefused { actor, .. } => {
            *actor = fixed(actor)
        }
        _ => {}
    }
    r
}

/// A replay of the run at 4×, paused at prod's gate (reached with `n`).
fn paused_at_gate() -> (App, Replay) {
    let plan = slate::plan::parse(PLAN, "release.toml", PathBuf::from(BASE_DIR)).unwrap();
    let theme = Theme::builtin("default").unwrap().unwrap();
    let mut app = App::new(plan, Keymap::default(), theme);
    let mut replay =
        Replay::new(records().to_vec(), 4.0, jiff::tz::TimeZone::UTC, &mut app).expect("a replay");
    press(&mut app, &mut replay, 'n');
    (app, replay)
}

fn press(app: &mut App, replay: &mut Replay, c: char) {
    for e in app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)) {
        match e {
            Effect::Replay(c) => replay.control(app, c),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    app.view.size = Rect::new(0, 0, w, h);
    app.frame = 0;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| slate::cockpit::ui::draw(f, app)).unwrap();
    terminal
}

fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn replay_paused_at_the_gate() {
    let (mut app, _replay) = paused_at_gate();
    let term = render(&mut app, 120, 40);
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
    let screen = text(render(&mut app, 120, 40).backend().buffer());
    assert!(
        screen.contains("✘ read-only (replay): approve is not available"),
        "{screen}"
    );
}

#[test]
fn replay_help_lists_the_player_keys_and_what_they_take_over() {
    let (mut app, _replay) = paused_at_gate();
    app.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    assert!(matches!(app.modal, Some(Modal::Help { .. })));
    // Tall enough for the whole help, replay group included.
    let term = render(&mut app, 100, 64);
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
        let screen = text(render(&mut app, w, h).backend().buffer());
        assert!(screen.contains("REPLAY 4×"), "{w}x{h}:\n{screen}");
    }
    // Played to the end, the banner says so.
    press(&mut app, &mut replay, '$');
    let screen = text(render(&mut app, 120, 40).backend().buffer());
    assert!(screen.contains("■ REPLAY 4×"), "{screen}");
    assert!(screen.contains(" · end "), "{screen}");
    assert!(screen.contains("RELEASED"), "{screen}");
}
