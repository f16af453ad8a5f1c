//! The `?` overlay: built from the keymap table, so it always matches the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::history::app::App;
use crate::history::keymap::{self, TYPING_HELP};

const WIDTH: u16 = 64;

pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    for (title, rows) in keymap::help(app.screen()) {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(title, t.accent.add_modifier(Modifier::BOLD)));
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<14}"), t.text.add_modifier(Modifier::BOLD)),
                Span::styled(desc, t.text),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(TYPING_HELP, t.muted));
    lines
}

/// The overlay's box within the terminal.
fn area(size: Rect, lines: usize) -> Rect {
    let w = WIDTH.min(size.width.saturating_sub(2));
    let h = (lines as u16 + 2).min(size.height.saturating_sub(2));
    Rect::new(
        size.x + (size.width - w) / 2,
        size.y + (size.height - h) / 2,
        w,
        h,
    )
}

/// Lines of help that fit at once.
pub fn help_rows(size: Rect) -> usize {
    usize::from(size.height.saturating_sub(4))
}

pub fn draw(frame: &mut Frame, app: &App, scroll: usize, size: Rect) {
    let lines = help_lines(app);
    let box_area = area(size, lines.len());
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.border_focus)
        .title(Span::styled(" Keys ", t.title))
        .title_bottom(Span::styled(" ? or Esc closes ", t.muted));
    let inner = block.inner(box_area);
    frame.render_widget(Clear, box_area);
    frame.render_widget(block, box_area);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(usize::from(inner.height))
        .collect();
    frame.render_widget(
        Paragraph::new(shown),
        Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(1),
            ..inner
        },
    );
}
