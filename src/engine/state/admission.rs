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
    /// The second person who approved it, and what they said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<(String, String)>,
}

/// The gate name a break-glass waiting for a second approval answers to
/// (`slate approve RUN break-glass`, or with no gate named).
pub const GLASS_GATE: &str = "break-glass";

/// A break-glass waiting for a second person: who asked, why, what it
/// would cross, since when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlassWait {
    pub env: usize,
    pub actor: crate::engine::event::Actor,
    pub reason: String,
    pub crossed: Barrier,
    pub since: Timestamp,
    /// The second person's comment, once approved (the `BreakGlass` that
    /// follows ends the wait).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

impl GlassWait {
    /// "break-glass by alice (hotfix) waits for a second person's approval: prod is frozen: …"
    pub fn describe(&self) -> String {
        format!(
            "break-glass by {} ({}) waits for a second person's approval to cross: {}",
            self.actor.user, self.reason, self.crossed.message
        )
    }
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
            // The barrier went by itself: nothing is left to approve.
            if s.glass_wait.as_ref().is_some_and(|w| w.env == *env) {
                s.glass_wait = None;
            }
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
            approved_by,
        } => {
            // The approval's comment was journaled just before.
            let comment = s
                .glass_wait
                .as_ref()
                .and_then(|w| w.approval.clone())
                .unwrap_or_default();
            let approved_by = approved_by.as_ref().map(|a| (a.user.clone(), comment));
            s.break_glass.push(BreakGlassView {
                env: *env,
                user: actor.user.clone(),
                reason: reason.clone(),
                crossed: crossed.message.clone(),
                at: ts,
                approved_by,
            });
            if s.held_back.as_ref().is_some_and(|h| h.env == *env) {
                s.held_back = None;
            }
            if s.glass_wait.as_ref().is_some_and(|w| w.env == *env) {
                s.glass_wait = None;
            }
        }
        Event::BreakGlassRequested {
            env,
            actor,
            reason,
            crossed,
        } => {
            s.glass_wait = Some(GlassWait {
                env: *env,
                actor: actor.clone(),
                reason: reason.clone(),
                crossed: crossed.clone(),
                since: ts,
                approval: None,
            });
            if s.held_back.as_ref().is_some_and(|h| h.env == *env) {
                s.held_back = None;
            }
        }
        Event::BreakGlassApproved { env, comment, .. } => {
            if let Some(w) = s.glass_wait.as_mut().filter(|w| w.env == *env) {
                w.approval = Some(comment.clone());
            }
        }
        Event::BreakGlassRejected { env, .. }
            if s.glass_wait.as_ref().is_some_and(|w| w.env == *env) =>
        {
            s.glass_wait = None;
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
