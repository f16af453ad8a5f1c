//! The question `q` asks while a release is in progress: detach (the
//! cockpit closes, the release goes on in its engine's process), abort
//! (roll back, then quit), or stay. A run can end while the question is on
//! screen; the question then says so and asks only whether to leave.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::frame::{block, centered, inner_width, wrapped_rows};
use super::{Modal, Outcome};
use crate::cockpit::app::{App, Effect};
use crate::cockpit::keymap::{Scope, UiAction};

/// `q`: during a release, the question; afterwards, just leave.
pub fn open(app: &mut App) -> Vec<Effect> {
    if app.is_active() {
        app.modal = Some(Modal::Quit);
        Vec::new()
    } else {
        vec![Effect::Quit]
    }
}

pub fn event(app: &mut App, key: KeyEvent) -> Outcome {
    match app.keymap.lookup_dialog(Scope::Quit, &key) {
        // Detach: the cockpit closes, the release goes on in its engine's process.
        Some(UiAction::Detach | UiAction::Confirm) => Outcome::close_with(Effect::Quit),
        // The run may have ended while the question was on screen: nothing to abort.
        Some(UiAction::Abort) if !app.is_active() => Outcome::close_with(Effect::Quit),
        // An abort is a decision like a rollback: it asks why.
        Some(UiAction::Abort) => {
            super::reason::open(app, super::reason::Ask::Abort { then_quit: true });
            Outcome::keep()
        }
        Some(UiAction::Stay | UiAction::Cancel) => Outcome::close(),
        _ => Outcome::keep(),
    }
}

/// (keys, what): every way out, the dialog's own key first, then the one
/// every dialog shares (`d / Enter`). Once the run has ended, nothing is
/// left to detach from or abort: leaving and staying are the only answers.
pub fn commands(app: &App) -> Vec<(String, &'static str)> {
    let k = |own: UiAction, shared: Option<UiAction>| {
        [Some(own), shared]
            .into_iter()
            .flatten()
            .map(|a| app.keymap.first(a))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    if !app.is_active() {
        return vec![
            (k(UiAction::Detach, Some(UiAction::Confirm)), "leave"),
            (k(UiAction::Stay, Some(UiAction::Cancel)), "stay"),
        ];
    }
    vec![
        (k(UiAction::Detach, Some(UiAction::Confirm)), "detach"),
        (k(UiAction::Abort, None), "abort (asks why) and quit"),
        (k(UiAction::Stay, Some(UiAction::Cancel)), "stay"),
    ]
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let commands = commands(app);
    let last = commands.len().saturating_sub(1);
    let mut keys = Vec::new();
    for (i, (key, what)) in commands.into_iter().enumerate() {
        let gap = if i == last { "" } else { "   " };
        keys.push(Span::styled(key, t.accent));
        keys.push(Span::styled(format!(" {what}{gap}"), t.text));
    }
    let lines = if app.is_active() {
        in_progress(app, keys)
    } else {
        // Ended while the question was on screen: say so, not "in progress".
        vec![
            Line::from(Span::styled(
                format!("The release has ended: {}.", app.run.status.word()),
                t.title,
            )),
            Line::from(Span::styled(
                "Nothing is left to detach from or abort; the cockpit can close.",
                t.text,
            )),
            Line::from(""),
            Line::from(keys),
        ]
    };
    let r = centered(area, 72, wrapped_rows(&lines, inner_width(area, 72)) + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(app, "Quit?")),
        r,
    );
}

/// The question while the release goes on.
fn in_progress<'a>(app: &App, keys: Vec<Span<'a>>) -> Vec<Line<'a>> {
    let t = &app.theme;
    let env = app
        .run
        .current_env
        .map(|e| app.run.envs[e].name.clone())
        .unwrap_or_default();
    vec![
        Line::from(Span::styled("A release is in progress.", t.title)),
        Line::from(Span::styled(
            "Detach: the cockpit closes and the release goes on; slate attach brings it back.",
            t.text,
        )),
        Line::from(Span::styled(
            format!("Abort: {env} is stopped and rolled back first, then the cockpit closes."),
            t.text,
        )),
        Line::from(""),
        Line::from(keys),
    ]
}
