//! The board's keys as one table, in the shape every full-screen command
//! uses ([`crate::tui::keymap`]): it dispatches keys, writes the footer
//! hints and builds the `?` help, so the three cannot disagree. Key names
//! are the cockpit's ([`Key::parse`]). The approval dialog is the cockpit's
//! own and keeps the cockpit's keys (`config.toml`'s `[keys]`).

use std::sync::LazyLock;

use ratatui::crossterm::event::KeyEvent;

use crate::tui::key::Key;
use crate::tui::keymap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Open,
    Approve,
    Filter,
    ClearFilter,
    Back,
    RollbackTo,
    Stats,
    Help,
    Quit,
}

/// Which screen a binding works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The board: releases × environments, active runs, the inbox.
    Board,
    /// One environment's history.
    History,
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
            Scope::Board => "Board",
            Scope::History => "Environment history",
            Scope::Both => "Everywhere",
        }
    }
}

/// A default binding: keys, action, where, what help says, what the footer says.
type Row = keymap::Row<Action, Scope>;

/// Footer hints appear in this order, so the important ones survive a narrow terminal.
#[rustfmt::skip]
const DEFAULTS: &[Row] = &[
    (&["a"],              Action::Approve,     Scope::Board,   "approve the selected inbox gate (the cockpit's dialog)", Some("approve")),
    (&["enter"],          Action::Open,        Scope::Board,   "a cell: its history · a run: attach the cockpit",       Some("open")),
    (&["tab"],            Action::NextPane,    Scope::Board,   "next pane (releases, runs, inbox)",                     Some("pane")),
    (&["backtab"],        Action::PrevPane,    Scope::Board,   "previous pane",                                         None),
    (&["/"],              Action::Filter,      Scope::Board,   "filter releases by name",                               Some("filter")),
    (&["s"],              Action::Stats,       Scope::Board,   "delivery metrics per environment, 12 weeks, deployments per week (as `slate stats`)", Some("stats")),
    (&["esc"],            Action::ClearFilter, Scope::Board,   "clear the filter",                                      None),
    (&["r"],              Action::RollbackTo,  Scope::History, "roll the environment back to the selected version (asks why; a new run, as `slate rollback --to`)", Some("roll back to")),
    (&["esc", "q"],       Action::Back,        Scope::History, "back to the board",                                     Some("back")),
    (&["?"],              Action::Help,        Scope::Both,    "this help",                                             Some("help")),
    (&["q"],              Action::Quit,        Scope::Board,   "quit",                                                  Some("quit")),
    (&["ctrl-c"],         Action::Quit,        Scope::Both,    "quit",                                                  None),
    (&["down", "j"],      Action::Down,        Scope::Both,    "down",                                                  None),
    (&["up", "k"],        Action::Up,          Scope::Both,    "up",                                                    None),
    (&["left", "h"],      Action::Left,        Scope::Board,   "previous environment",                                  None),
    (&["right", "l"],     Action::Right,       Scope::Board,   "next environment",                                      None),
    (&["g", "home"],      Action::Top,         Scope::Both,    "first",                                                 None),
    (&["G", "end"],       Action::Bottom,      Scope::Both,    "last",                                                  None),
];

/// Keys that are not actions: what the filter line understands (shown in help).
pub const TYPING_HELP: &str = "while filtering: Enter keeps · Esc clears · Backspace deletes";

/// The table, its keys parsed once.
pub static KEYMAP: LazyLock<keymap::Keymap<Action, Scope>> =
    LazyLock::new(|| keymap::Keymap::from_rows(DEFAULTS));

/// The action `ev` asks for on `screen` (Board or History).
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

/// The first key of an action, as a message names it.
pub fn first(action: Action) -> String {
    KEYMAP.first(action)
}
