//! `slate status` and the verbs that steer an active run through its control
//! socket: approve, reject, pause, resume, rollback, abort, decide, retry,
//! note. Each builds the one command vocabulary ([`Action`]) and sends it.
//!
//! Exit status: 0 the engine accepted, 1 it refused (its reason is printed),
//! 2 usage errors or a run that is not active.

use std::path::Path;

use crate::control::ClientError;
use crate::engine::Action;
use crate::exit::{ACCEPTED, REFUSED, USAGE};
use crate::runs;

/// Sends one command to the run's engine, as the OS user running this
/// process; a run this machine does not have, through the team store, as
/// the role it authenticates as.
pub async fn command(state_dir: &Path, run: &str, action: Action) -> i32 {
    let dir = match runs::find_run(state_dir, run) {
        Ok(d) => d,
        Err(e) => return through_team(run, action, &e.to_string()).await,
    };
    match crate::control::client::command(&dir, action, "cli").await {
        Ok(reply) => answered(reply),
        Err(ClientError::NotActive(_)) => {
            crate::warn_user!("slate: {}", runs::not_served(&dir));
            USAGE
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            REFUSED
        }
    }
}

/// The engine's answer, said (neutralised, as everything `say!` and
/// `warn_user!` print); the exit status.
fn answered(reply: crate::engine::Reply) -> i32 {
    match reply {
        Ok(what) => {
            crate::say!("{what}");
            ACCEPTED
        }
        Err(why) => {
            crate::warn_user!("slate: refused: {why}");
            REFUSED
        }
    }
}

/// A run elsewhere: its id from the team journal, then the command as a
/// row its engine answers (`store::postgres::commands`).
async fn through_team(run: &str, action: Action, here: &str) -> i32 {
    let team = match crate::store::postgres::configured(&crate::paths::config_dir()) {
        Ok(Some(t)) => t,
        Ok(None) => {
            crate::warn_user!("slate: {here}");
            return USAGE;
        }
        Err(e) => {
            crate::warn_user!("slate: {here}; {e}");
            return USAGE;
        }
    };
    let (run, here) = (run.to_string(), here.to_string());
    let asked = tokio::task::spawn_blocking(move || {
        let id = crate::store::postgres::reader::resolve(&team, &run)
            .map_err(|why| (format!("{here}; {why}"), USAGE))?;
        crate::store::postgres::commands::ask(&team, &id, &action, "cli")
            .map_err(|why| (why, REFUSED))
    })
    .await;
    match asked {
        Ok(Ok(reply)) => answered(reply),
        Ok(Err((why, code))) => {
            crate::warn_user!("slate: {why}");
            code
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            REFUSED
        }
    }
}

/// `slate status`: what is live in each environment (text only), then the
/// active runs, one line each (or the active runs as JSON).
pub fn status(state_dir: &Path, json: bool) -> i32 {
    let active = match runs::active_runs(state_dir) {
        Ok(a) => a,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    if json {
        match crate::text::json::to_string_pretty(&active) {
            Ok(text) => crate::output::out_text(&text),
            Err(e) => {
                crate::warn_user!("slate: {e}");
                return 1;
            }
        }
        return 0;
    }
    for line in status_lines(state_dir, &active, true) {
        crate::say!("{line}");
    }
    elsewhere(state_dir)
}

/// With a team store: the runs other machines' engines drive now, and how
/// to follow one from here. 1 when the team store cannot say.
fn elsewhere(state_dir: &Path) -> i32 {
    let team = match crate::store::postgres::configured(&crate::paths::config_dir()) {
        Ok(Some(t)) => t,
        Ok(None) => return 0,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    let origin = crate::store::postgres::origin(state_dir);
    match crate::store::postgres::reader::elsewhere(&team, &origin) {
        Ok(runs) if runs.is_empty() => 0,
        Ok(runs) => {
            crate::say!("");
            crate::say!("on other machines:");
            for r in runs {
                let what = match (&r.release, &r.version) {
                    (Some(rel), Some(v)) => format!("{rel} {v}"),
                    _ => "(not indexed yet)".to_string(),
                };
                let lapsed =
                    if r.renewed as u64 >= crate::store::postgres::journal::LEASE_TTL.as_secs() {
                        " — its lease has lapsed: its engine may be gone"
                    } else {
                        ""
                    };
                crate::say!(
                    "{}  {what}  on {} (lease renewed {}s ago){lapsed}  — slate attach {} follows it",
                    r.run_id,
                    r.origin,
                    r.renewed,
                    r.run_id
                );
            }
            0
        }
        Err(e) => {
            crate::warn_user!("slate: the team store: {e}");
            1
        }
    }
}

/// `slate status`'s text for these active runs. `elapsed`: say how long a
/// gate has waited (a watcher leaves it out, or its text would change every
/// second with nothing else changing).
pub fn status_lines(state_dir: &Path, active: &[runs::ActiveRun], elapsed: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(store) = super::ledger::open(state_dir) {
        match super::ledger::read(store.as_ref(), None, None, Some(1)) {
            Ok(ledger) if !ledger.is_empty() => {
                out.push("live:".to_string());
                for e in &ledger {
                    let mut line = format!("  {} {}", e.release, super::ledger::live_line(e));
                    if !e.drift.is_empty() {
                        line.push_str("  ! drift (see slate ledger)");
                    }
                    out.push(line);
                }
                out.push(String::new());
            }
            Ok(_) => {}
            Err(e) => crate::warn_user!("slate: {e}"),
        }
    }
    let stale = crate::stopline::stale_locks(state_dir);
    if active.is_empty() {
        out.push("no active runs".to_string());
    }
    let now = jiff::Timestamp::now();
    for r in active {
        let status = match r.engine {
            runs::Engine::Running => r.status.clone(),
            runs::Engine::Lingering => format!("{} (its engine still answers)", r.status),
            runs::Engine::Interrupted => format!("interrupted (was {})", r.status),
        };
        let mut line = format!("{}  {} {}  {status}", r.run_id, r.release, r.version);
        if let Some(env) = &r.environment {
            line.push_str(&format!("  in {env}"));
        }
        if let Some(w) = &r.waiting {
            line.push_str(&format!(
                "  gate {} ({} of {} approvals) waiting since {}",
                w.gate,
                w.approvals,
                w.required,
                w.since.strftime("%H:%M:%S"),
            ));
            if elapsed {
                let waited = now.duration_since(w.since).unsigned_abs().as_secs();
                line.push_str(&format!(
                    " ({})",
                    humantime::format_duration(std::time::Duration::from_secs(waited))
                ));
            }
        }
        if let Some(h) = &r.held_back {
            line.push_str(&format!("  waiting: {h}"));
        }
        match &r.recover {
            Some(recover) => line.push_str(&format!("  — {recover}")),
            None => {
                line.push_str(&format!("  pid {}", r.pid));
                if r.socket.is_none() {
                    line.push_str("  (no control socket)");
                }
            }
        }
        out.push(line);
    }
    for l in stale {
        out.push(format!("stale lock: {l}"));
    }
    out
}
