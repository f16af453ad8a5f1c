//! Headless runs: the same engine, driven from a script or CI, one line per event.
//!
//! Exit status: 0 released, 1 not released, 2 invalid plan or usage.

mod format;

use std::io::IsTerminal;
use std::path::Path;

use tokio::signal::unix::Signal;
use tokio::sync::broadcast::error::RecvError;

use crate::control::ControlServer;
use crate::engine::{
    Action, Actor, Engine, EngineHandle, EngineOptions, Event, RunState, Unattended,
};
use crate::host::serve::Signals;
use crate::plan::{self, GateKind};

pub use format::Printer;

pub struct HeadlessArgs {
    pub json: bool,
    pub approve: Vec<String>,
    pub auto_approve: bool,
    /// Never wait at a gate nobody pre-approved: fail closed (for CI).
    pub no_wait: bool,
}

pub const EXIT_RELEASED: i32 = 0;
pub const EXIT_NOT_RELEASED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

// Losing the output (closed terminal or pipe) must never stop the release.
use crate::output::{err, out};

pub async fn run(plan_path: &Path, args: HeadlessArgs, state_dir: &Path) -> i32 {
    let plan = match plan::load_file(plan_path) {
        Ok(p) => p,
        Err(e) => {
            for line in e.lines() {
                err(&line);
            }
            return EXIT_USAGE;
        }
    };
    let manual: Vec<&str> = plan
        .gates
        .iter()
        .filter(|g| matches!(g.kind, GateKind::Manual { .. }))
        .map(|g| g.name.as_str())
        .collect();
    for g in &args.approve {
        if !manual.contains(&g.as_str()) {
            err(&format!(
                "slate: --approve {g}: the plan has no manual gate named {g} (manual gates: {})",
                if manual.is_empty() {
                    "none".to_string()
                } else {
                    manual.join(", ")
                }
            ));
            return EXIT_USAGE;
        }
    }
    // Four-eyes: the starter's pre-approval could never count, so say so before anything runs.
    let conflicts =
        crate::engine::policy::pre_approval_conflicts(&plan, &args.approve, args.auto_approve);
    if !conflicts.is_empty() {
        for c in conflicts {
            err(&format!("slate: {c}"));
        }
        return EXIT_USAGE;
    }
    let Some(signals) = install_signals() else {
        return EXIT_NOT_RELEASED;
    };
    let actor = Actor::current("headless");
    let mut opts = EngineOptions::new(plan_path.display().to_string(), state_dir, actor.clone());
    opts.pre_approved = args.approve.clone();
    opts.auto_approve = args.auto_approve;
    opts.unattended = Unattended::FailClosed;
    let (engine, handle) = match Engine::new(plan, opts) {
        Ok(x) => x,
        Err(e) => {
            err(&format!("slate: {}", e.0));
            return EXIT_NOT_RELEASED;
        }
    };
    host(engine, handle, &args, actor, signals, Vec::new(), false).await
}

/// `slate recover RUN --headless`: what recovery needs besides the run.
pub struct RecoverArgs {
    /// Run id, unique prefix, or "latest".
    pub run: String,
    pub headless: bool,
    pub json: bool,
    /// What to do with a step the crash interrupted (otherwise someone decides).
    pub interrupted: Option<crate::engine::event::RollbackChoice>,
    pub no_wait: bool,
    pub theme: Option<String>,
    /// Be the cockpit's engine host instead of printing.
    pub serve: bool,
}

/// Takes over a run whose engine died and drives it on headless.
pub async fn recover(args: RecoverArgs, state_dir: &Path) -> i32 {
    let run_dir = match crate::runs::find_run(state_dir, &args.run) {
        Ok(d) => d,
        Err(e) => {
            err(&format!("slate: {e}"));
            return EXIT_USAGE;
        }
    };
    let Some(signals) = install_signals() else {
        return EXIT_NOT_RELEASED;
    };
    let actor = Actor::current("headless");
    let mut opts = EngineOptions::new(run_dir.display().to_string(), state_dir, actor.clone());
    opts.unattended = Unattended::FailClosed;
    opts.on_interrupted = args.interrupted;
    let taken = match Engine::recover(&run_dir, opts) {
        Ok(r) => r,
        Err(refused) => {
            err(&format!("slate: {}", refused.message));
            return refused.code;
        }
    };
    if let Some(w) = &taken.warning {
        err(&format!("slate: warning: {w}"));
    }
    let hargs = HeadlessArgs {
        json: args.json,
        approve: Vec::new(),
        auto_approve: false,
        no_wait: args.no_wait,
    };
    host(
        taken.engine,
        taken.handle,
        &hargs,
        actor,
        signals,
        taken.records,
        args.interrupted.is_some(),
    )
    .await
}

