//! Laying styled text out in columns: word wrapping, hard breaking and
//! truncation with `…`, all by display width (wide characters count twice).

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A piece of inline text in one style; `\n` inside it is a hard line break.
pub type Frag = (String, Style);

pub fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

pub fn frags_width(frags: &[Frag]) -> usize {
    frags.iter().map(|(t, _)| t.width()).sum()
}

enum Token {
    Word(Vec<Frag>, usize),
    Space(Style),
    Break,
}

fn tokens(frags: &[Frag]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word: Vec<Frag> = Vec::new();
    let mut width = 0;
    let flush = |out: &mut Vec<Token>, word: &mut Vec<Frag>, width: &mut usize| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word), *width));
            *width = 0;
        }
    };
    for (text, style) in frags {
        for c in text.chars() {
            match c {
                '\n' => {
                    flush(&mut out, &mut word, &mut width);
                    out.push(Token::Break);
                }
                ' ' | '\t' => {
                    flush(&mut out, &mut word, &mut width);
                    out.push(Token::Space(*style));
                }
                c => {
                    match word.last_mut() {
                        Some((t, s)) if s == style => t.push(c),
                        _ => word.push((c.to_string(), *style)),
                    }
                    width += char_width(c);
                }
            }
        }
    }
    flush(&mut out, &mut word, &mut width);
    out
}

/// Appends `text` to a line, merging with the last span when the style matches.
pub fn push(line: &mut Vec<Span<'static>>, text: &str, style: Style) {
    if text.is_empty() {
        return;
    }
    match line.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push_str(text),
        _ => line.push(Span::styled(text.to_string(), style)),
    }
}

/// Wraps `frags` into lines at most `width` columns wide, breaking at
/// spaces; a word longer than a whole line is split. Spaces at the start of
/// a wrapped line are dropped, so continuation lines stay aligned.
pub fn wrap(frags: &[Frag], width: usize) -> Vec<Vec<Span<'static>>> {
    let width = width.max(1);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut col = 0;
    let mut spaces: Vec<Style> = Vec::new();
    for token in tokens(frags) {
        match token {
            Token::Space(s) => spaces.push(s),
            Token::Break => {
                lines.push(Vec::new());
                col = 0;
                spaces.clear();
            }
            Token::Word(parts, w) => {
                let gap = spaces.len();
                if col > 0 && col + gap + w > width {
                    lines.push(Vec::new());
                    col = 0;
                }
                let line = lines.last_mut().expect("never empty");
                if col > 0 {
                    for s in spaces.drain(..) {
                        push(line, " ", s);
                    }
                    col += gap;
                }
                spaces.clear();
                if col + w <= width {
                    for (t, s) in &parts {
                        push(line, t, *s);
                    }
                    col += w;
                    continue;
                }
                // Longer than a whole line: break it at the width, character by character.
                for (t, s) in &parts {
                    for c in t.chars() {
                        let cw = char_width(c);
                        if col + cw > width && col > 0 {
                            lines.push(Vec::new());
                            col = 0;
                        }
                        let mut buf = [0u8; 4];
                        push(
                            lines.last_mut().expect("never empty"),
                            c.encode_utf8(&mut buf),
                            *s,
                        );
                        col += cw;
                    }
                }
            }
        }
    }
    lines
}

/// Cuts `frags` to at most `width` columns, ending in `…` when something was cut.
pub fn truncate(frags: &[Frag], width: usize) -> Vec<Frag> {
    if frags_width(frags) <= width {
        return frags.to_vec();
    }
    let mut out: Vec<Frag> = Vec::new();
    let mut col = 0;
    let budget = width.saturating_sub(1);
    let mut last_style = frags.first().map(|(_, s)| *s).unwrap_or_default();
    'outer: for (text, style) in frags {
        let mut piece = String::new();
        for c in text.chars() {
            let cw = char_width(c);
            if col + cw > budget {
                if !piece.is_empty() {
                    out.push((piece, *style));
                }
                last_style = *style;
                break 'outer;
            }
            piece.push(c);
            col += cw;
        }
        last_style = *style;
        if !piece.is_empty() {
            out.push((piece, *style));
        }
    }
    if width > 0 {
        out.push(("…".to_string(), last_style));
    }
    out
}

/// A plain string cut to `width` columns with `…` (for table cells in lists).
pub fn ellipsize(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    truncate(&[(s.to_string(), Style::default())], width)
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// Cuts a finished line of spans to `width` columns (no ellipsis: a last resort
/// for borders that cannot fit a terminal narrower than the table's minimum).
pub fn clip(line: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut col = 0;
    for span in line {
        let w = span.content.width();
        if col + w <= width {
            col += w;
            out.push(span);
            continue;
        }
        let mut piece = String::new();
        for c in span.content.chars() {
            let cw = char_width(c);
            if col + cw > width {
                break;
            }
            piece.push(c);
            col += cw;
        }
        if !piece.is_empty() {
            out.push(Span::styled(piece, span.style));
        }
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Vec<Span<'static>>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn wraps_at_spaces_and_splits_long_words() {
        let plain = Style::default();
        let lines = wrap(
            &[(
                "the quick brown fox jumps over abcdefghijklmnop".into(),
                plain,
            )],
            10,
        );
        assert_eq!(
            text(&lines),
            [
                "the quick",
                "brown fox",
                "jumps over",
                "abcdefghij",
                "klmnop"
            ]
        );
    }

    #[test]
    fn styles_survive_wrapping_and_words_can_mix_styles() {
        let bold = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let lines = wrap(
            &[
                ("see ".into(), Style::default()),
                ("bold".into(), bold),
                (", then more".into(), Style::default()),
            ],
            9,
        );
        assert_eq!(text(&lines), ["see bold,", "then more"]);
        assert_eq!(lines[0][1].content, "bold");
        assert_eq!(lines[0][1].style, bold);
    }

    #[test]
    fn hard_breaks_start_a_new_line() {
        let lines = wrap(&[("one\ntwo".into(), Style::default())], 40);
        assert_eq!(text(&lines), ["one", "two"]);
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(ellipsize("checkout-service", 8), "checkou…");
        assert_eq!(ellipsize("short", 8), "short");
        assert_eq!(ellipsize("日本語テキスト", 5), "日本…");
    }
}
