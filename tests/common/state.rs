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
