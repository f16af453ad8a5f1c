//! The cockpit's keys: one table of [`Binding`]s, for the main screen, the
//! replay player and every dialog. It dispatches keys, writes the footer and
//! each dialog's hints and builds the `?` help, so none of them can name a
//! key the user remapped. Actions are named by [`UiAction`]: the name in
//! `config.toml [keys]` is the variant's (serde `snake_case`), and what help
//! says comes from a `match`. User overrides are merged over the defaults.

use ratatui::crossterm::event::KeyEvent;

use crate::tui::key::Key;
use crate::tui::keymap::{self, Binding};

mod action;

pub use action::{REPLAY_GROUP, UiAction};

/// Where a key works. Keys of different scopes never clash, except that the
/// keys every dialog shares (`Dialogs`) are live in each dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The cockpit's screen, live or replayed.
    Main,
    /// The replay player, looked up before `Main` and only in a replay.
    Replay,
    /// Every dialog: confirm and cancel.
    Dialogs,
    /// The gate prompt.
    Gate,
    /// The question `q` asks during a release.
    Quit,
    /// A decision: a blocked rollback or an interrupted step.
    Decide,
}

impl Scope {
    pub fn is_dialog(self) -> bool {
        matches!(
            self,
            Scope::Dialogs | Scope::Gate | Scope::Quit | Scope::Decide
        )
    }
}

impl keymap::Scope for Scope {
    fn shares_keys_with(self, other: Scope) -> bool {
        self == other || (self == Scope::Dialogs && other.is_dialog())
    }
}

/// The cockpit's keymap: the shape every full-screen command uses.
pub type Keymap = keymap::Keymap<UiAction, Scope>;

impl Default for Keymap {
    fn default() -> Self {
        use strum::VariantArray;
        keymap::Keymap::new(
            UiAction::VARIANTS
                .iter()
                .map(|&action| Binding {
                    keys: action
                        .default_keys()
                        .iter()
                        .map(|k| Key::parse(k).expect("default keys parse"))
                        .collect(),
                    action,
                    scope: action.scope(),
                    desc: action.desc(),
                    hint: action.hint(),
                })
                .collect(),
        )
    }
}

impl keymap::Keymap<UiAction, Scope> {
    /// The cockpit's action for a key (replay keys are not looked at).
    pub fn lookup(&self, ev: &KeyEvent) -> Option<UiAction> {
        self.lookup_mode(ev, false)
    }

    /// In replay mode the replay keys are tried first, so where one clashes
    /// with a cockpit key the replay action wins; elsewhere they do nothing.
    pub fn lookup_mode(&self, ev: &KeyEvent, replay: bool) -> Option<UiAction> {
        // Shifted letters arrive as uppercase chars; Shift alone adds nothing.
        let key = Key::from_event(ev);
        let scopes: &[Scope] = if replay {
            &[Scope::Replay, Scope::Main]
        } else {
            &[Scope::Main]
        };
        self.action_for(scopes, key)
    }

    /// The action of a dialog key: the dialog's own keys, then those every dialog shares.
    pub fn lookup_dialog(&self, dialog: Scope, ev: &KeyEvent) -> Option<UiAction> {
        self.action_for(&[dialog, Scope::Dialogs], Key::from_event(ev))
    }

    /// Cockpit actions whose keys a replay key takes over in replay mode.
    pub fn replay_clashes(&self) -> Vec<(Key, UiAction)> {
        let replay_keys = self
            .bindings()
            .iter()
            .filter(|b| b.scope == Scope::Replay)
            .flat_map(|b| b.keys.iter().copied());
        replay_keys
            .filter_map(|k| {
                self.bindings()
                    .iter()
                    .find(|b| b.scope == Scope::Main && b.keys.contains(&k))
                    .map(|b| (k, b.action))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    use strum::VariantArray;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn default_keys_dispatch() {
        let k = Keymap::default();
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            Some(UiAction::Approve)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            Some(UiAction::Rollback)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('r'), KeyModifiers::NONE)),
            Some(UiAction::Retry)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(UiAction::Quit)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(UiAction::FocusPrev)
        );
    }

