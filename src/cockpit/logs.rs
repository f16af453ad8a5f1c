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

/// Older lines read back from the journal while the user scrolls history.
pub const HISTORY_CAPACITY: usize = 20_000;

#[derive(Debug, Default)]
pub struct LogBuffer {
    /// Lines read back from the journal, oldest first, just before `lines`.
    history: VecDeque<LogLine>,
    lines: VecDeque<LogLine>,
    /// Lines dropped from memory since the run began (all still in the journal).
    pub dropped: u64,
    /// Just past the newest line known only to the journal (elided): where
    /// reading back starts while no line after it has arrived.
    floor: u64,
}

impl LogBuffer {
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() == CAPACITY {
            let out = self.lines.pop_front().expect("full");
            if self.history.is_empty() {
                self.dropped += 1;
            } else {
                // While history is on screen it must stay contiguous with the live lines.
                self.history.push_back(out);
                if self.history.len() > HISTORY_CAPACITY {
                    self.history.pop_front();
                    self.dropped += 1;
                }
            }
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.history.len() + self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.history.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.history.iter().chain(self.lines.iter())
    }

    /// Sequence number of the oldest line in memory (with none in memory
    /// after lines were elided, the line after them).
    pub fn oldest_seq(&self) -> Option<u64> {
        self.history
            .front()
            .or(self.lines.front())
            .map(|l| l.seq)
            .or((self.floor > 0).then_some(self.floor))
    }

    /// `lines` output lines up to `to_seq` were not sent (the cockpit was
    /// behind a flood): what is held is older than that hole, so it goes
    /// too, and is read back from the journal like any older line.
    pub fn elide(&mut self, lines: u64, to_seq: u64) {
        self.dropped += (self.history.len() + self.lines.len()) as u64 + lines;
        self.history.clear();
        self.lines.clear();
        self.floor = to_seq + 1;
    }

    /// Lines older than anything in memory remain in the journal.
    pub fn more_in_journal(&self) -> bool {
        self.dropped > 0 && self.history.len() < HISTORY_CAPACITY
    }

    /// Adds lines read back from the journal (oldest first), all older than what is held.
    pub fn prepend_history(&mut self, older: Vec<LogLine>) {
        let room = HISTORY_CAPACITY.saturating_sub(self.history.len());
        let take = older.len().min(room);
        self.dropped = self.dropped.saturating_sub(take as u64);
        for l in older.into_iter().rev().take(take) {
            self.history.push_front(l);
        }
    }

    /// Back to the live window: history goes, memory returns to its bound.
    pub fn drop_history(&mut self) {
        self.dropped += self.history.len() as u64;
        self.history.clear();
    }
}

/// Lines the cockpit asks for when scrolling back (`Effect::LoadHistory`).
pub const HISTORY_BATCH: usize = 2_000;

/// Reads the output lines older than `before` from the journal at `path`,
/// off the UI loop, and sends them back as one message.
pub fn read_history(
    path: std::path::PathBuf,
    before: u64,
    tx: tokio::sync::mpsc::Sender<Vec<LogLine>>,
) {
    tokio::task::spawn_blocking(move || {
        let lines = history_from_file(&path, before, HISTORY_BATCH).unwrap_or_else(|e| {
            tracing::warn!(error = %e, path = %path.display(), "cannot read log history");
            Vec::new()
        });
        let _ = tx.blocking_send(lines);
    });
}

/// Up to `limit` output lines older than `before`, streamed from the
/// journal file: only the newest `limit` lines are held (unparsed) on the
/// way, so memory is bounded however long the journal is.
pub fn history_from_file(
    path: &std::path::Path,
    before: u64,
    limit: usize,
) -> std::io::Result<Vec<LogLine>> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut ring: VecDeque<Vec<u8>> = VecDeque::with_capacity(limit.min(4096));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 || !buf.ends_with(b"\n") {
            break;
        }
        let Ok(h) = crate::journal::head::read_head(&buf) else {
            continue;
        };
        let (seq, output) = (h.seq, h.output.is_some());
        if seq >= before {
            break; // the journal is in sequence order
        }
        if output && limit > 0 {
            if ring.len() == limit {
                ring.pop_front();
            }
            ring.push_back(std::mem::take(&mut buf));
        }
    }
    let records: Vec<crate::engine::event::Record> = ring
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    Ok(history_from(&records, before, limit))
}

/// Up to `limit` output lines older than `before`, read from a journal's records.
pub fn history_from(
    records: &[crate::engine::event::Record],
    before: u64,
    limit: usize,
) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = records
        .iter()
        .rev()
        .filter(|r| r.seq < before)
        .filter_map(|r| match &r.event {
            crate::engine::event::Event::Output {
                env,
                step,
                stream,
                line,
                rollback,
            } => Some(LogLine::new(r.seq, *env, *step, *stream, *rollback, line)),
            _ => None,
        })
        .take(limit)
        .collect();
    out.reverse();
    out
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

    #[test]
    fn history_from_the_journal_joins_the_live_window_without_gaps() {
        let mut b = LogBuffer::default();
        for i in 0..(CAPACITY as u64 + 100) {
            b.push(LogLine::new(i, 0, 0, Stream::Stdout, false, "x"));
        }
        assert_eq!(b.oldest_seq(), Some(100));
        assert!(b.more_in_journal());
        let older: Vec<LogLine> = (0..100)
            .map(|i| LogLine::new(i, 0, 0, Stream::Stdout, false, "old"))
            .collect();
        b.prepend_history(older);
        assert_eq!(b.oldest_seq(), Some(0));
        assert!(!b.more_in_journal());
        // New output while history is shown keeps the sequence contiguous.
        b.push(LogLine::new(
            CAPACITY as u64 + 100,
            0,
            0,
            Stream::Stdout,
            false,
            "new",
        ));
        let seqs: Vec<u64> = b.iter().map(|l| l.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
        b.drop_history();
        assert_eq!(b.len(), CAPACITY);
        assert!(b.more_in_journal());
    }

    #[test]
    fn elided_lines_are_read_back_like_older_ones() {
        let mut b = LogBuffer::default();
        for i in 1..=10 {
            b.push(LogLine::new(i, 0, 0, Stream::Stdout, false, "x"));
        }
        // Lines 11..=500 were not sent; what was held is older than them.
        b.elide(490, 500);
        assert!(b.is_empty());
        assert_eq!(b.oldest_seq(), Some(501));
        assert!(b.more_in_journal());
        assert_eq!(b.dropped, 500);
        b.push(LogLine::new(501, 0, 0, Stream::Stdout, false, "new"));
        assert_eq!(b.oldest_seq(), Some(501));
    }

    #[test]
    fn history_streams_from_the_file_holding_only_what_it_returns() {
        use crate::engine::event::{Event, Record};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.ndjson");
        let mut text = String::new();
        for seq in 1..=50u64 {
            let event = if seq % 10 == 0 {
                Event::EnvStarted { env: 0 }
            } else {
                Event::Output {
                    env: 0,
                    step: 0,
                    stream: Stream::Stdout,
                    line: format!("line {seq}"),
                    rollback: false,
                }
            };
            let rec = Record {
                seq,
                ts: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
                event,
            };
            text += &(serde_json::to_string(&rec).unwrap() + "\n");
        }
        std::fs::write(&path, text).unwrap();
        let got = history_from_file(&path, 35, 5).unwrap();
        let seqs: Vec<u64> = got.iter().map(|l| l.seq).collect();
        assert_eq!(seqs, [29, 31, 32, 33, 34]);
        assert_eq!(got[0].plain, "line 29");
    }
}
