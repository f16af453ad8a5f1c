//! Exit statuses, the same for every verb: scripts read them.
//!
//! A run: 0 released, 1 not released (rolled back, failed, held, aborted),
//! 2 the plan or the command line was wrong and nothing ran. A steering
//! verb: 0 the engine accepted, 1 it refused (its reason is printed), 2 a
//! usage error or a run that is not active.

use crate::engine::RunState;

pub const RELEASED: i32 = 0;
pub const NOT_RELEASED: i32 = 1;
pub const USAGE: i32 = 2;

pub const ACCEPTED: i32 = 0;
pub const REFUSED: i32 = 1;

/// A finished run's status.
pub fn of_run(state: &RunState) -> i32 {
    match state.outcome {
        Some(o) if o.released() => RELEASED,
        _ => NOT_RELEASED,
    }
}
