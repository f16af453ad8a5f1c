//! The steps of one environment with state glyphs, elapsed against timeout
//! and attempts; a gauge for canary/rolling progress; a compact strip of the
//! other environments.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};

use super::widgets::{env_glyph, fmt_ms, panel_block, rollout_progress, since_ms, step_glyph};
use crate::cockpit::app::{App, Panel};
use crate::engine::event::Stream;
use crate::engine::state::{NOT_VERIFIED, StepState, UndoState, Verification};
use crate::tui::widgets::truncate;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let env = app.shown_env();
    let Some(view) = app.run.envs.get(env) else {
        frame.render_widget(panel_block(app, Panel::Pipeline, ""), area);
        return;
    };
    let block = panel_block(
        app,
        Panel::Pipeline,
        Line::from(vec![
            Span::styled(format!("{} ", view.name), t.accent),
            Span::styled(format!("({}) ", view.strategy), t.muted),
        ]),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let progress = rollout_progress(app, env);
    let others = app.run.envs.len().saturating_sub(1) as u16;
    let [list, gauge, strip] = inner.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(if progress.is_some() { 1 } else { 0 }),
        Constraint::Length(others.min(inner.height / 3)),
    ]));
    let width = list.width as usize;
    let mut lines = Vec::new();
    for (i, s) in view.steps.iter().enumerate() {
        let (glyph, style) = step_glyph(app, s.state);
        let mut spans = vec![Span::styled(format!("{glyph} "), style)];
        let counting = matches!(s.state, StepState::Running | StepState::Waiting);
        let elapsed = match (counting, s.started, s.duration_ms) {
            (true, Some(st), _) => Some(since_ms(app, st)),
            (_, _, Some(d)) => Some(d),
            _ => None,
        };
        let mut right = String::new();
        if let Some(e) = elapsed {
            // The header counts the gate's wait in seconds; here minutes do.
            // A clock still counting shows whole seconds (it moves once a
            // second); a finished step keeps its tenths ("0.4s").
            right = if s.state == StepState::Waiting && s.kind == "gate" {
                crate::duration::coarse(e)
            } else if counting {
                crate::duration::wait(e)
            } else {
                fmt_ms(e)
            };
            if let Some(to) = s.timeout_ms.filter(|_| s.kind == "run") {
                right.push_str(&format!("/{}", fmt_ms(to)));
            }
        }
        if s.attempts > 1 {
            right.push_str(&format!(" try {}", s.attempts));
        }
        if let Some(u) = &s.undo {
            let (g, st) = match u.state {
                UndoState::Running => ("↶…", t.warn),
                UndoState::Done => ("↶✔", t.warn),
                UndoState::Failed => ("↶✘", t.fail),
                UndoState::Skipped => ("↶–", t.muted),
            };
            spans.push(Span::styled(format!("{g} "), st));
        }
        let label_w = width.saturating_sub(right.chars().count() + 6);
        let mut label = truncate(&s.label, label_w);
        if s.irreversible {
            label.push_str(" ⚠");
        }
        let lstyle = if s.state == StepState::Pending {
            t.muted
        } else {
            t.text
        };
        let pad = width.saturating_sub(
            label.chars().count()
                + right.chars().count()
                + spans
                    .iter()
                    .map(|s| s.content.chars().count())
                    .sum::<usize>(),
        );
        spans.push(Span::styled(label, lstyle));
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(right, t.muted));
        lines.push(Line::from(spans));
        // An evidence gate's items say more than its one failure line would.
        for ev in &s.evidence {
            let (g, style) = if ev.ok {
                ("✔", t.ok)
            } else {
                ("✘", t.fail)
            };
            let text = ev.kind.headline(&ev.summary);
            lines.push(Line::from(vec![
                Span::styled(format!("    {g} "), style),
                Span::styled(
                    truncate(&text, width.saturating_sub(6)),
                    if ev.ok { t.muted } else { t.fail },
                ),
            ]));
        }
        if s.evidence.is_empty()
            && matches!(s.state, StepState::Failed | StepState::TimedOut)
            && !s.message.is_empty()
        {
            lines.push(Line::from(Span::styled(
                format!("    {}", truncate(&s.message, width.saturating_sub(4))),
                t.fail,
            )));
            // The stderr lines before the one the message ends with, from
            // what the cockpit holds of the step's output (at most two).
            for l in failed_stderr(app, env, i, &s.message) {
                lines.push(Line::from(Span::styled(
                    format!("    ┃ {}", truncate(&l, width.saturating_sub(6))),
                    t.muted,
                )));
            }
        }
    }
    // The rollback's verification is the rollback's own line, under its steps.
    if let Some(v) = &view.verification {
        let (glyph, style, text) = match v {
            Verification::Running { check } => {
                ("↶…", t.warn, format!("verifying the rollback: {check}"))
            }
            Verification::Passed { check, .. } => {
                ("↶✔", t.ok, format!("rollback verified by {check}"))
            }
            Verification::Failed { check, message, .. } => {
                ("↶✘", t.fail, format!("{check} failed: {message}"))
            }
            Verification::NotChecked { .. } if view.unverified_undo() => {
                ("↶–", t.warn, format!("rolled back ({NOT_VERIFIED})"))
            }
            Verification::NotChecked { message } => ("↶–", t.muted, message.clone()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{glyph} "), style),
            Span::styled(truncate(&text, width.saturating_sub(4)), style),
        ]));
        // What a failing check's command said last, as evidence items are listed.
        if let Verification::Failed { output, .. } = v {
            let from = output.len().saturating_sub(3);
            for l in &output[from..] {
                lines.push(Line::from(Span::styled(
                    format!("    {}", truncate(l, width.saturating_sub(4))),
                    t.muted,
                )));
            }
        }
    }
    // Keep the current step in view.
    let cur = view.current_step.unwrap_or(0) as u16;
    let auto = cur.saturating_sub(list.height.saturating_sub(3));
    let scroll = app
        .view
        .pipeline_scroll
        .max(auto)
        .min(lines.len().saturating_sub(list.height as usize) as u16);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), list);
    if let Some((label, ratio)) = progress {
        frame.render_widget(
            Gauge::default()
                .ratio(ratio.clamp(0.0, 1.0))
                .label(label)
                .gauge_style(t.gauge)
                .use_unicode(true),
            gauge,
        );
    }
    let mut other_lines = Vec::new();
    for (i, e) in app.run.envs.iter().enumerate() {
        if i == env {
            continue;
        }
        let (g, gs) = env_glyph(app, e.status);
        let mut spans = vec![Span::styled(format!("{g} {:<9}", e.name), gs)];
        for s in &e.steps {
            let (sg, ss) = step_glyph(app, s.state);
            spans.push(Span::styled(sg, ss));
        }
        other_lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(other_lines), strip);
}

/// Up to two stderr lines a failed step printed before its last one (which
/// its message already ends with), oldest first; blank lines skipped.
fn failed_stderr(app: &App, env: usize, step: usize, message: &str) -> Vec<String> {
    let mut out: Vec<String> = app
        .logs
        .iter()
        .rev()
        .filter(|l| l.env == env && l.step == step && !l.rollback && l.stream == Stream::Stderr)
        .map(|l| l.plain.trim().to_string())
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    // The newest is in the message already.
    if out.first().is_some_and(|l| message.ends_with(l.as_str())) {
        out.remove(0);
    }
    out.truncate(2);
    out.reverse();
    out
}
