//! Reading a journal back, tolerating a torn last line.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::engine::event::Record;

#[derive(Debug)]
pub struct ReadJournal {
    pub records: Vec<Record>,
    /// Set when the last line was cut off mid-write (a crash) and was skipped.
    pub warning: Option<String>,
    /// Bytes up to the end of the last good line: where a recovering engine
    /// cuts a torn tail off before it appends.
    pub valid_len: u64,
    /// Stage output that was counted instead of kept (only when reading
    /// states): runs of consecutive lines from one step, each placed by how
    /// many records came before it, so a replay can interleave the counts
    /// exactly where the lines were.
    pub output: Vec<OutputSpan>,
}

/// `lines` output lines of step `(env, step)`, journaled after the first
/// `after` kept records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSpan {
    pub after: usize,
    pub env: usize,
    pub step: usize,
    pub lines: u64,
}

impl ReadJournal {
    /// The run's state; read without output, its lines are still counted.
    pub fn state(&self) -> crate::engine::state::RunState {
        replay(&self.records, &self.output)
    }
}

/// Rebuilds a run's state from its kept records, counting the output that
/// was read past exactly where it was: the same state a replay of every
/// record gives.
pub fn replay(records: &[Record], output: &[OutputSpan]) -> crate::engine::state::RunState {
    let mut state = crate::engine::state::RunState::default();
    let mut spans = output.iter().peekable();
    for (i, rec) in records.iter().enumerate() {
        while let Some(s) = spans.next_if(|s| s.after == i) {
            state.count_output(s.env, s.step, s.lines);
        }
        state.apply(rec);
    }
    for s in spans {
        state.count_output(s.env, s.step, s.lines);
    }
    state
}

/// Where one record of a journal is, for a reader that reads output lines
/// back only when it shows them (a replay): 24 bytes a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineIndex {
    /// When the record was written, in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The byte offset of its line.
    pub offset: u64,
    /// The step of an output line (0 for a state record).
    pub env: u16,
    pub step: u16,
    /// The state record's place among the kept records, or [`Self::OUTPUT`].
    pub kept: u32,
}

impl LineIndex {
    pub const OUTPUT: u32 = u32::MAX;

    /// The state record kept at `kept`, written at `ts`, on the line at `offset`.
    pub fn state(ts: jiff::Timestamp, offset: u64, kept: usize) -> Self {
        LineIndex {
            ts_ns: nanos(ts),
            offset,
            env: 0,
            step: 0,
            kept: u32::try_from(kept).unwrap_or(Self::OUTPUT - 1),
        }
    }

    /// An output line of `(env, step)`, written at `ts`, at `offset`.
    pub fn output(ts: jiff::Timestamp, offset: u64, env: usize, step: usize) -> Self {
        LineIndex {
            ts_ns: nanos(ts),
            offset,
            env: u16::try_from(env).unwrap_or(u16::MAX),
            step: u16::try_from(step).unwrap_or(u16::MAX),
            kept: Self::OUTPUT,
        }
    }

    pub fn ts(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_nanosecond(i128::from(self.ts_ns))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// Reads the state records like [`read_journal_states`] and indexes every
/// record, output included, by where its line starts.
pub fn read_journal_indexed(path: &Path) -> Result<(ReadJournal, Vec<LineIndex>), JournalError> {
    let mut index = Vec::new();
    let read = read(path, false, Some(&mut index))?;
    Ok((read, index))
}

#[derive(Debug)]
pub enum JournalError {
    Io(String),
    Corrupt { line: usize, message: String },
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Io(e) => write!(f, "{e}"),
            JournalError::Corrupt { line, message } => {
                write!(f, "journal is corrupt at line {line}: {message}")
            }
        }
    }
}

impl std::error::Error for JournalError {}

/// Reads every record. A bad last line is a torn write and only warns; a bad
/// line anywhere else means the journal cannot be trusted and is an error.
pub fn read_journal(path: &Path) -> Result<ReadJournal, JournalError> {
    read(path, true, None)
}

/// Reads every record except stage output, which is checked for its place
/// in the sequence but neither parsed nor kept: what a dossier, a status or
/// a replica of the run's state needs, in memory that does not grow with
/// what stages print. (A state rebuilt from these counts no output lines.)
pub fn read_journal_states(path: &Path) -> Result<ReadJournal, JournalError> {
    read(path, false, None)
}