/// The host's handlers (see [`Signals`]), or a message and nothing.
fn install_signals() -> Option<Signals> {
    let signals = Signals::install();
    if signals.is_none() {
        err(
            "slate: cannot install signal handlers; refusing to start a release that Ctrl-C could corrupt",
        );
    }
    signals
}

/// Runs the engine with its control socket, printing one line per event
/// (`before`: records already in the journal, for the printer's context).
async fn host(
    mut engine: Engine,
    handle: EngineHandle,
    args: &HeadlessArgs,
    actor: Actor,
    signals: Signals,
    before: Vec<crate::engine::Record>,
    interrupted_preset: bool,
) -> i32 {
    // The control socket lets other shells steer the run (`slate approve …`).
    // Without it nobody could answer a gate, so gates fail closed as before.
    let server = match ControlServer::start(handle.clone()) {
        Ok(s) => Some(s),
        Err(e) => {
            let path = handle.run_dir.join(crate::control::SOCKET_FILE);
            tracing::warn!(error = %e, path = %path.display(), "cannot open the control socket");
            err(&format!(
                "slate: warning: cannot open the control socket {}: {e}; the run goes on, and manual gates nobody pre-approved will fail closed",
                path.display()
            ));
            None
        }
    };
    let wait = server.is_some() && !args.no_wait;
    if wait {
        engine.set_unattended(Unattended::WaitAtGates);
    }
    let hints = Hints {
        wait,
        run_id: handle.run_id.clone(),
        approve: args.approve.clone(),
        auto_approve: args.auto_approve,
        json: args.json,
        interrupted_preset,
    };
    let events = handle.subscribe();
    let engine_task = tokio::spawn(engine.run());
    let Signals { int, term, hup } = signals;
    let signals = tokio::spawn(watch_signals(
        handle.clone(),
        actor,
        int,
        term,
        hup,
        handle.subscribe_states(),
    ));
    let (printed, last_line) = print_events(events, &hints, &handle, &before).await;
    signals.abort();
    let state = engine_task.await.unwrap_or(printed);
    // The engine has exited: subscribers get the last records, then the socket goes.
    if let Some(server) = server {
        server.close().await;
    }
    // The verdict stays the last line (scripts read it with `tail -1`).
    let dossier = handle.run_dir.join(crate::dossier::DOSSIER_FILE);
    if !args.json && dossier.exists() {
        out(&format!("         dossier: {}", dossier.display()));
    }
    if let Some(line) = last_line {
        out(&line);
    }
    match state.outcome {
        Some(o) if o.released() => EXIT_RELEASED,
        _ => EXIT_NOT_RELEASED,
    }
}

/// What a headless run says (and does) at a decision point when it waits
/// for an answer over its control socket.
struct Hints {
    /// The socket is up and `--no-wait` was not given.
    wait: bool,
    run_id: String,
    approve: Vec<String>,
    auto_approve: bool,
    json: bool,
    /// `--interrupted` answered an interrupted step in advance.
    interrupted_preset: bool,
}

impl Hints {
    /// Stdout in text mode; stderr in JSON mode, where stdout is NDJSON only.
    fn say(&self, line: &str) {
        if self.json { err(line) } else { out(line) }
    }

