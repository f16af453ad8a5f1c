//! Small drawing helpers shared by the panels.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use crate::cockpit::app::{App, Panel};
use crate::engine::event::EnvOutcome;
use crate::engine::state::{EnvStatus, StepState, UndoState};

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// A panel's frame; the focused one is marked by colour *and* a heavier border.
pub fn panel_block<'a>(app: &App, panel: Panel, extra: impl Into<Line<'a>>) -> Block<'a> {
    let focused = app.view.focus == panel;
    let style = if focused {
        app.theme.border_focus
    } else {
        app.theme.border
    };
    let mut title = vec![Span::styled(
        format!(" {} ", panel.title()),
        app.theme.title,
    )];
    title.extend(extra.into().spans);
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(Line::from(title))
}

pub fn spinner(app: &App) -> &'static str {
    SPINNER[(app.frame % SPINNER.len() as u64) as usize]
}

/// Glyph and style for a step; the glyph alone tells the state.
pub fn step_glyph(app: &App, state: StepState) -> (&'static str, Style) {
    let t = &app.theme;
    match state {
        StepState::Pending => ("·", t.muted),
        StepState::Running => (spinner(app), t.running),
        StepState::Waiting => ("◷", t.paused),
        StepState::Succeeded => ("✔", t.ok),
        StepState::Failed => ("✘", t.fail),
        StepState::TimedOut => ("⊘", t.fail),
        StepState::Killed => ("■", t.warn),
        StepState::Skipped => ("»", t.muted),
    }
}

pub fn env_glyph(app: &App, status: EnvStatus) -> (&'static str, Style) {
    let t = &app.theme;
    match status {
        EnvStatus::Pending => ("·", t.muted),
        EnvStatus::Running => (spinner(app), t.running),
        EnvStatus::WaitingApproval => ("◷", t.paused),
        EnvStatus::RollingBack => ("↶", t.warn),
        EnvStatus::Blocked => ("⚠", t.fail),
        EnvStatus::Done(EnvOutcome::Deployed) => ("✔", t.ok),
        EnvStatus::Done(EnvOutcome::RolledBack) => ("↶", t.warn),
        EnvStatus::Done(EnvOutcome::Held) => ("⚠", t.fail),
    }
}

/// A duration, as everywhere (`crate::duration::human`).
pub fn fmt_ms(ms: u64) -> String {
    crate::duration::human(ms)
}

/// A wait so far: seconds for ten minutes, then minutes (`crate::duration::wait`).
/// The loop redraws when the clock's text changes, so a gate parked for an
/// hour costs a watcher a few bytes a minute once it shows minutes.
pub fn fmt_wait(ms: u64) -> String {
    crate::duration::wait(ms)
}

pub fn since_ms(app: &App, ts: jiff::Timestamp) -> u64 {
    app.now.duration_since(ts).as_millis().max(0) as u64
}

/// Rollout progress of an environment: ("canary 25%", 0.25), ("batch 1/2", 0.5)…
pub fn rollout_progress(app: &App, env: usize) -> Option<(String, f64)> {
    let view = app.run.envs.get(env)?;
    let steps = app.steps.get(env)?;
    let var = |i: usize, name: &str| -> Option<String> {
        steps
            .get(i)?
            .run()?
            .vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // What is in force: steps that succeeded and that no rollback has undone
    // since (a canary's weights are undone together, by the last one's undo).
    let undone = |i: usize| {
        view.steps[i]
            .undo
            .as_ref()
            .is_some_and(|u| u.state == UndoState::Done)
    };
    let group = |i: usize| steps.get(i)?.run()?.rollback_group;
    let undone_groups: Vec<_> = (0..view.steps.len())
        .filter(|&i| undone(i))
        .filter_map(group)
        .collect();
    let done: Vec<usize> = view
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.state == StepState::Succeeded)
        .map(|(i, _)| i)
        .filter(|&i| !undone(i) && group(i).is_none_or(|g| !undone_groups.contains(&g)))
        .collect();
    match view.strategy.as_str() {
        "canary" => {
            let w: u32 = done
                .iter()
                .rev()
                .find_map(|&i| var(i, "SLATE_WEIGHT"))
                .and_then(|w| w.parse().ok())
                .unwrap_or(0);
            // Someone holds it at a weight of their own until promoted.
            if let Some(h) = view.held_weight {
                return Some((format!("canary held at {h}%"), f64::from(h) / 100.0));
            }
            Some((format!("canary {w}%"), w as f64 / 100.0))
        }
        "rolling" => {
            let total = (0..steps.len())
                .filter(|&i| var(i, "SLATE_BATCH").is_some())
                .count()
                .max(1);
            let n = done
                .iter()
                .filter(|&&i| var(i, "SLATE_BATCH").is_some())
                .count();
            Some((format!("batch {n}/{total}"), n as f64 / total as f64))
        }
        "blue-green" => {
            let phase = done
                .iter()
                .rev()
                .find_map(|&i| var(i, "SLATE_PHASE"))
                .unwrap_or_else(|| "idle".into());
            let ratio = match phase.as_str() {
                "deploy" => 0.33,
                "switch" => 0.66,
                "retire" => 1.0,
                _ => 0.0,
            };
            Some((format!("blue-green {phase}"), ratio))
        }
        _ => None,
    }
}
