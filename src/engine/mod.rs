//! The engine: executes a plan, takes [`Command`]s, emits [`Record`]s.
//!
//! It knows no terminal. Every client — cockpit, headless printer, attach,
//! CLI verbs — holds an [`EngineHandle`]: commands go in through one channel,
//! records come out through a broadcast. Each record is appended to the
//! journal *before* the engine acts on it and before any client sees it.

mod analyze;
mod artifacts;
mod checks;
pub mod command;
mod commands;
pub mod event;
mod evidence;
mod exec;
mod gates;
pub mod leftovers;
pub mod policy;
pub mod process;
mod record;
mod recover;
pub mod resume;
mod rollback;
pub mod state;
mod walk;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use tokio::sync::{broadcast, mpsc};

use crate::journal::{JournalWriter, new_run_id};
use crate::plan::Plan;
use crate::plan::steps::{Step, StepKind, env_steps};

pub use command::{Action, Command, Reply};
pub use event::{Actor, Event, Record, RunOutcome};
pub use recover::{Recovering, Refused};
pub use rollback::undo_order;
pub use state::RunState;

/// What to do at a manual gate nobody pre-approved, or a rollback that needs a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unattended {
    /// Nobody can answer (headless without a control socket): fail closed.
    FailClosed,
    /// Gates, inconclusive analyses and decisions wait for a command (the
    /// control socket and the CLI verbs can answer them).
    WaitAtGates,
    /// A client can answer anything: wait for a command.
    Wait,
}

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub plan_path: String,
    /// Directory holding `runs/`.
    pub state_dir: PathBuf,
    /// Who started the run.
    pub actor: Actor,
    /// Gates approved in advance (`--approve GATE`).
    pub pre_approved: Vec<String>,
    /// Approve every manual gate (`--auto-approve`).
    pub auto_approve: bool,
    pub unattended: Unattended,
    /// Stay up after the run ends, for late rollbacks, until a Shutdown command.
    pub linger: bool,
    /// fsync state changes (on by default).
    pub durable: bool,
    /// Recovery: what to do with a step the crash interrupted, decided in
    /// advance (`--interrupted retry|done|rollback`); otherwise someone is asked.
    pub on_interrupted: Option<event::RollbackChoice>,
}

impl EngineOptions {
    pub fn new(plan_path: impl Into<String>, state_dir: impl Into<PathBuf>, actor: Actor) -> Self {
        Self {
            plan_path: plan_path.into(),
            state_dir: state_dir.into(),
            actor,
            pre_approved: Vec::new(),
            auto_approve: false,
            unattended: Unattended::FailClosed,
            linger: false,
            durable: true,
            on_interrupted: None,
        }
    }
}

/// A fault that stops the engine itself (the journal cannot be written).
#[derive(Debug)]
pub struct Fatal(pub String);

/// Why the walk through an environment stopped early.
#[derive(Debug)]
enum Stop {
    Abort {
        reason: String,
    },
    Rollback {
        reason: String,
    },
    StepFailed {
        step: usize,
        message: String,
    },
    GateRejected {
        step: usize,
        gate: String,
        reason: String,
    },
    GateFailed {
        step: usize,
        gate: String,
        reason: String,
    },
    AnalysisFailed {
        step: usize,
        analysis: String,
        reason: String,
    },
    Fatal(Fatal),
}

impl From<Fatal> for Stop {
    fn from(f: Fatal) -> Self {
        Stop::Fatal(f)
    }
}

pub struct Engine {
    plan: Plan,
    steps: Vec<Vec<Step>>,
    opts: EngineOptions,
    run_id: String,
    state: RunState,
    journal: JournalWriter,
    seq: u64,
    events: broadcast::Sender<Record>,
    /// The same without stage output (see [`EngineHandle::subscribe_states`]).
    states: broadcast::Sender<Record>,
    cmds: mpsc::Receiver<Command>,
    cmds_open: bool,
    /// The command channel, held weakly so it still closes when every client
    /// has gone; the notifier and requeued commands upgrade it briefly.
    cmd_weak: mpsc::WeakSender<Command>,
    /// The webhook notifier, when the plan has channels.
    notifier: Option<crate::notify::Link>,
    /// One engine per run: held until the engine is dropped (or the process dies).
    _lock: crate::runs::EngineLock,
    /// Set when this engine takes over a run whose engine died.
    recovery: Option<recover::Taking>,
    /// The step a recovery re-enters: a timer or gate there goes on from
    /// where it was, and a command step counts its attempts on.
    resuming: Option<(usize, usize)>,
    /// Secret values, resolved when the run starts; given to the stages that
    /// name them and masked out of every record.
    secrets: crate::secrets::Resolved,
    masker: crate::secrets::Masker,
}

