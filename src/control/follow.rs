//! `subscribe`: a client follows a run by reading its journal file, the
//! truth, at the client's own pace. The server keeps a byte offset per
//! subscriber, reads what is on disk in bounded chunks, and wakes when the
//! journal writer says more reached the file. Nothing is held per record in
//! memory and no subscriber can fall behind a buffer: a slow one simply
//! reads the file later.
//!
//! A subscriber that asks for `elide` (the cockpit) never receives more
//! output than it can show: when the file holds more than one chunk beyond
//! what was sent, the output lines of that stretch are replaced by one
//! `elided` marker (counts per step, the range of sequence numbers), and of
//! the newest chunk only the last [`KEEP`] output lines are sent. State
//! changes are always sent, in order. The cockpit reads elided lines back
//! from the journal when someone scrolls to them. This is what keeps a
//! cockpit, and the link to it, from drowning in a flood.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::wire::Response;
use crate::journal::head::read_head;

/// Bytes read from the journal at a time: the bound on a subscriber's memory.
pub const CHUNK: usize = 1 << 20;

/// Output lines an eliding subscriber gets from the newest stretch: more
/// than any screen shows, few enough to parse in a few milliseconds.
pub const KEEP: usize = 1_000;

pub use super::wire::{Elided, ElidedStep};

impl Elided {
    fn add(&mut self, seq: u64, env: usize, step: usize) {
        if self.lines == 0 {
            self.from_seq = seq;
        }
        self.to_seq = seq;
        self.lines += 1;
        match self.steps.last_mut() {
            Some(s) if s.env == env && s.step == step => s.lines += 1,
            _ => match self
                .steps
                .iter_mut()
                .find(|s| s.env == env && s.step == step)
            {
                Some(s) => s.lines += 1,
                None => self.steps.push(ElidedStep {
                    env,
                    step,
                    lines: 1,
                }),
            },
        }
    }
}

/// A journal file read from a byte offset, in complete lines.
pub struct Tail {
    file: File,
    offset: u64,
    /// The start of a line whose end is not on disk yet.
    partial: Vec<u8>,
}

/// One read: complete lines, whether the file already holds more, and
/// whether it holds at least another whole chunk (the reader is behind).
pub struct Chunk {
    pub lines: Vec<u8>,
    pub more: bool,
    /// A whole [`CHUNK`] or more waits beyond this read. Only then is an
    /// eliding subscriber sent none of this read's output: a file that
    /// merely grew while it was read (a run's first records land a
    /// millisecond apart) is not a flood, and eliding then cost the
    /// cockpit lines it had room for.
    pub behind: bool,
}

impl Tail {
    pub fn open(path: &Path) -> std::io::Result<Tail> {
        Ok(Tail {
            file: File::open(path)?,
            offset: 0,
            partial: Vec::new(),
        })
    }

    /// Reads up to [`CHUNK`] bytes more and returns the complete lines among
    /// what is held; a line still being written waits for the next read.
    pub fn read(&mut self) -> std::io::Result<Chunk> {
        let mut buf = std::mem::take(&mut self.partial);
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = loop {
            match self.file.read_at(&mut buf[start..], self.offset) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        buf.truncate(start + n);
        self.offset += n as u64;
        let cut = memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1);
        self.partial = buf.split_off(cut);
        let waiting = self.file.metadata()?.len().saturating_sub(self.offset);
        Ok(Chunk {
            lines: buf,
            more: waiting > 0,
            behind: waiting >= CHUNK as u64,
        })
    }
}

/// What a subscriber is sent for one chunk: every record from `from` on
/// (each as the journal holds it, inside `{"record":…}`), except that with
/// `keep` only that many of the newest output lines are sent and the others
/// are counted in `elided` markers. Returns the bytes to send and the last
/// sequence number seen; errs on a line that is not a record.
pub fn render(
    lines: &[u8],
    from: u64,
    keep: Option<usize>,
) -> Result<(Vec<u8>, Option<u64>), String> {
    let mut spans = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', lines) {
        let a = start;
        let text = &lines[a..end];
        start = end + 1;
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let h = read_head(text)
            .map_err(|e| format!("the journal has a line that is not a record: {e}"))?;
        if h.seq >= from {
            spans.push((a, end, h.seq, h.output));
        }
    }
    let outputs = spans.iter().filter(|s| s.3.is_some()).count();
    let elide = keep.map_or(0, |k| outputs.saturating_sub(k));
    let mut out = Vec::with_capacity(lines.len().min(4 * CHUNK) / 4);
    let mut elided = Elided::default();
    let mut seen = 0;
    for &(a, b, seq, output) in &spans {
        if let Some((env, step)) = output {
            seen += 1;
            if seen <= elide {
                elided.add(seq, env, step);
                continue;
            }
            marker(&mut out, &mut elided);
        }
        out.extend_from_slice(b"{\"record\":");
        out.extend_from_slice(&lines[a..b]);
        out.extend_from_slice(b"}\n");
    }
    marker(&mut out, &mut elided);
    Ok((out, spans.last().map(|s| s.2)))
}

