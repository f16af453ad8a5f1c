//! One table maps keys to named actions. It dispatches keys, draws the footer
//! hints and builds the `?` help, so the three can never disagree. User
//! overrides from `config.toml` are merged over the defaults.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key can ask the cockpit to do outside modals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UiAction {
    Approve,
    Reject,
    TogglePause,
    Rollback,
    Retry,
    Decide,
    Note,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Expand,
    Search,
    SearchNext,
    SearchPrev,
    ToggleFollow,
    StageFilter,
    StderrOnly,
    ToggleWrap,
    ToggleAnsi,
    Help,
    Quit,
    // Replay only (see `is_replay`): they control the player, not the run.
    ReplayPause,
    ReplayStep,
    ReplayFaster,
    ReplaySlower,
    ReplayNext,
    ReplayPrev,
    ReplayStart,
    ReplayEnd,
}

impl UiAction {
    /// Keys of replay actions are looked up only in replay mode, and there
    /// they win over a cockpit key bound to the same key.
    pub fn is_replay(self) -> bool {
        matches!(
            self,
            UiAction::ReplayPause
                | UiAction::ReplayStep
                | UiAction::ReplayFaster
                | UiAction::ReplaySlower
                | UiAction::ReplayNext
                | UiAction::ReplayPrev
                | UiAction::ReplayStart
                | UiAction::ReplayEnd
        )
    }
}

/// The name used in `config.toml` and in help.
pub const ACTIONS: &[(UiAction, &str, &str, &str)] = &[
    (
        UiAction::Approve,
        "approve",
        "approve the waiting gate",
        "release",
    ),
    (
        UiAction::Reject,
        "reject",
        "reject the waiting gate",
        "release",
    ),
    (
        UiAction::TogglePause,
        "pause",
        "pause / resume at the next safe point",
        "release",
    ),
    (
        UiAction::Rollback,
        "rollback",
        "roll back an environment",
        "release",
    ),
    (UiAction::Retry, "retry", "retry the failed step", "release"),
    (
        UiAction::Decide,
        "decide",
        "answer a blocked rollback",
        "release",
    ),
    (UiAction::Note, "note", "add a note to the run", "release"),
    (UiAction::FocusNext, "focus_next", "next panel", "move"),
    (UiAction::FocusPrev, "focus_prev", "previous panel", "move"),
    (UiAction::Up, "up", "up / scroll up", "move"),
    (UiAction::Down, "down", "down / scroll down", "move"),
    (UiAction::Left, "left", "previous environment", "move"),
    (UiAction::Right, "right", "next environment", "move"),
    (UiAction::PageUp, "page_up", "page up", "move"),
    (UiAction::PageDown, "page_down", "page down", "move"),
    (UiAction::Top, "top", "go to top", "move"),
    (
        UiAction::Bottom,
        "bottom",
        "go to bottom (and follow)",
        "move",
    ),
    (UiAction::Expand, "expand", "expand config deltas", "move"),
    (UiAction::Search, "search", "search logs", "logs"),
    (UiAction::SearchNext, "search_next", "next match", "logs"),
    (
        UiAction::SearchPrev,
        "search_prev",
        "previous match",
        "logs",
    ),
    (
        UiAction::ToggleFollow,
        "follow",
        "follow new output",
        "logs",
    ),
    (
        UiAction::StageFilter,
        "stage_filter",
        "show one step's output",
        "logs",
    ),
    (UiAction::StderrOnly, "stderr_only", "stderr only", "logs"),
    (
        UiAction::ToggleWrap,
        "wrap",
        "wrap / truncate long lines",
        "logs",
    ),
    (
        UiAction::ToggleAnsi,
        "ansi",
        "render / strip ANSI colours",
        "logs",
    ),
    (UiAction::Help, "help", "this help", "general"),
    (
        UiAction::Quit,
        "quit",
        "quit; during a release: detach or abort",
        "general",
    ),
    (
        UiAction::ReplayPause,
        "replay_pause",
        "play / pause the replay",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplayStep,
        "replay_step",
        "step one event (pauses)",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplayFaster,
        "replay_faster",
        "faster (up to 64×)",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplaySlower,
        "replay_slower",
        "slower (down to 0.25×)",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplayNext,
        "replay_next",
        "jump to the next gate, decision or failure",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplayPrev,
        "replay_prev",
        "jump back to the previous one",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplayStart,
        "replay_start",
        "back to the start",
        REPLAY_GROUP,
    ),
    (
        UiAction::ReplayEnd,
        "replay_end",
        "to the end",
        REPLAY_GROUP,
    ),
];

/// The help group of the replay actions, shown only in replay mode.
pub const REPLAY_GROUP: &str = "replay";

pub fn action_name(a: UiAction) -> &'static str {
    ACTIONS
        .iter()
        .find(|(x, ..)| *x == a)
        .map(|(_, n, ..)| *n)
        .unwrap_or("?")
}

pub fn action_desc(a: UiAction) -> &'static str {
    ACTIONS
        .iter()
        .find(|(x, ..)| *x == a)
        .map(|(_, _, d, _)| *d)
        .unwrap_or("?")
}

