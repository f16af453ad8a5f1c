//! The engine through its API, in-process: real plans, real child processes,
//! real journals, real HTTP servers on 127.0.0.1. Every run ends by checking
//! that clients saw exactly the journal and that replaying it rebuilds the
//! live state (`common::engine`). Also the fuzzed hostile input.

use slate_testkit as common;

mod analysis;
mod api;
mod approval_policy;
mod artifacts;
mod break_glass;
mod checks;
mod evidence;
mod failure_reason;
mod fuzz;
mod notify;
mod promote;
mod verify_analysis;
