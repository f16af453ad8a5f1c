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

/// A break-glass in effect: who crossed what in which environment, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakGlassView {
    pub env: usize,
    pub user: String,
    pub reason: String,
    /// What it crossed, in one line.
    pub crossed: String,
    pub at: Timestamp,
}

/// A pin the run promoted over (`--unpin`): who, why, and what the pin was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnpinView {
    pub env: usize,
    pub user: String,
    pub reason: String,
    pub pin: String,
    pub at: Timestamp,
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
        Event::BreakGlass {
            env,
            actor,
            reason,
            crossed,
        } => {
            s.break_glass.push(BreakGlassView {
                env: *env,
                user: actor.user.clone(),
                reason: reason.clone(),
                crossed: crossed.message.clone(),
                at: ts,
            });
            if s.held_back.as_ref().is_some_and(|h| h.env == *env) {
                s.held_back = None;
            }
        }
        Event::Unpinned {
            env,
            actor,
            reason,
            pin,
        } => {
            s.unpinned.push(UnpinView {
                env: *env,
                user: actor.user.clone(),
                reason: reason.clone(),
                pin: pin.clone(),
                at: ts,
            });
            if s.held_back.as_ref().is_some_and(|h| h.env == *env) {
                s.held_back = None;
            }
        }
        _ => {}
    }
}