/// A run's directory with its journal open for appending and its lock held;
/// `state` is what the journal holds so far (nothing for a new run).
struct Opened {
    run_id: String,
    run_dir: PathBuf,
    journal: JournalWriter,
    lock: crate::runs::EngineLock,
    state: RunState,
    sharing: Option<crate::runs::Sharing>,
}

/// A client's connection to a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// The group the plan shares the run with, if any.
    pub sharing: Option<crate::runs::Sharing>,
    cmd_tx: mpsc::Sender<Command>,
    events: broadcast::Sender<Record>,
    states: broadcast::Sender<Record>,
    on_disk: tokio::sync::watch::Receiver<u64>,
}

impl EngineHandle {
    /// The last sequence number written to the journal file, and its
    /// changes: followers read the file (the truth) and wake on this.
    pub fn on_disk(&self) -> tokio::sync::watch::Receiver<u64> {
        self.on_disk.clone()
    }

    /// Records from now on. Subscribe before the engine is spawned to see them all.
    pub fn subscribe(&self) -> broadcast::Receiver<Record> {
        self.events.subscribe()
    }

    /// Every record but stage output, from now on: for clients that keep
    /// the run's state (a replica, the notifier) and must not pay for a
    /// flood they ignore.
    pub fn subscribe_states(&self) -> broadcast::Receiver<Record> {
        self.states.subscribe()
    }

    /// Sends a command and waits for the engine's answer.
    pub async fn send(&self, actor: Actor, action: Action) -> Reply {
        let (cmd, rx) = Command::new(actor, action);
        self.cmd_tx
            .send(cmd)
            .await
            .map_err(|_| "the engine has stopped".to_string())?;
        rx.await
            .map_err(|_| "the engine stopped before answering".to_string())?
    }

    /// Sends a command without waiting for the answer (from signal handlers).
    pub fn send_nowait(&self, actor: Actor, action: Action) {
        let _ = self.cmd_tx.try_send(Command {
            actor,
            action,
            reply: None,
        });
    }

    pub fn journal_path(&self) -> PathBuf {
        self.run_dir.join(crate::journal::JOURNAL_FILE)
    }
}

/// Opens the run to the group its plan names, if any: its directory, journal
/// and lock (the socket follows when it is bound).
pub(crate) fn share(
    plan: &Plan,
    state_dir: &Path,
    run_dir: &Path,
) -> Result<Option<crate::runs::Sharing>, String> {
    let Some(group) = &plan.access else {
        return Ok(None);
    };
    let s = crate::runs::Sharing::resolve(group)?;
    let files = [
        run_dir.join(crate::journal::JOURNAL_FILE),
        run_dir.join(crate::runs::lock::LOCK_FILE),
    ];
    s.run_dir(state_dir, run_dir)
        .and_then(|_| files.iter().try_for_each(|f| s.file(f)))
        .map_err(|e| format!("cannot share {} with group {group}: {e}", run_dir.display()))?;
    Ok(Some(s))
}

pub fn runs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("runs")
}

impl Engine {
    /// Creates the run's directory and journal. Nothing runs until [`Engine::run`].
    pub fn new(plan: Plan, mut opts: EngineOptions) -> Result<(Engine, EngineHandle), Fatal> {
        // Journaled absolute, so a recovery from another directory finds the plan's own.
        if let Ok(p) = std::path::absolute(&opts.plan_path) {
            opts.plan_path = p.display().to_string();
        }
        let run_id = new_run_id();
        let run_dir = runs_dir(&opts.state_dir).join(&run_id);
        let journal = JournalWriter::create(&run_dir).map_err(|e| {
            Fatal(format!(
                "cannot create journal in {}: {e}",
                run_dir.display()
            ))
        })?;
        let lock = crate::runs::EngineLock::acquire(&run_dir).map_err(Fatal)?;
        let sharing = share(&plan, &opts.state_dir, &run_dir).map_err(Fatal)?;
        Ok(Self::assemble(
            plan,
            opts,
            Opened {
                run_id,
                run_dir,
                journal,
                lock,
                state: RunState::default(),
                sharing,
            },
        ))
    }

    /// The engine around an opened run.
    fn assemble(plan: Plan, opts: EngineOptions, opened: Opened) -> (Engine, EngineHandle) {
        let Opened {
            run_id,
            run_dir,
            mut journal,
            lock,
            state,
            sharing,
        } = opened;
        journal.set_durable(opts.durable);
        let steps = (0..plan.environments.len())
            .map(|e| env_steps(&plan, e))
            .collect();
        let (cmd_tx, cmds) = mpsc::channel(256);
        let cmd_weak = cmd_tx.downgrade();
        let (events, _) = broadcast::channel(65_536);
        let (states, _) = broadcast::channel(4_096);
        let handle = EngineHandle {
            run_id: run_id.clone(),
            run_dir,
            sharing,
            cmd_tx,
            events: events.clone(),
            states: states.clone(),
            on_disk: journal.on_disk(),
        };
        let seq = state.last_seq;
        (
            Engine {
                plan,
                steps,
                opts,
                run_id,
                state,
                journal,
                seq,
                events,
                states,
                cmds,
                cmds_open: true,
                cmd_weak,
                notifier: None,
                _lock: lock,
                recovery: None,
                resuming: None,
                secrets: Default::default(),
                masker: Default::default(),
            },
            handle,
        )
    }

