//! Webhook notifications: the plan's `[[channels]]` hear about the run.
//!
//! The notifier is a client of the engine like any other. It subscribes to
//! the record broadcast, keeps its own [`RunState`](crate::engine::RunState)
//! replica, decides what each record calls for (`decide`), renders it for
//! each listening channel (`payload`) and posts it (`deliver`). Deliveries
//! run concurrently, each bounded by its channel's timeout and retries, so a
//! slow or dead webhook never delays another, nor the engine, and a failing
//! one never fails the release.
//!
//! Every delivery, delivered or given up on, goes back to the engine as an
//! internal command ([`Action::RecordNotification`], accepted only from
//! [`VIA`]) so the engine, the only journal writer, journals it as
//! `NotificationSent` at its next wait point. The notifier holds the
//! command channel only through a weak sender, upgraded for the life of each
//! delivery, so the channel still closes when every client has gone (linger
//! and "paused with nobody left" behave as before). A delivery that finds
//! the channel closed is handed over the [`Link`] instead and journaled when
//! the run ends.
//!
//! At the end of a run the engine waits, bounded by [`Link::bound`], until
//! the notifier has seen `RunFinished` and has nothing in flight, so the
//! completion notice is journaled before the dossier is written.

mod decide;
mod deliver;
mod payload;
mod task;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};

use crate::engine::{Command, Record};
use crate::plan::Plan;

pub use decide::{Decider, Notice, status};
pub use deliver::{backoff, redact, worst_case};
pub use payload::body;

/// The `via` of the notifier's commands; the engine accepts
/// `RecordNotification` from nobody else.
pub const VIA: &str = "notifier";

/// The longest the engine waits for the final deliveries, however slow the channels.
pub const MAX_SETTLE: Duration = Duration::from_secs(30);

/// Deliveries handed over the link when the command channel is closed.
const ORPHANS: usize = 256;

/// What the notifier needs from the engine.
pub struct Setup {
    pub plan: Plan,
    /// Subscribed before the first record is emitted.
    pub records: broadcast::Receiver<Record>,
    /// The engine's command channel, held weakly (see the module notes).
    pub commands: mpsc::WeakSender<Command>,
    /// The run's journal, to catch up from if the broadcast runs ahead.
    pub journal: PathBuf,
}

pub use crate::engine::command::Delivered;

/// How far the notifier has got: the last record it handled and the
/// deliveries not yet journaled (or handed over).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub seen: u64,
    pub in_flight: usize,
}

/// The engine's end of the notifier.
pub struct Link {
    pub progress: watch::Receiver<Progress>,
    /// Deliveries that could not be sent as commands (every client gone).
    pub orphans: mpsc::Receiver<Delivered>,
    /// How long the end of a run may wait for the final deliveries.
    pub bound: Duration,
}

impl Link {
    /// The notifier has handled record `seq` and everything it called for is journaled.
    pub fn settled(&self, seq: u64) -> bool {
        let p = *self.progress.borrow();
        p.seen >= seq && p.in_flight == 0
    }
}

/// The longest wait for every channel's final delivery: the slowest
/// channel's worst case, plus a second to journal it, capped at [`MAX_SETTLE`].
pub fn settle_bound(plan: &Plan) -> Duration {
    plan.channels
        .iter()
        .map(worst_case)
        .max()
        .map(|d| (d + Duration::from_secs(1)).min(MAX_SETTLE))
        .unwrap_or_default()
}

/// Starts the notifier on the current runtime. The task ends when the
/// engine drops its [`Link`] or the broadcast closes.
pub fn spawn(setup: Setup) -> Link {
    let (progress_tx, progress) = watch::channel(Progress::default());
    let (orphans_tx, orphans) = mpsc::channel(ORPHANS);
    let bound = settle_bound(&setup.plan);
    tokio::spawn(task::Notifier::new(setup, progress_tx, orphans_tx).run());
    Link {
        progress,
        orphans,
        bound,
    }
}
