//! The bytes a frame costs the terminal, and nothing more.
//!
//! ratatui already diffs each frame against the last and hands the backend
//! only the cells that changed. Around those cells crossterm's backend still
//! writes colour resets, and the terminal writes the cursor's visibility,
//! on every frame, even one that changed nothing. Over SSH to a release
//! parked at a gate for an hour that is the whole cost of being idle, so
//! this backend:
//!
//! - collects a frame's bytes in memory and writes them in one go, inside a
//!   synchronized update (no half-drawn screens on slow links) when the frame
//!   is more than a few cells — a small frame goes in one write the terminal
//!   cannot show half of, and the 16 bytes of the wrapper would be most of it;
//! - writes nothing at all for a frame with no changed cell;
//! - writes the cursor's visibility and position only when they change;
//! - writes the cells itself ([`Pen`]) and keeps the terminal's colours and
//!   attributes from one frame to the next, instead of crossterm's backend,
//!   which sets them from scratch in every frame and resets them after it:
//!   a gate's seconds clock is then a cursor move and a digit (8 bytes a
//!   second) instead of 69. What this writes by hand is only that state
//!   machine; the escape sequences are crossterm's commands.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, IntoCrossterm, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::cursor::MoveTo;
use ratatui::crossterm::queue;
use ratatui::crossterm::style::{
    Attribute, Colors, Print, SetAttribute, SetColors, SetUnderlineColor,
};
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// A frame at most this long is written without the synchronized-update
/// wrapper: one small write is shown whole anyway.
const SMALL_FRAME: usize = 128;

/// The colours and attributes the terminal has now, as this backend last
/// set them; `None` until it has set them (or after anything else may have).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

impl Pen {
    const RESET: Pen = Pen {
        fg: Color::Reset,
        bg: Color::Reset,
        underline: Color::Reset,
        modifier: Modifier::empty(),
    };
}

/// Writes `cell`'s style changes from `pen` to `out`. Taking an attribute
/// away resets them all (one `SGR 0`) and sets what stays: rarer than
/// adding one, and far simpler than each attribute's own "off".
fn restyle(out: &mut Vec<u8>, pen: &mut Option<Pen>, cell: &Cell) -> io::Result<()> {
    let mut now = match *pen {
        Some(p) if (p.modifier - cell.modifier).is_empty() => p,
        _ => {
            queue!(out, SetAttribute(Attribute::Reset))?;
            Pen::RESET
        }
    };
    let added = cell.modifier - now.modifier;
    for (m, a) in [
        (Modifier::BOLD, Attribute::Bold),
        (Modifier::DIM, Attribute::Dim),
        (Modifier::ITALIC, Attribute::Italic),
        (Modifier::UNDERLINED, Attribute::Underlined),
        (Modifier::SLOW_BLINK, Attribute::SlowBlink),
        (Modifier::RAPID_BLINK, Attribute::RapidBlink),
        (Modifier::REVERSED, Attribute::Reverse),
        (Modifier::HIDDEN, Attribute::Hidden),
        (Modifier::CROSSED_OUT, Attribute::CrossedOut),
    ] {
        if added.contains(m) {
            queue!(out, SetAttribute(a))?;
        }
    }
    now.modifier = cell.modifier;
    if cell.fg != now.fg || cell.bg != now.bg {
        queue!(
            out,
            SetColors(Colors::new(
                cell.fg.into_crossterm(),
                cell.bg.into_crossterm()
            ))
        )?;
        now.fg = cell.fg;
        now.bg = cell.bg;
    }
    if cell.underline_color != now.underline {
        queue!(
            out,
            SetUnderlineColor(cell.underline_color.into_crossterm())
        )?;
        now.underline = cell.underline_color;
    }
    *pen = Some(now);
    Ok(())
}

