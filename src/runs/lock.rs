//! One engine per run: the engine holds an exclusive `flock` on
//! `runs/<run-id>/engine.lock` for as long as it runs. The kernel drops the
//! lock when the process dies, so a crashed engine never leaves a stale lock
//! behind; the pid written into the file is only for messages.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

pub const LOCK_FILE: &str = "engine.lock";

/// Held by the engine that drives a run; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct EngineLock {
    _file: Flock<File>,
    path: PathBuf,
}

impl EngineLock {
    /// Takes the run's lock, or says who holds it.
    pub fn acquire(run_dir: &Path) -> Result<EngineLock, String> {
        let path = run_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut file = match lock_exclusive(file) {
            Ok(f) => f,
            Err((mut f, Errno::EWOULDBLOCK)) => {
                let mut pid = String::new();
                let _ = f.read_to_string(&mut pid);
                let pid = pid.trim();
                let who = if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                };
                return Err(format!(
                    "run {} is already driven by a live engine{who}; only one engine may drive a run",
                    run_name(run_dir)
                ));
            }
            Err((_, e)) => return Err(format!("cannot lock {}: {e}", path.display())),
        };
        // Only for messages: who holds it.
        let _ = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.flush());
        Ok(EngineLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How often an exclusive lock is tried before a holder is believed: a
/// probe ([`lock_state`]) holds a shared lock for a moment, and must not be
/// taken for a live engine.
const TRIES: u32 = 5;

fn lock_exclusive(file: File) -> Result<Flock<File>, (File, Errno)> {
    let mut file = file;
    for _ in 1..TRIES {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Err((f, Errno::EWOULDBLOCK)) => {
                file = f;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done,
        }
    }
    Flock::lock(file, FlockArg::LockExclusiveNonblock)
}

fn run_name(run_dir: &Path) -> String {
    run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| run_dir.display().to_string())
}

/// What the lock file says about a run's engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// An engine holds the lock now.
    Held,
    /// The lock file exists and nobody holds it: the engine has exited (or crashed).
    Free,
    /// No lock file: a run from before the lock existed.
    Missing,
}

/// Tries a non-blocking shared lock: refused means an engine holds it.
pub fn lock_state(run_dir: &Path) -> LockState {
    let Ok(file) = File::open(run_dir.join(LOCK_FILE)) else {
        return LockState::Missing;
    };
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(_) => LockState::Free,
        Err((_, Errno::EWOULDBLOCK)) => LockState::Held,
        // Cannot tell (e.g. a filesystem without flock): assume it is not held.
        Err(_) => LockState::Free,
    }
}

/// Whether an engine is driving the run in `run_dir` right now. Runs written
/// before the lock existed fall back to checking the recorded pid.
pub fn engine_running(run_dir: &Path, pid: u32) -> bool {
    match lock_state(run_dir) {
        LockState::Held => true,
        LockState::Free => false,
        LockState::Missing => super::engine_alive(pid),
    }
}

/// The pid written by the engine holding the lock, if any.
pub fn holder_pid(run_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(run_dir.join(LOCK_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_engine_cannot_take_a_live_lock() {
        let dir = tempfile::TempDir::new().unwrap();
        assert_eq!(lock_state(dir.path()), LockState::Missing);
        let lock = EngineLock::acquire(dir.path()).expect("first lock");
        assert_eq!(lock_state(dir.path()), LockState::Held);
        assert!(engine_running(dir.path(), 0));
        assert_eq!(holder_pid(dir.path()), Some(std::process::id()));
        let err = EngineLock::acquire(dir.path()).expect_err("second lock refused");
        assert!(err.contains("already driven by a live engine"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        // Released: stale, not running, and a new engine may take it.
        assert_eq!(lock_state(dir.path()), LockState::Free);
        assert!(!engine_running(dir.path(), std::process::id()));
        let again = EngineLock::acquire(dir.path()).expect("lock after release");
        drop(again);
    }
}
