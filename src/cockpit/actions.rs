//! What keys do outside dialogs: the release actions (which open dialogs or
//! send commands), focus, scrolling, search, filters and reading history back.

use ratatui::crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::app::{App, Effect, Intent, Modal, Panel};
use super::dialog;
use super::keymap::UiAction;
use super::logs::LogLine;
use super::replay::Control;
use crate::engine::Action;
use crate::engine::event::RollbackChoice;
use crate::engine::state::RunStatus;

impl App {
    pub fn on_action(&mut self, a: UiAction) -> Vec<Effect> {
        self.dirty = true;
        if let Some(effects) = self.read_only_action(a) {
            return effects;
        }
        if a.is_replay() {
            // The player lives with the feed; outside a replay these keys do nothing.
            return match (&self.replay, Control::from_action(a)) {
                (Some(_), Some(c)) => vec![Effect::Replay(c)],
                _ => Vec::new(),
            };
        }
        let v = &mut self.view;
        match a {
            UiAction::Approve => dialog::gate::open(self, Intent::Approve),
            UiAction::Reject => dialog::gate::open(self, Intent::Reject),
            UiAction::Pause => {
                if self.run.is_finished() {
                    self.toast("the run has finished; there is nothing to pause", true);
                } else if self.run.pause_requested || self.run.status == RunStatus::Paused {
                    return vec![Effect::Send(Action::Resume)];
                } else {
                    return vec![Effect::Send(Action::Pause)];
                }
            }
            UiAction::Rollback => dialog::rollback::open(self),
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
            UiAction::Decide => dialog::decide::open(self),
            UiAction::Note => dialog::line::open_note(self),
            UiAction::Promote | UiAction::Skip => {
                let full = a == UiAction::Skip;
                match self.cannot_promote(false) {
                    Some(why) => self.toast(format!("{}: {why}", a.name()), true),
                    None => dialog::reason::open(self, dialog::reason::Ask::Promote { full }),
                }
            }
            UiAction::Weight => match self.cannot_promote(true) {
                Some(why) => self.toast(format!("weight: {why}"), true),
                None => dialog::palette::open(self, "weight "),
            },
            UiAction::BreakGlass => match self.run.held_back.as_ref() {
                Some(h)
                    if !self.run.is_finished()
                        && matches!(
                            h.barrier.kind,
                            crate::engine::admission::BarrierKind::Freeze
                                | crate::engine::admission::BarrierKind::Hold
                        ) =>
                {
                    dialog::reason::open(self, dialog::reason::Ask::BreakGlass)
                }
                _ => self.toast(
                    "break-glass: no freeze or hold keeps the run out; there is no glass to break",
                    true,
                ),
            },
            UiAction::Palette => dialog::palette::open(self, ""),
            // Esc lets go of a search: no highlight, back to the live tail.
            UiAction::ClearSearch if v.search.take().is_some() => {
                v.log_scroll = 0;
                v.follow = true;
            }
            UiAction::Zoom => v.zoom = !v.zoom,
            UiAction::Copy => return self.copy_selected(),
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
                    Panel::Metrics => {
                        v.metrics_scroll = if up {
                            v.metrics_scroll.saturating_sub(delta as u16)
                        } else {
                            v.metrics_scroll.saturating_add(delta as u16)
                        }
                    }
                    Panel::Logs => self.scroll_logs(delta, up),
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
            UiAction::Search => dialog::line::open_search(self),
            UiAction::SearchNext | UiAction::SearchPrev => {
                self.jump_match(a == UiAction::SearchPrev)
            }
            UiAction::Follow => {
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
            UiAction::Wrap => v.wrap = !v.wrap,
            UiAction::Ansi => v.ansi = !v.ansi,
            UiAction::Help => self.modal = Some(Modal::Help { scroll: 0 }),
            // During a release: detach or abort? Afterwards: just leave.
            UiAction::Quit => return dialog::quit::open(self),
            // Replay keys were handled above; dialog keys mean nothing here.
            _ => {}
        }
        Vec::new()
    }

    /// `y`: what is selected, for the clipboard: the `slate approve`
    /// command of the waiting gate, else the log line a search is on, else
    /// the run id. The toast says what was copied.
    pub(super) fn copy_selected(&mut self) -> Vec<Effect> {
        let search_line = self
            .view
            .search
            .as_ref()
            .and_then(|s| s.current)
            .and_then(|seq| {
                self.logs
                    .iter()
                    .find(|l| l.seq == seq)
                    .map(|l| l.plain.clone())
            });
        let (what, text) = if let Some(w) = &self.run.waiting
            && self.read_only.is_none()
        {
            (
                "the approve command",
                format!(
                    "slate approve {} {} --comment ''",
                    self.run.run_id,
                    crate::text::neutral::line(&w.gate)
                ),
            )
        } else if let Some(line) = search_line {
            ("the log line", line)
        } else if !self.run.run_id.is_empty() {
            ("the run id", self.run.run_id.clone())
        } else {
            self.toast("nothing to copy yet", true);
            return Vec::new();
        };
        self.toast(
            format!("copied {what}: {}", crate::text::neutral::line(&text)),
            false,
        );
        vec![Effect::Copy(text)]
    }

    pub(super) fn scroll_logs(&mut self, delta: usize, up: bool) {
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
    pub(super) fn log_page(&self) -> usize {
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
        let before = self.logs.oldest_seq()?;
        self.loading_history = true;
        Some(Effect::LoadHistory { before })
    }

    /// Output lines that are counted for their steps but not held (up to
    /// `to_seq`): read back from the journal on scrolling.
    pub fn skip_output(
        &mut self,
        steps: &[crate::control::wire::ElidedStep],
        lines: u64,
        to_seq: u64,
    ) {
        for s in steps {
            self.run.count_output(s.env, s.step, s.lines);
        }
        self.logs.elide(lines, to_seq);
        // What was held is gone: show what comes after the hole at once.
        self.logs_pending = true;
        self.reveal_logs();
    }

    /// Output the feed left out because the cockpit was behind (a flood):
    /// counted for its steps, and read back from the journal on scrolling.
    pub fn on_elided(&mut self, e: &crate::control::follow::Elided) {
        self.skip_output(&e.steps, e.lines, e.to_seq);
        if !self.view.follow {
            self.view.log_scroll = 0;
            self.view.follow = true;
            self.toast(
                "the log moved on faster than it can be shown: following the newest lines",
                false,
            );
        }
        self.dirty = true;
    }

    pub fn add_history(&mut self, lines: Vec<LogLine>) {
        self.loading_history = false;
        let n = lines.iter().filter(|l| self.log_visible(l)).count();
        self.logs.prepend_history(lines);
        self.toast(format!("read {n} older lines back from the journal"), false);
    }

    pub(super) fn cycle_stage_filter(&mut self) {
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
    pub(super) fn jump_match(&mut self, newer: bool) {
        let Some(search) = &self.view.search else {
            let key = self.keymap.first(UiAction::Search);
            self.toast(format!("no search; press {key} to search"), true);
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
}
