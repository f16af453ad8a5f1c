//! The per-run journal: `runs/<run-id>/journal.ndjson`, one [`Record`] per line.
//!
//! It is the truth about a run. State changes are written and synced before
//! the engine acts on them; output lines are buffered and written at the next
//! state change or within [`OUTPUT_FLUSH`], so a log flood costs one write per
//! batch instead of one per line. State changes reach the disk by group
//! commit (`commit.rs`): one fsync covers every record written while the
//! previous one was in flight, and the engine waits for the disk before it
//! acts, not after every record.

mod amend;
mod commit;
mod encode;
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
use commit::Committer;
pub use commit::{Durable, LAZY, Publish};
pub use read::{
    JournalError, LineIndex, OutputSpan, ReadJournal, read_journal, read_journal_indexed,
    read_journal_states, replay,
};
pub use run_id::new_run_id;

pub const JOURNAL_FILE: &str = "journal.ndjson";
/// Longest time an output line may sit in memory before it reaches the file.
pub const OUTPUT_FLUSH: Duration = Duration::from_millis(100);
/// Output lines between two looks at the clock for [`OUTPUT_FLUSH`]. Lines
/// that stop short of it are flushed by the engine's own tick of
/// [`OUTPUT_FLUSH`] while a step runs, and by the step's end.
const CLOCK_EVERY: u32 = 64;

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
    /// The last record appended.
    last_seq: u64,
    /// Followers of the run read the file and wake when this moves (see
    /// [`JournalWriter::on_disk`]); the committer moves it.
    on_disk: tokio::sync::watch::Receiver<u64>,
    /// Where state records reach the disk, and records reach the clients.
    committer: Committer,
    last_flush: Instant,
    /// Output lines appended since the clock was last read for
    /// [`OUTPUT_FLUSH`]: a flood reads it once every [`CLOCK_EVERY`] lines.
    unclocked: u32,
    encoder: encode::Encoder,
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
        Self::around(path, file)
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
        Self::around(path, file)
    }

    fn around(path: PathBuf, file: File) -> std::io::Result<Self> {
        let (tell, on_disk) = tokio::sync::watch::channel(0);
        let committer = Committer::new(file.try_clone()?, tell)?;
        Ok(Self {
            path,
            mirror: None,
            out: BufWriter::with_capacity(256 * 1024, file),
            last_seq: 0,
            on_disk,
            committer,
            last_flush: Instant::now(),
            unclocked: 0,
            encoder: encode::Encoder::default(),
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
    /// merely buffered) with every state record up to it on disk, and its
    /// changes: a follower reading the file wakes on it instead of being
    /// sent every record.
    pub fn on_disk(&self) -> tokio::sync::watch::Receiver<u64> {
        self.on_disk.clone()
    }

    /// Gives the journal a second home (see [`Mirror`]) from the next record on.
    pub fn set_mirror(&mut self, mirror: Box<dyn Mirror>) {
        self.mirror = Some(mirror);
    }

    /// Who hears of each record once it is durable (state records) or
    /// written behind every state record before it (output lines), in
    /// order; see [`JournalWriter::publish`].
    pub fn set_publisher(&mut self, publish: Publish) {
        self.committer.set_publisher(publish);
    }

    /// Appends one record; a state change reaches the disk (and the mirror,
    /// when there is one) before this returns.
    pub fn append(&mut self, rec: &Record) -> std::io::Result<()> {
        self.append_as(rec, Durable::Now)
    }

    /// Appends one record; a state change reaches the disk as `when` says.
    /// Beside a mirror every state change is [`Durable::Now`]: the team
    /// store's copy is written in the engine's own order.
    pub fn append_as(&mut self, rec: &Record, when: Durable) -> std::io::Result<()> {
        // With a mirror, where the file ends before a state record: a record
        // the mirror refuses is taken back out, so the two homes agree.
        let before = match &self.mirror {
            Some(_) if rec.event.is_state_change() => {
                self.out.flush()?;
                Some(self.out.get_ref().metadata()?.len())
            }
            _ => None,
        };
        // The line is made once for both homes; without a mirror it goes
        // straight into the buffer (a flood costs no extra allocation).
        let line = match &self.mirror {
            Some(_) => {
                let line = self.encoder.line(rec)?;
                self.out.write_all(line.as_bytes())?;
                line
            }
            None => {
                self.encoder.write(&mut self.out, rec)?;
                String::new()
            }
        };
        self.out.write_all(b"\n")?;
        self.last_seq = rec.seq;
        if !rec.event.is_state_change() {
            if let Some(m) = self.mirror.as_mut() {
                m.output(rec, &line);
            }
            self.unclocked += 1;
            if self.unclocked >= CLOCK_EVERY {
                self.unclocked = 0;
                if self.last_flush.elapsed() >= OUTPUT_FLUSH {
                    self.flush()?;
                }
            }
            return Ok(());
        }
        self.out.flush()?;
        self.last_flush = Instant::now();
        let Some(m) = self.mirror.as_mut() else {
            if self.durable {
                return self.committer.written(rec.seq, when);
            }
            self.committer.settled_here(rec.seq);
            return Ok(());
        };
        // Beside a mirror, in line: the file, then the team store.
        self.committer.commit()?;
        if self.durable {
            self.out.get_ref().sync_data()?;
        }
        if let Err(why) = m.state(rec, &line) {
            // Not journaled in the team store, so not journaled at all:
            // the engine stops without acting on it, and a recovery
            // (here or elsewhere) starts from what both homes hold.
            if let Some(len) = before {
                let file = self.out.get_ref();
                file.set_len(len)?;
                file.sync_data()?;
            }
            self.last_seq = rec.seq.saturating_sub(1);
            return Err(std::io::Error::other(why));
        }
        // Followers (which read the file) see it once both homes hold it.
        self.committer.settled_here(rec.seq);
        Ok(())
    }

    /// Hands an appended record to the clients: at once when the disk holds
    /// every state record up to it, else when it does. Records go out in
    /// the order they are given, which must be the order appended.
    pub fn publish(&self, rec: Record) -> std::io::Result<()> {
        self.committer.publish(rec)
    }

    /// Waits until every state record appended so far is on disk (and has
    /// been published): what the engine does before it acts.
    pub fn commit(&self) -> std::io::Result<()> {
        self.committer.commit()
    }

    /// Writes buffered output lines to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.last_flush = Instant::now();
        self.committer.flushed(self.last_seq);
        Ok(())
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
        self.committer.flushed(self.last_seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Actor, Event, Record, Stream};

    /// A mirror that takes state records until told not to.
    struct Refusing(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Mirror for Refusing {
        fn state(&mut self, _: &Record, _: &str) -> Result<(), String> {
            if self.0.load(std::sync::atomic::Ordering::SeqCst) {
                Err("the lease lapsed".into())
            } else {
                Ok(())
            }
        }
        fn output(&mut self, _: &Record, _: &str) {}
    }

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            ts: jiff::Timestamp::now(),
            event,
        }
    }

    fn note(seq: u64, text: &str) -> Record {
        rec(
            seq,
            Event::NoteAdded {
                actor: Actor::engine(),
                text: text.into(),
            },
        )
    }

    #[test]
    fn a_state_record_the_mirror_refuses_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let mut w = JournalWriter::create(&run).unwrap();
        let refuse = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        w.set_mirror(Box::new(Refusing(refuse.clone())));
        w.append(&note(1, "kept")).unwrap();
        let out = rec(
            2,
            Event::Output {
                env: 0,
                step: 0,
                stream: Stream::Stdout,
                line: "a line before".into(),
                rollback: false,
            },
        );
        w.append(&out).unwrap();
        let seen = w.on_disk();
        refuse.store(true, std::sync::atomic::Ordering::SeqCst);
        let err = w.append(&note(3, "refused")).unwrap_err();
        assert!(err.to_string().contains("lease lapsed"), "{err}");
        let text = std::fs::read_to_string(run.join(JOURNAL_FILE)).unwrap();
        assert!(
            text.contains("kept") && text.contains("a line before"),
            "{text}"
        );
        assert!(!text.contains("refused"), "{text}");
        assert!(*seen.borrow() < 3, "followers were never told of it");
    }
}
