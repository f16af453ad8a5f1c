//! Read-only cockpits (`slate replay`, `slate attach --read-only`):
//! the one place that decides what such a cockpit refuses. Everything a
//! person could do to the run is turned away here, in the state layer, so no
//! dialog opens and no command can leave, whatever the UI or the feed do.

use super::app::{App, Effect};
use super::keymap::UiAction;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly {
    /// Why, as shown in refusals: "replay", "attach --read-only".
    pub reason: String,
}

/// Actions that end up as an engine command (directly or through a dialog).
pub(super) fn changes_the_run(a: UiAction) -> bool {
    matches!(
        a,
        UiAction::Approve
            | UiAction::Reject
            | UiAction::Pause
            | UiAction::Rollback
            | UiAction::Retry
            | UiAction::Decide
            | UiAction::Note
            | UiAction::Promote
            | UiAction::Skip
            | UiAction::Weight
            | UiAction::BreakGlass
    )
}

impl App {
    pub fn set_read_only(&mut self, reason: impl Into<String>) {
        self.read_only = Some(ReadOnly {
            reason: reason.into(),
        });
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only.is_some()
    }

    /// What a read-only cockpit does instead of `a`, or `None` to carry on.
    /// Quitting only closes the view: there is nothing to abort or shut down.
    pub(super) fn read_only_action(&mut self, a: UiAction) -> Option<Vec<Effect>> {
        let ro = self.read_only.as_ref()?;
        if a == UiAction::Quit {
            return Some(vec![Effect::Quit]);
        }
        if !changes_the_run(a) {
            return None;
        }
        let text = format!("read-only ({}): {} is not available", ro.reason, a.name());
        self.toast(text, true);
        Some(Vec::new())
    }

    /// The last line of defence: whatever asked for it, a read-only cockpit
    /// sends no command.
    pub(super) fn without_sends(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let Some(ro) = &self.read_only else {
            return effects;
        };
        let reason = ro.reason.clone();
        let mut kept = Vec::with_capacity(effects.len());
        for e in effects {
            match e {
                Effect::Send(action) => self.toast(
                    format!(
                        "read-only ({reason}): {} is not available",
                        action.describe()
                    ),
                    true,
                ),
                other => kept.push(other),
            }
        }
        kept
    }
}
