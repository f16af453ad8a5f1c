//! The host's side: `slate run PLAN --serve`. Like headless, but it prints
//! nothing after the handshake, every decision waits for a command (the
//! cockpit, `slate attach` or the CLI verbs answer it), its control socket is
//! required, and it lingers after the run while anyone follows it.
//!
//! Signals: SIGTERM and SIGINT abort with rollback (or, once the run is
//! over, let the host go); SIGHUP is ignored.

use std::path::Path;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

use super::READY;
use crate::control::ControlServer;
use crate::engine::{Action, Actor, Engine, EngineHandle, EngineOptions, RunState, Unattended};
use crate::headless::{EXIT_NOT_RELEASED, EXIT_RELEASED, EXIT_USAGE};

/// Once the run is over and nobody follows it, how long the host still
/// waits, so a cockpit that reconnects is not cut off.
pub const GRACE: Duration = Duration::from_millis(1500);

/// One handshake line on stdout (only before `ready`).
pub fn say(line: &str) {
    crate::output::out(line);
}

/// Says `ready <run_dir>`, then points stdout at `/dev/null`: nobody reads
/// it any more.
fn ready(run_dir: &Path) {
    say(&format!("{READY}{}", run_dir.display()));
    match std::fs::OpenOptions::new().write(true).open("/dev/null") {
        Ok(null) => {
            if let Err(e) = nix::unistd::dup2_stdout(&null) {
                tracing::warn!(error = %e, "cannot point stdout at /dev/null");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot open /dev/null"),
    }
}

/// The signal handlers a run's host installs (the engine host here, and
/// headless), before the run exists: a signal in between would otherwise
/// kill it with a half-written journal.
pub struct Signals {
    pub int: Signal,
    pub term: Signal,
    pub hup: Signal,
}

impl Signals {
    pub fn install() -> Option<Signals> {
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
            hup: signal(SignalKind::hangup()).ok()?,
        })
    }
}

/// `slate run PLAN --serve`: loads the plan, starts its run and hosts it.
/// Problems go to stdout (the handshake) with headless's exit codes.
pub async fn serve_plan(plan_path: &Path, state_dir: &Path) -> i32 {
    let plan = match crate::plan::load_file(plan_path) {
        Ok(p) => p,
        Err(e) => {
            for line in e.lines() {
                say(&line);
            }
            return EXIT_USAGE;
        }
    };
    let Some(signals) = Signals::install() else {
        say(
            "slate: cannot install signal handlers; refusing to start a release that a signal could corrupt",
        );
        return EXIT_NOT_RELEASED;
    };
    let actor = Actor::current("cockpit");
    let mut opts = EngineOptions::new(plan_path.display().to_string(), state_dir, actor.clone());
    opts.unattended = Unattended::Wait;
    opts.linger = true;
    let (engine, handle) = match Engine::new(plan, opts) {
        Ok(x) => x,
        Err(e) => {
            say(&format!("slate: {}", e.0));
            return EXIT_NOT_RELEASED;
        }
    };
    let server = match open_socket(&handle) {
        Ok(s) => s,
        Err(msg) => {
            say(&msg);
            // Nothing has run: leave no empty run behind.
            drop(engine);
            let _ = std::fs::remove_dir_all(&handle.run_dir);
            return EXIT_NOT_RELEASED;
        }
    };
    host(engine, handle, server, actor, signals).await
}

/// `slate recover RUN --serve`: takes the dead engine's run over and hosts it.
pub async fn serve_recover(
    run: &str,
    interrupted: Option<crate::engine::event::RollbackChoice>,
    state_dir: &Path,
) -> i32 {
    let run_dir = match crate::runs::find_run(state_dir, run) {
        Ok(d) => d,
        Err(e) => {
            say(&format!("slate: {e}"));
            return EXIT_USAGE;
        }
    };
    let Some(signals) = Signals::install() else {
        say(
            "slate: cannot install signal handlers; refusing to take over a release that a signal could corrupt",
        );
        return EXIT_NOT_RELEASED;
    };
    let actor = Actor::current("cockpit");
    let mut opts = EngineOptions::new(run_dir.display().to_string(), state_dir, actor.clone());
    opts.unattended = Unattended::Wait;
    opts.linger = true;
    opts.on_interrupted = interrupted;
    let taken = match Engine::recover(&run_dir, opts) {
        Ok(t) => t,
        Err(refused) => {
            say(&format!("slate: {}", refused.message));
            return refused.code;
        }
    };
    if let Some(w) = &taken.warning {
        // Journaled with the recovery too; the log keeps it for whoever looks.
        tracing::warn!(warning = %w, "recovering a journal with a torn tail");
    }
    let server = match open_socket(&taken.handle) {
        Ok(s) => s,
        Err(msg) => {
            say(&msg);
            return EXIT_NOT_RELEASED;
        }
    };
    host(taken.engine, taken.handle, server, actor, signals).await
}

