//! The commit time of a released version, for lead time: the run's
//! journaled plan names the `repository` (as the dossier reads it), and
//! git there dates the version (`git::commit_time`). Only the
//! journal's first record is read, and each run is asked once per
//! process; a run whose journal is on another machine (a team store) or
//! whose plan names no repository falls back to the run's start.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::engine::event::Record;
use crate::store::Delivery;

/// The first record is `RunStarted` with the plan's text (≤ 4 MiB).
const FIRST_RECORD_MAX: u64 = 8 * 1024 * 1024;

/// Commit times by run, asked of git once each.
pub struct Commits {
    state_dir: PathBuf,
    /// run id → the plan's repository (None: none named, or unreadable).
    repos: HashMap<String, Option<PathBuf>>,
    times: HashMap<(PathBuf, String), Option<Timestamp>>,
}

impl Commits {
    pub fn new(state_dir: &Path) -> Commits {
        Commits {
            state_dir: state_dir.to_path_buf(),
            repos: HashMap::new(),
            times: HashMap::new(),
        }
    }

    /// The commit time of the row's version, when it can be known.
    pub fn of(&mut self, row: &Delivery) -> Option<Timestamp> {
        let d = &row.deployment;
        let repo = self
            .repos
            .entry(d.run_id.clone())
            .or_insert_with(|| repository(&self.state_dir, &d.run_id))
            .clone()?;
        *self
            .times
            .entry((repo.clone(), d.version.clone()))
            .or_insert_with(|| crate::git::commit_time(&repo, &d.version))
    }
}

/// The repository the run's journaled plan names, resolved as the dossier does.
fn repository(state_dir: &Path, run_id: &str) -> Option<PathBuf> {
    if run_id.is_empty() || run_id.contains('/') || run_id.starts_with('.') {
        return None;
    }
    let path = crate::runs::runs_dir(state_dir)
        .join(run_id)
        .join(crate::journal::JOURNAL_FILE);
    let file = std::fs::File::open(path).ok()?;
    let mut line = Vec::new();
    BufReader::new(file.take(FIRST_RECORD_MAX))
        .read_until(b'\n', &mut line)
        .ok()?;
    let record: Record = serde_json::from_slice(&line).ok()?;
    let plan = crate::runs::recorded_plan(std::slice::from_ref(&record))?.ok()?;
    let repo = plan.release.repository.as_ref()?;
    Some(if repo.is_absolute() {
        repo.clone()
    } else {
        plan.base_dir.join(repo)
    })
}