/// Where crossterm's backend writes a frame until it is complete: shared,
/// because that backend does not lend its writer back (not in a stable API).
#[derive(Clone, Default)]
struct Pending(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub struct Quiet<W: Write> {
    inner: CrosstermBackend<Pending>,
    pending: Pending,
    out: W,
    cursor_shown: Option<bool>,
    cursor_at: Option<Position>,
    pen: Option<Pen>,
}

impl<W: Write> Quiet<W> {
    pub fn new(out: W) -> Self {
        let pending = Pending::default();
        Quiet {
            inner: CrosstermBackend::new(pending.clone()),
            pending,
            out,
            cursor_shown: None,
            cursor_at: None,
            pen: None,
        }
    }
}

impl<W: Write> Backend for Quiet<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        // The cells move the cursor.
        self.cursor_at = None;
        let mut out = Vec::new();
        let mut last: Option<(u16, u16)> = None;
        for (x, y, cell) in content {
            if last != Some((x.wrapping_sub(1), y)) || x == 0 {
                queue!(out, MoveTo(x, y))?;
            }
            last = Some((x, y));
            if self.pen.is_none_or(|p| {
                p.modifier != cell.modifier
                    || p.fg != cell.fg
                    || p.bg != cell.bg
                    || p.underline != cell.underline_color
            }) {
                restyle(&mut out, &mut self.pen, cell)?;
            }
            queue!(out, Print(cell.symbol()))?;
        }
        self.pending.write_all(&out)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown == Some(false) {
            return Ok(());
        }
        self.cursor_shown = Some(false);
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown == Some(true) {
            return Ok(());
        }
        self.cursor_shown = Some(true);
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        if self.cursor_at == Some(p) {
            return Ok(());
        }
        self.cursor_at = Some(p);
        self.inner.set_cursor_position(p)
    }

    fn clear(&mut self) -> io::Result<()> {
        // Clearing paints with the current background: make it the default.
        self.cursor_at = None;
        self.pen = None;
        queue!(self.pending, SetAttribute(Attribute::Reset))?;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.cursor_at = None;
        self.pen = None;
        queue!(self.pending, SetAttribute(Attribute::Reset))?;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)?;
        let mut pending = self.pending.take();
        if pending.is_empty() {
            return Ok(());
        }
        if pending.len() <= SMALL_FRAME {
            self.out.write_all(&pending)?;
            return self.out.flush();
        }
        let mut frame = Vec::with_capacity(pending.len() + 16);
        queue!(frame, BeginSynchronizedUpdate)?;
        frame.append(&mut pending);
        queue!(frame, EndSynchronizedUpdate)?;
        self.out.write_all(&frame)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;

    fn terminal() -> Terminal<Quiet<Vec<u8>>> {
        let mut t = Terminal::with_options(
            Quiet::new(Vec::new()),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, 20, 3)),
            },
        )
        .unwrap();
        t.backend_mut().out.clear();
        t
    }

    fn draw(t: &mut Terminal<Quiet<Vec<u8>>>, text: &str) -> Vec<u8> {
        t.draw(|f| f.render_widget(Paragraph::new(text.to_string()), f.area()))
            .unwrap();
        std::mem::take(&mut t.backend_mut().out)
    }

    #[test]
    fn a_frame_that_changes_nothing_writes_nothing() {
        let mut t = terminal();
        let first = String::from_utf8_lossy(&draw(&mut t, "waiting 3m")).into_owned();
        // (The space was blank already: it is skipped over, not written.)
        assert!(
            first.contains("waiting") && first.contains("3m"),
            "{first:?}"
        );
        assert!(draw(&mut t, "waiting 3m").is_empty());
        assert!(draw(&mut t, "waiting 3m").is_empty());
    }

    #[test]
    fn a_small_change_is_a_move_and_its_cells_and_the_style_carries_over() {
        let mut t = terminal();
        let styled = |t: &mut Terminal<Quiet<Vec<u8>>>, text: &str| {
            t.draw(|f| {
                let style = ratatui::style::Style::new()
                    .fg(Color::Rgb(215, 175, 255))
                    .add_modifier(Modifier::BOLD);
                f.render_widget(Paragraph::new(text.to_string()).style(style), f.area())
            })
            .unwrap();
            String::from_utf8_lossy(&std::mem::take(&mut t.backend_mut().out)).into_owned()
        };
        let first = styled(&mut t, "waiting 41s");
        assert!(
            first.contains("\u{1b}[1m"),
            "the first frame sets the style: {first:?}"
        );
        let next = styled(&mut t, "waiting 42s");
        // The digit, where it is, in the style the terminal already has.
        assert_eq!(next, "\u{1b}[1;10H2", "{next:?}");
        // The cursor stays hidden without being hidden again.
        assert!(!next.contains("\u{1b}[?25l"), "{next:?}");
    }

    #[test]
    fn a_large_change_is_one_synchronized_update() {
        let mut t = terminal();
        draw(&mut t, "a");
        let next = draw(
            &mut t,
            "the quick brown fox\njumps over the lazy\ndog and runs home now",
        );
        let text = String::from_utf8_lossy(&next);
        assert!(next.len() > SMALL_FRAME, "{text:?}");
        assert!(text.starts_with("\u{1b}[?2026h"), "{text:?}");
        assert!(text.ends_with("\u{1b}[?2026l"), "{text:?}");
    }

    #[test]
    fn taking_an_attribute_away_resets_and_sets_what_stays() {
        let mut out = Vec::new();
        let mut pen = Some(Pen {
            modifier: Modifier::BOLD | Modifier::ITALIC,
            ..Pen::RESET
        });
        let mut cell = Cell::new("x");
        cell.set_style(
            ratatui::style::Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::ITALIC),
        );
        restyle(&mut out, &mut pen, &cell).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("\u{1b}[0m"), "{text:?}");
        assert!(text.contains("\u{1b}[3m"), "italic again: {text:?}");
        assert!(!text.contains("\u{1b}[1m"), "not bold: {text:?}");
        assert_eq!(
            pen.map(|p| (p.modifier, p.fg)),
            Some((Modifier::ITALIC, Color::Red))
        );
    }
}
