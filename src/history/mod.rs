//! `slate history`: a browser of past runs and their dossiers.
//!
//! The runs come from the store a page at a time (`store::list_runs`),
//! never from every journal, and never all at once: the browser holds a
//! window around what is in view, the plain and JSON outputs stream. In a terminal, one loop owns the [`App`](app::App): keys, resizes,
//! finished background reads and a slow tick arrive over channels; the loop
//! applies them and draws, only when something changed and at most ~30 times
//! a second. Reading a dossier and writing an export happen off the loop,
//! on blocking tasks that report back as messages. For scripts there is
//! `--json`, and a plain table when stdout is not a terminal.

pub mod app;
mod args;
mod export;
pub mod format;
pub mod keymap;
mod plain;
pub mod ui;
mod viewer;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::crossterm::event::MouseEventKind;
use tokio::sync::mpsc;

pub use args::OutcomeArg;

use crate::cockpit::config;
use crate::output::err;
use crate::runs::Outcome;
use crate::store::RunQuery;
use crate::tui::theme::Theme;
use crate::tui::{Tui, TuiEvent};
use app::{App, Effect};

/// Floods of keys or resizes become at most this many frames a second.
const MAX_FPS: u64 = 30;
/// Toasts expire on this beat; nothing else needs a clock.
const TICK: Duration = Duration::from_secs(1);

pub struct HistoryArgs {
    /// Print the runs as JSON instead of browsing them.
    pub json: bool,
    /// Only runs that ended this way (in the browser: the outcome filter it starts with).
    pub outcome: Option<Outcome>,
    /// `--theme`: wins over the config's.
    pub theme: Option<String>,
}

/// Runs `slate history`; returns the exit status.
pub fn run(args: HistoryArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    let listing = crate::store::list_runs(state_dir);
    for n in &listing.notices {
        err(&format!("slate: {n}"));
    }
    for w in &listing.warnings {
        err(&format!("slate: {w}"));
    }
    if let Some(e) = &listing.unavailable {
        err(&format!("slate: {e}"));
        return 1;
    }
    let source = listing.runs;
    let wanted = RunQuery {
        outcome: args.outcome,
        ..RunQuery::default()
    };
    if args.json {
        return match plain::json(source.as_ref(), &wanted, &mut std::io::stdout().lock()) {
            Ok(()) => 0,
            // A reader that went away (`| head`) is not an error of ours.
            Err(plain::Failed::Closed) => 0,
            Err(e) => {
                err(&format!("slate: {e}"));
                1
            }
        };
    }
    let dir = crate::runs::runs_dir(state_dir);
    let total = match source.count(&RunQuery::default()) {
        Ok(n) => n,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 1;
        }
    };
    if total == 0 {
        crate::say!(
            "No runs yet in {}. Start one with `slate run PLAN`.",
            dir.display()
        );
        return 0;
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        let shown = match source.count(&wanted) {
            Ok(n) => n,
            Err(e) => {
                err(&format!("slate: {e}"));
                return 1;
            }
        };
        match args.outcome {
            Some(o) if shown == 0 => {
                crate::say!(
                    "None of the {total} runs in {} is {}.",
                    dir.display(),
                    o.word()
                );
            }
            _ => {
                if let Err(e) = plain::table(
                    source.as_ref(),
                    &wanted,
                    &TimeZone::system(),
                    &mut std::io::stdout().lock(),
                ) {
                    return match e {
                        plain::Failed::Closed => 0,
                        e => {
                            err(&format!("slate: {e}"));
                            1
                        }
                    };
                }
            }
        }
        return 0;
    }
    let Some(theme) = theme(args.theme, config_dir) else {
        return 2;
    };
    let mut app = App::paged(source, theme, TimeZone::system());
    app.set_outcome(args.outcome);
    if let Some(w) = listing.warnings.first() {
        let more = match listing.warnings.len() {
            1 => String::new(),
            n => format!(" (and {} more, on stderr)", n - 1),
        };
        app.toast(format!("{w}{more}"), true);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err(&format!("slate: cannot start the runtime: {e}"));
            return 1;
        }
    };
    let code = rt.block_on(browse(app, state_dir.to_path_buf()));
    // A dossier still being read must not hold the exit.
    rt.shutdown_background();
    code
}

