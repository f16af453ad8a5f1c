//! Clients that must see the end of a run before the engine moves on.
//!
//! Some clients have work to finish once a run ends: the notifier posts the
//! completion notice and hands each delivery back to be journaled; the
//! record writer renders the dossier from the journal, which should already
//! hold those deliveries. The engine starts none of them and knows none by
//! name. A client that needs the engine to wait asks its handle for a
//! [`Hold`] and reports, record by record, how far it has got
//! ([`Hold::done`]). After every `RunFinished`, and before it exits, the
//! engine *settles*: it waits until every hold has handled the last record
//! (or dropped its hold), bounded by the longest bound any of them asked
//! for, and meanwhile journals what clients report (notifications) but
//! keeps other commands queued for after.
//!
//! A hold also carries a side door for commands ([`Hold::send_late`]): a
//! client whose weak handle can no longer reach the engine (every other
//! client has gone, so the command channel is closed) leaves them there,
//! and the engine takes them at its next settle. The command channel
//! itself still closes when the last client goes, which is how the engine
//! learns that nobody is left to answer a gate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::Command;

/// Late commands queued for the next settle, at most.
const LATE: usize = 256;

/// A client's claim on the end of the run. Dropping it releases the claim.
pub struct Hold {
    seen: Arc<AtomicU64>,
    wake: Arc<Notify>,
    late: mpsc::Sender<Command>,
}

impl Hold {
    /// Everything up to and including record `seq` is handled.
    pub fn done(&self, seq: u64) {
        self.seen.fetch_max(seq, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Queues a command for the engine's next settle (for a client whose
    /// handle can no longer reach it); `false` when the queue is full.
    pub fn send_late(&self, cmd: Command) -> bool {
        self.late.try_send(cmd).is_ok()
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // A client that has gone holds nothing up.
        self.seen.store(u64::MAX, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// One registered hold, as the engine sees it.
struct Held {
    seen: Arc<AtomicU64>,
    bound: Duration,
}

/// The handle's side: where new holds are registered.
#[derive(Clone)]
pub(super) struct Registry {
    held: Arc<Mutex<Vec<Held>>>,
    wake: Arc<Notify>,
    late: mpsc::Sender<Command>,
}

impl Registry {
    pub(super) fn hold(&self, bound: Duration) -> Hold {
        let seen = Arc::new(AtomicU64::new(0));
        if let Ok(mut held) = self.held.lock() {
            held.push(Held {
                seen: seen.clone(),
                bound,
            });
        }
        Hold {
            seen,
            wake: self.wake.clone(),
            late: self.late.clone(),
        }
    }
}

/// The engine's side: the holds and the late commands.
pub(super) struct Holds {
    registry: Registry,
    pub(super) late: mpsc::Receiver<Command>,
}

impl Holds {
    pub(super) fn new() -> Holds {
        let (late_tx, late) = mpsc::channel(LATE);
        Holds {
            registry: Registry {
                held: Arc::new(Mutex::new(Vec::new())),
                wake: Arc::new(Notify::new()),
                late: late_tx,
            },
            late,
        }
    }

    pub(super) fn registry(&self) -> Registry {
        self.registry.clone()
    }

    /// The longest any hold asked to be waited for; `None` without holds
    /// (released ones are forgotten).
    pub(super) fn bound(&self) -> Option<Duration> {
        let mut held = self.registry.held.lock().ok()?;
        held.retain(|h| h.seen.load(Ordering::SeqCst) != u64::MAX);
        held.iter().map(|h| h.bound).max()
    }

    /// Every hold has handled record `seq`.
    pub(super) fn settled(&self, seq: u64) -> bool {
        self.registry.held.lock().map_or(true, |held| {
            held.iter().all(|h| h.seen.load(Ordering::SeqCst) >= seq)
        })
    }

    /// What wakes when any hold reports (or is dropped).
    pub(super) fn waker(&self) -> Arc<Notify> {
        self.registry.wake.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_settle_when_done_or_dropped() {
        let holds = Holds::new();
        assert_eq!(holds.bound(), None);
        assert!(holds.settled(5));
        let reg = holds.registry();
        let a = reg.hold(Duration::from_secs(2));
        let b = reg.hold(Duration::from_secs(9));
        assert_eq!(holds.bound(), Some(Duration::from_secs(9)));
        assert!(!holds.settled(5));
        a.done(7);
        assert!(!holds.settled(5), "b has not reported");
        b.done(4);
        assert!(!holds.settled(5));
        // A report wakes a waiting engine, even one that starts waiting later.
        tokio::time::timeout(Duration::from_secs(1), holds.waker().notified())
            .await
            .expect("woken");
        drop(b);
        assert!(holds.settled(5), "a dropped hold holds nothing up");
        assert_eq!(holds.bound(), Some(Duration::from_secs(2)));
        a.done(3);
        assert!(holds.settled(7), "what was done stays done");
    }
}
