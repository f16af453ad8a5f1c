//! Small facts about other processes, read from `kill(pid, 0)` and `/proc`.
//! Everything here refuses pids 0, 1 and negatives: `kill` would read those
//! as "my process group", "init" or "everyone", which a stale or corrupt
//! pidfile must never be able to reach.

use std::fs;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// True for a pid that can name an ordinary process.
pub fn plausible(pid: i32) -> bool {
    pid > 1
}

/// The process exists and has not exited. A zombie counts as gone: it has
/// exited and only waits for a parent (which, for an orphan in a container
/// without a reaping init, may be never).
pub fn is_alive(pid: i32) -> bool {
    if !plausible(pid) {
        return false;
    }
    let exists = match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(Errno::EPERM) => true, // exists, just not ours to signal
        Err(_) => false,
    };
    exists && !matches!(stat_field(pid, STATE), Some(s) if s == "Z" || s == "X")
}

/// The process's start time (clock ticks since boot), which together with the
/// pid identifies it even after the pid is reused. `None` without `/proc`.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_field(pid, START_TIME)?.parse().ok()
}

/// Whether `pid` is a `demo-service serve` process (for `name`, if given):
/// the check that keeps a stale pidfile from ever signalling a stranger.
pub fn is_instance(pid: i32, name: Option<&str>) -> bool {
    if !plausible(pid) {
        return false;
    }
    let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let has = |w: &str| args.contains(&w.as_bytes());
    let named = match name {
        None => true,
        Some(n) => args
            .windows(2)
            .any(|w| w[0] == b"--name" && w[1] == n.as_bytes()),
    };
    has("demo-service") && has("serve") && named
}

/// Polls until `pid` is gone or `limit` passes; true when it is gone.
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !is_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Sends `sig`, ignoring "already gone".
pub fn signal(pid: i32, sig: Signal) -> Result<(), String> {
    if !plausible(pid) {
        return Err(format!("refusing to signal pid {pid}"));
    }
    match kill(Pid::from_raw(pid), sig) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(format!("cannot signal pid {pid}: {e}")),
    }
}

/// Fields of `/proc/PID/stat`, counted from the state (field 3 in proc(5))
/// because the command name before it may itself hold spaces and ')'.
const STATE: usize = 0;
const START_TIME: usize = 22 - 3;

fn stat_field(pid: i32, index: usize) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(index).map(str::to_string)
}
