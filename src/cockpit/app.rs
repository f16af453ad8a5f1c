//! The cockpit's state: a replica of the run (rebuilt from records like any
//! client's) plus view state, and how records change it. Keys are handled in
//! `actions.rs` (outside dialogs) and `dialog/` (inside them). Keys and records go in,
//! effects come out; no I/O happens here, so every behaviour is testable
//! without a terminal.

use jiff::Timestamp;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

pub use super::dialog::{Intent, Modal};
use super::keymap::{Keymap, UiAction};
use super::logs::{LogBuffer, LogLine};
use super::readonly::ReadOnly;
use super::replay::{Control, ReplayView};
use crate::engine::Action;
use crate::engine::event::{Event, Record, Stream};
use crate::engine::state::RunState;
use crate::plan::Plan;
use crate::plan::steps::{Step, env_steps};
use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Matrix,
    Pipeline,
    Logs,
    Metrics,
}

impl Panel {
    pub const ALL: [Panel; 4] = [Panel::Matrix, Panel::Pipeline, Panel::Logs, Panel::Metrics];

    pub fn title(self) -> &'static str {
        match self {
            Panel::Matrix => "Environments",
            Panel::Pipeline => "Pipeline",
            Panel::Logs => "Logs",
            Panel::Metrics => "Metrics",
        }
    }
}

/// What the loop must do on the app's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Action),
    Quit,
    /// Read output lines older than this sequence number back from the journal.
    LoadHistory {
        before: u64,
    },
    /// Move the replay player (replay mode only).
    Replay(Control),
    /// Put this text on the clipboard of the terminal the cockpit is in
    /// (OSC 52, which works over SSH and tmux).
    Copy(String),
    /// A verb of the palette carried out off the loop by the feed, its
    /// answer shown as a toast.
    Verb(Verb),
}

