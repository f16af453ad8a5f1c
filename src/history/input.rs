//! Terminal input on a thread of our own, forwarded to the loop (the
//! cockpit's approach; its `input` module is private to it).
//!
//! crossterm's reader never reports a hung-up terminal (it retries
//! end-of-file forever), so the loop also polls stdin for POLLHUP on its
//! tick. History has no release to keep alive: a hang-up simply ends it.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc;

/// Stops the reader thread when dropped.
pub struct Input {
    pub events: mpsc::Receiver<std::io::Result<Event>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

pub fn spawn() -> Input {
    let (tx, events) = mpsc::channel(256);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("slate-history-input".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                // The timeout only bounds how long a stop request waits.
                match event::poll(Duration::from_millis(100)) {
                    Ok(false) => {}
                    Ok(true) => {
                        let ev = event::read();
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
    Input { events, stop }
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
