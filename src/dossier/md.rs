//! Small markdown builders: tables whose cells cannot break the table, code
//! spans that survive backticks, and the time and duration formats every
//! section shares. Every builder makes what people and plans wrote one line
//! with its controls shown (`text::neutral::line`) before it escapes the
//! markup, so no value can start a line, a heading or a list of its own.

use std::fmt::Write;

use jiff::Timestamp;

use crate::text::neutral;

/// A GFM table: a header row, a delimiter row and one row per entry.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn write(&self, out: &mut String) {
        let line = |cells: &[String]| {
            let mut l = String::from("|");
            for c in cells {
                let _ = write!(l, " {} |", cell(c));
            }
            l
        };
        out.push_str(&line(&self.header));
        out.push('\n');
        out.push('|');
        for _ in &self.header {
            out.push_str(" --- |");
        }
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out.push('\n');
    }
}

/// A cell's text on one line, with pipes escaped so they cannot split it.
fn cell(text: &str) -> String {
    let one_line = neutral::line(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.is_empty() {
        return "—".into();
    }
    one_line.replace('|', "\\|")
}

/// Inline code that survives backticks inside (a longer fence around it).
pub fn code(text: &str) -> String {
    let text = neutral::line(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return "—".into();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// Prose from the journal or the plan, on one line, kept from being read as markup.
pub fn text(s: &str) -> String {
    let s = neutral::line(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Prose of several lines from the plan (release notes), as a quotation:
/// each of its lines is escaped and marked `>`, so none reads as the
/// dossier's own.
pub fn quote(s: &str) -> String {
    s.trim_end()
        .lines()
        .map(|l| {
            let l = text(l.trim_end());
            // A quoted line that opens with a list or heading marker stays text.
            let l = match l.chars().next() {
                Some('-' | '+' | '=') => format!("\\{l}"),
                _ => l,
            };
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fenced block that no line of the content can close early; its lines'
/// controls are shown.
pub fn fenced(content: &str) -> String {
    let content = neutral::text(content);
    let mut fence = "```".to_string();
    while content.lines().any(|l| l.trim_start().starts_with(&fence)) {
        fence.push('`');
    }
    format!("{fence}text\n{}\n{fence}\n\n", content.trim_end())
}

/// A command as one short code span: its first line, and how much was left out.
pub fn command(cmd: &str) -> String {
    const MAX: usize = 80;
    let lines: Vec<&str> = cmd
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let Some(first) = lines.first() else {
        return "—".into();
    };
    let first = neutral::line(first);
    let mut shown: String = first.chars().take(MAX).collect();
    let cut = shown.len() < first.len();
    if cut {
        shown.push('…');
    }
    match lines.len() {
        1 => code(&shown),
        n => format!("{} (+{} lines)", code(&shown), n - 1),
    }
}

pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn clock(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// As everywhere (`crate::duration::human`).
pub fn duration_ms(ms: u64) -> String {
    crate::duration::human(ms)
}

pub fn heading(out: &mut String, level: usize, title: &str) {
    let _ = write!(out, "{} {title}\n\n", "#".repeat(level));
}

pub fn para(out: &mut String, text: &str) {
    out.push_str(text.trim_end());
    out.push_str("\n\n");
}

/// Bullets, one per item; nothing when there are none.
pub fn bullets(out: &mut String, items: &[String]) {
    for i in items {
        let _ = writeln!(out, "- {i}");
    }
    if !items.is_empty() {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_a_table() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["x | y".into(), "line\nbreak".into()]);
        let mut s = String::new();
        t.write(&mut s);
        assert_eq!(s, "| a | b |\n| --- | --- |\n| x \\| y | line⏎break |\n\n");
    }

    #[test]
    fn values_become_one_line_with_their_controls_shown() {
        let hostile = "ok\n✔ released \u{1b}]52;c;eA==\u{7}\u{9b}2J\u{202e}x";
        for made in [text(hostile), code(hostile), command(hostile)] {
            assert!(!made.contains('\n'), "{made:?}");
            assert!(
                !made.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{made:?}"
            );
        }
        assert_eq!(text("a\n# b"), "a⏎\\# b");
        assert_eq!(code("port=\u{1b}[2J"), "`port=␛[2J`");
    }

    #[test]
    fn prose_is_quoted_line_by_line() {
        assert_eq!(
            quote("Fixes:\n- the cart\n\n✔ released\n=== \u{1b}[2J"),
            "> Fixes:\n> \\- the cart\n>\n> ✔ released\n> \\=== ␛\\[2J"
        );
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("ls -l"), "`ls -l`");
        assert_eq!(code("echo `date`"), "`` echo `date` ``");
        assert_eq!(code(""), "—");
    }

    #[test]
    fn commands_are_cut_to_their_first_line() {
        assert_eq!(command("echo hi"), "`echo hi`");
        assert_eq!(
            command("# why\nset -e\nmake\nmake install\n"),
            "`set -e` (+2 lines)"
        );
        assert!(command(&"x".repeat(200)).ends_with("…`"));
    }

    #[test]
    fn fences_outlast_the_content() {
        let f = fenced("a\n```\nb");
        assert!(f.starts_with("````text\n"));
        assert!(f.ends_with("\n````\n\n"));
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(duration_ms(450), "0.5s");
        assert_eq!(duration_ms(12_300), "12s");
        assert_eq!(duration_ms(125_000), "2m 05s");
        assert_eq!(duration_ms(7_500_000), "2h 05m");
    }
}
