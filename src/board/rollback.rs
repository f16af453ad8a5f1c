//! Rolling an environment back to a version picked in its history: `r`
//! weighs the selected version (not the live one, not one that never went
//! live), the reason prompt takes the keys until Enter or Esc, and the
//! loop's answer (`slate rollback --to`'s engine host ready, or refused)
//! comes back through [`App::rollback_started`].

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Effect};

/// The longest rollback reason the prompt takes (it goes into the journal and the dossier).
pub(super) const REASON_MAX: usize = 500;

/// The reason prompt of a rollback to a version picked in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPrompt {
    pub version: String,
    pub reason: String,
}

impl App {
    /// `r` in an environment's history: the selected version, if a
    /// rollback could go to it, opens the reason prompt; otherwise a toast
    /// says why not (as `slate rollback --to` would refuse it).
    pub(super) fn pick_rollback(&mut self) {
        let Some(h) = self.history.as_mut() else {
            return;
        };
        let Some(pick) = h
            .history
            .as_ref()
            .and_then(|x| x.picks.get(h.scroll))
            .cloned()
        else {
            self.toast("no version selected", true);
            return;
        };
        let shown = crate::text::neutral::line(&pick.version).into_owned();
        if pick.live {
            let env = h.env.clone();
            self.toast(
                format!("{shown} is live in {env} now: nothing to roll back to"),
                true,
            );
        } else if !pick.went_live {
            let env = h.env.clone();
            self.toast(
                format!("{shown} never went live in {env}: pick a version that did"),
                true,
            );
        } else {
            h.rollback = Some(RollbackPrompt {
                version: pick.version,
                reason: String::new(),
            });
            self.dirty = true;
        }
    }

    /// Keys while the rollback's reason is typed: Enter starts it (a reason
    /// is required), Esc cancels.
    pub(super) fn on_rollback_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(h) = self.history.as_mut() else {
            return Vec::new();
        };
        let Some(p) = h.rollback.as_mut() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => h.rollback = None,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                h.rollback = None;
            }
            KeyCode::Backspace => {
                p.reason.pop();
            }
            KeyCode::Enter if p.reason.trim().is_empty() => {
                self.toast("a rollback needs a reason: type why, then Enter", true);
            }
            KeyCode::Enter => {
                let effect = Effect::RollbackTo {
                    release: h.release_key.clone(),
                    env: h.env_key.clone(),
                    version: p.version.clone(),
                    reason: p.reason.trim().to_string(),
                };
                let text = format!(
                    "starting the rollback of {} to {}…",
                    h.env,
                    crate::text::neutral::line(&p.version)
                );
                h.rollback = None;
                self.toast(text, false);
                return vec![effect];
            }
            KeyCode::Char(c) if !c.is_control() && p.reason.chars().count() < REASON_MAX => {
                p.reason.push(c);
                // What was wrong (no reason yet) is no longer so.
                if self.toast.as_ref().is_some_and(|t| t.error) {
                    self.toast = None;
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// The rollback run started (its id) and the board opens the cockpit on
    /// it, or it was refused before it began (what it said).
    pub fn rollback_started(&mut self, started: Result<String, Vec<String>>) -> Vec<Effect> {
        self.dirty = true;
        match started {
            Ok(run) => {
                self.history = None;
                self.toast(format!("rollback run {run} started"), false);
                vec![Effect::Attach(run)]
            }
            Err(lines) => {
                let said = lines
                    .iter()
                    .map(|l| l.trim_start_matches("slate: "))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.toast(
                    format!("rollback refused: {}", crate::text::neutral::line(&said)),
                    true,
                );
                Vec::new()
            }
        }
    }
}
