//! The headless front end: a run driven from a script or CI, one line per
//! event (`slate run --headless`, `slate recover --headless`, the headless
//! demo). Ctrl-C pauses (twice: aborts), SIGTERM ends the run without
//! waiting for anyone, SIGHUP is ignored.
//!
//! Exit status: 0 released, 1 not released, 2 invalid plan or usage.

use std::io::IsTerminal;
use std::time::Duration;

use tokio::signal::unix::Signal;
use tokio::sync::broadcast::error::RecvError;

use super::Assembled;
use crate::engine::{Action, Actor, EngineHandle, Event, Instruction, RunState, Unattended};
use crate::signals::Signals;

use crate::headless::Printer;

/// What the headless front end was asked for.
pub struct Options {
    /// Print records as NDJSON on stdout (human lines go to stderr).
    pub json: bool,
    /// Gates approved in advance (for the hints: those need no decision).
    pub approve: Vec<String>,
    pub auto_approve: bool,
    /// Never wait for a decision nobody pre-approved: fail closed (for CI).
    pub no_wait: bool,
    /// `--interrupted` answered an interrupted step in advance (recovery).
    pub interrupted_preset: bool,
}

// Losing the output (closed terminal or pipe) must never stop the release.
use crate::output::{err, out};

/// Drives an assembled run, printing one line per event (or NDJSON), and
/// returns its exit status.
pub async fn drive(assembled: Assembled, signals: Signals, args: Options) -> i32 {
    let Assembled {
        mut engine,
        handle,
        server,
        socket_warning,
        actor,
        before,
        warning,
        ..
    } = assembled;
    if let Some(w) = &warning {
        err(&format!("slate: warning: {w}"));
    }
    // The control socket lets other shells steer the run (`slate approve …`).
    // Without it nobody could answer a gate, so gates fail closed as before.
    if let Some(why) = &socket_warning {
        err(&format!(
            "slate: warning: {why}; the run goes on, and manual gates nobody pre-approved will fail closed"
        ));
    }
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
        interrupted_preset: args.interrupted_preset,
        // A recovered run whose break-glass was waiting waits again: said
        // when the recovery is journaled, since no new request is.
        glass_waiting: crate::engine::RunState::replay(&before)
            .glass_wait
            .map(|w| w.actor.user),
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
    let printing = print_events(events, &hints, &handle, &before);
    tokio::pin!(printing);
    let mut engine_task = engine_task;
    let (state, last_line) = tokio::select! {
        (printed, last_line) = &mut printing => {
            (engine_task.await.unwrap_or(printed), last_line)
        }
        done = &mut engine_task => {
            let printed = tokio::time::timeout(Duration::from_millis(500), &mut printing).await;
            match printed {
                // Both ended at once: the printer was still on the run's
                // last records when the engine's task was seen done.
                Ok((printed, last_line)) if printed.is_finished() => {
                    (done.unwrap_or(printed), last_line)
                }
                printed => stopped_early(done, printed, &handle, &before),
            }
        }
    };
    signals.abort();
    // The engine has exited: subscribers get the last records, then the socket goes.
    if let Some(server) = server {
        server.close().await;
    }
    // The verdict stays the last line (scripts read it with `tail -1`).
    let dossier = handle.run_dir.join(crate::dossier::DOSSIER_FILE);
    if !args.json && dossier.exists() {
        // A link where the terminal takes them (plain text in a pipe or a file).
        crate::output::out_link(
            "         dossier: ",
            &dossier.display().to_string(),
            &crate::tui::osc::file_url(&dossier),
        );
    }
    if let Some(line) = last_line {
        out(&line);
    }
    crate::exit::of_run(&state)
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
    /// Who asked for the break-glass a recovered run still waits on.
    glass_waiting: Option<String>,
}

impl Hints {
    /// Stdout in text mode; stderr in JSON mode, where stdout is NDJSON only.
    fn say(&self, lines: &[String]) {
        for line in lines {
            if self.json { err(line) } else { out(line) }
        }
    }

