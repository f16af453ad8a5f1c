//! `slate replay RUN`: a past run's journal played in the cockpit,
//! read-only, at an adjustable speed. The same `App`, keys and drawing as a
//! live run; only the feed differs — records come from a [`Player`] instead
//! of the engine, and nothing is ever sent.

mod player;
mod session;
mod tape;

use std::path::Path;
use std::time::Duration;

use jiff::tz::TimeZone;
use tokio::time::Instant;

use super::app::{App, Effect};
use super::feed::Feed;
use crate::output::err;
pub use player::{Control, IDLE, MAX_SPEED, MIN_SPEED, Move, Player, SPEEDS, Skip, is_interesting};
pub use session::{End, Replay, ReplayView};
pub use tape::Tape;

/// Records due closer together than this are played in one wake-up: the
/// screen shows at most ~30 frames a second anyway.
const MIN_WAKE: Duration = Duration::from_millis(10);

pub struct ReplayArgs {
    /// Run id, unique prefix, or "latest".
    pub run: String,
    pub speed: f64,
    pub theme: Option<String>,
    /// Open paused on the first record instead of playing.
    pub paused: bool,
}

/// Plays a run's journal in the cockpit; 0 when the viewer quits, 1 if the
/// journal cannot be played, 2 for usage errors (bad run id, no terminal).
pub async fn run(args: ReplayArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !(MIN_SPEED..=MAX_SPEED).contains(&args.speed) {
        err(&format!(
            "slate: --speed must be between {MIN_SPEED} and {MAX_SPEED} (got {})",
            args.speed
        ));
        return 2;
    }
    let dir = match crate::runs::find_anywhere(state_dir, &args.run) {
        Ok(d) => d,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 2;
        }
    };
    let path = dir.join(crate::journal::JOURNAL_FILE);
    // State records parsed, output lines only indexed: a flood is read
    // back a window at a time, as it is shown.
    let (tape, warning) = match Tape::open(&path) {
        Ok(t) => t,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 1;
        }
    };
    // The first line, not merely the first state record, is the run's start.
    let first = tape.kept(0).map(std::slice::from_ref).unwrap_or_default();
    if let Err(e) = crate::runs::started(&path, first) {
        err(&format!("slate: {e}"));
        return 1;
    }
    // A torn tail is a crash's last write: say so, and play what is there.
    if let Some(w) = &warning {
        err(&format!("slate: warning: {w}"));
    }
    let pid = crate::runs::pid_of(tape.states());
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plan = match crate::runs::recorded_plan(tape.states()) {
        Some(recorded) => match recorded {
            Ok(p) => p,
            Err(e) => {
                err(&format!(
                    "slate: {}: the plan recorded in this run no longer loads:",
                    path.display()
                ));
                for l in e.lines() {
                    err(&l);
                }
                return 1;
            }
        },
        None => {
            err(&format!(
                "slate: {}: the journal does not begin with the run's start",
                path.display()
            ));
            return 1;
        }
    };
    if !crate::tui::has_terminal(
        "slate: replay needs a terminal; `slate show RUN` prints a run's state as text",
    ) {
        return 2;
    }
    let Some(user) = super::load_config(config_dir) else {
        return 2;
    };
    let Some(theme) = super::load_theme(args.theme, &user, config_dir) else {
        return 2;
    };
    let mut app = App::new(plan, user.keymap, theme);
    let mut replay = match Replay::on(tape, args.speed, TimeZone::system(), &mut app) {
        Ok(r) => r,
        Err(e) => {
            err(&format!("slate: {}: {e}", path.display()));
            return 1;
        }
    };
    if !args.paused {
        replay.play(&mut app);
    }
    if !replay.player().finished() && crate::runs::engine_running(&dir, pid) {
        replay.set_still_running(true, &mut app);
    }
    if let Some(w) = warning {
        app.toast(w, true);
    }
    let mut feed = Feed::Replay(ReplayFeed::new(replay));
    if let Err(e) = super::drive(&mut app, &mut feed, None).await {
        err(&format!("slate: {e}"));
        return 1;
    }
    let (pos, total) = app.replay.as_ref().map_or((0, 0), |r| (r.pos, r.total));
    crate::say!(
        "replayed run {run_id} to record {pos} of {total}: {}",
        app.run.status.word(),
    );
    crate::say!("journal: {}", path.display());
    0
}

/// The replay's side of the loop: wakes when the player has something due.
pub struct ReplayFeed {
    session: Replay,
    /// When the player last caught up with real time.
    last: Instant,
}

impl ReplayFeed {
    pub fn new(session: Replay) -> ReplayFeed {
        ReplayFeed {
            session,
            last: Instant::now(),
        }
    }

    /// Sleeps until the player has something due; forever while paused.
    /// Cancel-safe: it only sleeps.
    pub async fn next(&mut self) {
        match self.session.player().until_next() {
            Some(d) => tokio::time::sleep_until(self.last + d.max(MIN_WAKE)).await,
            None => std::future::pending().await,
        }
    }

    /// Lets the real time since the last call pass in the player.
    pub fn sync(&mut self, app: &mut App) {
        let now = Instant::now();
        self.session.advance(app, now - self.last);
        self.last = now;
    }

    pub fn perform(&mut self, effect: Effect, app: &mut App) {
        match effect {
            Effect::Replay(c) => {
                self.sync(app);
                self.session.control(app, c);
            }
            // In memory already, and capped at the position: no journal read.
            Effect::LoadHistory { before } => app.add_history(self.session.history(before)),
            // Read-only: the app refuses commands before they become effects.
            Effect::Send(_) | Effect::Quit | Effect::Copy(_) | Effect::Verb(_) => {}
        }
    }
}
