//! The environment matrix: one row per environment, with config deltas
//! (expandable key by key), approvals, rollout progress and health.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::widgets::{env_glyph, panel_block};
use crate::cockpit::app::{App, Panel};
use crate::engine::event::EnvOutcome;
use crate::engine::state::{EnvStatus, EnvView, StepState};
use crate::plan::ConfigDelta;
use crate::tui::widgets::truncate;

/// Columns besides env, version and rollout: config, approval, health
/// (and artifacts), with the spaces between columns.
fn fixed_width(with_artifacts: bool) -> usize {
    let cols = if with_artifacts { 7 } else { 6 };
    6 + 12 + 8 + if with_artifacts { 13 } else { 0 } + (cols - 1)
}

/// The rollout column is never narrower than this ("canary 50% running").
const ROLLOUT_MIN: usize = 20;

/// Widths of the env and version columns: what their longest value needs,
/// unless the table would not fit; then the version gives way first, down
/// to 9 columns, and its cut is marked with an ellipsis (the header always
/// shows the version whole).
fn name_and_version_widths(app: &App, width: u16, with_artifacts: bool) -> (usize, usize) {
    use unicode_width::UnicodeWidthStr;
    let name = app
        .run
        .envs
        .iter()
        .map(|e| crate::text::neutral::line(&e.name).width() + 2)
        .max()
        .unwrap_or(0)
        .clamp(11, 24);
    let version = [
        EnvStatus::Pending,
        EnvStatus::Done(EnvOutcome::Deployed),
        EnvStatus::Done(EnvOutcome::RolledBack),
    ]
    .iter()
    .map(|s| version_text(app, *s, None).width())
    .chain(
        app.run
            .envs
            .iter()
            .map(|e| version_text(app, e.status, Some(e)).width()),
    )
    .max()
    .unwrap_or(0)
    .max(7);
    let budget = usize::from(width)
        .saturating_sub(2 + fixed_width(with_artifacts) + ROLLOUT_MIN)
        .max(20);
    let version = version.min(budget.saturating_sub(name).max(9));
    let name = name.min(budget.saturating_sub(version).max(11));
    (name, version)
}

/// `s` in `width` columns, cut between words with an ellipsis rather than
/// inside one (a word cut short reads as another word).
fn fit_words(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    if s.width() <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for word in s.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if next.width() + 1 > width {
            break;
        }
        out = next;
    }
    if out.is_empty() {
        return truncate(s, width);
    }
    out.push('…');
    out
}

/// The version an environment is on, or going to, neutralised (a plan's
/// text is shown, never obeyed: no controls, no bidi overrides).
/// `before` is what was live there by the ledger when the run entered
/// (`EnvChange`), or the plan's `previous_version` until then.
fn version_text(app: &App, status: EnvStatus, env: Option<&EnvView>) -> String {
    // A ledger with nothing there contradicts nothing the plan says.
    let before = match env.and_then(|e| e.change.as_deref()) {
        Some(c) => c
            .live
            .as_ref()
            .map_or(app.plan.release.previous_version.as_str(), |l| &l.version),
        None => &app.plan.release.previous_version,
    };
    let text = match status {
        EnvStatus::Done(EnvOutcome::Deployed) => app.plan.release.version.clone(),
        EnvStatus::Done(EnvOutcome::RolledBack) => format!("{before} ↶"),
        _ => format!("{before} → {}", app.plan.release.version),
    };
    crate::text::neutral::line(&text).into_owned()
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let sel = app.shown_env();
    let key = app.keymap.first(crate::cockpit::keymap::UiAction::Expand);
    let hint = if app.view.expanded {
        format!(" {key}: collapse ")
    } else {
        format!(" {key}: deltas ")
    };
    let block = panel_block(app, Panel::Matrix, Span::styled(hint, t.muted));
    let mut rows = Vec::new();
    // The column is there only for a release that names artifacts.
    let with_artifacts = !app.plan.artifacts.is_empty() || !app.run.artifacts.is_empty();
    let (name_w, version_w) = name_and_version_widths(app, area.width, with_artifacts);
    let rollout_w = usize::from(area.width)
        .saturating_sub(2 + name_w + version_w + fixed_width(with_artifacts));
    for (i, env) in app.run.envs.iter().enumerate() {
        let (glyph, gstyle) = env_glyph(app, env.status);
        let version = truncate(&version_text(app, env.status, Some(env)), version_w);
        let deltas = app
            .plan
            .config_deltas(i.min(app.plan.environments.len().saturating_sub(1)));
        let delta = if deltas.is_empty() {
            "–".to_string()
        } else {
            format!("{} Δ", deltas.len())
        };
        // In the selected row the selection's own colours win over the cells'
        // (a theme's text colour may be its selection background).
        let pick = |s: Style| if i == sel { s.patch(t.selection) } else { s };
        let mut approval = approval(app, i, env);
        approval.style = pick(approval.style);
        let mut health = health(app, i, env);
        health.style = pick(health.style);
        let mut cells = vec![
            Cell::from(Line::from(vec![
                Span::styled(format!("{glyph} "), pick(gstyle)),
                Span::styled(
                    truncate(&crate::text::neutral::line(&env.name), name_w - 2),
                    pick(t.text),
                ),
            ])),
            Cell::from(Span::styled(version, pick(t.text))),
            Cell::from(Span::styled(delta, pick(t.muted))),
            Cell::from(approval),
            Cell::from(fit_words(&rollout(app, i, env), rollout_w)),
            Cell::from(health),
        ];
        if with_artifacts {
            let mut digest = artifacts(app, i);
            digest.style = pick(digest.style);
            cells.push(Cell::from(digest));
        }
        let row = Row::new(cells);
        rows.push(if i == sel {
            row.style(t.selection)
        } else {
            row
        });
        if i == sel && app.view.expanded {
            for d in deltas {
                let (mark, text, style) = match d {
                    ConfigDelta::Added(k, v) => ("+", format!("{k} = {v}"), t.ok),
                    ConfigDelta::Changed(k, a, b) => ("~", format!("{k}: {a} → {b}"), t.warn),
                    ConfigDelta::Removed(k, v) => ("-", format!("{k} (was {v})"), t.fail),
                };
                rows.push(Row::new(vec![
                    Cell::from(""),
                    Cell::from(Span::styled(format!("{mark} {text}"), style)),
                ]));
            }
            // Each artifact's digest as checked before this environment.
            for a in &app.run.artifacts {
                let Some(c) = a.before(i) else { continue };
                let (mark, style) = if c.ok { ("✔", t.ok) } else { ("✘", t.fail) };
                let found = c
                    .found
                    .as_deref()
                    .map_or("no digest".to_string(), |d| format!("sha256:{}", short(d)));
                rows.push(Row::new(vec![
                    Cell::from(""),
                    Cell::from(Span::styled(a.name.clone(), t.muted)),
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(Span::styled(format!("{mark} {found} {}", c.message), style)),
                ]));
            }
        }
    }
    let mut header = vec!["env", "version", "config", "approval", "rollout", "health"];
    let mut widths = vec![
        Constraint::Length(name_w as u16),
        Constraint::Length(version_w as u16),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Fill(1),
        Constraint::Length(8),
    ];
    if with_artifacts {
        header.push("artifacts");
        widths.push(Constraint::Length(13));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.muted))
        .block(block);
    frame.render_widget(table, area);
}

