//! The cockpit: the interactive client of the engine, and of past runs.
//!
//! One loop owns the [`App`]. Terminal input, what the feed brings (records
//! and command replies from a run's control socket, or a replay's due
//! records) and a slow tick arrive over channels; the loop applies them, then
//! draws at most ~30 times a second and only when something changed. The
//! loop is the same for a live run and a replay: only the [`feed::Feed`]
//! differs. The engine of a live run is never in this process: `slate run`
//! starts it in an engine host ([`crate::host`]) and attaches to it.

mod actions;
pub mod app;
pub mod attach;
pub mod config;
pub mod dialog;
mod feed;
mod frames;
mod freezes;
pub mod keymap;
pub mod logs;
pub mod readonly;
pub mod replay;
pub mod screenshot;
pub mod ui;
mod verbs;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::output::err;
use crate::tui::theme::Theme;
use crate::tui::{Tui, TuiEvent};
use app::{App, Effect};
use feed::Feed;

/// A cockpit left with `:board`: whoever opened it opens the board next
/// (`board_asked`). Process-wide because the cockpit's callers are many
/// (run, demo, recover, attach, replay, the board itself) and its exit
/// status is already their exit status.
static BOARD_NEXT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the last cockpit was left with `:board` (and forget it).
pub fn board_asked() -> bool {
    BOARD_NEXT.swap(false, std::sync::atomic::Ordering::SeqCst)
}

/// A cockpit left with `:attach RUN`: the run (its id) to open next, as
/// [`BOARD_NEXT`] is for the board.
static ATTACH_NEXT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The run the last cockpit asked to attach to next (and forget it).
pub fn attach_asked() -> Option<String> {
    ATTACH_NEXT.lock().unwrap_or_else(|p| p.into_inner()).take()
}

const TICK: Duration = Duration::from_millis(250);
/// New output is shown at most this often while the log follows (see
/// [`App::pace_logs`]); the first line after a quiet spell at once.
const LOG_GAP: Duration = Duration::from_millis(500);

pub struct CockpitArgs {
    pub theme: Option<String>,
    /// The plan whose outline is drawn while the engine host starts;
    /// `None` for `slate recover`, whose host finds the plan in a journal.
    pub plan: Option<Outline>,
}

/// The plan the engine host will run, as this process can load it.
pub enum Outline {
    /// `slate run PLAN` and its `--set NAME=VALUE` values (with a cockpit,
    /// `slate run` takes no pre-approvals).
    File {
        path: PathBuf,
        set: Vec<(String, String)>,
    },
    /// A plan's text: the demo's, filled in as its host fills it in, but
    /// for the loopback ports only the host holds (the outline shows none).
    Text { source: String, file: String },
}

