//! The history of runs as the store holds it (see `crate::store`): one
//! [`RunSummary`] per run, kept by each run's recorder and derived again
//! from the journals when the store is new or rebuilt. Before the store,
//! Slate kept `runs/index.ndjson`; a state directory that still has one is
//! rebuilt from its journals on first use, and the old file kept aside.

use std::path::Path;

use super::summary::RunSummary;

/// The history index of Slate before the store.
pub const INDEX_FILE: &str = "index.ndjson";

/// The runs, newest first, and what could not be read.
#[derive(Debug, Default)]
pub struct History {
    pub runs: Vec<RunSummary>,
    pub warnings: Vec<String>,
    /// What the store had to say on opening (created, migrated).
    pub notices: Vec<String>,
    /// The team store could not be used: nothing is listed (this
    /// machine's journals alone would pass for the team's history).
    pub unavailable: Option<String>,
}

/// Summarises a run from its journal and records it in the store.
pub fn record_journal(state_dir: &Path, run_dir: &Path) -> Result<RunSummary, String> {
    let record = crate::store::rebuild::summarise(run_dir)?;
    let opened = crate::store::open(state_dir).map_err(|e| e.to_string())?;
    opened
        .store
        .put_run(&record)
        .map_err(|e| format!("cannot update the store: {e}"))?;
    Ok(record.summary)
}

/// Loads every run, newest first, bringing the store up to date.
pub fn load(state_dir: &Path) -> History {
    crate::store::load_runs(state_dir, &crate::store::RunQuery::default())
}
