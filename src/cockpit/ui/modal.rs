//! Dialogs drawn over the main screen: the gate prompt, the rollback
//! confirmation, the quit question (detach or abort), decisions on a blocked rollback, notes, search, and help
//! (built from the keymap table, so it always matches the keys).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::cockpit::app::{App, Intent, Modal};
use crate::cockpit::keymap::{ACTIONS, REPLAY_GROUP, action_desc};
use crate::engine::event::RollbackChoice;
use crate::plan::ConfigDelta;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Rows `lines` take in a word-wrapped paragraph `width` columns wide (as
/// ratatui wraps: at spaces, long words broken), so a dialog can be tall enough.
fn wrapped_rows(lines: &[Line], width: u16) -> u16 {
    use unicode_width::UnicodeWidthStr;
    let width = usize::from(width.max(1));
    let mut rows = 0;
    for line in lines {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        rows += 1;
        let mut col = 0;
        for word in text.split_inclusive(' ') {
            let w = word.trim_end_matches(' ').width();
            if col > 0 && col + w > width {
                rows += 1;
                col = 0;
            }
            col += w;
            if col > width {
                rows += (col - 1) / width;
                col = (col - 1) % width + 1;
            }
            col += word.width() - w;
        }
    }
    rows.min(usize::from(u16::MAX)) as u16
}

/// The inner width of a dialog at most `w` wide (see [`centered`]).
fn inner_width(area: Rect, w: u16) -> u16 {
    w.min(area.width.saturating_sub(2)).saturating_sub(2)
}

/// A dialog's text box: the textarea as typed so far, framed and titled.
fn input_box(
    frame: &mut Frame,
    input: &ratatui_textarea::TextArea<'static>,
    title: &str,
    style: ratatui::style::Style,
    area: Rect,
) {
    let mut ta = input.clone();
    ta.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(style)
            .title(title.to_string()),
    );
    frame.render_widget(&ta, area);
}

