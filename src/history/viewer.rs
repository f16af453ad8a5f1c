//! The dossier viewer's state: the markdown, laid out for the terminal's
//! width, the scroll position and the search. The app drives it; it knows
//! nothing of keys.

use ratatui::text::Line;

use crate::runs::RunSummary;
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq)]
pub enum Dossier {
    Loading,
    /// Shown, with what the reader should know about its source (a torn journal tail).
    Ready {
        warning: Option<String>,
    },
    Failed(String),
}

/// A search hit: byte range `start..end` of rendered line `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

pub struct Viewer {
    pub run_id: String,
    pub title: String,
    pub dossier: Dossier,
    markdown: String,
    /// The markdown laid out for `width`; redone when the terminal is resized.
    pub lines: Vec<Line<'static>>,
    plain: Vec<String>,
    width: u16,
    /// Index of the top visible line.
    pub scroll: usize,
    pub query: String,
    pub matches: Vec<Match>,
    /// Index into `matches` of the one the view is on.
    pub current: Option<usize>,
}

impl Viewer {
    pub(super) fn new(run: &RunSummary) -> Viewer {
        Viewer {
            run_id: run.run_id.clone(),
            title: format!(
                "{} {} · {} · {}",
                run.release,
                run.version,
                run.outcome.word(),
                run.run_id
            ),
            dossier: Dossier::Loading,
            markdown: String::new(),
            lines: Vec::new(),
            plain: Vec::new(),
            width: 0,
            scroll: 0,
            query: String::new(),
            matches: Vec::new(),
            current: None,
        }
    }

    pub(super) fn loaded(&mut self, markdown: String, warning: Option<String>) {
        self.markdown = markdown;
        self.dossier = Dossier::Ready { warning };
        // Not laid out yet, for any width.
        self.width = 0;
    }

    /// Lays the markdown out `width` columns wide, if it is not already.
    pub(super) fn layout(&mut self, width: u16, rows: usize, theme: &Theme) {
        if self.width == width || !matches!(self.dossier, Dossier::Ready { .. }) {
            return;
        }
        let (old_len, old_scroll) = (self.lines.len(), self.scroll);
        self.lines = crate::markdown::render(&self.markdown, width, theme);
        self.plain = self.lines.iter().map(crate::markdown::plain).collect();
        self.width = width;
        // Keep about the same place in the document: the same share of it above the view.
        if let Some(at) = (old_scroll * self.lines.len()).checked_div(old_len) {
            self.scroll = at;
        }
        self.scroll = self.scroll.min(self.lines.len().saturating_sub(rows));
        self.find(false, rows);
    }

    /// Finds every occurrence of the query (ASCII letters case-insensitively:
    /// that keeps byte offsets valid in the original line). With `jump` (the
    /// query changed), the view goes to the first match at or below its top line.
    pub(super) fn find(&mut self, jump: bool, rows: usize) {
        let before = self.current.take();
        self.matches.clear();
        if self.query.is_empty() {
            return;
        }
        let needle = self.query.to_ascii_lowercase();
        for (line, text) in self.plain.iter().enumerate() {
            let hay = text.to_ascii_lowercase();
            for (start, m) in hay.match_indices(&needle) {
                self.matches.push(Match {
                    line,
                    start,
                    end: start + m.len(),
                });
            }
        }
        if self.matches.is_empty() {
            return;
        }
        self.current = if jump {
            let from = self.scroll;
            Some(
                self.matches
                    .iter()
                    .position(|m| m.line >= from)
                    .unwrap_or(0),
            )
        } else {
            // Laid out again (a resize): stay on the same match.
            Some(before.filter(|&i| i < self.matches.len()).unwrap_or(0))
        };
        if jump {
            self.reveal_current(rows);
        }
    }

    /// Scrolls so the current match is in view, a third of the way down when it was not.
    pub(super) fn reveal_current(&mut self, rows: usize) {
        let Some(m) = self.current.and_then(|i| self.matches.get(i)) else {
            return;
        };
        let rows = rows.max(1);
        if m.line < self.scroll || m.line >= self.scroll + rows {
            self.scroll = m.line.saturating_sub(rows / 3);
        }
        self.scroll = self.scroll.min(self.lines.len().saturating_sub(rows));
    }

    /// The line holding the current match.
    pub fn current_line(&self) -> Option<usize> {
        self.current
            .and_then(|i| self.matches.get(i))
            .map(|m| m.line)
    }
}
