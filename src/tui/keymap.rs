//! Keys as data, in one shape for every full-screen command: a table of
//! [`Binding`]s (keys → a named action, the scope it works in, what help
//! says, what a footer says). The same table dispatches keys, writes the
//! hints and builds the `?` help, so the three can never disagree, and an
//! override from the user's config changes all of them at once.

use super::key::Key;

/// Where a binding works: a screen, a mode or a dialog.
pub trait Scope: Copy + Eq + std::fmt::Debug {
    /// Whether a key bound here is also live in `other`, so that giving it
    /// to an action of one scope takes it away from the other.
    fn shares_keys_with(self, other: Self) -> bool {
        self == other
    }
}

#[derive(Debug, Clone)]
pub struct Binding<A, S> {
    pub keys: Vec<Key>,
    pub action: A,
    pub scope: S,
    /// What help says.
    pub desc: &'static str,
    /// What a footer says, for the bindings worth a place there.
    pub hint: Option<&'static str>,
}

impl<A, S> Binding<A, S> {
    /// "↓/j": every key, as help shows them.
    pub fn label(&self) -> String {
        join(&self.keys, "/")
    }
}

/// Labels of `keys` joined with `sep`.
pub fn join(keys: &[Key], sep: &str) -> String {
    keys.iter().map(Key::label).collect::<Vec<_>>().join(sep)
}

/// A built-in binding as a table row: keys, action, where, what help
/// says, what the footer says.
pub type Row<A, S> = (
    &'static [&'static str],
    A,
    S,
    &'static str,
    Option<&'static str>,
);

#[derive(Debug, Clone)]
pub struct Keymap<A, S> {
    bindings: Vec<Binding<A, S>>,
}

impl<A: Copy + Eq, S: Scope> Keymap<A, S> {
    pub fn new(bindings: Vec<Binding<A, S>>) -> Self {
        Keymap { bindings }
    }

    /// A keymap of built-in rows, whose keys are known to parse.
    pub fn from_rows(rows: &[Row<A, S>]) -> Self {
        Keymap::new(
            rows.iter()
                .map(|&(keys, action, scope, desc, hint)| Binding {
                    keys: keys
                        .iter()
                        .map(|k| Key::parse(k).expect("built-in keys parse"))
                        .collect(),
                    action,
                    scope,
                    desc,
                    hint,
                })
                .collect(),
        )
    }

    pub fn bindings(&self) -> &[Binding<A, S>] {
        &self.bindings
    }

    /// The action `key` asks for where `scopes` are live: the first scope
    /// that binds it wins, then the table's order.
    pub fn action_for(&self, scopes: &[S], key: Key) -> Option<A> {
        scopes.iter().find_map(|scope| {
            self.bindings
                .iter()
                .filter(|b| b.scope == *scope)
                .find(|b| b.keys.contains(&key))
                .map(|b| b.action)
        })
    }

    pub fn keys_for(&self, action: A) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .flat_map(|b| b.keys.iter().copied())
            .collect()
    }

    /// "↑/k": every key of an action, as help and footers show them.
    pub fn label(&self, action: A) -> String {
        join(&self.keys_for(action), "/")
    }

    /// The first key of an action, as a dialog's hint shows it (empty when unbound).
    pub fn first(&self, action: A) -> String {
        self.keys_for(action)
            .first()
            .map(Key::label)
            .unwrap_or_default()
    }

    /// The shortest way to name an action's key: its first key that is a
    /// character, else its first key (`j` rather than `↓`).
    pub fn short(&self, action: A) -> String {
        let keys = self.keys_for(action);
        keys.iter()
            .find(|k| matches!(k.code, ratatui::crossterm::event::KeyCode::Char(_)) && !k.ctrl)
            .or(keys.first())
            .map(Key::label)
            .unwrap_or_default()
    }

    /// The footer word of an action, from its first binding that has one.
    pub fn hint(&self, action: A) -> Option<&'static str> {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .find_map(|b| b.hint)
    }

    /// Footer hints where `scopes` are live, in table order: (first key, word).
    pub fn hints(&self, scopes: &[S]) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .filter(|b| scopes.contains(&b.scope))
            .filter_map(|b| Some((b.keys.first()?.label(), b.hint?)))
            .collect()
    }

    /// Help rows of one scope: (every key, description), in table order.
    pub fn help(&self, scope: S) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .filter(|b| b.scope == scope)
            .map(|b| (b.label(), b.desc))
            .collect()
    }

    /// Gives `action` exactly `keys`. A key that another action had where it
    /// is also live moves here; keys of scopes that are never live together
    /// are left alone.
    pub fn set(&mut self, action: A, keys: Vec<Key>) {
        let Some(scope) = self
            .bindings
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.scope)
        else {
            return;
        };
        for b in &mut self.bindings {
            if b.scope.shares_keys_with(scope) || scope.shares_keys_with(b.scope) {
                b.keys.retain(|k| !keys.contains(k));
            }
        }
        let mut rest = Some(keys);
        for b in self.bindings.iter_mut().filter(|b| b.action == action) {
            b.keys = rest.take().unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum S {
        One,
        Two,
        Shared,
    }

    impl Scope for S {
        fn shares_keys_with(self, other: S) -> bool {
            self == other || self == S::Shared || other == S::Shared
        }
    }

    fn k(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    fn b(keys: &[&str], action: u8, scope: S) -> Binding<u8, S> {
        Binding {
            keys: keys.iter().map(|s| k(s)).collect(),
            action,
            scope,
            desc: "",
            hint: Some("hint"),
        }
    }

    #[test]
    fn the_first_live_scope_that_binds_a_key_wins() {
        let m = Keymap::new(vec![b(&["x"], 1, S::One), b(&["x", "y"], 2, S::Two)]);
        assert_eq!(m.action_for(&[S::One, S::Two], k("x")), Some(1));
        assert_eq!(m.action_for(&[S::Two, S::One], k("x")), Some(2));
        assert_eq!(m.action_for(&[S::One], k("y")), None);
    }

    #[test]
    fn setting_keys_moves_them_only_where_they_are_live_together() {
        let mut m = Keymap::new(vec![
            b(&["x"], 1, S::One),
            b(&["y"], 2, S::Two),
            b(&["enter"], 3, S::Shared),
        ]);
        m.set(2, vec![k("x"), k("enter")]);
        assert_eq!(m.label(1), "x", "One and Two are never live together");
        assert_eq!(m.label(2), "x/Enter");
        assert_eq!(m.label(3), "", "Enter moved away from the shared action");
        assert_eq!(m.first(3), "");
        assert_eq!(m.short(2), "x");
    }
}
