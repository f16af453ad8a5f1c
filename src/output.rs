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
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
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
