//! `slate approve RUN --show`: what approving would promote, and what that
//! changes against what is live in the environment according to the ledger
//! (as the run journaled it when it took the environment's lock). Nothing
//! is decided: it reads the journal, so it works from a shared state
//! directory and for runs that have ended (then it lists every environment's).

use std::path::Path;

use crate::engine::state::RunState;

pub fn show(state_dir: &Path, run: &str, gate: Option<&str>) -> i32 {
    let state = match super::show::run_state(state_dir, run) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let n = |s: &str| crate::text::neutral::line(s).into_owned();
    match &state.waiting {
        Some(w) if gate.is_none_or(|g| g == w.gate) => {
            let env = &state.envs[w.env].name;
            crate::say!(
                "run {} · gate {} waits before promoting {} {} to {}",
                state.run_id,
                n(&w.gate),
                n(&state.release),
                n(&state.version),
                n(env)
            );
            print_env(&state, w.env);
            0
        }
        waiting => {
            if let Some(g) = gate {
                crate::warn_user!(
                    "slate: gate {} is not waiting in run {}{}",
                    n(g),
                    state.run_id,
                    waiting
                        .as_ref()
                        .map(|w| format!(" ({} is)", n(&w.gate)))
                        .unwrap_or_default()
                );
                return crate::exit::USAGE;
            }
            crate::say!(
                "run {} · {} {} · no gate is waiting ({}); what each environment's promotion changed:",
                state.run_id,
                n(&state.release),
                n(&state.version),
                state.status.word()
            );
            let mut any = false;
            for (i, e) in state.envs.iter().enumerate() {
                if e.change.is_some() {
                    print_env(&state, i);
                    any = true;
                }
            }
            if !any {
                crate::say!("  (the run entered no environment with a ledger to compare against)");
            }
            0
        }
    }
}

fn print_env(state: &RunState, env: usize) {
    let e = &state.envs[env];
    let Some(c) = &e.change else {
        crate::say!(
            "  what is live in {} is not known to this run: it journaled no comparison with the ledger",
            crate::text::neutral::line(&e.name)
        );
        return;
    };
    crate::say!("  {}", crate::change::headline(c, &e.name));
    crate::say!("    {}", crate::change::summary(c));
    for r in crate::change::rows(c) {
        crate::say!("    {} {}", r.mark.sign(), r.text);
    }
}