/// A key as written in config and shown in help: `a`, `R`, `ctrl-r`, `tab`, `pgdn`…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Self {
        Key {
            code: ev.code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let (ctrl, rest) = match s.strip_prefix("ctrl-") {
            Some(r) => (true, r),
            None => (false, s),
        };
        let code = match rest {
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().expect("checked"))
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().expect("one char")),
            _ => {
                return Err(format!(
                    "unknown key `{s}` (write a single character like `a` or `R`, ctrl-x, tab, shift-tab, enter, esc, space, up, down, left, right, pgup, pgdn, home, end, f1–f12)"
                ));
            }
        };
        Ok(Key { code, ctrl })
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "S-Tab".to_string(),
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(c) => c.to_string(),
            _ => "?".to_string(),
        };
        if self.ctrl {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: UiAction,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use UiAction::*;
        let b = |keys: &[&str], action| Binding {
            keys: keys
                .iter()
                .map(|k| Key::parse(k).expect("default keys parse"))
                .collect(),
            action,
        };
        Keymap {
            bindings: vec![
                b(&["a"], Approve),
                b(&["x"], Reject),
                b(&["p"], TogglePause),
                b(&["R"], Rollback),
                b(&["r"], Retry),
                b(&["d"], Decide),
                b(&["m"], Note),
                b(&["tab"], FocusNext),
                b(&["shift-tab"], FocusPrev),
                b(&["up", "k"], Up),
                b(&["down", "j"], Down),
                b(&["left", "h"], Left),
                b(&["right", "l"], Right),
                b(&["pgup", "ctrl-b"], PageUp),
                b(&["pgdn", "ctrl-f"], PageDown),
                b(&["g", "home"], Top),
                b(&["G", "end"], Bottom),
                b(&["enter"], Expand),
                b(&["/"], Search),
                b(&["n"], SearchNext),
                b(&["N"], SearchPrev),
                b(&["f"], ToggleFollow),
                b(&["s"], StageFilter),
                b(&["e"], StderrOnly),
                b(&["w"], ToggleWrap),
                b(&["c"], ToggleAnsi),
                b(&["?"], Help),
                b(&["q", "ctrl-c"], Quit),
                // `n`, `p` and → also mean search next, pause and next
                // environment: in replay these win (help says so).
                b(&["space"], ReplayPause),
                b(&[".", "right"], ReplayStep),
                b(&["+", "="], ReplayFaster),
                b(&["-"], ReplaySlower),
                b(&["n"], ReplayNext),
                b(&["p"], ReplayPrev),
                b(&["0"], ReplayStart),
                b(&["$"], ReplayEnd),
            ],
        }
    }
}

impl Keymap {
    /// The cockpit's action for a key (replay keys are not looked at).
    pub fn lookup(&self, ev: &KeyEvent) -> Option<UiAction> {
        self.lookup_mode(ev, false)
    }

    /// In replay mode the replay keys are tried first, so where one clashes
    /// with a cockpit key the replay action wins; elsewhere they do nothing.
    pub fn lookup_mode(&self, ev: &KeyEvent, replay: bool) -> Option<UiAction> {
        let key = Key::from_event(ev);
        // Shifted letters arrive as uppercase chars; Shift alone adds nothing.
        let find = |replay_keys: bool| {
            self.bindings
                .iter()
                .filter(|b| b.action.is_replay() == replay_keys)
                .find(|b| b.keys.contains(&key))
                .map(|b| b.action)
        };
        if replay {
            find(true).or_else(|| find(false))
        } else {
            find(false)
        }
    }

    /// Cockpit actions whose keys a replay key takes over in replay mode.
    pub fn replay_clashes(&self) -> Vec<(Key, UiAction)> {
        let replay_keys = self
            .bindings
            .iter()
            .filter(|b| b.action.is_replay())
            .flat_map(|b| b.keys.iter().copied());
        replay_keys
            .filter_map(|k| {
                self.bindings
                    .iter()
                    .find(|b| !b.action.is_replay() && b.keys.contains(&k))
                    .map(|b| (k, b.action))
            })
            .collect()
    }

    pub fn keys_for(&self, action: UiAction) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .flat_map(|b| b.keys.iter().copied())
            .collect()
    }

    /// "a" or "↑/k": what help and hints show for an action.
    pub fn label(&self, action: UiAction) -> String {
        self.keys_for(action)
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Replaces the keys of `action`; a key taken from another action is moved.
    /// Replay and cockpit keys live in different modes, so they never move
    /// between the two.
    pub fn set(&mut self, action: UiAction, keys: Vec<Key>) {
        for b in &mut self.bindings {
            if b.action.is_replay() == action.is_replay() {
                b.keys.retain(|k| !keys.contains(k));
            }
        }
        match self.bindings.iter_mut().find(|b| b.action == action) {
            Some(b) => b.keys = keys,
            None => self.bindings.push(Binding { keys, action }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (a, name, desc, _) in ACTIONS {
            assert!(!k.keys_for(*a).is_empty(), "{name} has no key");
            assert!(!desc.is_empty());
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
            [UiAction::Right, UiAction::SearchNext, UiAction::TogglePause]
        );
    }

    #[test]
    fn bad_key_names_are_explained() {
        let e = Key::parse("ctl-a").unwrap_err();
        assert!(e.starts_with("unknown key `ctl-a`"), "{e}");
        assert_eq!(Key::parse("ctrl-r").unwrap().label(), "Ctrl-r");
        assert_eq!(Key::parse("f5").unwrap().label(), "F5");
    }
}
