//! Where the cockpit's records come from and where its commands go. The
//! loop in `mod.rs` (terminal, input, drawing, pacing) is the same for every
//! feed; only this differs:
//!
//! - [`Attach`]: a live run, whose engine is always in another process (an
//!   engine host started by `slate run`, a headless run, …): records from
//!   its control socket, commands back through it (read-only when asked);
//! - [`ReplayFeed`]: a past run's journal played by a player; read-only, so
//!   nothing goes out.
//!
//! An enum rather than a trait object: `next` is an async fn used inside
//! `select!`, and the set of feeds is small and known.

use super::app::{App, Effect};
use super::attach::{self, Attach};
use super::replay::ReplayFeed;

pub enum Feed {
    Replay(ReplayFeed),
    Attach(Box<Attach>),
}

/// What a feed waited for, handed back to it by the loop.
pub enum Incoming {
    /// The player has something due (a record, or an idle stretch to cut).
    ReplayDue,
    Attach(attach::Msg),
}

impl Feed {
    /// Waits for the feed's next message. Cancel-safe: the loop selects on it.
    pub async fn next(&mut self) -> Incoming {
        match self {
            Feed::Replay(r) => {
                r.next().await;
                Incoming::ReplayDue
            }
            Feed::Attach(a) => Incoming::Attach(a.next().await),
        }
    }

    /// Applies what arrived to the app; `Effect::Quit` when the feed has ended.
    pub fn take(&mut self, msg: Incoming, app: &mut App) -> Vec<Effect> {
        match (self, msg) {
            (Feed::Replay(r), Incoming::ReplayDue) => {
                r.sync(app);
                Vec::new()
            }
            (Feed::Attach(a), Incoming::Attach(m)) => a.take(m, app),
            _ => Vec::new(),
        }
    }

    /// Carries out an effect other than quitting.
    pub fn perform(&mut self, effect: Effect, app: &mut App) {
        match self {
            Feed::Replay(r) => r.perform(effect, app),
            Feed::Attach(a) => a.perform(effect),
        }
    }

    /// Brings the app's clock up to date (a replay plays what became due).
    pub fn sync(&mut self, app: &mut App) {
        match self {
            Feed::Replay(r) => r.sync(app),
            Feed::Attach(a) => a.sync(app),
        }
    }
}
