//! The rollback confirmation: which environment `R` rolls back, exactly
//! what will be undone and in which order (irreversible steps called out),
//! and the reason, which is required.

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

/// `R`: the confirmation for the environment it would roll back, if any.
pub fn open(app: &mut App) {
    match app.rollback_target() {
        Some(env) => {
            app.modal = Some(Modal::Rollback {
                env,
                input: textarea("reason (required)"),
            })
        }
        None => app.toast(
            "nothing to roll back: no environment has been touched yet",
            true,
        ),
    }
}

pub fn event(app: &mut App, env: usize, input: &mut TextArea<'static>, key: KeyEvent) -> Outcome {
    match app.keymap.lookup_dialog(Scope::Dialogs, &key) {
        Some(UiAction::Cancel) => Outcome::close(),
        Some(UiAction::Confirm) => {
            let action = Action::Rollback {
                env: Some(app.run.envs[env].name.clone()),
                reason: text_of(input),
            };
            Outcome::send_checked(app, action, false)
        }
        _ => {
            input.input(key);
            Outcome::keep()
        }
    }
}

pub fn commands(app: &App) -> Vec<(String, &'static str)> {
    vec![
        (app.keymap.first(UiAction::Confirm), "roll back"),
        (app.keymap.first(UiAction::Cancel), "cancel"),
    ]
}

pub fn draw(frame: &mut Frame, app: &App, env: usize, input: &TextArea<'static>, area: Rect) {
    let t = &app.theme;
    let plan = app.rollback_plan(env);
    let name = &app.run.envs[env].name;
    let mut lines = vec![Line::from(vec![
        Span::styled("Roll back ", t.text),
        Span::styled(name.clone(), t.title),
        Span::styled(
            format!(" to {}. In this order:", app.plan.release.previous_version),
            t.text,
        ),
    ])];
    if plan.is_empty() {
        lines.push(Line::from(Span::styled(
            "  nothing has run there yet",
            t.muted,
        )));
    }
    for (i, (label, what, irreversible)) in plan.iter().enumerate() {
        let style = if *irreversible { t.fail } else { t.text };
        lines.push(Line::from(vec![
            Span::styled(format!("  {}. ", i + 1), t.muted),
            Span::styled(format!("{label}: "), style),
            Span::styled(what.clone(), if *irreversible { t.fail } else { t.muted }),
        ]));
    }
    let rows = wrapped_rows(&lines, inner_width(area, 80));
    let r = centered(area, 80, rows + 7);
    frame.render_widget(Clear, r);
    let b = block(app, "Roll back?");
    let inner = b.inner(r);
    frame.render_widget(b, r);
    let [info, input_area, hint] = inner.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(3),
        Constraint::Length(1),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
    input_box(frame, input, " reason ", t.border, input_area);
    hint_line(frame, app, &commands(app), hint);
}

impl App {
    /// The environment `R` would roll back: the one in progress, else the last deployed.
    pub fn rollback_target(&self) -> Option<usize> {
        use crate::engine::state::EnvStatus;
        if self.is_active() {
            return self
                .run
                .current_env
                .filter(|&e| self.run.envs[e].steps.iter().any(|s| s.attempts > 0));
        }
        let deployed = |i: usize| {
            self.run.envs[i].status == EnvStatus::Done(crate::engine::event::EnvOutcome::Deployed)
        };
        if self.view.env_pinned && deployed(self.view.env_sel) {
            return Some(self.view.env_sel);
        }
        (0..self.run.envs.len()).rev().find(|&i| deployed(i))
    }

    /// What a rollback of `env` would do, in order: (label, what happens, irreversible).
    pub fn rollback_plan(&self, env: usize) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        let (Some(view), Some(steps)) = (self.run.envs.get(env), self.steps.get(env)) else {
            return out;
        };
        for i in crate::engine::undo_order(view, steps) {
            let (s, spec) = (
                &view.steps[i],
                steps[i].run().expect("undo_order yields runs"),
            );
            let what = if spec.irreversible {
                "IRREVERSIBLE — the rollback stops here and asks: hold, roll forward or force"
                    .to_string()
            } else {
                match &spec.rollback {
                    Some(cmd) => {
                        let lines: Vec<&str> = cmd
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect();
                        // A script's first line is usually setup; say what it is instead.
                        match lines.as_slice() {
                            [one] => format!("run: {one}"),
                            many => format!("run its rollback script ({} lines)", many.len()),
                        }
                    }
                    None => "skipped (no rollback command)".to_string(),
                }
            };
            out.push((s.label.clone(), what, spec.irreversible));
        }
        out
    }
}