/// When the loop looks at the clock next: a replay playing moves every
/// [`TICK`]; otherwise only spinners and seconds counters change, and they
/// change together once a second, just after the second turns — a cockpit
/// parked at a gate for an hour wakes 3,600 times, not 14,400, and one
/// watching an analysis over SSH gets one frame a second for them, not four.
fn next_wake(app: &App) -> Duration {
    if app.replay.is_some() {
        return TICK;
    }
    let into = u64::try_from(app.now.subsec_millisecond()).unwrap_or(0) % 1000;
    Duration::from_millis(1000 - into + 2)
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// The app quit (a key, or the run ending after an abort).
    Quit,
    /// The terminal went away (SIGHUP, POLLHUP, a failed write): nobody is
    /// there to read anything more.
    HungUp,
    /// A signal ended the cockpit (SIGTERM, SIGINT, a SIGHUP someone sent):
    /// the terminal is restored and can be told so.
    Signal(&'static str),
}

/// `slate run PLAN` and `slate demo`: starts the engine host (this binary,
/// `host_args` plus `--serve`), waits for its handshake, then opens the
/// cockpit on its run like `slate attach`. Meanwhile, given the plan, it
/// draws the plan's outline (status starting): the first frame does not
/// wait for a second process to start and answer. The exit status is the run's
/// (0 released, 1 not) if it ended while the cockpit was open, 0 after a
/// detach, the host's if it failed (2 invalid plan), 2 without a terminal.
pub async fn launch(
    host_args: Vec<OsString>,
    args: CockpitArgs,
    state_dir: &Path,
    config_dir: &Path,
) -> i32 {
    if !crate::tui::has_terminal(
        "slate: the cockpit needs a terminal; use --headless for scripts and CI",
    ) {
        return 2;
    }
    let Some(user) = load_config(config_dir) else {
        return 2;
    };
    let Some(theme) = load_theme(args.theme, &user, config_dir) else {
        return 2;
    };
    let state = state_dir.to_path_buf();
    let starting = tokio::task::spawn_blocking(move || crate::host::start(&host_args, &state));
    let screen = args
        .plan
        .and_then(|plan| outline(&plan, &user.keymap, &theme));
    let ready = match starting.await {
        Ok(Ok(ready)) => ready,
        Ok(Err(failed)) => {
            drop(screen);
            for l in &failed.lines {
                err(l);
            }
            return failed.code;
        }
        Err(e) => {
            drop(screen);
            err(&format!("slate: {e}"));
            return 1;
        }
    };
    tracing::info!(run_dir = %ready.run_dir.display(), pid = ready.pid, "attaching to the engine host");
    let code = attach::open(
        ready.run_dir,
        attach::Opening {
            keymap: user.keymap,
            theme,
            read_only: false,
            launched: true,
            screen,
        },
    )
    .await;
    // After the cockpit, where a line cannot land on a drawn screen.
    for l in &ready.said {
        err(l);
    }
    code
}

/// Takes the terminal and draws the outline of the plan `o` names, loaded
/// as the engine host will load it, while the host starts. `None` (the
/// terminal left alone) when the plan does not load: the host says why on
/// the terminal's own screen, as it does without a cockpit.
fn outline(o: &Outline, keymap: &keymap::Keymap, theme: &Theme) -> Option<Tui> {
    let plan = match o {
        Outline::File { path, set } => crate::plan::load_file_with(path, set),
        Outline::Text { source, file } => crate::plan::parse(source, file, PathBuf::new()),
    }
    .ok()?;
    let mut app = App::outlined(plan, keymap.clone(), theme.clone());
    app.now = jiff::Timestamp::now();
    let mut tui = Tui::enter().ok()?;
    if let Some(size) = tui.size() {
        app.view.size = size;
    }
    tui.draw(|f| ui::draw(f, &app));
    Some(tui)
}

/// The user's config.toml, its problems reported.
fn load_config(config_dir: &Path) -> Option<config::UserConfig> {
    config::load(config_dir)
        .map_err(|e| {
            for l in e.lines() {
                err(&l);
            }
        })
        .ok()
}

/// `--theme`, else the config's, else the default; its problem reported.
fn load_theme(arg: Option<String>, user: &config::UserConfig, config_dir: &Path) -> Option<Theme> {
    Theme::pick(arg, user.theme.clone(), config_dir)
        .map_err(|e| err(&format!("slate: {e}")))
        .ok()
}

/// Takes the terminal (unless `screen` already holds it), runs the loop
/// until the app quits or the terminal goes away, and hands the terminal
/// back. Errs (with the terminal untouched) if it could not start.
async fn drive(app: &mut App, feed: &mut Feed, screen: Option<Tui>) -> Result<Left, String> {
    let mut tui = match screen {
        Some(tui) => tui,
        None => Tui::enter()?,
    };
    feed.sync(app);
    if let Some(size) = tui.size() {
        app.view.size = size;
    }
    let mut next_tick = tokio::time::Instant::now() + TICK;
    let mut frames = frames::Frames::new(tokio::time::Instant::now());
    app.pace_logs();
    let mut last_reveal = tokio::time::Instant::now() - LOG_GAP;
    let mut left = Left::Quit;
    let mut quit = false;
    let mut last_second = 0i64;

    while !quit {
        let redraw_at = frames.next_at(tokio::time::Instant::now());
        let reveal_at = last_reveal + LOG_GAP;
        let wait_reveal = app.logs_pending && !tui.gone();
        let wait_draw = app.dirty && !tui.gone();
        let mut effects = Vec::new();
        // A key is answered at once; the frame cap is for floods, not for people.
        let mut answer_now = false;
        tokio::select! {
            // The terminal first: a key waiting is answered before the next
            // batch of a flood's records (the batches are bounded, keys are
            // people's pace, so nothing else starves).
            biased;
            ev = tui.next() => match ev {
                TuiEvent::Key(k) => {
                    feed.sync(app);
                    effects = app.on_key(k);
                    answer_now = true;
                }
                TuiEvent::Mouse(m) => {
                    let panels = ui::areas(app, app.view.size).panels;
                    app.on_mouse(m, &panels);
                    effects.extend(app.history_wanted());
                    answer_now = true;
                }
                TuiEvent::Paste(text) => {
                    app.on_paste(&text);
                    answer_now = true;
                }
                TuiEvent::Resize(w, h) => {
                    app.view.size = ratatui::layout::Rect::new(0, 0, w, h);
                    app.dirty = true;
                }
                TuiEvent::Resumed => {
                    feed.sync(app);
                    if let Some(size) = tui.size() {
                        app.view.size = size;
                    }
                    app.dirty = true;
                    answer_now = true;
                }
                // A viewer's death detaches it: the run is not the cockpit's to stop.
                TuiEvent::Stop(signal) => {
                    left = Left::Signal(signal);
                    effects.extend(app.on_terminate());
                }
                // Without a terminal nobody can quit by hand; the run is not ours to keep.
                TuiEvent::Gone => left = Left::HungUp,
            },
            _ = tokio::time::sleep_until(next_tick) => {
                feed.sync(app);
                let running = app.run.envs.iter().any(|e| e.steps.iter().any(|s| s.state == crate::engine::state::StepState::Running));
                if app.animating() {
                    let second = app.now.as_second();
                    // Spinners move while a step runs; otherwise only the seconds counters change.
                    if running || second != last_second {
                        app.frame += u64::from(running);
                        app.dirty = true;
                    }
                    last_second = second;
                }
                next_tick = tokio::time::Instant::now() + next_wake(app);
            }
            // After the clock (ready once a second, so a flood cannot starve
            // it) and before the frame and reveal timers.
            msg = feed.next() => effects.extend(feed.take(msg, app)),
            _ = tokio::time::sleep_until(redraw_at), if wait_draw => {}
            _ = tokio::time::sleep_until(reveal_at), if wait_reveal => {}
        }
        if tui.gone() {
            left = Left::HungUp;
            quit = true;
        }
        for e in effects {
            match e {
                Effect::Quit => {
                    quit = true;
                    if app.then_board {
                        BOARD_NEXT.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    if let Some(run) = app.then_attach.take() {
                        *ATTACH_NEXT.lock().unwrap_or_else(|p| p.into_inner()) = Some(run);
                    }
                }
                Effect::Copy(text) => {
                    if crate::tui::osc::enabled() {
                        tui.send_raw(&crate::tui::osc::copy(&text));
                    } else {
                        app.toast(
                            format!("copy is off (SLATE_NO_OSC, or no OSC 52 here): {text}"),
                            true,
                        );
                    }
                }
                other => feed.perform(other, app),
            }
        }
        // A key sees everything that has arrived; otherwise output waits its turn.
        if app.logs_pending && (answer_now || tokio::time::Instant::now() >= reveal_at) {
            app.reveal_logs();
            last_reveal = tokio::time::Instant::now();
        }
        let now = tokio::time::Instant::now();
        if app.dirty && !tui.gone() && (answer_now || frames.next_at(now) <= now) {
            if !tui.draw(|f| ui::draw(f, app)) {
                left = Left::HungUp;
                quit = true;
            }
            app.dirty = false;
            frames.drawn(tokio::time::Instant::now());
        }
    }
    drop(tui);
    Ok(left)
}
