//! Drawing the review form: a header naming the run, the six fields, and a
//! footer with the keys and the memory entry's live word count.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::form::{FIELDS, Form, MEMORY};
use crate::dossier::memory::MAX_WORDS;
use crate::tui::theme::Theme;

/// What the header says about the run under review.
pub struct Heading {
    pub run_id: String,
    pub title: String,
    pub outcome: String,
}

pub const KEYS: [(&str, &str); 4] = [
    ("Tab/⇧Tab", "next/previous field"),
    ("Ctrl-S", "save"),
    ("Esc", "leave"),
    ("Enter", "new line"),
];

pub fn draw(frame: &mut Frame, form: &Form, heading: &Heading, theme: &Theme) {
    let area = frame.area();
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" Post-deploy review ", theme.title),
            Span::styled(format!("{} · ", heading.title), theme.text),
            Span::styled(heading.outcome.clone(), theme.accent),
            Span::styled(format!(" · run {}", heading.run_id), theme.muted),
        ])),
        head,
    );
    let wide = body.width >= 100;
    let memory_height = if body.height > 24 { 8 } else { 5 };
    let [top, memory] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(memory_height)]).areas(body);
    let boxes: Vec<Rect> = if wide {
        let [l, r] = Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas(top);
        let left = Layout::vertical([Constraint::Ratio(1, 3); 3]).split(l);
        let right = Layout::vertical([Constraint::Ratio(1, 2); 2]).split(r);
        left.iter().chain(right.iter()).copied().collect()
    } else {
        Layout::vertical([Constraint::Ratio(1, 5); 5])
            .split(top)
            .to_vec()
    };
    for (i, rect) in boxes.iter().enumerate() {
        field(frame, form, i, FIELDS[i].0.to_string(), *rect, theme);
    }
    let words = form.memory_words();
    let count_style = if words > MAX_WORDS {
        theme.fail
    } else {
        theme.muted
    };
    let title = format!("{} · {words}/{MAX_WORDS} words", FIELDS[MEMORY].0);
    if form.text(MEMORY).is_empty() && form.focus != MEMORY {
        // Show what the dossier will say when nobody writes an entry.
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(format!(" {title} (generated) "), count_style));
        frame.render_widget(
            Paragraph::new(form.generated_memory.clone())
                .style(theme.muted)
                .wrap(Wrap { trim: true })
                .block(block),
            memory,
        );
    } else {
        field(frame, form, MEMORY, title, memory, theme);
    }
    let mut spans: Vec<Span> = Vec::new();
    match &form.message {
        Some((m, error)) => spans.push(Span::styled(
            format!(" {m}"),
            if *error { theme.fail } else { theme.ok },
        )),
        None => {
            for (k, what) in KEYS {
                spans.push(Span::styled(format!(" {k}"), theme.accent));
                spans.push(Span::styled(format!(" {what} "), theme.muted));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status_bar),
        foot,
    );
}

fn field(frame: &mut Frame, form: &Form, i: usize, title: String, area: Rect, theme: &Theme) {
    let focused = form.focus == i;
    let mut ta = form.fields[i].clone();
    let over = i == MEMORY && form.memory_words() > MAX_WORDS;
    ta.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(if over {
                theme.fail
            } else if focused {
                theme.border_focus
            } else {
                theme.border
            })
            .title(Span::styled(
                format!(" {title} "),
                if focused { theme.title } else { theme.muted },
            )),
    );
    if !focused {
        ta.set_cursor_style(ratatui::style::Style::default());
    }
    frame.render_widget(&ta, area);
}
