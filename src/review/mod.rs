//! `slate review RUN`: the post-deploy review and memory entry, written in
//! an editor and journaled as a `ReviewSaved` record after the run's last
//! record — past events are never edited. The dossier and the history index
//! are regenerated from the journal afterwards.

pub mod form;
pub mod ui;

use std::io::IsTerminal;
use std::path::Path;

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};

use crate::engine::event::{Actor, Event, Review};
use crate::engine::state::RunState;
use crate::runs::RunSummary;
use form::{Form, Outcome};

pub fn run(state_dir: &Path, config_dir: &Path, run: &str) -> i32 {
    let journal = match crate::runs::open(state_dir, run) {
        Ok(j) => j,
        Err(e) => {
            crate::warn_user!("slate: {}", e.message);
            return e.code;
        }
    };
    let dir = journal.dir.clone();
    let state = RunState::replay(&journal.records);
    if !state.is_finished() && crate::runs::engine_running(&dir, state.pid) {
        crate::warn_user!(
            "slate: run {} is still in progress (engine pid {}); review it once it has ended",
            state.run_id,
            state.pid
        );
        return 1;
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        crate::warn_user!("slate: the review editor needs a terminal");
        return 2;
    }
    let theme_name = crate::cockpit::config::load(config_dir)
        .ok()
        .and_then(|c| c.theme)
        .unwrap_or_else(|| "default".into());
    let theme = crate::cockpit::theme::Theme::load(&theme_name, config_dir)
        .unwrap_or_else(|_| crate::cockpit::theme::Theme::monochrome());
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
    let saved = match edit(&mut form, &heading, &theme) {
        Ok(s) => s,
        Err(e) => {
            crate::warn_user!("slate: terminal error: {e}");
            return 1;
        }
    };
    let Some(review) = saved else {
        crate::warn_user!("slate: review not saved");
        return 0;
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

/// Runs the editor until the user saves (the review) or leaves (`None`).
fn edit(
    form: &mut Form,
    heading: &ui::Heading,
    theme: &crate::cockpit::theme::Theme,
) -> std::io::Result<Option<Review>> {
    let mut terminal = crate::cockpit::terminal::enter()?;
    let result = (|| {
        let mut dirty = true;
        loop {
            if dirty {
                crate::cockpit::terminal::draw(&mut terminal, |f| {
                    ui::draw(f, form, heading, theme)
                })?;
                dirty = false;
            }
            match event::read()? {
                TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                    dirty = true;
                    match form.on_key(k) {
                        Outcome::Nothing => {}
                        Outcome::Save(r) => return Ok(Some(r)),
                        Outcome::Quit => return Ok(None),
                    }
                }
                TermEvent::Resize(..) | TermEvent::Paste(_) => dirty = true,
                _ => {}
            }
        }
    })();
    crate::cockpit::terminal::leave();
    result
}
