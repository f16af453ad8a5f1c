//! Writing to stdout/stderr without ever panicking: a closed pipe (`| head`)
//! or a terminal that went away must not crash Slate, least of all mid-release.
//!
//! Every line goes through [`crate::text::neutral`]: `out` and `err` print
//! exactly one line, whatever the text holds (a newline in it is shown as
//! `⏎`, an escape sequence as `␛…`), so text that people or plans supply can
//! neither forge a line nor drive the terminal. Text of several lines
//! (markdown, JSON, a table) goes through `out_text`, whose callers have made
//! every supplied piece one line first.

use std::io::Write;

use crate::text::neutral;

fn write_out(text: &str) {
    write_stdout(&[text, "\n"]);
}

/// Writes `parts` to stdout under one lock and flushes, ignoring a
/// closed stdout.
fn write_stdout(parts: &[&str]) {
    let mut stdout = std::io::stdout().lock();
    for part in parts {
        let _ = stdout.write_all(part.as_bytes());
    }
    let _ = stdout.flush();
}

/// One line to stdout.
pub fn out(line: &str) {
    write_out(&neutral::line(line));
}

/// `label` then `text`, one line to stdout; `text` is an OSC 8 link to
/// `target` when stdout is a terminal that takes OSC sequences
/// ([`crate::tui::osc::enabled`], so `SLATE_NO_OSC` turns it off).
pub fn out_link(label: &str, text: &str, target: &str) {
    use std::io::IsTerminal;
    let text = neutral::line(text);
    if std::io::stdout().is_terminal() && crate::tui::osc::enabled() {
        let linked = crate::tui::osc::link(target, &text);
        write_out(&format!("{}{linked}", neutral::line(label)));
    } else {
        write_out(&neutral::line(&format!("{label}{text}")));
    }
}

/// One line to stderr.
pub fn err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", neutral::line(line));
}

/// Lines to stdout: the newlines are the caller's own, every other control is shown.
pub fn out_text(text: &str) {
    write_out(&neutral::text(text));
}

/// One line to stdout that may keep colours (SGR) and nothing else: stage
/// output on a terminal (see [`neutral::output`]).
pub fn out_coloured(line: &str) {
    write_out(&neutral::output(line, true));
}

/// Lines for stdout gathered into one write: each is neutralised as
/// [`out`] or [`out_coloured`] would, and the caller writes them
/// ([`Batch::flush`]) when nothing more is waiting, or drop it. A flood printed
/// headless then costs a write per batch of lines, not a write and a flush
/// per line.
#[derive(Default)]
pub struct Batch {
    buf: String,
}

/// Past this many bytes a batch is written whether or not more is waiting.
pub const BATCH_MAX: usize = 64 * 1024;

impl Batch {
    /// One line, as [`out`] prints it.
    pub fn line(&mut self, line: &str) {
        self.buf.push_str(&neutral::line(line));
        self.buf.push('\n');
    }

    /// One line that may keep its colours, as [`out_coloured`] prints it.
    pub fn coloured(&mut self, line: &str) {
        self.buf.push_str(&neutral::output(line, true));
        self.buf.push('\n');
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Writes what is gathered, in one write.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        write_stdout(&[&self.buf]);
        self.buf.clear();
    }
}

/// A batch dropped unwritten (its printer cancelled while more records
/// waited) is written then: no line it took is lost.
impl Drop for Batch {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `println!` that ignores a closed stdout and prints one line.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::out(&format!($($arg)*)) };
}

/// `eprintln!` that ignores a closed stderr and prints one line.
#[macro_export]
macro_rules! warn_user {
    ($($arg:tt)*) => { $crate::output::err(&format!($($arg)*)) };
}