fn frame_block<'a>(app: &App, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(app.theme.border_focus)
        .title(Span::styled(format!(" {title} "), app.theme.title))
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let Some(modal) = &app.modal else { return };
    match modal {
        Modal::Gate { intent, input } => {
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
                .checks
                .iter()
                .filter(|c| c.env <= w.env)
                .filter_map(|c| {
                    let (ms, ok) = c.samples.back()?;
                    Some(format!(
                        "{} {} · {} ({ms} ms)",
                        if *ok { "✔" } else { "✘" },
                        app.run.envs[c.env].name,
                        c.gate
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
                    format!("  {}", super::widgets::truncate(&text, width)),
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
            let hints = match intent {
                Intent::Approve => {
                    "Enter approve · Ctrl-R reject (comment is the reason) · Esc close"
                }
                Intent::Reject => "Enter reject (comment is the reason) · Esc close",
            };
            let rows = wrapped_rows(&lines, inner_width(area, 76));
            let r = centered(area, 76, rows + 7);
            frame.render_widget(Clear, r);
            let title = match intent {
                Intent::Approve => "Approve?",
                Intent::Reject => "Reject?",
            };
            let block = frame_block(app, title);
            let inner = block.inner(r);
            frame.render_widget(block, r);
            let [info, input_area, hint] = inner.layout(&Layout::vertical([
                Constraint::Length(rows),
                Constraint::Length(3),
                Constraint::Length(1),
            ]));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
            input_box(frame, input, " comment ", t.border, input_area);
            frame.render_widget(Paragraph::new(Span::styled(hints, t.muted)), hint);
        }
        Modal::Rollback { env, input } => {
            let plan = app.rollback_plan(*env);
            let name = &app.run.envs[*env].name;
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
            let block = frame_block(app, "Roll back?");
            let inner = block.inner(r);
            frame.render_widget(block, r);
            let [info, input_area, hint] = inner.layout(&Layout::vertical([
                Constraint::Fill(1),
                Constraint::Length(3),
                Constraint::Length(1),
            ]));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
            input_box(frame, input, " reason ", t.border, input_area);
            frame.render_widget(
                Paragraph::new(Span::styled("Enter roll back · Esc cancel", t.muted)),
                hint,
            );
        }
        Modal::Decide { ack } => {
            let Some(b) = &app.run.blocked else { return };
            let mut lines = vec![
                Line::from(Span::styled(b.reason.clone(), t.fail)),
                Line::from(""),
            ];
            for c in &b.choices {
                let (key, text) = match c {
                    RollbackChoice::Hold => (
                        "h",
                        "hold: leave the environment as it is; a person takes over",
                    ),
                    RollbackChoice::RollForward => (
                        "f",
                        "roll forward: keep the new version and run the remaining steps again",
                    ),
                    RollbackChoice::Force => (
                        "F",
                        "force: roll back past it anyway (asks for an acknowledgement)",
                    ),
                    RollbackChoice::Retry if b.undo => ("r", "retry the rollback step"),
                    RollbackChoice::Retry => ("r", "retry: run the step again"),
                    RollbackChoice::Done => {
                        ("d", "done: the step finished its work; carry on after it")
                    }
                    RollbackChoice::Rollback => ("b", "roll back the environment instead"),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {key}  "), t.accent),
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
            let block = frame_block(app, title);
            let inner = block.inner(r);
            frame.render_widget(block, r);
            let [info, input_area, hint] = inner.layout(&Layout::vertical([
                Constraint::Fill(1),
                Constraint::Length(if ack.is_some() { 3 } else { 0 }),
                Constraint::Length(1),
            ]));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
            if let Some(input) = ack {
                input_box(frame, input, " acknowledgement ", t.fail, input_area);
            }
            let hint_text = if ack.is_some() {
                "Enter force · Esc back"
            } else {
                "press a letter · Esc close (d reopens)"
            };
            frame.render_widget(Paragraph::new(Span::styled(hint_text, t.muted)), hint);
        }
        Modal::Note { input } | Modal::Search { input } => {
            let (title, hint) = match modal {
                Modal::Note { .. } => ("Note for the run record", "Enter save · Esc cancel"),
                _ => ("Search logs", "Enter search · Esc cancel · then n / N"),
            };
            let r = centered(area, 70, 6);
            frame.render_widget(Clear, r);
            let block = frame_block(app, title);
            let inner = block.inner(r);
            frame.render_widget(block, r);
            let [input_area, hint_area] = inner.layout(&Layout::vertical([
                Constraint::Length(3),
                Constraint::Length(1),
            ]));
            input_box(frame, input, "", t.border, input_area);
            frame.render_widget(Paragraph::new(Span::styled(hint, t.muted)), hint_area);
        }
        Modal::Quit => {
            let env = app
                .run
                .current_env
                .map(|e| app.run.envs[e].name.clone())
                .unwrap_or_default();
            let lines = vec![
                Line::from(Span::styled("A release is in progress.", t.title)),
                Line::from(Span::styled(
                    "Detach: the cockpit closes and the release goes on; slate attach brings it back.",
                    t.text,
                )),
                Line::from(Span::styled(
                    format!(
                        "Abort: {env} is stopped and rolled back first, then the cockpit closes."
                    ),
                    t.text,
                )),
                Line::from(""),
                Line::from(vec![
                    Span::styled("d / Enter", t.accent),
                    Span::styled(" detach   ", t.text),
                    Span::styled("a", t.accent),
                    Span::styled(" abort and quit   ", t.text),
                    Span::styled("n / Esc", t.accent),
                    Span::styled(" stay", t.text),
                ]),
            ];
            let r = centered(area, 72, wrapped_rows(&lines, inner_width(area, 72)) + 2);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(frame_block(app, "Quit?")),
                r,
            );
        }
        Modal::Help { scroll } => {
            let mut lines = Vec::new();
            let mut group = "";
            let replay = app.replay.is_some();
            for (action, _, desc, g) in ACTIONS {
                // Replay keys exist only in a replay.
                if *g == REPLAY_GROUP && !replay {
                    continue;
                }
                if *g != group {
                    if !group.is_empty() {
                        lines.push(Line::from(""));
                    }
                    let title = match &app.read_only {
                        Some(ro) if *g == "release" => {
                            format!("{g} (read-only in this {}: not available)", ro.reason)
                        }
                        _ => g.to_string(),
                    };
                    lines.push(Line::from(Span::styled(title, t.accent)));
                    if *g == REPLAY_GROUP {
                        lines.extend(replay_clashes(app));
                    }
                    group = g;
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<14}", app.keymap.label(*action)), t.title),
                    Span::styled(desc.to_string(), t.text),
                ]));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "in dialogs: Enter confirms, Esc closes; keys can be changed in config.toml [keys]",
                t.muted,
            )));
            let r = centered(area, 64, area.height.saturating_sub(2));
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0))
                    .block(frame_block(app, "Keys (? or Esc to close, j/k to scroll)")),
                r,
            );
        }
    }
}

/// Where a replay key is also a cockpit key the replay wins: help says which.
fn replay_clashes(app: &App) -> Option<Line<'static>> {
    let taken: Vec<String> = app
        .keymap
        .replay_clashes()
        .iter()
        .map(|(k, a)| format!("{} ({})", k.label(), action_desc(*a)))
        .collect();
    (!taken.is_empty()).then(|| {
        Line::from(Span::styled(
            format!("  in a replay these replace: {}", taken.join(", ")),
            app.theme.warn,
        ))
    })
}
