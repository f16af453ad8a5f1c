//! The status line (latest toast), the footer of key hints (from the keymap)
//! and, in narrow layouts, the tab bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::cockpit::app::{App, Panel};
use crate::cockpit::keymap::UiAction;

/// How long an informational message stays; errors stay until replaced.
const TOAST_SECS: i64 = 10;

/// A toast's age as the viewer felt it: a replay's clock runs at its speed,
/// and a message should not flash by at 64×.
fn toast_age_secs(app: &App, at: jiff::Timestamp) -> f64 {
    let age = app.now.duration_since(at);
    match &app.replay {
        Some(r) => age.as_secs_f64() / r.speed,
        None => age.as_secs() as f64,
    }
}

pub fn status_line(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let fresh = app
        .toast
        .as_ref()
        .filter(|t| t.error || toast_age_secs(app, t.at) < TOAST_SECS as f64);
    let line = match fresh {
        Some(toast) => crate::tui::widgets::toast_line(&toast.text, toast.error, t),
        // An engine-initiated pause asks a question; it stays until answered.
        None => match &app.run.pause_reason {
            // A read-only viewer can neither continue nor roll back.
            Some(why) if app.read_only.is_some() => Line::from(vec![
                Span::styled("‖ ", t.paused),
                Span::styled(why.clone(), t.warn),
            ]),
            Some(why) => Line::from(vec![
                Span::styled("‖ ", t.paused),
                Span::styled(
                    format!(
                        "{why} — {} continues, {} rolls back",
                        app.keymap.label(UiAction::Pause),
                        app.keymap.label(UiAction::Rollback)
                    ),
                    t.warn,
                ),
            ]),
            None => Line::from(Span::styled("", t.muted)),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

pub fn footer(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut hints: Vec<(String, &str)> = Vec::new();
    // Only what works now: a dialog's own keys, else the screen's.
    if let Some(keys) = crate::cockpit::dialog::commands(app) {
        hints = keys;
    } else if let Some(rv) = &app.replay {
        replay_hints(app, rv, &mut hints);
    } else {
        live_hints(app, &mut hints);
    }
    // A key the user unbound is never named.
    hints.retain(|(key, _)| !key.is_empty());
    let mut spans = Vec::new();
    let mut used = 0;
    for (key, what) in hints {
        let len = key.chars().count() + what.len() + 3;
        if used + len > area.width as usize {
            break;
        }
        spans.push(Span::styled(
            format!(" {key}"),
            t.status_bar.add_modifier(ratatui::style::Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what} "), t.status_bar));
        used += len;
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(t.status_bar), area);
}

/// A footer entry: the action's keys and its word, both from the keymap.
fn hint(app: &App, a: UiAction) -> (String, &'static str) {
    (app.keymap.label(a), app.keymap.hint(a).unwrap_or(""))
}

/// A replay offers the player's keys; the run's own actions are read-only.
fn replay_hints(
    app: &App,
    rv: &crate::cockpit::replay::ReplayView,
    hints: &mut Vec<(String, &'static str)>,
) {
    let (keys, play) = hint(app, UiAction::ReplayPause);
    hints.push((keys, if rv.playing() { "pause" } else { play }));
    for a in [
        UiAction::ReplayNext,
        UiAction::ReplayPrev,
        UiAction::ReplayStep,
        UiAction::ReplayFaster,
        UiAction::ReplaySlower,
        UiAction::Help,
        UiAction::Quit,
        UiAction::ReplayStart,
        UiAction::ReplayEnd,
        UiAction::FocusNext,
        UiAction::Search,
    ] {
        hints.push(hint(app, a));
    }
}

fn live_hints(app: &App, hints: &mut Vec<(String, &'static str)>) {
    if app.search_active() {
        hints.push((app.keymap.label(UiAction::ClearSearch), "clear search"));
    }
    // Read-only: nothing that would change the run, only ways to look.
    if app.read_only.is_none() {
        if app.run.waiting.is_some() {
            hints.push(hint(app, UiAction::Approve));
            hints.push(hint(app, UiAction::Reject));
        }
        if app.run.blocked.is_some() {
            hints.push(hint(app, UiAction::Decide));
        }
        if app.cannot_promote(false).is_none() {
            hints.push(hint(app, UiAction::Promote));
        }
        if app.is_active() && app.run.blocked.is_none() {
            let (keys, pause) = hint(app, UiAction::Pause);
            let paused = app.run.pause_requested
                || app.run.status == crate::engine::state::RunStatus::Paused;
            hints.push((keys, if paused { "resume" } else { pause }));
        }
    }
    // Help and quit come before the rest so a narrow footer never loses them.
    let acts: &[UiAction] = if app.read_only.is_some() {
        &[
            UiAction::Help,
            UiAction::Quit,
            UiAction::Palette,
            UiAction::FocusNext,
            UiAction::Search,
            UiAction::Follow,
        ]
    } else {
        &[
            UiAction::Rollback,
            UiAction::Help,
            UiAction::Quit,
            UiAction::Palette,
            UiAction::FocusNext,
            UiAction::Note,
            UiAction::Search,
            UiAction::Follow,
        ]
    };
    for a in acts {
        hints.push(hint(app, *a));
    }
}

pub fn tabs(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let shown = super::tabbed_panel(app);
    let mut spans = vec![Span::styled(" ", t.muted)];
    for p in [Panel::Pipeline, Panel::Logs, Panel::Metrics] {
        let style = if p == shown { t.selection } else { t.muted };
        let mark = if p == shown { "▸" } else { " " };
        spans.push(Span::styled(format!("{mark}{} ", p.title()), style));
    }
    spans.push(Span::styled(
        format!(" {} switches", app.keymap.label(UiAction::FocusNext)),
        t.muted,
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