    #[test]
    fn every_action_has_a_default_key_and_a_description() {
        let k = Keymap::default();
        for a in UiAction::VARIANTS {
            assert!(!k.keys_for(*a).is_empty(), "{} has no key", a.name());
            assert!(!a.desc().is_empty());
        }
    }

    #[test]
    fn config_names_are_the_variants_serde_names() {
        for a in UiAction::VARIANTS {
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::Value::from(a.name()),
                "{a:?}"
            );
            let back: UiAction = serde_json::from_value(a.name().into()).unwrap();
            assert_eq!(back, *a);
        }
    }

    #[test]
    fn overriding_moves_a_key_between_actions() {
        let mut k = Keymap::default();
        k.set(
            UiAction::Approve,
            vec![Key::parse("A").unwrap(), Key::parse("x").unwrap()],
        );
        assert_eq!(k.label(UiAction::Approve), "A/x");
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(UiAction::Approve)
        );
        assert!(
            k.keys_for(UiAction::Reject).is_empty(),
            "x moved away from reject"
        );
    }

    #[test]
    fn replay_keys_win_only_in_replay_mode() {
        let k = Keymap::default();
        let n = ev(KeyCode::Char('n'), KeyModifiers::NONE);
        assert_eq!(k.lookup(&n), Some(UiAction::SearchNext));
        assert_eq!(k.lookup_mode(&n, true), Some(UiAction::ReplayNext));
        let space = ev(KeyCode::Char(' '), KeyModifiers::NONE);
        assert_eq!(k.lookup(&space), None);
        // Cockpit keys without a replay binding still work in replay.
        let a = ev(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(k.lookup_mode(&a, true), Some(UiAction::Approve));
        let clashes: Vec<UiAction> = k.replay_clashes().iter().map(|(_, a)| *a).collect();
        assert_eq!(
            clashes,
            [UiAction::Right, UiAction::SearchNext, UiAction::Pause]
        );
    }

    #[test]
    fn dialog_keys_live_only_in_their_dialog() {
        let k = Keymap::default();
        let d = ev(KeyCode::Char('d'), KeyModifiers::NONE);
        assert_eq!(k.lookup(&d), Some(UiAction::Decide));
        assert_eq!(k.lookup_dialog(Scope::Quit, &d), Some(UiAction::Detach));
        assert_eq!(k.lookup_dialog(Scope::Decide, &d), Some(UiAction::Done));
        assert_eq!(
            k.lookup_dialog(Scope::Gate, &d),
            None,
            "typed into the comment"
        );
        let enter = ev(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(k.lookup(&enter), Some(UiAction::Expand));
        assert_eq!(
            k.lookup_dialog(Scope::Gate, &enter),
            Some(UiAction::Confirm)
        );
        let ctrl_r = ev(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(
            k.lookup_dialog(Scope::Gate, &ctrl_r),
            Some(UiAction::RejectGate)
        );
        assert_eq!(k.label(UiAction::RejectGate), "Ctrl-R");
    }

    #[test]
    fn no_key_does_two_things_in_one_place() {
        let k = Keymap::default();
        let places: [&[Scope]; 5] = [
            &[Scope::Main],
            &[Scope::Replay],
            &[Scope::Gate, Scope::Dialogs],
            &[Scope::Quit, Scope::Dialogs],
            &[Scope::Decide, Scope::Dialogs],
        ];
        for scopes in places {
            let mut seen: Vec<(Key, UiAction)> = Vec::new();
            for b in k.bindings().iter().filter(|b| scopes.contains(&b.scope)) {
                for key in &b.keys {
                    if let Some((_, other)) = seen.iter().find(|(s, _)| s == key) {
                        panic!(
                            "{} means {} and {} in {scopes:?}",
                            key.label(),
                            other.name(),
                            b.action.name()
                        );
                    }
                    seen.push((*key, b.action));
                }
            }
        }
    }
}
