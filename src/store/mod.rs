//! The store: an index over the journals — one summary per run (history,
//! memory, status) and the release ledger (what is live where, and what
//! was before) — so that nothing which asks about many runs reads every
//! journal. Journals stay the truth: everything here is derived from them
//! and `slate store rebuild` derives it again ([`rebuild`]).
//!
//! [`Store`] is what the rest of Slate sees; [`sqlite::SqliteStore`] is the
//! embedded default (`<state>/store.db`). A team store (PostgreSQL) and the
//! locks, freezes and delivery statistics of later work extend the trait;
//! nothing SQL-specific leaves the implementation.

pub mod ledger;
pub mod locks;
pub mod pins;
pub mod postgres;
pub mod rebuild;
mod schema;
mod sql;
pub mod sqlite;
pub mod sync;

use std::path::Path;

pub use ledger::{Deployment, Left, Reach};
pub use rebuild::rebuild;
pub use sync::{Listing, list_runs, load_runs, record_state};

use crate::runs::{Outcome, RunSummary};

/// The store's file in the state directory.
pub const STORE_FILE: &str = "store.db";

/// What a run contributes to the store: its summary and its ledger rows.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub summary: RunSummary,
    /// The journal's last state record this was derived from: an older
    /// derivation never replaces a newer one (a rebuild racing a live run).
    pub last_seq: u64,
    pub deployments: Vec<Deployment>,
    /// The pins it set or lifted (`pins::events`).
    pub pins: Vec<pins::PinEvent>,
    /// Whether the run's engine was alive when this was derived (it may
    /// linger after the run, for a late rollback).
    pub engine_alive: bool,
}

/// Which runs to list, newest first: filters, and where the page starts
/// (keyset paging on the run id, the order runs are listed in, so a page
/// anywhere in 100,000 runs costs what the first one does).
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub release: Option<String>,
    /// Only runs that ended this way.
    pub outcome: Option<Outcome>,
    /// Only runs with this text in one of the fields `RunSummary::matches`
    /// looks at, ignoring case (empty: every run). Wildcards are not
    /// wildcards: `%` finds a `%`.
    pub text: String,
    pub page: Page,
    /// At most this many (None: all).
    pub limit: Option<usize>,
}

/// Where a page of runs starts. Pages are always newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Page {
    /// The newest runs.
    #[default]
    Newest,
    /// The oldest runs (the end of the list).
    Oldest,
    /// The runs just older than this run id.
    OlderThan(String),
    /// This run and the runs just older than it.
    From(String),
    /// The runs just newer than this run id.
    NewerThan(String),
}

impl RunQuery {
    /// Whether a run passes the filters (not the page), as the stores'
    /// queries decide it.
    pub fn admits(&self, r: &RunSummary) -> bool {
        self.release.as_ref().is_none_or(|n| &r.release == n)
            && self.outcome.is_none_or(|o| r.outcome == o)
            && r.matches(&self.text)
    }

    /// `RunQuery`'s meaning over runs in memory, newest first (the
    /// journals, read when there is no usable store).
    pub fn select(&self, runs: &[RunSummary]) -> Vec<RunSummary> {
        self.matching(runs).into_iter().cloned().collect()
    }

    /// [`RunQuery::select`] without copying the runs.
    pub fn matching<'a>(&self, runs: &'a [RunSummary]) -> Vec<&'a RunSummary> {
        let limit = self.limit.unwrap_or(usize::MAX);
        let admitted = runs.iter().filter(|r| self.admits(r));
        let oldest_first = matches!(self.page, Page::Oldest | Page::NewerThan(_));
        let mut page: Vec<&RunSummary> = if oldest_first {
            admitted
                .rev()
                .filter(|r| match &self.page {
                    Page::NewerThan(id) => &r.run_id > id,
                    _ => true,
                })
                .take(limit)
                .collect()
        } else {
            admitted
                .filter(|r| match &self.page {
                    Page::OlderThan(id) => &r.run_id < id,
                    Page::From(id) => &r.run_id <= id,
                    _ => true,
                })
                .take(limit)
                .collect()
        };
        if oldest_first {
            page.reverse();
        }
        page
    }

    /// `text` as a LIKE pattern with `\` as the escape: `%text%`, its own
    /// `%`, `_` and `\` escaped.
    pub fn like_pattern(&self) -> String {
        let mut p = String::with_capacity(self.text.len() + 2);
        p.push('%');
        for c in self.text.chars() {
            if matches!(c, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push('%');
        p
    }
}

/// One place (release × environment) of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub release: String,
    pub env: String,
    /// The environment's place in the newest plan that named it.
    pub env_index: u32,
}

use serde::Serialize;

/// Why the store cannot be used; every message says what to do.
#[derive(Debug)]
pub enum StoreError {
    /// Written by a newer Slate: refused, never overwritten.
    Newer {
        path: String,
        found: i64,
        known: i64,
    },
    /// Unreadable as a store: `slate store rebuild` replaces it.
    Corrupt { path: String, cause: String },
    /// Anything else (permissions, a full disk, a lock held too long).
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Newer { path, found, known } => write!(
                f,
                "the store {path} was written by a newer Slate (schema {found}; this one knows up to {known}); \
                 it was left as it is: use the newer Slate, or move the file away to rebuild it from the journals"
            ),
            StoreError::Corrupt { path, cause } => write!(
                f,
                "the store {path} is unreadable ({cause}); `slate store rebuild` rebuilds it from the journals"
            ),
            StoreError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

/// Where runs are indexed and the ledger kept. Every method is one
/// transaction; writers may be many processes at once (one per run).
pub trait Store: Send + locks::Locks {
    /// Records a run (insert or replace), unless the store already holds
    /// a derivation from a later journal record. Returns whether it wrote.
    fn put_run(&self, run: &RunRecord) -> Result<bool, StoreError>;

