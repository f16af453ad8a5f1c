//! The runs someone can act on now: those whose engine runs (the index
//! says which runs claim to be running; the engine lock confirms it), those
//! whose engine still lingers after the run (a late rollback or a note
//! still works), and those whose engine died before the run ended (`slate
//! recover` takes them over).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Outcome, runs_dir};
use crate::engine::state::RunState;

/// Where a run's engine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Driving the run.
    Running,
    /// The run is over; the engine still answers (late rollback, notes).
    Lingering,
    /// Gone before the run ended: nothing drives it until `slate recover`.
    Interrupted,
}

impl Engine {
    /// Whether an engine answers commands for the run.
    pub fn live(self) -> bool {
        self != Engine::Interrupted
    }
}

/// One run someone can act on, as `slate status` shows it.
#[derive(Debug, Serialize)]
pub struct ActiveRun {
    pub run_id: String,
    pub engine: Engine,
    /// What brings it back, for an interrupted run: `slate recover RUN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recover: Option<String>,
    pub release: String,
    pub version: String,
    /// The status word ("running", "waiting for approval", "paused", …).
    pub status: String,
    /// The environment in progress.
    pub environment: Option<String>,
    pub waiting: Option<Waiting>,
    /// What keeps the run out of (or stopped inside) an environment: a
    /// lock, a hold or a freeze, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<String>,
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

/// The runs someone can act on, newest first: running, lingering after the
/// run, or interrupted (the store has already marked a crashed run so, see
/// `store::sync`). Only the store's unsettled runs are looked at: those not
/// over, and finished ones whose engine has not been seen to exit; a
/// finished run lingers only while it serves its socket, and one found not
/// to is marked so in the store.
pub fn active_runs(state_dir: &Path) -> Result<Vec<ActiveRun>, String> {
    let opened = crate::store::open(state_dir).map_err(|e| e.to_string())?;
    let store = opened.store;
    for n in &opened.notices {
        crate::warn_user!("slate: {n}");
    }
    for w in crate::store::sync::sync(store.as_ref(), state_dir).map_err(|e| e.to_string())? {
        crate::warn_user!("slate: warning: {w}");
    }
    Ok(active_in(store.as_ref(), state_dir)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|f| f.run)
        .collect())
}

/// An active run with what it was read from: its journal's records (the
/// plan as it ran is the first) and the state they replay to.
pub struct Found {
    pub run: ActiveRun,
    pub dir: PathBuf,
    pub open: super::OpenRun,
    pub state: RunState,
}

/// [`active_runs`] from a store already brought up to date (`store::sync`),
/// keeping each run's journal and state for a caller that needs more than
/// the one line (the board's inbox asks the run's plan who may approve).
pub fn active_in(
    store: &dyn crate::store::Store,
    state_dir: &Path,
) -> Result<Vec<Found>, crate::store::StoreError> {
    let unsettled = store.unsettled()?;
    let mut active = Vec::new();
    for s in &unsettled {
        let dir = runs_dir(state_dir).join(&s.run_id);
        let engine = match s.outcome {
            Outcome::Running if super::engine_running(&dir, s.pid) => Engine::Running,
            Outcome::Running | Outcome::Interrupted => Engine::Interrupted,
            _ if dir.join(crate::control::SOCKET_FILE).exists()
                && super::lock_state(&dir) == super::LockState::Held =>
            {
                Engine::Lingering
            }
            _ => {
                if let Err(e) = store.engine_gone(&s.run_id) {
                    tracing::warn!(error = %e, "cannot update the store");
                }
                continue;
            }
        };
        let Ok(open) = super::open_dir_states(&dir) else {
            continue;
        };
        let state = open.state();
        active.push(Found {
            run: describe(&dir, &state, engine),
            dir,
            open,
            state,
        });
    }
    Ok(active)
}

/// A run whose engine runs on another machine (it holds the run's lease in
/// the team store), from its state records there. `dir` is where the run
/// would be here: it is not, so it has no socket and no local engine pid.
pub fn remote(dir: PathBuf, records: Vec<crate::engine::Record>) -> Found {
    let open = super::OpenRun {
        dir: dir.clone(),
        records,
        warning: None,
        output: Vec::new(),
    };
    let state = open.state();
    Found {
        run: describe(&dir, &state, Engine::Running),
        dir,
        open,
        state,
    }
}

/// What `slate approve` and the other verbs say when nobody serves a run:
/// why, and what to do about it.
pub fn not_served(dir: &Path) -> String {
    let run = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ended = super::open_dir_states(dir)
        .ok()
        .map(|r| r.state())
        .map(|s| s.is_finished());
    match (super::lock_state(dir), ended) {
        (super::LockState::Held, _) => format!(
            "run {run} is not active: its engine is running but serves no control socket ({})",
            dir.join(crate::control::SOCKET_FILE).display()
        ),
        (_, Some(false)) => format!(
            "run {run} is interrupted: its engine stopped before the run ended; `slate recover {run}` takes it over"
        ),
        _ => format!("run {run} is not active"),
    }
}

fn describe(dir: &Path, state: &RunState, engine: Engine) -> ActiveRun {
    let socket = dir.join(crate::control::SOCKET_FILE);
    // A break-glass waiting for a second person is listed like a gate
    // (`slate approve RUN break-glass` answers it).
    let glass = state.glass_wait.as_ref().map(|g| Waiting {
        gate: crate::engine::state::admission::GLASS_GATE.to_string(),
        since: g.since,
        required: 1,
        approvals: 0,
    });
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
        engine,
        recover: (engine == Engine::Interrupted).then(|| format!("slate recover {}", state.run_id)),
        release: state.release.clone(),
        version: state.version.clone(),
        status: state.status.word().to_string(),
        environment: state
            .current_env
            .and_then(|e| state.envs.get(e))
            .map(|e| e.name.clone()),
        waiting: waiting.or(glass),
        held_back: state
            .glass_wait
            .as_ref()
            .map(|g| g.describe())
            .or_else(|| state.held_back.as_ref().map(|h| h.barrier.message.clone())),
        pid: super::lock::holder_pid(dir).unwrap_or(state.pid),
        socket: socket.exists().then_some(socket),
    }
}
