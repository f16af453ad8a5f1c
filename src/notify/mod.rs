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
//! internal command ([`Instruction::RecordNotification`], accepted only
//! from [`VIA`]) so the engine, the only journal writer, journals it as
//! `NotificationSent` at its next wait point. The notifier holds the
//! engine only through a [`WeakHandle`], upgraded for the life of each
//! delivery, so the command channel still closes when every other client
//! has gone (linger and "paused with nobody left" behave as before). A
//! delivery that finds the channel closed goes through its [`Hold`]'s side
//! door instead and is journaled when the run ends.
//!
//! The notifier holds the end of the run ([`Hold`]): after `RunFinished`
//! the engine waits, bounded by [`settle_bound`], until the notifier has
//! seen the last record and has nothing in flight, so the completion notice
//! is journaled before the dossier is written.
//!
//! [`Instruction::RecordNotification`]: crate::engine::Instruction::RecordNotification

mod decide;
mod deliver;
mod payload;
mod task;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::engine::{Hold, Record, WeakHandle};
use crate::plan::Plan;

pub use decide::{Decider, Notice, status};
pub use deliver::{backoff, redact, worst_case};
pub use payload::body;

/// The `via` of the notifier's commands; the engine accepts
/// `RecordNotification` from nobody else.
pub const VIA: &str = crate::engine::command::NOTIFIER;

/// The longest the engine waits for the final deliveries, however slow the channels.
pub const MAX_SETTLE: Duration = Duration::from_secs(30);

/// What the notifier needs from the engine.
pub struct Setup {
    pub plan: Plan,
    /// Every record but output, subscribed before the first is emitted.
    pub records: broadcast::Receiver<Record>,
    /// The engine, held weakly (see the module notes).
    pub engine: WeakHandle,
    /// The end of the run, held for at most [`settle_bound`].
    pub hold: Hold,
    /// The run's journal, to catch up from if the broadcast runs ahead.
    pub journal: PathBuf,
}

pub use crate::engine::command::Delivered;

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
/// engine's record broadcast closes (the engine has exited).
pub fn spawn(setup: Setup) -> tokio::task::JoinHandle<()> {
    tokio::spawn(task::Notifier::new(setup).run())
}
