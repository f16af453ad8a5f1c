//! `slate board` (and `slate` alone in a terminal): Slate's home screen.
//! Releases × environments with what is live in each, the active runs and
//! what each waits for, and the inbox: every gate the current user may
//! decide, oldest first.
//!
//! The board is a client like any other: it reads the store (the ledger
//! and the run index, [`crate::store`]) and the active runs' journals, and
//! it acts only through a run's control socket, as `slate approve` and
//! `slate attach` do, so the engine authenticates and judges every
//! decision. One loop owns the [`App`]: keys, boards read by the watcher
//! thread ([`watch`]), finished background reads and command replies and a
//! one-second tick arrive over channels; the loop applies them and draws
//! only when something changed, at most ~30 times a second.

pub mod app;
pub mod keymap;
mod overlay;
pub mod rollback;
pub mod screenshot;
pub mod snapshot;
pub mod stats;
pub mod ui;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::engine::{Action, RunState};
use crate::output::err;
use crate::plan::Plan;
use crate::tui::theme::Theme;
use crate::tui::{Tui, TuiEvent};
use app::{App, Effect};
use snapshot::EnvHistory;

/// Floods of keys or resizes become at most this many frames a second.
const MAX_FPS: u64 = 30;
/// Wait clocks count seconds; toasts expire on this beat.
const TICK: Duration = Duration::from_secs(1);

pub struct BoardArgs {
    /// `--theme`: wins over the config's.
    pub theme: Option<String>,
}

/// What a background task hands back to the loop.
enum Done {
    History(String, String, Result<EnvHistory, String>),
    Approval(String, Box<Result<(Plan, RunState), String>>),
    Reply(String, Result<String, String>),
    /// A rollback's engine host said ready (its run id) or why it would not start.
    RolledBack(Result<String, Vec<String>>),
    Stats(Result<stats::StatsPanel, String>),
}

/// `slate board`: 0 when left, 2 without a terminal or with a broken config.
pub fn run(args: BoardArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !crate::tui::has_terminal(
        "slate: the board needs a terminal; `slate status` and `slate ledger` print what it shows",
    ) {
        return 2;
    }
    let user = match crate::cockpit::config::load(config_dir) {
        Ok(u) => u,
        Err(e) => {
            for l in e.lines() {
                err(&l);
            }
            return 2;
        }
    };
    let theme = match Theme::pick(args.theme, user.theme.clone(), config_dir) {
        Ok(t) => t,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 2;
        }
    };
    let team = match crate::store::postgres::configured(config_dir) {
        Ok(t) => t,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 2;
        }
    };
    let app = App::new(theme, user.keymap);
    crate::cli::block_on(board(app, state_dir.to_path_buf(), team))
}

/// Who the inbox is for: whoever the engines will see. An OS user through
/// a control socket; with a team store, the person it authenticates this
/// user as (a run's own socket maps this uid to the same person). Public
/// for the team store's bench (`benches/team_store.rs`), which opens the
/// board's first frame as the board does.
pub fn viewer(team: Option<&crate::store::postgres::TeamConfig>) -> snapshot::Viewer {
    let os = crate::engine::Actor::current("board").user;
    let Some(team) = team else {
        return snapshot::Viewer::os(&os);
    };
    match crate::store::postgres::members::whoami(team) {
        Ok(me) => snapshot::Viewer {
            name: me.person,
            roles: Some(me.roles),
        },
        Err(e) => {
            tracing::warn!(error = %e, "the team store cannot say who this is: the inbox is the OS user's");
            snapshot::Viewer::os(&os)
        }
    }
}

