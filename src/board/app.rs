//! The board's state: the latest [`Snapshot`], which pane has the keys and
//! what is selected in each, the release filter, and what is open over the
//! board (help, an environment's history, the approval dialog). Keys and
//! finished reads go in, [`Effect`]s come out; the loop does the I/O, so
//! every behaviour is testable as data.
//!
//! The approval dialog is the cockpit's own ([`crate::cockpit::dialog::gate`]):
//! the board opens it on a cockpit [`CockpitApp`] holding the run's plan and
//! state (read from its journal), hands it the keys while it is open and
//! sends what it decides to the run's control socket, as `slate approve`
//! does. The engine judges it there (policy, four-eyes, comments).

use jiff::Timestamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::keymap::{self, Action, Scope};
use super::snapshot::{EnvHistory, Snapshot, Waits};
use crate::cockpit::app::{App as CockpitApp, Effect as CockpitEffect, Intent};
use crate::cockpit::keymap::Keymap as CockpitKeymap;
use crate::engine::{Action as Command, RunState};
use crate::plan::Plan;
use crate::runs::Engine;
use crate::tui::theme::Theme;

/// How long an informational toast stays; errors stay until replaced.
pub const TOAST_SECS: i64 = 8;

/// What the loop must do on the board's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Open the cockpit on this run; come back to the board after.
    Attach(String),
    /// Read this environment's history (store names) and hand it to [`App::history_loaded`].
    OpenHistory {
        release: String,
        env: String,
    },
    /// Read this run's plan and state and hand them to [`App::approval_ready`].
    OpenApproval(String),
    /// Send this command to the run's control socket; report with [`App::on_reply`].
    Send {
        run_id: String,
        command: Command,
    },
    /// Read the delivery panel and hand it to [`App::stats_loaded`].
    OpenStats,
    /// Start `slate rollback --to` as an engine host of its own (it outlives
    /// the board) and report with [`App::rollback_started`]. Store names.
    RollbackTo {
        release: String,
        env: String,
        version: String,
        reason: String,
    },
}

/// The panes Tab moves between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Releases,
    Runs,
    Inbox,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Releases, Pane::Runs, Pane::Inbox];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Releases => "Releases",
            Pane::Runs => "Active runs",
            Pane::Inbox => "Inbox",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

/// An environment's history, open over the board.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPane {
    /// None while it is being read.
    pub history: Option<EnvHistory>,
    /// As shown (neutralised).
    pub release: String,
    pub env: String,
    /// As the store names them, for a rollback's command.
    pub release_key: String,
    pub env_key: String,
    /// The selected entry (the view scrolls with it).
    pub scroll: usize,
    /// `r` asked for a rollback to this entry's version: the reason typed so far.
    pub rollback: Option<super::rollback::RollbackPrompt>,
}

/// The cockpit's approval dialog, open on one run.
pub struct Approval {
    pub run_id: String,
    pub cockpit: Box<CockpitApp>,
}

pub struct App {
    pub snap: Snapshot,
    /// Whether a board has been read yet.
    pub loaded: bool,
    pub focus: Pane,
    /// Index into [`App::shown_releases`], and the selected column.
    pub row: usize,
    pub col: usize,
    pub run_sel: usize,
    pub inbox_sel: usize,
    pub filter: String,
    pub typing: bool,
    /// The help overlay is open, scrolled this far.
    pub help: Option<usize>,
    pub history: Option<HistoryPane>,
    /// The delivery panel is open: None while it is read.
    pub stats: Option<Option<Result<super::stats::StatsPanel, String>>>,
    pub approval: Option<Approval>,
    /// The approval dialog asked for, while its run is read.
    pub approval_pending: Option<String>,
    pub toast: Option<Toast>,
    pub theme: Theme,
    /// The cockpit's keys, for the approval dialog.
    pub cockpit_keys: CockpitKeymap,
    pub size: Rect,
    pub now: Timestamp,
    pub dirty: bool,
}

