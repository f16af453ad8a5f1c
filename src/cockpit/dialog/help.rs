//! `?`: every key, built from the keymap table, grouped as the table
//! groups them; in a replay, which cockpit keys the player takes over; in a
//! cockpit that may act, the keys of each dialog.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use strum::VariantArray;

use super::Outcome;
use super::frame::{block, centered};
use crate::cockpit::app::App;
use crate::cockpit::keymap::{REPLAY_GROUP, Scope, UiAction};

pub fn event(app: &mut App, scroll: &mut u16, key: KeyEvent) -> Outcome {
    // The screen's own keys scroll and close it; Esc closes it as it closes any dialog.
    let action = app
        .keymap
        .lookup_dialog(Scope::Dialogs, &key)
        .filter(|a| *a == UiAction::Cancel)
        .or_else(|| app.keymap.lookup(&key));
    match action {
        Some(UiAction::Cancel | UiAction::Help | UiAction::Quit) => return Outcome::close(),
        Some(UiAction::Down) => *scroll = scroll.saturating_add(1),
        Some(UiAction::Up) => *scroll = scroll.saturating_sub(1),
        Some(UiAction::PageDown) => *scroll = scroll.saturating_add(10),
        Some(UiAction::PageUp) => *scroll = scroll.saturating_sub(10),
        _ => {}
    }
    Outcome::keep()
}

/// The help's title, naming the keys that close and scroll it.
pub fn title(app: &App) -> String {
    let k = |a| app.keymap.short(a);
    format!(
        "Keys ({} or {} to close, {}/{} to scroll)",
        k(UiAction::Help),
        k(UiAction::Cancel),
        k(UiAction::Down),
        k(UiAction::Up)
    )
}

pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let replay = app.replay.is_some();
    let mut lines = Vec::new();
    let mut group = "";
    let mut section = |lines: &mut Vec<Line<'static>>, action: UiAction| {
        let g = action.group();
        if g != group {
            if !lines.is_empty() {
                lines.push(Line::from(""));
            }
            let title = match &app.read_only {
                Some(ro) if g == "release" => {
                    format!("{g} (read-only in this {}: not available)", ro.reason)
                }
                _ => g.to_string(),
            };
            lines.push(Line::from(Span::styled(title, t.accent)));
            if g == REPLAY_GROUP {
                lines.extend(replay_clashes(app));
            }
            group = g;
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<14}", app.keymap.label(action)), t.title),
            Span::styled(action.desc().to_string(), t.text),
        ]));
    };
    // The screen's keys; the replay player's exist only in a replay.
    for &action in UiAction::VARIANTS {
        match action.scope() {
            Scope::Main => section(&mut lines, action),
            Scope::Replay if replay => section(&mut lines, action),
            _ => {}
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!(
            "in dialogs: {} confirms, {} closes; keys can be changed in config.toml [keys]",
            app.keymap.first(UiAction::Confirm),
            app.keymap.first(UiAction::Cancel)
        ),
        t.muted,
    )));
    // Then each dialog's own keys, where the dialogs that change the run can open.
    if app.read_only.is_none() {
        for &action in UiAction::VARIANTS {
            if action.scope().is_dialog() {
                section(&mut lines, action);
            }
        }
    }
    lines
}

pub fn draw(frame: &mut Frame, app: &App, scroll: u16, area: Rect) {
    let r = centered(area, 64, area.height.saturating_sub(2));
    frame.render_widget(Clear, r);
    let title = title(app);
    frame.render_widget(
        Paragraph::new(lines(app))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(block(app, &title)),
        r,
    );
}

/// Where a replay key is also a cockpit key the replay wins: help says which.
fn replay_clashes(app: &App) -> Option<Line<'static>> {
    let taken: Vec<String> = app
        .keymap
        .replay_clashes()
        .iter()
        .map(|(k, a)| format!("{} ({})", k.label(), a.desc()))
        .collect();
    (!taken.is_empty()).then(|| {
        Line::from(Span::styled(
            format!("  in a replay these replace: {}", taken.join(", ")),
            app.theme.warn,
        ))
    })
}
