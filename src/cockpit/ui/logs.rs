//! Live stage output: follow, scroll, search highlights, filters, ANSI colour
//! rendered or stripped, long lines wrapped or cut with a marker. Only the
//! visible window is laid out, however long the buffer.

use ansi_to_tui::IntoText;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::widgets::panel_block;
use crate::cockpit::app::{App, Panel};
use crate::cockpit::logs::LogLine;
use crate::engine::event::Stream;
use crate::tui::widgets::truncate;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = &app.view;
    let mut flags = Vec::new();
    flags.push(if v.follow { "follow" } else { "paused view" });
    if v.stderr_only {
        flags.push("stderr only");
    }
    if !v.ansi {
        flags.push("no colour");
    }
    if v.wrap {
        flags.push("wrap");
    }
    let filter = v
        .stage_filter
        .and_then(|(e, s)| {
            Some(format!(
                "{} · {} ",
                app.run.envs.get(e)?.name,
                app.run.envs.get(e)?.steps.get(s)?.label
            ))
        })
        .unwrap_or_default();
    let search = v
        .search
        .as_ref()
        .map(|s| format!("/{} ", s.query))
        .unwrap_or_default();
    let block = panel_block(
        app,
        Panel::Logs,
        Line::from(vec![
            Span::styled(filter, t.accent),
            Span::styled(search, t.search),
            Span::styled(format!("[{}] ", flags.join(", ")), t.muted),
        ]),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let height = inner.height as usize;
    let width = inner.width as usize;
    let horizon = app.log_horizon();
    let visible: Vec<&LogLine> = app
        .logs
        .iter()
        .filter(|l| l.seq <= horizon && app.log_visible(l))
        .collect();
    if visible.is_empty() {
        let msg = if app.logs.is_empty() {
            "no output yet"
        } else {
            "no output matches the filter"
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.muted)), inner);
        return;
    }
    // Walk up from the bottom, skipping `log_scroll` lines, until the window is full.
    // At the top, the first page is full rather than one line at the bottom.
    let scroll = v.log_scroll.min(visible.len().saturating_sub(height));
    let end = visible.len() - scroll;
    let query = v.search.as_ref().map(|s| s.query.to_lowercase());
    let current = v.search.as_ref().and_then(|s| s.current);
    let mut rows: Vec<Line> = Vec::new();
    for l in visible[..end].iter().rev() {
        let mut lines = render_line(app, l, width, query.as_deref(), current == Some(l.seq));
        while let Some(line) = lines.pop() {
            rows.push(line);
            if rows.len() >= height {
                break;
            }
        }
        if rows.len() >= height {
            break;
        }
    }
    rows.reverse();
    if scroll > 0 {
        let note = format!(
            " ↓ {scroll} newer line{} ",
            if scroll == 1 { "" } else { "s" }
        );
        let w = note.width() as u16;
        let at = Rect::new(
            inner.right().saturating_sub(w + 1),
            inner.bottom().saturating_sub(1),
            w.min(inner.width),
            1,
        );
        frame.render_widget(Paragraph::new(rows), inner);
        frame.render_widget(Paragraph::new(Span::styled(note, t.status_bar)), at);
    } else {
        frame.render_widget(Paragraph::new(rows), inner);
    }
    if app.logs.dropped > 0 && scroll + height >= visible.len() {
        let note = if app.loading_history {
            " reading older lines from the journal… ".to_string()
        } else {
            format!(
                " {} older lines are in the journal; scroll up to read them ",
                app.logs.dropped
            )
        };
        let w = (note.width() as u16).min(inner.width);
        frame.render_widget(
            Paragraph::new(Span::styled(note, t.muted)),
            Rect::new(inner.x, inner.y, w, 1),
        );
    }
}

