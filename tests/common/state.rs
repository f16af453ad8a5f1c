//! For tests of the cockpit's App with no terminal: the small plan they share
//! (dev, then prod behind the manual gate `go`; migrate, then deploy with an
//! undo), the record that starts a run of it, the App on it, and key presses.

use jiff::Timestamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use slate::cockpit::app::App;
use slate::cockpit::keymap::Keymap;
use slate::engine::event::Event;
use slate::tui::theme::Theme;

// Re-exported so the state tests need one import.
pub use super::render::{code, key};
pub use crate::actor;

/// The plan's text; the flags add `irreversible = true` to migrate and
/// `require_comment = true` to the gate.
pub fn plan(irreversible_migrate: bool, gate_requires_comment: bool) -> String {
    let irreversible = if irreversible_migrate {
        "irreversible = true\n"
    } else {
        ""
    };
    let comment = if gate_requires_comment {
        "require_comment = true\n"
    } else {
        ""
    };
    format!(
        crate::release_plan!("svc" "2.0" from "1.0" by "me"; r#"[[environments]]
name = "dev"
[[environments]]
name = "prod"
gates = ["go"]
[[stages]]
name = "migrate"
command = "true"
{irreversible}[[stages]]
name = "deploy"
command = "true"
rollback = "undo-deploy"
[[gates]]
name = "go"
kind = "manual"
{comment}"#),
        irreversible = irreversible,
        comment = comment
    )
}

/// An App on the plan `src` with `keymap`, monochrome, in a 120×40 view.
pub fn app_on(src: &str, keymap: Keymap) -> App {
    let plan = slate::plan::parse(src, "t.toml", ".".into()).unwrap();
    let mut app = App::new(plan, keymap, Theme::monochrome());
    app.view.size = Rect::new(0, 0, 120, 40);
    app
}

/// When the runs start.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

/// The run of `src` (made by [`plan`]) starting, by "starter" from the
/// cockpit. Its outline is the one the engine journals for that plan
/// ([`slate::engine::outline`]), so these records cannot drift from it.
pub fn run_started(src: &str) -> Event {
    let plan = slate::plan::parse(src, "t.toml", ".".into()).unwrap_or_else(|e| panic!("{e}"));
    Event::RunStarted {
        run_id: "r".into(),
        plan_path: "t.toml".into(),
        plan_source: src.into(),
        release: "svc".into(),
        version: "2.0".into(),
        previous_version: "1.0".into(),
        owner: "me".into(),
        environments: slate::engine::outline(&plan),
        actor: actor("starter", "cockpit"),
        pid: 1,
        pre_approved: Vec::new(),
        sealed: Vec::new(),
        auto_approve: false,
        vars: Vec::new(),
        rollback_to: None,
    }
}

/// Ctrl and `c`.
pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// The toast's text, or nothing.
pub fn toast(app: &App) -> String {
    app.toast
        .as_ref()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// The events of a run of [`plan`]`(false, false)` that deployed dev and
/// waits at prod's gate `go`, from the start.
pub fn at_gate_events(src: &str) -> Vec<Event> {
    use slate::engine::event::{EnvOutcome, StepStatus};
    let done = |env, step| Event::StepFinished {
        env,
        step,
        attempt: 1,
        status: StepStatus::Succeeded,
        exit_code: Some(0),
        duration_ms: 5,
        message: "ok".into(),
    };
    let start = |env, step| Event::StepStarted {
        env,
        step,
        attempt: 1,
    };
    vec![
        run_started(src),
        Event::EnvStarted { env: 0 },
        start(0, 0),
        done(0, 0),
        start(0, 1),
        done(0, 1),
        Event::EnvFinished {
            env: 0,
            outcome: EnvOutcome::Deployed,
        },
        Event::EnvStarted { env: 1 },
        start(1, 0),
        Event::GateWaiting {
            env: 1,
            step: 0,
            gate: "go".into(),
            required: 1,
            require_comment: false,
            timeout_ms: None,
            since: None,
        },
    ]
}

/// Records of `events`, one every 100 ms from [`t0`].
pub fn records(events: Vec<Event>) -> Vec<slate::engine::event::Record> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| slate::engine::event::Record {
            seq: i as u64 + 1,
            ts: t0() + jiff::SignedDuration::from_millis((i as i64 + 1) * 100),
            event,
        })
        .collect()
}

/// Who follows the run, as a control socket would say it: `you` is
/// "alice"'s steering cockpit (id 1), then each `(id, user, read_only,
/// seconds before t0 + 1m)`.
pub fn watchers(others: &[(u64, &str, bool, i64)]) -> slate::control::presence::Watchers {
    use slate::control::presence::{Watcher, Watchers};
    let at = |s: i64| t0() + jiff::SignedDuration::from_secs(60 - s);
    let mut list = vec![Watcher {
        id: 1,
        user: "alice".into(),
        read_only: false,
        since: at(0),
    }];
    list.extend(others.iter().map(|&(id, user, read_only, ago)| Watcher {
        id,
        user: user.into(),
        read_only,
        since: at(ago),
    }));
    Watchers {
        you: 1,
        list,
        more: 0,
    }
}
