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
use crate::change::Mark;
use crate::cockpit::app::{App, textarea};
use crate::cockpit::keymap::{Scope, UiAction};
use crate::engine::Action;
use crate::tui::widgets::truncate;

/// What the prompt decides: the gate that waits, or a break-glass that
/// waits for a second person (its gate name is `break-glass`); with its
/// environment and whether a comment is required.
struct Target {
    env: usize,
    gate: String,
    require_comment: bool,
}

fn target(app: &App) -> Option<Target> {
    match (&app.run.waiting, &app.run.glass_wait) {
        (Some(w), _) => Some(Target {
            env: w.env,
            gate: w.gate.clone(),
            require_comment: w.require_comment,
        }),
        (None, Some(g)) => Some(Target {
            env: g.env,
            gate: crate::engine::state::admission::GLASS_GATE.to_string(),
            require_comment: false,
        }),
        (None, None) => None,
    }
}

/// Whether a gate (or a break-glass) waits for a decision here.
pub fn waits(app: &App) -> bool {
    target(app).is_some()
}

/// The environment and gate the prompt decides, as a board's inbox names
/// them (the break-glass's gate is `break-glass`).
pub fn place(app: &App) -> Option<(String, String)> {
    let t = target(app)?;
    Some((app.run.envs.get(t.env)?.name.clone(), t.gate))
}

