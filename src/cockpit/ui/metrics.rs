//! The metrics panel: every analysis of the run, newest first (the 10%
//! step's samples stay when 50% starts), each metric a sparkline with its
//! threshold drawn across it and its current value; then one latency
//! sparkline per check. It scrolls when focused.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use unicode_width::UnicodeWidthStr;

use super::spark;
use super::widgets::panel_block;
use crate::analysis::{Judgement, Verdict};
use crate::cockpit::app::{App, Panel};
use crate::engine::state::AnalysisView;
use crate::tui::widgets::truncate;

/// Every analysis of the run with its environment, newest first.
pub fn all_analyses(app: &App) -> Vec<(usize, &AnalysisView)> {
    let mut out: Vec<(usize, &AnalysisView)> = app
        .run
        .envs
        .iter()
        .enumerate()
        .flat_map(|(i, e)| e.analyses.iter().map(move |a| (i, a)))
        .collect();
    out.reverse();
    out
}

/// Rows the panel would like: a header and three rows per metric of each
/// analysis, two per check.
pub fn wanted_height(app: &App) -> u16 {
    let metrics: usize = all_analyses(app)
        .iter()
        .map(|(_, a)| 1 + 3 * a.metrics.len())
        .sum();
    (2 + metrics + 2 * app.run.checks.len()) as u16
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let block = panel_block(
        app,
        Panel::Metrics,
        Span::styled("analysis & checks ", t.muted),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let w = inner.width as usize;
    for (env, a) in all_analyses(app) {
        let env_name = app.run.envs[env].name.clone();
        let (mark, style, state) = match &a.verdict {
            None => {
                let taken: u32 = a.metrics.iter().map(|m| m.taken).sum();
                let planned: u32 = a.metrics.iter().map(|m| m.info.count).sum();
                ("◔", t.running, format!("measuring {taken}/{planned}"))
            }
            Some(Verdict::Passed) => ("✔", t.ok, "passed".into()),
            Some(Verdict::Failed) => ("✘", t.fail, format!("failed: {}", a.reason)),
            Some(Verdict::Inconclusive) => ("?", t.warn, format!("inconclusive: {}", a.reason)),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(format!("{} · {env_name} ", a.name), t.text),
            Span::styled(
                truncate(&state, w.saturating_sub(a.name.len() + env_name.len() + 6)),
                style,
            ),
        ]));
        for m in &a.metrics {
            let last = m.samples.back().map(|(_, j)| *j);
            let value_style = match last {
                Some(Judgement::Fail) => t.fail,
                Some(Judgement::Pass) => t.ok,
                Some(_) => t.warn,
                None => t.muted,
            };
            let shown = if m.last_shown.is_empty() {
                "–".to_string()
            } else {
                m.last_shown.clone()
            };
            let fails = if m.failed > 0 {
                Span::styled(format!("  ✘ {} of {}", m.failed, m.taken), t.fail)
            } else {
                Span::styled(format!("  {}/{}", m.taken, m.info.count), t.muted)
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", m.info.name), t.text),
                Span::styled(
                    format!("{shown} {}", m.info.unit).trim_end().to_string(),
                    value_style,
                ),
                Span::styled(format!("  {}", m.info.condition), t.muted),
                fails,
            ]));
            let samples: Vec<_> = m.samples.iter().copied().collect();
            lines.extend(spark::rows(&samples, m.info.threshold, w, t));
        }
    }
    // Scrolled when focused; never past the last analysis line.
    let total = lines.len() as u16;
    let scroll = app.view.metrics_scroll.min(total.saturating_sub(1));
    let used = total.saturating_sub(scroll).min(inner.height);
    if !lines.is_empty() {
        frame.render_widget(
            Paragraph::new(lines).scroll((scroll, 0)),
            Rect::new(inner.x, inner.y, inner.width, used),
        );
    }
    if app.run.checks.is_empty() {
        if used == 0 {
            frame.render_widget(
                Paragraph::new(Span::styled("no checks or analyses have run yet", t.muted)),
                inner,
            );
        }
        return;
    }
    let mut y = inner.y + used;
    for c in &app.run.checks {
        if y >= inner.bottom() {
            break;
        }
        let (last_ms, ok) = c.samples.back().copied().unwrap_or((0, true));
        let env = app
            .run
            .envs
            .get(c.env)
            .map(|e| e.name.as_str())
            .unwrap_or("?");
        let (mark, style) = if ok {
            ("✔ pass", t.ok)
        } else {
            ("✘ FAIL", t.fail)
        };
        let lead = format!("{env} · ");
        let label = Line::from(vec![
            Span::styled(format!("{lead}{} ", c.check), t.text),
            Span::styled(format!("{last_ms} ms "), t.accent),
            Span::styled(mark, style),
        ]);
        frame.render_widget(Paragraph::new(label), Rect::new(inner.x, y, inner.width, 1));
        // The check's name links to what it asks, when that is a web address.
        if app.links
            && let Some(url) = check_url(app, c.env, &c.check)
        {
            let x = inner.x.saturating_add(lead.width() as u16);
            let w = (c.check.width() as u16).min(inner.right().saturating_sub(x));
            crate::tui::osc::link_cells(frame.buffer_mut(), Rect::new(x, y, w, 1), &url);
        }
        y += 1;
        if y < inner.bottom() {
            let data: Vec<u64> = c.samples.iter().map(|(ms, _)| (*ms).max(1)).collect();
            let data = &data[spark::window(data.len(), w)..];
            frame.render_widget(
                Sparkline::default()
                    .data(data)
                    .style(if ok { t.gauge } else { t.fail }),
                Rect::new(inner.x, y, inner.width, 1),
            );
            y += 1;
        }
    }
}

/// The address an HTTP check asks in environment `env`, as it may be shown
/// (placeholders filled, `${secret.…}` never: such an address is not linked).
fn check_url(app: &App, env: usize, name: &str) -> Option<String> {
    let check = app.plan.checks.iter().find(|c| c.name == name)?;
    let crate::plan::Check::Http(http) = &check.check else {
        return None;
    };
    let environment = app.plan.environments.get(env)?;
    let url = crate::plan::template::expand(&http.url, environment, &app.plan.release).ok()?;
    let web = url.starts_with("http://") || url.starts_with("https://");
    (web && !url.contains("${")).then_some(url)
}
