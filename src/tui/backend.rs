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
use ratatui::crossterm::style::{Attribute, Colored, Print, SetAttribute};
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// A frame at most this long is written without the synchronized-update
/// wrapper: one small write is shown whole anyway. A second's spinners and
/// clocks, or one analysis sample, fit in it (about 150 to 250 bytes).
const SMALL_FRAME: usize = 256;

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

/// The attributes a cell may carry, with the SGR that sets each and the
/// one that takes it away. Bold and dim share their "off" (normal
/// intensity), as do the two blinks.
const ATTRIBUTES: [(Modifier, Attribute, Attribute); 9] = [
    (Modifier::BOLD, Attribute::Bold, Attribute::NormalIntensity),
    (Modifier::DIM, Attribute::Dim, Attribute::NormalIntensity),
    (Modifier::ITALIC, Attribute::Italic, Attribute::NoItalic),
    (
        Modifier::UNDERLINED,
        Attribute::Underlined,
        Attribute::NoUnderline,
    ),
    (
        Modifier::SLOW_BLINK,
        Attribute::SlowBlink,
        Attribute::NoBlink,
    ),
    (
        Modifier::RAPID_BLINK,
        Attribute::RapidBlink,
        Attribute::NoBlink,
    ),
    (Modifier::REVERSED, Attribute::Reverse, Attribute::NoReverse),
    (Modifier::HIDDEN, Attribute::Hidden, Attribute::NoHidden),
    (
        Modifier::CROSSED_OUT,
        Attribute::CrossedOut,
        Attribute::NotCrossedOut,
    ),
];

