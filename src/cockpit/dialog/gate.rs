//! The gate prompt: approve (or reject) the gate the run waits at, with
//! the comment (or reason) typed here, next to what an approver should know:
//! the config changes, the evidence so far and who has approved.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::frame::{block, centered, hint_line, inner_width, input_box, wrapped_rows};
use super::{Intent, Modal, Outcome, text_of};
use crate::cockpit::app::{App, textarea};
use crate::cockpit::keymap::{Scope, UiAction};
use crate::engine::Action;
use crate::plan::ConfigDelta;
use crate::tui::widgets::truncate;

/// `a` or `x`: the prompt, if a gate waits.
pub fn open(app: &mut App, intent: Intent) {
    if app.run.waiting.is_none() {
        app.toast("no gate is waiting for a decision", true);
        return;
    }
    let hint = match intent {
        Intent::Approve => "comment (why is this safe to promote?)",
        Intent::Reject => "reason for rejecting",
    };
    app.modal = Some(Modal::Gate {
        intent,
        input: textarea(hint),
    });
}

pub fn event(
    app: &mut App,
    intent: Intent,
    input: &mut TextArea<'static>,
    key: KeyEvent,
) -> Outcome {
    let action = app.keymap.lookup_dialog(Scope::Gate, &key);
    let reject = action == Some(UiAction::RejectGate)
        || (action == Some(UiAction::Confirm) && intent == Intent::Reject);
    let text = text_of(input);
    match (action, app.run.waiting.clone()) {
        (Some(UiAction::Cancel), _) => Outcome::close(),
        (_, None) if reject || action == Some(UiAction::Confirm) => {
            app.toast("the gate is no longer waiting", true);
            Outcome::close()
        }
        (_, Some(w)) if reject => Outcome::send_checked(
            app,
            Action::Reject {
                gate: Some(w.gate),
                reason: text,
            },
            false,
        ),
        (Some(UiAction::Confirm), Some(w)) => Outcome::send_checked(
            app,
            Action::Approve {
                gate: Some(w.gate),
                comment: text,
            },
            w.require_comment,
        ),
        _ => {
            input.input(key);
            Outcome::keep()
        }
    }
}

/// The keys the prompt offers, as the keymap has them.
pub fn commands(app: &App, intent: Intent) -> Vec<(String, &'static str)> {
    let k = |a| app.keymap.first(a);
    match intent {
        Intent::Approve => vec![
            (k(UiAction::Confirm), "approve"),
            (k(UiAction::RejectGate), "reject (comment is the reason)"),
            (k(UiAction::Cancel), "close"),
        ],
        Intent::Reject => vec![
            (k(UiAction::Confirm), "reject (comment is the reason)"),
            (k(UiAction::Cancel), "close"),
        ],
    }
}

pub fn draw(frame: &mut Frame, app: &App, intent: Intent, input: &TextArea<'static>, area: Rect) {
    let t = &app.theme;
    let Some(w) = &app.run.waiting else { return };
    let env = &app.run.envs[w.env];
    let mut lines = vec![
        Line::from(vec![
            Span::styled("Gate ", t.muted),
            Span::styled(w.gate.clone(), t.title),
            Span::styled(" before promoting ", t.muted),
            Span::styled(
                format!("{} {}", app.plan.release.name, app.plan.release.version),
                t.title,
            ),
            Span::styled(format!(" to {}", env.name), t.accent),
        ]),
        Line::from(Span::styled(
            format!("replacing {}", app.plan.release.previous_version),
            t.muted,
        )),
    ];
    let deltas = app
        .plan
        .config_deltas(w.env.min(app.plan.environments.len().saturating_sub(1)));
    if !deltas.is_empty() {
        lines.push(Line::from(Span::styled(
            "config changes against the previous environment:",
            t.muted,
        )));
        for d in deltas.iter().take(6) {
            let (s, style) = match d {
                ConfigDelta::Added(k, v) => (format!("  + {k} = {v}"), t.ok),
                ConfigDelta::Changed(k, a, b) => (format!("  ~ {k}: {a} → {b}"), t.warn),
                ConfigDelta::Removed(k, v) => (format!("  - {k} (was {v})"), t.fail),
            };
            lines.push(Line::from(Span::styled(s, style)));
        }
        if deltas.len() > 6 {
            lines.push(Line::from(Span::styled(
                format!("  … {} more", deltas.len() - 6),
                t.muted,
            )));
        }
    }
    let evidence: Vec<String> = app
        .run
        .checks
        .iter()
        .filter(|c| c.env <= w.env)
        .filter_map(|c| {
            let (ms, ok) = c.samples.back()?;
            Some(format!(
                "{} {} · {} ({ms} ms)",
                if *ok { "✔" } else { "✘" },
                app.run.envs[c.env].name,
                c.check
            ))
        })
        .collect();
    let done: Vec<String> = app.run.envs[..w.env]
        .iter()
        .map(|e| format!("{} {}", e.name, e.status.word()))
        .collect();
    if !done.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("evidence: {}", done.join(", ")),
            t.text,
        )));
    }
    for e in evidence.iter().rev().take(3) {
        lines.push(Line::from(Span::styled(format!("  {e}"), t.text)));
    }
    // What evidence gates judged, here and before, newest last.
    let judged: Vec<_> = app.run.envs[..=w.env]
        .iter()
        .flat_map(|e| {
            e.steps
                .iter()
                .flat_map(move |s| s.evidence.iter().map(move |ev| (&e.name, ev)))
        })
        .collect();
    let width = usize::from(inner_width(area, 76)).saturating_sub(2);
    for (env_name, ev) in judged.iter().skip(judged.len().saturating_sub(4)) {
        let text = format!(
            "{} {env_name} · {}",
            if ev.ok { "✔" } else { "✘" },
            ev.kind.headline(&ev.summary)
        );
        lines.push(Line::from(Span::styled(
            format!("  {}", truncate(&text, width)),
            if ev.ok { t.text } else { t.fail },
        )));
    }
    let approvers: Vec<String> = env
        .approvals
        .iter()
        .filter(|a| a.gate == w.gate && a.step == w.step)
        .map(|a| a.user.clone())
        .collect();
    lines.push(Line::from(Span::styled(
        format!(
            "approvals {}/{}{}{}",
            approvers.len(),
            w.required,
            if approvers.is_empty() {
                String::new()
            } else {
                format!(" by {}", approvers.join(", "))
            },
            if w.require_comment {
                " · a comment is required"
            } else {
                ""
            }
        ),
        t.paused,
    )));
    let rows = wrapped_rows(&lines, inner_width(area, 76));
    let r = centered(area, 76, rows + 7);
    frame.render_widget(Clear, r);
    let title = match intent {
        Intent::Approve => "Approve?",
        Intent::Reject => "Reject?",
    };
    let b = block(app, title);
    let inner = b.inner(r);
    frame.render_widget(b, r);
    let [info, input_area, hint] = inner.layout(&Layout::vertical([
        Constraint::Length(rows),
        Constraint::Length(3),
        Constraint::Length(1),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
    input_box(frame, input, " comment ", t.border, input_area);
    hint_line(frame, app, &commands(app, intent), hint);
}
