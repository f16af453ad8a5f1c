//! The owner watchdog: an instance lives only as long as what owns it.
//! Polling, rather than relying on signals or process groups, is what makes
//! this hold even when the owner is SIGKILLed and cannot clean up after
//! itself.
//!
//! Two kinds of owner: a process (an instance started by hand, or by a test),
//! and a release's run. A run owns its instances while an engine holds the
//! run's lock: when the engine is gone, however it went (even SIGKILL, since
//! the kernel drops the lock), they go too within about a second. The
//! engine that recovers the run brings the fleet back from its records
//! (`revive.rs`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::args::OwnerSpec;
use super::procs;

const POLL: Duration = Duration::from_millis(250);

/// How long a run's lock must be free before its instances go: a probe
/// that finds it free once (an engine between two runs of a lock test, a
/// recovery taking it over) is not an engine gone.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(1);

/// What an instance belongs to, pinned down when it starts.
#[derive(Debug, Clone)]
pub enum Owner {
    Process(Process),
    Run(PathBuf),
}

impl Owner {
    /// Pins down the owner now; an error if it is already gone.
    pub fn identify(spec: OwnerSpec) -> Result<Self, String> {
        match spec {
            OwnerSpec::Pid(pid) => Process::identify(pid).map(Owner::Process),
            OwnerSpec::Run(dir) => {
                if !dir.join(crate::runs::lock::LOCK_FILE).exists() {
                    return Err(format!("{} is not a run directory", dir.display()));
                }
                Ok(Owner::Run(dir))
            }
        }
    }

    /// The owner in a message ("owner pid 123", "the engine of run DIR").
    pub fn describe(&self) -> String {
        match self {
            Owner::Process(p) => format!("owner pid {}", p.pid),
            Owner::Run(dir) => format!("the engine of run {}", dir.display()),
        }
    }

    /// Resolves once the owner is gone.
    pub async fn gone(self) {
        match self {
            Owner::Process(p) => p.gone().await,
            Owner::Run(dir) => run_gone(dir).await,
        }
    }
}

/// Resolves once no engine has held the run's lock for [`ORPHAN_GRACE`],
/// or at once when the run's directory is gone.
async fn run_gone(dir: PathBuf) {
    let mut tick = tokio::time::interval(POLL * 2);
    let mut free_since: Option<Instant> = None;
    loop {
        tick.tick().await;
        if !dir.exists() {
            return;
        }
        let d = dir.clone();
        let held = tokio::task::spawn_blocking(move || {
            crate::runs::lock_state(&d) == crate::runs::LockState::Held
        })
        .await
        .unwrap_or(false);
        if held {
            free_since = None;
            continue;
        }
        if free_since.get_or_insert_with(Instant::now).elapsed() >= ORPHAN_GRACE {
            return;
        }
    }
}

/// A process owner as first seen: its pid and, where `/proc` exists, its
/// start time, so a later process that reuses the pid is not mistaken for it.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pid: i32,
    start_time: Option<u64>,
}

impl Process {
    /// Pins down the owner now; an error if it is already gone.
    pub fn identify(pid: i32) -> Result<Self, String> {
        let start_time = procs::start_time(pid);
        let owner = Self { pid, start_time };
        if owner.is_gone() {
            return Err(format!("owner pid {pid} is not running"));
        }
        Ok(owner)
    }

    fn is_gone(&self) -> bool {
        if !procs::is_alive(self.pid) {
            return true;
        }
        match (self.start_time, procs::start_time(self.pid)) {
            (Some(then), Some(now)) => then != now,
            // The process vanished between the two reads.
            (Some(_), None) => !procs::is_alive(self.pid),
            (None, _) => false,
        }
    }

    /// Resolves once the owner is gone.
    pub async fn gone(self) {
        let mut tick = tokio::time::interval(POLL);
        loop {
            tick.tick().await;
            if self.is_gone() {
                return;
            }
        }
    }
}
