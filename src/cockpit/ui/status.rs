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
        Some(toast) => super::widgets::toast_line(&toast.text, toast.error, t),
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
                        app.keymap.label(UiAction::TogglePause),
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
    if let Some(rv) = &app.replay {
        replay_hints(app, rv, &mut hints);
    } else {
        live_hints(app, &mut hints);
    }
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

/// A replay offers the player's keys; the run's own actions are read-only.
fn replay_hints(
    app: &App,
    rv: &crate::cockpit::replay::ReplayView,
    hints: &mut Vec<(String, &'static str)>,
) {
    let k = |a| app.keymap.label(a);
    let play = if rv.playing() { "pause" } else { "play" };
    hints.push((k(UiAction::ReplayPause), play));
    hints.push((k(UiAction::ReplayNext), "next event"));
    hints.push((k(UiAction::ReplayPrev), "previous"));
    hints.push((k(UiAction::ReplayStep), "step"));
    hints.push((k(UiAction::ReplayFaster), "faster"));
    hints.push((k(UiAction::ReplaySlower), "slower"));
    hints.push((k(UiAction::Help), "help"));
    hints.push((k(UiAction::Quit), "quit"));
    hints.push((k(UiAction::ReplayStart), "start"));
    hints.push((k(UiAction::ReplayEnd), "end"));
    hints.push((k(UiAction::FocusNext), "focus"));
    hints.push((k(UiAction::Search), "search"));
}

fn live_hints(app: &App, hints: &mut Vec<(String, &'static str)>) {
    let k = |a| app.keymap.label(a);
    if app.run.waiting.is_some() {
        hints.push((k(UiAction::Approve), "approve"));
        hints.push((k(UiAction::Reject), "reject"));
    }
    if app.run.blocked.is_some() {
        hints.push((k(UiAction::Decide), "decide"));
    }
    if app.is_active() && app.run.blocked.is_none() {
        let pause = if app.run.pause_requested
            || app.run.status == crate::engine::state::RunStatus::Paused
        {
            "resume"
        } else {
            "pause"
        };
        hints.push((k(UiAction::TogglePause), pause));
    }
    hints.push((k(UiAction::Rollback), "rollback"));
    // Help and quit come before the rest so a narrow footer never loses them.
    hints.push((k(UiAction::Help), "help"));
    hints.push((k(UiAction::Quit), "quit"));
    hints.push((k(UiAction::FocusNext), "focus"));
    hints.push((k(UiAction::Note), "note"));
    hints.push((k(UiAction::Search), "search"));
    hints.push((k(UiAction::ToggleFollow), "follow"));
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
