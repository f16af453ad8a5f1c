//! Locks, holds and freezes as the run saw them: which environments' locks
//! it holds, and what keeps it waiting now.

use jiff::Timestamp;
use serde::Serialize;

use super::RunState;
use crate::engine::admission::Barrier;
use crate::engine::event::Event;

/// What keeps the run out of (or stopped inside) an environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldBack {
    pub env: usize,
    pub barrier: Barrier,
    /// Since when the run waits for it.
    pub since: Timestamp,
    /// Until when it will wait (None: until the barrier goes).
    pub until: Option<Timestamp>,
    /// Stopped at a safe point inside the environment.
    pub in_flight: bool,
}

pub(super) fn apply(s: &mut RunState, event: &Event, ts: Timestamp) {
    match event {
        Event::EnvBlocked {
            env,
            barrier,
            until,
            in_flight,
        } => {
            let since = match &s.held_back {
                Some(h) if h.env == *env => h.since,
                _ => ts,
            };
            s.held_back = Some(HeldBack {
                env: *env,
                barrier: barrier.clone(),
                since,
                until: *until,
                in_flight: *in_flight,
            });
        }
        Event::EnvCleared { env } if s.held_back.as_ref().is_some_and(|h| h.env == *env) => {
            s.held_back = None;
        }
        Event::EnvLocked { env } => {
            if s.held_back.as_ref().is_some_and(|h| h.env == *env) {
                s.held_back = None;
            }
            if !s.locked.contains(env) {
                s.locked.push(*env);
            }
        }
        Event::EnvUnlocked { env } => s.locked.retain(|e| e != env),
        _ => {}
    }
}
