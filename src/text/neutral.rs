//! Showing control characters instead of obeying them.
//!
//! - C0 controls and DEL become their Unicode control pictures (`␛`, `␇`,
//!   `␍`, `␡`), so `ESC]52;…` reads `␛]52;…`.
//! - C1 controls (U+0080–U+009F, which some terminals obey like their ESC
//!   forms: U+009B is CSI) and the bidi controls that reorder text (U+202A–
//!   U+202E, U+2066–U+2069, U+200E/F, U+061C) become `\u{9b}`, `\u{202e}`.
//! - A line break inside one-line text (`\n`, `\r\n`, U+0085, U+2028,
//!   U+2029) becomes `⏎`, so it can never start a line of its own.
//! - A tab stays: it moves the cursor on and overwrites nothing.
//!
//! Stage output may keep its colours ([`output`]); nothing else may.

use std::borrow::Cow;

/// What a newline inside one-line text is shown as.
pub const NEWLINE: char = '⏎';

/// Bidi controls: they reorder what follows them on screen.
pub fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters a terminal (or a reader) could obey rather than show.
fn hazard(c: char, keep_newline: bool) -> bool {
    match c {
        '\t' => false,
        '\n' => !keep_newline,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => true,
        c => is_bidi(c),
    }
}

/// Whether any character of `s` would be changed by [`line`].
///
/// A flood is asked this for every line the headless printer writes, so
/// it goes 32 bytes at a time: a stretch of printable ASCII (most of any
/// line) is passed over with vector compares, and only a stretch holding
/// something else is looked at a byte at a time.
pub fn is_clean_line(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.chunks(32).enumerate().all(|(n, chunk)| {
        printable_ascii(chunk)
            || chunk
                .iter()
                .enumerate()
                .all(|(i, &b)| clean_at(s, n * 32 + i, b))
    })
}

/// Whether the byte at `at` (which is `b`) starts nothing [`line`] would
/// change. Every hazard beyond ASCII is a character whose UTF-8 starts
/// with 0xC2 (the C1 controls, U+0085), 0xD8 (U+061C) or 0xE2 (U+200E/F,
/// U+2028/9, U+202A–E, U+2066–9); only those are decoded. A continuation
/// byte (0x80–0xBF) is never one of them, so any byte may be asked.
fn clean_at(s: &str, at: usize, b: u8) -> bool {
    match b {
        b'\t' => true,
        0..=0x1f | 0x7f => false,
        HAZARD_LEAD_C1 | HAZARD_LEAD_ARABIC | HAZARD_LEAD_PUNCTUATION => s
            .get(at..)
            .and_then(|rest| rest.chars().next())
            .is_none_or(|c| !hazard(c, false)),
        _ => true,
    }
}

const HAZARD_LEAD_C1: u8 = 0xC2;
const HAZARD_LEAD_ARABIC: u8 = 0xD8;
const HAZARD_LEAD_PUNCTUATION: u8 = 0xE2;

/// Whether every byte is printable ASCII or a tab, none of which [`line`]
/// changes; without stopping early, which the compiler turns into vector
/// compares.
fn printable_ascii(s: &[u8]) -> bool {
    s.chunks(32).all(|chunk| {
        chunk.iter().fold(true, |ok, &b| {
            ok & (((0x20..0x7f).contains(&b)) | (b == b'\t'))
        })
    })
}

