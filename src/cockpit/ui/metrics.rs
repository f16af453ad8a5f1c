//! One sparkline per check: its latency per attempt, with the last value and
//! a pass/fail marker. The metrics issue adds real metric series here.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::widgets::panel_block;
use crate::cockpit::app::{App, Panel};

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let block = panel_block(
        app,
        Panel::Metrics,
        Span::styled("latency per attempt ", t.muted),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.checks.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no checks have run yet", t.muted)),
            inner,
        );
        return;
    }
    let mut y = inner.y;
    for c in &app.checks {
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
        let label = Line::from(vec![
            Span::styled(format!("{env} · {} ", c.gate), t.text),
            Span::styled(format!("{last_ms} ms "), t.accent),
            Span::styled(mark, style),
        ]);
        frame.render_widget(Paragraph::new(label), Rect::new(inner.x, y, inner.width, 1));
        y += 1;
        if y < inner.bottom() {
            let data: Vec<u64> = c.samples.iter().map(|(ms, _)| (*ms).max(1)).collect();
            let w = inner.width as usize;
            let data = &data[data.len().saturating_sub(w)..];
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
