//! The cockpit's actions: what a key can ask for, by the name `config.toml`
//! uses (the variant's serde `snake_case` name), with where it works, what
//! help says and the keys it has by default — each a `match`, so a new
//! action cannot be left without one.

use serde::{Deserialize, Serialize};

use super::Scope;

/// What a key can ask the cockpit to do. The variant's `snake_case` name is
/// its name in `config.toml` (`[keys]`, or `[keys.dialog]` for dialog keys).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum UiAction {
    Approve,
    Reject,
    Pause,
    Rollback,
    Retry,
    Decide,
    Note,
    Promote,
    Skip,
    Weight,
    BreakGlass,
    Palette,
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
    Follow,
    ClearSearch,
    StageFilter,
    StderrOnly,
    Wrap,
    Ansi,
    Zoom,
    Copy,
    Help,
    Quit,
    // Replay only (see `Scope::Replay`): they control the player, not the run.
    ReplayPause,
    ReplayStep,
    ReplayFaster,
    ReplaySlower,
    ReplayNext,
    ReplayPrev,
    ReplayStart,
    ReplayEnd,
    // In dialogs.
    Confirm,
    Cancel,
    RejectGate,
    Detach,
    Abort,
    Stay,
    Hold,
    RollForward,
    Force,
    RetryStep,
    Done,
    RollBackInstead,
}

