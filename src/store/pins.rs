//! Pins: after a rollback to a known-good version (`slate rollback --to`)
//! the release × environment is pinned, so that a later run (automation,
//! a pipeline) does not undo a manual rollback by promoting over it; such
//! a run needs `--unpin REASON`, journaled as `Unpinned`, which lifts it.
//!
//! Like the ledger, pins are derived from journals: a rollback-to run that
//! went live pins (at its live time), an `Unpinned` record unpins (at its
//! time), and a place is pinned when its newest such event is a pin. The
//! events are stored per run, so a store written run by run and one
//! rebuilt from the journals agree, whatever order runs are read in.

use jiff::Timestamp;
use serde::Serialize;

use crate::engine::event::EnvOutcome;
use crate::engine::state::{EnvStatus, RunState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    Pin,
    Unpin,
}

impl PinKind {
    pub fn key(self) -> &'static str {
        match self {
            PinKind::Pin => "pin",
            PinKind::Unpin => "unpin",
        }
    }
}

/// One pin or unpin, as a run's journal says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinEvent {
    pub release: String,
    pub env: String,
    pub run_id: String,
    pub kind: PinKind,
    /// The version pinned (the rollback's); for an unpin, the run's version.
    pub version: String,
    /// Who: the rollback's starter, or the person who unpinned.
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

/// A place pinned now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    pub version: String,
    /// The rollback-to run that pinned it.
    pub run_id: String,
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

impl Pin {
    /// One line for a refusal or a warning (the reason's controls shown).
    pub fn describe(&self, env: &str) -> String {
        format!(
            "{env} is pinned to {} by rollback run {} ({}: {})",
            crate::text::neutral::line(&self.version),
            self.run_id,
            crate::text::neutral::line(&self.by),
            crate::text::neutral::line(&self.reason),
        )
    }
}

/// What a run's state says about pins.
pub fn events(state: &RunState) -> Vec<PinEvent> {
    let mut out = Vec::new();
    if let Some(to) = &state.rollback_to {
        for env in &state.envs {
            if env.name == to.env
                && env.status == EnvStatus::Done(EnvOutcome::Deployed)
                && let Some(at) = env.finished
            {
                out.push(PinEvent {
                    release: state.release.clone(),
                    env: env.name.clone(),
                    run_id: state.run_id.clone(),
                    kind: PinKind::Pin,
                    version: state.version.clone(),
                    by: state.started_by.clone(),
                    reason: to.reason.clone(),
                    at,
                });
            }
        }
    }
    for u in &state.unpinned {
        if let Some(env) = state.envs.get(u.env) {
            out.push(PinEvent {
                release: state.release.clone(),
                env: env.name.clone(),
                run_id: state.run_id.clone(),
                kind: PinKind::Unpin,
                version: state.version.clone(),
                by: u.user.clone(),
                reason: u.reason.clone(),
                at: u.at,
            });
        }
    }
    out
}
