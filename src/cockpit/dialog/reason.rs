//! The reason a decision needs before it is sent: promoting (`P`),
//! skipping to the last rollout step (`S`, `promote --full`), holding the
//! canary at a weight (`:weight N`), aborting (`q` → abort) and breaking
//! the glass past a freeze or a hold (`B`). The engine
//! refuses each without one; the dialog asks first, in the engine's words
//! (`Action::missing_text`), and stays open until it has one.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::frame::{block, centered, hint_line, input_box};
use super::{Modal, Outcome, text_of};
use crate::cockpit::app::{App, QuitState, textarea};
use crate::cockpit::keymap::{Scope, UiAction};
use crate::engine::Action;

/// What the reason is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `promote`, or `promote --full` when `full`.
    Promote { full: bool },
    /// Hold the canary at this weight.
    Weight(u32),
    /// Abort the release; `then_quit` when asked on the way out (`q`).
    Abort { then_quit: bool },
    /// Break the glass: cross the freeze or hold the run waits for (`B`).
    BreakGlass,
}

impl Ask {
    /// The command the reason completes.
    pub fn action(self, reason: String) -> Action {
        match self {
            Ask::Promote { full } => Action::Promote { full, reason },
            Ask::Weight(weight) => Action::Weight { weight, reason },
            Ask::Abort { .. } => Action::Abort { reason },
            Ask::BreakGlass => Action::BreakGlass { reason },
        }
    }

    fn title(self) -> String {
        match self {
            Ask::Promote { full: false } => "Promote: end this pause now?".into(),
            Ask::Promote { full: true } => "Skip to the last rollout step (promote --full)?".into(),
            Ask::Weight(w) => format!("Hold the canary at {w}%?"),
            Ask::Abort { .. } => "Abort the release?".into(),
            Ask::BreakGlass => "BREAK GLASS: cross the freeze or hold?".into(),
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Ask::Promote { full: false } => "promote",
            Ask::Promote { full: true } => "skip",
            Ask::Weight(_) => "hold",
            Ask::Abort { .. } => "abort",
            Ask::BreakGlass => "break glass",
        }
    }
}

pub fn open(app: &mut App, ask: Ask) {
    app.modal = Some(Modal::Reason {
        ask,
        input: textarea("reason (required)"),
    });
}

pub fn event(app: &mut App, ask: Ask, input: &mut TextArea<'static>, key: KeyEvent) -> Outcome {
    match app.keymap.lookup_dialog(Scope::Dialogs, &key) {
        Some(UiAction::Cancel) => Outcome::close(),
        Some(UiAction::Confirm) => {
            let out = Outcome::send_checked(app, ask.action(text_of(input)), false);
            if out.close && ask == (Ask::Abort { then_quit: true }) {
                app.quit = QuitState::AfterFinish;
                app.toast("aborting the release before quitting…", false);
            }
            out
        }
        _ => {
            input.input(key);
            Outcome::keep()
        }
    }
}

pub fn commands(app: &App, ask: Ask) -> Vec<(String, &'static str)> {
    vec![
        (app.keymap.first(UiAction::Confirm), ask.verb()),
        (app.keymap.first(UiAction::Cancel), "cancel"),
    ]
}

/// One line on what will happen, from the run as the cockpit knows it.
fn what(app: &App, ask: Ask) -> String {
    let env = app
        .run
        .current_env
        .and_then(|e| app.run.envs.get(e))
        .map(|e| e.name.clone())
        .unwrap_or_default();
    match ask {
        Ask::Promote { full: false } => {
            format!("{env}: the wait ends now and the next step starts.")
        }
        Ask::Promote { full: true } => format!(
            "{env}: the remaining pauses, gates and weights are skipped; the last rollout step runs next."
        ),
        Ask::Weight(w) => format!(
            "{env}: the rollout command runs with SLATE_WEIGHT={w}; the canary stays there until promoted."
        ),
        Ask::Abort { .. } => format!("{env} is stopped and rolled back."),
        Ask::BreakGlass => match &app.run.held_back {
            Some(h) => format!(
                "Crosses: {}. Journaled as its own record with your name and reason, \
                 announced to the channels, and listed in the dossier and the ledger.",
                h.barrier.message
            ),
            None => "Nothing keeps the run out now.".into(),
        },
    }
}

pub fn draw(frame: &mut Frame, app: &App, ask: Ask, input: &TextArea<'static>, area: Rect) {
    let t = &app.theme;
    let r = centered(area, 72, 9);
    frame.render_widget(Clear, r);
    let title = ask.title();
    let b = block(app, &title);
    let inner = b.inner(r);
    frame.render_widget(b, r);
    let [info, input_area, hint] = inner.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(3),
        Constraint::Length(1),
    ]));
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(what(app, ask), t.text))).wrap(Wrap { trim: false }),
        info,
    );
    input_box(frame, input, " reason ", t.border, input_area);
    hint_line(frame, app, &commands(app, ask), hint);
}