/// The run's control socket. A host requires it: without it nobody could
/// answer a gate or even see the run.
pub fn open_socket(handle: &EngineHandle) -> Result<ControlServer, String> {
    ControlServer::start(handle.clone()).map_err(|e| {
        let path = handle.run_dir.join(crate::control::SOCKET_FILE);
        tracing::error!(error = %e, path = %path.display(), "cannot open the control socket");
        format!(
            "slate: cannot open the control socket {}: {e}; nobody could steer the run, so it was not started",
            path.display()
        )
    })
}

/// Hosts a built engine whose control socket is up: says `ready`, runs the
/// engine, and once its run is over and nobody follows it (for [`GRACE`]),
/// shuts it down. The exit status: 0 released, 1 not.
pub async fn host(
    engine: Engine,
    handle: EngineHandle,
    server: ControlServer,
    actor: Actor,
    mut signals: Signals,
) -> i32 {
    // Subscribed before the engine starts: the replica sees every record.
    let mut records = handle.subscribe_states();
    let mut followers = server.subscribers();
    let mut engine_task = tokio::spawn(engine.run());
    ready(&handle.run_dir);
    tracing::info!(run = %handle.run_id, pid = std::process::id(), "engine host ready");

    let mut state = RunState::default();
    let mut records_open = true;
    let mut followers_open = true;
    // A shutdown was asked for and no record has come since.
    let mut asked = false;
    let last = loop {
        let alone = state.is_finished() && *followers.borrow() == 0 && !asked;
        tokio::select! {
            done = &mut engine_task => break done.ok(),
            rec = records.recv(), if records_open => match rec {
                Ok(r) => {
                    state.apply(&r);
                    asked = false;
                }
                // Fell behind: the journal has every record.
                Err(RecvError::Lagged(_)) => {
                    if let Some(s) = replay_journal(&handle).await {
                        state = s;
                    }
                    asked = false;
                }
                Err(RecvError::Closed) => records_open = false,
            },
            changed = followers.changed(), if followers_open => {
                if changed.is_err() {
                    followers_open = false;
                }
            }
            () = tokio::time::sleep(GRACE), if alone => {
                // Over, and nobody follows: let the engine go. Refused only if a
                // late rollback began meanwhile; its records reset `asked`.
                tracing::info!("the run is over and nobody follows it: shutting down");
                asked = true;
                let (h, a) = (handle.clone(), actor.clone());
                tokio::spawn(async move { h.send(a, Action::Shutdown).await });
            }
            _ = signals.int.recv() => stop(&handle, &actor, &state, "SIGINT"),
            _ = signals.term.recv() => stop(&handle, &actor, &state, "SIGTERM"),
            _ = signals.hup.recv() => {
                tracing::info!("SIGHUP ignored: the engine host has no terminal");
            }
        }
    };
    // The engine has exited: followers get the last records, then the socket goes.
    server.close().await;
    let state = last.unwrap_or(state);
    tracing::info!(run = %handle.run_id, status = state.status.word(), "engine host exits");
    match state.outcome {
        Some(o) if o.released() => EXIT_RELEASED,
        _ => EXIT_NOT_RELEASED,
    }
}

/// SIGTERM or SIGINT: abort an active run (with rollback); once it is over,
/// let the host go.
fn stop(handle: &EngineHandle, actor: &Actor, state: &RunState, name: &str) {
    if state.is_finished() {
        tracing::info!("{name}: the run is over; shutting down");
        handle.send_nowait(actor.clone(), Action::Shutdown);
    } else {
        tracing::warn!("{name}: aborting the run");
        handle.send_nowait(
            actor.clone(),
            Action::Abort {
                reason: format!("the engine host received {name}"),
            },
        );
    }
}

async fn replay_journal(handle: &EngineHandle) -> Option<RunState> {
    let path = handle.journal_path();
    tokio::task::spawn_blocking(move || crate::journal::read_journal_states(&path))
        .await
        .ok()?
        .ok()
        .map(|j| RunState::replay(&j.records))
}
