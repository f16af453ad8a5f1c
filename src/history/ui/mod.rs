//! Drawing the history browser: a pure function of [`App`]. One file per
//! part: the list of runs, the dossier viewer, the help overlay; the status
//! and footer lines, shared by both screens, are here.

mod help;
mod list;
mod viewer;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

pub use help::{help_lines, help_rows};

use super::app::{App, Typing};
use super::keymap::{self, TYPING_HELP};

/// Below this the browser only says the terminal is too small.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 6;

/// Where things go: a heading row, the body, a status row, the key hints.
pub struct Areas {
    pub head: Rect,
    pub body: Rect,
    pub status: Rect,
    pub footer: Rect,
}

pub fn areas(size: Rect) -> Areas {
    let row = |y: u16, h: u16| Rect::new(size.x, y, size.width, h);
    let h = size.height;
    Areas {
        head: row(size.y, h.min(1)),
        body: row(size.y + 1.min(h), h.saturating_sub(3)),
        status: row(size.y + h.saturating_sub(2), h.min(2).saturating_sub(1)),
        footer: row(size.y + h.saturating_sub(1), h.min(1)),
    }
}

/// Columns the dossier is laid out in: the body less a margin either side.
pub fn viewer_width(size: Rect) -> u16 {
    areas(size).body.width.saturating_sub(2).max(1)
}

pub fn draw(frame: &mut Frame, app: &App) {
    let size = frame.area();
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        let msg = Paragraph::new("terminal too small for slate history")
            .style(app.theme.muted)
            .wrap(ratatui::widgets::Wrap { trim: true });
        frame.render_widget(msg, size);
        return;
    }
    let a = areas(size);
    match &app.viewer {
        None => list::draw(frame, app, &a),
        Some(v) => viewer::draw(frame, app, v, &a),
    }
    footer(frame, app, a.footer);
    if let Some(scroll) = app.help {
        help::draw(frame, app, scroll, size);
    }
}

/// The status row: a toast (or the screen's own note) on the left, `right` on the right.
pub(super) fn status(frame: &mut Frame, app: &App, left: Line<'static>, right: String, area: Rect) {
    let t = &app.theme;
    let left = match app.fresh_toast() {
        Some(toast) => crate::tui::widgets::toast_line(&toast.text, toast.error, t),
        None => left,
    };
    let right_w = (right.width() + 1) as u16;
    let left_area = Rect {
        width: area.width.saturating_sub(right_w + 1),
        ..area
    };
    let left = fit_line(left, usize::from(left_area.width));
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(format!("{right} "), t.muted)))
            .alignment(Alignment::Right),
        area,
    );
    frame.render_widget(Paragraph::new(left), left_area);
}

/// `line` cut to `width` columns, its last visible span ending in `…` if cut.
fn fit_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let mut spans = Vec::new();
    let mut room = width;
    for span in line.spans {
        let w = span.content.width();
        if w < room {
            room -= w;
            spans.push(span);
            continue;
        }
        let cut = crate::markdown::ellipsize(&span.content, room);
        spans.push(Span::styled(cut, span.style));
        break;
    }
    Line::from(spans)
}

/// The key hints from the keymap, or the line being typed.
fn footer(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let bar = t.status_bar;
    let line = match app.typing {
        Some(typing) => {
            let (label, text) = match typing {
                Typing::Filter => ("filter", app.filter.as_str()),
                Typing::Search => (
                    "search",
                    app.viewer.as_ref().map_or("", |v| v.query.as_str()),
                ),
            };
            Line::from(vec![
                Span::styled(format!(" {label}: "), bar.add_modifier(Modifier::BOLD)),
                Span::styled(text.to_string(), bar),
                Span::styled("▏", bar),
                Span::styled(
                    format!("   {}", TYPING_HELP.trim_start_matches("while typing: ")),
                    bar,
                ),
            ])
        }
        None => {
            let mut spans = Vec::new();
            let mut used = 0;
            for (key, what) in keymap::hints(app.screen()) {
                let len = key.width() + what.width() + 3;
                if used + len > usize::from(area.width) {
                    break;
                }
                spans.push(Span::styled(
                    format!(" {key}"),
                    bar.add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::styled(format!(" {what} "), bar));
                used += len;
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line).style(bar), area);
}
