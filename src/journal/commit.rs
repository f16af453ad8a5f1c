//! Group commit: state records reach the disk on a thread of their own, one
//! fsync covering every record written while the previous one was in flight.
//!
//! The engine writes each record to the file itself (a `write`, into the
//! page cache) and says how soon it must be on disk ([`Durable`]). Before it
//! acts on a record (starts a process, answers a client) it waits for the
//! disk ([`Committer::commit`]), so the rule that a record is durable before
//! the engine acts on it holds; what it may let ride (a process's start
//! while the process runs, a step's end until the next step's start) costs
//! no wait and, mostly, no fsync of its own.
//!
//! Clients hear of records only once they are durable: records are handed
//! to the publisher in order, a state record when its fsync is done and the
//! output lines behind it with it.

use std::collections::VecDeque;
use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::event::Record;

/// How soon a state record must be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durable {
    /// Before `append` returns: the engine acts on it next.
    Now,
    /// Its fsync starts at once, but nobody waits for it.
    Soon,
    /// With the next record that is wanted on disk, or within [`LAZY`]:
    /// the engine's next act is to wait (for the process it started), or
    /// another record follows before it acts (a step's end, then the next
    /// step's start), and one fsync covers them.
    Lazy,
}

/// Longest a [`Durable::Lazy`] record waits for company before its own fsync.
pub const LAZY: Duration = Duration::from_millis(2);

/// Records written but not yet published, at most: past it the writer waits
/// for the disk (a flood behind a slow fsync must not grow memory).
const QUEUE_MAX: usize = 4_096;

/// Hands a durable record to the run's clients.
pub type Publish = Box<dyn Fn(Record) + Send + Sync>;

pub(super) struct Committer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// [`LAZY`], but for tests that must see a lazy record wait.
    lazy: Duration,
    publish: OnceLock<Publish>,
    /// `State::queue`'s length, set with the lock held once the records
    /// taken from it are published: while it is 0 nothing waits to be
    /// published, and an output line goes out without taking the lock (a
    /// flood pays nothing for the group commit).
    queued: AtomicUsize,
    state: Mutex<State>,
    /// Wakes the sync thread.
    work: Condvar,
    /// Wakes writers waiting for the disk.
    done: Condvar,
}

struct State {
    /// The last state record written to the file.
    written: u64,
    /// State records up to this one are wanted on disk now.
    wanted: u64,
    /// State records up to this one are on disk.
    synced: u64,
    /// When the oldest state record that is neither wanted nor synced was
    /// written (a lazy one waiting for company).
    lazy_since: Option<Instant>,
    /// The last record (of any kind) in the file.
    in_file: u64,
    /// Records not yet published, in order; the first is always a state
    /// record waiting for its fsync.
    queue: VecDeque<Record>,
    on_disk: tokio::sync::watch::Sender<u64>,
    /// An fsync failed: the journal can no longer promise anything.
    failed: Option<String>,
    closing: bool,
    /// fsyncs done, for the tests of the grouping.
    #[cfg(test)]
    syncs: u64,
}

impl State {
    /// Tells followers of the file how far it holds what it should: up to
    /// the record before the first one still waiting for the disk.
    fn tell_followers(&self) {
        let upto = match self.queue.front() {
            Some(r) => self.in_file.min(r.seq.saturating_sub(1)),
            None => self.in_file,
        };
        self.on_disk
            .send_if_modified(|s| (upto > *s).then(|| *s = upto).is_some());
    }

    /// Publishes what the disk now holds: queued records up to the first
    /// state record not yet synced.
    fn publish_synced(&mut self, shared: &Shared) {
        while let Some(r) = self.queue.front() {
            if r.event.is_state_change() && r.seq > self.synced {
                break;
            }
            let r = self.queue.pop_front().expect("a front record");
            shared.publish(r);
        }
        shared.queued.store(self.queue.len(), Ordering::Release);
    }
}