/// What the palette asks of the world beyond the run (`:lock`, `:freeze`,
/// `:export`), done as the CLI verbs do it, by the OS user the cockpit runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `slate lock ENV --reason R`.
    Hold { env: String, reason: String },
    /// `slate freeze ENV --until UNTIL --reason R`.
    Freeze {
        env: String,
        until: String,
        reason: String,
    },
    /// `slate export RUN -o PATH` (this run).
    Export { path: std::path::PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct Search {
    pub query: String,
    /// Sequence number of the match the view is on.
    pub current: Option<u64>,
}

pub struct View {
    pub focus: Panel,
    pub env_sel: usize,
    /// The user chose an environment; stop following the current one.
    pub env_pinned: bool,
    pub expanded: bool,
    pub pipeline_scroll: u16,
    /// Lines up from the newest visible line; 0 is the bottom.
    pub log_scroll: usize,
    pub follow: bool,
    pub wrap: bool,
    pub ansi: bool,
    pub stage_filter: Option<(usize, usize)>,
    pub stderr_only: bool,
    pub search: Option<Search>,
    /// The focused panel fills the screen (`z`).
    pub zoom: bool,
    /// Rows the metrics panel is scrolled down (every analysis is kept).
    pub metrics_scroll: u16,
    pub size: Rect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitState {
    Running,
    /// An abort was sent; quit once the run has finished rolling back.
    AfterFinish,
}

// Quitting never stops the engine: it lives in another process (an engine
// host, a headless run), which shuts itself down once the run is over and
// nobody follows it. `q` during a release asks: detach (the run goes on) or
// abort (quit once it has rolled back).

pub struct App {
    pub plan: Plan,
    pub steps: Vec<Vec<Step>>,
    pub run: RunState,
    pub logs: LogBuffer,
    pub view: View,
    pub keymap: Keymap,
    pub theme: Theme,
    pub modal: Option<Modal>,
    pub toast: Option<Toast>,
    pub now: Timestamp,
    pub frame: u64,
    pub quit: QuitState,
    pub dirty: bool,
    /// A history read from the journal is under way.
    pub loading_history: bool,
    /// The newest output the log pane shows while following (see
    /// [`App::log_horizon`]); `u64::MAX` unless the loop paces the log.
    log_shown: u64,
    /// Output arrived that the log pane does not show yet.
    pub logs_pending: bool,
    /// Set for replays and `attach --read-only`: nothing may be sent.
    pub read_only: Option<ReadOnly>,
    /// Set in replay mode: where the player is, for the header and the keys.
    pub replay: Option<ReplayView>,
    /// This cockpit attached to a run started elsewhere (`slate attach`):
    /// the header says so.
    pub attached: bool,
    /// `:board` asked to leave for the board (the release goes on).
    pub then_board: bool,
    /// `:attach RUN` asked to leave for that run's cockpit (this one goes on).
    pub then_attach: Option<String>,
    /// Who follows the run through its control socket (this cockpit
    /// included), as the server last said; not part of the run's state.
    pub watchers: Option<crate::control::presence::Watchers>,
    /// Freezes in effect or coming within a week on the plan's
    /// environments, as the engine obeys them (its plan's, and for the
    /// run's owner the config's and the store's); read off the loop.
    pub freezes: Vec<crate::stopline::upcoming::Upcoming>,
    /// Draw check URLs and the dossier's path as OSC 8 links
    /// (`tui::osc::enabled`: off in tests, `SLATE_NO_OSC`, dumb terminals).
    pub links: bool,
    /// Where the run's dossier is written, when the run is on this machine
    /// (shown once the run has ended).
    pub dossier: Option<std::path::PathBuf>,
}

pub(super) fn textarea(placeholder: &str) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(placeholder);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

impl App {
    pub fn new(plan: Plan, keymap: Keymap, theme: Theme) -> Self {
        let steps = (0..plan.environments.len())
            .map(|e| env_steps(&plan, e))
            .collect();
        App {
            plan,
            steps,
            run: RunState::default(),
            logs: LogBuffer::default(),
            view: View {
                focus: Panel::Logs,
                env_sel: 0,
                env_pinned: false,
                expanded: false,
                pipeline_scroll: 0,
                log_scroll: 0,
                follow: true,
                wrap: false,
                ansi: true,
                stage_filter: None,
                stderr_only: false,
                search: None,
                zoom: false,
                metrics_scroll: 0,
                size: Rect::new(0, 0, 80, 24),
            },
            keymap,
            theme,
            modal: None,
            toast: None,
            now: Timestamp::UNIX_EPOCH,
            frame: 0,
            quit: QuitState::Running,
            dirty: true,
            loading_history: false,
            log_shown: u64::MAX,
            logs_pending: false,
            read_only: None,
            replay: None,
            attached: false,
            then_board: false,
            watchers: None,
            freezes: Vec::new(),
            then_attach: None,
            links: false,
            dossier: None,
        }
    }

    /// The cockpit before its run exists: the plan's outline
    /// ([`RunState::outlined`]), which `slate run` draws while the engine
    /// host starts.
    pub fn outlined(plan: Plan, keymap: Keymap, theme: Theme) -> Self {
        let mut app = App::new(plan, keymap, theme);
        let r = &app.plan.release;
        app.run = RunState::outlined(
            &r.name,
            &r.version,
            &r.previous_version,
            &crate::engine::outline(&app.plan),
        );
        app
    }

    /// Who follows the run now, as the run's socket says (a reducer like
    /// `apply_record`, for a fact that is not journaled). Names are
    /// neutralised again here: the header draws them as they are.
    pub fn set_freezes(&mut self, f: Vec<crate::stopline::upcoming::Upcoming>) {
        if self.freezes != f {
            self.freezes = f;
            self.dirty = true;
        }
    }

    pub fn set_watchers(&mut self, mut w: crate::control::presence::Watchers) {
        w.list.truncate(crate::control::presence::MAX_LISTED + 1);
        for x in &mut w.list {
            x.user = crate::control::presence::clean_name(&x.user);
        }
        if self.watchers.as_ref() != Some(&w) {
            self.watchers = Some(w);
            self.dirty = true;
        }
    }

    /// Whether a journaled decision was made by someone other than this
    /// cockpit: another kind of client, or another person's cockpit. (The
    /// same person's other cockpit cannot be told apart; its reply was a
    /// toast there.)
    fn by_someone_else(&self, actor: &crate::engine::Actor) -> bool {
        if actor.via != "cockpit" {
            return true;
        }
        let me = self
            .watchers
            .as_ref()
            .and_then(|w| w.list.iter().find(|x| x.id == w.you));
        me.is_some_and(|me| me.user != crate::control::presence::clean_name(&actor.user))
    }

    pub fn toast(&mut self, text: impl Into<String>, error: bool) {
        self.toast = Some(Toast {
            text: text.into(),
            error,
            at: self.now,
        });
        self.dirty = true;
    }

    /// The environment the pipeline shows: the chosen one, or the one in progress.
    pub fn shown_env(&self) -> usize {
        if self.view.env_pinned {
            self.view.env_sel
        } else {
            self.run.current_env.unwrap_or(0)
        }
        .min(self.run.envs.len().saturating_sub(1))
    }

    /// A log search is set (its highlight shows, and Esc lets it go).
    pub fn search_active(&self) -> bool {
        self.view.search.is_some()
    }

    pub fn is_active(&self) -> bool {
        !self.run.is_finished() && !self.run.envs.is_empty()
    }

    /// Whether the log line passes the current filters.
    /// Paces the log pane (the live loop does; tests and screenshots show
    /// everything): new output is drawn when [`App::reveal_logs`] says so,
    /// a few times a second, instead of in every frame it arrives in.
    /// Watching a rollout over SSH, a pane that scrolls by one line rewrites
    /// nearly all its cells; scrolling by several at once costs the same.
    pub fn pace_logs(&mut self) {
        self.log_shown = self.run.last_seq;
    }

    /// Shows the output that arrived since the last call.
    pub fn reveal_logs(&mut self) {
        if self.logs_pending {
            self.log_shown = self.run.last_seq;
            self.logs_pending = false;
            self.dirty = true;
        }
    }

    /// The newest line the log pane draws: paced while following with no
    /// search; otherwise everything (the reader's view stays put anyway).
    pub fn log_horizon(&self) -> u64 {
        if self.view.follow && self.view.search.is_none() {
            self.log_shown
        } else {
            u64::MAX
        }
    }

    pub fn log_visible(&self, l: &LogLine) -> bool {
        (!self.view.stderr_only || l.stream == Stream::Stderr)
            && self
                .view
                .stage_filter
                .is_none_or(|(e, s)| l.env == e && l.step == s)
    }

    pub fn apply_record(&mut self, rec: &Record) -> Vec<Effect> {
        self.run.apply(rec);
        self.now = self.now.max(rec.ts);
        // New output waits for the log's own cadence (`reveal_logs`); anything else is drawn now.
        if matches!(rec.event, Event::Output { .. }) && self.log_shown != u64::MAX {
            self.logs_pending = true;
        } else {
            self.dirty = true;
        }
        // Decided elsewhere (another cockpit, `slate approve`), or the end.
        let fallen = self.close_fallen_dialog();
        let mut effects = Vec::new();
        match &rec.event {
            Event::Output {
                env,
                step,
                stream,
                line,
                rollback,
            } => {
                let l = LogLine::new(rec.seq, *env, *step, *stream, *rollback, line);
                if !self.view.follow && self.log_visible(&l) {
                    // Keep the lines the reader is looking at in place.
                    self.view.log_scroll += 1;
                }
                self.logs.push(l);
            }
            Event::GateWaiting { gate, .. } => {
                // A read-only viewer cannot press it; don't tell them to.
                let hint = match self.read_only {
                    Some(_) => String::new(),
                    None => format!(" — press {}", self.keymap.label(UiAction::Approve)),
                };
                self.toast(format!("gate {gate} is waiting for approval{hint}"), false);
            }
            Event::StepInterrupted {
                reason, choices, ..
            } if choices.len() < 2 => self.toast(reason.clone(), false),
            Event::RollbackBlocked { reason, .. } | Event::StepInterrupted { reason, .. } => {
                if self.modal.is_none() && self.read_only.is_none() {
                    self.modal = Some(Modal::Decide { ack: None });
                }
                self.toast(reason.clone(), true);
            }
            // A decision someone else made (another client, `slate approve`).
            Event::Approved {
                gate,
                actor,
                comment,
                source: crate::engine::event::ApprovalSource::Operator,
                ..
            } if self.by_someone_else(actor) => {
                let said = match comment.trim() {
                    "" => String::new(),
                    c => format!(": {c}"),
                };
                self.toast(format!("{} approved {gate}{said}", actor.user), false);
            }
            Event::Rejected {
                gate,
                actor,
                reason,
                ..
            } if self.by_someone_else(actor) => {
                self.toast(format!("{} rejected {gate}: {reason}", actor.user), true);
            }
            Event::Promoted {
                actor,
                full,
                reason,
                ..
            } if self.by_someone_else(actor) => {
                let how = if *full { " to the last step" } else { "" };
                self.toast(format!("{} promoted{how}: {reason}", actor.user), false);
            }
            Event::WeightHeld {
                actor,
                weight,
                reason,
                ..
            } if self.by_someone_else(actor) => {
                self.toast(
                    format!("{} held the canary at {weight}%: {reason}", actor.user),
                    false,
                );
            }
            Event::CommandRefused { actor, reason, .. } if self.by_someone_else(actor) => {
                self.toast(format!("{} was refused: {reason}", actor.user), true);
            }
            Event::RunFinished { message, outcome } => {
                // A reason or a rollback being typed when the run ended:
                // say it was not sent (a decision elsewhere has its own toast).
                let said = match fallen {
                    Some(Modal::Reason { .. } | Modal::Rollback { .. }) => {
                        "; the dialog closed, nothing was sent"
                    }
                    _ => "",
                };
                self.toast(format!("{message}{said}"), !outcome.released());
                if self.quit == QuitState::AfterFinish {
                    effects.push(Effect::Quit);
                }
            }
            _ => {}
        }
        effects
    }

    pub fn on_reply(&mut self, what: &str, reply: Result<String, String>) {
        match reply {
            Ok(msg) => self.toast(msg, false),
            Err(why) => self.toast(format!("{what}: {why}"), true),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        if self.modal.is_some() {
            let effects = self.on_modal_key(key);
            return self.without_sends(effects);
        }
        let mut effects = match self.keymap.lookup_mode(&key, self.replay.is_some()) {
            Some(a) => self.on_action(a),
            None => Vec::new(),
        };
        if self.view.follow {
            self.logs.drop_history();
        }
        effects.extend(self.history_wanted());
        self.without_sends(effects)
    }

    /// Whether time alone changes the screen (spinner, elapsed counters).
    /// A replay's clock moves only while it plays.
    pub fn animating(&self) -> bool {
        match &self.replay {
            Some(r) => r.playing(),
            None => self.is_active(),
        }
    }
}

impl App {
    /// A signal (SIGTERM, SIGINT, a SIGHUP while the terminal is still
    /// there) ends the cockpit: it is a viewer, so it detaches and leaves
    /// the run going. Only a decision (`q` then abort, `slate abort`) aborts.
    pub fn on_terminate(&mut self) -> Vec<Effect> {
        vec![Effect::Quit]
    }

    /// Rebuilds run state and the log window from records.
    pub fn reset_from(&mut self, records: &[Record]) {
        self.reset_with(|app| {
            for r in records {
                app.apply_record(r);
            }
        });
    }

    /// Starts the run state and log over and lets `play` apply records,
    /// keeping what is on screen above them (a dialog, a toast).
    pub fn reset_with(&mut self, play: impl FnOnce(&mut App)) {
        self.run = RunState::default();
        self.logs = LogBuffer::default();
        let modal = self.modal.take();
        let toast = self.toast.take();
        play(self);
        self.modal = modal;
        self.toast = toast;
        self.dirty = true;
    }
}
