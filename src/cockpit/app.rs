//! The cockpit's state: a replica of the run (rebuilt from records like any
//! client's) plus view state. Keys and records go in, effects come out; no
//! I/O happens here, so every behaviour is testable without a terminal.

use jiff::Timestamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui_textarea::TextArea;

use super::keymap::{Keymap, UiAction};
use super::logs::{LogBuffer, LogLine};
use super::theme::Theme;
use crate::engine::Action;
use crate::engine::event::{Event, Record, RollbackChoice, Stream};
use crate::engine::state::{RunState, RunStatus};
use crate::plan::Plan;
use crate::plan::steps::{Step, env_steps};

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
            Panel::Metrics => "Checks",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Approve,
    Reject,
}

pub enum Modal {
    Gate {
        intent: Intent,
        input: TextArea<'static>,
    },
    Rollback {
        env: usize,
        input: TextArea<'static>,
    },
    Decide {
        ack: Option<TextArea<'static>>,
    },
    Note {
        input: TextArea<'static>,
    },
    Search {
        input: TextArea<'static>,
    },
    Quit,
    Help {
        scroll: u16,
    },
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

/// One check's latest results, as the "metrics" the engine emits today.
#[derive(Debug, Clone)]
pub struct CheckSeries {
    pub env: usize,
    pub gate: String,
    /// Latency per attempt in ms, bounded; `ok` per sample marks failures.
    pub samples: std::collections::VecDeque<(u64, bool)>,
}

pub const SERIES_LEN: usize = 120;

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
    pub size: Rect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitState {
    Running,
    /// An abort was sent; quit once the run has finished rolling back.
    AfterFinish,
}

pub struct App {
    pub plan: Plan,
    pub steps: Vec<Vec<Step>>,
    pub run: RunState,
    pub logs: LogBuffer,
    pub checks: Vec<CheckSeries>,
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
}

fn textarea(placeholder: &str) -> TextArea<'static> {
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
            checks: Vec::new(),
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
        }
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

    pub fn is_active(&self) -> bool {
        !self.run.is_finished() && !self.run.envs.is_empty()
    }

    /// Whether the log line passes the current filters.
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
        self.dirty = true;
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
            Event::CheckResult {
                env,
                gate,
                ok,
                latency_ms,
                ..
            } => {
                let idx = match self
                    .checks
                    .iter()
                    .position(|c| c.env == *env && &c.gate == gate)
                {
                    Some(i) => i,
                    None => {
                        self.checks.push(CheckSeries {
                            env: *env,
                            gate: gate.clone(),
                            samples: Default::default(),
                        });
                        self.checks.len() - 1
                    }
                };
                let s = &mut self.checks[idx].samples;
                if s.len() == SERIES_LEN {
                    s.pop_front();
                }
                s.push_back((*latency_ms, *ok));
            }
            Event::GateWaiting { gate, .. } => {
                let key = self.keymap.label(UiAction::Approve);
                self.toast(
                    format!("gate {gate} is waiting for approval — press {key}"),
                    false,
                );
            }
            Event::RollbackBlocked { reason, .. } => {
                if self.modal.is_none() {
                    self.modal = Some(Modal::Decide { ack: None });
                }
                self.toast(reason.clone(), true);
            }
            Event::CommandRefused { actor, reason, .. } if actor.via != "cockpit" => {
                self.toast(format!("{} was refused: {reason}", actor.user), true);
            }
            Event::RunFinished { message, outcome } => {
                self.toast(message.clone(), !outcome.released());
                if self.quit == QuitState::AfterFinish {
                    effects.push(Effect::Send(Action::Shutdown));
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
            return self.on_modal_key(key);
        }
        let mut effects = match self.keymap.lookup(&key) {
            Some(a) => self.on_action(a),
            None => Vec::new(),
        };
        if self.view.follow {
            self.logs.drop_history();
        }
        effects.extend(self.history_wanted());
        effects
    }

    pub fn on_action(&mut self, a: UiAction) -> Vec<Effect> {
        self.dirty = true;
        let v = &mut self.view;
        match a {
            UiAction::Approve | UiAction::Reject => {
                if self.run.waiting.is_none() {
                    self.toast("no gate is waiting for a decision", true);
                } else {
                    let intent = if a == UiAction::Approve {
                        Intent::Approve
                    } else {
                        Intent::Reject
                    };
                    let hint = match intent {
                        Intent::Approve => "comment (why is this safe to promote?)",
                        Intent::Reject => "reason for rejecting",
                    };
                    self.modal = Some(Modal::Gate {
                        intent,
                        input: textarea(hint),
                    });
                }
            }
            UiAction::TogglePause => {
                if self.run.is_finished() {
                    self.toast("the run has finished; there is nothing to pause", true);
                } else if self.run.pause_requested || self.run.status == RunStatus::Paused {
                    return vec![Effect::Send(Action::Resume)];
                } else {
                    return vec![Effect::Send(Action::Pause)];
                }
            }
            UiAction::Rollback => match self.rollback_target() {
                Some(env) => {
                    self.modal = Some(Modal::Rollback {
                        env,
                        input: textarea("reason (required)"),
                    })
                }
                None => self.toast(
                    "nothing to roll back: no environment has been touched yet",
                    true,
                ),
            },
            UiAction::Retry => {
                if self
                    .run
                    .blocked
                    .as_ref()
                    .is_some_and(|b| b.choices.contains(&RollbackChoice::Retry))
                {
                    return vec![Effect::Send(Action::Retry)];
                }
                self.toast(
                    "nothing to retry: only a failed rollback step waits for a retry",
                    true,
                );
            }
            UiAction::Decide => {
                if self.run.blocked.is_some() {
                    self.modal = Some(Modal::Decide { ack: None });
                } else {
                    self.toast("no rollback is waiting for a decision", true);
                }
            }
            UiAction::Note => {
                self.modal = Some(Modal::Note {
                    input: textarea("note for the run record"),
                })
            }
            UiAction::FocusNext | UiAction::FocusPrev => {
                let i = Panel::ALL.iter().position(|p| *p == v.focus).unwrap_or(0);
                let n = Panel::ALL.len();
                let j = if a == UiAction::FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                v.focus = Panel::ALL[j];
            }
            UiAction::Up | UiAction::Down | UiAction::PageUp | UiAction::PageDown => {
                let page = (v.size.height / 2).max(1) as usize;
                let (delta, up) = match a {
                    UiAction::Up => (1, true),
                    UiAction::Down => (1, false),
                    UiAction::PageUp => (page, true),
                    _ => (page, false),
                };
                match v.focus {
                    Panel::Matrix => {
                        let n = self.run.envs.len().max(1);
                        let cur = self.shown_env();
                        self.view.env_sel = if up {
                            cur.saturating_sub(delta)
                        } else {
                            (cur + delta).min(n - 1)
                        };
                        self.view.env_pinned = true;
                    }
                    Panel::Pipeline => {
                        v.pipeline_scroll = if up {
                            v.pipeline_scroll.saturating_sub(delta as u16)
                        } else {
                            v.pipeline_scroll.saturating_add(delta as u16)
                        }
                    }
                    Panel::Logs | Panel::Metrics => self.scroll_logs(delta, up),
                }
            }
            UiAction::Left | UiAction::Right => {
                let n = self.run.envs.len().max(1);
                let cur = self.shown_env();
                let v = &mut self.view;
                v.env_sel = if a == UiAction::Left {
                    cur.saturating_sub(1)
                } else {
                    (cur + 1).min(n - 1)
                };
                v.env_pinned = true;
                v.pipeline_scroll = 0;
            }
            UiAction::Top => {
                if v.focus == Panel::Pipeline {
                    v.pipeline_scroll = 0;
                } else {
                    self.scroll_logs(usize::MAX / 2, true);
                }
            }
            UiAction::Bottom => {
                v.log_scroll = 0;
                v.follow = true;
            }
            UiAction::Expand => {
                if v.focus == Panel::Matrix {
                    v.expanded = !v.expanded;
                } else {
                    v.env_pinned = false;
                }
            }
            UiAction::Search => {
                self.modal = Some(Modal::Search {
                    input: textarea("search logs"),
                })
            }
            UiAction::SearchNext | UiAction::SearchPrev => {
                self.jump_match(a == UiAction::SearchPrev)
            }
            UiAction::ToggleFollow => {
                v.follow = !v.follow;
                if v.follow {
                    v.log_scroll = 0;
                }
                let on = if v.follow { "on" } else { "off" };
                self.toast(format!("follow {on}"), false);
            }
            UiAction::StageFilter => self.cycle_stage_filter(),
            UiAction::StderrOnly => {
                v.stderr_only = !v.stderr_only;
                v.log_scroll = 0;
            }
            UiAction::ToggleWrap => v.wrap = !v.wrap,
            UiAction::ToggleAnsi => v.ansi = !v.ansi,
            UiAction::Help => self.modal = Some(Modal::Help { scroll: 0 }),
            UiAction::Quit => {
                if self.is_active() {
                    self.modal = Some(Modal::Quit);
                } else {
                    return vec![Effect::Send(Action::Shutdown), Effect::Quit];
                }
            }
        }
        Vec::new()
    }

    fn scroll_logs(&mut self, delta: usize, up: bool) {
        // Never further up than the oldest line, so scrolling back down answers at once.
        let top = self
            .logs
            .iter()
            .filter(|l| self.log_visible(l))
            .count()
            .saturating_sub(self.log_page());
        let v = &mut self.view;
        v.log_scroll = v.log_scroll.min(top);
        if up {
            v.follow = false;
            v.log_scroll = v.log_scroll.saturating_add(delta).min(top);
        } else {
            v.log_scroll = v.log_scroll.saturating_sub(delta);
        }
    }

    /// Rows inside the log panel, from the same layout the screen is drawn with.
    fn log_page(&self) -> usize {
        super::ui::areas(self, self.view.size)
            .panels
            .iter()
            .find(|(p, _)| *p == Panel::Logs)
            .map(|(_, r)| r.height.saturating_sub(2) as usize)
            .unwrap_or(self.view.size.height as usize / 2)
            .max(1)
    }

    /// Near the top of what is in memory with more in the journal: ask for it.
    pub fn history_wanted(&mut self) -> Option<Effect> {
        if self.view.follow || self.loading_history || !self.logs.more_in_journal() {
            return None;
        }
        let visible = self.logs.iter().filter(|l| self.log_visible(l)).count();
        let page = self.view.size.height as usize;
        if self.view.log_scroll + 2 * page < visible {
            return None;
        }
        self.loading_history = true;
        self.logs
            .oldest_seq()
            .map(|before| Effect::LoadHistory { before })
    }

    pub fn add_history(&mut self, lines: Vec<LogLine>) {
        self.loading_history = false;
        let n = lines.iter().filter(|l| self.log_visible(l)).count();
        self.logs.prepend_history(lines);
        self.toast(format!("read {n} older lines back from the journal"), false);
    }

    /// The environment `R` would roll back: the one in progress, else the last deployed.
    pub fn rollback_target(&self) -> Option<usize> {
        use crate::engine::state::EnvStatus;
        if self.is_active() {
            return self
                .run
                .current_env
                .filter(|&e| self.run.envs[e].steps.iter().any(|s| s.attempts > 0));
        }
        let deployed = |i: usize| {
            self.run.envs[i].status == EnvStatus::Done(crate::engine::event::EnvOutcome::Deployed)
        };
        if self.view.env_pinned && deployed(self.view.env_sel) {
            return Some(self.view.env_sel);
        }
        (0..self.run.envs.len()).rev().find(|&i| deployed(i))
    }

    /// What a rollback of `env` would do, in order: (label, what happens, irreversible).
    pub fn rollback_plan(&self, env: usize) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        let (Some(view), Some(steps)) = (self.run.envs.get(env), self.steps.get(env)) else {
            return out;
        };
        for i in crate::engine::undo_order(view, steps) {
            let (s, spec) = (
                &view.steps[i],
                steps[i].run().expect("undo_order yields runs"),
            );
            let what = if spec.irreversible {
                "IRREVERSIBLE — the rollback stops here and asks: hold, roll forward or force"
                    .to_string()
            } else {
                match &spec.rollback {
                    Some(cmd) => {
                        let lines: Vec<&str> = cmd
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect();
                        // A script's first line is usually setup; say what it is instead.
                        match lines.as_slice() {
                            [one] => format!("run: {one}"),
                            many => format!("run its rollback script ({} lines)", many.len()),
                        }
                    }
                    None => "skipped (no rollback command)".to_string(),
                }
            };
            out.push((s.label.clone(), what, spec.irreversible));
        }
        out
    }

    fn cycle_stage_filter(&mut self) {
        let env = self.shown_env();
        let with_output: Vec<(usize, usize)> = self
            .run
            .envs
            .get(env)
            .map(|e| {
                e.steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.output_lines > 0)
                    .map(|(i, _)| (env, i))
                    .collect()
            })
            .unwrap_or_default();
        let next = match self.view.stage_filter {
            None => with_output.first().copied(),
            Some(cur) => with_output
                .iter()
                .position(|x| *x == cur)
                .and_then(|i| with_output.get(i + 1).copied()),
        };
        self.view.stage_filter = next;
        self.view.log_scroll = 0;
        let msg = match next {
            Some((e, s)) => format!(
                "showing output of {} · {}",
                self.run.envs[e].name, self.run.envs[e].steps[s].label
            ),
            None => "showing all output".to_string(),
        };
        self.toast(msg, false);
    }

    /// Moves to the next older (or newer) line matching the search.
    fn jump_match(&mut self, newer: bool) {
        let Some(search) = &self.view.search else {
            self.toast("no search; press / to search", true);
            return;
        };
        let q = search.query.to_lowercase();
        let visible: Vec<&LogLine> = self.logs.iter().filter(|l| self.log_visible(l)).collect();
        let cur_idx = search
            .current
            .and_then(|seq| visible.iter().position(|l| l.seq == seq))
            .unwrap_or(visible.len());
        let hit = if newer {
            visible
                .iter()
                .enumerate()
                .skip(cur_idx + 1)
                .find(|(_, l)| l.plain.to_lowercase().contains(&q))
        } else {
            visible
                .iter()
                .enumerate()
                .take(cur_idx)
                .rev()
                .find(|(_, l)| l.plain.to_lowercase().contains(&q))
        };
        match hit.map(|(i, l)| (i, l.seq)) {
            Some((i, seq)) => {
                let from_bottom = visible.len() - 1 - i;
                if let Some(s) = self.view.search.as_mut() {
                    s.current = Some(seq);
                }
                self.view.follow = false;
                self.view.log_scroll =
                    from_bottom.saturating_sub((self.view.size.height / 4) as usize);
            }
            None => {
                let q = self
                    .view
                    .search
                    .as_ref()
                    .map(|s| s.query.clone())
                    .unwrap_or_default();
                self.toast(format!("no more matches for \"{q}\""), true);
            }
        }
    }

    fn on_modal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(modal) = self.modal.take() else {
            return Vec::new();
        };
        let mut keep = Some(modal);
        let mut close = false;
        let mut effects = Vec::new();
        match keep.as_mut().expect("just set") {
            Modal::Help { scroll } => match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') => keep = None,
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                _ => {}
            },
            Modal::Quit => match key.code {
                // The run may have ended while the question was on screen.
                KeyCode::Char('y') | KeyCode::Enter if !self.is_active() => {
                    keep = None;
                    effects.push(Effect::Send(Action::Shutdown));
                    effects.push(Effect::Quit);
                }
                KeyCode::Char('y') | KeyCode::Enter => {
                    keep = None;
                    self.quit = QuitState::AfterFinish;
                    self.toast("aborting the release before quitting…", false);
                    effects.push(Effect::Send(Action::Abort {
                        reason: "the operator quit the cockpit".into(),
                    }));
                }
                KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => keep = None,
                _ => {}
            },
            Modal::Gate { intent, input } => {
                let text = input.lines().join(" ").trim().to_string();
                let waiting = self.run.waiting.clone();
                let reject = (key.code == KeyCode::Char('r') && ctrl)
                    || (key.code == KeyCode::Enter && *intent == Intent::Reject);
                match (key.code, waiting) {
                    (KeyCode::Esc, _) => keep = None,
                    (_, None) if key.code == KeyCode::Enter || reject => {
                        keep = None;
                        self.toast("the gate is no longer waiting", true);
                    }
                    (_, Some(w)) if reject => {
                        if text.is_empty() {
                            self.toast("a rejection needs a reason", true);
                        } else {
                            keep = None;
                            effects.push(Effect::Send(Action::Reject {
                                gate: Some(w.gate),
                                reason: text,
                            }));
                        }
                    }
                    (KeyCode::Enter, Some(w)) => {
                        if w.require_comment && text.is_empty() {
                            self.toast("approval needs a comment", true);
                        } else {
                            keep = None;
                            effects.push(Effect::Send(Action::Approve {
                                gate: Some(w.gate),
                                comment: text,
                            }));
                        }
                    }
                    _ => {
                        input.input(key);
                    }
                }
            }
            Modal::Rollback { env, input } => match key.code {
                KeyCode::Esc => keep = None,
                KeyCode::Enter => {
                    let reason = input.lines().join(" ").trim().to_string();
                    if reason.is_empty() {
                        self.toast("a rollback needs a reason", true);
                    } else {
                        let name = self.run.envs[*env].name.clone();
                        keep = None;
                        effects.push(Effect::Send(Action::Rollback {
                            env: Some(name),
                            reason,
                        }));
                    }
                }
                _ => {
                    input.input(key);
                }
            },
            Modal::Note { input } => match key.code {
                KeyCode::Esc => keep = None,
                KeyCode::Enter => {
                    let text = input.lines().join(" ").trim().to_string();
                    keep = None;
                    if !text.is_empty() {
                        effects.push(Effect::Send(Action::Note { text }));
                    }
                }
                _ => {
                    input.input(key);
                }
            },
            Modal::Search { input } => match key.code {
                KeyCode::Esc => keep = None,
                KeyCode::Enter => {
                    let query = input.lines().join(" ").trim().to_string();
                    keep = None;
                    if query.is_empty() {
                        self.view.search = None;
                    } else {
                        self.view.search = Some(Search {
                            query,
                            current: None,
                        });
                        self.jump_match(false);
                    }
                }
                _ => {
                    input.input(key);
                }
            },
            Modal::Decide { ack } => {
                let choices = self
                    .run
                    .blocked
                    .as_ref()
                    .map(|b| b.choices.clone())
                    .unwrap_or_default();
                match ack {
                    Some(input) => match key.code {
                        KeyCode::Esc => *ack = None,
                        KeyCode::Enter => {
                            let note = input.lines().join(" ").trim().to_string();
                            if note.is_empty() {
                                self.toast("forcing needs an acknowledgement", true);
                            } else {
                                keep = None;
                                effects.push(Effect::Send(Action::Decide {
                                    choice: RollbackChoice::Force,
                                    note,
                                }));
                            }
                        }
                        _ => {
                            input.input(key);
                        }
                    },
                    None => {
                        let pick = match key.code {
                            KeyCode::Char('h') => Some(RollbackChoice::Hold),
                            KeyCode::Char('f') => Some(RollbackChoice::RollForward),
                            KeyCode::Char('r') => Some(RollbackChoice::Retry),
                            KeyCode::Char('F') => Some(RollbackChoice::Force),
                            KeyCode::Esc => {
                                close = true;
                                None
                            }
                            _ => None,
                        };
                        match pick {
                            Some(c) if !choices.contains(&c) => {
                                self.toast("that is not one of the choices here", true)
                            }
                            Some(RollbackChoice::Force) => {
                                *ack = Some(textarea("acknowledge what forcing gives up"))
                            }
                            Some(RollbackChoice::Retry) => {
                                keep = None;
                                effects.push(Effect::Send(Action::Retry));
                            }
                            Some(choice) => {
                                keep = None;
                                effects.push(Effect::Send(Action::Decide {
                                    choice,
                                    note: "decided in the cockpit".into(),
                                }));
                            }
                            None => {}
                        }
                    }
                }
            }
        }
        if close {
            keep = None;
        }
        if self.modal.is_none() {
            self.modal = keep;
        }
        effects
    }

    /// Mouse: the wheel scrolls the panel under it; a click focuses a panel.
    pub fn on_mouse(&mut self, ev: MouseEvent, panels: &[(Panel, Rect)]) {
        let at = Position::new(ev.column, ev.row);
        let under = panels.iter().find(|(_, r)| r.contains(at)).map(|(p, _)| *p);
        match ev.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let up = matches!(ev.kind, MouseEventKind::ScrollUp);
                if let Some(p) = under {
                    self.view.focus = p;
                }
                self.on_action(if up { UiAction::Up } else { UiAction::Down });
                if self.view.focus == Panel::Logs {
                    // One wheel notch moves a few lines, like a pager.
                    self.scroll_logs(2, up);
                }
            }
            MouseEventKind::Down(_) => {
                if let Some(p) = under {
                    self.view.focus = p;
                    self.dirty = true;
                }
            }
            _ => {}
        }
    }

    /// Whether time alone changes the screen (spinner, elapsed counters).
    pub fn animating(&self) -> bool {
        self.is_active()
    }
}