/// One character, shown (never `\n` or `\t`, which callers decide about).
fn show(c: char, out: &mut String) {
    match c {
        '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
        '\u{7f}' => out.push('␡'),
        '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(NEWLINE),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Text for one line: every control shown, every line break `⏎`.
pub fn line(s: &str) -> Cow<'_, str> {
    if is_clean_line(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                out.push(NEWLINE);
            }
            '\n' => out.push(NEWLINE),
            c if hazard(c, false) => show(c, &mut out),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text of several lines (markdown, JSON, a table): newlines stay, every
/// other control is shown; `\r\n` becomes `\n`. Callers that put
/// people's text into it make that text one line first ([`line`]), so a
/// newline here is always the program's own.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| hazard(c, true)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\u{85}' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c if hazard(c, true) => show(c, &mut out),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `ESC [ params m` at the start of `s`: its length, if it is a colour or
/// style (SGR) sequence and nothing else.
fn sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\u{1b}[")?;
    let params = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';' || *b == b':')
        .count();
    (rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// Reset after a line that set colours, so they never bleed into the next.
const RESET: &str = "\u{1b}[0m";

/// A line of stage output: with `colour`, its SGR sequences (colours and
/// styles) stay; without, they are dropped. Every other control, escape
/// sequences included, is shown as in [`line`]: SGR cannot move the cursor,
/// clear the screen, retitle the window or reach the clipboard.
pub fn output(s: &str, colour: bool) -> Cow<'_, str> {
    if is_clean_line(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut styled = false;
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        if c == '\u{1b}'
            && let Some(n) = sgr_len(&s[i..])
        {
            if colour {
                out.push_str(&s[i..i + n]);
                styled = true;
            }
            i += n;
            continue;
        }
        match c {
            '\r' if s[i + 1..].starts_with('\n') => {
                out.push(NEWLINE);
                i += 1;
            }
            '\n' => out.push(NEWLINE),
            c if hazard(c, false) => show(c, &mut out),
            c => out.push(c),
        }
        i += c.len_utf8();
    }
    if styled && !out.ends_with(RESET) {
        out.push_str(RESET);
    }
    Cow::Owned(out)
}

/// Whether stage output may keep its colours on stdout: a terminal, and
/// `NO_COLOR` unset or empty (<https://no-color.org>).
pub fn colour_on_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What no neutralised text may hold: ESC, BEL, CR, any C0/C1 control, DEL, bidi controls.
    fn raw_hazards(s: &str) -> Vec<char> {
        s.chars().filter(|&c| hazard(c, true)).collect()
    }

    const HOSTILE: &[&str] = &[
        "\u{1b}]52;c;cHduZWQ=\u{7}",
        "\u{1b}]0;title\u{1b}\\",
        "\u{1b}[2J\u{1b}[H",
        "bell\u{7}",
        "ok\r✔ released",
        "ok\n✔ released",
        "ok\r\n✔ released",
        "\u{9b}31mred",
        "\u{202e}txt.exe",
        "a\u{2028}b\u{85}c",
        "\u{0}nul\u{7f}",
    ];

    #[test]
    fn one_line_text_shows_every_control_and_never_breaks() {
        for h in HOSTILE {
            let l = line(h);
            assert!(raw_hazards(&l).is_empty(), "{h:?} → {l:?}");
            assert!(!l.contains('\n'), "{h:?} → {l:?}");
        }
        assert_eq!(line("\u{1b}]0;t\u{7}"), "␛]0;t␇");
        assert_eq!(line("ok\n✔ released"), "ok⏎✔ released");
        assert_eq!(line("ok\r\nx"), "ok⏎x");
        assert_eq!(line("ok\rx"), "ok␍x");
        assert_eq!(line("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(line("\u{202e}abc"), "\\u{202e}abc");
        assert_eq!(line("a\u{2028}b"), "a⏎b");
        assert_eq!(line("tab\there"), "tab\there");
        assert!(matches!(line("plain ✔ text"), Cow::Borrowed(_)));
    }

    #[test]
    fn multi_line_text_keeps_its_newlines_only() {
        for h in HOSTILE {
            let t = text(h);
            assert!(raw_hazards(&t).is_empty(), "{h:?} → {t:?}");
        }
        assert_eq!(text("a\nb\r\nc\rd"), "a\nb\nc␍d");
        assert_eq!(text("\u{1b}[2J"), "␛[2J");
        assert_eq!(text("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn stage_output_keeps_colours_only_when_asked() {
        let s = "\u{1b}[1;31mFAIL\u{1b}[0m \u{1b}]52;c;eA==\u{7}\u{1b}[2Jdone\r";
        assert_eq!(
            output(s, true),
            "\u{1b}[1;31mFAIL\u{1b}[0m ␛]52;c;eA==␇␛[2Jdone␍\u{1b}[0m"
        );
        assert_eq!(output(s, false), "FAIL ␛]52;c;eA==␇␛[2Jdone␍");
        // A colour left open is closed at the end of the line.
        assert_eq!(output("\u{1b}[32mok", true), "\u{1b}[32mok\u{1b}[0m");
        // 256-colour and truecolour forms are SGR too.
        assert_eq!(
            output("\u{1b}[38;5;208mx\u{1b}[38:2::1:2:3my\u{1b}[m", false),
            "xy"
        );
        // Not SGR: a CSI that moves or erases, a C1 CSI, an unfinished sequence.
        assert_eq!(output("\u{1b}[2K", true), "␛[2K");
        assert_eq!(output("\u{9b}31m", true), "\\u{9b}31m");
        assert_eq!(output("end\u{1b}[31", true), "end␛[31");
        for h in HOSTILE {
            let o = output(h, false);
            assert!(raw_hazards(&o).is_empty(), "{h:?} → {o:?}");
            assert!(!o.contains('\n'));
        }
    }

    #[test]
    fn long_lines_are_handled_in_one_pass() {
        let long = format!("{}\u{1b}[2J", "x".repeat(100 * 1024));
        assert_eq!(line(&long).len(), 100 * 1024 + "␛[2J".len());
    }

    /// [`clean_at`] decodes only characters that start with one of three
    /// bytes: every hazard beyond ASCII must start with one of them.
    #[test]
    fn every_hazard_beyond_ascii_starts_with_a_byte_that_is_decoded() {
        for c in (0x80..=0x10ffff).filter_map(char::from_u32) {
            if hazard(c, false) {
                let mut buf = [0; 4];
                let lead = c.encode_utf8(&mut buf).as_bytes()[0];
                assert!(
                    [HAZARD_LEAD_C1, HAZARD_LEAD_ARABIC, HAZARD_LEAD_PUNCTUATION].contains(&lead),
                    "{c:?} starts with {lead:#x}"
                );
            }
        }
    }

    proptest::proptest! {
        /// The 32-byte stretches agree with the plain character-by-character
        /// check, wherever the odd characters fall around their edges.
        #[test]
        fn the_stretches_agree_with_the_full_check(
            text in "[ -~\t]{0,100}",
            odd in proptest::collection::vec((0usize..101, proptest::sample::select(vec![
                '\u{0}', '\u{1b}', '\n', '\r', '\u{7f}', '\u{85}', '\u{9b}', '\u{61c}',
                '\u{200e}', '\u{2028}', '\u{202e}', '\u{2069}', 'é', '·', '┃', '🚀', '\t', ' ',
            ])), 0..4),
        ) {
            let mut s = text.clone();
            for (at, c) in odd {
                let mut at = at.min(s.len());
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                s.insert(at, c);
            }
            let full = !s.chars().any(|c| hazard(c, false));
            proptest::prop_assert_eq!(is_clean_line(&s), full, "{:?}", s);
        }
    }
}
