//! `slate review RUN`: the post-deploy review and memory entry, written in
//! an editor and journaled as a `ReviewSaved` record after the run's last
//! record — past events are never edited. The dossier and the history index
//! are regenerated from the journal afterwards.

pub mod form;
pub mod ui;

use std::path::Path;

use crate::engine::event::{Actor, Event, Review};
use crate::runs::RunSummary;
use crate::tui::theme::Theme;
use crate::tui::{Tui, TuiEvent};
use form::{Form, Outcome};

/// How the editor ended.
enum Edited {
    Saved(Review),
    Left,
    /// A signal ended it (the terminal is restored; nothing was saved).
    Stopped(&'static str),
}

/// `slate review RUN [--theme NAME]`: 0 saved or left, 1 not saved because
/// of an error or a signal, 2 usage (no terminal, bad run).
pub fn run(state_dir: &Path, config_dir: &Path, run: &str, theme: Option<String>) -> i32 {
    // This machine's runs only: a review is journaled in the run's own
    // journal, which a copy of a team run is not.
    let journal = match crate::runs::find_run(state_dir, run)
        .map_err(|message| crate::runs::OpenError { code: 2, message })
        .and_then(|d| {
            crate::runs::open_dir_states(&d)
                .map_err(|message| crate::runs::OpenError { code: 1, message })
        }) {
        Ok(j) => j,
        Err(e) => {
            crate::warn_user!("slate: {}", e.message);
            return e.code;
        }
    };
    let dir = journal.dir.clone();
    let state = journal.state();
    if !state.is_finished() && crate::runs::engine_running(&dir, state.pid) {
        crate::warn_user!(
            "slate: run {} is still in progress (engine pid {}); review it once it has ended",
            state.run_id,
            state.pid
        );
        return 1;
    }
    if !crate::tui::has_terminal("slate: the review editor needs a terminal") {
        return 2;
    }
    let configured = crate::cockpit::config::load(config_dir)
        .ok()
        .and_then(|c| c.theme);
    // A theme asked for by name must exist; a broken config falls back, as before.
    let asked = theme.is_some();
    let theme = match Theme::pick(theme, configured, config_dir) {
        Ok(t) => t,
        Err(e) if asked => {
            crate::warn_user!("slate: {e}");
            return 2;
        }
        Err(_) => Theme::monochrome(),
    };
    let alive = crate::runs::engine_running(&dir, state.pid);
    let mut without_review = state.clone();
    without_review.review = None;
    let summary = RunSummary::from_state(&without_review, alive);
    let heading = ui::Heading {
        run_id: state.run_id.clone(),
        title: format!("{} {}", state.release, state.version),
        outcome: summary.outcome.word().to_string(),
    };
    let mut form = Form::new(state.review.as_ref().map(|(_, r)| r), summary.memory);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::warn_user!("slate: cannot start the runtime: {e}");
            return 1;
        }
    };
    let edited = rt.block_on(edit(&mut form, &heading, &theme));
    let review = match edited {
        Ok(Edited::Saved(r)) => r,
        Ok(Edited::Left) => {
            crate::warn_user!("slate: review not saved");
            return 0;
        }
        Ok(Edited::Stopped(signal)) => {
            crate::warn_user!("slate: {signal}: review not saved");
            return 1;
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    match save(state_dir, &dir, review) {
        Ok(dossier) => {
            crate::say!("✔ review saved; dossier: {}", dossier.display());
            0
        }
        Err(e) => {
            crate::warn_user!("slate: review not saved: {e}");
            1
        }
    }
}

/// Journals the review, then rewrites the dossier and the run's index line.
pub fn save(
    state_dir: &Path,
    run_dir: &Path,
    review: Review,
) -> Result<std::path::PathBuf, String> {
    crate::journal::append_after(
        run_dir,
        Event::ReviewSaved {
            actor: Actor::current("review"),
            review,
        },
    )?;
    let dossier = crate::dossier::write(run_dir)?;
    crate::runs::record_journal(state_dir, run_dir)?;
    Ok(dossier)
}

/// Runs the editor until the user saves or leaves, a signal ends it, or
/// the terminal goes away.
async fn edit(form: &mut Form, heading: &ui::Heading, theme: &Theme) -> Result<Edited, String> {
    let mut tui = Tui::enter()?;
    let mut dirty = true;
    loop {
        if dirty {
            if !tui.draw(|f| ui::draw(f, form, heading, theme)) {
                return Err("the terminal went away; review not saved".into());
            }
            dirty = false;
        }
        match tui.next().await {
            TuiEvent::Key(k) => {
                dirty = true;
                match form.on_key(k) {
                    Outcome::Nothing => {}
                    Outcome::Save(r) => return Ok(Edited::Saved(r)),
                    Outcome::Quit => return Ok(Edited::Left),
                }
            }
            TuiEvent::Paste(text) => {
                form.paste(&text);
                dirty = true;
            }
            TuiEvent::Resize(..) | TuiEvent::Resumed => dirty = true,
            TuiEvent::Mouse(_) => {}
            TuiEvent::Stop(signal) => return Ok(Edited::Stopped(signal)),
            TuiEvent::Gone => return Err("the terminal went away; review not saved".into()),
        }
    }
}
