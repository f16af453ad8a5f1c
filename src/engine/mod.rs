//! The engine: executes a plan, takes [`Command`]s, emits [`Record`]s.
//!
//! It knows no terminal. Every client — cockpit, headless printer, attach,
//! CLI verbs — holds an [`EngineHandle`]: commands go in through one channel,
//! records come out through a broadcast. Each record is appended to the
//! journal *before* the engine acts on it and before any client sees it.

mod analyze;
mod checks;
pub mod command;
mod commands;
pub mod event;
mod exec;
mod gates;
pub mod process;
mod record;
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
pub use rollback::undo_order;
pub use state::RunState;

/// What to do at a manual gate nobody pre-approved, or a rollback that needs a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unattended {
    /// Nobody can answer (headless without a control socket): fail closed.
    FailClosed,
    /// A client can answer: wait for a command.
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
    cmds: mpsc::Receiver<Command>,
    cmds_open: bool,
}

/// A client's connection to a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    pub run_id: String,
    pub run_dir: PathBuf,
    cmd_tx: mpsc::Sender<Command>,
    events: broadcast::Sender<Record>,
}

impl EngineHandle {
    /// Records from now on. Subscribe before the engine is spawned to see them all.
    pub fn subscribe(&self) -> broadcast::Receiver<Record> {
        self.events.subscribe()
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

pub fn runs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("runs")
}

impl Engine {
    /// Creates the run's directory and journal. Nothing runs until [`Engine::run`].
    pub fn new(plan: Plan, opts: EngineOptions) -> Result<(Engine, EngineHandle), Fatal> {
        let run_id = new_run_id();
        let run_dir = runs_dir(&opts.state_dir).join(&run_id);
        let mut journal = JournalWriter::create(&run_dir).map_err(|e| {
            Fatal(format!(
                "cannot create journal in {}: {e}",
                run_dir.display()
            ))
        })?;
        journal.set_durable(opts.durable);
        let steps = (0..plan.environments.len())
            .map(|e| env_steps(&plan, e))
            .collect();
        let (cmd_tx, cmds) = mpsc::channel(256);
        let (events, _) = broadcast::channel(65_536);
        let handle = EngineHandle {
            run_id: run_id.clone(),
            run_dir,
            cmd_tx,
            events: events.clone(),
        };
        Ok((
            Engine {
                plan,
                steps,
                opts,
                run_id,
                state: RunState::default(),
                journal,
                seq: 0,
                events,
                cmds,
                cmds_open: true,
            },
            handle,
        ))
    }

    /// Journal first, then state, then clients.
    fn emit(&mut self, event: Event) -> Result<(), Fatal> {
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
        let _ = self.events.send(rec);
        Ok(())
    }

    /// Runs the plan to the end and returns the final state.
    pub async fn run(mut self) -> RunState {
        if let Err(Fatal(msg)) = self.run_all().await {
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
