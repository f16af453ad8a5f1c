//! Deriving the store from the journals: one run at a time (what a run's
//! directory says now), every run at once (`slate store rebuild`, and a
//! new store's first filling).

use std::path::Path;

use super::{RunRecord, STORE_FILE, Store, StoreError};
use crate::engine::state::RunState;
use crate::journal::JOURNAL_FILE;
use crate::runs::{RunSummary, runs_dir};

/// What a run's journal says, for the store. `Err` when it is not a run's
/// journal (empty, foreign, corrupt in the middle).
pub fn summarise(run_dir: &Path) -> Result<RunRecord, String> {
    let run = crate::runs::open_dir_states(run_dir)?;
    let alive = crate::runs::engine_running(run_dir, run.pid());
    let state = RunState::replay(&run.records);
    let configs = match run.plan() {
        Some(Ok(plan)) => super::ledger::config_digests(&plan),
        _ => Vec::new(),
    };
    let mut record = record(&state, alive, &configs);
    if record.summary.run_id.is_empty() {
        record.summary.run_id = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(record)
}

/// A run's summary and ledger rows from its state.
pub fn record(state: &RunState, alive: bool, configs: &[Option<String>]) -> RunRecord {
    RunRecord {
        summary: RunSummary::from_state(state, alive),
        last_seq: state.last_seq,
        deployments: super::ledger::deployments(state, alive, configs),
        pins: super::pins::events(state),
        engine_alive: alive,
    }
}

/// The run directories that hold a journal, by id.
pub fn run_dirs(state_dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let Ok(entries) = std::fs::read_dir(runs_dir(state_dir)) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.path().join(JOURNAL_FILE).exists())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect()
}

/// What a rebuild did.
#[derive(Debug, Default)]
pub struct Rebuilt {
    pub runs: usize,
    /// Runs whose journal could not be read, and why.
    pub skipped: Vec<String>,
    /// A corrupt store moved aside, if there was one.
    pub moved: Option<std::path::PathBuf>,
}

/// Reads every journal; the store is not touched (nor locked) meanwhile.
fn read_all(state_dir: &Path) -> (Vec<RunRecord>, Vec<(String, String)>) {
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for (id, dir) in run_dirs(state_dir) {
        match summarise(&dir) {
            Ok(r) => records.push(r),
            Err(e) => skipped.push((id, e)),
        }
    }
    (records, skipped)
}

/// Fills a new store from the journals; returns how many runs it holds.
pub(super) fn fill(store: &dyn Store, state_dir: &Path) -> Result<usize, StoreError> {
    let since = jiff::Timestamp::now();
    let (records, _) = read_all(state_dir);
    store.replace_all(&records, since)?;
    // Not marked as in step: the next sync lists the directory again and
    // reports what was unreadable.
    Ok(records.len())
}

/// `slate store rebuild`: derives the whole store again from the journals.
/// A store from a newer Slate is refused; an unreadable one is moved aside
/// (`store.db.corrupt-<time>`) and a new one built.
pub fn rebuild(state_dir: &Path) -> Result<Rebuilt, StoreError> {
    let path = state_dir.join(STORE_FILE);
    let mut moved = None;
    let store = match super::sqlite::SqliteStore::open(&path) {
        Ok((s, _)) => s,
        Err(StoreError::Corrupt { .. }) => {
            let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S");
            let aside = state_dir.join(format!("{STORE_FILE}.corrupt-{stamp}"));
            std::fs::rename(&path, &aside).map_err(|e| {
                StoreError::Other(format!("cannot move {} aside: {e}", path.display()))
            })?;
            for suffix in ["-wal", "-shm"] {
                let side = state_dir.join(format!("{STORE_FILE}{suffix}"));
                if side.exists() {
                    let _ = std::fs::rename(&side, format!("{}{suffix}", aside.display()));
                }
            }
            moved = Some(aside);
            super::sqlite::SqliteStore::open(&path)?.0
        }
        Err(e) => return Err(e),
    };
    let since = jiff::Timestamp::now();
    let stamp = super::sync::runs_dir_stamp(state_dir);
    let (records, skipped) = read_all(state_dir);
    store.replace_all(&records, since)?;
    super::sync::mark_synced(&store, stamp.as_deref())?;
    let ids: Vec<String> = skipped.iter().map(|(id, _)| id.clone()).collect();
    super::sync::note_unreadable(&store, &ids)?;
    Ok(Rebuilt {
        runs: records.len(),
        skipped: skipped
            .into_iter()
            .map(|(id, e)| format!("run {id}: {e}"))
            .collect(),
        moved,
    })
}
