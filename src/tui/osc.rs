//! Terminal conveniences sent as OSC sequences: OSC 52 puts text on the
//! clipboard of the terminal the user sits at (through SSH and tmux), OSC 8
//! makes text a link. Both are off when `SLATE_NO_OSC` is set or the
//! terminal does not look like one that understands them (`TERM` unset,
//! `dumb`, or the Linux console).

use base64::Engine as _;

/// The most text one copy carries: terminals cap OSC 52 payloads (xterm
/// at about 100 KB), and nothing the cockpit copies is near this.
pub const COPY_MAX: usize = 8 * 1024;

/// Whether OSC sequences may be sent, from the environment given.
pub fn enabled_with(no_osc: Option<&str>, term: Option<&str>) -> bool {
    if no_osc.is_some() {
        return false;
    }
    !matches!(term, None | Some("" | "dumb" | "linux"))
}

/// Whether OSC sequences may be sent to this process's terminal.
pub fn enabled() -> bool {
    let no = std::env::var("SLATE_NO_OSC").ok();
    let term = std::env::var("TERM").ok();
    enabled_with(no.as_deref(), term.as_deref())
}

/// The OSC 52 sequence that sets the clipboard to `text` (cut at
/// [`COPY_MAX`] bytes, on a character boundary). The payload is base64,
/// so nothing in `text` can end the sequence early.
pub fn copy(text: &str) -> String {
    let mut end = text.len().min(COPY_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&text.as_bytes()[..end]);
    format!("\x1b]52;c;{b64}\x07")
}

/// `text` as an OSC 8 hyperlink to `target`. Every byte of the target but
/// printable ASCII (and `\`) is percent-encoded, so it cannot end the
/// sequence, while a web address keeps its query (`?`, `=`, `&`); `text`
/// must already be neutralised (the caller's one line).
pub fn link(target: &str, text: &str) -> String {
    let mut url = String::with_capacity(target.len());
    for b in target.bytes() {
        if b.is_ascii_graphic() && b != b'\\' {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}

/// A local file as a `file://` URL (the path's bytes, percent-encoded by [`link`]).
pub fn file_url(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    format!(
        "file://{}",
        String::from_utf8_lossy(path.as_os_str().as_bytes())
    )
}

/// Makes what is drawn in `area` (one row) of `buf` a link to `target`:
/// the first cell carries the whole text inside the OSC 8 sequence, with
/// the row's width forced, so ratatui writes it in one piece, only when it
/// changed, and lets the cells it covers be. The text keeps the first
/// cell's style. Blank cells at the end are left out of the link.
pub fn link_cells(buf: &mut ratatui::buffer::Buffer, area: ratatui::layout::Rect, target: &str) {
    use ratatui::buffer::CellDiffOption;
    use unicode_width::UnicodeWidthStr;
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let mut text = String::new();
    let mut used = 0u16;
    let mut x = area.x;
    while x < area.right() {
        let symbol = buf[(x, area.y)].symbol();
        let w = (symbol.width() as u16).max(1);
        text.push_str(symbol);
        x += w;
        if !symbol.trim().is_empty() {
            used = x - area.x;
        }
    }
    let kept: String = {
        let mut out = String::new();
        let mut w = 0u16;
        for ch in text.chars() {
            let cw = (unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0)) as u16;
            if w + cw > used {
                break;
            }
            w += cw;
            out.push(ch);
        }
        out
    };
    let Some(width) = std::num::NonZeroU16::new(used) else {
        return;
    };
    buf[(area.x, area.y)]
        .set_symbol(&link(target, &kept))
        .set_diff_option(CellDiffOption::ForcedWidth(width));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_row_is_one_cell_of_forced_width() {
        use ratatui::buffer::{Buffer, CellDiffOption};
        use ratatui::layout::Rect;
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        buf.set_string(2, 0, "a/b.md", ratatui::style::Style::default());
        link_cells(&mut buf, Rect::new(2, 0, 10, 1), "file:///a/b.md");
        let cell = &buf[(2, 0)];
        assert_eq!(
            cell.symbol(),
            "\x1b]8;;file:///a/b.md\x1b\\a/b.md\x1b]8;;\x1b\\"
        );
        assert_eq!(
            cell.diff_option,
            CellDiffOption::ForcedWidth(std::num::NonZeroU16::new(6).unwrap())
        );
        // Only the changed link is written, in one piece.
        let before = Buffer::empty(Rect::new(0, 0, 12, 1));
        let diff = before.diff(&buf);
        assert_eq!(
            diff.iter().filter(|(x, _, _)| (2..8).contains(x)).count(),
            1
        );
        assert!(buf.diff(&buf.clone()).is_empty());
    }

    #[test]
    fn a_link_target_cannot_end_the_sequence() {
        let s = link("file:///tmp/a b\x1b\\\x07", "a b");
        assert_eq!(
            s,
            "\x1b]8;;file:///tmp/a%20b%1B%5C%07\x1b\\a b\x1b]8;;\x1b\\"
        );
    }

    #[test]
    fn copy_is_base64_so_escapes_in_the_text_stay_inside() {
        let s = copy("slate approve r1 go\x07\x1b]0;x");
        assert!(s.starts_with("\x1b]52;c;"));
        assert!(s.ends_with('\x07'));
        let body = &s["\x1b]52;c;".len()..s.len() - 1];
        assert!(!body.contains('\x07') && !body.contains('\x1b'));
        let back = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(back, b"slate approve r1 go\x07\x1b]0;x");
    }

    #[test]
    fn off_without_a_capable_terminal_or_when_asked() {
        assert!(enabled_with(None, Some("xterm-256color")));
        assert!(!enabled_with(Some("1"), Some("xterm-256color")));
        assert!(!enabled_with(None, Some("dumb")));
        assert!(!enabled_with(None, Some("linux")));
        assert!(!enabled_with(None, None));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(COPY_MAX);
        let s = copy(&long);
        let body = &s["\x1b]52;c;".len()..s.len() - 1];
        let back = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert!(back.len() <= COPY_MAX);
        assert!(String::from_utf8(back).is_ok());
    }
}
