//! The composition root: the one place that assembles a run and hands it
//! to a front end.
//!
//! [`run`] builds the engine (a new run, or one taking over a dead engine's
//! run), installs the signal handlers, starts the control server, starts
//! the notifier and the recorder as ordinary clients of the engine handle,
//! and then gives it all to a front end:
//!
//! - [`Front::Headless`]: the headless printer (`slate run --headless`, CI);
//! - [`Front::Serve`]: the engine host a cockpit starts (`slate run PLAN
//!   --serve`): it answers the cockpit's handshake, waits for every
//!   decision, and lingers after the run while anyone follows it.
//!
//! The engine itself starts no client. `launch` is the cockpit's side of
//! the engine host: it starts this binary with `--serve` and waits for the
//! handshake.

mod assemble;
pub mod headless;
pub mod launch;
pub mod rollback_to;
pub mod serve;
mod spawn;
mod team_recover;

use std::path::Path;

pub use assemble::{Assembled, Failure, Shape, Source, assemble, clients, load};
pub use launch::{Failed, Ready, start};

use crate::engine::Unattended;
use crate::signals::Signals;

/// The hidden flag that makes `slate run` / `slate demo` the engine host.
pub const SERVE_FLAG: &str = "--serve";

/// The handshake's success line: `ready <run_dir>`.
pub const READY: &str = "ready ";

/// Who drives the assembled run.
pub enum Front {
    Headless(headless::Options),
    Serve,
}

impl Front {
    /// The engine host a cockpit starts (`serve`), or the headless front
    /// end with `headless`.
    pub fn new(serve: bool, headless: headless::Options) -> Front {
        if serve {
            Front::Serve
        } else {
            Front::Headless(headless)
        }
    }

    fn shape(&self) -> Shape {
        match self {
            // Whether gates may wait depends on the socket (decided once it is up).
            Front::Headless(_) => Shape {
                via: "headless",
                unattended: Unattended::FailClosed,
                linger: false,
                socket_required: false,
                prints_every_record: true,
            },
            Front::Serve => Shape {
                via: "cockpit",
                unattended: Unattended::Wait,
                linger: true,
                socket_required: true,
                prints_every_record: false,
            },
        }
    }

    /// Where problems are told: stderr headless; the handshake (stdout) for
    /// the engine host, whose cockpit prints them.
    fn tell(&self, line: &str) {
        match self {
            Front::Headless(_) => crate::output::err(line),
            Front::Serve => serve::say(line),
        }
    }
}

/// Assembles the run `source` names and drives it with `front` to its end.
/// The exit status: 0 released, 1 not, 2 nothing ran (a bad plan or usage).
pub async fn run(source: Source, front: Front, state_dir: &Path) -> i32 {
    run_with(source, front, state_dir, |_| Ok(())).await
}

/// [`run`], with `before` called once the run is assembled and before the
/// engine starts (the demo starts its fleet in the run's directory there).
/// If it fails, nothing runs: a new run's empty directory is removed.
pub async fn run_with(
    source: Source,
    front: Front,
    state_dir: &Path,
    before: impl FnOnce(&Assembled) -> Result<(), String>,
) -> i32 {
    let Some(signals) = Signals::install() else {
        front.tell(
            "slate: cannot install signal handlers; refusing to start a release that a signal could corrupt",
        );
        return crate::exit::NOT_RELEASED;
    };
    let assembled = match assemble(source, &front.shape(), state_dir) {
        Ok(a) => a,
        Err(f) => {
            f.lines.iter().for_each(|l| front.tell(l));
            return f.code;
        }
    };
    if let Err(why) = before(&assembled) {
        front.tell(&format!("slate: {why}"));
        assembled.abandon();
        return crate::exit::NOT_RELEASED;
    }
    match front {
        Front::Headless(opts) => headless::drive(assembled, signals, opts).await,
        Front::Serve => serve::drive(assembled, signals).await,
    }
}
