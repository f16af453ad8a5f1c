//! The owner watchdog: an instance lives only as long as the process that
//! owns it (normally `slate demo`). Polling, rather than relying on signals
//! or process groups, is what makes this hold even when the owner is
//! SIGKILLed and cannot clean up after itself.

use std::time::Duration;

use super::procs;

const POLL: Duration = Duration::from_millis(250);

/// The owner as first seen: its pid and, where `/proc` exists, its start
/// time, so a later process that reuses the pid is not mistaken for it.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pid: i32,
    start_time: Option<u64>,
}

impl Owner {
    /// Pins down the owner now; an error if it is already gone.
    pub fn identify(pid: i32) -> Result<Self, String> {
        let start_time = procs::start_time(pid);
        let owner = Self { pid, start_time };
        if owner.is_gone() {
            return Err(format!("owner pid {pid} is not running"));
        }
        Ok(owner)
    }

    pub fn pid(&self) -> i32 {
        self.pid
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
