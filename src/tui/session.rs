//! One full-screen session: the terminal, the input thread and the signals
//! that end a session, behind one cancel-safe [`Tui::next`]. The cockpit,
//! the history browser, the review editor and replay all run on it, so they
//! all suspend on Ctrl-Z, notice a terminal that went away, leave on
//! SIGTERM and SIGINT, and give the terminal back the same way.

use std::time::Duration;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent};
use ratatui::layout::Rect;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::input::{self, Input};
use super::terminal::{self, Screen};

/// How often a silent terminal is checked for a hang-up. The kernel's
/// SIGHUP usually says so first; this catches a hang-up whose SIGHUP went
/// elsewhere, and is kept rare because an idle cockpit wakes for it.
const HANGUP_CHECK: Duration = Duration::from_secs(1);

/// What the terminal (or a signal) brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TuiEvent {
    /// A key pressed (or repeated); never a release, never Ctrl-Z.
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Text pasted into the terminal, as one event (bracketed paste).
    Paste(String),
    /// Back from Ctrl-Z: the screen must be drawn again, whole.
    Resumed,
    /// A signal asks the program to leave ("SIGTERM", "SIGINT", or
    /// "SIGHUP" sent by a process while the terminal is still there); the
    /// terminal still works, so it can be restored and told why.
    Stop(&'static str),
    /// The terminal went away (hang-up, failed read or write): nothing more
    /// can be shown or typed. Reported once; the session then stays silent.
    Gone,
}

pub struct Tui {
    screen: Screen,
    /// Dropped when the terminal goes away, which stops its thread.
    input: Option<Input>,
    term: Signal,
    int: Signal,
    hup: Signal,
    check: tokio::time::Interval,
}

impl Tui {
    /// Installs the signal handlers, then takes the terminal. Errs, with the
    /// terminal untouched, when either cannot be done. Must run inside a
    /// tokio runtime.
    pub fn enter() -> Result<Tui, String> {
        let (Ok(term), Ok(int), Ok(hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return Err("cannot install signal handlers".into());
        };
        let screen = terminal::enter().map_err(|e| format!("cannot use the terminal: {e}"))?;
        let mut check = tokio::time::interval(HANGUP_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Tui {
            screen,
            input: Some(input::spawn()),
            term,
            int,
            hup,
            check,
        })
    }

    /// The terminal's size, or `None` once it has gone away.
    pub fn size(&self) -> Option<Rect> {
        self.input.as_ref()?;
        let s = self.screen.size().ok()?;
        Some(Rect::new(0, 0, s.width, s.height))
    }

    /// Whether the terminal went away.
    pub fn gone(&self) -> bool {
        self.input.is_none()
    }

    /// Waits for the next thing worth the caller's attention. Cancel-safe:
    /// every branch is a channel, a signal or a timer.
    pub async fn next(&mut self) -> TuiEvent {
        loop {
            let Some(input) = self.input.as_mut() else {
                return std::future::pending().await;
            };
            let ev = tokio::select! {
                ev = input.events.recv() => {
                    if input.events.is_empty() {
                        input::key_taken();
                    }
                    ev
                }
                _ = self.term.recv() => return TuiEvent::Stop("SIGTERM"),
                _ = self.int.recv() => return TuiEvent::Stop("SIGINT"),
                // The kernel hangs the terminal up before it sends SIGHUP;
                // a SIGHUP without a hang-up was sent by someone.
                _ = self.hup.recv() => return match input::hung_up() {
                    true => self.hang_up(),
                    false => TuiEvent::Stop("SIGHUP"),
                },
                _ = self.check.tick() => {
                    if input::hung_up() {
                        return self.hang_up();
                    }
                    continue;
                }
            };
            match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Release => {}
                Some(Ok(Event::Key(k)))
                    if k.code == KeyCode::Char('z')
                        && k.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    return match terminal::suspend() {
                        Ok(screen) => {
                            self.screen = screen;
                            TuiEvent::Resumed
                        }
                        Err(_) => self.hang_up(),
                    };
                }
                Some(Ok(Event::Key(k))) => return TuiEvent::Key(k),
                Some(Ok(Event::Mouse(m))) => return TuiEvent::Mouse(m),
                Some(Ok(Event::Resize(w, h))) => return TuiEvent::Resize(w, h),
                Some(Ok(Event::Paste(text))) => return TuiEvent::Paste(text),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return self.hang_up(),
            }
        }
    }

    /// Draws a frame; a terminal that cannot take it has gone away (false).
    pub fn draw(&mut self, f: impl FnOnce(&mut ratatui::Frame)) -> bool {
        if self.input.is_none() {
            return false;
        }
        if terminal::draw(&mut self.screen, f).is_err() {
            self.hang_up();
            return false;
        }
        true
    }

    /// Writes an escape sequence between frames (an OSC 52 copy); false
    /// when the terminal is gone or would not take it.
    pub fn send_raw(&mut self, seq: &str) -> bool {
        use std::io::Write;
        if self.input.is_none() {
            return false;
        }
        let mut out = std::io::stdout().lock();
        out.write_all(seq.as_bytes())
            .and_then(|_| out.flush())
            .is_ok()
    }

    /// The terminal is gone: stdin and stdout/stderr are retired so that
    /// nothing spins reading it or fails writing to it, and the input
    /// thread stops.
    fn hang_up(&mut self) -> TuiEvent {
        if self.input.take().is_some() {
            input::retire_stdin();
            input::retire_output();
        }
        TuiEvent::Gone
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // The thread first, so nothing reads the terminal while it is handed back.
        self.input = None;
        terminal::leave();
    }
}