impl UiAction {
    /// The name used in `config.toml` and in messages.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn scope(self) -> Scope {
        use UiAction::*;
        match self {
            ReplayPause | ReplayStep | ReplayFaster | ReplaySlower | ReplayNext | ReplayPrev
            | ReplayStart | ReplayEnd => Scope::Replay,
            Confirm | Cancel => Scope::Dialogs,
            RejectGate => Scope::Gate,
            Detach | Abort | Stay => Scope::Quit,
            Hold | RollForward | Force | RetryStep | Done | RollBackInstead => Scope::Decide,
            _ => Scope::Main,
        }
    }

    /// Keys of replay actions are looked up only in replay mode, and there
    /// they win over a cockpit key bound to the same key.
    pub fn is_replay(self) -> bool {
        self.scope() == Scope::Replay
    }

    /// The section of `?` help it is listed in.
    pub fn group(self) -> &'static str {
        use UiAction::*;
        match self {
            Approve | Reject | Pause | Rollback | Retry | Decide | Note | Promote | Skip
            | Weight | BreakGlass => "release",
            FocusNext | FocusPrev | Up | Down | Left | Right | PageUp | PageDown | Top | Bottom
            | Expand | Zoom => "move",
            Search | SearchNext | SearchPrev | Follow | ClearSearch | StageFilter | StderrOnly
            | Wrap | Ansi => "logs",
            Palette | Copy | Help | Quit => "general",
            ReplayPause | ReplayStep | ReplayFaster | ReplaySlower | ReplayNext | ReplayPrev
            | ReplayStart | ReplayEnd => REPLAY_GROUP,
            Confirm | Cancel => "in every dialog",
            RejectGate => "in the gate prompt",
            Detach | Abort | Stay => "when quitting during a release",
            Hold | RollForward | Force | RetryStep | Done | RollBackInstead => "in a decision",
        }
    }

    /// What help says it does.
    pub fn desc(self) -> &'static str {
        use UiAction::*;
        match self {
            Approve => "approve the waiting gate",
            Reject => "reject the waiting gate",
            Pause => "pause / resume at the next safe point",
            Rollback => "roll back an environment",
            Retry => "retry the failed step",
            Decide => "answer a blocked rollback",
            Note => "add a note to the run",
            Promote => "promote: end the pause or soak now (asks why)",
            Skip => "skip the rest of the rollout to 100% (promote --full, asks why)",
            Weight => "hold the canary at a weight until promoted (asks N and why)",
            BreakGlass => "break glass past a freeze or hold (asks why)",
            Palette => "command palette: every action by name",
            ClearSearch => "clear the search and follow the live tail",
            Zoom => "zoom: the focused panel fills the screen, and back",
            Copy => "copy the selected thing (OSC 52): the approve command, run id…",
            FocusNext => "next panel",
            FocusPrev => "previous panel",
            Up => "up / scroll up",
            Down => "down / scroll down",
            Left => "previous environment",
            Right => "next environment",
            PageUp => "page up",
            PageDown => "page down",
            Top => "go to top",
            Bottom => "go to bottom (and follow)",
            Expand => "expand config deltas",
            Search => "search logs",
            SearchNext => "next match",
            SearchPrev => "previous match",
            Follow => "follow new output",
            StageFilter => "show one step's output",
            StderrOnly => "stderr only",
            Wrap => "wrap / truncate long lines",
            Ansi => "render / strip ANSI colours",
            Help => "this help",
            Quit => "quit; during a release: detach or abort",
            ReplayPause => "play / pause the replay",
            ReplayStep => "step one event (pauses)",
            ReplayFaster => "faster (up to 64×)",
            ReplaySlower => "slower (down to 0.25×)",
            ReplayNext => "jump to the next gate, decision or failure",
            ReplayPrev => "jump back to the previous one",
            ReplayStart => "back to the start",
            ReplayEnd => "to the end",
            Confirm => "do what the dialog asks (approve, save…)",
            Cancel => "close the dialog",
            RejectGate => "reject instead; the comment is the reason",
            Detach => "detach: the release goes on",
            Abort => "abort: roll back, then quit",
            Stay => "stay in the cockpit",
            Hold => "hold: leave the environment as it is",
            RollForward => "roll forward: run the remaining steps again",
            Force => "force: roll back past it (asks why)",
            RetryStep => "retry the step",
            Done => "done: the step did its work; carry on",
            RollBackInstead => "roll the environment back instead",
        }
    }

    /// What the footer calls it, for the actions that have a place there.
    pub fn hint(self) -> Option<&'static str> {
        use UiAction::*;
        Some(match self {
            Approve => "approve",
            Reject => "reject",
            Pause => "pause",
            Rollback => "rollback",
            Decide => "decide",
            Note => "note",
            Promote => "promote",
            Palette => "command",
            FocusNext => "focus",
            Search => "search",
            Follow => "follow",
            Help => "help",
            Quit => "quit",
            ReplayPause => "play",
            ReplayStep => "step",
            ReplayFaster => "faster",
            ReplaySlower => "slower",
            ReplayNext => "next event",
            ReplayPrev => "previous",
            ReplayStart => "start",
            ReplayEnd => "end",
            _ => return None,
        })
    }

    /// The default keys.
    pub(super) fn default_keys(self) -> &'static [&'static str] {
        use UiAction::*;
        match self {
            Approve => &["a"],
            Reject => &["x"],
            Pause => &["p"],
            Rollback => &["R"],
            Retry => &["r"],
            Decide => &["d"],
            Note => &["m"],
            Promote => &["P"],
            Skip => &["S"],
            Weight => &["W"],
            BreakGlass => &["B"],
            Palette => &[":"],
            ClearSearch => &["esc"],
            Zoom => &["z"],
            Copy => &["y"],
            FocusNext => &["tab"],
            FocusPrev => &["shift-tab"],
            Up => &["up", "k"],
            Down => &["down", "j"],
            Left => &["left", "h"],
            Right => &["right", "l"],
            PageUp => &["pgup", "ctrl-b"],
            PageDown => &["pgdn", "ctrl-f"],
            Top => &["g", "home"],
            Bottom => &["G", "end"],
            Expand => &["enter"],
            Search => &["/"],
            SearchNext => &["n"],
            SearchPrev => &["N"],
            Follow => &["f"],
            StageFilter => &["s"],
            StderrOnly => &["e"],
            Wrap => &["w"],
            Ansi => &["c"],
            Help => &["?"],
            Quit => &["q", "ctrl-c"],
            // `n`, `p` and → also mean search next, pause and next
            // environment: in replay these win (help says so).
            ReplayPause => &["space"],
            ReplayStep => &[".", "right"],
            ReplayFaster => &["+", "="],
            ReplaySlower => &["-"],
            ReplayNext => &["n"],
            ReplayPrev => &["p"],
            ReplayStart => &["0"],
            ReplayEnd => &["$"],
            Confirm => &["enter"],
            Cancel => &["esc"],
            // A terminal sends Ctrl-R and Ctrl-r alike; written as people read it.
            RejectGate => &["ctrl-R"],
            Detach => &["d"],
            Abort => &["a"],
            // `q` again stays, so a doubled `q` never leaves by accident.
            Stay => &["n", "q"],
            Hold => &["h"],
            RollForward => &["f"],
            Force => &["F"],
            RetryStep => &["r"],
            Done => &["d"],
            RollBackInstead => &["b"],
        }
    }

    /// Whether the action works while a text field has the keyboard, so a
    /// key that types a character cannot be its key.
    pub fn while_typing(self) -> bool {
        matches!(
            self,
            UiAction::Confirm | UiAction::Cancel | UiAction::RejectGate
        )
    }
}

/// The help group of the replay actions, shown only in replay mode.
pub const REPLAY_GROUP: &str = "replay";