async fn board(
    mut app: App,
    state_dir: PathBuf,
    team: Option<crate::store::postgres::TeamConfig>,
) -> i32 {
    let mut tui = match Tui::enter() {
        Ok(t) => t,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 1;
        }
    };
    if let Some(size) = tui.size() {
        app.resize(size.width, size.height);
    }
    app.tick(Timestamp::now());
    let t = team.clone();
    let me = tokio::task::spawn_blocking(move || viewer(t.as_ref()))
        .await
        .unwrap_or_else(|_| snapshot::Viewer::os("unknown"));
    let (mut boards, force) = watch::spawn(state_dir.clone(), me, team.clone());
    let (done_tx, mut done) = mpsc::channel::<Done>(8);
    let mut tick = tokio::time::interval(TICK);
    let frame_gap = Duration::from_millis(1000 / MAX_FPS);
    let mut last_draw = tokio::time::Instant::now() - frame_gap;
    let mut quit = false;

    while !quit {
        let redraw_at = last_draw + frame_gap;
        let mut effects = Vec::new();
        let mut answer_now = false;
        tokio::select! {
            ev = tui.next() => match ev {
                TuiEvent::Key(k) => {
                    app.tick(Timestamp::now());
                    effects = app.on_key(k);
                    answer_now = true;
                }
                TuiEvent::Paste(text) => {
                    app.on_paste(&text);
                    answer_now = true;
                }
                TuiEvent::Resize(w, h) => app.resize(w, h),
                TuiEvent::Resumed => {
                    if let Some(size) = tui.size() {
                        app.resize(size.width, size.height);
                    }
                    answer_now = true;
                }
                TuiEvent::Mouse(_) => {}
                // A signal, or the terminal gone and with it anyone to look.
                TuiEvent::Stop(_) | TuiEvent::Gone => quit = true,
            },
            Some(snap) = boards.recv() => {
                app.tick(Timestamp::now());
                app.set_snapshot(snap);
            }
            Some(d) = done.recv() => {
                app.tick(Timestamp::now());
                match d {
                    Done::History(release, env, r) => app.history_loaded(&release, &env, r),
                    Done::Approval(run, r) => app.approval_ready(&run, *r),
                    Done::Reply(what, r) => {
                        app.on_reply(&what, r);
                        let _ = force.send(());
                    }
                    Done::Stats(r) => app.stats_loaded(r),
                    Done::RolledBack(r) => {
                        effects = app.rollback_started(r);
                        answer_now = true;
                        let _ = force.send(());
                    }
                }
            }
            _ = tick.tick() => app.tick(Timestamp::now()),
            _ = tokio::time::sleep_until(redraw_at), if app.dirty => {}
        }
        for e in effects {
            match e {
                Effect::Quit => quit = true,
                Effect::Attach(first) => {
                    // The cockpit takes the terminal; the board has it back after.
                    drop(tui);
                    let mut run = first;
                    let code = loop {
                        let dir = crate::runs::runs_dir(&state_dir).join(&run);
                        let opening = crate::cockpit::attach::Opening {
                            keymap: app.cockpit_keys.clone(),
                            theme: app.theme.clone(),
                            read_only: false,
                            launched: false,
                            screen: None,
                        };
                        let code = match (&team, dir.exists()) {
                            // A run another machine's engine drives.
                            (Some(t), false) => {
                                crate::cockpit::attach::open_remote(dir, t.clone(), opening).await
                            }
                            _ => crate::cockpit::attach::open(dir, opening).await,
                        };
                        // `:attach RUN` in that cockpit: that run's cockpit next.
                        match crate::cockpit::attach_asked() {
                            Some(next) => run = next,
                            None => break code,
                        }
                    };
                    // `:board` in that cockpit: this is the board already.
                    crate::cockpit::board_asked();
                    tui = match Tui::enter() {
                        Ok(t) => t,
                        Err(e) => {
                            err(&format!("slate: {e}"));
                            return 1;
                        }
                    };
                    if let Some(size) = tui.size() {
                        app.resize(size.width, size.height);
                    }
                    if code != 0 {
                        app.toast(format!("could not open the cockpit on run {run} (see above the board: it printed why)"), true);
                    }
                    let _ = force.send(());
                    answer_now = true;
                }
                Effect::OpenHistory { release, env } => {
                    let tx = done_tx.clone();
                    let dir = state_dir.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = crate::store::open(&dir)
                            .map_err(|e| e.to_string())
                            .and_then(|o| snapshot::env_history(o.store.as_ref(), &release, &env));
                        let _ = tx.blocking_send(Done::History(release, env, r));
                    });
                }
                Effect::OpenApproval(run) => {
                    let tx = done_tx.clone();
                    let dir = crate::runs::runs_dir(&state_dir).join(&run);
                    let team = team.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = read_run(&dir, &run, team.as_ref());
                        let _ = tx.blocking_send(Done::Approval(run, Box::new(r)));
                    });
                }
                Effect::OpenStats => {
                    let tx = done_tx.clone();
                    let dir = state_dir.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = crate::store::open(&dir)
                            .map_err(|e| e.to_string())
                            .and_then(|o| stats::read(o.store.as_ref()));
                        let _ = tx.blocking_send(Done::Stats(r));
                    });
                }
                Effect::RollbackTo {
                    release,
                    env,
                    version,
                    reason,
                } => {
                    // The run is an engine host in a session of its own, like
                    // a cockpit's: closing the board never stops it.
                    let tx = done_tx.clone();
                    let dir = state_dir.clone();
                    tokio::task::spawn_blocking(move || {
                        let args: Vec<std::ffi::OsString> = [
                            "rollback",
                            "--to",
                            &version,
                            "--env",
                            &env,
                            "--release",
                            &release,
                            "--reason",
                            &reason,
                        ]
                        .iter()
                        .map(|a| (*a).into())
                        .collect();
                        // A host that gets ready has said nothing before
                        // it (`host::run` tells only why it stopped), so
                        // `ready.said` is empty here; what a failed one said
                        // is the board's message.
                        let r = crate::host::launch::start(&args, &dir)
                            .map(|ready| {
                                ready
                                    .run_dir
                                    .file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default()
                            })
                            .map_err(|f| f.lines);
                        let _ = tx.blocking_send(Done::RolledBack(r));
                    });
                }
                Effect::Send { run_id, command } => {
                    let tx = done_tx.clone();
                    let dir = crate::runs::runs_dir(&state_dir).join(&run_id);
                    let team = team.clone();
                    tokio::spawn(async move {
                        let what = command.describe();
                        let r = match team {
                            // A run another machine's engine drives: through the team store.
                            Some(team) if !dir.exists() => tokio::task::spawn_blocking(move || {
                                crate::store::postgres::commands::ask(
                                    &team, &run_id, &command, "board",
                                )
                                .and_then(|r| r)
                            })
                            .await
                            .unwrap_or_else(|e| Err(e.to_string())),
                            _ => send(&dir, command).await,
                        };
                        let _ = tx.send(Done::Reply(what, r)).await;
                    });
                }
            }
        }
        if !quit
            && app.dirty
            && !tui.gone()
            && (answer_now || tokio::time::Instant::now() >= last_draw + frame_gap)
        {
            if !tui.draw(|f| ui::draw(f, &app)) {
                quit = true;
            }
            app.dirty = false;
            last_draw = tokio::time::Instant::now();
        }
    }
    drop(tui);
    0
}

/// A run's plan as it ran and its state now, for the approval dialog: from
/// its journal here, or from the team journal when another machine has it.
fn read_run(
    dir: &Path,
    run_id: &str,
    team: Option<&crate::store::postgres::TeamConfig>,
) -> Result<(Plan, RunState), String> {
    let open = match team {
        Some(team) if !dir.exists() => {
            crate::runs::remote(
                dir.to_path_buf(),
                crate::store::postgres::reader::states(team, run_id)?,
            )
            .open
        }
        _ => crate::runs::open_dir_states(dir)?,
    };
    let plan = match open.plan() {
        Some(Ok(p)) => p,
        Some(Err(_)) => return Err("its plan no longer loads (`slate show` says why)".into()),
        None => return Err("its journal does not begin with the run's start".into()),
    };
    Ok((plan, open.state()))
}

/// One command to the run's control socket as this OS user, the way `slate
/// approve` sends it; the engine's answer, or why it could not be asked.
async fn send(dir: &Path, command: Action) -> Result<String, String> {
    match crate::control::client::command(dir, command, "board").await {
        Ok(reply) => reply,
        Err(crate::control::ClientError::NotActive(_)) => Err(crate::runs::not_served(dir)),
        Err(e) => Err(e.to_string()),
    }
}
