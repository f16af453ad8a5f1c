//! Terminal input on a thread of our own, forwarded to the loop, and
//! detection of a terminal that went away.
//!
//! crossterm's reader handles keys and resizes well, but on a hung-up
//! terminal (an SSH drop) its read loop retries end-of-file forever, spinning
//! a core, and never reports it. So hang-ups are detected here — by SIGHUP in
//! the loop, or a POLLHUP check on each tick — and then stdin is swapped for
//! an empty non-blocking pipe, which ends crossterm's loop ("would block").

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc;

/// Stops the reader thread when dropped.
pub struct Input {
    pub events: mpsc::Receiver<std::io::Result<Event>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long a stopping reader is waited for. It is woken at once (see
/// [`wake_reader`]); this only bounds a wake that went astray.
const STOP_WAIT: Duration = Duration::from_millis(300);

/// How long the reader sleeps in one poll when nothing happens. It is woken
/// early for a stop, so this is only a safety net: a reader parked at a
/// waiting gate for an hour wakes 3,600 times, not 36,000.
const POLL_SAFETY: Duration = Duration::from_secs(1);

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        wake_reader();
        // The next reader of this terminal (the cockpit the board hands it
        // to, the board again after it) must not race this one for a key:
        // whichever thread reads a key gets it, so this one is woken, reads
        // nothing more, and is waited for.
        let deadline = std::time::Instant::now() + STOP_WAIT;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !t.is_finished() {
                tracing::info!("the terminal reader did not stop in time");
            }
        }
    }
}

pub fn spawn() -> Input {
    let (tx, events) = mpsc::channel(256);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("slate-input".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match event::poll(POLL_SAFETY) {
                    Ok(false) => {}
                    // Woken to stop: whatever is ready stays in crossterm's
                    // queue for the next reader.
                    Ok(true) if flag.load(Ordering::SeqCst) => return,
                    Ok(true) => {
                        let ev = event::read();
                        if matches!(ev, Ok(Event::Key(_) | Event::Paste(_))) {
                            WAITING.store(true, Ordering::SeqCst);
                        }
                        let failed = ev.is_err();
                        if flag.load(Ordering::SeqCst) || tx.blocking_send(ev).is_err() || failed {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        })
        .expect("spawn the input thread");
    Input {
        events,
        stop,
        thread: Some(thread),
    }
}

/// Ends the reader's poll now. crossterm's poll offers no waker of its
/// own (only its async `EventStream` has one), but it watches SIGWINCH on
/// the same descriptor set it waits on, so raising SIGWINCH in this
/// process wakes it with a resize of the same size. That resize stays
/// queued for the next reader, which redraws at the size it already has.
fn wake_reader() {
    if let Err(e) = nix::sys::signal::raise(nix::sys::signal::Signal::SIGWINCH) {
        tracing::info!(error = %e, "cannot wake the terminal reader");
    }
}

/// A key (or paste) read from the terminal and not yet taken by the loop.
pub(crate) static WAITING: AtomicBool = AtomicBool::new(false);

/// Whether a key is waiting for the loop: work the loop does in bounded
/// batches (applying a flood's records) stops early for it, so a key
/// pressed during a flood is answered before the next batch.
pub fn key_waiting() -> bool {
    WAITING.load(Ordering::Relaxed)
}

/// The loop took what was waiting.
pub fn key_taken() {
    WAITING.store(false, Ordering::SeqCst);
}

/// Whether the terminal on stdin has hung up (checked without reading).
pub fn hung_up() -> bool {
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => fds[0].revents().is_some_and(|r| {
            r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
        }),
        _ => false,
    }
}

/// Points stdout and stderr at `/dev/null` once the terminal is gone: the
/// writes still to come (restoring the terminal, showing the cursor) would
/// fail there, and `eprintln!`, which ratatui uses to report such failures,
/// panics on a failed write (and aborts inside the panic hook).
pub fn retire_output() {
    match std::fs::OpenOptions::new().write(true).open("/dev/null") {
        Ok(null) => {
            let _ = nix::unistd::dup2_stdout(&null);
            let _ = nix::unistd::dup2_stderr(&null);
        }
        Err(e) => tracing::warn!(error = %e, "cannot open /dev/null"),
    }
}

/// Replaces stdin with an empty pipe that never reaches end-of-file, so
/// nothing keeps reading a dead terminal. The write end is kept for good.
pub fn retire_stdin() {
    static KEEP: OnceLock<OwnedFd> = OnceLock::new();
    if KEEP.get().is_some() {
        return;
    }
    if let Ok((read, write)) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC) {
        // dup2 swaps fd 0 atomically for every thread, including crossterm's reader.
        let _ = nix::unistd::dup2_stdin(&read);
        let _ = KEEP.set(write);
    }
}
