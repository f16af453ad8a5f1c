//! Following live changes without re-reading the store on every tick.
//!
//! A thread of its own (the store is synchronous, and the UI loop never
//! waits on I/O) looks at a cheap [`Marker`] every [`POLL`]: the store's
//! file and write-ahead log (every run's recorder writes there as the run
//! enters an environment, is approved, finishes), the runs directory (a
//! run started or removed), and for each active run its journal (a gate
//! begins to wait, a lock holds it back: records the store does not keep)
//! and whether its engine still holds its lock (an engine that dies
//! changes no file). Only when the marker changed is the board read again
//! ([`super::snapshot::read`]) and sent to the loop, which redraws only if
//! what it shows differs. A team store (PostgreSQL) written from other
//! machines changes no local file, so the board is also read again every
//! [`FORCED`] regardless; and the loop can ask for a read at once (after
//! an approval, after the cockpit was attached).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::snapshot::{self, Snapshot};

/// How often the marker is looked at.
pub const POLL: Duration = Duration::from_millis(500);
/// How often the board is read again even when no local file changed.
pub const FORCED: Duration = Duration::from_secs(15);

/// What changes when anything the board shows may have changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marker {
    files: Vec<Option<(u64, i64, i64)>>,
    engines: Vec<bool>,
}

fn stamp(path: &Path) -> Option<(u64, i64, i64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.mtime(), m.mtime_nsec()))
}

/// The marker for the state directory and the active runs `runs` (their
/// directories and engine pids, from the last read).
pub fn marker(state_dir: &Path, runs: &[(PathBuf, u32)]) -> Marker {
    let store = state_dir.join(crate::store::STORE_FILE);
    let mut wal = store.clone().into_os_string();
    wal.push("-wal");
    let mut files = vec![
        stamp(&store),
        stamp(Path::new(&wal)),
        stamp(&crate::runs::runs_dir(state_dir)),
    ];
    files.extend(
        runs.iter()
            .map(|(dir, _)| stamp(&dir.join(crate::journal::JOURNAL_FILE))),
    );
    let engines = runs
        .iter()
        .map(|(dir, pid)| crate::runs::engine_running(dir, *pid))
        .collect();
    Marker { files, engines }
}

/// Starts the watcher; boards arrive on the returned receiver. Sending on
/// `force` asks for a read at once. The thread ends when the receiver is dropped.
pub fn spawn(
    state_dir: PathBuf,
    viewer: snapshot::Viewer,
    team: Option<crate::store::postgres::TeamConfig>,
) -> (mpsc::Receiver<Snapshot>, std_mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel(2);
    let (force_tx, force) = std_mpsc::channel();
    std::thread::Builder::new()
        .name("board-watch".into())
        .spawn(move || watch(&state_dir, &viewer, team.as_ref(), &tx, &force))
        .ok();
    (rx, force_tx)
}

fn watch(
    state_dir: &Path,
    viewer: &snapshot::Viewer,
    team: Option<&crate::store::postgres::TeamConfig>,
    tx: &mpsc::Sender<Snapshot>,
    force: &std_mpsc::Receiver<()>,
) {
    let mut store: Option<Box<dyn crate::store::Store>> = None;
    let mut last: Option<Marker> = None;
    let mut runs: Vec<(PathBuf, u32)> = Vec::new();
    let mut last_read = Instant::now();
    let mut forced = true;
    loop {
        let now = marker(state_dir, &runs);
        if forced || last.as_ref() != Some(&now) || last_read.elapsed() >= FORCED {
            // The marker is taken before reading: a change during the read
            // shows at the next look, never goes unseen. (A new set of
            // active runs changes the marker once more; what the read wrote
            // itself, syncing the store, settles after one more read.)
            last = Some(now);
            last_read = Instant::now();
            let snap = read(state_dir, viewer, team, &mut store);
            runs = active_dirs(state_dir, &snap);
            if tx.blocking_send(snap).is_err() {
                return;
            }
        }
        forced = match force.recv_timeout(POLL) {
            Ok(()) => {
                while force.try_recv().is_ok() {}
                true
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => false,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        };
    }
}

/// One read: the store opened once and kept (opened again after a failure).
fn read(
    state_dir: &Path,
    viewer: &snapshot::Viewer,
    team: Option<&crate::store::postgres::TeamConfig>,
    store: &mut Option<Box<dyn crate::store::Store>>,
) -> Snapshot {
    if store.is_none() {
        match crate::store::open(state_dir) {
            Ok(o) => {
                for n in &o.notices {
                    tracing::info!(notice = %n, "store");
                }
                *store = Some(o.store);
            }
            Err(e) => {
                return Snapshot {
                    warnings: vec![e.to_string()],
                    ..Snapshot::default()
                };
            }
        }
    }
    let Some(s) = store.as_deref() else {
        return Snapshot::default();
    };
    let mut warnings = match crate::store::sync::sync(s, state_dir) {
        Ok(w) => w,
        Err(e) => {
            *store = None;
            return Snapshot {
                warnings: vec![e.to_string()],
                ..Snapshot::default()
            };
        }
    };
    let mut snap = snapshot::read_as(s, state_dir, viewer, team);
    warnings.append(&mut snap.warnings);
    snap.warnings = warnings;
    snap
}

/// The directories and engine pids of the runs the board shows as active.
fn active_dirs(state_dir: &Path, snap: &Snapshot) -> Vec<(PathBuf, u32)> {
    snap.runs
        .iter()
        .map(|r| {
            let dir = crate::runs::runs_dir(state_dir).join(&r.run_id);
            let pid = crate::runs::lock::holder_pid(&dir).unwrap_or(0);
            (dir, pid)
        })
        .collect()
}