/// One log line as screen rows: wrapped, or cut with a `…` marker.
fn render_line<'a>(
    app: &App,
    l: &'a LogLine,
    width: usize,
    query: Option<&str>,
    current: bool,
) -> Vec<Line<'a>> {
    let t = &app.theme;
    let prefix = match (l.stream, l.rollback) {
        (Stream::Stderr, _) => Span::styled("! ", t.fail),
        (_, true) => Span::styled("↶ ", t.warn),
        _ => Span::styled("  ", t.muted),
    };
    // Which environment and step printed the line, in a muted fixed-width column.
    let tag_w = (width / 5).clamp(8, 22);
    let tag = match app.run.envs.get(l.env) {
        Some(e) => {
            let step = e.steps.get(l.step).map(|s| s.label.as_str()).unwrap_or("?");
            tag_text(&e.name, step, tag_w)
        }
        None => String::new(),
    };
    let tag = Span::styled(format!("{tag:<tag_w$} "), t.muted);
    let prefix = Line::from(vec![tag, prefix]);
    let avail = width.saturating_sub(tag_w + 3).max(1);
    let base = if l.stream == Stream::Stderr {
        t.warn
    } else {
        t.text
    };
    // Highlights and colour codes do not mix: a search shows plain text.
    let spans: Vec<Span> = match (query, &l.raw) {
        (Some(q), _) if !q.is_empty() && l.plain.to_lowercase().contains(q) => highlight(
            &l.plain,
            q,
            base,
            if current {
                t.selection.patch(t.search)
            } else {
                t.search
            },
        ),
        (_, Some(raw)) if app.view.ansi => raw
            .as_bytes()
            .into_text()
            .ok()
            .and_then(|text| text.lines.into_iter().next())
            .map(|line| line.spans)
            .unwrap_or_else(|| vec![Span::styled(l.plain.as_str(), base)]),
        _ => vec![Span::styled(l.plain.as_str(), base)],
    };
    if !app.view.wrap {
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        if text.width() > avail {
            let cut = truncate(&text, avail);
            let mut all = prefix.spans;
            all.push(Span::styled(cut, base));
            return vec![Line::from(all)];
        }
        let mut all = prefix.spans;
        all.extend(spans);
        return vec![Line::from(all)];
    }
    // Wrap by columns, keeping each span's style.
    let mut rows = Vec::new();
    let indent = " ".repeat(tag_w + 3);
    let mut cur = prefix.spans;
    let mut w = 0;
    for span in spans {
        let style = span.style;
        let mut chunk = String::new();
        for c in span.content.chars() {
            let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if w + cw > avail {
                cur.push(Span::styled(std::mem::take(&mut chunk), style));
                rows.push(Line::from(std::mem::take(&mut cur)));
                cur.push(Span::raw(indent.clone()));
                w = 0;
            }
            chunk.push(c);
            w += cw;
        }
        cur.push(Span::styled(chunk, style));
    }
    rows.push(Line::from(cur));
    rows
}

fn highlight<'a>(text: &'a str, q: &str, base: Style, hit: Style) -> Vec<Span<'a>> {
    let lower = text.to_lowercase();
    // Lowercasing can change byte lengths; fall back to no highlight then.
    if lower.len() != text.len() {
        return vec![Span::styled(text, base)];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(q) {
        let start = pos + i;
        let end = start + q.len();
        if start > pos {
            out.push(Span::styled(&text[pos..start], base));
        }
        out.push(Span::styled(&text[start..end], hit));
        pos = end;
    }
    if pos < text.len() {
        out.push(Span::styled(&text[pos..], base));
    }
    out
}

/// A log line's tag, environment · step · weight or batch, in `width`
/// columns: "prod·canary 50%", "prod·batch 2/4", "dev·migrate". A rollout
/// step drops its stage's name (the weight says more); when it still does
/// not fit, the weight or batch is abbreviated ("c50%", "b2/4") so tags of
/// different steps stay distinct, then the environment's name is shortened,
/// and only then is the whole cut with an ellipsis.
pub fn tag_text(env: &str, label: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let step = [" canary ", " batch "]
        .iter()
        .find_map(|k| label.find(k).map(|i| &label[i + 1..]))
        .unwrap_or(label);
    let short = if let Some(w) = step.strip_prefix("canary ") {
        format!("c{w}")
    } else if let Some(b) = step.strip_prefix("batch ") {
        format!("b{b}")
    } else {
        step.to_string()
    };
    for s in [step, short.as_str()] {
        let full = format!("{env}·{s}");
        if full.width() <= width {
            return full;
        }
    }
    // Keep the step whole; shorten the environment's name to what is left.
    let room = width.saturating_sub(short.width() + 1);
    if room >= 1 {
        let env_cut: String = env.chars().take(room).collect();
        let t = format!("{env_cut}·{short}");
        if t.width() <= width {
            return t;
        }
    }
    crate::tui::widgets::truncate(&format!("{env}·{short}"), width)
}

#[cfg(test)]
mod tests {
    use super::tag_text;

    #[test]
    fn tags_keep_environment_step_and_weight_and_stay_distinct() {
        assert_eq!(tag_text("prod", "deploy canary 50%", 22), "prod·canary 50%");
        assert_eq!(tag_text("prod", "deploy batch 2/4", 22), "prod·batch 2/4");
        assert_eq!(tag_text("dev", "migrate", 22), "dev·migrate");
        // Narrow: the weight is abbreviated, and 10% and 100% stay apart.
        assert_eq!(tag_text("prod", "deploy canary 10%", 10), "prod·c10%");
        assert_eq!(tag_text("prod", "deploy canary 100%", 10), "prod·c100%");
        // A long environment name gives way before the step.
        assert_eq!(
            tag_text("production-eu-west", "deploy canary 50%", 10),
            "produ·c50%"
        );
        assert!(tag_text("p", "a very long step label indeed", 8).ends_with('…'));
    }
}
