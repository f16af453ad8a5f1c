//! `slate store init` and `slate store import`: setting up a team store
//! (PostgreSQL, see `store::postgres`) and copying this machine's runs
//! into it. Both need a team store configured; the local store needs
//! neither (it is created and migrated on first use).

use std::path::Path;

use crate::store::postgres::members::{self, Level};
use crate::store::postgres::{self, TeamConfig};
use crate::store::{Store, rebuild};

/// What `slate store` is asked to do with the team store.
pub enum Verb {
    Init,
    Import,
    Grant {
        role: String,
        level: Level,
        person: String,
    },
    Revoke {
        role: String,
    },
    Members {
        json: bool,
    },
}

pub fn run(cmd: Verb, state_dir: &Path, config_dir: &Path) -> i32 {
    let team = match postgres::configured(config_dir) {
        Ok(Some(team)) => team,
        Ok(None) => {
            crate::warn_user!(
                "slate: no team store is configured: set `[store] url = \"postgres://…\"` in {} or ${}; \
                 the local store ({}) needs no setup",
                config_dir.join("config.toml").display(),
                postgres::config::ENV,
                state_dir.join(crate::store::STORE_FILE).display()
            );
            return crate::exit::USAGE;
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return crate::exit::USAGE;
        }
    };
    let result = match cmd {
        Verb::Init => init(&team),
        Verb::Import => import(&team, state_dir),
        Verb::Grant {
            role,
            level,
            person,
        } => grant(&team, &role, level, &person),
        Verb::Revoke { role } => revoke(&team, &role),
        Verb::Members { json } => list(&team, json),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            1
        }
    }
}

fn init(team: &TeamConfig) -> Result<(), String> {
    let done = postgres::init(team).map_err(|e| e.to_string())?;
    if done.from == done.to {
        crate::say!(
            "The team store {} is ready (schema {}; nothing to migrate).",
            done.shown,
            done.to
        );
    } else {
        crate::say!(
            "The team store {} is ready: schema {} → {}.",
            done.shown,
            done.from,
            done.to
        );
        crate::say!("`slate store import` copies this machine's runs into it.");
    }
    match &done.text_index {
        Ok(true) => {}
        Ok(false) => crate::say!(
            "pg_trgm is not installed on the server, or this role may not create it: a text filter in `slate history` reads every run (slower past tens of thousands)."
        ),
        Err(why) => crate::warn_user!(
            "slate: the text filter's index was not made ({why}); a text filter reads every run until `slate store init` makes it."
        ),
    }
    Ok(())
}

/// Derives every local run from its journal (the truth, not the local
/// index) and writes it; a run the team store holds from a later journal
/// record is left as it is.
fn import(team: &TeamConfig, state_dir: &Path) -> Result<(), String> {
    let store = postgres::PgStore::open(team, state_dir).map_err(|e| e.to_string())?;
    let stamp = crate::store::sync::runs_dir_stamp(state_dir);
    let (mut copied, mut newer) = (0usize, 0usize);
    let mut skipped = Vec::new();
    for (id, dir) in rebuild::run_dirs(state_dir) {
        match rebuild::summarise(&dir) {
            Ok(record) => {
                if store.put_run(&record).map_err(|e| e.to_string())? {
                    copied += 1;
                } else {
                    newer += 1;
                }
            }
            Err(e) => skipped.push(format!("run {id}: {e}")),
        }
    }
    crate::store::sync::mark_synced(&store, stamp.as_deref()).map_err(|e| e.to_string())?;
    for s in &skipped {
        crate::warn_user!("slate: warning: skipped {}", crate::text::neutral::line(s));
    }
    crate::say!(
        "Imported {copied} run{} from {} into the team store {}{}{}.",
        if copied == 1 { "" } else { "s" },
        crate::runs::runs_dir(state_dir).display(),
        team.shown(),
        if newer > 0 {
            format!("; {newer} it already held from a later record")
        } else {
            String::new()
        },
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; {} unreadable journal(s) skipped", skipped.len())
        }
    );
    Ok(())
}

// Names as the database has them may hold anything: `say!` neutralises
// every line it prints.

fn grant(team: &TeamConfig, role: &str, level: Level, person: &str) -> Result<(), String> {
    if role.trim().is_empty() || person.trim().is_empty() {
        return Err("a role and a person are names: neither may be empty".into());
    }
    members::grant(team, role, level, person)?;
    let what = match level {
        Level::Watch => "may watch the team's runs",
        Level::Steer => "may watch the team's runs and steer them",
        Level::Run => "may watch, steer and run releases",
    };
    crate::say!("Role {} ({}) {what} in {}.", role, person, team.shown());
    Ok(())
}

fn revoke(team: &TeamConfig, role: &str) -> Result<(), String> {
    if members::revoke(team, role)? {
        crate::say!("Role {} is no longer in the team.", role);
    } else {
        crate::say!(
            "Role {} was not a member; its rights in the team store are gone anyway.",
            role
        );
    }
    Ok(())
}

fn list(team: &TeamConfig, json: bool) -> Result<(), String> {
    let all = members::list(team)?;
    if json {
        // One line: `json_safe` escapes every control, a pretty layout's newlines too.
        let v = serde_json::to_string(&all).map_err(|e| e.to_string())?;
        crate::say!("{}", crate::cli::export::json_safe(&v));
        return Ok(());
    }
    if all.is_empty() {
        crate::say!("No members yet: `slate store grant ROLE watch|steer|run` lets a role in.");
        return Ok(());
    }
    for m in &all {
        crate::say!(
            "{:<20} {:<6} {:<20} granted by {} at {}",
            m.role,
            m.level,
            m.person,
            m.granted_by,
            m.granted_at
        );
    }
    Ok(())
}