/// Writes `cell`'s style changes from `pen` to `out`, as one SGR sequence
/// holding only what changed: an attribute taken away by its own "off"
/// (and one sharing that "off" set again), a colour only when it differs.
/// Over SSH every byte of a spinner's or a sample's redraw counts; the
/// parameters are crossterm's ([`Attribute::sgr`], [`Colored`]), only the
/// joining is done here.
fn restyle(out: &mut Vec<u8>, pen: &mut Option<Pen>, cell: &Cell) -> io::Result<()> {
    let mut parts: Vec<String> = Vec::new();
    let was = match *pen {
        Some(p) => p,
        None => {
            parts.push(Attribute::Reset.sgr());
            Pen::RESET
        }
    };
    let removed = was.modifier - cell.modifier;
    let mut offs: Vec<Attribute> = Vec::new();
    let mut set = cell.modifier - was.modifier;
    for (m, _, off) in ATTRIBUTES {
        if removed.contains(m) {
            if !offs.contains(&off) {
                offs.push(off);
            }
            // Its "off" also took away a kept attribute that shares it.
            for (other, _, other_off) in ATTRIBUTES {
                if other_off == off && cell.modifier.contains(other) {
                    set |= other;
                }
            }
        }
    }
    parts.extend(offs.into_iter().map(Attribute::sgr));
    for (m, on, _) in ATTRIBUTES {
        if set.contains(m) {
            parts.push(on.sgr());
        }
    }
    if cell.fg != was.fg {
        parts.push(Colored::ForegroundColor(cell.fg.into_crossterm()).to_string());
    }
    if cell.bg != was.bg {
        parts.push(Colored::BackgroundColor(cell.bg.into_crossterm()).to_string());
    }
    if cell.underline_color != was.underline {
        parts.push(Colored::UnderlineColor(cell.underline_color.into_crossterm()).to_string());
    }
    // crossterm writes no colour at all under NO_COLOR.
    parts.retain(|p| !p.is_empty());
    if !parts.is_empty() {
        write!(out, "\x1b[{}m", parts.join(";"))?;
    }
    *pen = Some(Pen {
        fg: cell.fg,
        bg: cell.bg,
        underline: cell.underline_color,
        modifier: cell.modifier,
    });
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
        terminal_of(20, 3)
    }

    fn terminal_of(width: u16, height: u16) -> Terminal<Quiet<Vec<u8>>> {
        let mut t = Terminal::with_options(
            Quiet::new(Vec::new()),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, width, height)),
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
            first.contains("\u{1b}[0;1;38;2;215;175;255m"),
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
        let mut t = terminal_of(40, 8);
        draw(&mut t, "a");
        let next = draw(
            &mut t,
            &"the quick brown fox jumps over the lazy\n".repeat(8),
        );
        let text = String::from_utf8_lossy(&next);
        assert!(next.len() > SMALL_FRAME, "{text:?}");
        assert!(text.starts_with("\u{1b}[?2026h"), "{text:?}");
        assert!(text.ends_with("\u{1b}[?2026l"), "{text:?}");
    }

    fn styled(fg: Color, bg: Color, m: Modifier) -> Cell {
        let mut cell = Cell::new("x");
        cell.set_style(ratatui::style::Style::new().fg(fg).bg(bg).add_modifier(m));
        cell
    }

    fn restyled(pen: Option<Pen>, cell: &Cell) -> (String, Option<Pen>) {
        let mut out = Vec::new();
        let mut pen = pen;
        restyle(&mut out, &mut pen, cell).unwrap();
        (String::from_utf8(out).unwrap(), pen)
    }

    #[test]
    fn taking_an_attribute_away_writes_its_off_and_only_what_changed() {
        let pen = Some(Pen {
            modifier: Modifier::BOLD | Modifier::ITALIC,
            ..Pen::RESET
        });
        let (text, pen) = restyled(pen, &styled(Color::Red, Color::Reset, Modifier::ITALIC));
        // Normal intensity, then red; italic stays, the background is untouched.
        assert_eq!(text, "\u{1b}[22;38;5;1m");
        assert_eq!(
            pen.map(|p| (p.modifier, p.fg)),
            Some((Modifier::ITALIC, Color::Red))
        );
    }

    #[test]
    fn an_off_shared_with_a_kept_attribute_sets_that_one_again() {
        let pen = Some(Pen {
            modifier: Modifier::BOLD | Modifier::DIM,
            ..Pen::RESET
        });
        let (text, _) = restyled(pen, &styled(Color::Reset, Color::Reset, Modifier::DIM));
        assert_eq!(text, "\u{1b}[22;2m");
    }

    #[test]
    fn a_terminal_in_an_unknown_state_is_reset_first() {
        let (text, _) = restyled(
            None,
            &styled(Color::Rgb(1, 2, 3), Color::Reset, Modifier::BOLD),
        );
        assert_eq!(text, "\u{1b}[0;1;38;2;1;2;3m");
    }

    #[test]
    fn a_colour_change_alone_is_that_colour() {
        let pen = Some(Pen {
            fg: Color::Rgb(9, 9, 9),
            bg: Color::Rgb(48, 58, 74),
            ..Pen::RESET
        });
        let (text, _) = restyled(
            pen,
            &styled(Color::Rgb(9, 9, 9), Color::Reset, Modifier::empty()),
        );
        assert_eq!(text, "\u{1b}[49m");
    }

    proptest::proptest! {
        /// Whatever the frames, a terminal fed what this backend writes shows
        /// every cell's text, colours and attributes as ratatui drew them.
        #[test]
        fn a_terminal_shows_what_was_drawn(
            frames in proptest::collection::vec(
                proptest::collection::vec((0u8..4, 0u8..4, 0u16..32, proptest::bool::ANY), 48),
                1..6,
            )
        ) {
            const W: u16 = 12;
            const H: u16 = 4;
            let colours = [Color::Reset, Color::Red, Color::Rgb(95, 215, 255), Color::Indexed(244)];
            // vt100 keeps one intensity, as many terminals do: bold or dim.
            let mods = [
                Modifier::BOLD,
                Modifier::DIM,
                Modifier::ITALIC,
                Modifier::UNDERLINED,
                Modifier::REVERSED,
            ];
            let frames: Vec<Vec<(u8, u8, u16, bool)>> = frames
                .into_iter()
                .map(|f| f.into_iter().map(|(a, b, m, c)| (a, b, if m & 1 != 0 { m & !2 } else { m }, c)).collect())
                .collect();
            let mut t = Terminal::with_options(
                Quiet::new(Vec::new()),
                ratatui::TerminalOptions { viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, W, H)) },
            )
            .unwrap();
            let mut vt = vt100::Parser::new(H, W, 0);
            for cells in &frames {
                t.draw(|f| {
                    let buf = f.buffer_mut();
                    for (i, (fg, bg, m, blank)) in cells.iter().enumerate() {
                        let (x, y) = (i as u16 % W, i as u16 / W);
                        let mut modifier = Modifier::empty();
                        for (b, one) in mods.iter().enumerate() {
                            if m & (1 << b) != 0 {
                                modifier |= *one;
                            }
                        }
                        let style = ratatui::style::Style::new()
                            .fg(colours[*fg as usize])
                            .bg(colours[*bg as usize])
                            .add_modifier(modifier);
                        buf[(x, y)].set_symbol(if *blank { " " } else { "x" }).set_style(style);
                    }
                })
                .unwrap();
                vt.process(&std::mem::take(&mut t.backend_mut().out));
            }
            let last = frames.last().unwrap();
            let as_vt = |c: Color| match c {
                Color::Reset => vt100::Color::Default,
                Color::Red => vt100::Color::Idx(1),
                Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
                Color::Indexed(i) => vt100::Color::Idx(i),
                _ => unreachable!(),
            };
            for (i, (fg, bg, m, blank)) in last.iter().enumerate() {
                let (x, y) = (i as u16 % W, i as u16 / W);
                let cell = vt.screen().cell(y, x).unwrap();
                let has = |b: usize| m & (1 << b) != 0;
                let want = (
                    if *blank { "" } else { "x" },
                    as_vt(colours[*fg as usize]),
                    as_vt(colours[*bg as usize]),
                    has(0), has(1), has(2), has(3), has(4),
                );
                let got = (
                    if cell.contents() == " " { "" } else { cell.contents() },
                    cell.fgcolor(),
                    cell.bgcolor(),
                    cell.bold(), cell.dim(), cell.italic(), cell.underline(), cell.inverse(),
                );
                proptest::prop_assert_eq!(got, want, "cell {},{}", x, y);
            }
        }
    }
}