/// `a` or `x`: the prompt, if a gate (or a break-glass) waits.
pub fn open(app: &mut App, intent: Intent) {
    if target(app).is_none() {
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
    match (action, target(app)) {
        (Some(UiAction::Cancel), _) => Outcome::close(),
        (_, None) if reject || action == Some(UiAction::Confirm) => {
            app.toast("the gate is no longer waiting", true);
            Outcome::close()
        }
        (_, Some(Target { gate, .. })) if reject => Outcome::send_checked(
            app,
            Action::Reject {
                gate: Some(gate),
                reason: text,
            },
            false,
        ),
        (
            Some(UiAction::Confirm),
            Some(Target {
                gate,
                require_comment,
                ..
            }),
        ) => Outcome::send_checked(
            app,
            Action::Approve {
                gate: Some(gate),
                comment: text,
            },
            require_comment,
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

/// Rows of what the promotion changes the prompt lists at most; the rest
/// are counted, and `slate approve RUN --show` lists them all.
const CHANGE_ROWS_SHOWN: usize = 8;

/// What promoting into `env` changes against what the ledger says is live
/// there: a headline, a summary, then up to `room` rows. A run whose engine
/// asked no ledger (or journaled before it could) says so instead of
/// claiming the plan's `previous_version` is what it replaces.
/// Rows are cut to `width` (a config value may be long); the headline wraps.
fn change_lines(app: &App, env: usize, room: usize, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let name = app.run.envs.get(env).map_or("?", |e| e.name.as_str());
    let Some(c) = app.run.envs.get(env).and_then(|e| e.change.as_deref()) else {
        return vec![Line::from(Span::styled(
            format!(
                "the plan says this replaces {}; the ledger was not asked",
                crate::text::neutral::line(&app.plan.release.previous_version)
            ),
            t.muted,
        ))];
    };
    let mut out = vec![
        Line::from(Span::styled(crate::change::headline(c, name), t.accent)),
        Line::from(Span::styled(crate::change::summary(c), t.muted)),
    ];
    let rows = crate::change::rows(c);
    // Changes before what stayed the same.
    let mut ordered: Vec<&crate::change::Row> =
        rows.iter().filter(|r| r.mark != Mark::Same).collect();
    ordered.extend(rows.iter().filter(|r| r.mark == Mark::Same));
    let shown = if ordered.len() > room {
        room - 1
    } else {
        ordered.len()
    };
    for r in &ordered[..shown] {
        let style = match r.mark {
            Mark::Added => t.ok,
            Mark::Changed | Mark::Warn => t.warn,
            Mark::Removed => t.fail,
            Mark::Same | Mark::Detail => t.muted,
        };
        out.push(Line::from(Span::styled(
            truncate(&format!("  {} {}", r.mark.sign(), r.text), width),
            style,
        )));
    }
    if ordered.len() > shown {
        out.push(Line::from(Span::styled(
            format!(
                "  … {} more (`slate approve {} --show` lists them)",
                ordered.len() - shown,
                app.run.run_id
            ),
            t.muted,
        )));
    }
    out
}

/// Evidence lines the prompt lists at most.
const EVIDENCE_SHOWN: usize = 8;

/// What the run has proved up to environment `upto`, strongest first: anything
/// that failed, then analyses (measured over a window), evidence gates
/// (reports judged), then checks (one probe each). (passed, text).
pub fn evidence(app: &App, upto: usize) -> Vec<(bool, String)> {
    use crate::analysis::Verdict;
    let envs = &app.run.envs[..=upto.min(app.run.envs.len().saturating_sub(1))];
    let mut strong: Vec<(u8, bool, String)> = Vec::new();
    for e in envs {
        for a in &e.analyses {
            let Some(v) = &a.verdict else { continue };
            let ok = *v == Verdict::Passed;
            let taken: u32 = a.metrics.iter().map(|m| m.taken).sum();
            let text = format!(
                "{} {} · analysis {} {} ({taken} samples)",
                if ok { "✔" } else { "✘" },
                e.name,
                a.name,
                if ok { "passed" } else { a.reason.as_str() }
            );
            strong.push((0, ok, text));
        }
        for s in &e.steps {
            for ev in &s.evidence {
                let text = format!(
                    "{} {} · {}",
                    if ev.ok { "✔" } else { "✘" },
                    e.name,
                    ev.kind.headline(&ev.summary)
                );
                strong.push((1, ev.ok, text));
            }
        }
    }
    for c in app.run.checks.iter().filter(|c| c.env <= upto) {
        let Some((ms, ok)) = c.samples.back() else {
            continue;
        };
        let name = app.run.envs.get(c.env).map_or("?", |e| e.name.as_str());
        let text = format!(
            "{} {name} · check {} ({ms} ms)",
            if *ok { "✔" } else { "✘" },
            c.check
        );
        strong.push((2, *ok, text));
    }
    // Failures first, then by strength; the sort is stable, so run order within.
    strong.sort_by_key(|(rank, ok, _)| (*ok, *rank));
    strong.into_iter().map(|(_, ok, text)| (ok, text)).collect()
}

/// The prompt for a break-glass waiting for a second person: who asked,
/// why, and what approving it crosses.
fn draw_glass(
    frame: &mut Frame,
    app: &App,
    intent: Intent,
    input: &TextArea<'static>,
    area: Rect,
    g: &crate::engine::state::admission::GlassWait,
) {
    let t = &app.theme;
    let env = app
        .run
        .envs
        .get(g.env)
        .map(|e| e.name.clone())
        .unwrap_or_default();
    let lines = vec![
        Line::from(vec![
            Span::styled("BREAK-GLASS ", t.fail),
            Span::styled(format!("into {env} asked by {}: ", g.actor.user), t.title),
            Span::styled(g.reason.clone(), t.text),
        ]),
        Line::from(Span::styled(
            format!("to cross: {}", g.crossed.message),
            t.warn,
        )),
        Line::from(Span::styled(
            format!(
                "approving lets {} {} cross it: only someone other than {} whom the break-glass policy allows may",
                app.plan.release.name, app.plan.release.version, g.actor.user
            ),
            t.muted,
        )),
    ];
    let title = match intent {
        Intent::Approve => "Approve the break-glass?",
        Intent::Reject => "Reject the break-glass?",
    };
    framed(frame, app, intent, input, area, title, lines);
}

pub fn draw(frame: &mut Frame, app: &App, intent: Intent, input: &TextArea<'static>, area: Rect) {
    let t = &app.theme;
    if app.run.waiting.is_none()
        && let Some(g) = &app.run.glass_wait
    {
        return draw_glass(frame, app, intent, input, area, g);
    }
    let Some(w) = &app.run.waiting else { return };
    let env = &app.run.envs[w.env];
    let mut lines = vec![Line::from(vec![
        Span::styled("Gate ", t.muted),
        Span::styled(w.gate.clone(), t.title),
        Span::styled(" before promoting ", t.muted),
        Span::styled(
            format!("{} {}", app.plan.release.name, app.plan.release.version),
            t.title,
        ),
        Span::styled(format!(" to {}", env.name), t.accent),
    ])];
    let items = evidence(app, w.env);
    // What the promotion changes comes first, in what room the evidence and
    // the input leave: an 80×24 terminal still shows the headline and summary.
    let evidence_rows = items.len().min(EVIDENCE_SHOWN + 1) + 1;
    let room = usize::from(area.height)
        .saturating_sub(7 + 4 + evidence_rows)
        .clamp(2, CHANGE_ROWS_SHOWN);
    let width = usize::from(inner_width(area, 76)).saturating_sub(2);
    lines.extend(change_lines(app, w.env, room, width));
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
    for (ok, text) in items.iter().take(EVIDENCE_SHOWN) {
        lines.push(Line::from(Span::styled(
            format!("  {}", truncate(text, width)),
            if *ok { t.text } else { t.fail },
        )));
    }
    if items.len() > EVIDENCE_SHOWN {
        lines.push(Line::from(Span::styled(
            format!("  … {} more", items.len() - EVIDENCE_SHOWN),
            t.muted,
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
    let title = match intent {
        Intent::Approve => "Approve?",
        Intent::Reject => "Reject?",
    };
    framed(frame, app, intent, input, area, title, lines);
}

/// The prompt's frame, one for a gate and a break-glass: `lines`, then the
/// comment box and the keys, centred and as tall as the lines wrap.
fn framed(
    frame: &mut Frame,
    app: &App,
    intent: Intent,
    input: &TextArea<'static>,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
) {
    let rows = wrapped_rows(&lines, inner_width(area, 76));
    let r = centered(area, 76, rows + 7);
    frame.render_widget(Clear, r);
    let b = block(app, title);
    let inner = b.inner(r);
    frame.render_widget(b, r);
    let [info, input_area, hint] = inner.layout(&Layout::vertical([
        Constraint::Length(rows),
        Constraint::Length(3),
        Constraint::Length(1),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
    input_box(frame, input, " comment ", app.theme.border, input_area);
    hint_line(frame, app, &commands(app, intent), hint);
}
