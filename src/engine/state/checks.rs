//! Check results (`CheckResult`): the step's newest message, and each check's
//! recent attempts as a series every client can draw.

use std::collections::VecDeque;

use serde::Serialize;

use super::RunState;
use crate::engine::event::*;

/// Attempts kept per check in the state; the journal keeps them all.
pub const CHECK_SAMPLES_KEPT: usize = 120;

/// One check's newest attempts in one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckSeries {
    pub env: usize,
    /// The check's name (for a gate's own check, the gate's name).
    pub check: String,
    /// Latency per attempt in ms and whether it passed; newest last.
    pub samples: VecDeque<(u64, bool)>,
}

pub(super) fn apply(s: &mut RunState, event: &Event) {
    let Event::CheckResult {
        env,
        step,
        check,
        ok,
        latency_ms,
        message,
        ..
    } = event
    else {
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        return;
    };
    if let Some(st) = s.step_mut(*env, *step) {
        st.message = message.clone();
    }
    let i = match s
        .checks
        .iter()
        .position(|c| c.env == *env && &c.check == check)
    {
        Some(i) => i,
        None => {
            s.checks.push(CheckSeries {
                env: *env,
                check: check.clone(),
                samples: VecDeque::new(),
            });
            s.checks.len() - 1
        }
    };
    let samples = &mut s.checks[i].samples;
    if samples.len() == CHECK_SAMPLES_KEPT {
        samples.pop_front();
    }
    samples.push_back((*latency_ms, *ok));
}
