//! Keeping the store in step with the run directories without reading
//! them all: the recorder writes each run as it goes; a reader looks at
//! the runs directory's modification time (it changes when a run
//! directory is added or removed) and lists the directory only when it
//! changed since the store last did; and it re-reads only the runs that
//! claim to be running, to see whether their engine died.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{RunQuery, Store, StoreError};
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

/// Every run, newest first, from the store (brought up to date first).
/// When the store cannot be used the journals are read instead, slowly,
/// and the history says why.
pub fn load_runs(state_dir: &Path, query: &RunQuery) -> History {
    let mut history = History::default();
    match super::open(state_dir) {
        Ok(opened) => {
            history.notices = opened.notices;
            let store = opened.store;
            match sync(store.as_ref(), state_dir).and_then(|w| {
                history.warnings.extend(w);
                store.runs(query)
            }) {
                Ok(runs) => {
                    history.runs = runs;
                    return history;
                }
                Err(e) => history.warnings.push(e.to_string()),
            }
        }
        Err(e) => history.warnings.push(e.to_string()),
    }
    // A team store that cannot be used is an error, not a fall-back: this
    // machine's journals are not the team's history.
    if let Ok(Some(_)) = super::postgres::configured(&crate::paths::config_dir()) {
        history.unavailable = history.warnings.pop();
        return history;
    }
    // The store is unusable: the journals still say everything.
    let mut runs = Vec::new();
    for (id, dir) in super::rebuild::run_dirs(state_dir) {
        match super::rebuild::summarise(&dir) {
            Ok(r) => runs.push(r.summary),
            Err(e) => history.warnings.push(format!("run {id}: {e}")),
        }
    }
    runs.retain(|r| query.release.as_ref().is_none_or(|n| &r.release == n));
    runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    if let Some(l) = query.limit {
        runs.truncate(l);
    }
    history.runs = runs;
    history
}