/// `--theme`, else the user's. A theme asked for by name must exist (`None`,
/// reported); a broken config or configured theme is reported and the default
/// used, since browsing history should not depend on it.
fn theme(arg: Option<String>, config_dir: &Path) -> Option<Theme> {
    let configured = match config::load(config_dir) {
        Ok(c) => c.theme,
        Err(e) => {
            for l in e.lines() {
                err(&l);
            }
            None
        }
    };
    let asked = arg.is_some();
    match Theme::pick(arg, configured, config_dir) {
        Ok(t) => Some(t),
        Err(e) if asked => {
            err(&format!("slate: {e}"));
            None
        }
        Err(e) => {
            err(&format!("slate: {e}; using the default theme"));
            Some(
                Theme::builtin("default")
                    .and_then(Result::ok)
                    .unwrap_or_else(Theme::monochrome),
            )
        }
    }
}

/// What a background task hands back to the loop.
enum Done {
    Dossier(String, Result<(String, Option<String>), String>),
    Exported(Result<String, String>),
}

async fn browse(mut app: App, state_dir: PathBuf) -> i32 {
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
    let cwd = std::env::current_dir().ok();
    let (done_tx, mut done) = mpsc::channel::<Done>(8);
    let mut tick = tokio::time::interval(TICK);
    let frame_gap = Duration::from_millis(1000 / MAX_FPS);
    let mut last_draw = tokio::time::Instant::now() - frame_gap;
    let mut quit = false;

    while !quit {
        let redraw_at = last_draw + frame_gap;
        let mut effects = Vec::new();
        tokio::select! {
            ev = tui.next() => match ev {
                TuiEvent::Key(k) => {
                    app.tick(Timestamp::now());
                    effects = app.on_key(k);
                }
                TuiEvent::Mouse(m) => match m.kind {
                    MouseEventKind::ScrollDown => app.on_scroll(true),
                    MouseEventKind::ScrollUp => app.on_scroll(false),
                    _ => {}
                },
                TuiEvent::Paste(text) => app.on_paste(&text),
                TuiEvent::Resize(w, h) => app.resize(w, h),
                TuiEvent::Resumed => {
                    if let Some(size) = tui.size() {
                        app.resize(size.width, size.height);
                    }
                }
                // A signal, or the terminal gone and with it anyone to browse for.
                TuiEvent::Stop(_) | TuiEvent::Gone => quit = true,
            },
            Some(d) = done.recv() => {
                app.tick(Timestamp::now());
                match d {
                    Done::Dossier(id, r) => app.dossier_loaded(&id, r),
                    Done::Exported(r) => app.exported(r),
                }
            }
            _ = tick.tick() => app.tick(Timestamp::now()),
            _ = tokio::time::sleep_until(redraw_at), if app.dirty => {}
        }
        for e in effects {
            match e {
                Effect::Quit => quit = true,
                Effect::OpenDossier(id) => {
                    let dir = crate::runs::runs_dir(&state_dir).join(&id);
                    let tx = done_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = crate::dossier::for_run(&dir).map(|r| (r.markdown, r.warning));
                        let _ = tx.blocking_send(Done::Dossier(id, r));
                    });
                }
                Effect::Export(id) => {
                    let dir = crate::runs::runs_dir(&state_dir).join(&id);
                    let tx = done_tx.clone();
                    let cwd = cwd.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.blocking_send(Done::Exported(export_dossier(&dir, &id, cwd)));
                    });
                }
            }
        }
        if !quit && app.dirty && tokio::time::Instant::now() >= last_draw + frame_gap {
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

/// Writes the run's dossier into `cwd` as a new file; returns where it went,
/// as a person would type it and in full (`./dossier-RUN.md (/home/…/dossier-RUN.md)`).
fn export_dossier(run_dir: &Path, run_id: &str, cwd: Option<PathBuf>) -> Result<String, String> {
    let cwd = cwd.ok_or("cannot tell which directory this is")?;
    let rendered = crate::dossier::for_run(run_dir)?;
    let path = export::write_new(&cwd, run_id, &rendered.markdown)
        .map_err(|e| format!("{}: {e}", cwd.display()))?;
    Ok(format!(
        "{} ({})",
        export::shown(&path, &cwd),
        path.display()
    ))
}
