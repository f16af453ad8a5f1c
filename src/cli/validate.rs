//! `slate validate PLAN`: a summary and exit 0, or every problem and exit 2.

use std::path::Path;

use crate::plan::{self, GateKind, steps::env_steps};

pub fn run(path: &Path, set: &[(String, String)], state_dir: &Path) -> i32 {
    match plan::load_file_with(path, set) {
        Ok(p) => {
            crate::say!(
                "{}: ok — {} {} (replacing {}), owner {}",
                path.display(),
                p.release.name,
                p.release.version,
                p.release.previous_version,
                p.release.owner
            );
            for v in &p.vars {
                let value = p.release.vars.iter().find(|(k, _)| k == &v.name);
                let from = if p.set.iter().any(|(k, _)| k == &v.name) {
                    "--set"
                } else {
                    "default"
                };
                match value {
                    Some((_, x)) => crate::say!("  var {} = {x} ({from})", v.name),
                    None => crate::say!("  var {} has no value (unused)", v.name),
                }
            }
            for (i, env) in p.environments.iter().enumerate() {
                let steps = env_steps(&p, i);
                let manual = steps
                    .iter()
                    .filter(|s| match s.kind {
                        plan::steps::StepKind::Gate { gate } => {
                            matches!(p.gates[gate].kind, GateKind::Manual { .. })
                        }
                        _ => false,
                    })
                    .count();
                let deltas = p.config_deltas(i).len();
                let four_eyes = if env.approval.four_eyes {
                    ", four-eyes"
                } else {
                    ""
                };
                crate::say!(
                    "  {:<10} {:<12} {:>2} steps, {} manual gate(s), {} config delta(s){four_eyes}",
                    env.name,
                    env.strategy.name(),
                    steps.len(),
                    manual,
                    deltas
                );
            }
            crate::say!("  {} stages, {} gates", p.stages.len(), p.gates.len());
            if !p.artifacts.is_empty() {
                let names: Vec<&str> = p.artifacts.iter().map(|a| a.name.as_str()).collect();
                crate::say!(
                    "  {} artifact(s), digests checked before every environment: {}",
                    names.len(),
                    names.join(", ")
                );
            }
            // Known timing against known freezes (the plan's and the team's).
            let mut windows = p.windows.clone();
            match crate::stopline::config::load(&crate::paths::config_dir()) {
                Ok(team) => windows.extend(team.windows),
                Err(e) => e
                    .lines()
                    .iter()
                    .for_each(|l| crate::warn_user!("warning: {l}")),
            }
            for w in crate::stopline::timing::crossings(&p, &windows, jiff::Timestamp::now()) {
                crate::warn_user!("warning: {w}");
            }
            for w in pinned(&p, state_dir) {
                crate::warn_user!("warning: {w}");
            }
            0
        }
        Err(e) => {
            for line in e.lines() {
                crate::warn_user!("{line}");
            }
            2
        }
    }
}

/// Environments of the plan a rollback to a known-good version pinned: a
/// run would stop before them without `--unpin`. Only an existing store is
/// asked (validate creates nothing); one that cannot be read says nothing.
fn pinned(p: &plan::Plan, state_dir: &Path) -> Vec<String> {
    let team = crate::store::postgres::configured(&crate::paths::config_dir())
        .ok()
        .flatten()
        .is_some();
    if !team && !state_dir.join(crate::store::STORE_FILE).is_file() {
        return Vec::new();
    }
    let Ok(opened) = crate::store::open(state_dir) else {
        return Vec::new();
    };
    p.environments
        .iter()
        .filter_map(|e| {
            let pin = opened.store.pin(&p.release.name, &e.name).ok().flatten()?;
            Some(format!(
                "{}; a run of this plan stops before {} unless started with --unpin REASON",
                pin.describe(&e.name),
                e.name
            ))
        })
        .collect()
}
