//! Taking the terminal and giving it back, on every path: normal exit,
//! error, panic, a signal, and Ctrl-Z (given back, then taken again on `fg`).
//!
//! One panic hook serves every full-screen command for the life of the
//! process. It is installed the first time the terminal is taken, after the
//! hook `main` set up (which logs the panic), and calls that one once the
//! terminal is restored, so a panic report lands on the normal screen. Taking the
//! terminal again (after Ctrl-Z, or in a second session) never adds another.

use std::io::{Stdout, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};

use super::backend::Quiet;

/// The terminal a full-screen command draws on: frames cost only their changed cells.
pub type Screen = Terminal<Quiet<Stdout>>;

/// Whether this process holds the terminal (raw mode, alternate screen…).
static HELD: AtomicBool = AtomicBool::new(false);

/// Installs the hook that hands the terminal back before a panic is
/// reported; once per process, whatever the number of calls.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if HELD.swap(false, Ordering::SeqCst) {
                restore();
            }
            previous(info);
        }));
    });
}

/// Raw mode, the alternate screen, mouse capture and bracketed paste (so a
/// pasted text arrives as one event and never as keystrokes that act).
pub fn enter() -> std::io::Result<Screen> {
    install_panic_hook();
    HELD.store(true, Ordering::SeqCst);
    let taken = enable_raw_mode().and_then(|()| {
        execute!(
            stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )
    });
    match taken.and_then(|()| Terminal::new(Quiet::new(stdout()))) {
        Ok(t) => Ok(t),
        Err(e) => {
            // Half taken is not taken: give back whatever was.
            leave();
            Err(e)
        }
    }
}

/// Gives the terminal back as it was: cooked mode, the normal screen, no
/// mouse capture, no bracketed paste, the cursor shown.
pub fn leave() {
    if HELD.swap(false, Ordering::SeqCst) {
        restore();
    }
}

fn restore() {
    // The frames' backend leaves its last colours set between frames (`Pen`).
    let _ = execute!(
        stdout(),
        ratatui::crossterm::style::SetAttribute(ratatui::crossterm::style::Attribute::Reset),
        DisableBracketedPaste,
        DisableMouseCapture
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The address of the hook now installed (put back untouched).
    fn current_hook() -> usize {
        let hook = std::panic::take_hook();
        let at = &*hook as *const (dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send)
            as *const () as usize;
        std::panic::set_hook(hook);
        at
    }

    #[test]
    fn taking_the_terminal_again_adds_no_panic_hook() {
        install_panic_hook();
        let first = current_hook();
        // What every Ctrl-Z and every later session does.
        install_panic_hook();
        install_panic_hook();
        assert_eq!(current_hook(), first, "a second hook was stacked");
        // Nothing held: leaving writes nothing (the test's stdout is not a terminal).
        leave();
        assert!(!HELD.load(Ordering::SeqCst));
    }
}
