//! Entering and leaving the terminal, on every path: normal exit, error,
//! panic (our hook restores the terminal, then calls the previous one), SIGTERM, and Ctrl-Z.

use std::io::{Stdout, stdout};

use ratatui::Terminal;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};

use super::backend::Quiet;

/// The terminal the cockpit draws on: frames cost only their changed cells.
pub type Screen = Terminal<Quiet<Stdout>>;

pub fn enter() -> std::io::Result<Screen> {
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        let _ = ratatui::try_restore();
        let _ = execute!(stdout(), Show);
        previous(info);
    }));
    Terminal::new(Quiet::new(stdout()))
}

pub fn leave() {
    let _ = execute!(stdout(), DisableMouseCapture);
    // Not `ratatui::restore`: it reports failure with `eprintln!`, which
    // panics (and then aborts in the panic hook) on a terminal that hung up.
    if let Err(e) = ratatui::try_restore() {
        tracing::info!(error = %e, "cannot restore the terminal (it may have gone away)");
    }
    // The frames' backend writes the cursor only with a frame; give it back here.
    let _ = execute!(stdout(), Show);
}

/// Ctrl-Z: give the terminal back, stop, and take it again on `fg`.
pub fn suspend() -> std::io::Result<Screen> {
    leave();
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP);
    let mut t = enter()?;
    t.clear()?;
    Ok(t)
}

/// Draws one frame; the backend writes only what changed, in one
/// synchronized update, and nothing when nothing did.
pub fn draw(terminal: &mut Screen, f: impl FnOnce(&mut ratatui::Frame)) -> std::io::Result<()> {
    terminal.draw(f).map(|_| ())
}