    /// Forgets runs whose journals are gone.
    fn forget_runs(&self, run_ids: &[String]) -> Result<(), StoreError>;

    /// A page of run summaries, newest first.
    fn runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError>;

    /// How many runs pass the query's filters and lie beyond its page's
    /// start (its limit aside): with `Page::NewerThan(id)`, the place of
    /// run `id` in the filtered list.
    fn count_runs(&self, query: &RunQuery) -> Result<usize, StoreError>;

    /// A mark that changes whenever a run is written or forgotten (and
    /// only then, as far as runs go): what `slate status --watch` polls
    /// instead of reading runs again.
    fn generation(&self) -> Result<String, StoreError>;

    /// The ids of every run the store knows.
    fn run_ids(&self) -> Result<Vec<String>, StoreError>;

    /// Runs that are not over, or whose engine may still answer: the only
    /// ones `slate status` needs to look at.
    fn unsettled(&self) -> Result<Vec<RunSummary>, StoreError>;

    /// Marks that a run's engine has exited (it no longer lingers).
    fn engine_gone(&self, run_id: &str) -> Result<(), StoreError>;

    /// Every release × environment the ledger knows, by release then plan order.
    fn places(&self, release: Option<&str>) -> Result<Vec<Place>, StoreError>;

    /// The version live in a place (its newest deployed one).
    fn live(&self, place: &Place) -> Result<Option<Deployment>, StoreError>;

    /// A place's history, newest first, at most `limit` (None: all).
    fn history(&self, place: &Place, limit: Option<usize>) -> Result<Vec<Deployment>, StoreError>;

    /// The pin on a release × environment, if it is pinned (see [`pins`]).
    fn pin(&self, release: &str, env: &str) -> Result<Option<pins::Pin>, StoreError>;

    /// Replaces everything with `runs` (a rebuild), keeping what a live
    /// run wrote after `since` and was not read again.
    fn replace_all(&self, runs: &[RunRecord], since: jiff::Timestamp) -> Result<(), StoreError>;

    /// A small key/value note of the store's own (`runs_dir_mtime`).
    fn note(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_note(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// The ledger rows that started, went live or ended at or after
    /// `query.since`, each with its run's start, ordered by release,
    /// environment, start and run id: what `slate stats` computes from.
    fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError>;
}

/// Which ledger rows `Store::deliveries` returns.
#[derive(Debug, Clone)]
pub struct DeliveryQuery {
    pub release: Option<String>,
    pub env: Option<String>,
    pub since: jiff::Timestamp,
}

/// One ledger row and when its run started (lead time's fallback start).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub deployment: Deployment,
    pub run_started: Option<jiff::Timestamp>,
}

/// Runs to page through: the store, or the runs read from the journals
/// when it cannot be used (held in memory, with the same meaning).
pub trait RunPages {
    /// A page of runs, newest first (`Store::runs`).
    fn page(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError>;
    /// How many runs the query's filters and page start admit (`Store::count_runs`).
    fn count(&self, query: &RunQuery) -> Result<usize, StoreError>;
}

impl RunPages for Box<dyn Store> {
    fn page(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError> {
        self.runs(query)
    }
    fn count(&self, query: &RunQuery) -> Result<usize, StoreError> {
        self.count_runs(query)
    }
}

impl RunPages for Vec<RunSummary> {
    fn page(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError> {
        Ok(query.select(self))
    }
    fn count(&self, query: &RunQuery) -> Result<usize, StoreError> {
        let all = RunQuery {
            limit: None,
            ..query.clone()
        };
        Ok(all.matching(self).len())
    }
}

/// An opened store, and what opening it had to say (a migration, a rebuild).
pub struct Opened {
    pub store: Box<dyn Store>,
    pub notices: Vec<String>,
}

/// Opens the state directory's store, creating it (from the journals, or
/// from an older Slate's `runs/index.ndjson`) when there is none.
pub fn open(state_dir: &Path) -> Result<Opened, StoreError> {
    // A team store, when one is configured, is the store (see `postgres`).
    if let Some(team) =
        postgres::configured(&crate::paths::config_dir()).map_err(StoreError::Other)?
    {
        return Ok(Opened {
            store: Box::new(postgres::PgStore::open(&team, state_dir)?),
            notices: Vec::new(),
        });
    }
    open_local(state_dir)
}

/// Opens the state directory's embedded store: the store when no team
/// store is configured.
pub fn open_local(state_dir: &Path) -> Result<Opened, StoreError> {
    let (store, created) = sqlite::SqliteStore::open(&state_dir.join(STORE_FILE))?;
    let mut notices = Vec::new();
    if created {
        let n = rebuild::fill(&store, state_dir)?;
        if n > 0 {
            notices.push(format!(
                "created the store {} from {n} run journal{} (it indexes runs and keeps the release ledger)",
                state_dir.join(STORE_FILE).display(),
                if n == 1 { "" } else { "s" }
            ));
        }
        let old = crate::runs::runs_dir(state_dir).join(crate::runs::INDEX_FILE);
        if old.exists() {
            let retired = old.with_extension("ndjson.migrated");
            if std::fs::rename(&old, &retired).is_ok() {
                notices.push(format!(
                    "the history index {} is replaced by the store; it was kept as {}",
                    old.display(),
                    retired.display()
                ));
            }
        }
    }
    Ok(Opened {
        store: Box::new(store),
        notices,
    })
}