fn approval<'a>(app: &App, env: usize, view: &EnvView) -> Span<'a> {
    let t = &app.theme;
    let has_manual = app.steps.get(env).is_some_and(|steps| {
        steps.iter().any(|s| {
            matches!(s.kind, crate::plan::steps::StepKind::Gate { gate } if app.plan.gates[gate].kind.name() == "manual")
        })
    });
    if !has_manual {
        return Span::styled("–", t.muted);
    }
    let required = app
        .plan
        .environments
        .get(env)
        .map(|e| e.approval.required)
        .unwrap_or(1) as usize;
    let mut users: Vec<&str> = view.approvals.iter().map(|a| a.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let have = users.len().min(required);
    let who = users.first().map(|u| format!(" {u}")).unwrap_or_default();
    let style = if have >= required {
        t.ok
    } else if view.status == EnvStatus::WaitingApproval {
        t.paused
    } else {
        t.muted
    };
    Span::styled(format!("{have}/{required}{who}"), style)
}

fn rollout(app: &App, i: usize, env: &EnvView) -> String {
    let runs: Vec<_> = env.steps.iter().filter(|s| s.kind == "run").collect();
    let done = runs
        .iter()
        .filter(|s| s.state == StepState::Succeeded)
        .count();
    // A deployed environment says so with its glyph; the word would only repeat it.
    let word = match env.status {
        EnvStatus::Done(EnvOutcome::Deployed) => "",
        s => s.word(),
    };
    match super::widgets::rollout_progress(app, i) {
        Some((label, _)) => format!("{label} {word}"),
        None => format!("{done}/{} steps {word}", runs.len()),
    }
    .trim_end()
    .to_string()
}

fn health<'a>(app: &App, env: usize, view: &EnvView) -> Span<'a> {
    let t = &app.theme;
    let last = app
        .run
        .checks
        .iter()
        .rev()
        .filter(|c| c.env == env)
        .find_map(|c| c.samples.back());
    match (last, view.status) {
        // "Back" is a claim only a verification makes; undo commands are not one.
        (_, EnvStatus::Done(EnvOutcome::RolledBack)) if view.unverified_undo() => {
            Span::styled("↶ back?", t.warn)
        }
        (_, EnvStatus::Done(EnvOutcome::RolledBack)) => Span::styled("↶ back", t.warn),
        (Some((_, true)), _) => Span::styled("✔ ok", t.ok),
        (Some((_, false)), _) => Span::styled("✘ fail", t.fail),
        (None, EnvStatus::Done(EnvOutcome::Deployed)) => Span::styled("✔ ok", t.ok),
        _ => Span::styled("–", t.muted),
    }
}

/// The first digits of a sha256, enough to tell two apart at a glance.
fn short(hex: &str) -> &str {
    hex.get(..8).unwrap_or(hex)
}

/// How the artifacts fared before environment `env`: the (first) digest
/// checked, `+N` for more, or the artifact that failed.
fn artifacts<'a>(app: &App, env: usize) -> Span<'a> {
    let t = &app.theme;
    let checks: Vec<_> = app
        .run
        .artifacts
        .iter()
        .filter_map(|a| a.before(env).map(|c| (a, c)))
        .collect();
    if let Some((a, _)) = checks.iter().find(|(_, c)| !c.ok) {
        return Span::styled(format!("✘ {}", a.name), t.fail);
    }
    let Some((_, first)) = checks.first() else {
        return Span::styled("–", t.muted);
    };
    let digest = first.found.as_deref().map(short).unwrap_or("?");
    let more = if checks.len() > 1 {
        format!(" +{}", checks.len() - 1)
    } else {
        String::new()
    };
    Span::styled(format!("✔ {digest}{more}"), t.ok)
}