impl App {
    pub fn new(theme: Theme, cockpit_keys: CockpitKeymap) -> App {
        App {
            snap: Snapshot::default(),
            loaded: false,
            focus: Pane::Releases,
            row: 0,
            col: 0,
            run_sel: 0,
            inbox_sel: 0,
            filter: String::new(),
            typing: false,
            help: None,
            history: None,
            stats: None,
            approval: None,
            approval_pending: None,
            toast: None,
            theme,
            cockpit_keys,
            size: Rect::new(0, 0, 80, 24),
            now: Timestamp::UNIX_EPOCH,
            dirty: true,
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

    /// The clock moved: waits count up, informational toasts expire.
    pub fn tick(&mut self, now: Timestamp) {
        let second = |t: Timestamp| t.as_second();
        if second(now) != second(self.now) && (!self.snap.inbox.is_empty() || self.waits()) {
            self.dirty = true;
        }
        self.now = now;
        if let Some(cockpit) = self.approval.as_mut().map(|a| &mut a.cockpit) {
            cockpit.now = now;
        }
        if let Some(t) = &self.toast
            && !t.error
            && now.as_second() - t.at.as_second() >= TOAST_SECS
        {
            self.toast = None;
            self.dirty = true;
        }
    }

    fn waits(&self) -> bool {
        self.snap
            .runs
            .iter()
            .any(|r| matches!(r.waits, Waits::Gate { .. }))
    }

    pub fn resize(&mut self, w: u16, h: u16) {
        self.size = Rect::new(0, 0, w, h);
        self.dirty = true;
    }

    /// A new board arrived; redrawn only if it differs. Selections stay on
    /// the same run or release where it is still there.
    pub fn set_snapshot(&mut self, snap: Snapshot) {
        self.loaded = true;
        if snap == self.snap {
            return;
        }
        let run = self.selected_run().map(|r| r.run_id.clone());
        let entry = self.selected_entry().map(|e| e.run_id.clone());
        let release = self.selected_release().map(|r| r.key.clone());
        self.snap = snap;
        self.run_sel = run
            .and_then(|id| self.shown_runs().iter().position(|r| r.run_id == id))
            .unwrap_or(self.run_sel);
        self.inbox_sel = entry
            .and_then(|id| self.shown_inbox().iter().position(|e| e.run_id == id))
            .unwrap_or(self.inbox_sel);
        self.row = release
            .and_then(|k| self.shown_releases().iter().position(|r| r.key == k))
            .unwrap_or(self.row);
        self.clamp();
        self.close_decided_approval();
        self.dirty = true;
    }

    /// An approval dialog whose gate left the inbox (decided from another
    /// board or cockpit, or `slate approve`; or the run ended) has nothing
    /// left to decide: it closes and says so, instead of taking a comment
    /// the engine would refuse.
    fn close_decided_approval(&mut self) {
        let Some(a) = &self.approval else { return };
        // A read that failed (the store missing, say) lists nothing and
        // says why: it cannot tell whether the gate still waits.
        if self.snap.inbox.is_empty() && !self.snap.warnings.is_empty() {
            return;
        }
        // The inbox holds its names neutralised.
        let neutral = |s: &str| crate::text::neutral::line(s).into_owned();
        let waits = crate::cockpit::dialog::gate::place(&a.cockpit).is_some_and(|(env, gate)| {
            let (run_id, env, gate) = (neutral(&a.run_id), neutral(&env), neutral(&gate));
            self.snap
                .inbox
                .iter()
                .any(|e| e.run_id == run_id && e.env == env && e.gate == gate)
        });
        if !waits {
            let run_id = a.run_id.clone();
            self.approval = None;
            self.toast(
                format!(
                    "run {run_id}: its gate no longer waits for you (decided elsewhere, or the run ended); nothing was sent"
                ),
                false,
            );
        }
    }

    fn matches(&self, release: &str) -> bool {
        self.filter.is_empty() || release.to_lowercase().contains(&self.filter.to_lowercase())
    }

    /// The releases the filter lets through.
    pub fn shown_releases(&self) -> Vec<&super::snapshot::ReleaseRow> {
        self.snap
            .releases
            .iter()
            .filter(|r| self.matches(&r.release))
            .collect()
    }

    pub fn shown_runs(&self) -> Vec<&super::snapshot::RunLine> {
        self.snap
            .runs
            .iter()
            .filter(|r| self.matches(&r.release))
            .collect()
    }

    pub fn shown_inbox(&self) -> Vec<&super::snapshot::InboxEntry> {
        self.snap
            .inbox
            .iter()
            .filter(|e| self.matches(&e.release))
            .collect()
    }

    pub fn selected_release(&self) -> Option<&super::snapshot::ReleaseRow> {
        self.shown_releases().get(self.row).copied()
    }

    pub fn selected_run(&self) -> Option<&super::snapshot::RunLine> {
        self.shown_runs().get(self.run_sel).copied()
    }

    pub fn selected_entry(&self) -> Option<&super::snapshot::InboxEntry> {
        self.shown_inbox().get(self.inbox_sel).copied()
    }

    fn clamp(&mut self) {
        let last = |n: usize| n.saturating_sub(1);
        self.row = self.row.min(last(self.shown_releases().len()));
        self.col = self.col.min(last(self.snap.envs.len()));
        self.run_sel = self.run_sel.min(last(self.shown_runs().len()));
        self.inbox_sel = self.inbox_sel.min(last(self.shown_inbox().len()));
    }

    /// The screen whose keys are live.
    pub fn screen(&self) -> Scope {
        if self.history.is_some() {
            Scope::History
        } else {
            Scope::Board
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        if self.approval.is_some() {
            return self.on_dialog_key(key);
        }
        if self.typing {
            self.on_filter_key(key);
            return Vec::new();
        }
        if self.history.as_ref().is_some_and(|h| h.rollback.is_some()) {
            return self.on_rollback_key(key);
        }
        let action = keymap::lookup(self.screen(), &key);
        if self.stats.is_some() {
            match action {
                Some(Action::Quit) if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return vec![Effect::Quit];
                }
                // Anything else closes it (`s`, Esc, q).
                _ => self.stats = None,
            }
            return Vec::new();
        }
        if let Some(scroll) = self.help {
            match action {
                Some(Action::Down) => self.help = Some(scroll + 1),
                Some(Action::Up) => self.help = Some(scroll.saturating_sub(1)),
                Some(Action::Quit) if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return vec![Effect::Quit];
                }
                // Anything else closes help (`?`, Esc, q).
                _ => self.help = None,
            }
            return Vec::new();
        }
        let Some(action) = action else {
            return Vec::new();
        };
        if let Some(h) = &mut self.history {
            match action {
                Action::Down => h.scroll += 1,
                Action::Up => h.scroll = h.scroll.saturating_sub(1),
                Action::Top => h.scroll = 0,
                Action::Bottom => {
                    h.scroll = h
                        .history
                        .as_ref()
                        .map_or(0, |x| x.lines.len().saturating_sub(1))
                }
                Action::Back => self.history = None,
                Action::RollbackTo => {
                    self.pick_rollback();
                    return Vec::new();
                }
                Action::Help => self.help = Some(0),
                Action::Quit => return vec![Effect::Quit],
                _ => {}
            }
            if let Some(h) = &mut self.history {
                let n = h.history.as_ref().map_or(0, |x| x.lines.len());
                h.scroll = h.scroll.min(n.saturating_sub(1));
            }
            return Vec::new();
        }
        self.on_action(action)
    }

    fn on_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => return vec![Effect::Quit],
            Action::Help => self.help = Some(0),
            Action::NextPane | Action::PrevPane => {
                let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = Pane::ALL.len();
                let next = if action == Action::NextPane {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus = Pane::ALL[next];
            }
            Action::Down | Action::Up | Action::Top | Action::Bottom => self.move_sel(action),
            Action::Left => self.col = self.col.saturating_sub(1),
            Action::Right => self.col = (self.col + 1).min(self.snap.envs.len().saturating_sub(1)),
            Action::Filter => self.typing = true,
            Action::ClearFilter => {
                self.filter.clear();
                self.clamp();
            }
            Action::Open => return self.open(),
            Action::Approve => return self.approve(),
            Action::Back | Action::RollbackTo => {}
            Action::Stats => {
                self.stats = Some(None);
                return vec![Effect::OpenStats];
            }
        }
        Vec::new()
    }

