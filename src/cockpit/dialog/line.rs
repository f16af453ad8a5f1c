//! The one-line dialogs: a note for the run record, and a search of the logs.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Clear;
use ratatui_textarea::TextArea;

use super::frame::{block, centered, hint_line, input_box};
use super::{Modal, Outcome, text_of};
use crate::cockpit::app::{App, Search, textarea};
use crate::cockpit::keymap::{Scope, UiAction};
use crate::engine::Action;

/// `m`: the note dialog.
pub fn open_note(app: &mut App) {
    app.modal = Some(Modal::Note {
        input: textarea("note for the run record"),
    });
}

/// `/`: the search dialog.
pub fn open_search(app: &mut App) {
    app.modal = Some(Modal::Search {
        input: textarea("search logs"),
    });
}

pub fn note_event(app: &mut App, input: &mut TextArea<'static>, key: KeyEvent) -> Outcome {
    match app.keymap.lookup_dialog(Scope::Dialogs, &key) {
        Some(UiAction::Cancel) => Outcome::close(),
        Some(UiAction::Confirm) => match text_of(input) {
            text if text.is_empty() => Outcome::close(),
            text => Outcome::send(Action::Note { text }),
        },
        _ => {
            input.input(key);
            Outcome::keep()
        }
    }
}

pub fn search_event(app: &mut App, input: &mut TextArea<'static>, key: KeyEvent) -> Outcome {
    match app.keymap.lookup_dialog(Scope::Dialogs, &key) {
        Some(UiAction::Cancel) => Outcome::close(),
        Some(UiAction::Confirm) => {
            let query = text_of(input);
            if query.is_empty() {
                app.view.search = None;
            } else {
                app.view.search = Some(Search {
                    query,
                    current: None,
                });
                app.jump_match(false);
            }
            Outcome::close()
        }
        _ => {
            input.input(key);
            Outcome::keep()
        }
    }
}

pub fn note_commands(app: &App) -> Vec<(String, &'static str)> {
    vec![
        (app.keymap.first(UiAction::Confirm), "save"),
        (app.keymap.first(UiAction::Cancel), "cancel"),
    ]
}

pub fn search_commands(app: &App) -> Vec<(String, &'static str)> {
    vec![
        (app.keymap.first(UiAction::Confirm), "search"),
        (app.keymap.first(UiAction::Cancel), "cancel"),
    ]
}

pub fn draw_note(frame: &mut Frame, app: &App, input: &TextArea<'static>, area: Rect) {
    draw(
        frame,
        app,
        "Note for the run record",
        input,
        &note_commands(app),
        area,
    );
}

pub fn draw_search(frame: &mut Frame, app: &App, input: &TextArea<'static>, area: Rect) {
    let mut hints = search_commands(app);
    // What comes after the dialog: the keys that walk the matches.
    let then = format!(
        "then {} / {}",
        app.keymap.first(UiAction::SearchNext),
        app.keymap.first(UiAction::SearchPrev)
    );
    hints.push((then, ""));
    draw(frame, app, "Search logs", input, &hints, area);
}

fn draw(
    frame: &mut Frame,
    app: &App,
    title: &str,
    input: &TextArea<'static>,
    hints: &[(String, &str)],
    area: Rect,
) {
    let r = centered(area, 70, 6);
    frame.render_widget(Clear, r);
    let b = block(app, title);
    let inner = b.inner(r);
    frame.render_widget(b, r);
    let [input_area, hint_area] = inner.layout(&Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
    ]));
    input_box(frame, input, "", app.theme.border, input_area);
    hint_line(frame, app, hints, hint_area);
}
