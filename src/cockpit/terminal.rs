//! Entering and leaving the terminal, on every path: normal exit, error,
//! panic (ratatui's hook, chained after color-eyre's), SIGTERM, and Ctrl-Z.

use std::io::{Write, stdout};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};

pub fn enter() -> std::io::Result<DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    execute!(stdout(), EnableMouseCapture)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Mouse capture is ours to undo; ratatui's hook restores the rest.
        let _ = execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
    Ok(terminal)
}

pub fn leave() {
    let _ = execute!(stdout(), DisableMouseCapture);
    // Not `ratatui::restore`: it reports failure with `eprintln!`, which
    // panics (and then aborts in the panic hook) on a terminal that hung up.
    if let Err(e) = ratatui::try_restore() {
        tracing::info!(error = %e, "cannot restore the terminal (it may have gone away)");
    }
}

/// Ctrl-Z: give the terminal back, stop, and take it again on `fg`.
pub fn suspend() -> std::io::Result<DefaultTerminal> {
    leave();
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP);
    let mut t = enter()?;
    t.clear()?;
    Ok(t)
}

/// Draws one frame inside a synchronized update, so slow links never show a half-drawn screen.
pub fn draw(
    terminal: &mut DefaultTerminal,
    f: impl FnOnce(&mut ratatui::Frame),
) -> std::io::Result<()> {
    let mut out = stdout();
    let _ = execute!(out, BeginSynchronizedUpdate);
    let r = terminal.draw(f).map(|_| ());
    let _ = execute!(out, EndSynchronizedUpdate);
    let _ = out.flush();
    r
}