    fn move_sel(&mut self, action: Action) {
        let (sel, n) = match self.focus {
            Pane::Releases => (&mut self.row, self.snap.releases.len()),
            Pane::Runs => (&mut self.run_sel, self.snap.runs.len()),
            Pane::Inbox => (&mut self.inbox_sel, self.snap.inbox.len()),
        };
        *sel = match action {
            Action::Down => *sel + 1,
            Action::Up => sel.saturating_sub(1),
            Action::Top => 0,
            _ => n,
        };
        self.clamp();
    }

    fn on_filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.typing = false,
            KeyCode::Esc => {
                self.typing = false;
                self.filter.clear();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.typing = false;
            }
            KeyCode::Char(c) if !c.is_control() => self.filter.push(c),
            _ => {}
        }
        self.row = 0;
        self.run_sel = 0;
        self.inbox_sel = 0;
        self.clamp();
    }

    /// Enter: a cell opens its environment's history; a run (or an inbox
    /// entry's run) opens the cockpit on it.
    fn open(&mut self) -> Vec<Effect> {
        match self.focus {
            Pane::Releases => {
                let Some(row) = self.selected_release() else {
                    self.toast("no release to open", true);
                    return Vec::new();
                };
                let release = row.key.clone();
                let shown = row.release.clone();
                let Some(env) = self.snap.env_keys.get(self.col).cloned() else {
                    return Vec::new();
                };
                if row.cells.get(self.col).is_none_or(Option::is_none) {
                    let name = self.snap.envs[self.col].clone();
                    self.toast(format!("{shown} has no environment {name}"), true);
                    return Vec::new();
                }
                self.history = Some(HistoryPane {
                    history: None,
                    release: shown,
                    env: self.snap.envs[self.col].clone(),
                    release_key: release.clone(),
                    env_key: env.clone(),
                    scroll: 0,
                    rollback: None,
                });
                vec![Effect::OpenHistory { release, env }]
            }
            Pane::Runs => match self.selected_run() {
                None => {
                    self.toast("no active run", true);
                    Vec::new()
                }
                Some(r) => match &r.waits {
                    Waits::Recover(cmd) => {
                        let msg = format!(
                            "run {} is interrupted: nothing drives it; `{cmd}` takes it over",
                            r.run_id
                        );
                        self.toast(msg, true);
                        Vec::new()
                    }
                    _ if r.engine == Engine::Interrupted => Vec::new(),
                    _ => vec![Effect::Attach(r.run_id.clone())],
                },
            },
            Pane::Inbox => match self.selected_entry() {
                None => {
                    self.toast("nothing waits for you", false);
                    Vec::new()
                }
                Some(e) => vec![Effect::Attach(e.run_id.clone())],
            },
        }
    }

    /// `a`: the approval dialog on the selected inbox entry (or on the
    /// selected run, if it is in the inbox).
    fn approve(&mut self) -> Vec<Effect> {
        let run_id = match self.focus {
            Pane::Inbox => self.selected_entry().map(|e| e.run_id.clone()),
            Pane::Runs => self
                .selected_run()
                .filter(|r| self.snap.inbox.iter().any(|e| e.run_id == r.run_id))
                .map(|r| r.run_id.clone()),
            Pane::Releases => None,
        };
        match run_id {
            Some(id) => {
                self.approval_pending = Some(id.clone());
                vec![Effect::OpenApproval(id)]
            }
            None if self.snap.inbox.is_empty() => {
                self.toast("no gate waits for your decision", false);
                Vec::new()
            }
            None => {
                let tab = keymap::first(Action::NextPane);
                self.toast(
                    format!("select a gate in the inbox ({tab} moves there) to approve it"),
                    false,
                );
                Vec::new()
            }
        }
    }

    /// The run asked for with `a` has been read: the cockpit's dialog opens
    /// on it, unless its gate no longer waits.
    pub fn approval_ready(&mut self, run_id: &str, read: Result<(Plan, RunState), String>) {
        if self.approval_pending.as_deref() != Some(run_id) {
            return;
        }
        self.approval_pending = None;
        self.dirty = true;
        let (plan, state) = match read {
            Ok(r) => r,
            Err(e) => {
                self.toast(format!("run {run_id}: {e}"), true);
                return;
            }
        };
        let mut cockpit = CockpitApp::new(plan, self.cockpit_keys.clone(), self.theme.clone());
        cockpit.run = state;
        cockpit.now = self.now;
        cockpit.view.size = self.size;
        cockpit.attached = true;
        crate::cockpit::dialog::gate::open(&mut cockpit, Intent::Approve);
        if cockpit.modal.is_none() {
            self.toast(format!("run {run_id}: its gate no longer waits"), true);
            return;
        }
        self.approval = Some(Approval {
            run_id: run_id.to_string(),
            cockpit: Box::new(cockpit),
        });
    }

    /// Keys go to the cockpit's dialog; what it sends goes to the run.
    fn on_dialog_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(approval) = self.approval.as_mut() else {
            return Vec::new();
        };
        let effects = approval.cockpit.on_key(key);
        let run_id = approval.run_id.clone();
        // The dialog speaks through the cockpit's toast (a missing comment).
        let said = approval.cockpit.toast.take();
        if approval.cockpit.modal.is_none() {
            self.approval = None;
        }
        if let Some(t) = said {
            self.toast(t.text, t.error);
        }
        effects
            .into_iter()
            .filter_map(|e| match e {
                CockpitEffect::Send(command) => Some(Effect::Send {
                    run_id: run_id.clone(),
                    command,
                }),
                CockpitEffect::Quit => Some(Effect::Quit),
                _ => None,
            })
            .collect()
    }

    pub fn on_paste(&mut self, text: &str) {
        if let Some(p) = self.history.as_mut().and_then(|h| h.rollback.as_mut()) {
            p.reason.push_str(&crate::tui::widgets::pasted(text, false));
            p.reason = p.reason.chars().take(super::rollback::REASON_MAX).collect();
            self.dirty = true;
            return;
        }
        if let Some(a) = self.approval.as_mut() {
            a.cockpit.on_paste(text);
            self.dirty = true;
        } else if self.typing {
            self.filter
                .push_str(&crate::tui::widgets::pasted(text, false));
            self.clamp();
            self.dirty = true;
        }
    }

    /// What the run answered.
    pub fn on_reply(&mut self, what: &str, reply: Result<String, String>) {
        match reply {
            Ok(m) => self.toast(crate::text::neutral::line(&m).into_owned(), false),
            Err(why) => self.toast(
                format!("{what}: {}", crate::text::neutral::line(&why)),
                true,
            ),
        }
    }

    pub fn stats_loaded(&mut self, read: Result<super::stats::StatsPanel, String>) {
        if self.stats.is_some() {
            self.stats = Some(Some(read));
            self.dirty = true;
        }
    }

    pub fn history_loaded(&mut self, release: &str, env: &str, read: Result<EnvHistory, String>) {
        let Some(h) = self.history.as_mut() else {
            return;
        };
        self.dirty = true;
        match read {
            Ok(history) => h.history = Some(history),
            Err(e) => {
                self.history = None;
                self.toast(format!("{release} {env}: {e}"), true);
            }
        }
    }
}
