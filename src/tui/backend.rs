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
//!   synchronized update (no half-drawn screens on slow links);
//! - writes nothing at all for a frame with no changed cell;
//! - writes the cursor's visibility and position only when they change.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::queue;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::layout::{Position, Size};

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
        self.inner.draw(content)
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
        self.cursor_at = None;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.cursor_at = None;
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
    fn a_change_writes_only_its_cells_inside_one_synchronized_update() {
        let mut t = terminal();
        draw(&mut t, "waiting 3m");
        let next = draw(&mut t, "waiting 4m");
        let text = String::from_utf8_lossy(&next);
        assert!(text.starts_with("\u{1b}[?2026h"), "{text:?}");
        assert!(text.ends_with("\u{1b}[?2026l"), "{text:?}");
        assert!(text.contains('4') && !text.contains("waiting"), "{text:?}");
        // The cursor stays hidden without being hidden again.
        assert!(!text.contains("\u{1b}[?25l"), "{text:?}");
        assert!(next.len() < 60, "{} bytes: {text:?}", next.len());
    }
}
