//! For snapshot tests of the full-screen views: drawing into ratatui's
//! `TestBackend`, reading a buffer back as text, and making the records of a
//! real in-process engine run the same on every machine (fixed times, pids,
//! run ids, user names, paths).

use std::path::PathBuf;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};
use slate::cockpit::app::App;
use slate::cockpit::keymap::Keymap;
use slate::engine::event::{Actor, Event, Record};
use slate::engine::{Action, Engine, EngineOptions, Unattended};
use slate::tui::theme::Theme;

use crate::actor;

/// Where the App's copy of the plan says it lives (never a temp path).
pub const BASE_DIR: &str = "/srv/releases/checkout";

/// A built-in theme by name.
pub fn theme(name: &str) -> Theme {
    Theme::builtin(name).expect("built-in theme").unwrap()
}

/// A `w`×`h` test terminal with one frame drawn by `ui`.
pub fn draw(w: u16, h: u16, ui: impl FnOnce(&mut Frame)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(ui).unwrap();
    terminal
}

/// The cockpit's screen for `app` at `w`×`h`.
pub fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    app.view.size = Rect::new(0, 0, w, h);
    draw(w, h, |f| slate::cockpit::ui::draw(f, app))
}

/// The buffer as plain text, one line per row; the cells a wide character
/// covers are skipped, so a line reads as a person sees it.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let cell = &buf[(x, y)];
            out.push_str(cell.symbol());
            skip = unicode_width::UnicodeWidthStr::width(cell.symbol()).saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

/// A plain key press of `c`.
pub fn key(c: char) -> KeyEvent {
    code(KeyCode::Char(c))
}

/// A plain key press of `code`.
pub fn code(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// A cockpit App on the plan `src` (said to live in [`BASE_DIR`]), no records yet.
pub fn plan_app(src: &str, theme: Theme) -> App {
    let plan = slate::plan::parse(src, "release.toml", PathBuf::from(BASE_DIR))
        .unwrap_or_else(|e| panic!("{e}"));
    App::new(plan, Keymap::default(), theme)
}

/// What the test sends, as alice from the cockpit, when the engine emits an
/// event, and the reply it expects: `Some(text)` exactly `Ok(text)`, `None`
/// any `Ok`.
pub type Answer = Option<(Action, Option<&'static str>)>;

/// Runs the plan `src` in-process, started by release-manager from the
/// cockpit, until it finishes (30 s at most); `answer` says what to send at
/// each event. Returns every record the run emitted.
pub async fn run_engine(src: &str, mut answer: impl FnMut(&Event) -> Answer) -> Vec<Record> {
    let home = tempfile::TempDir::new().unwrap();
    let work = tempfile::TempDir::new().unwrap();
    let plan = slate::plan::parse(src, "release.toml", work.path().to_path_buf())
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
        if let Some((action, expected)) = answer(&event) {
            let reply = handle.send(actor("alice", "cockpit"), action).await;
            match expected {
                Some(text) => assert_eq!(reply, Ok(text.into())),
                None => assert!(reply.is_ok(), "{reply:?}"),
            }
        }
        if matches!(event, Event::RunFinished { .. }) {
            break;
        }
    }
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("engine stopped")
        .unwrap();
    seen
}

/// When the normalised runs start.
pub fn base_ts() -> Timestamp {
    "2025-03-14T09:00:00Z".parse().unwrap()
}

/// The normalised time of the record numbered `seq`: a quarter second apart.
pub fn ts_for(seq: u64) -> Timestamp {
    base_ts() + SignedDuration::from_millis(seq as i64 * 250)
}

/// The engine's own actor is always "slate"; people keep their names.
fn fixed_actor(a: &Actor) -> Actor {
    actor(if a.via == "engine" { "slate" } else { &a.user }, &a.via)
}

/// Makes a record machine- and run-independent, stamped at `ts`.
pub fn normalise(rec: &Record, ts: Timestamp) -> Record {
    let mut r = rec.clone();
    r.ts = ts;
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
            *actor = fixed_actor(actor);
            *pid = 4242;
        }
        Event::ProcessStarted { pid, pgid, .. } => {
            *pid = 31337;
            *pgid = 31337;
        }
        Event::StepFinished { duration_ms, .. }
        | Event::RollbackStepFinished { duration_ms, .. } => *duration_ms = 1200,
        Event::RetryScheduled { delay_ms, .. } => *delay_ms = 1000,
        Event::TimerStarted { started, .. } => *started = ts,
        Event::CheckResult { ok, latency_ms, .. } => *latency_ms = if *ok { 42 } else { 180 },
        Event::Approved { actor, .. }
        | Event::Rejected { actor, .. }
        | Event::CommandRefused { actor, .. }
        | Event::PauseRequested { actor, .. }
        | Event::Resumed { actor }
        | Event::AbortRequested { actor, .. }
        | Event::RollbackRequested { actor, .. }
        | Event::RetryRequested { actor, .. }
        | Event::RollbackDecision { actor, .. }
        | Event::NoteAdded { actor, .. } => *actor = fixed_actor(actor),
        _ => {}
    }
    r
}
