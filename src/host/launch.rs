//! The front's side: start the engine host and wait for its handshake.

use std::ffi::OsString;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::spawn::Host;
use super::{READY, SERVE_FLAG};

/// How long the host may take to say `ready`.
pub const READY_WAIT: Duration = Duration::from_secs(20);

/// The host is up: its run and its control socket exist.
#[derive(Debug)]
pub struct Ready {
    pub run_dir: PathBuf,
    pub pid: u32,
    /// Lines the host wrote before its handshake, for the caller to print
    /// where they cannot land on a screen it has drawn.
    pub said: Vec<String>,
}

/// The host did not get ready: what it said (or why we gave up) and the
/// status to exit with.
#[derive(Debug)]
pub struct Failed {
    pub lines: Vec<String>,
    pub code: i32,
}

impl Failed {
    fn one(line: String, code: i32) -> Failed {
        Failed {
            lines: vec![line],
            code,
        }
    }
}

/// Starts this binary with `args` (a subcommand and its arguments, as the
/// user gave them) plus `--serve` right after the subcommand, in a session of
/// its own (`spawn`), stdin `/dev/null`, stderr appended to `<state>/slate.log`, and
/// waits at most [`READY_WAIT`] for its handshake on stdout. The host is
/// never waited for by the caller: a thread reaps it if it ends while this
/// process lives.
pub fn start(args: &[OsString], state_dir: &Path) -> Result<Ready, Failed> {
    let exe = std::env::current_exe()
        .map_err(|e| Failed::one(format!("slate: cannot find the slate binary: {e}"), 1))?;
    let mut argv = args.to_vec();
    // After the subcommand, so a `--` among the user's arguments cannot swallow it.
    argv.insert(argv.len().min(1), SERVE_FLAG.into());
    let log_path = state_dir.join(crate::logging::LOG_FILE);
    // Panics and anything else on stderr end up in the log, not lost.
    let stderr = crate::logging::open_log(state_dir).ok();
    let (child, stdout) = super::spawn::spawn(&exe, &argv, stderr)
        .map_err(|e| Failed::one(format!("slate: cannot start the engine: {e}"), 1))?;
    let pid = child.id();
    tracing::info!(pid, args = ?argv, "engine host started");
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("slate-handshake".into())
        .spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let ready = line.starts_with(READY);
                if tx.send(Some(line)).is_err() || ready {
                    return; // the read end closes: the host's later writes go nowhere
                }
            }
            let _ = tx.send(None);
        })
        .map_err(|e| Failed::one(format!("slate: {e}"), 1))?;

    let deadline = Instant::now() + READY_WAIT;
    let mut lines: Vec<String> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(line)) => match line.strip_prefix(READY) {
                Some(dir) => {
                    reap(child);
                    return Ok(Ready {
                        run_dir: PathBuf::from(dir),
                        pid,
                        said: lines,
                    });
                }
                None => lines.push(line),
            },
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait();
                let code = status.as_ref().ok().and_then(|s| s.code).unwrap_or(1);
                if lines.is_empty() {
                    let how = match status {
                        Ok(s) => s.shown,
                        Err(e) => e.to_string(),
                    };
                    lines.push(format!(
                        "slate: the engine stopped before it was ready ({how}); see {}",
                        log_path.display()
                    ));
                }
                return Err(Failed {
                    lines,
                    code: if code == 0 { 1 } else { code },
                });
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Not ready means no release has been handed over yet: stop it.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
                reap(child);
                lines.push(format!(
                    "slate: the engine did not get ready within {} s, so it was stopped; see {}",
                    READY_WAIT.as_secs(),
                    log_path.display()
                ));
                return Err(Failed { lines, code: 1 });
            }
        }
    }
}

/// Waits for the host on a thread, so it leaves no zombie while this process
/// lives; once this process is gone, the host is someone else's to reap.
fn reap(child: Host) {
    let spawned = std::thread::Builder::new()
        .name("slate-reap".into())
        .spawn(move || {
            let status = child.wait();
            tracing::info!(?status, "engine host exited");
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot reap the engine host");
    }
}
