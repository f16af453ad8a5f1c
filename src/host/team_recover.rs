//! `slate recover RUN` on a machine that does not have the run: a team run
//! whose engine died elsewhere. Once its lease has lapsed (its engine has
//! not renewed it for `journal::LEASE_TTL`), the journal is read from the
//! team store into a run directory here, and recovery goes on as on the
//! run's own machine — except that the processes the dead engine left are
//! on the other machine, so they are reported, never signalled.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::store::postgres::{journal, reader};

/// The run's directory here, with its journal from the team store, and
/// the machine its engine ran on. `Err(None)`: no team store is
/// configured (the local error stands); `Err(Some(why))`: why not.
pub fn fetch(state_dir: &Path, run: &str) -> Result<(PathBuf, String), Option<String>> {
    let team = crate::store::postgres::configured(&crate::paths::config_dir())
        .map_err(Some)?
        .ok_or(None)?;
    let id = reader::resolve(&team, run).map_err(Some)?;
    let there = match reader::lease(&team, &id).map_err(Some)? {
        Some((origin, renewed)) if renewed < journal::LEASE_TTL.as_secs() as i64 => {
            return Err(Some(format!(
                "run {id} is driven by an engine on {origin} (its lease was renewed {renewed}s ago); \
                 from another machine it can be recovered once the lease lapses ({}s without renewal)",
                journal::LEASE_TTL.as_secs()
            )));
        }
        Some((origin, _)) => origin,
        None => {
            return Err(Some(format!(
                "run {id} has no engine to take over from: it ended, or never started (`slate export {id}` shows it)"
            )));
        }
    };
    let dir = crate::runs::runs_dir(state_dir).join(&id);
    crate::paths::ensure_private_dir(&dir).map_err(|e| Some(format!("{}: {e}", dir.display())))?;
    let path = dir.join(crate::journal::JOURNAL_FILE);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Some(format!("{}: {e}", path.display())))?;
    reader::export_to(&team, &id, file).map_err(|e| {
        let _ = std::fs::remove_dir_all(&dir);
        Some(format!("cannot read run {id} from the team journal: {e}"))
    })?;
    Ok((dir, there))
}
