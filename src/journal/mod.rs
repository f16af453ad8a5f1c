//! The per-run journal: `runs/<run-id>/journal.ndjson`, one [`Record`] per line.
//!
//! It is the truth about a run. State changes are written and synced before
//! the engine acts on them; output lines are buffered and written at the next
//! state change or within [`OUTPUT_FLUSH`], so a log flood costs one write per
//! batch instead of one per line.

mod amend;
pub mod head;
mod read;
mod run_id;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::event::Record;

pub use amend::append_after;
pub use read::{
    JournalError, LineIndex, OutputSpan, ReadJournal, read_journal, read_journal_indexed,
    read_journal_states, replay,
};
pub use run_id::new_run_id;

pub const JOURNAL_FILE: &str = "journal.ndjson";
/// Longest time an output line may sit in memory before it reaches the file.
pub const OUTPUT_FLUSH: Duration = Duration::from_millis(100);

/// A second home for a run's journal (the team store's events table): a
/// state record is there before the engine acts on it, as it is on disk;
/// output lines go through a bounded buffer and may be elided there under
/// pressure, never in the file.
pub trait Mirror: Send + Sync {
    /// Returns once `rec` (a state record) is committed; an error means the
    /// engine must not act on it (the mirror is gone, or the run's lease
    /// was lost to another engine).
    fn state(&mut self, rec: &Record, line: &str) -> Result<(), String>;
    /// Queues an output line; never waits beyond a bounded buffer.
    fn output(&mut self, rec: &Record, line: &str);
}

pub struct JournalWriter {
    path: PathBuf,
    /// The team store's copy, when the run has one.
    mirror: Option<Box<dyn Mirror>>,
    out: BufWriter<File>,
    /// The last record appended, and the last one known to be in the file:
    /// followers of the run read the file and wake when this moves.
    last_seq: u64,
    on_disk: tokio::sync::watch::Sender<u64>,
    last_flush: Instant,
    /// fsync state changes; tests and benchmarks of the batching may turn it off.
    durable: bool,
}

impl JournalWriter {
    /// Creates the run directory (owner-only) and a new journal in it.
    pub fn create(run_dir: &Path) -> std::io::Result<Self> {
        crate::paths::ensure_private_dir(run_dir)?;
        let path = run_dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(&path)?;
        Ok(Self {
            path,
            mirror: None,
            out: BufWriter::with_capacity(256 * 1024, file),
            last_seq: 0,
            on_disk: tokio::sync::watch::Sender::new(0),
            last_flush: Instant::now(),
            durable: true,
        })
    }

    /// Opens an existing journal to go on appending (crash recovery). A torn
    /// tail past `valid_len` is cut off first, so the next record starts on a
    /// line of its own.
    pub fn reopen(run_dir: &Path, valid_len: u64) -> std::io::Result<Self> {
        let path = run_dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .append(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)?;
        if file.metadata()?.len() > valid_len {
            file.set_len(valid_len)?;
            file.sync_data()?;
        }
        Ok(Self {
            path,
            mirror: None,
            out: BufWriter::with_capacity(256 * 1024, file),
            last_seq: 0,
            on_disk: tokio::sync::watch::Sender::new(0),
            last_flush: Instant::now(),
            durable: true,
        })
    }

    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number of the last record written to the file (not
    /// merely buffered), and its changes: a follower reading the file wakes
    /// on it instead of being sent every record.
    pub fn on_disk(&self) -> tokio::sync::watch::Receiver<u64> {
        self.on_disk.subscribe()
    }

    /// Gives the journal a second home (see [`Mirror`]) from the next record on.
    pub fn set_mirror(&mut self, mirror: Box<dyn Mirror>) {
        self.mirror = Some(mirror);
    }

    /// Appends one record; state changes reach the disk (and the mirror,
    /// when there is one) before this returns.
    pub fn append(&mut self, rec: &Record) -> std::io::Result<()> {
        // The line is made once for both homes; without a mirror it goes
        // straight into the buffer (a flood costs no extra allocation).
        let line = match &self.mirror {
            Some(_) => {
                let line = serde_json::to_string(rec)?;
                self.out.write_all(line.as_bytes())?;
                line
            }
            None => {
                serde_json::to_writer(&mut self.out, rec)?;
                String::new()
            }
        };
        self.out.write_all(b"\n")?;
        self.last_seq = rec.seq;
        if rec.event.is_state_change() {
            self.out.flush()?;
            if self.durable {
                self.out.get_ref().sync_data()?;
            }
            self.last_flush = Instant::now();
            self.written();
            if let Some(m) = self.mirror.as_mut() {
                m.state(rec, &line).map_err(std::io::Error::other)?;
            }
        } else {
            if let Some(m) = self.mirror.as_mut() {
                m.output(rec, &line);
            }
            if self.last_flush.elapsed() >= OUTPUT_FLUSH {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes buffered output lines to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.last_flush = Instant::now();
        self.written();
        Ok(())
    }

    fn written(&self) {
        let seq = self.last_seq;
        self.on_disk
            .send_if_modified(|s| std::mem::replace(s, seq) != seq);
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
