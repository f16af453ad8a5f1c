//! Artifact digests as the run has checked them (`ArtifactVerified`).

use jiff::Timestamp;
use serde::Serialize;

use crate::engine::event::Event;

/// One artifact of the release and every check of it, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactView {
    pub name: String,
    /// The digest every check must match: the plan's, or the first one found.
    pub expected: Option<String>,
    pub checks: Vec<ArtifactCheck>,
}

/// A digest computed before an environment started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactCheck {
    pub env: usize,
    pub found: Option<String>,
    pub ok: bool,
    pub message: String,
    pub at: Timestamp,
}

impl ArtifactView {
    /// The newest check before environment `env`.
    pub fn before(&self, env: usize) -> Option<&ArtifactCheck> {
        self.checks.iter().rev().find(|c| c.env == env)
    }
}

/// Applies one `ArtifactVerified`: the first digest seen is kept as the one to match.
pub(super) fn apply(views: &mut Vec<ArtifactView>, event: &Event, ts: Timestamp) {
    let Event::ArtifactVerified {
        env,
        name,
        expected,
        found,
        ok,
        message,
    } = event
    else {
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        return;
    };
    let check = ArtifactCheck {
        env: *env,
        found: found.clone(),
        ok: *ok,
        message: message.clone(),
        at: ts,
    };
    let i = match views.iter().position(|v| &v.name == name) {
        Some(i) => i,
        None => {
            views.push(ArtifactView {
                name: name.clone(),
                expected: None,
                checks: Vec::new(),
            });
            views.len() - 1
        }
    };
    let v = &mut views[i];
    if v.expected.is_none() {
        v.expected = match expected {
            Some(e) => Some(e.clone()),
            None if check.ok => check.found.clone(),
            None => None,
        };
    }
    v.checks.push(check);
}
