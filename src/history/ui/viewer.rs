//! The dossier viewer: the visible window of the laid-out markdown, with
//! search matches highlighted and the current one marked in the margin.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Areas;
use crate::history::app::{App, Dossier, Match, Viewer};

pub fn draw(frame: &mut Frame, app: &App, v: &Viewer, a: &Areas) {
    let t = &app.theme;
    let rows = usize::from(a.body.height);
    let total = v.lines.len();
    let position = if total == 0 {
        String::new()
    } else {
        let last = (v.scroll + rows).min(total);
        format!("{}–{last} of {total} ", v.scroll + 1)
    };
    let head_area = Rect {
        width: a.head.width.saturating_sub(position.chars().count() as u16),
        ..a.head
    };
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {}", v.title), t.title)),
        head_area,
    );
    frame.render_widget(
        Paragraph::new(Line::styled(position, t.muted))
            .alignment(ratatui::layout::Alignment::Right),
        a.head,
    );

    let margin = Rect { width: 1, ..a.body };
    let text_area = Rect {
        x: a.body.x + 1,
        width: a.body.width.saturating_sub(2),
        ..a.body
    };
    match &v.dossier {
        Dossier::Loading => {
            frame.render_widget(
                Paragraph::new(Line::styled("Reading the dossier…", t.muted)),
                text_area,
            );
        }
        Dossier::Failed(e) => {
            frame.render_widget(
                Paragraph::new(Line::styled(
                    format!("✘ cannot read the dossier: {e}"),
                    t.fail,
                ))
                .wrap(ratatui::widgets::Wrap { trim: false }),
                text_area,
            );
        }
        Dossier::Ready { .. } => {
            let current = v.current_line();
            let current_hit = v.current.and_then(|c| v.matches.get(c));
            let first = v.matches.partition_point(|m| m.line < v.scroll);
            let mut lines = Vec::with_capacity(rows);
            let mut marks = Vec::with_capacity(rows);
            for (i, line) in v.lines.iter().enumerate().skip(v.scroll).take(rows) {
                let hits: Vec<&Match> = v.matches[first..]
                    .iter()
                    .skip_while(|m| m.line < i)
                    .take_while(|m| m.line == i)
                    .collect();
                lines.push(if hits.is_empty() {
                    line.clone()
                } else {
                    highlight(line, &hits, current_hit, t.search)
                });
                marks.push(if current == Some(i) {
                    Line::styled("›", t.accent)
                } else {
                    Line::raw("")
                });
            }
            frame.render_widget(Paragraph::new(lines), text_area);
            frame.render_widget(Paragraph::new(marks), margin);
        }
    }

    let note = match (&v.dossier, v.current, v.query.is_empty()) {
        (_, Some(c), false) => Line::styled(
            format!(" match {} of {} for “{}”", c + 1, v.matches.len(), v.query),
            t.text,
        ),
        (_, None, false) => Line::styled(format!(" no match for “{}”", v.query), t.warn),
        (Dossier::Ready { warning: Some(w) }, _, true) => Line::styled(format!(" ⚠ {w}"), t.warn),
        _ => Line::raw(""),
    };
    let percent = if total > rows {
        let most = total - rows;
        format!("{}%", v.scroll.min(most) * 100 / most.max(1))
    } else {
        String::new()
    };
    super::status(frame, app, note, percent, a.status);
}

/// `line` with the byte ranges of `hits` in the search style; the current
/// match also bold and underlined, so it stands out without colour too.
fn highlight(
    line: &Line<'static>,
    hits: &[&Match],
    current: Option<&Match>,
    search: Style,
) -> Line<'static> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut pos = 0;
    for span in &line.spans {
        let text = span.content.as_ref();
        let end = pos + text.len();
        // Cut points inside this span: every hit boundary that falls in it.
        let mut cuts: Vec<usize> = hits
            .iter()
            .flat_map(|m| [m.start, m.end])
            .filter(|&c| c > pos && c < end)
            .collect();
        cuts.push(end);
        cuts.sort_unstable();
        cuts.dedup();
        let mut from = pos;
        for to in cuts {
            let piece = &text[from - pos..to - pos];
            let hit = hits.iter().find(|m| m.start <= from && from < m.end);
            let style = match hit {
                Some(m) if Some(*m) == current => span
                    .style
                    .patch(search)
                    .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                Some(_) => span.style.patch(search),
                None => span.style,
            };
            out.push(Span::styled(piece.to_string(), style));
            from = to;
        }
        pos = end;
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighting_cuts_across_spans() {
        let line = Line::from(vec![Span::raw("deploy pr"), Span::raw("od now")]);
        let m = Match {
            line: 0,
            start: 7,
            end: 11,
        };
        let search = Style::new().add_modifier(Modifier::REVERSED);
        let out = highlight(&line, &[&m], None, search);
        let parts: Vec<(&str, bool)> = out
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style == search))
            .collect();
        assert_eq!(
            parts,
            [
                ("deploy ", false),
                ("pr", true),
                ("od", true),
                (" now", false)
            ]
        );
    }
}
