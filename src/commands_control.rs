//! `slate status` and the verbs that steer an active run through its control
//! socket: approve, reject, pause, resume, rollback, abort.
//!
//! Exit status: 0 the engine accepted, 1 it refused (its reason is printed),
//! 2 usage errors or a run that is not active.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::control::{Client, ClientError, Request, Response, WireCommand};
use crate::engine::runs_dir;
use crate::engine::state::RunState;
use crate::runs::{self, Outcome};

pub const EXIT_ACCEPTED: i32 = 0;
pub const EXIT_REFUSED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// Sends one command to the run's engine, as the OS user running this process.
pub fn command(state_dir: &Path, run: &str, cmd: WireCommand) -> i32 {
    let dir = match runs::find_run(state_dir, run) {
        Ok(d) => d,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return EXIT_USAGE;
        }
    };
    let mut client = match Client::connect(&dir) {
        Ok(c) => c,
        Err(ClientError::NotActive(m)) => {
            if runs::lock_state(&dir) == runs::LockState::Held {
                crate::warn_user!(
                    "slate: {m}: its engine is running but serves no control socket ({})",
                    crate::control::client::socket_path(&dir).display()
                );
            } else {
                crate::warn_user!("slate: {m}");
            }
            return EXIT_USAGE;
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return EXIT_REFUSED;
        }
    };
    match client.request(&Request::Command {
        command: cmd,
        client: Some("cli".into()),
    }) {
        Ok(Response::Ok(what)) => {
            crate::say!("{what}");
            EXIT_ACCEPTED
        }
        Ok(Response::Error(why)) => {
            crate::warn_user!("slate: refused: {why}");
            EXIT_REFUSED
        }
        Ok(other) => {
            crate::warn_user!("slate: unexpected reply from the run's engine: {other:?}");
            EXIT_REFUSED
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            EXIT_REFUSED
        }
    }
}

/// One active run, as `slate status` shows it.
#[derive(Debug, Serialize)]
pub struct ActiveRun {
    pub run_id: String,
    pub release: String,
    pub version: String,
    /// The status word ("running", "waiting for approval", "paused", …).
    pub status: String,
    /// The environment in progress.
    pub environment: Option<String>,
    pub waiting: Option<Waiting>,
    pub pid: u32,
    /// The control socket, when the run serves one.
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Waiting {
    pub gate: String,
    pub since: jiff::Timestamp,
    pub required: u32,
    pub approvals: u32,
}

/// The runs whose engine holds its lock now, newest first. The index says
/// which runs claim to be running; the lock confirms it.
pub fn active_runs(state_dir: &Path) -> Vec<ActiveRun> {
    let history = runs::load(state_dir);
    let mut active = Vec::new();
    for s in history
        .runs
        .iter()
        .filter(|s| s.outcome == Outcome::Running)
    {
        let dir = runs_dir(state_dir).join(&s.run_id);
        if !runs::engine_running(&dir, s.pid) {
            continue;
        }
        let Ok(run) = runs::open_dir_states(&dir) else {
            continue;
        };
        let state = RunState::replay(&run.records);
        active.push(describe(&dir, &state));
    }
    active
}

fn describe(dir: &Path, state: &RunState) -> ActiveRun {
    let socket = crate::control::client::socket_path(dir);
    let waiting = state.waiting.as_ref().map(|w| Waiting {
        gate: w.gate.clone(),
        since: w.since,
        required: w.required,
        approvals: state
            .envs
            .get(w.env)
            .map(|e| {
                let mut users: Vec<&str> = e
                    .approvals
                    .iter()
                    .filter(|a| a.gate == w.gate && a.step == w.step)
                    .map(|a| a.user.as_str())
                    .collect();
                users.sort_unstable();
                users.dedup();
                users.len() as u32
            })
            .unwrap_or(0),
    });
    ActiveRun {
        run_id: state.run_id.clone(),
        release: state.release.clone(),
        version: state.version.clone(),
        status: state.status.word().to_string(),
        environment: state
            .current_env
            .and_then(|e| state.envs.get(e))
            .map(|e| e.name.clone()),
        waiting,
        pid: runs::lock::holder_pid(dir).unwrap_or(state.pid),
        socket: socket.exists().then_some(socket),
    }
}

/// `slate status`: the active runs, one line each (or JSON).
pub fn status(state_dir: &Path, json: bool) -> i32 {
    let active = active_runs(state_dir);
    if json {
        match serde_json::to_string_pretty(&active) {
            Ok(text) => crate::say!("{text}"),
            Err(e) => {
                crate::warn_user!("slate: {e}");
                return 1;
            }
        }
        return 0;
    }
    if active.is_empty() {
        crate::say!("no active runs");
        return 0;
    }
    let now = jiff::Timestamp::now();
    for r in &active {
        let mut line = format!("{}  {} {}  {}", r.run_id, r.release, r.version, r.status);
        if let Some(env) = &r.environment {
            line.push_str(&format!("  in {env}"));
        }
        if let Some(w) = &r.waiting {
            let waited = now.duration_since(w.since).unsigned_abs().as_secs();
            line.push_str(&format!(
                "  gate {} ({} of {} approvals) waiting since {} ({})",
                w.gate,
                w.approvals,
                w.required,
                w.since.strftime("%H:%M:%S"),
                humantime::format_duration(std::time::Duration::from_secs(waited))
            ));
        }
        line.push_str(&format!("  pid {}", r.pid));
        if r.socket.is_none() {
            line.push_str("  (no control socket)");
        }
        crate::say!("{line}");
    }
    0
}
