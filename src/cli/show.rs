//! `slate show RUN`: a run's state rebuilt from its journal.

use std::path::Path;

/// A run's state from its journal's state records, a warning about the
/// journal said on stderr; on failure, said there, the exit status.
pub(super) fn run_state(state_dir: &Path, run: &str) -> Result<crate::engine::RunState, i32> {
    let journal = crate::runs::open_states(state_dir, run).map_err(|e| {
        crate::warn_user!("slate: {}", e.message);
        e.code
    })?;
    if let Some(w) = &journal.warning {
        crate::warn_user!("slate: warning: {w}");
    }
    Ok(journal.state())
}

pub fn run(state_dir: &Path, run: &str, json: bool) -> i32 {
    let state = match run_state(state_dir, run) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if json {
        match crate::text::json::to_string_pretty(&state) {
            Ok(s) => crate::output::out_text(&s),
            Err(e) => {
                crate::warn_user!("slate: {e}");
                return 1;
            }
        }
        return 0;
    }
    crate::say!(
        "run {} · {} {} (replacing {}) · {}",
        state.run_id,
        state.release,
        state.version,
        state.previous_version,
        state.status.word()
    );
    if let Some(to) = &state.rollback_to {
        crate::say!(
            "  rollback to {} in {} by {}: {} (plan of run {}; pauses and analyses skipped)",
            state.version,
            to.env,
            state.started_by,
            to.reason,
            to.from_run
        );
    }
    for u in &state.unpinned {
        crate::say!(
            "  unpinned {} by {}: {} (was: {})",
            state.envs.get(u.env).map_or("?", |e| e.name.as_str()),
            u.user,
            u.reason,
            u.pin
        );
    }
    if !state.message.is_empty() {
        crate::say!("  {}", state.message);
    }
    for env in &state.envs {
        crate::say!("  {:<10} {}", env.name, env.status.word());
        if let Some(c) = &env.change {
            crate::say!(
                "    {} · {}",
                crate::change::headline(c, &env.name),
                crate::change::summary(c)
            );
        }
        for s in &env.steps {
            let d = s
                .duration_ms
                .map(|d| format!(" {:.1}s", d as f64 / 1000.0))
                .unwrap_or_default();
            let m = if s.message.is_empty() {
                String::new()
            } else {
                format!(" — {}", s.message)
            };
            let undo = match &s.undo {
                Some(u) if u.message.is_empty() => " (undo: running)".to_string(),
                Some(u) => format!(" (undo: {})", u.message),
                None => String::new(),
            };
            crate::say!("    {:<10} {:<28}{d}{m}{undo}", s.state.word(), s.label);
        }
        for a in &env.approvals {
            crate::say!(
                "    approved {} by {} ({}): {}",
                a.gate,
                a.user,
                a.via,
                a.comment
            );
        }
    }
    for n in &state.notes {
        crate::say!("  note by {}: {}", n.user, n.text);
    }
    0
}