    fn on_record(&self, rec: &crate::engine::Record) {
        if !self.wait {
            return;
        }
        let run = &self.run_id;
        let glass = |asked: &str| {
            let gate = crate::engine::state::admission::GLASS_GATE;
            vec![
                format!(
                    "         the break-glass waits for someone other than {asked} to approve it; from another shell:"
                ),
                format!("           slate approve {run} {gate} --comment \"…\""),
                format!("           slate reject {run} {gate} --reason \"…\""),
            ]
        };
        match &rec.event {
            Event::RunRecovered { .. } if self.glass_waiting.is_some() => {
                self.say(&glass(self.glass_waiting.as_deref().unwrap_or_default()));
            }
            Event::GateWaiting { gate, .. }
                if !self.auto_approve && !self.approve.contains(gate) =>
            {
                self.say(&[
                    format!("         gate {gate} waits for a decision; from another shell:"),
                    format!("           slate approve {run} {gate} --comment \"…\""),
                    format!("           slate reject {run} {gate} --reason \"…\""),
                ]);
            }
            Event::BreakGlassRequested { actor, .. } => self.say(&glass(&actor.user)),
            Event::StepInterrupted { choices, .. }
                if self.interrupted_preset || choices.len() < 2 => {}
            Event::RollbackBlocked { choices, .. } | Event::StepInterrupted { choices, .. } => {
                let words: Vec<&str> = choices.iter().map(|c| c.word()).collect();
                self.say(&[
                    format!(
                        "         waiting for a decision ({}); from another shell:",
                        words.join(", ")
                    ),
                    format!("           slate decide {run} CHOICE --note \"…\""),
                ]);
            }
            Event::PauseRequested {
                actor,
                reason: Some(_),
            } if actor.via == "engine" => {
                self.say(&[
                    "         paused for a decision; from another shell:".to_string(),
                    format!("           slate resume {run}"),
                    format!("           slate rollback {run} --reason \"…\""),
                ]);
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
    let colour = !json && crate::text::neutral::colour_on_stdout();
    printer.colour = colour;
    // Lines are gathered while more records wait and written together: a
    // flood costs a write per batch. Anything else (a step's end, a gate)
    // is written before the next thing happens, hints on stderr included,
    // so the two streams stay in order.
    let mut batch = crate::output::Batch::default();
    let print = |batch: &mut crate::output::Batch, line: &str| {
        if colour {
            batch.coloured(line)
        } else {
            batch.line(line)
        }
    };
    for r in before {
        printer.observe(r);
    }
    loop {
        match events.recv().await {
            Ok(rec) => {
                let done = matches!(rec.event, Event::RunFinished { .. });
                if json {
                    if let Ok(line) = crate::text::json::to_string(&rec) {
                        batch.line(&line);
                    }
                    printer.observe(&rec);
                } else {
                    let mut lines = printer.lines(&rec);
                    if done && let Some(verdict) = lines.pop() {
                        lines.iter().for_each(|l| print(&mut batch, l));
                        batch.flush();
                        return (printer.into_state(), Some(verdict));
                    }
                    lines.iter().for_each(|l| print(&mut batch, l));
                }
                if rec.event.is_state_change()
                    || events.is_empty()
                    || batch.len() >= crate::output::BATCH_MAX
                {
                    batch.flush();
                }
                hints.on_record(&rec);
                if done {
                    return (printer.into_state(), None);
                }
            }
            Err(RecvError::Lagged(n)) => {
                batch.flush();
                if !json {
                    out(&format!(
                        "… {n} events not shown here (they are in {})",
                        handle.journal_path().display()
                    ));
                }
            }
            Err(RecvError::Closed) => {
                batch.flush();
                return (printer.into_state(), None);
            }
        }
    }
}

/// The engine ended without the end reaching its journal (it can no
/// longer write it): what it did say is printed, then why.
fn stopped_early(
    done: Result<RunState, tokio::task::JoinError>,
    printed: Result<(RunState, Option<String>), tokio::time::error::Elapsed>,
    handle: &EngineHandle,
    before: &[crate::engine::Record],
) -> (RunState, Option<String>) {
    let why = handle
        .stopped_because()
        .unwrap_or_else(|| "the engine stopped before the run ended".into());
    let state = match (done, printed) {
        (Ok(s), _) => s,
        (Err(_), Ok((s, _))) => s,
        (Err(_), Err(_)) => RunState::replay(before),
    };
    (state, Some(format!("✘ stopped: {why}")))
}

/// Ctrl-C pauses at the next safe point and asks; a second Ctrl-C aborts with
/// rollback. SIGTERM ends the run without waiting for anyone
/// ([`Instruction::Terminate`]): what is in progress is aborted, a decision
/// the run waits for is taken the safe way. SIGHUP (the terminal went away)
/// is ignored: the release carries on.
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
                // The engine ends the run as safely as it can without waiting
                // for anyone, and says how; this process exits with it.
                err("slate: SIGTERM — stopping the run");
                let h = handle.clone();
                let a = actor.clone();
                tokio::spawn(async move {
                    match h.send(a, Instruction::Terminate { reason: "SIGTERM".into() }).await {
                        Ok(what) => err(&format!("slate: {what}")),
                        Err(why) => err(&format!("slate: cannot stop the run: {why}")),
                    }
                });
            }
            _ = hup.recv() => {
                tracing::warn!("terminal hung up; the run continues");
            }
        }
    }
}
