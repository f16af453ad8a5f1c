//! The cockpit's window onto stage output: a bounded ring of recent lines.
//! The journal keeps every line; this keeps only what a screen can use, so
//! memory stays flat however much a stage prints.

use std::collections::VecDeque;

use crate::engine::event::Stream;

/// Lines kept in memory; older ones are read back from the journal on demand.
pub const CAPACITY: usize = 5_000;

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub seq: u64,
    pub env: usize,
    pub step: usize,
    pub stream: Stream,
    pub rollback: bool,
    /// The text as printed, escape codes included (kept only when there are any).
    pub raw: Option<String>,
    /// The text with escape codes removed: what search and strip mode use.
    pub plain: String,
}

impl LogLine {
    pub fn new(
        seq: u64,
        env: usize,
        step: usize,
        stream: Stream,
        rollback: bool,
        text: &str,
    ) -> Self {
        let (raw, plain) = if text.contains('\u{1b}') {
            (Some(text.to_string()), strip_ansi(text))
        } else {
            (None, text.to_string())
        };
        Self {
            seq,
            env,
            step,
            stream,
            rollback,
            raw,
            plain,
        }
    }
}

#[derive(Debug, Default)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    /// Lines dropped from the front since the run began.
    pub dropped: u64,
}

impl LogBuffer {
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() == CAPACITY {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }
}

/// Removes escape sequences (with the `strip-ansi-escapes` parser) and other
/// control characters, so output is never shown as garbage when colours are off.
pub fn strip_ansi(s: &str) -> String {
    // The parser drops tabs as control codes; they separate words, so expand them first.
    let stripped = strip_ansi_escapes::strip_str(s.replace('\t', "    "));
    stripped.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_cursor_and_title_sequences() {
        assert_eq!(strip_ansi("\u{1b}[1;31mFAIL\u{1b}[0m done"), "FAIL done");
        assert_eq!(strip_ansi("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(strip_ansi("progress\r\u{1b}[2K 50%"), "progress 50%");
        assert_eq!(strip_ansi("tab\there"), "tab    here");
    }

    #[test]
    fn buffer_is_bounded() {
        let mut b = LogBuffer::default();
        for i in 0..(CAPACITY as u64 + 10) {
            b.push(LogLine::new(i, 0, 0, Stream::Stdout, false, "x"));
        }
        assert_eq!(b.len(), CAPACITY);
        assert_eq!(b.dropped, 10);
        assert_eq!(b.iter().next().unwrap().seq, 10);
    }
}
