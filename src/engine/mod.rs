//! The engine: executes a plan, takes [`Command`]s, emits [`Record`]s.
//!
//! It knows no terminal and starts no clients. Every client — cockpit,
//! headless printer, notifier, record writer, CLI verbs through the control
//! socket — holds an [`EngineHandle`]: commands go in through one channel,
//! records come out through a broadcast. Each record is appended to the
//! journal *before* the engine acts on it and before any client sees it.
//! Clients that must see the end of the run take a [`Hold`] (see `hold.rs`).

pub mod admission;
mod analyze;
mod artifacts;
mod backoff;
mod change;
mod checks;
pub mod command;
mod commands;
pub mod event;
mod evidence;
mod exec;
mod gates;
mod handle;
mod hold;
pub mod leftovers;
mod outline;
pub mod policy;
pub mod process;
mod promote;
mod recover;
pub mod resume;
mod rollback;
mod settle;
pub mod state;
mod walk;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use tokio::sync::{broadcast, mpsc};

use crate::journal::{Durable, JournalWriter, new_run_id};
use crate::plan::Plan;
use crate::plan::steps::{Step, env_steps};

pub use command::{Action, Command, Instruction, Reply};
pub use event::{Actor, Event, Record, RunOutcome};
pub use handle::{EngineHandle, WeakHandle};
pub use hold::Hold;
pub use outline::outline;
pub(crate) use recover::unseal;
pub use recover::{Recovering, Refused};
pub use rollback::{undo_order, undo_order_where};
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
    /// How long to wait for an environment someone else holds
    /// (`--lock-wait`); overrides the plan's `lock_wait`. None: the plan's.
    pub lock_wait: Option<std::time::Duration>,
    /// `--break-glass REASON`: cross a freeze or a person's hold, if the policy allows.
    pub break_glass: Option<String>,
    /// Who may break glass, from the team's config (it overrides the plan's).
    pub break_glass_policy: Option<Vec<String>>,
    /// The team's config asks for a second person's approval of every
    /// break-glass (so does a plan's `break_glass_second`).
    pub break_glass_second: bool,
    /// `slate rollback --to`: the run is a rollback to a known-good version.
    pub rollback_to: Option<event::RollbackTo>,
    /// `--unpin REASON`: promote over a pin a rollback left (journaled).
    pub unpin: Option<String>,
    /// Recovery on another machine than the dead engine's (a team run):
    /// that machine, whose leftover processes this one cannot stop.
    pub foreign: Option<String>,
    /// How many records the every-record channel ([`EngineHandle::subscribe`])
    /// keeps for a client that falls behind. tokio allocates and writes every
    /// slot when the channel is made, about 400 bytes a record: 65,536 are
    /// 26 MB and most of 10 ms before the run's first record. The headless
    /// printer, which prints every line, wants them; an engine host whose
    /// followers read the journal file (the cockpit's) keeps a few.
    pub every_record_buffer: usize,
}

