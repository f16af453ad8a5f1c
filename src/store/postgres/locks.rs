//! Locks, holds and freezes with a team store: kept, for now, in this
//! machine's embedded store. They bind the runs of this state directory,
//! exactly as without a team store, and not yet the runs of other
//! machines: putting them in PostgreSQL (one transaction per acquire, as in
//! SQLite, with the team's runs racing) is the next piece of team mode.
//! Saying so is better than a team store that silently locks nothing.

use jiff::Timestamp;

use super::PgStore;
use crate::store::StoreError;
use crate::store::locks::{Acquired, Freeze, Lock, LockAsk, Locks, Waiter};
use crate::store::sqlite::SqliteStore;

impl PgStore {
    pub(super) fn local(&self) -> Result<SqliteStore, StoreError> {
        let path = self.local.as_ref().ok_or_else(|| {
            StoreError::Other(
                "this team store was opened without a state directory, which keeps its locks"
                    .into(),
            )
        })?;
        SqliteStore::open(path).map(|(store, _)| store)
    }
}

impl Locks for PgStore {
    fn acquire(&self, ask: &LockAsk, queue: bool) -> Result<Acquired, StoreError> {
        self.local()?.acquire(ask, queue)
    }

    fn reclaim(&self, ask: &LockAsk) -> Result<Vec<Lock>, StoreError> {
        self.local()?.reclaim(ask)
    }

    fn release_run(&self, run_id: &str, env: Option<&str>) -> Result<Vec<Lock>, StoreError> {
        self.local()?.release_run(run_id, env)
    }

    fn hold(&self, lock: &Lock) -> Result<Option<Lock>, StoreError> {
        self.local()?.hold(lock)
    }

    fn lift(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError> {
        self.local()?.lift(release, env)
    }

    fn break_run_lock(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError> {
        self.local()?.break_run_lock(release, env)
    }

    fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        self.local()?.locks()
    }

    fn lock_queue(&self) -> Result<Vec<Waiter>, StoreError> {
        self.local()?.lock_queue()
    }

    fn holds_on(&self, release: &str, env: &str) -> Result<Vec<Lock>, StoreError> {
        self.local()?.holds_on(release, env)
    }

    fn add_freeze(&self, freeze: &Freeze) -> Result<i64, StoreError> {
        self.local()?.add_freeze(freeze)
    }

    fn lift_freezes(&self, env: &str, by: &str, at: Timestamp) -> Result<Vec<Freeze>, StoreError> {
        self.local()?.lift_freezes(env, by, at)
    }

    fn freezes(&self, now: Timestamp) -> Result<Vec<Freeze>, StoreError> {
        self.local()?.freezes(now)
    }
}
