//! Small drawing helpers every full-screen command uses.

use ratatui::text::{Line, Span};

use super::theme::Theme;

/// Cuts a string to `width` columns, marking the cut.
pub fn truncate(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    if s.width() <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// A toast as a status line shows it: a mark, then the text (its controls
/// shown, never sent), red when it is an error.
pub fn toast_line(text: &str, error: bool, t: &Theme) -> Line<'static> {
    let (mark, style) = if error {
        ("✘ ", t.fail)
    } else {
        ("› ", t.accent)
    };
    Line::from(vec![
        Span::styled(mark, style),
        // Toasts carry what verbs, stores and people said (a hold's reason,
        // a server's error): shown as one safe line, never obeyed.
        Span::styled(
            crate::text::neutral::line(text).into_owned(),
            if error { t.fail } else { t.text },
        ),
    ])
}

/// Pasted text made fit for a text field: line ends become `\n` (or a
/// space where the field is one line), tabs become spaces, and escape
/// sequences and every other control character are dropped, so a paste can
/// neither act as keys nor smuggle terminal commands into a record.
pub fn pasted(text: &str, multiline: bool) -> String {
    let text = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\t', " ");
    let text = strip_ansi_escapes::strip_str(text);
    if multiline {
        text
    } else {
        text.replace('\n', " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_keeps_text_and_drops_what_would_act() {
        let hostile = "ok\r\nline two\x1b]52;c;SGVsbG8=\x07\tend\x1b[2J";
        assert_eq!(pasted(hostile, true), "ok\nline two end");
        assert_eq!(pasted(hostile, false), "ok line two end");
        // A C1 control is dropped too; what follows it is only text.
        assert_eq!(pasted("a\u{7}b\u{0}c\u{9b}31md", false), "abc31md");
    }
}
