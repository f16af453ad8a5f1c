//! A replay session: the player and the [`App`] it plays into. Pure like the
//! player: the feed tells it how much real time passed and which replay keys
//! were pressed. The App's run state is always a function of the records
//! played — going back rebuilds it from `records[..n]`, exactly as a fresh
//! replay of that prefix would.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::player::{Control, Move, Player};
use super::tape::Tape;
use crate::cockpit::app::App;
use crate::cockpit::keymap::UiAction;
use crate::cockpit::logs::{
    CAPACITY as LOG_CAPACITY, HISTORY_BATCH, LogLine, history_from, history_from_file,
};
use crate::control::wire::ElidedStep;
use crate::engine::event::{ApprovalSource, Event, Record, StepStatus};

/// How the journal ends, once the player has reached its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The run finished (its `RunFinished` is in the journal).
    Finished,
    /// No `RunFinished`: slate stopped mid-run, or the run is still going.
    Unfinished { still_running: bool },
}

/// What the header shows about the replay: set by the session, read by the UI.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayView {
    pub speed: f64,
    pub paused: bool,
    /// Records played, and in the journal.
    pub pos: usize,
    pub total: usize,
    pub clock: Timestamp,
    /// An idle stretch just cut short (shown for a few seconds).
    pub skipped: Option<SignedDuration>,
    pub end: Option<End>,
    /// For the clock in the header: the viewer's zone (tests use UTC).
    pub tz: TimeZone,
}

impl ReplayView {
    pub fn playing(&self) -> bool {
        !self.paused && self.end.is_none()
    }
}

pub struct Replay {
    player: Player,
    tz: TimeZone,
    still_running: bool,
}

impl Replay {
    /// Makes `app` a read-only replay showing the run's first record, paused.
    pub fn new(
        records: Vec<Record>,
        speed: f64,
        tz: TimeZone,
        app: &mut App,
    ) -> Result<Replay, String> {
        Replay::on(Tape::from_records(records), speed, tz, app)
    }

    /// A replay of a tape: a journal whose output is read back when shown.
    pub fn on(tape: Tape, speed: f64, tz: TimeZone, app: &mut App) -> Result<Replay, String> {
        let player = Player::on(tape, speed)?;
        app.set_read_only("replay");
        app.reset_from(&player.played());
        let r = Replay {
            player,
            tz,
            still_running: false,
        };
        r.sync(app);
        let k = |a| app.keymap.label(a);
        let hello = format!(
            "replay, paused at the start — {} plays, {} jumps to the next gate or failure, {} lists the keys",
            k(UiAction::ReplayPause),
            k(UiAction::ReplayNext),
            k(UiAction::Help)
        );
        app.toast(hello, false);
        Ok(r)
    }

    pub fn player(&self) -> &Player {
        &self.player
    }

    /// Starts playing from where it is, as `slate replay` does unless `--paused`.
    pub fn play(&mut self, app: &mut App) {
        self.player.set_paused(false);
        let k = |a| app.keymap.label(a);
        let hello = format!(
            "replaying at {}× — {} pauses, {} jumps to the next gate or failure, {} lists the keys",
            self.player.speed(),
            k(UiAction::ReplayPause),
            k(UiAction::ReplayNext),
            k(UiAction::Help)
        );
        app.toast(hello, false);
        self.sync(app);
    }

    /// The run's engine is still writing this journal: the end is only "so far".
    pub fn set_still_running(&mut self, yes: bool, app: &mut App) {
        self.still_running = yes;
        self.sync(app);
    }

    /// Lets `real` time pass; plays whatever became due.
    pub fn advance(&mut self, app: &mut App, real: Duration) {
        let was_end = self.player.at_end();
        let due = self.player.advance(real);
        self.apply(app, Move::Forward(due));
        self.settle(app, was_end);
    }

    pub fn control(&mut self, app: &mut App, c: Control) {
        let was_end = self.player.at_end();
        let p = &mut self.player;
        match c {
            Control::TogglePause if p.at_end() => {
                let start = app.keymap.label(UiAction::ReplayStart);
                app.toast(
                    format!("this is the end of the journal — {start} starts over"),
                    false,
                );
            }
            Control::TogglePause => p.set_paused(!p.paused()),
            Control::Faster | Control::Slower => p.faster(c == Control::Faster),
            Control::Step => match p.step() {
                Some(m) => self.apply(app, m),
                None => app.toast("this is the end of the journal", false),
            },
            Control::NextInterest => match p.next_interest() {
                Some(m) => {
                    self.apply(app, m);
                    self.land(app, "⏭");
                }
                None => app.toast("no gate, decision or failure after this point", false),
            },
            Control::PrevInterest => match p.prev_interest() {
                Some(m) => {
                    self.apply(app, m);
                    self.land(app, "⏮");
                }
                None => app.toast("no gate, decision or failure before this point", false),
            },
            Control::Start => {
                let m = p.seek(1);
                self.apply(app, m);
                app.toast("back at the start of the run", false);
            }
            Control::End => {
                let m = p.seek(p.len());
                self.apply(app, m);
            }
        }
        self.settle(app, was_end);
    }