impl Shared {
    fn publish(&self, rec: Record) {
        if let Some(p) = self.publish.get() {
            p(rec);
        }
    }
}

impl Committer {
    pub(super) fn new(
        file: File,
        on_disk: tokio::sync::watch::Sender<u64>,
    ) -> std::io::Result<Self> {
        Self::with_lazy(file, on_disk, LAZY)
    }

    fn with_lazy(
        file: File,
        on_disk: tokio::sync::watch::Sender<u64>,
        lazy: Duration,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            lazy,
            publish: OnceLock::new(),
            queued: AtomicUsize::new(0),
            state: Mutex::new(State {
                written: 0,
                wanted: 0,
                synced: 0,
                lazy_since: None,
                in_file: 0,
                queue: VecDeque::new(),
                on_disk,
                failed: None,
                closing: false,
                #[cfg(test)]
                syncs: 0,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || sync_loop(&s, &file))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while publishing must not take the journal with it.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets who hears of records; the first publisher stays.
    pub(super) fn set_publisher(&self, publish: Publish) {
        let _ = self.shared.publish.set(publish);
    }

    /// A state record `seq` is in the file; it must be on disk as `when` says.
    pub(super) fn written(&self, seq: u64, when: Durable) -> std::io::Result<()> {
        let mut st = self.lock();
        st.written = seq;
        st.in_file = seq;
        match when {
            Durable::Lazy => {
                st.lazy_since.get_or_insert_with(Instant::now);
            }
            Durable::Soon | Durable::Now => st.wanted = seq,
        }
        self.shared.work.notify_one();
        if when == Durable::Now {
            return self.wait(st, seq);
        }
        st.failed.as_ref().map_or(Ok(()), |e| Err(failed(e)))
    }

    /// A state record `seq` is as durable as this journal makes it, without
    /// this thread: fsynced by the writer itself (beside a mirror), or not
    /// at all (durability turned off).
    pub(super) fn settled_here(&self, seq: u64) {
        let mut st = self.lock();
        st.written = st.written.max(seq);
        st.synced = st.synced.max(seq);
        st.in_file = st.in_file.max(seq);
        st.publish_synced(&self.shared);
        st.tell_followers();
    }

    /// fsyncs done so far by the sync thread.
    #[cfg(test)]
    fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Records up to `seq` (output lines) are in the file.
    pub(super) fn flushed(&self, seq: u64) {
        let mut st = self.lock();
        st.in_file = st.in_file.max(seq);
        st.tell_followers();
    }

    /// Every state record written so far is on disk (and published).
    pub(super) fn commit(&self) -> std::io::Result<()> {
        let mut st = self.lock();
        let seq = st.written;
        if st.synced >= seq {
            return st.failed.as_ref().map_or(Ok(()), |e| Err(failed(e)));
        }
        st.wanted = st.wanted.max(seq);
        self.shared.work.notify_one();
        self.wait(st, seq)
    }

    fn wait(&self, mut st: MutexGuard<'_, State>, seq: u64) -> std::io::Result<()> {
        while st.synced < seq && st.failed.is_none() {
            st = self
                .shared
                .done
                .wait(st)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        st.failed.as_ref().map_or(Ok(()), |e| Err(failed(e)))
    }

    /// Hands `rec` to the clients now if the disk holds everything before
    /// it, else queues it behind the record it waits for.
    pub(super) fn publish(&self, rec: Record) -> std::io::Result<()> {
        let output = !rec.event.is_state_change();
        // Only this (the writer's) thread adds to the queue, so an empty
        // one stays empty until it does.
        if output && self.shared.queued.load(Ordering::Acquire) == 0 {
            self.shared.publish(rec);
            return Ok(());
        }
        let mut st = self.lock();
        if st.queue.is_empty() && (output || rec.seq <= st.synced) {
            self.shared.publish(rec);
            return Ok(());
        }
        st.queue.push_back(rec);
        self.shared.queued.store(st.queue.len(), Ordering::Release);
        if st.queue.len() < QUEUE_MAX {
            return Ok(());
        }
        // The disk is slow and output keeps coming: wait for it rather than
        // hold an unbounded backlog.
        let seq = st.written;
        st.wanted = st.wanted.max(seq);
        self.shared.work.notify_one();
        self.wait(st, seq)
    }
}

fn failed(why: &str) -> std::io::Error {
    std::io::Error::other(format!("an earlier fsync failed: {why}"))
}

fn sync_loop(shared: &Shared, file: &File) {
    let lock = || {
        shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let mut st = lock();
    loop {
        if st.failed.is_some() {
            // Writers see the failure; nothing more can be promised.
            shared.done.notify_all();
            return;
        }
        let pending = st.written > st.synced;
        // A pending record that is neither wanted nor lazy cannot be, but
        // if it were, syncing it is the safe reading.
        let due = pending
            && (st.wanted > st.synced
                || st.closing
                || st.lazy_since.is_none_or(|t| t.elapsed() >= shared.lazy));
        if !due {
            if st.closing {
                return;
            }
            st = match (pending, st.lazy_since) {
                (true, Some(since)) => {
                    let left = shared.lazy.saturating_sub(since.elapsed());
                    shared
                        .work
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                _ => shared.work.wait(st).unwrap_or_else(|p| p.into_inner()),
            };
            continue;
        }
        // Everything written so far: records that arrive during this fsync
        // wait for the next one, which covers all of them.
        let target = st.written;
        st.lazy_since = None;
        drop(st);
        let result = file.sync_data();
        st = lock();
        match result {
            Ok(()) => {
                #[cfg(test)]
                {
                    st.syncs += 1;
                }
                st.synced = st.synced.max(target);
                // Lazy records written during the fsync wait from now.
                if st.written > target {
                    st.lazy_since.get_or_insert_with(Instant::now);
                }
                st.publish_synced(shared);
                st.tell_followers();
            }
            Err(e) => st.failed = Some(e.to_string()),
        }
        shared.done.notify_all();
    }
}

impl Drop for Committer {
    /// Whatever was written reaches the disk and the clients before the
    /// journal closes.
    fn drop(&mut self) {
        self.lock().closing = true;
        self.shared.work.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut st = self.lock();
        st.publish_synced(&self.shared);
        st.tell_followers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Actor, Event, Stream};
    use std::io::Write;

    /// A committer over a real file, and what its clients have heard.
    struct Rig {
        _dir: tempfile::TempDir,
        file: File,
        c: Committer,
        heard: Arc<Mutex<Vec<u64>>>,
        on_disk: tokio::sync::watch::Receiver<u64>,
        seq: u64,
    }

    impl Rig {
        fn new(lazy: Duration) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let file = File::create(dir.path().join("journal.ndjson")).unwrap();
            let (tell, on_disk) = tokio::sync::watch::channel(0);
            let c = Committer::with_lazy(file.try_clone().unwrap(), tell, lazy).unwrap();
            let heard = Arc::new(Mutex::new(Vec::new()));
            let h = heard.clone();
            c.set_publisher(Box::new(move |r: Record| h.lock().unwrap().push(r.seq)));
            Self {
                _dir: dir,
                file,
                c,
                heard,
                on_disk,
                seq: 0,
            }
        }

        /// Writes a record to the file, tells the committer, publishes it.
        fn append(&mut self, state: bool, when: Durable) {
            self.seq += 1;
            let event = if state {
                Event::NoteAdded {
                    actor: Actor::engine(),
                    text: format!("note {}", self.seq),
                }
            } else {
                Event::Output {
                    env: 0,
                    step: 0,
                    stream: Stream::Stdout,
                    line: format!("line {}", self.seq),
                    rollback: false,
                }
            };
            let rec = Record {
                seq: self.seq,
                ts: jiff::Timestamp::now(),
                event,
            };
            writeln!(self.file, "{}", serde_json::to_string(&rec).unwrap()).unwrap();
            if state {
                self.c.written(rec.seq, when).unwrap();
            } else {
                self.c.flushed(rec.seq);
            }
            self.c.publish(rec).unwrap();
        }

        fn heard(&self) -> Vec<u64> {
            self.heard.lock().unwrap().clone()
        }
    }

    /// Long enough that no lazy record is synced by its timer in a test.
    const NEVER: Duration = Duration::from_secs(600);

    #[test]
    fn clients_hear_of_records_only_once_the_disk_holds_them_and_in_order() {
        let mut rig = Rig::new(NEVER);
        rig.append(true, Durable::Lazy);
        rig.append(false, Durable::Lazy);
        rig.append(false, Durable::Lazy);
        assert_eq!(rig.heard(), Vec::<u64>::new(), "nothing is on disk yet");
        assert_eq!(
            *rig.on_disk.borrow(),
            0,
            "followers wait for the state record"
        );
        rig.c.commit().unwrap();
        assert_eq!(rig.heard(), vec![1, 2, 3]);
        assert_eq!(*rig.on_disk.borrow(), 3);
        // With nothing waiting, an output line is heard at once.
        rig.append(false, Durable::Lazy);
        assert_eq!(rig.heard(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn one_fsync_covers_lazy_records_and_the_one_the_engine_waits_for() {
        let mut rig = Rig::new(NEVER);
        for _ in 0..50 {
            rig.append(true, Durable::Lazy);
            rig.append(false, Durable::Lazy);
        }
        rig.append(true, Durable::Now);
        assert_eq!(rig.c.syncs(), 1, "one fsync for 51 state records");
        assert_eq!(rig.heard(), (1..=101).collect::<Vec<_>>());
        // Waiting again for what is already on disk costs nothing.
        rig.c.commit().unwrap();
        assert_eq!(rig.c.syncs(), 1);
    }

    /// Waits (bounded) until the clients have heard of `n` records.
    fn until_heard(rig: &Rig, n: usize) -> Vec<u64> {
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            let heard = rig.heard();
            if heard.len() >= n || Instant::now() > give_up {
                return heard;
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_lazy_record_with_nothing_after_it_still_reaches_the_disk() {
        let mut rig = Rig::new(LAZY);
        rig.append(true, Durable::Lazy);
        rig.append(false, Durable::Lazy);
        assert_eq!(until_heard(&rig, 2), vec![1, 2]);
        assert_eq!(rig.c.syncs(), 1);
    }

    #[test]
    fn a_soon_record_reaches_the_disk_without_anyone_waiting() {
        let mut rig = Rig::new(NEVER);
        rig.append(true, Durable::Soon);
        assert_eq!(until_heard(&rig, 1), vec![1]);
        assert!(rig.c.syncs() >= 1);
    }

    #[test]
    fn closing_the_journal_syncs_and_publishes_what_was_let_ride() {
        let mut rig = Rig::new(NEVER);
        rig.append(true, Durable::Lazy);
        rig.append(false, Durable::Lazy);
        let heard = rig.heard.clone();
        drop(rig.c);
        assert_eq!(*heard.lock().unwrap(), vec![1, 2]);
    }

    #[test]
    fn a_flood_behind_a_record_waiting_for_the_disk_is_bounded() {
        let mut rig = Rig::new(NEVER);
        rig.append(true, Durable::Lazy);
        for _ in 0..QUEUE_MAX + 10 {
            rig.append(false, Durable::Lazy);
        }
        // The queue reached its bound, so the writer waited for the disk
        // instead of holding more.
        assert!(rig.c.syncs() >= 1);
        assert!(rig.c.lock().queue.is_empty());
        assert_eq!(rig.heard().len(), QUEUE_MAX + 11);
    }
}
