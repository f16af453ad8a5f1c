//! The cockpit: the interactive client of the engine.
//!
//! One loop owns the [`App`]. Terminal input, engine records, command replies
//! and a slow tick arrive over channels; the loop applies them, then draws at
//! most ~30 times a second and only when something changed.

mod actions;
pub mod app;
pub mod config;
mod dialogs;
mod input;
pub mod keymap;
pub mod logs;
pub mod screenshot;
pub mod svg;
pub mod terminal;
pub mod theme;
pub mod ui;

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::mpsc;

use crate::engine::{Actor, Engine, EngineOptions, Unattended};
use crate::output::err;
use app::{App, Effect};

/// Floods are coalesced into at most this many frames a second.
const MAX_FPS: u64 = 30;
const TICK: Duration = Duration::from_millis(250);

pub struct CockpitArgs {
    pub theme: Option<String>,
}

/// Runs a plan in the cockpit; returns the exit status (0 released, 1 not, 2 usage).
pub async fn run(plan_path: &Path, args: CockpitArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        err("slate: the cockpit needs a terminal; use --headless for scripts and CI");
        return 2;
    }
    let user = match config::load(config_dir) {
        Ok(c) => c,
        Err(e) => {
            for l in e.lines() {
                err(&l);
            }
            return 2;
        }
    };
    let plan = match crate::plan::load_file(plan_path) {
        Ok(p) => p,
        Err(e) => {
            for l in e.lines() {
                err(&l);
            }
            return 2;
        }
    };
    let theme_name = args
        .theme
        .or(user.theme)
        .unwrap_or_else(|| "default".into());
    let theme = match theme::Theme::load(&theme_name, config_dir) {
        Ok(t) => t,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 2;
        }
    };
    let (Ok(mut term_sig), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        err("slate: cannot install signal handlers");
        return 1;
    };
    let actor = Actor::current("cockpit");
    let mut opts = EngineOptions::new(plan_path.display().to_string(), state_dir, actor.clone());
    opts.unattended = Unattended::Wait;
    opts.linger = true;
    let (engine, handle) = match Engine::new(plan.clone(), opts) {
        Ok(x) => x,
        Err(e) => {
            err(&format!("slate: {}", e.0));
            return 1;
        }
    };
    let mut records = handle.subscribe();
    let engine_task = tokio::spawn(engine.run());
    let mut terminal = match terminal::enter() {
        Ok(t) => t,
        Err(e) => {
            handle.send_nowait(
                actor.clone(),
                crate::engine::Action::Abort {
                    reason: format!("the cockpit could not start: {e}"),
                },
            );
            err(&format!("slate: cannot use the terminal: {e}"));
            return 1;
        }
    };
    let mut app = App::new(plan, user.keymap, theme);
    app.now = Timestamp::now();
    if let Ok(size) = terminal.size() {
        app.view.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    }
    let (reply_tx, mut replies) = mpsc::channel::<(String, crate::engine::Reply)>(64);
    let (history_tx, mut history) = mpsc::channel::<Vec<logs::LogLine>>(4);
    let (journal_tx, mut journal_rx) = mpsc::channel::<Vec<crate::engine::Record>>(1);
    // Set while the journal is being read back after falling behind.
    let mut catching_up: Option<Vec<crate::engine::Record>> = None;
    // Dropped when the terminal goes away, which stops its thread.
    let mut input = Some(input::spawn());
    let mut tick = tokio::time::interval(TICK);
    let frame_gap = Duration::from_millis(1000 / MAX_FPS);
    let mut last_draw = tokio::time::Instant::now() - frame_gap;
    let mut detached = false;
    let mut quit = false;
    let mut last_second = 0i64;

    while !quit {
        let redraw_at = last_draw + frame_gap;
        let wait_draw = app.dirty && !detached;
        let mut effects = Vec::new();
        tokio::select! {
            ev = async { input.as_mut().expect("guarded").events.recv().await }, if input.is_some() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    app.now = Timestamp::now();
                    if k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL) {
                        match terminal::suspend() {
                            Ok(t) => terminal = t,
                            Err(_) => detached = true,
                        }
                        app.dirty = true;
                    } else {
                        effects = app.on_key(k);
                    }
                }
                Some(Ok(TermEvent::Mouse(m))) => {
                    let panels = ui::areas(&app, app.view.size).panels;
                    app.on_mouse(m, &panels);
                    effects.extend(app.history_wanted());
                }
                Some(Ok(TermEvent::Resize(w, h))) => {
                    app.view.size = ratatui::layout::Rect::new(0, 0, w, h);
                    app.dirty = true;
                }
                Some(Ok(_)) => {}
                // The terminal is gone: keep the release going without a screen.
                Some(Err(_)) | None => detached = true,
            },
            rec = records.recv() => {
                let mut lagged = false;
                match rec {
                    Ok(rec) => {
                        let mut apply = |app: &mut App, r: crate::engine::Record| {
                            effects.extend(app.apply_record(&r));
                            if let Some(held) = catching_up.as_mut() {
                                held.push(r);
                            }
                        };
                        apply(&mut app, rec);
                        // Drain whatever else is queued before drawing once.
                        for _ in 0..10_000 {
                            match records.try_recv() {
                                Ok(r) => apply(&mut app, r),
                                Err(TryRecvError::Lagged(_)) => { lagged = true; break; }
                                Err(_) => break,
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => lagged = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => quit = true,
                }
                // Fell behind a flood: rebuild from the journal, which has everything,
                // read off the loop; records arriving meanwhile are kept for after.
                if lagged && catching_up.is_none() {
                    catching_up = Some(Vec::new());
                    let path = handle.journal_path();
                    let tx = journal_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let records = crate::journal::read_journal(&path).map(|j| j.records).unwrap_or_default();
                        let _ = tx.blocking_send(records);
                    });
                }
            }
            Some(journal) = journal_rx.recv() => {
                let newer = catching_up.take().unwrap_or_default();
                effects.extend(app.catch_up(&journal, &newer));
            }
            Some((what, reply)) = replies.recv() => app.on_reply(&what, reply),
            Some(lines) = history.recv() => app.add_history(lines),
            _ = tick.tick() => {
                if !detached && input::hung_up() {
                    detached = true;
                }
                let now = Timestamp::now();
                app.now = now;
                if app.animating() {
                    let running = app.run.envs.iter().any(|e| e.steps.iter().any(|s| s.state == crate::engine::state::StepState::Running));
                    let second = now.as_second();
                    // Spinners move while a step runs; otherwise only the seconds counters change.
                    if running || second != last_second {
                        app.frame += u64::from(running);
                        app.dirty = true;
                    }
                    last_second = second;
                }
            }
            _ = tokio::time::sleep_until(redraw_at), if wait_draw => {}
            _ = term_sig.recv() => effects.extend(app.on_terminate()),
            _ = hup.recv() => detached = true,
        }
        if detached && input.is_some() {
            input::retire_stdin();
            input = None;
        }
        if detached {
            // Without a terminal nobody can quit by hand: leave once the release has ended.
            if app.run.is_finished() {
                quit = true;
            }
        }
        for e in effects {
            match e {
                Effect::Quit => quit = true,
                Effect::LoadHistory { before } => {
                    // Reading the journal is I/O: off the loop, back as a message.
                    let path = handle.journal_path();
                    let tx = history_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let lines = crate::journal::read_journal(&path)
                            .map(|j| logs::history_from(&j.records, before, 2_000))
                            .unwrap_or_default();
                        let _ = tx.blocking_send(lines);
                    });
                }
                Effect::Send(action) => {
                    let h = handle.clone();
                    let a = actor.clone();
                    let tx = reply_tx.clone();
                    let what = action.describe();
                    tokio::spawn(async move {
                        let r = h.send(a, action).await;
                        let _ = tx.send((what, r)).await;
                    });
                }
            }
        }
        if app.dirty && !detached && tokio::time::Instant::now() >= last_draw + frame_gap {
            if terminal::draw(&mut terminal, |f| ui::draw(f, &app)).is_err() {
                detached = true;
            }
            app.dirty = false;
            last_draw = tokio::time::Instant::now();
        }
    }
    terminal::leave();
    handle.send_nowait(actor, crate::engine::Action::Shutdown);
    let state = match tokio::time::timeout(Duration::from_secs(30), engine_task).await {
        Ok(Ok(s)) => s,
        _ => app.run.clone(),
    };
    let released = state.outcome.is_some_and(|o| o.released());
    crate::say!(
        "{} {}: {}\njournal: {}",
        if released { "✔" } else { "✘" },
        state.status.word(),
        state.message,
        handle.journal_path().display()
    );
    if released { 0 } else { 1 }
}
