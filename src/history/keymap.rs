//! The history browser's keys as one table: it dispatches keys, writes the
//! footer hints and builds the `?` help, so the three cannot disagree.
//! Key names are the cockpit's ([`Key::parse`]), so they read the same.

use ratatui::crossterm::event::KeyEvent;

use crate::cockpit::keymap::Key;

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

impl Scope {
    fn covers(self, screen: Scope) -> bool {
        self == Scope::Both || self == screen
    }

    pub fn title(self) -> &'static str {
        match self {
            Scope::List => "Runs",
            Scope::Viewer => "Dossier",
            Scope::Both => "Everywhere",
        }
    }
}

pub struct Binding {
    pub keys: &'static [&'static str],
    pub action: Action,
    pub scope: Scope,
    /// What help says.
    pub desc: &'static str,
    /// What the footer says, for the bindings worth a place there.
    pub hint: Option<&'static str>,
}

const fn b(
    keys: &'static [&'static str],
    action: Action,
    scope: Scope,
    desc: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        action,
        scope,
        desc,
        hint,
    }
}

/// Footer hints appear in this order, so the important ones survive a narrow terminal.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(&["enter"],          Action::Open,         Scope::List,   "open the run's dossier",                 Some("open")),
    b(&["/"],              Action::Filter,       Scope::List,   "filter runs by text",                    Some("filter")),
    b(&["o"],              Action::CycleOutcome, Scope::List,   "filter by outcome (cycles)",             Some("outcome")),
    b(&["esc"],            Action::ClearFilters, Scope::List,   "clear the filters",                      None),
    b(&["/"],              Action::Search,       Scope::Viewer, "search the dossier",                     Some("search")),
    b(&["n"],              Action::SearchNext,   Scope::Viewer, "next match",                             Some("next")),
    b(&["N"],              Action::SearchPrev,   Scope::Viewer, "previous match",                         Some("prev")),
    b(&["esc", "q"],       Action::Back,         Scope::Viewer, "back to the runs",                       Some("back")),
    b(&["e"],              Action::Export,       Scope::Both,   "export the dossier to ./dossier-RUN.md", Some("export")),
    b(&["?"],              Action::Help,         Scope::Both,   "this help",                              Some("help")),
    b(&["q"],              Action::Quit,         Scope::List,   "quit",                                   Some("quit")),
    b(&["ctrl-c"],         Action::Quit,         Scope::Both,   "quit",                                   None),
    b(&["down", "j"],      Action::Down,         Scope::Both,   "down",                                   None),
    b(&["up", "k"],        Action::Up,           Scope::Both,   "up",                                     None),
    b(&["pgdn", "ctrl-f"], Action::PageDown,     Scope::Both,   "page down",                              None),
    b(&["pgup", "ctrl-b"], Action::PageUp,       Scope::Both,   "page up",                                None),
    b(&["g", "home"],      Action::Top,          Scope::Both,   "first",                                  None),
    b(&["G", "end"],       Action::Bottom,       Scope::Both,   "last",                                   None),
];

/// Keys that are not actions: what text input understands (shown in help).
pub const TYPING_HELP: &str = "while typing: Enter keeps · Esc clears · Backspace deletes";

impl Binding {
    pub fn parsed_keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.keys
            .iter()
            .map(|k| Key::parse(k).expect("built-in keys parse"))
    }

    /// "↓/j": every key, as help shows them.
    pub fn label(&self) -> String {
        self.parsed_keys()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The action `ev` asks for on `screen` (List or Viewer).
pub fn lookup(screen: Scope, ev: &KeyEvent) -> Option<Action> {
    let key = Key::from_event(ev);
    BINDINGS
        .iter()
        .filter(|b| b.scope.covers(screen))
        .find(|b| b.parsed_keys().any(|k| k == key))
        .map(|b| b.action)
}

/// Footer hints for `screen`: (first key, short word), in table order.
pub fn hints(screen: Scope) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.scope.covers(screen))
        .filter_map(|b| {
            let first = b.parsed_keys().next()?.label();
            b.hint.map(|h| (first, h))
        })
        .collect()
}

/// Help sections: the current screen's own keys, then the shared ones.
pub fn help(screen: Scope) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    [screen, Scope::Both]
        .into_iter()
        .map(|scope| {
            let rows = BINDINGS
                .iter()
                .filter(|b| b.scope == scope)
                .map(|b| (b.label(), b.desc))
                .collect();
            (scope.title(), rows)
        })
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
            for b in BINDINGS.iter().filter(|b| b.scope.covers(screen)) {
                for k in b.parsed_keys() {
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
