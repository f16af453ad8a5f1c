//! Past and present runs under `<state>/runs/`: finding one by id, and the
//! small index that lets history open without reading every journal.

mod active;
mod index;
pub mod lock;
mod open;
mod share;
pub mod summary;

use std::path::{Path, PathBuf};

pub use active::{ActiveRun, Engine, Found, Waiting, active_in, active_runs, not_served, remote};
pub use index::{History, INDEX_FILE, load, record_journal};
pub use lock::{EngineLock, LockState, engine_running, lock_state};
pub use open::{
    OpenError, OpenRun, cut_down, open, open_dir, open_dir_states, open_states, pid_of,
    recorded_plan, started,
};
pub use share::Sharing;
pub use summary::{Outcome, RunSummary};

use crate::journal::JOURNAL_FILE;

/// Where runs live: `<state>/runs/`, one directory per run.
pub fn runs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("runs")
}

/// [`find_run`], else a team run this machine does not have, read from the
/// team journal into a copy here (`store::postgres::reader::copy_here`):
/// for the commands that only read a run.
pub fn find_anywhere(state_dir: &Path, run: &str) -> Result<PathBuf, String> {
    match find_run(state_dir, run) {
        Ok(d) => Ok(d),
        Err(here) => match crate::store::postgres::reader::copy_here(state_dir, run) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Err(here),
            Err(team) => Err(format!("{here}; {team}")),
        },
    }
}

/// Finds a run by id, unique prefix, or "latest".
pub fn find_run(state_dir: &Path, run: &str) -> Result<PathBuf, String> {
    let dir = runs_dir(state_dir);
    // A full id needs no listing (a run shared with our group sits in a
    // directory we may pass through but not read).
    if run != "latest" && !run.contains('/') && dir.join(run).join(JOURNAL_FILE).exists() {
        return Ok(dir.join(run));
    }
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("no runs yet in {}", dir.display()),
            // Another user's runs are closed to us (0700): say so, not "no runs".
            _ => format!("cannot read {}: {e}", dir.display()),
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(JOURNAL_FILE).exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    if run == "latest" {
        return ids
            .last()
            .map(|id| dir.join(id))
            .ok_or_else(|| format!("no runs yet in {}", dir.display()));
    }
    let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(run)).collect();
    match matches.as_slice() {
        [one] => Ok(dir.join(one)),
        [] => Err(format!("no run matches `{run}` in {}", dir.display())),
        many => Err(format!(
            "`{run}` matches {} runs; give more of the id",
            many.len()
        )),
    }
}

/// Whether the engine process that wrote a run is still alive, judged by its
/// pid: only for runs without a lock file (see [`engine_running`]).
pub(super) fn engine_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        // A live pid might have been reused: only a slate process counts.
        Ok(()) | Err(nix::errno::Errno::EPERM) => std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .next()
                    .is_some_and(|exe| String::from_utf8_lossy(exe).contains("slate"))
            })
            .unwrap_or(true),
        Err(_) => false,
    }
}