/// Writes the pending marker, if any lines were left out, and starts anew.
fn marker(out: &mut Vec<u8>, elided: &mut Elided) {
    if elided.lines > 0 {
        out.extend_from_slice(&Response::Elided(std::mem::take(elided)).to_line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Event, Record, Stream};

    fn rec(seq: u64, event: Event) -> String {
        let r = Record {
            seq,
            ts: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            event,
        };
        serde_json::to_string(&r).unwrap() + "\n"
    }

    fn out(seq: u64, step: usize) -> String {
        rec(
            seq,
            Event::Output {
                env: 0,
                step,
                stream: Stream::Stdout,
                line: format!("line {seq}"),
                rollback: false,
            },
        )
    }

    fn replies(bytes: &[u8]) -> Vec<Response> {
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    fn journal() -> String {
        let mut j = rec(1, Event::EnvStarted { env: 0 });
        for s in 2..=6 {
            j += &out(s, 0);
        }
        j += &rec(7, Event::EnvStarted { env: 1 });
        for s in 8..=10 {
            j += &out(s, 1);
        }
        j
    }

    #[test]
    fn every_record_from_the_first_asked_for() {
        let (bytes, last) = render(journal().as_bytes(), 3, None).unwrap();
        let seqs: Vec<u64> = replies(&bytes)
            .into_iter()
            .map(|r| match r {
                Response::Record(r) => r.seq,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seqs, (3..=10).collect::<Vec<_>>());
        assert_eq!(last, Some(10));
    }

    #[test]
    fn eliding_keeps_state_changes_and_the_newest_output() {
        let (bytes, _) = render(journal().as_bytes(), 1, Some(2)).unwrap();
        let got = replies(&bytes);
        let shape: Vec<String> = got
            .iter()
            .map(|r| match r {
                Response::Record(r) => format!("{}", r.seq),
                Response::Elided(e) => format!("elided {}..{} {}", e.from_seq, e.to_seq, e.lines),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(shape, ["1", "7", "elided 2..8 6", "9", "10"]);
        let Response::Elided(e) = &got[2] else {
            unreachable!()
        };
        assert_eq!(
            e.steps,
            [
                ElidedStep {
                    env: 0,
                    step: 0,
                    lines: 5
                },
                ElidedStep {
                    env: 0,
                    step: 1,
                    lines: 1
                }
            ]
        );
        // Nothing kept: the marker comes last, after every state change.
        let (bytes, _) = render(journal().as_bytes(), 1, Some(0)).unwrap();
        assert_eq!(replies(&bytes).len(), 3);
    }

    #[test]
    fn a_line_that_is_not_a_record_is_an_error() {
        let text = journal() + "{\"nope\":1}\n";
        assert!(render(text.as_bytes(), 1, None).is_err());
    }

    #[test]
    fn a_file_that_grew_a_little_past_a_read_is_not_a_reader_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let line = format!("{}\n", "x".repeat(99));
        // A whole chunk and a few lines more: the read takes the chunk, and
        // the few lines wait (as when the run appends while it is read).
        let lines = CHUNK / line.len() + 3;
        std::fs::write(&path, line.repeat(lines)).unwrap();
        let first = Tail::open(&path).unwrap().read().unwrap();
        assert!(first.more, "more waits beyond the read");
        assert!(!first.behind, "but not a whole chunk: its output is sent");
        // Two chunks and more: the first read's output is not worth sending.
        std::fs::write(&path, line.repeat(lines + CHUNK / line.len())).unwrap();
        let first = Tail::open(&path).unwrap().read().unwrap();
        assert!(first.more && first.behind);
    }

    #[test]
    fn the_tail_hands_out_complete_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let text = journal();
        let cut = text.len() - 7;
        std::fs::write(&path, &text[..cut]).unwrap();
        let mut tail = Tail::open(&path).unwrap();
        let first = tail.read().unwrap();
        assert!(!first.more);
        assert!(first.lines.ends_with(b"\n"));
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&text.as_bytes()[cut..]).unwrap();
        let second = tail.read().unwrap();
        let mut all = first.lines;
        all.extend_from_slice(&second.lines);
        assert_eq!(all, text.as_bytes());
    }
}
