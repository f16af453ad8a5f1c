//! The cockpit's dialogs, one module each: the gate prompt ([`gate`]), the
//! rollback confirmation ([`rollback`]), a decision ([`decide`]), a note or
//! a search ([`line`]), the reason a decision needs ([`reason`]), the `:`
//! command palette ([`palette`]), the question `q` asks ([`quit`]) and help
//! ([`help`]). Each module owns what its dialog means: how it opens, what a
//! key does there (`event`), how it is drawn (`draw`) and the keys its hints
//! name (`commands`), looked up in the keymap so a remapped key is the one
//! shown. Their state is a variant of [`Modal`], so the app holds at most
//! one dialog and tests can match on what is open.

pub mod decide;
mod frame;
pub mod gate;
pub mod help;
pub mod line;
pub mod palette;
pub mod quit;
pub mod reason;
pub mod rollback;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::app::{App, Effect};
use super::keymap::UiAction;
use crate::engine::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Approve,
    Reject,
}

/// The open dialog and its state.
pub enum Modal {
    Gate {
        intent: Intent,
        input: TextArea<'static>,
    },
    Rollback {
        env: usize,
        input: TextArea<'static>,
    },
    Decide {
        /// Typing the acknowledgement that forcing asks for.
        ack: Option<TextArea<'static>>,
    },
    Note {
        input: TextArea<'static>,
    },
    Search {
        input: TextArea<'static>,
    },
    Reason {
        ask: reason::Ask,
        input: TextArea<'static>,
    },
    Palette {
        input: TextArea<'static>,
        /// The highlighted entry among those that match.
        sel: usize,
    },
    Quit,
    Help {
        scroll: u16,
    },
}

/// What a key did in a dialog.
pub struct Outcome {
    pub(super) close: bool,
    effects: Vec<Effect>,
}

impl Outcome {
    fn keep() -> Outcome {
        Outcome {
            close: false,
            effects: Vec::new(),
        }
    }

    fn close() -> Outcome {
        Outcome {
            close: true,
            effects: Vec::new(),
        }
    }

    fn close_with(effect: Effect) -> Outcome {
        Outcome {
            close: true,
            effects: vec![effect],
        }
    }

    /// Done: the command goes to the engine and the dialog closes.
    fn send(action: Action) -> Outcome {
        Outcome::close_with(Effect::Send(action))
    }

    /// Sends `action` unless it lacks the text the engine would refuse it
    /// without (the engine's own rule and words, `Action::missing_text`):
    /// then the dialog stays open and says what is missing.
    fn send_checked(app: &mut App, action: Action, comment_required: bool) -> Outcome {
        match action.missing_text(comment_required) {
            Some(why) => {
                app.toast(why, true);
                Outcome::keep()
            }
            None => Outcome::send(action),
        }
    }
}

/// A text field's content as one trimmed line.
fn text_of(input: &TextArea<'static>) -> String {
    input.lines().join(" ").trim().to_string()
}

impl App {
    /// Closes the open dialog if a record took away what it acts on, and
    /// returns it: a decision or a gate decided elsewhere, a reason or a
    /// rollback asked for a run that has ended (a rollback of an
    /// environment the run deployed stays: the engine takes it after the
    /// end). A dialog that is not drawn must not keep taking keys.
    pub(super) fn close_fallen_dialog(&mut self) -> Option<Modal> {
        use crate::engine::event::EnvOutcome;
        use crate::engine::state::EnvStatus;
        let stands = match &self.modal {
            None => return None,
            Some(Modal::Decide { .. }) => self.run.blocked.is_some(),
            Some(Modal::Gate { .. }) => gate::waits(self),
            Some(Modal::Reason { .. }) => self.is_active(),
            Some(Modal::Rollback { env, .. }) => {
                self.is_active()
                    || self
                        .run
                        .envs
                        .get(*env)
                        .is_some_and(|e| e.status == EnvStatus::Done(EnvOutcome::Deployed))
            }
            Some(_) => true,
        };
        if stands { None } else { self.modal.take() }
    }

    pub(super) fn on_modal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(mut modal) = self.modal.take() else {
            return Vec::new();
        };
        let out = match &mut modal {
            Modal::Gate { intent, input } => gate::event(self, *intent, input, key),
            Modal::Rollback { env, input } => rollback::event(self, *env, input, key),
            Modal::Decide { ack } => decide::event(self, ack, key),
            Modal::Note { input } => line::note_event(self, input, key),
            Modal::Search { input } => line::search_event(self, input, key),
            Modal::Reason { ask, input } => reason::event(self, *ask, input, key),
            Modal::Palette { input, sel } => palette::event(self, input, sel, key),
            Modal::Quit => quit::event(self, key),
            Modal::Help { scroll } => help::event(self, scroll, key),
        };
        // A dialog may have opened another (or a record closed this one).
        if !out.close && self.modal.is_none() {
            self.modal = Some(modal);
        }
        out.effects
    }

    /// Pasted text goes into the open dialog's text field, as one line.
    pub fn on_paste(&mut self, text: &str) {
        let input = match &mut self.modal {
            Some(
                Modal::Gate { input, .. }
                | Modal::Rollback { input, .. }
                | Modal::Note { input }
                | Modal::Search { input }
                | Modal::Reason { input, .. }
                | Modal::Palette { input, .. }
                | Modal::Decide { ack: Some(input) },
            ) => input,
            _ => return,
        };
        input.insert_str(crate::tui::widgets::pasted(text, false));
        self.dirty = true;
    }
}

/// The keys of the open dialog, for the footer: only what works in it now.
pub fn commands(app: &App) -> Option<Vec<(String, &'static str)>> {
    let k = |a| app.keymap.first(a);
    Some(match app.modal.as_ref()? {
        Modal::Gate { intent, .. } => gate::commands(app, *intent),
        Modal::Rollback { .. } => rollback::commands(app),
        Modal::Decide { ack: Some(_) } => decide::ack_commands(app),
        Modal::Decide { ack: None } => decide::choice_commands(app),
        Modal::Note { .. } => line::note_commands(app),
        Modal::Search { .. } => line::search_commands(app),
        Modal::Reason { ask, .. } => reason::commands(app, *ask),
        Modal::Palette { .. } => palette::commands(app),
        Modal::Quit => quit::commands(app),
        Modal::Help { .. } => vec![
            (k(UiAction::Cancel), "close"),
            (
                format!(
                    "{}/{}",
                    app.keymap.short(UiAction::Down),
                    app.keymap.short(UiAction::Up)
                ),
                "scroll",
            ),
        ],
    })
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let Some(modal) = &app.modal else { return };
    match modal {
        Modal::Gate { intent, input } => gate::draw(frame, app, *intent, input, area),
        Modal::Rollback { env, input } => rollback::draw(frame, app, *env, input, area),
        Modal::Decide { ack } => decide::draw(frame, app, ack.as_ref(), area),
        Modal::Note { input } => line::draw_note(frame, app, input, area),
        Modal::Search { input } => line::draw_search(frame, app, input, area),
        Modal::Reason { ask, input } => reason::draw(frame, app, *ask, input, area),
        Modal::Palette { input, sel } => palette::draw(frame, app, input, *sel, area),
        Modal::Quit => quit::draw(frame, app, area),
        Modal::Help { scroll } => help::draw(frame, app, *scroll, area),
    }
}
