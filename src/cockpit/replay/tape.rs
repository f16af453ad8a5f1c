//! The records a replay plays, without holding a flood in memory.
//!
//! A run's state records are few and kept parsed; its output lines can be
//! millions, so a tape read from a journal file keeps, per record, only
//! when it happened, where its line starts and, for output, which step
//! printed it (24 bytes), and reads a line back from the file when it is
//! shown. A tape made from records in memory (tests, small runs) keeps
//! them all.

use std::borrow::Cow;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::engine::event::Record;
use crate::journal::LineIndex;

pub struct Tape {
    /// The journal that output lines are read back from (None: all kept).
    file: Option<(PathBuf, std::fs::File)>,
    entries: Vec<LineIndex>,
    kept: Vec<Record>,
    /// The first record's sequence number: record `i` has `seq0 + i`.
    seq0: u64,
}

impl Tape {
    /// Every record kept in memory.
    pub fn from_records(records: Vec<Record>) -> Tape {
        let entries = records
            .iter()
            .enumerate()
            .map(|(i, r)| LineIndex::state(r.ts, 0, i))
            .collect();
        Tape {
            file: None,
            seq0: records.first().map_or(0, |r| r.seq),
            entries,
            kept: records,
        }
    }

    /// A tape over the journal at `path`: state records kept, output lines
    /// indexed. Errors and warnings are the journal reader's.
    pub fn open(path: &Path) -> Result<(Tape, Option<String>), crate::journal::JournalError> {
        let (read, entries) = crate::journal::read_journal_indexed(path)?;
        let file = std::fs::File::open(path)
            .map_err(|e| crate::journal::JournalError::Io(format!("{}: {e}", path.display())))?;
        let seq0 = read.records.first().map_or(0, |r| r.seq);
        Ok((
            Tape {
                file: Some((path.to_path_buf(), file)),
                entries,
                kept: read.records,
                seq0,
            },
            read.warning,
        ))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The journal file, when output is read back from one.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }

    pub fn ts(&self, i: usize) -> Option<Timestamp> {
        self.entries.get(i).map(LineIndex::ts)
    }

    pub fn seq(&self, i: usize) -> u64 {
        self.seq0 + i as u64
    }

    /// The record at `i`, if it is a state record (kept parsed).
    pub fn kept(&self, i: usize) -> Option<&Record> {
        let e = self.entries.get(i)?;
        (e.kept != LineIndex::OUTPUT).then(|| &self.kept[e.kept as usize])
    }

    /// `(env, step)` of the output line at `i`; None for a state record or
    /// any record of a tape kept in memory.
    pub fn output_of(&self, i: usize) -> Option<(usize, usize)> {
        let e = self.entries.get(i)?;
        (e.kept == LineIndex::OUTPUT).then_some((usize::from(e.env), usize::from(e.step)))
    }

    /// The record at `i`, read back from the journal when it is output.
    pub fn get(&self, i: usize) -> Option<Cow<'_, Record>> {
        if let Some(r) = self.kept(i) {
            return Some(Cow::Borrowed(r));
        }
        let e = self.entries.get(i)?;
        let (_, file) = self.file.as_ref()?;
        let end = self
            .entries
            .get(i + 1)
            .map(|n| n.offset)
            .unwrap_or(u64::MAX);
        read_line(file, e.offset, end).map(Cow::Owned)
    }

    /// The state records, in order: whether the run finished is among them.
    pub fn states(&self) -> &[Record] {
        &self.kept
    }
}

/// One line of the journal from `offset`, up to its newline (never past
/// `end`, where the next record starts), parsed.
fn read_line(file: &std::fs::File, offset: u64, end: u64) -> Option<Record> {
    // Output lines are bounded by the engine's line cap; read in chunks
    // until the newline for anything longer.
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let mut at = offset;
    loop {
        let want = chunk
            .len()
            .min(usize::try_from(end.saturating_sub(at)).unwrap_or(usize::MAX));
        if want == 0 {
            break;
        }
        let n = file.read_at(&mut chunk[..want], at).ok()?;
        if n == 0 {
            break;
        }
        if let Some(nl) = memchr::memchr(b'\n', &chunk[..n]) {
            buf.extend_from_slice(&chunk[..nl]);
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        at += n as u64;
    }
    serde_json::from_slice(&buf).ok()
}
