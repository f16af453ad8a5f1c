//! Promoting a rollout early (`promote`, `promote --full`) and holding a
//! canary at a chosen weight (`weight N`).

use super::{RunState, StepState};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event) {
    match event {
        Event::Promoted {
            env,
            full,
            actor,
            skipped,
            ..
        } => {
            let Some(e) = s.envs.get_mut(*env) else {
                return;
            };
            e.held_weight = None;
            for &i in skipped {
                // A forged index changes nothing (`apply` checked only `step`).
                if let Some(st) = e.steps.get_mut(i)
                    && st.state == StepState::Pending
                {
                    st.state = StepState::Skipped;
                    st.message = format!(
                        "skipped: {} promoted {}",
                        actor.user,
                        if *full { "to the last step" } else { "early" }
                    );
                }
            }
        }
        Event::WeightHeld { env, weight, .. } => {
            if let Some(e) = s.envs.get_mut(*env) {
                e.held_weight = Some(*weight);
            }
        }
        _ => {}
    }
}
