//! Keeping the store in step with the run directories without reading
//! them all: the recorder writes each run as it goes; a reader looks at
//! the runs directory's modification time (it changes when a run
//! directory is added or removed) and lists the directory only when it
//! changed since the store last did; and it re-reads only the runs that
//! claim to be running, to see whether their engine died.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{RunPages, RunQuery, Store, StoreError};
use crate::engine::state::RunState;
use crate::runs::{History, Outcome, runs_dir};

const RUNS_DIR_NOTE: &str = "runs_dir_mtime";
/// Run directories whose journal could not be read: tried again (and
/// reported) on every sync, since a listing happens only when one is added.
const UNREADABLE_NOTE: &str = "unreadable_runs";

/// The runs directory's modification time, to the nanosecond.
pub fn runs_dir_stamp(state_dir: &Path) -> Option<String> {
    let m = std::fs::metadata(runs_dir(state_dir)).ok()?;
    Some(format!("{}.{:09}", m.mtime(), m.mtime_nsec()))
}

/// Notes that the store holds every run directory as of `stamp`.
pub fn mark_synced(store: &dyn Store, stamp: Option<&str>) -> Result<(), StoreError> {
    match stamp {
        Some(s) => store.set_note(RUNS_DIR_NOTE, s),
        None => Ok(()),
    }
}

/// Notes the run directories whose journals could not be read.
pub fn note_unreadable(store: &dyn Store, ids: &[String]) -> Result<(), StoreError> {
    store.set_note(
        UNREADABLE_NOTE,
        &serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
    )
}

/// Records a run's state as the recorder holds it.
pub fn record_state(
    store: &dyn Store,
    state: &RunState,
    alive: bool,
    configs: &[Option<String>],
) -> Result<bool, StoreError> {
    store.put_run(&super::rebuild::record(state, alive, configs))
}

/// Brings the store up to the run directories: runs it does not know are
/// read from their journals, runs whose directory is gone are forgotten,
/// and runs that claimed to be running with a dead engine are read again
/// (they become interrupted). Returns what could not be read.
pub fn sync(store: &dyn Store, state_dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut warnings = Vec::new();
    let stamp = runs_dir_stamp(state_dir);
    let noted: Vec<String> = store
        .note(UNREADABLE_NOTE)?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut unreadable: Vec<String> = Vec::new();
    if stamp.is_some() && store.note(RUNS_DIR_NOTE)? != stamp {
        let on_disk = super::rebuild::run_dirs(state_dir);
        let known: std::collections::HashSet<String> = store.run_ids()?.into_iter().collect();
        let present: std::collections::HashSet<&str> =
            on_disk.iter().map(|(id, _)| id.as_str()).collect();
        let gone: Vec<String> = known
            .iter()
            .filter(|id| !present.contains(id.as_str()))
            .cloned()
            .collect();
        store.forget_runs(&gone)?;
        for (id, dir) in &on_disk {
            if known.contains(id) {
                continue;
            }
            match super::rebuild::summarise(dir) {
                Ok(r) => {
                    store.put_run(&r)?;
                }
                Err(e) => {
                    warnings.push(format!("run {id}: {e}"));
                    unreadable.push(id.clone());
                }
            }
        }
        mark_synced(store, stamp.as_deref())?;
    } else {
        for id in &noted {
            let dir = runs_dir(state_dir).join(id);
            if !dir.join(crate::journal::JOURNAL_FILE).exists() {
                continue;
            }
            match super::rebuild::summarise(&dir) {
                Ok(r) => {
                    store.put_run(&r)?;
                }
                Err(e) => {
                    warnings.push(format!("run {id}: {e}"));
                    unreadable.push(id.clone());
                }
            }
        }
    }
    if unreadable != noted {
        note_unreadable(store, &unreadable)?;
    }
    for s in store.unsettled()? {
        let dir = runs_dir(state_dir).join(&s.run_id);
        if s.outcome == Outcome::Running && !crate::runs::engine_running(&dir, s.pid) {
            match super::rebuild::summarise(&dir) {
                Ok(r) => {
                    store.put_run(&r)?;
                }
                Err(e) => warnings.push(format!("run {}: {e}", s.run_id)),
            }
        }
    }
    Ok(warnings)
}

/// Runs to page through, and what reaching them had to say.
pub struct Listing {
    pub runs: Box<dyn RunPages>,
    pub warnings: Vec<String>,
    /// What the store had to say on opening (created, migrated).
    pub notices: Vec<String>,
    /// The team store could not be used: nothing is listed.
    pub unavailable: Option<String>,
}

/// The store, brought up to date, to page runs from. When the store cannot
/// be used the journals are read instead, slowly, into memory, and the
/// listing says why.
pub fn list_runs(state_dir: &Path) -> Listing {
    let mut listing = Listing {
        runs: Box::new(Vec::new()),
        warnings: Vec::new(),
        notices: Vec::new(),
        unavailable: None,
    };
    match super::open(state_dir) {
        Ok(opened) => {
            listing.notices = opened.notices;
            let store = opened.store;
            match sync(store.as_ref(), state_dir) {
                Ok(w) => {
                    listing.warnings.extend(w);
                    listing.runs = Box::new(store);
                    return listing;
                }
                Err(e) => listing.warnings.push(e.to_string()),
            }
        }
        Err(e) => listing.warnings.push(e.to_string()),
    }
    // A team store that cannot be used is an error, not a fall-back: this
    // machine's journals are not the team's history.
    if let Ok(Some(_)) = super::postgres::configured(&crate::paths::config_dir()) {
        listing.unavailable = listing.warnings.pop();
        return listing;
    }
    listing.runs = Box::new(from_journals(state_dir, &mut listing.warnings));
    listing
}

/// The store is unusable: the journals still say everything.
fn from_journals(state_dir: &Path, warnings: &mut Vec<String>) -> Vec<crate::runs::RunSummary> {
    let mut runs = Vec::new();
    for (id, dir) in super::rebuild::run_dirs(state_dir) {
        match super::rebuild::summarise(&dir) {
            Ok(r) => runs.push(r.summary),
            Err(e) => warnings.push(format!("run {id}: {e}")),
        }
    }
    runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    runs
}

/// Runs, newest first, from the store (brought up to date first), or from
/// the journals when it cannot be used (see [`list_runs`]).
pub fn load_runs(state_dir: &Path, query: &RunQuery) -> History {
    let listing = list_runs(state_dir);
    let mut history = History {
        warnings: listing.warnings,
        notices: listing.notices,
        unavailable: listing.unavailable,
        ..History::default()
    };
    if history.unavailable.is_none() {
        match listing.runs.page(query) {
            Ok(runs) => history.runs = runs,
            Err(e) => {
                history.warnings.push(e.to_string());
                if let Ok(Some(_)) = super::postgres::configured(&crate::paths::config_dir()) {
                    history.unavailable = history.warnings.pop();
                } else {
                    history.runs = query.select(&from_journals(state_dir, &mut history.warnings));
                }
            }
        }
    }
    history
}
