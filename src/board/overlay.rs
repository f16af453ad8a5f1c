//! What opens over the board: the `?` help, the delivery panel (`s`) and
//! the reason prompt of a rollback picked in an environment's history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::{App, HistoryPane};
use super::keymap::{self, TYPING_HELP};
use super::snapshot::CellState;
use super::ui::cell_style;
use crate::tui::widgets::truncate;

/// The reason prompt of a rollback to a version picked in the history.
pub(super) fn rollback_prompt(
    frame: &mut Frame,
    app: &App,
    h: &HistoryPane,
    p: &super::rollback::RollbackPrompt,
    area: Rect,
) {
    let t = &app.theme;
    let width = area.width.saturating_sub(4).clamp(20, 72);
    let inner_w = usize::from(width.saturating_sub(2));
    let version = crate::text::neutral::line(&p.version).into_owned();
    let reason = crate::text::neutral::line(&p.reason).into_owned();
    // The end of a long reason stays in view, where the typing is.
    let shown: String = {
        let room = inner_w.saturating_sub(7);
        let n = reason.chars().count();
        reason.chars().skip(n.saturating_sub(room)).collect()
    };
    let lines = vec![
        Line::styled(
            truncate(&format!("Roll {} back to {version}?", h.env), inner_w),
            t.title,
        ),
        Line::styled(
            truncate(
                "A new run deploys it with the plan that put it live;",
                inner_w,
            ),
            t.muted,
        ),
        Line::styled(
            truncate("its pauses and analyses are skipped.", inner_w),
            t.muted,
        ),
        Line::from(vec![
            Span::styled("why: ", t.accent),
            Span::styled(shown, t.text),
            Span::styled("▏", t.accent),
        ]),
        Line::styled("Enter start · Esc cancel", t.muted),
    ];
    let height = (lines.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width: width.min(area.width),
        height,
    };
    frame.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.border_focus)
        .title(Span::styled(" Rollback to a known-good version ", t.title));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The `?` overlay, from the keymap table.
pub(super) fn help(frame: &mut Frame, app: &App, scroll: usize, size: Rect) {
    let t = &app.theme;
    let mut lines: Vec<Line> = Vec::new();
    for (title, rows) in keymap::help(app.screen()) {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(title, t.accent.add_modifier(Modifier::BOLD)));
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<10}"), t.text.add_modifier(Modifier::BOLD)),
                Span::styled(desc, t.text),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(TYPING_HELP, t.muted));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Glyphs",
        t.accent.add_modifier(Modifier::BOLD),
    ));
    for s in CellState::ALL {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<10}", s.glyph()), cell_style(t, s)),
            Span::styled(s.explain(), t.text),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<10}", "❄"), t.warn),
        Span::styled(
            "a freeze (config.toml, slate freeze) holds or is coming within a week",
            t.text,
        ),
    ]));
    let w = 72.min(size.width.saturating_sub(2));
    boxed(
        frame,
        app,
        size,
        w,
        (" Keys ", " ? or Esc closes "),
        lines,
        scroll,
    );
}

/// An overlay `width` wide, as tall as `lines` (up to the screen), centred,
/// with a title and a closing hint; its lines from `scroll` on.
fn boxed(
    frame: &mut Frame,
    app: &App,
    size: Rect,
    width: u16,
    (title, closes): (&str, &str),
    lines: Vec<Line>,
    scroll: usize,
) {
    let t = &app.theme;
    let h = (lines.len() as u16 + 2).min(size.height.saturating_sub(2));
    let area = Rect::new(
        size.x + (size.width - width) / 2,
        size.y + (size.height - h) / 2,
        width,
        h,
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.border_focus)
        .title(Span::styled(title.to_string(), t.title))
        .title_bottom(Span::styled(closes.to_string(), t.muted));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let scroll = scroll.min(lines.len().saturating_sub(usize::from(inner.height)));
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(usize::from(inner.height))
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

/// The delivery panel (`s`): per environment, what `slate stats` counts
/// over twelve weeks, and a sparkline of the versions that went live each week.
pub(super) fn stats_panel(
    frame: &mut Frame,
    app: &App,
    panel: Option<&Result<super::stats::StatsPanel, String>>,
    size: Rect,
) {
    let t = &app.theme;
    let dur = |ms: Option<u64>| ms.map_or("–".to_string(), crate::duration::coarse);
    let mut lines: Vec<Line> = Vec::new();
    match panel {
        None => lines.push(Line::styled(" reading the ledger…", t.muted)),
        Some(Err(e)) => lines.push(Line::styled(
            format!(" cannot read the ledger: {}", crate::text::neutral::line(e)),
            t.fail,
        )),
        Some(Ok(p)) if p.envs.is_empty() => {
            lines.push(Line::styled(
                " nothing went live in the last 12 weeks",
                t.muted,
            ));
        }
        Some(Ok(p)) => {
            let name_w = p
                .envs
                .iter()
                .map(|e| e.env.width())
                .max()
                .unwrap_or(3)
                .clamp(3, 14);
            lines.push(Line::styled(
                format!(
                    " {:<name_w$}  {:>7}  {:>6}  {:>9}  {:>6}  {:>8}  weekly",
                    "env", "deploys", "/week", "lead time", "fail %", "restore"
                ),
                t.muted,
            ));
            for e in &p.envs {
                let m = &e.metrics;
                let cfr = m
                    .change_failure_rate
                    .map_or("–".to_string(), |r| format!("{:.0}%", r * 100.0));
                let failed = if cfr.ends_with('%') { t.warn } else { t.text };
                lines.push(Line::from(vec![
                    Span::styled(
                        format!(
                            " {:<name_w$}  {:>7}  {:>6.1}  {:>9}  ",
                            truncate(&e.env, name_w),
                            m.deployments,
                            m.per_week,
                            dur(m.lead_time.median_ms)
                        ),
                        t.text,
                    ),
                    Span::styled(
                        format!("{cfr:>6}"),
                        if m.failures > 0 { failed } else { t.text },
                    ),
                    Span::styled(format!("  {:>8}  ", dur(m.restore.median_ms)), t.text),
                    Span::styled(super::stats::sparkline(&e.weeks), t.accent),
                ]));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                " lead time from each run's start; `slate stats` counts from commits and says each definition",
                t.muted,
            ));
        }
    }
    let w = size.width.saturating_sub(4).min(96);
    boxed(
        frame,
        app,
        size,
        w,
        (" Delivery, last 12 weeks ", " s or Esc closes "),
        lines,
        0,
    );
}
