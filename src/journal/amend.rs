//! Adding a record to a finished run's journal (a post-deploy review).
//! Past records are never edited: the new record goes at the end with the
//! next sequence number, under an exclusive lock so two writers cannot both
//! take the same number.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use jiff::Timestamp;
use nix::fcntl::{Flock, FlockArg};

use super::{JOURNAL_FILE, read_journal};
use crate::engine::event::{Event, Record};

/// Appends `event` after the last record, unless the run's engine still
/// writes the journal itself.
pub fn append_after(run_dir: &Path, event: Event) -> Result<Record, String> {
    let path = run_dir.join(JOURNAL_FILE);
    let file = std::fs::OpenOptions::new()
        .append(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut file = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("cannot lock {}: {e}", path.display()))?;
    let journal = read_journal(&path).map_err(|e| e.to_string())?;
    if journal.warning.is_some() {
        return Err(format!(
            "{} ends in a torn line; recover the run before adding to it",
            path.display()
        ));
    }
    let pid = crate::runs::pid_of(&journal.records);
    if crate::runs::engine_running(run_dir, pid) {
        let pid = crate::runs::lock::holder_pid(run_dir).unwrap_or(pid);
        return Err(format!(
            "the run's engine (pid {pid}) is still running and owns its journal; try again once it has exited"
        ));
    }
    let rec = Record {
        seq: journal.records.last().map_or(1, |r| r.seq + 1),
        ts: Timestamp::now(),
        event,
    };
    let mut line = serde_json::to_vec(&rec).map_err(|e| e.to_string())?;
    line.push(b'\n');
    file.write_all(&line)
        .and_then(|_| file.sync_data())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(rec)
}