/// The every-record channel's size for a client that prints every line.
pub const EVERY_RECORD_BUFFER: usize = 65_536;

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
            lock_wait: None,
            break_glass: None,
            break_glass_policy: None,
            break_glass_second: false,
            rollback_to: None,
            unpin: None,
            foreign: None,
            every_record_buffer: EVERY_RECORD_BUFFER,
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
    /// Nothing was proven, and the environment does not carry on without proof.
    AnalysisInconclusive {
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
    cmds: mpsc::Receiver<Command>,
    cmds_open: bool,
    /// The command channel, held weakly so it still closes when every client
    /// has gone; requeued commands upgrade it briefly.
    cmd_weak: mpsc::WeakSender<Command>,
    /// Clients that must see the end of the run (see `hold.rs`).
    holds: hold::Holds,
    /// The engine's process was told to stop ([`Instruction::Terminate`]):
    /// every decision from now on is taken the safe way, without waiting.
    terminating: Option<String>,
    /// One engine per run: held until the engine is dropped (or the process dies).
    _lock: crate::runs::EngineLock,
    /// Set when this engine takes over a run whose engine died.
    recovery: Option<recover::Taking>,
    /// The step a recovery re-enters: a timer or gate there goes on from
    /// where it was, and a command step counts its attempts on.
    resuming: Option<(usize, usize)>,
    /// The pause or soak being waited out (environment, step): what
    /// `promote` and `weight` act on.
    timed: Option<(usize, usize)>,
    /// The step `promote` ended early, so its end says so.
    promoted: Option<(usize, usize)>,
    /// `promote --full`: the walk skips to this step of this environment.
    skip_to: Option<(usize, usize)>,
    /// Secret values, resolved when the run starts; given to the stages that
    /// name them and masked out of every record.
    secrets: crate::secrets::Resolved,
    masker: crate::secrets::Masker,
    /// Asked before promoting into an environment (locks, freezes); see `admission.rs`.
    admission: Option<admission::AdmissionRef>,
    /// Environments where a break-glass was refused (journaled once).
    glass_refused: Vec<usize>,
    /// Why it stopped without journaling the run's end (see `EngineHandle::stopped_because`).
    stopped: std::sync::Arc<std::sync::OnceLock<String>>,
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

impl Engine {
    /// Creates the run's directory and journal. Nothing runs until [`Engine::run`].
    pub fn new(plan: Plan, mut opts: EngineOptions) -> Result<(Engine, EngineHandle), Fatal> {
        // Journaled absolute, so a recovery from another directory finds the plan's own.
        if let Ok(p) = std::path::absolute(&opts.plan_path) {
            opts.plan_path = p.display().to_string();
        }
        let run_id = new_run_id();
        let run_dir = crate::runs::runs_dir(&opts.state_dir).join(&run_id);
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
        let (events, _) = broadcast::channel(opts.every_record_buffer.max(16));
        let (states, _) = broadcast::channel(4_096);
        // Clients hear of a record once the journal holds it durably.
        let (all, changes) = (events.clone(), states.clone());
        journal.set_publisher(Box::new(move |rec: Record| {
            if rec.event.is_state_change() {
                let _ = changes.send(rec.clone());
            }
            // Without receivers (a cockpit follows the journal file instead) this costs a lock.
            let _ = all.send(rec);
        }));
        let holds = hold::Holds::new();
        let stopped = std::sync::Arc::new(std::sync::OnceLock::new());
        let handle = EngineHandle {
            run_id: run_id.clone(),
            run_dir,
            sharing,
            cmd_tx,
            rest: handle::Shared {
                events,
                states,
                on_disk: journal.on_disk(),
                holds: holds.registry(),
                stopped: stopped.clone(),
            },
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
                cmds,
                cmds_open: true,
                cmd_weak,
                holds,
                terminating: None,
                _lock: lock,
                recovery: None,
                resuming: None,
                timed: None,
                promoted: None,
                skip_to: None,
                secrets: Default::default(),
                masker: Default::default(),
                admission: None,
                glass_refused: Vec::new(),
                stopped,
            },
            handle,
        )
    }

    /// The plan this engine runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
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

    /// Journal first, then state, then clients; the record is on disk
    /// before this returns, so the engine may act on it.
    fn emit(&mut self, event: Event) -> Result<(), Fatal> {
        self.emit_as(event, Durable::Now)
    }

    /// [`Engine::emit`] for a record the engine does not act on next: it
    /// reaches the disk as `when` says (group commit, see `journal/commit.rs`),
    /// and the clients once it is there. Whatever the engine does outside
    /// itself afterwards is preceded by [`Engine::commit`] or a record
    /// emitted [`Durable::Now`].
    fn emit_as(&mut self, event: Event, when: Durable) -> Result<(), Fatal> {
        self.emit_at(event, when, Timestamp::now())
    }

    /// [`Engine::emit_as`] with the record's time given: the lines of one
    /// read of a stage's output arrived together and share one.
    fn emit_at(&mut self, mut event: Event, when: Durable, ts: Timestamp) -> Result<(), Fatal> {
        if !self.masker.is_empty() {
            event = self.mask(event);
        }
        self.seq += 1;
        let rec = Record {
            seq: self.seq,
            ts,
            event,
        };
        self.journal
            .append_as(&rec, when)
            .map_err(|e| self.journal_fault(e))?;
        self.state.apply(&rec);
        self.journal.publish(rec).map_err(|e| self.journal_fault(e))
    }

    /// Waits until every record emitted so far is on disk: before the
    /// engine acts outside itself after records it let ride.
    fn commit(&self) -> Result<(), Fatal> {
        self.journal.commit().map_err(|e| self.journal_fault(e))
    }

    fn journal_fault(&self, e: std::io::Error) -> Fatal {
        Fatal(format!(
            "cannot write the journal {}: {e}",
            self.journal.path().display()
        ))
    }

    /// Runs the plan to the end and returns the final state. Clients that
    /// want every record subscribe before this starts.
    pub async fn run(mut self) -> RunState {
        let result = match self.recovery.take() {
            Some(taking) => self.resume_all(taking).await,
            None => self.run_all().await,
        };
        if let Err(Fatal(msg)) = result {
            tracing::error!(%msg, "engine stopped");
            if self
                .emit(Event::RunFinished {
                    outcome: RunOutcome::Failed,
                    message: msg.clone(),
                })
                .is_ok()
            {
                self.settle().await;
            } else {
                // No end in the journal: the front ends learn it here.
                let _ = self.stopped.set(msg);
            }
        }
        // Whatever the journal could still say (a fault may have stopped it),
        // the run's locks go back to the store when its engine is done.
        if let Some(adm) = self.admission.clone() {
            let run = self.run_id.clone();
            let _ = tokio::task::spawn_blocking(move || adm.leave(&run, None)).await;
        }
        // What was journaled after the last settle (notes after the end, a
        // late rollback's last records) is seen by every holder too.
        self.settle().await;
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
        outline::of_steps(&self.plan, &self.steps)
    }
}