    /// Changes what happens when nobody pre-approved a gate, before the run
    /// starts (headless decides once it knows whether its control socket is up).
    pub fn set_unattended(&mut self, unattended: Unattended) {
        self.opts.unattended = unattended;
    }

    /// Resolves the plan's secrets (at the start, and again after a crash:
    /// values are never stored); from then on records are masked.
    async fn resolve_secrets(&mut self) -> Result<(), Fatal> {
        if self.plan.secrets.is_empty() {
            return Ok(());
        }
        let resolved = crate::secrets::resolve(&self.plan).await.map_err(Fatal)?;
        self.masker = crate::secrets::Masker::new(&resolved);
        self.secrets = resolved;
        Ok(())
    }

    /// Journal first, then state, then clients.
    fn emit(&mut self, mut event: Event) -> Result<(), Fatal> {
        if !self.masker.is_empty() {
            event = self.mask(event);
        }
        self.seq += 1;
        let rec = Record {
            seq: self.seq,
            ts: Timestamp::now(),
            event,
        };
        self.journal.append(&rec).map_err(|e| {
            Fatal(format!(
                "cannot write the journal {}: {e}",
                self.journal.path().display()
            ))
        })?;
        self.state.apply(&rec);
        if rec.event.is_state_change() {
            let _ = self.states.send(rec.clone());
        }
        // Without receivers (a cockpit follows the journal file instead) this costs a lock.
        let _ = self.events.send(rec);
        Ok(())
    }

    /// Runs the plan to the end and returns the final state.
    pub async fn run(mut self) -> RunState {
        if !self.plan.channels.is_empty() {
            // Subscribed before the first record, so it hears RunStarted.
            self.notifier = Some(crate::notify::spawn(crate::notify::Setup {
                plan: self.plan.clone(),
                records: self.states.subscribe(),
                commands: self.cmd_weak.clone(),
                journal: self.journal.path().to_path_buf(),
            }));
        }
        let result = match self.recovery.take() {
            Some(taking) => self.resume_all(taking).await,
            None => self.run_all().await,
        };
        if let Err(Fatal(msg)) = result {
            tracing::error!(%msg, "engine stopped");
            if self
                .emit(Event::RunFinished {
                    outcome: RunOutcome::Failed,
                    message: msg,
                })
                .is_ok()
            {
                self.record_finished().await;
            }
        }
        let _ = self.journal.flush();
        self.state
    }

    /// The event with every secret value replaced. Output lines (the bulk)
    /// directly; anything else through its JSON form, so no field is missed.
    fn mask(&self, mut event: Event) -> Event {
        if let Event::Output { line, .. } = &mut event {
            if let Some(m) = self.masker.mask(line) {
                *line = m;
            }
            return event;
        }
        let Ok(mut v) = serde_json::to_value(&event) else {
            return event;
        };
        if !self.masker.mask_json(&mut v) {
            return event;
        }
        serde_json::from_value(v).unwrap_or(event)
    }

    fn step(&self, env: usize, step: usize) -> &Step {
        &self.steps[env][step]
    }

    fn outline(&self) -> Vec<event::EnvOutline> {
        self.plan
            .environments
            .iter()
            .zip(&self.steps)
            .map(|(env, steps)| event::EnvOutline {
                name: env.name.clone(),
                strategy: env.strategy.name().to_string(),
                steps: steps
                    .iter()
                    .map(|s| {
                        let (kind, stage, timeout, irreversible) = match &s.kind {
                            StepKind::Run(r) => {
                                let st = &self.plan.stages[r.stage];
                                (
                                    "run",
                                    Some(st.name.clone()),
                                    Some(st.timeout.as_millis() as u64),
                                    r.irreversible,
                                )
                            }
                            StepKind::Gate { .. } => ("gate", None, None, false),
                            StepKind::Pause { wait } => {
                                ("pause", None, Some(wait.as_millis() as u64), false)
                            }
                            StepKind::Analysis { window, .. } => (
                                "analysis",
                                None,
                                window.map(|w| w.as_millis() as u64),
                                false,
                            ),
                            StepKind::Checks { .. } => ("checks", None, None, false),
                        };
                        event::StepOutline {
                            label: s.label.clone(),
                            kind: kind.to_string(),
                            stage,
                            timeout_ms: timeout,
                            irreversible,
                        }
                    })
                    .collect(),
            })
            .collect()
    }
}
