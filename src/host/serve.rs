//! The host's side: `slate run PLAN --serve`. Like headless, but it prints
//! nothing after the handshake, every decision waits for a command (the
//! cockpit, `slate attach` or the CLI verbs answer it), its control socket is
//! required, and it lingers after the run while anyone follows it.
//!
//! Signals: SIGTERM and SIGINT end the run without waiting for anyone
//! (abort and roll back what is in progress, take a pending decision the
//! safe way), or, once the run is over, let the host go; SIGHUP is ignored.

use std::path::Path;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::{Assembled, READY};
use crate::engine::{Actor, EngineHandle, Instruction, RunState};
use crate::signals::Signals;

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

/// Hosts an assembled run whose control socket is up: says `ready`, runs
/// the engine, and once its run is over and nobody follows it (for
/// [`GRACE`]), shuts it down. The exit status: 0 released, 1 not.
pub async fn drive(assembled: Assembled, mut signals: Signals) -> i32 {
    let Assembled {
        engine,
        handle,
        server,
        actor,
        warning,
        ..
    } = assembled;
    let Some(server) = server else {
        // `Shape::socket_required` makes assembling fail first.
        say("slate: the engine host has no control socket");
        return crate::exit::NOT_RELEASED;
    };
    if let Some(w) = &warning {
        // Journaled with the recovery too; the log keeps it for whoever looks.
        tracing::warn!(warning = %w, "recovering a journal with a torn tail");
    }
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
                tokio::spawn(async move { h.send(a, Instruction::Shutdown).await });
            }
            _ = signals.int.recv() => stop(&handle, &actor, "SIGINT"),
            _ = signals.term.recv() => stop(&handle, &actor, "SIGTERM"),
            _ = signals.hup.recv() => {
                tracing::info!("SIGHUP ignored: the engine host has no terminal");
            }
        }
    };
    // The engine has exited: followers get the last records, then the socket goes.
    server.close().await;
    let state = last.unwrap_or(state);
    tracing::info!(run = %handle.run_id, status = state.status.word(), "engine host exits");
    crate::exit::of_run(&state)
}

/// SIGTERM or SIGINT: the engine ends the run without waiting for anyone
/// (an active run is aborted, a decision it waits for taken the safe way),
/// or, once it is over, lets the host go.
fn stop(handle: &EngineHandle, actor: &Actor, name: &str) {
    tracing::warn!("{name}: stopping the run");
    handle.send_nowait(
        actor.clone(),
        Instruction::Terminate {
            reason: format!("the engine host received {name}"),
        },
    );
}

async fn replay_journal(handle: &EngineHandle) -> Option<RunState> {
    let path = handle.journal_path();
    tokio::task::spawn_blocking(move || crate::journal::read_journal_states(&path))
        .await
        .ok()?
        .ok()
        .map(|j| j.state())
}
