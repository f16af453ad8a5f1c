//! What clients hold: a handle on a running engine (commands in, records
//! out, the journal's flush watermark, holds on the end of the run), and a
//! weak one that keeps nothing open.

use std::path::PathBuf;

use tokio::sync::{broadcast, mpsc};

use super::{Command, Hold, Instruction, Record, Reply, hold};
use crate::engine::event::Actor;

/// A client's connection to a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// The group the plan shares the run with, if any.
    pub sharing: Option<crate::runs::Sharing>,
    pub(super) cmd_tx: mpsc::Sender<Command>,
    pub(super) rest: Shared,
}

/// What every handle, strong or weak, shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) events: broadcast::Sender<Record>,
    pub(super) states: broadcast::Sender<Record>,
    pub(super) on_disk: tokio::sync::watch::Receiver<u64>,
    pub(super) holds: hold::Registry,
    /// Why the engine stopped before the run's end could be journaled (a
    /// journal it can no longer write): set once, as it stops.
    pub(super) stopped: std::sync::Arc<std::sync::OnceLock<String>>,
}

/// A handle that keeps nothing open: the engine still learns when every
/// (strong) client has gone, and a receiver still sees the broadcast close
/// when the engine has exited. For clients that only speak now and then
/// (the notifier reporting a delivery).
#[derive(Clone)]
pub struct WeakHandle {
    run_id: String,
    run_dir: PathBuf,
    sharing: Option<crate::runs::Sharing>,
    cmd_tx: mpsc::WeakSender<Command>,
    events: broadcast::WeakSender<Record>,
    states: broadcast::WeakSender<Record>,
    on_disk: tokio::sync::watch::Receiver<u64>,
    holds: hold::Registry,
    stopped: std::sync::Arc<std::sync::OnceLock<String>>,
}

impl WeakHandle {
    /// A strong handle, while some client still holds one.
    pub fn upgrade(&self) -> Option<EngineHandle> {
        Some(EngineHandle {
            run_id: self.run_id.clone(),
            run_dir: self.run_dir.clone(),
            sharing: self.sharing.clone(),
            cmd_tx: self.cmd_tx.upgrade()?,
            rest: Shared {
                events: self.events.upgrade()?,
                states: self.states.upgrade()?,
                on_disk: self.on_disk.clone(),
                holds: self.holds.clone(),
                stopped: self.stopped.clone(),
            },
        })
    }
}

impl EngineHandle {
    /// The last sequence number written to the journal file, and its
    /// changes: followers read the file (the truth) and wake on this.
    pub fn on_disk(&self) -> tokio::sync::watch::Receiver<u64> {
        self.rest.on_disk.clone()
    }

    /// Records from now on. Subscribe before the engine is spawned to see them all.
    pub fn subscribe(&self) -> broadcast::Receiver<Record> {
        self.rest.events.subscribe()
    }

    /// Every record but stage output, from now on: for clients that keep
    /// the run's state (a replica, the notifier) and must not pay for a
    /// flood they ignore.
    pub fn subscribe_states(&self) -> broadcast::Receiver<Record> {
        self.rest.states.subscribe()
    }

    /// Asks the engine to wait, after every `RunFinished` and before it
    /// exits, until this client reports it has handled the last record (or
    /// drops the hold), for at most `bound` (see `hold.rs`).
    pub fn hold(&self, bound: std::time::Duration) -> Hold {
        self.rest.holds.hold(bound)
    }

    /// This handle without its claim on the command channel.
    pub fn downgrade(&self) -> WeakHandle {
        WeakHandle {
            run_id: self.run_id.clone(),
            run_dir: self.run_dir.clone(),
            sharing: self.sharing.clone(),
            cmd_tx: self.cmd_tx.downgrade(),
            events: self.rest.events.downgrade(),
            states: self.rest.states.downgrade(),
            on_disk: self.rest.on_disk.clone(),
            holds: self.rest.holds.clone(),
            stopped: self.rest.stopped.clone(),
        }
    }

    /// Why the engine stopped without journaling the run's end, once it has.
    pub fn stopped_because(&self) -> Option<String> {
        self.rest.stopped.get().cloned()
    }

    /// Sends a command and waits for the engine's answer.
    pub async fn send(&self, actor: Actor, instruction: impl Into<Instruction>) -> Reply {
        let (cmd, rx) = Command::new(actor, instruction);
        self.cmd_tx
            .send(cmd)
            .await
            .map_err(|_| "the engine has stopped".to_string())?;
        rx.await
            .map_err(|_| "the engine stopped before answering".to_string())?
    }

    /// Sends a command without waiting for the answer (from signal handlers).
    pub fn send_nowait(&self, actor: Actor, instruction: impl Into<Instruction>) {
        let _ = self.cmd_tx.try_send(Command {
            actor,
            instruction: instruction.into(),
            reply: None,
        });
    }

    /// Hands an already built command to the engine, waiting for room;
    /// `false` when the engine has stopped taking commands.
    pub async fn send_command(&self, cmd: Command) -> bool {
        self.cmd_tx.send(cmd).await.is_ok()
    }

    pub fn journal_path(&self) -> PathBuf {
        self.run_dir.join(crate::journal::JOURNAL_FILE)
    }
}
