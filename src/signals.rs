//! The signals a run's host listens for. They are installed before the run
//! exists: a signal in between would otherwise kill the process with a
//! half-written journal. What each means is the front end's business
//! (headless: Ctrl-C pauses, SIGTERM aborts; the engine host: both abort).

use tokio::signal::unix::{Signal, SignalKind, signal};

pub struct Signals {
    pub int: Signal,
    pub term: Signal,
    pub hup: Signal,
}

impl Signals {
    /// All three, or `None` when any cannot be installed (then nothing
    /// should start: a signal could corrupt the release).
    pub fn install() -> Option<Signals> {
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
            hup: signal(SignalKind::hangup()).ok()?,
        })
    }
}
