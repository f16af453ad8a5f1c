//! What every full-screen command shares — the cockpit, `slate history`,
//! `slate review` and `slate replay`: taking and giving back the terminal
//! ([`terminal`]), one input thread that notices a terminal that went away
//! ([`input`]), both behind one session ([`Tui`]); the backend that writes
//! only changed cells ([`backend`]); keys and keymaps as data ([`key`],
//! [`keymap`]); themes ([`theme`]); and a few widgets. Nothing here knows a
//! run, a plan or a journal.

pub mod backend;
pub mod input;
pub mod key;
pub mod keymap;
pub mod osc;
mod session;
pub mod svg;
pub mod terminal;
pub mod theme;
pub mod widgets;

pub use session::{Tui, TuiEvent};

/// Whether stdin and stdout are a terminal; says `why_not` if they aren't.
pub fn has_terminal(why_not: &str) -> bool {
    use std::io::IsTerminal;
    let yes = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if !yes {
        crate::output::err(why_not);
    }
    yes
}
