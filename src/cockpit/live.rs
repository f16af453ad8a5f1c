//! The live feed: `slate run PLAN` in the cockpit. The engine runs in this
//! process; records come from its broadcast, commands go to its handle from
//! spawned tasks and their replies come back as messages, so the loop never
//! waits on the engine. Output history and catching up after a flood are read
//! from the journal on blocking tasks.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::CockpitArgs;
use super::app::{App, Effect};
use super::feed::Feed;
use super::logs::{self, LogLine};
use crate::engine::state::RunState;
use crate::engine::{
    Action, Actor, Engine, EngineHandle, EngineOptions, Record, Reply, Unattended,
};
use crate::output::err;

/// Runs a plan in the cockpit; returns the exit status (0 released, 1 not, 2 usage).
pub async fn run(plan_path: &Path, args: CockpitArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !super::has_terminal(
        "slate: the cockpit needs a terminal; use --headless for scripts and CI",
    ) {
        return 2;
    }
    let Some(user) = super::load_config(config_dir) else {
        return 2;
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
    let Some(theme) = super::load_theme(args.theme, &user, config_dir) else {
        return 2;
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
    // Other shells steer the run through its control socket (`slate approve …`).
    let server = match crate::control::ControlServer::start(handle.clone()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the control socket; the run goes on without it");
            None
        }
    };
    let records = handle.subscribe();
    let engine_task = tokio::spawn(engine.run());
    let mut app = App::new(plan, user.keymap, theme);
    let mut live = Live::new(handle, actor, records, engine_task);
    live.server = server;
    let mut feed = Feed::Live(Box::new(live));
    if let Err(e) = super::drive(&mut app, &mut feed).await {
        let Feed::Live(live) = feed else {
            unreachable!("built above")
        };
        live.handle.send_nowait(
            live.actor.clone(),
            Action::Abort {
                reason: format!("the cockpit could not start: {e}"),
            },
        );
        err(&format!("slate: {e}"));
        return 1;
    }
    let Feed::Live(live) = feed else {
        unreachable!("built above")
    };
    live.finish(&app).await
}

/// What the live feed waited for.
// Moved once, from `next` to `take`: boxing would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Record(Result<Record, RecvError>),
    /// The whole journal, read back after falling behind the broadcast.
    Journal(Vec<Record>),
    Reply(String, Reply),
    History(Vec<LogLine>),
}

pub struct Live {
    handle: EngineHandle,
    actor: Actor,
    records: broadcast::Receiver<Record>,
    engine_task: JoinHandle<RunState>,
    reply_tx: mpsc::Sender<(String, Reply)>,
    replies: mpsc::Receiver<(String, Reply)>,
    history_tx: mpsc::Sender<Vec<LogLine>>,
    history: mpsc::Receiver<Vec<LogLine>>,
    journal_tx: mpsc::Sender<Vec<Record>>,
    journal_rx: mpsc::Receiver<Vec<Record>>,
    /// Set while the journal is being read back after falling behind.
    catching_up: Option<Vec<Record>>,
    /// The run's control socket, removed once the engine has exited.
    server: Option<crate::control::ControlServer>,
}

impl Live {
    fn new(
        handle: EngineHandle,
        actor: Actor,
        records: broadcast::Receiver<Record>,
        engine_task: JoinHandle<RunState>,
    ) -> Live {
        let (reply_tx, replies) = mpsc::channel(64);
        let (history_tx, history) = mpsc::channel(4);
        let (journal_tx, journal_rx) = mpsc::channel(1);
        Live {
            handle,
            actor,
            records,
            engine_task,
            reply_tx,
            replies,
            history_tx,
            history,
            journal_tx,
            journal_rx,
            catching_up: None,
            server: None,
        }
    }

    /// Waits for the next message; cancel-safe (every branch is a channel receive).
    pub async fn next(&mut self) -> Msg {
        tokio::select! {
            rec = self.records.recv() => Msg::Record(rec),
            Some(journal) = self.journal_rx.recv() => Msg::Journal(journal),
            Some((what, reply)) = self.replies.recv() => Msg::Reply(what, reply),
            Some(lines) = self.history.recv() => Msg::History(lines),
        }
    }

    pub fn take(&mut self, msg: Msg, app: &mut App) -> Vec<Effect> {
        let mut effects = Vec::new();
        match msg {
            Msg::Record(rec) => {
                let mut lagged = false;
                match rec {
                    Ok(rec) => {
                        let held = &mut self.catching_up;
                        let mut apply = |app: &mut App, r: Record| {
                            effects.extend(app.apply_record(&r));
                            if let Some(held) = held.as_mut() {
                                held.push(r);
                            }
                        };
                        apply(app, rec);
                        // Drain whatever else is queued before drawing once.
                        for _ in 0..10_000 {
                            match self.records.try_recv() {
                                Ok(r) => apply(app, r),
                                Err(TryRecvError::Lagged(_)) => {
                                    lagged = true;
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) => lagged = true,
                    // The engine is gone: nothing more will happen here.
                    Err(RecvError::Closed) => effects.push(Effect::Quit),
                }
                // Fell behind a flood: rebuild from the journal, which has everything,
                // read off the loop; records arriving meanwhile are kept for after.
                if lagged && self.catching_up.is_none() {
                    self.catching_up = Some(Vec::new());
                    let path = self.handle.journal_path();
                    let tx = self.journal_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let records = crate::journal::read_journal(&path)
                            .map(|j| j.records)
                            .unwrap_or_default();
                        let _ = tx.blocking_send(records);
                    });
                }
            }
            Msg::Journal(journal) => {
                let newer = self.catching_up.take().unwrap_or_default();
                effects.extend(app.catch_up(&journal, &newer));
            }
            Msg::Reply(what, reply) => app.on_reply(&what, reply),
            Msg::History(lines) => app.add_history(lines),
        }
        effects
    }

    /// Carries out what the app asked for: commands to the engine, history from the journal.
    pub fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::LoadHistory { before } => {
                // Reading the journal is I/O: off the loop, back as a message.
                logs::read_history(self.handle.journal_path(), before, self.history_tx.clone());
            }
            Effect::Send(action) => {
                let h = self.handle.clone();
                let a = self.actor.clone();
                let tx = self.reply_tx.clone();
                let what = action.describe();
                tokio::spawn(async move {
                    let r = h.send(a, action).await;
                    let _ = tx.send((what, r)).await;
                });
            }
            // Quitting is the loop's; there is no player in a live run.
            Effect::Quit | Effect::Replay(_) => {}
        }
    }

    pub fn sync(&mut self, app: &mut App) {
        app.now = Timestamp::now();
    }

    /// Shuts the engine down, prints how the release ended; the exit status.
    async fn finish(mut self, app: &App) -> i32 {
        self.handle.send_nowait(self.actor, Action::Shutdown);
        let state = match tokio::time::timeout(Duration::from_secs(30), self.engine_task).await {
            Ok(Ok(s)) => s,
            _ => app.run.clone(),
        };
        if let Some(server) = self.server.take() {
            server.close().await;
        }
        let released = state.outcome.is_some_and(|o| o.released());
        crate::say!(
            "{} {}: {}\njournal: {}",
            if released { "✔" } else { "✘" },
            state.status.word(),
            state.message,
            self.handle.journal_path().display()
        );
        let dossier = self.handle.run_dir.join(crate::dossier::DOSSIER_FILE);
        if dossier.exists() {
            crate::say!("dossier: {}", dossier.display());
        }
        if released { 0 } else { 1 }
    }
}