impl App {
    /// SIGTERM: leave like a confirmed quit — abort first if a release is active.
    pub fn on_terminate(&mut self) -> Vec<Effect> {
        if self.is_active() {
            self.quit = QuitState::AfterFinish;
            vec![Effect::Send(Action::Abort {
                reason: "the cockpit received SIGTERM".into(),
            })]
        } else {
            vec![Effect::Send(Action::Shutdown), Effect::Quit]
        }
    }

    /// After falling behind: rebuild from the journal, then apply what arrived
    /// while it was being read and is newer than the journal's end.
    pub fn catch_up(&mut self, journal: &[Record], arrived_meanwhile: &[Record]) -> Vec<Effect> {
        self.reset_from(journal);
        let upto = self.run.last_seq;
        arrived_meanwhile
            .iter()
            .filter(|r| r.seq > upto)
            .flat_map(|r| self.apply_record(r))
            .collect()
    }

    /// Rebuilds run state and the log window from records.
    pub fn reset_from(&mut self, records: &[Record]) {
        self.run = RunState::default();
        self.logs = LogBuffer::default();
        self.checks.clear();
        let modal = self.modal.take();
        let toast = self.toast.take();
        for r in records {
            self.apply_record(r);
        }
        self.modal = modal;
        self.toast = toast;
        self.dirty = true;
    }
}
