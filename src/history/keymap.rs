//! The history browser's keys as one table, in the shape every full-screen
//! command uses ([`crate::tui::keymap`]): it dispatches keys, writes the
//! footer hints and builds the `?` help, so the three cannot disagree. Key
//! names are the cockpit's ([`Key::parse`]), so they read the same.

use std::sync::LazyLock;

use ratatui::crossterm::event::KeyEvent;

use crate::tui::key::Key;
use crate::tui::keymap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Export,
    Filter,
    CycleOutcome,
    ClearFilters,
    Search,
    SearchNext,
    SearchPrev,
    Back,
    Help,
    Quit,
}

/// Which screen a binding works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    List,
    Viewer,
    Both,
}

impl keymap::Scope for Scope {
    fn shares_keys_with(self, other: Scope) -> bool {
        self == other || self == Scope::Both || other == Scope::Both
    }
}

impl Scope {
    /// The scopes live on `screen`: its own, then the shared ones.
    fn live(self) -> [Scope; 2] {
        [self, Scope::Both]
    }

    pub fn title(self) -> &'static str {
        match self {
            Scope::List => "Runs",
            Scope::Viewer => "Dossier",
            Scope::Both => "Everywhere",
        }
    }
}

/// A default binding: keys, action, where, what help says, what the footer says.
type Row = keymap::Row<Action, Scope>;

/// Footer hints appear in this order, so the important ones survive a narrow terminal.
#[rustfmt::skip]
const DEFAULTS: &[Row] = &[
    (&["enter"],          Action::Open,         Scope::List,   "open the run's dossier",                 Some("open")),
    (&["/"],              Action::Filter,       Scope::List,   "filter runs by text",                    Some("filter")),
    (&["o"],              Action::CycleOutcome, Scope::List,   "filter by outcome (cycles)",             Some("outcome")),
    (&["esc"],            Action::ClearFilters, Scope::List,   "clear the filters",                      None),
    (&["/"],              Action::Search,       Scope::Viewer, "search the dossier",                     Some("search")),
    (&["n"],              Action::SearchNext,   Scope::Viewer, "next match",                             Some("next")),
    (&["N"],              Action::SearchPrev,   Scope::Viewer, "previous match",                         Some("prev")),
    (&["esc", "q"],       Action::Back,         Scope::Viewer, "back to the runs",                       Some("back")),
    (&["e"],              Action::Export,       Scope::Both,   "export the dossier to ./dossier-RUN.md", Some("export")),
    (&["?"],              Action::Help,         Scope::Both,   "this help",                              Some("help")),
    (&["q"],              Action::Quit,         Scope::List,   "quit",                                   Some("quit")),
    (&["ctrl-c"],         Action::Quit,         Scope::Both,   "quit",                                   None),
    (&["down", "j"],      Action::Down,         Scope::Both,   "down",                                   None),
    (&["up", "k"],        Action::Up,           Scope::Both,   "up",                                     None),
    (&["pgdn", "ctrl-f"], Action::PageDown,     Scope::Both,   "page down",                              None),
    (&["pgup", "ctrl-b"], Action::PageUp,       Scope::Both,   "page up",                                None),
    (&["g", "home"],      Action::Top,          Scope::Both,   "first",                                  None),
    (&["G", "end"],       Action::Bottom,       Scope::Both,   "last",                                   None),
];

/// Keys that are not actions: what text input understands (shown in help).
pub const TYPING_HELP: &str = "while typing: Enter keeps · Esc clears · Backspace deletes";

/// The table, its keys parsed once.
pub static KEYMAP: LazyLock<keymap::Keymap<Action, Scope>> =
    LazyLock::new(|| keymap::Keymap::from_rows(DEFAULTS));

/// The action `ev` asks for on `screen` (List or Viewer).
pub fn lookup(screen: Scope, ev: &KeyEvent) -> Option<Action> {
    KEYMAP.action_for(&screen.live(), Key::from_event(ev))
}

/// Footer hints for `screen`: (first key, short word), in table order.
pub fn hints(screen: Scope) -> Vec<(String, &'static str)> {
    KEYMAP.hints(&screen.live())
}

/// Help sections: the current screen's own keys, then the shared ones.
pub fn help(screen: Scope) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    screen
        .live()
        .into_iter()
        .map(|scope| (scope.title(), KEYMAP.help(scope)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn no_key_does_two_things_on_one_screen() {
        for screen in [Scope::List, Scope::Viewer] {
            let mut seen: Vec<(Key, Action)> = Vec::new();
            let live = screen.live();
            for b in KEYMAP.bindings().iter().filter(|b| live.contains(&b.scope)) {
                for k in b.keys.iter().copied() {
                    if let Some((_, other)) = seen.iter().find(|(s, _)| *s == k) {
                        assert_eq!(
                            *other,
                            b.action,
                            "{} is bound twice on {screen:?}",
                            k.label()
                        );
                    }
                    seen.push((k, b.action));
                }
            }
        }
    }

    #[test]
    fn the_same_key_means_what_its_screen_says() {
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup(Scope::List, &q), Some(Action::Quit));
        assert_eq!(lookup(Scope::Viewer, &q), Some(Action::Back));
        let slash = KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE);
        assert_eq!(lookup(Scope::List, &slash), Some(Action::Filter));
        assert_eq!(lookup(Scope::Viewer, &slash), Some(Action::Search));
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(Scope::Viewer, &shift_g), Some(Action::Bottom));
    }

    #[test]
    fn hints_and_help_come_from_the_table() {
        let list: Vec<&str> = hints(Scope::List).iter().map(|(_, h)| *h).collect();
        assert_eq!(
            list,
            ["open", "filter", "outcome", "export", "help", "quit"]
        );
        let sections = help(Scope::Viewer);
        assert_eq!(sections[0].0, "Dossier");
        assert!(
            sections[0]
                .1
                .contains(&("Esc/q".to_string(), "back to the runs"))
        );
        assert!(sections[1].1.contains(&("↓/j".to_string(), "down")));
    }
}
