//! Who is here: the people following a run through its control socket
//! right now, each as the kernel names them (peer credentials), whether
//! their connection may steer the run or only watch, and since when.
//!
//! Presence is a fact about the socket, not about the release, so it is
//! not journaled: it changes whenever someone attaches or leaves, means
//! nothing after the engine is gone, and a replay of the journal must not
//! depend on who happened to be looking. Subscribers that ask for it get a
//! [`Watchers`] line each time it changes, between records.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// At most this many others are listed in one [`Watchers`] line; the rest
/// are counted (`more`). The socket takes 64 connections at most anyway.
pub const MAX_LISTED: usize = 16;

/// The longest user name shown, in characters (OS names are short; this
/// only bounds what a strange passwd entry could put on screen).
pub const MAX_NAME: usize = 32;

/// One person following the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watcher {
    /// The connection, unique for this server's life (so a client can tell
    /// itself from another of the same user).
    pub id: u64,
    /// The OS user (peer credentials), neutralised and bounded.
    pub user: String,
    /// Watching only (`attach --read-only`): this connection takes no commands.
    pub read_only: bool,
    /// When they attached.
    pub since: Timestamp,
}

/// What a subscriber is told: everyone following, itself included (`you`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watchers {
    /// This subscriber's own connection.
    pub you: u64,
    /// The oldest first, at most [`MAX_LISTED`] besides `you`.
    pub list: Vec<Watcher>,
    /// Others beyond the list.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Watchers {
    /// Everyone but `you`, as listed.
    pub fn others(&self) -> impl Iterator<Item = &Watcher> {
        self.list.iter().filter(move |w| w.id != self.you)
    }

    /// How many others follow the run (listed or not).
    pub fn others_count(&self) -> usize {
        self.others().count() + self.more
    }
}

/// A user name fit for any output: controls shown, at most [`MAX_NAME`] characters.
pub fn clean_name(user: &str) -> String {
    let line = crate::text::neutral::line(user);
    let mut out: String = line.chars().take(MAX_NAME).collect();
    if line.chars().count() > MAX_NAME {
        out.push('…');
    }
    out
}

/// The server's list of who is here, and its changes.
#[derive(Clone)]
pub struct Roster {
    tx: std::sync::Arc<watch::Sender<Vec<Watcher>>>,
}

impl Default for Roster {
    fn default() -> Self {
        Roster {
            tx: std::sync::Arc::new(watch::channel(Vec::new()).0),
        }
    }
}

impl Roster {
    /// Adds someone for as long as the returned guard lives.
    pub fn join(&self, id: u64, user: &str, read_only: bool) -> Present {
        let w = Watcher {
            id,
            user: clean_name(user),
            read_only,
            since: Timestamp::now(),
        };
        self.tx.send_modify(|l| l.push(w));
        Present {
            tx: self.tx.clone(),
            id,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Vec<Watcher>> {
        self.tx.subscribe()
    }
}

/// What `you` are told of a roster: the oldest first, bounded.
pub fn view(all: &[Watcher], you: u64) -> Watchers {
    let mut list = Vec::new();
    let (mut listed, mut more) = (0, 0);
    for w in all {
        if w.id == you {
            list.push(w.clone());
        } else if listed < MAX_LISTED {
            listed += 1;
            list.push(w.clone());
        } else {
            more += 1;
        }
    }
    Watchers { you, list, more }
}

/// Someone's place in the roster; dropping it (the connection ends, or its
/// task is aborted) takes them off.
pub struct Present {
    tx: std::sync::Arc<watch::Sender<Vec<Watcher>>>,
    id: u64,
}

impl Drop for Present {
    fn drop(&mut self) {
        let id = self.id;
        self.tx.send_modify(|l| l.retain(|w| w.id != id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roster_follows_connections_and_stays_bounded() {
        let r = Roster::default();
        let rx = r.subscribe();
        let me = r.join(1, "alice", false);
        let guards: Vec<_> = (2..40).map(|i| r.join(i, "bob\x1b[2J", true)).collect();
        let v = view(&rx.borrow(), 1);
        assert_eq!(v.list.len(), MAX_LISTED + 1);
        assert_eq!(v.more, 38 - MAX_LISTED);
        assert_eq!(v.others_count(), 38);
        assert!(v.list.iter().all(|w| !w.user.contains('\x1b')));
        drop(guards);
        let v = view(&rx.borrow(), 1);
        assert_eq!(v.list.len(), 1);
        assert_eq!(v.others_count(), 0);
        drop(me);
        assert!(rx.borrow().is_empty());
    }

    #[test]
    fn long_names_are_cut() {
        let n = clean_name(&"x".repeat(100));
        assert_eq!(n.chars().count(), MAX_NAME + 1);
        assert!(n.ends_with('…'));
    }
}