    fn on_record(&self, rec: &crate::engine::Record) {
        if !self.wait {
            return;
        }
        let run = &self.run_id;
        match &rec.event {
            Event::GateWaiting { gate, .. }
                if !self.auto_approve && !self.approve.contains(gate) =>
            {
                self.say(&format!(
                    "         gate {gate} waits for a decision; from another shell:\n           slate approve {run} {gate} --comment \"…\"\n           slate reject {run} {gate} --reason \"…\""
                ));
            }
            Event::StepInterrupted { choices, .. }
                if self.interrupted_preset || choices.len() < 2 => {}
            Event::RollbackBlocked { choices, .. } | Event::StepInterrupted { choices, .. } => {
                let words: Vec<&str> = choices.iter().map(|c| c.word()).collect();
                self.say(&format!(
                    "         waiting for a decision ({}); from another shell:\n           slate decide {run} CHOICE --note \"…\"",
                    words.join(", ")
                ));
            }
            Event::PauseRequested {
                actor,
                reason: Some(_),
            } if actor.via == "engine" => {
                self.say(&format!(
                    "         paused for a decision; from another shell:\n           slate resume {run}\n           slate rollback {run} --reason \"…\""
                ));
            }
            _ => {}
        }
    }
}

async fn print_events(
    mut events: tokio::sync::broadcast::Receiver<crate::engine::Record>,
    hints: &Hints,
    handle: &EngineHandle,
    before: &[crate::engine::Record],
) -> (RunState, Option<String>) {
    let json = hints.json;
    let mut printer = Printer::new(handle.journal_path());
    for r in before {
        printer.observe(r);
    }
    loop {
        match events.recv().await {
            Ok(rec) => {
                let done = matches!(rec.event, Event::RunFinished { .. });
                if json {
                    if let Ok(line) = serde_json::to_string(&rec) {
                        out(&line);
                    }
                    printer.observe(&rec);
                } else if let Some(line) = printer.line(&rec) {
                    if done {
                        return (printer.into_state(), Some(line));
                    }
                    out(&line);
                }
                hints.on_record(&rec);
                if done {
                    return (printer.into_state(), None);
                }
            }
            Err(RecvError::Lagged(n)) => {
                if !json {
                    out(&format!(
                        "… {n} events not shown here (they are in {})",
                        handle.journal_path().display()
                    ));
                }
            }
            Err(RecvError::Closed) => return (printer.into_state(), None),
        }
    }
}

/// Ctrl-C pauses at the next safe point and asks; a second Ctrl-C aborts with
/// rollback. SIGTERM aborts. SIGHUP (the terminal went away) is ignored: the
/// release carries on.
async fn watch_signals(
    handle: EngineHandle,
    actor: Actor,
    mut int: Signal,
    mut term: Signal,
    mut hup: Signal,
    mut events: tokio::sync::broadcast::Receiver<crate::engine::Record>,
) {
    let mut interrupts = 0;
    loop {
        tokio::select! {
            rec = events.recv() => match rec {
                // Once resumed (from here or any client), Ctrl-C means "pause" again.
                Ok(rec) if matches!(rec.event, Event::Resumed { .. }) => interrupts = 0,
                Err(RecvError::Closed) => return,
                _ => {}
            },
            _ = int.recv() => {
                interrupts += 1;
                if interrupts == 1 {
                    handle.send_nowait(actor.clone(), Action::Pause);
                    let resume = if std::io::stdin().is_terminal() { ", or Enter to resume" } else { "" };
                    err(&format!("slate: pausing at the next safe point — Ctrl-C again aborts and rolls back{resume}"));
                    if std::io::stdin().is_terminal() {
                        let h = handle.clone();
                        let a = actor.clone();
                        // A plain thread, not spawn_blocking: an unanswered read must
                        // never keep Slate alive after the run has ended.
                        std::thread::spawn(move || {
                            let mut line = String::new();
                            if std::io::stdin().read_line(&mut line).is_ok() {
                                h.send_nowait(a, Action::Resume);
                            }
                        });
                    }
                } else {
                    err("slate: aborting — the environment in progress is being rolled back");
                    handle.send_nowait(actor.clone(), Action::Abort { reason: "interrupted twice (Ctrl-C)".into() });
                }
            }
            _ = term.recv() => {
                err("slate: SIGTERM — aborting and rolling back the environment in progress");
                handle.send_nowait(actor.clone(), Action::Abort { reason: "SIGTERM".into() });
            }
            _ = hup.recv() => {
                tracing::warn!("terminal hung up; the run continues");
            }
        }
    }
}
