//! Stopping the line, as the store keeps it: deploy locks (a run's, held
//! while it promotes into a release × environment, or a person's manual
//! hold, `slate lock`), the runs queued for one, and ad-hoc freezes
//! (`slate freeze`). These live in the store, not in a run's directory, so
//! they hold across every run on the machine (and, with a team store,
//! across machines); each method is one transaction, so two runs asking for
//! one environment at the same instant cannot both get it.

use jiff::Timestamp;
use serde::Serialize;

use super::StoreError;

/// A manual hold without `--release` holds the environment for every release.
pub const ANY_RELEASE: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    /// Held by a run while it promotes into the environment.
    Run,
    /// A person's hold (`slate lock`): nobody promotes until it is lifted.
    Manual,
    /// Not a lock: a run queued for the environment before the asking one,
    /// which goes first (first come, first served). Never stored as a lock.
    Queued,
}

impl LockKind {
    pub fn key(self) -> &'static str {
        match self {
            LockKind::Run => "run",
            LockKind::Manual => "manual",
            LockKind::Queued => "queued",
        }
    }
}

/// One lock on a release × environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// The release, or [`ANY_RELEASE`].
    pub release: String,
    pub env: String,
    pub kind: LockKind,
    /// The run holding it (run locks).
    pub run_id: Option<String>,
    /// Who holds it: the run's starter, or the person who locked.
    pub holder: String,
    /// The holding engine's process (run locks), to tell a stale lock.
    pub pid: Option<u32>,
    pub reason: String,
    pub since: Timestamp,
    /// The machine (host and state directory) of the holding or queued
    /// run, in a team store; None in this machine's embedded store. Only
    /// that machine can tell whether the run's engine lives.
    pub origin: Option<String>,
}

/// A run waiting for a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiter {
    pub release: String,
    pub env: String,
    pub run_id: String,
    pub holder: String,
    pub pid: Option<u32>,
    pub since: Timestamp,
    /// As [`Lock::origin`].
    pub origin: Option<String>,
}

/// A run asking to promote into a release × environment.
#[derive(Debug, Clone)]
pub struct LockAsk {
    pub release: String,
    pub env: String,
    pub run_id: String,
    pub holder: String,
    pub pid: u32,
    /// Break-glass: people's holds do not stop this run (another run's lock still does).
    pub cross_holds: bool,
}

/// What asking for a lock gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The run holds the lock now (or already did).
    Granted,
    /// Others hold it: every lock in the way, manual holds first.
    Blocked(Vec<Lock>),
}

/// An ad-hoc freeze (`slate freeze ENV --until TIME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freeze {
    pub id: i64,
    /// An environment, or `*`.
    pub env: String,
    pub reason: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
    /// The time zone `--until` was written in, to say when it ends in it.
    pub tz: String,
    pub by: String,
    pub at: Timestamp,
}

/// The locks, queue and freezes of the store.
pub trait Locks {
    /// Takes `ask`'s run lock in one transaction, unless a manual hold on
    /// the environment (for this release or `*`) or another run's lock is
    /// in the way. A run asking again keeps its lock (its pid refreshed).
    /// Blocked and `queue`: the run is listed as waiting.
    fn acquire(&self, ask: &LockAsk, queue: bool) -> Result<Acquired, StoreError>;

    /// Takes `ask`'s run lock whatever is in the way: a recovered run is
    /// already inside the environment. Returns the other locks there.
    fn reclaim(&self, ask: &LockAsk) -> Result<Vec<Lock>, StoreError>;

    /// Releases a run's locks (on `env`, or all) and its places in the
    /// queue; returns the locks released.
    fn release_run(&self, run_id: &str, env: Option<&str>) -> Result<Vec<Lock>, StoreError>;

    /// Adds a manual hold; when one is already there it is returned, unchanged.
    fn hold(&self, lock: &Lock) -> Result<Option<Lock>, StoreError>;

    /// Removes the manual hold on `release` (or `*`) × `env`.
    fn lift(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError>;

    /// Removes a run's lock on `release` × `env`, whoever holds it (a stale
    /// lock whose engine died); returns it.
    fn break_run_lock(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError>;

    /// Every lock, by environment then release.
    fn locks(&self) -> Result<Vec<Lock>, StoreError>;

    /// Every waiting run, oldest first.
    fn lock_queue(&self) -> Result<Vec<Waiter>, StoreError>;

    /// Manual holds that stop `release` promoting into `env`.
    fn holds_on(&self, release: &str, env: &str) -> Result<Vec<Lock>, StoreError>;

    /// Records an ad-hoc freeze; returns its id.
    fn add_freeze(&self, freeze: &Freeze) -> Result<i64, StoreError>;

    /// Lifts the ad-hoc freezes on `env` (exactly that name, `*` included)
    /// not yet over; returns them.
    fn lift_freezes(&self, env: &str, by: &str, at: Timestamp) -> Result<Vec<Freeze>, StoreError>;

    /// Ad-hoc freezes not lifted and not over at `now`.
    fn freezes(&self, now: Timestamp) -> Result<Vec<Freeze>, StoreError>;
}
