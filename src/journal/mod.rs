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

pub struct JournalWriter {
    path: PathBuf,
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

    /// Appends one record; state changes reach the disk before this returns.
    pub fn append(&mut self, rec: &Record) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, rec)?;
        self.out.write_all(b"\n")?;
        self.last_seq = rec.seq;
        if rec.event.is_state_change() {
            self.out.flush()?;
            if self.durable {
                self.out.get_ref().sync_data()?;
            }
            self.last_flush = Instant::now();
            self.written();
        } else if self.last_flush.elapsed() >= OUTPUT_FLUSH {
            self.flush()?;
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