fn read(
    path: &Path,
    keep_output: bool,
    mut index: Option<&mut Vec<LineIndex>>,
) -> Result<ReadJournal, JournalError> {
    // A journal is a file Slate wrote: a symlink in its place is refused, and
    // a FIFO is neither waited on (non-blocking open) nor read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => JournalError::Io(format!(
                "{}: a symbolic link, which Slate does not follow",
                path.display()
            )),
            _ => JournalError::Io(format!("{}: {e}", path.display())),
        })?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(JournalError::Io(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut records = Vec::new();
    let mut last_seq: Option<u64> = None;
    let mut buf = Vec::new();
    let mut line_no = 0;
    let mut pending_error: Option<(usize, String)> = None;
    let (mut offset, mut valid_len) = (0u64, 0u64);
    let mut output: Vec<OutputSpan> = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| JournalError::Io(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        let line_start = offset;
        offset += n as u64;
        line_no += 1;
        if let Some((line, message)) = pending_error.take() {
            return Err(JournalError::Corrupt { line, message });
        }
        let complete = buf.last() == Some(&b'\n');
        let text = trim_newline(&buf);
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            if complete {
                valid_len = offset;
            }
            continue;
        }
        if !complete {
            // Only the last line can lack its newline. Even when what is
            // there parses, the write was cut short: the engine appends a
            // record and its newline in one write before acting on it, so it
            // never acted on this one, and a recovery cuts it off.
            return Ok(ReadJournal {
                records,
                warning: Some(format!(
                    "{}: ignored a torn last line ({line_no}) left by an interrupted write",
                    path.display()
                )),
                valid_len,
                output,
            });
        }
        if !keep_output
            && let Some(h) = super::head::head(text)
            && h.output.is_some()
        {
            if let Some(last) = last_seq
                && h.seq != last + 1
            {
                pending_error = Some((line_no, format!("sequence jumps from {last} to {}", h.seq)));
                continue;
            }
            last_seq = Some(h.seq);
            valid_len = offset;
            let (env, step) = h.output.unwrap_or_default();
            count(&mut output, records.len(), env, step);
            if let Some(index) = index.as_deref_mut() {
                let ts = super::head::timestamp(text).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                index.push(LineIndex::output(ts, line_start, env, step));
            }
            continue;
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(rec) => {
                if let Some(last) = last_seq
                    && rec.seq != last + 1
                {
                    pending_error = Some((
                        line_no,
                        format!("sequence jumps from {last} to {}", rec.seq),
                    ));
                    continue;
                }
                last_seq = Some(rec.seq);
                match rec.event {
                    crate::engine::event::Event::Output { env, step, .. } if !keep_output => {
                        count(&mut output, records.len(), env, step);
                        if let Some(index) = index.as_deref_mut() {
                            index.push(LineIndex::output(rec.ts, line_start, env, step));
                        }
                    }
                    _ => {
                        if let Some(index) = index.as_deref_mut() {
                            index.push(LineIndex::state(rec.ts, line_start, records.len()));
                        }
                        records.push(rec);
                    }
                }
                valid_len = offset;
            }
            Err(e) => pending_error = Some((line_no, e.to_string())),
        }
    }
    if let Some((line, message)) = pending_error {
        // The bad line was the last one: a torn write whose newline made it to disk.
        return Ok(ReadJournal {
            records,
            warning: Some(format!(
                "{}: ignored an unreadable last line ({line}: {message})",
                path.display()
            )),
            valid_len,
            output,
        });
    }
    Ok(ReadJournal {
        records,
        warning: None,
        valid_len,
        output,
    })
}

fn nanos(ts: jiff::Timestamp) -> i64 {
    i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX)
}

/// One more output line of `(env, step)` after `after` kept records: it
/// lengthens the last span when that span is the same step at the same place.
fn count(output: &mut Vec<OutputSpan>, after: usize, env: usize, step: usize) {
    match output.last_mut() {
        Some(s) if s.after == after && s.env == env && s.step == step => s.lines += 1,
        _ => output.push(OutputSpan {
            after,
            env,
            step,
            lines: 1,
        }),
    }
}

fn trim_newline(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &buf[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::Event;
    use std::io::Write;

    fn line(seq: u64) -> String {
        let rec = Record {
            seq,
            ts: jiff::Timestamp::from_second(1_800_000_000 + seq as i64).unwrap(),
            event: Event::EnvStarted { env: 0 },
        };
        serde_json::to_string(&rec).unwrap()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_every_record_in_order() {
        let f = write(&format!("{}\n{}\n", line(1), line(2)));
        let j = read_journal(f.path()).unwrap();
        assert_eq!(j.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(j.warning.is_none());
    }

    #[test]
    fn a_torn_last_line_is_skipped_with_a_warning() {
        let torn = &line(3)[..20];
        let f = write(&format!("{}\n{}\n{torn}", line(1), line(2)));
        let j = read_journal(f.path()).unwrap();
        assert_eq!(j.records.len(), 2);
        assert!(j.warning.unwrap().contains("torn last line (3)"));
        assert_eq!(j.valid_len as usize, line(1).len() + line(2).len() + 2);
    }

    #[test]
    fn a_whole_record_without_its_newline_is_torn_too() {
        // A recovery cuts at `valid_len`: what was read must be what stays.
        let f = write(&format!("{}\n{}", line(1), line(2)));
        let j = read_journal(f.path()).unwrap();
        assert_eq!(j.records.len(), 1);
        assert!(j.warning.unwrap().contains("torn last line (2)"));
        assert_eq!(j.valid_len as usize, line(1).len() + 1);
    }

    fn output(seq: u64) -> String {
        let rec = Record {
            seq,
            ts: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            event: Event::Output {
                env: 0,
                step: 0,
                stream: crate::engine::event::Stream::Stdout,
                line: format!("row {seq}"),
                rollback: false,
            },
        };
        serde_json::to_string(&rec).unwrap()
    }

    #[test]
    fn reading_states_skips_output_but_not_its_place_in_the_sequence() {
        let f = write(&format!(
            "{}\n{}\n{}\n{}\n",
            line(1),
            output(2),
            output(3),
            line(4)
        ));
        let j = read_journal_states(f.path()).unwrap();
        assert_eq!(j.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(j.valid_len, std::fs::metadata(f.path()).unwrap().len());
        // A missing output line is still a gap.
        let f = write(&format!("{}\n{}\n{}\n", line(1), output(3), line(4)));
        let e = read_journal_states(f.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "journal is corrupt at line 2: sequence jumps from 1 to 3"
        );
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_naming_the_line() {
        let f = write(&format!("{}\n{{garbage\n{}\n", line(1), line(2)));
        let e = read_journal(f.path()).unwrap_err();
        assert!(
            e.to_string().starts_with("journal is corrupt at line 2:"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_record_is_detected_by_its_sequence_number() {
        let f = write(&format!("{}\n{}\n{}\n", line(1), line(3), line(4)));
        let e = read_journal(f.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "journal is corrupt at line 2: sequence jumps from 1 to 3"
        );
    }
}
