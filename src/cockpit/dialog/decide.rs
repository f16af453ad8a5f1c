//! A decision the run waits for: a rollback blocked at an irreversible step
//! or a failed undo, or a step a crash interrupted. It lists only the
//! choices the run offers, each with its key; forcing asks for an
//! acknowledgement first.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::frame::{block, centered, hint_line, inner_width, input_box, wrapped_rows};
use super::{Modal, Outcome, text_of};
use crate::cockpit::app::{App, textarea};
use crate::cockpit::keymap::{Scope, UiAction};
use crate::engine::Action;
use crate::engine::event::RollbackChoice;

/// `d`: the dialog, if something waits for a decision.
pub fn open(app: &mut App) {
    if app.run.blocked.is_some() {
        app.modal = Some(Modal::Decide { ack: None });
    } else {
        app.toast("nothing is waiting for a decision", true);
    }
}

/// The key that picks `choice`.
fn action_of(choice: RollbackChoice) -> UiAction {
    match choice {
        RollbackChoice::Hold => UiAction::Hold,
        RollbackChoice::RollForward => UiAction::RollForward,
        RollbackChoice::Force => UiAction::Force,
        RollbackChoice::Retry => UiAction::RetryStep,
        RollbackChoice::Done => UiAction::Done,
        RollbackChoice::Rollback => UiAction::RollBackInstead,
    }
}

fn choice_of(action: UiAction) -> Option<RollbackChoice> {
    Some(match action {
        UiAction::Hold => RollbackChoice::Hold,
        UiAction::RollForward => RollbackChoice::RollForward,
        UiAction::Force => RollbackChoice::Force,
        UiAction::RetryStep => RollbackChoice::Retry,
        UiAction::Done => RollbackChoice::Done,
        UiAction::RollBackInstead => RollbackChoice::Rollback,
        _ => return None,
    })
}

pub fn event(app: &mut App, ack: &mut Option<TextArea<'static>>, key: KeyEvent) -> Outcome {
    let action = app.keymap.lookup_dialog(Scope::Decide, &key);
    if let Some(input) = ack {
        return match action {
            Some(UiAction::Cancel) => {
                *ack = None;
                Outcome::keep()
            }
            Some(UiAction::Confirm) => {
                let note = text_of(input);
                Outcome::send_checked(
                    app,
                    Action::Decide {
                        choice: RollbackChoice::Force,
                        note,
                    },
                    false,
                )
            }
            _ => {
                input.input(key);
                Outcome::keep()
            }
        };
    }
    if action == Some(UiAction::Cancel) {
        return Outcome::close();
    }
    let choices = app
        .run
        .blocked
        .as_ref()
        .map(|b| b.choices.clone())
        .unwrap_or_default();
    match action.and_then(choice_of) {
        None => Outcome::keep(),
        Some(c) if !choices.contains(&c) => {
            app.toast("that is not one of the choices here", true);
            Outcome::keep()
        }
        Some(RollbackChoice::Force) => {
            *ack = Some(textarea("acknowledge what forcing gives up"));
            Outcome::keep()
        }
        Some(RollbackChoice::Retry) => Outcome::send(Action::Retry),
        Some(choice) => Outcome::send(Action::Decide {
            choice,
            note: "decided in the cockpit".into(),
        }),
    }
}

/// The keys of the choices the run offers, and the one that closes.
pub fn choice_commands(app: &App) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = app
        .run
        .blocked
        .iter()
        .flat_map(|b| &b.choices)
        .map(|c| (app.keymap.first(action_of(*c)), c.word()))
        .collect();
    out.push((app.keymap.first(UiAction::Cancel), "close"));
    out
}

/// The keys offered while an acknowledgement is typed.
pub fn ack_commands(app: &App) -> Vec<(String, &'static str)> {
    let k = |a| app.keymap.first(a);
    vec![
        (k(UiAction::Confirm), "force"),
        (k(UiAction::Cancel), "back"),
    ]
}

pub fn draw(frame: &mut Frame, app: &App, ack: Option<&TextArea<'static>>, area: Rect) {
    let t = &app.theme;
    let Some(b) = &app.run.blocked else { return };
    let mut lines = vec![
        Line::from(Span::styled(b.reason.clone(), t.fail)),
        Line::from(""),
    ];
    for c in &b.choices {
        let text = match c {
            RollbackChoice::Hold => "hold: leave the environment as it is; a person takes over",
            RollbackChoice::RollForward => {
                "roll forward: keep the new version and run the remaining steps again"
            }
            RollbackChoice::Force => {
                "force: roll back past it anyway (asks for an acknowledgement)"
            }
            RollbackChoice::Retry if b.undo => "retry the rollback step",
            RollbackChoice::Retry => "retry: run the step again",
            RollbackChoice::Done => "done: the step finished its work; carry on after it",
            RollbackChoice::Rollback => "roll back the environment instead",
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {}  ", app.keymap.first(action_of(*c))), t.accent),
            Span::styled(text, t.text),
        ]));
    }
    let r = centered(
        area,
        84,
        wrapped_rows(&lines, inner_width(area, 84)) + if ack.is_some() { 7 } else { 4 },
    );
    frame.render_widget(Clear, r);
    let title = if b.undo {
        "The rollback needs a decision"
    } else {
        "A step needs a decision"
    };
    let bl = block(app, title);
    let inner = bl.inner(r);
    frame.render_widget(bl, r);
    let [info, input_area, hint] = inner.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(if ack.is_some() { 3 } else { 0 }),
        Constraint::Length(1),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
    match ack {
        Some(input) => {
            input_box(frame, input, " acknowledgement ", t.fail, input_area);
            hint_line(frame, app, &ack_commands(app), hint);
        }
        None => {
            // Closing is not deciding: say how to come back to it.
            let text = format!(
                "press a letter · {} close ({} reopens)",
                app.keymap.first(UiAction::Cancel),
                app.keymap.first(UiAction::Decide)
            );
            frame.render_widget(Paragraph::new(Span::styled(text, t.muted)), hint);
        }
    }
}
