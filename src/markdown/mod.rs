//! Markdown for the terminal: GitHub-flavoured markdown (the dossier) laid
//! out as styled lines for a given width and theme.
//!
//! Why not `tui-markdown`: it styles well, but leaves paragraphs unwrapped
//! (a widget is expected to wrap them, which loses the hanging indent of
//! list items and makes line counts for scrolling and search depend on the
//! widget) and wraps table cells instead of truncating them. Here every
//! line is final: no line is wider than `width`, so the viewer can scroll,
//! count and search lines without a layout pass of its own.
//!
//! Pure functions: text in, lines out, no I/O.

mod blocks;
mod table;
mod wrap;

#[cfg(test)]
mod tests;

use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

use crate::tui::theme::Theme;

pub use wrap::ellipsize;

/// Renders `markdown` into lines at most `width` columns wide, styled by `theme`'s roles.
pub fn render(markdown: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    blocks::render(
        markdown,
        usize::from(width.max(1)),
        &Styles::from_theme(theme),
    )
}

/// A line's text without its styles (what search looks at).
pub fn plain(line: &Line) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// What each markdown element looks like, taken from the theme's semantic
/// roles so every theme (and `NO_COLOR`) applies without markdown-specific keys.
#[derive(Debug, Clone)]
pub(crate) struct Styles {
    pub text: Style,
    /// `#`, `##`, `###`, and deeper.
    pub headings: [Style; 4],
    pub code: Style,
    pub link: Style,
    pub url: Style,
    pub quote: Style,
    pub quote_bar: Style,
    pub marker: Style,
    pub border: Style,
    pub table_header: Style,
    pub muted: Style,
}

impl Styles {
    pub fn from_theme(t: &Theme) -> Styles {
        // Code borrows the status bar's background: a quiet, theme-defined
        // shade that reads as "literal" on dark and light themes alike (and
        // is reversed video under NO_COLOR).
        let code = t.text.patch(Style {
            fg: t.status_bar.fg,
            bg: t.status_bar.bg,
            add_modifier: t.status_bar.add_modifier,
            ..Style::default()
        });
        Styles {
            text: t.text,
            headings: [
                t.title.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                t.accent.add_modifier(Modifier::BOLD),
                t.text.add_modifier(Modifier::BOLD),
                t.muted.add_modifier(Modifier::BOLD | Modifier::ITALIC),
            ],
            code,
            link: t.accent.add_modifier(Modifier::UNDERLINED),
            url: t.muted,
            quote: t.text.add_modifier(Modifier::ITALIC),
            quote_bar: t.muted,
            marker: t.accent,
            border: t.border,
            table_header: t.title,
            muted: t.muted,
        }
    }

    pub fn heading(&self, level: usize) -> Style {
        self.headings[level.clamp(1, 4) - 1]
    }
}