    /// Output lines for the log history, never from after the position:
    /// the viewer must not see what had not happened yet.
    pub fn history(&self, before: u64) -> Vec<LogLine> {
        let tape = self.player.tape();
        let before = before.min(tape.seq(self.player.pos()));
        match tape.path() {
            Some(path) => history_from_file(path, before, HISTORY_BATCH).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %path.display(), "cannot read log history");
                Vec::new()
            }),
            None => history_from(&self.player.played(), before, HISTORY_BATCH),
        }
    }

    fn apply(&self, app: &mut App, m: Move) {
        match m {
            Move::Forward(range) => self.play_into(app, range),
            Move::Rebuild(n) => app.reset_with(|app| self.play_into(app, 0..n)),
        }
    }

    /// Applies records `range` to the app. Output lines older than what
    /// the log window holds are counted for their steps and left in the
    /// journal (read back on scrolling, like a live cockpit's elided
    /// lines), so a jump across a flood reads only what it shows.
    fn play_into(&self, app: &mut App, range: std::ops::Range<usize>) {
        let tape = self.player.tape();
        let outputs = range
            .clone()
            .filter(|&i| tape.output_of(i).is_some())
            .count();
        let mut to_skip = outputs.saturating_sub(LOG_CAPACITY);
        let mut skipped = Elided::default();
        for i in range {
            if to_skip > 0
                && let Some((env, step)) = tape.output_of(i)
            {
                to_skip -= 1;
                skipped.add(env, step, tape.seq(i));
                if to_skip == 0 {
                    let e = std::mem::take(&mut skipped);
                    app.skip_output(&e.steps, e.lines, e.to_seq);
                }
                continue;
            }
            if let Some(r) = tape.get(i) {
                // Effects of records are commands and quits: none apply to a replay.
                let _ = app.apply_record(&r);
            }
        }
    }

    /// After any move: the clock and header follow, and reaching the end is said once.
    fn settle(&self, app: &mut App, was_end: bool) {
        self.sync(app);
        if was_end || !self.player.at_end() {
            return;
        }
        match self.end() {
            Some(End::Unfinished { still_running }) => {
                let why = if still_running {
                    "the run is still going; this is as far as its journal had got"
                } else {
                    "the run never finished: slate stopped mid-run (crash or kill)"
                };
                app.toast(format!("end of the journal — {why}"), true);
            }
            // The run's own final message is already the toast.
            Some(End::Finished) | None => {}
        }
    }

    fn end(&self) -> Option<End> {
        self.player.at_end().then(|| {
            if self.player.finished() {
                End::Finished
            } else {
                End::Unfinished {
                    still_running: self.still_running,
                }
            }
        })
    }

    fn sync(&self, app: &mut App) {
        let p = &self.player;
        app.now = p.clock();
        let skipped = p
            .skip()
            .filter(|s| p.clock().duration_since(s.at) < p.idle_cap())
            .map(|s| s.skipped);
        let view = ReplayView {
            speed: p.speed(),
            paused: p.paused(),
            pos: p.pos(),
            total: p.len(),
            clock: p.clock(),
            skipped,
            end: self.end(),
            tz: self.tz.clone(),
        };
        if app.replay.as_ref() != Some(&view) {
            app.replay = Some(view);
            app.dirty = true;
        }
    }

    /// Says where a jump landed: the record of interest, in words.
    fn land(&self, app: &mut App, mark: &str) {
        let text = describe(app, &self.player.current());
        app.toast(format!("{mark} {text}"), false);
    }
}

fn word(s: StepStatus) -> &'static str {
    crate::engine::state::StepState::from_status(s).word()
}

/// A record of interest as one line, with names from the run state.
fn describe(app: &App, rec: &Record) -> String {
    let env = |e: usize| {
        app.run
            .envs
            .get(e)
            .map(|v| v.name.clone())
            .unwrap_or_default()
    };
    let step = |e: usize, s: usize| {
        app.run
            .envs
            .get(e)
            .and_then(|v| v.steps.get(s))
            .map(|s| s.label.clone())
            .unwrap_or_default()
    };
    match &rec.event {
        Event::GateWaiting { env: e, gate, .. } => format!("gate {gate} waiting in {}", env(*e)),
        Event::Approved {
            gate,
            actor,
            comment,
            source,
            ..
        } => match source {
            ApprovalSource::Operator => format!("{gate} approved by {}: {comment}", actor.user),
            _ => format!("{gate} approved: {comment}"),
        },
        Event::Rejected {
            gate,
            actor,
            reason,
            ..
        } => format!("{gate} rejected by {}: {reason}", actor.user),
        Event::StepFinished {
            env: e,
            step: s,
            status,
            message,
            ..
        } => format!(
            "{} · {} {}: {message}",
            env(*e),
            step(*e, *s),
            word(*status)
        ),
        Event::RollbackStepFinished {
            env: e,
            step: s,
            status,
            message,
            ..
        } => format!(
            "undo of {} · {} {}: {message}",
            env(*e),
            step(*e, *s),
            word(*status)
        ),
        Event::GateFailed { gate, reason, .. } => format!("gate {gate} failed: {reason}"),
        Event::AnalysisFinished {
            analysis,
            verdict,
            reason,
            ..
        } => format!("analysis {analysis} {}: {reason}", verdict.word()),
        Event::RollbackStarted { env: e, reason, .. } => {
            format!("rolling back {}: {reason}", env(*e))
        }
        Event::RollbackBlocked { reason, .. } => format!("rollback blocked: {reason}"),
        Event::RunFinished { outcome, message } => format!("{}: {message}", outcome.word()),
        Event::PauseRequested { actor, reason } => match reason {
            Some(why) => format!("paused by slate: {why}"),
            None => format!("pause requested by {}", actor.user),
        },
        other => other.type_name().replace('_', " "),
    }
}

/// Output lines a jump passed over, per step.
#[derive(Default)]
struct Elided {
    steps: Vec<ElidedStep>,
    lines: u64,
    to_seq: u64,
}

impl Elided {
    fn add(&mut self, env: usize, step: usize, seq: u64) {
        self.lines += 1;
        self.to_seq = seq;
        match self.steps.last_mut() {
            Some(s) if s.env == env && s.step == step => s.lines += 1,
            _ => self.steps.push(ElidedStep {
                env,
                step,
                lines: 1,
            }),
        }
    }
}
