//! Preparing a rollback to a known-good version (`slate rollback --to
//! VERSION --env ENV`): the ledger says which run put VERSION live in ENV;
//! that run's journal holds the plan it ran (`RunStarted.plan_source`, its
//! masked values read back from the plan file as a recovery does); the new
//! run walks that plan cut down to ENV (`plan::rollback_to`). Nothing here
//! needs the old run's engine: only its journal and the store.

use std::path::Path;

use super::assemble::Failure;
use crate::engine::event::{Event, RollbackTo};
use crate::plan::Plan;
use crate::store::{Place, Reach, Store};

/// What `slate rollback --to` asked for.
#[derive(Debug, Clone)]
pub struct Ask {
    pub version: String,
    pub env: String,
    pub release: Option<String>,
    pub reason: String,
}

/// The plan to run, the record saying what it restores, and the plan path
/// the old run started from (stage directories are relative to it).
pub struct Prepared {
    pub plan: Plan,
    pub to: RollbackTo,
    pub plan_path: String,
}

fn refuse(line: String) -> Failure {
    Failure {
        lines: vec![format!("slate: {line}")],
        code: crate::exit::NOT_RELEASED,
    }
}

fn shown(s: &str) -> String {
    crate::text::neutral::line(s).into_owned()
}

pub fn prepare(ask: &Ask, state_dir: &Path) -> Result<Prepared, Failure> {
    if ask.reason.trim().is_empty() {
        return Err(Failure {
            lines: vec!["slate: a rollback needs a reason: --reason \"why\"".into()],
            code: crate::exit::USAGE,
        });
    }
    let opened = crate::store::open(state_dir).map_err(|e| refuse(e.to_string()))?;
    let store = opened.store;
    crate::store::sync::sync(store.as_ref(), state_dir).map_err(|e| refuse(e.to_string()))?;
    let place = place(store.as_ref(), ask)?;
    let history = store
        .history(&place, None)
        .map_err(|e| refuse(e.to_string()))?;
    let live = store.live(&place).map_err(|e| refuse(e.to_string()))?;
    // Versions that went live there, newest first, each once.
    let mut known: Vec<String> = Vec::new();
    for d in history.iter().filter(|d| d.reach == Reach::Deployed) {
        if !known.contains(&d.version) {
            known.push(d.version.clone());
        }
    }
    let knows = || {
        if known.is_empty() {
            "none".to_string()
        } else {
            known
                .iter()
                .map(|v| match &live {
                    Some(l) if &l.version == v => format!("{} (live now)", shown(v)),
                    _ => shown(v),
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let Some(good) = history
        .iter()
        .find(|d| d.version == ask.version && d.reach == Reach::Deployed)
    else {
        let never = if history.iter().any(|d| d.version == ask.version) {
            "never went live"
        } else {
            "is not in the ledger"
        };
        return Err(refuse(format!(
            "version {} {never} in {} of release {}; versions that went live there: {}",
            shown(&ask.version),
            shown(&place.env),
            shown(&place.release),
            knows()
        )));
    };
    if let Some(l) = &live
        && l.version == ask.version
    {
        return Err(refuse(format!(
            "version {} is live in {} now (run {}); nothing to roll back to",
            shown(&ask.version),
            shown(&place.env),
            l.run_id
        )));
    }
    let run_dir = crate::runs::find_run(state_dir, &good.run_id).map_err(|e| {
        refuse(format!(
            "the run that put {} live in {}, {}, has no journal here ({e})",
            shown(&ask.version),
            shown(&place.env),
            good.run_id
        ))
    })?;
    let journal = run_dir.join(crate::journal::JOURNAL_FILE);
    let read = crate::journal::read_journal(&journal)
        .map_err(|e| refuse(format!("cannot read {}: {e}", journal.display())))?;
    let plan_path = match read.records.first().map(|r| &r.event) {
        Some(Event::RunStarted { plan_path, .. }) => plan_path.clone(),
        _ => return Err(refuse(format!("{} has no run_started", journal.display()))),
    };
    let plan = match crate::runs::recorded_plan(&read.records) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return Err(refuse(format!(
                "the plan of run {} no longer loads: {}",
                good.run_id,
                e.lines().join("; ")
            )));
        }
        None => return Err(refuse(format!("{} has no plan", journal.display()))),
    };
    let (plan, _) = crate::engine::unseal(plan, &read.records)
        .map_err(|why| refuse(format!("cannot use the plan of run {}: {why}", good.run_id)))?;
    let approval = plan
        .environments
        .iter()
        .find(|e| e.name == place.env)
        .is_some_and(|e| e.rollback_approval);
    let to = RollbackTo {
        env: place.env.clone(),
        env_index: good.env_index,
        from_run: good.run_id.clone(),
        replacing: live.map(|l| l.version).unwrap_or_default(),
        reason: ask.reason.clone(),
        approval,
        artifacts: good
            .artifacts
            .iter()
            .filter_map(|a| a.digest.clone().map(|d| (a.name.clone(), d)))
            .collect(),
    };
    let plan = crate::plan::rollback_to::cut(plan, &to).map_err(refuse)?;
    Ok(Prepared {
        plan,
        to,
        plan_path,
    })
}

/// The one place (release × ENV) the ledger knows.
fn place(store: &dyn Store, ask: &Ask) -> Result<Place, Failure> {
    let all = store
        .places(ask.release.as_deref())
        .map_err(|e| refuse(e.to_string()))?;
    let matching: Vec<&Place> = all.iter().filter(|p| p.env == ask.env).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let envs: Vec<String> = all.iter().map(|p| shown(&p.env)).collect();
            Err(refuse(format!(
                "the ledger knows no environment {}{} (it knows: {})",
                shown(&ask.env),
                ask.release
                    .as_deref()
                    .map(|r| format!(" of release {}", shown(r)))
                    .unwrap_or_default(),
                if envs.is_empty() {
                    "none".into()
                } else {
                    envs.join(", ")
                }
            )))
        }
        many => Err(Failure {
            lines: vec![format!(
                "slate: several releases have an environment {}: {}; say which with --release",
                shown(&ask.env),
                many.iter()
                    .map(|p| shown(&p.release))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            code: crate::exit::USAGE,
        }),
    }
}
