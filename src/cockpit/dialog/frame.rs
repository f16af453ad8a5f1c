//! How a dialog is framed and laid out: centred over the screen, a double
//! border, a text box when it asks for words, and a line of hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use crate::cockpit::app::App;

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
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
pub fn wrapped_rows(lines: &[Line], width: u16) -> u16 {
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
pub fn inner_width(area: Rect, w: u16) -> u16 {
    w.min(area.width.saturating_sub(2)).saturating_sub(2)
}

/// A dialog's text box: the textarea as typed so far, framed and titled.
pub fn input_box(
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

pub fn block<'a>(app: &App, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(app.theme.border_focus)
        .title(Span::styled(format!(" {title} "), app.theme.title))
}

/// A dialog's hints, `Enter approve · Esc close`: each key as the keymap
/// says, so a remapped key is the one shown.
pub fn hint_text(hints: &[(String, &str)]) -> String {
    hints
        .iter()
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, what)| match what.is_empty() {
            true => key.clone(),
            false => format!("{key} {what}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn hint_line(frame: &mut Frame, app: &App, hints: &[(String, &str)], area: Rect) {
    frame.render_widget(
        Paragraph::new(Span::styled(hint_text(hints), app.theme.muted)),
        area,
    );
}
