//! What a promotion changes against what is live in its environment
//! according to the ledger — not against the plan's `previous_version` or
//! the environment before it: version → version, artifact digests, config
//! keys, secret *names* (never values), the plan's own shape there
//! (strategy and steps), and the commits between the versions when the plan
//! names a repository.
//!
//! The engine journals one [`Change`] per environment it enters
//! (`Event::EnvChange`), worked out while it holds the environment's deploy
//! lock, so nobody can change what is live there before its gates are
//! decided; every reader (the approval dialog of the cockpit and the board,
//! `slate approve --show`, the `gate_waiting` webhook, the dossier, replay)
//! then says the same thing from the journal alone. Finding what is live
//! needs the store and the live run's journal: the composition root's
//! admission reads them into a [`Baseline`]; this module only compares.

pub mod lines;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::plan::Plan;

pub use lines::{Mark, Row, headline, rows, summary};

/// Commits journaled at most; a longer range says how many were left out.
pub const MAX_COMMITS: usize = 30;

/// One environment of a plan, as far as a change is told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// The environment's effective config, in plan order.
    pub config: Vec<(String, String)>,
    /// Names of the secrets the environment's stages are given, sorted.
    pub secrets: Vec<String>,
    /// The strategy in one phrase ("canary 10%, 50%, 100%"; no arrows, which
    /// the diff uses between the old phrase and the new).
    pub strategy: String,
    /// The steps the engine walks there, by label, in order.
    pub steps: Vec<String>,
}

/// The shape of environment `env` of `plan`.
pub fn shape(plan: &Plan, env: usize) -> Shape {
    let Some(e) = plan.environments.get(env) else {
        return Shape::default();
    };
    let mut secrets: Vec<String> = plan
        .stages
        .iter()
        .filter(|s| s.applies_to(&e.name))
        .flat_map(|s| s.secrets.iter().cloned())
        .collect();
    secrets.sort();
    secrets.dedup();
    Shape {
        config: e.config.clone(),
        secrets,
        strategy: strategy(&e.strategy),
        steps: crate::plan::steps::env_steps(plan, env)
            .into_iter()
            .map(|s| s.label)
            .collect(),
    }
}

fn strategy(s: &crate::plan::Strategy) -> String {
    use crate::plan::Strategy;
    match s {
        Strategy::AllAtOnce => "all-at-once".into(),
        Strategy::Rolling { batches, .. } => format!("rolling in {batches} batches"),
        Strategy::Canary { weights, .. } => format!(
            "canary {}",
            weights
                .iter()
                .map(|w| format!("{w}%"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Strategy::BlueGreen { color, .. } => format!("blue-green onto {color}"),
    }
}

/// What the ledger says is live in an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub version: String,
    /// The run that put it live there.
    pub run_id: String,
    pub since: Option<Timestamp>,
    /// Each artifact's digest as recorded when it went live.
    pub artifacts: Vec<(String, Option<String>)>,
    /// The environment as the live run's plan had it, or why that plan
    /// cannot be read (its journal is gone, or its plan no longer loads).
    pub shape: Result<Shape, String>,
}

/// What the engine learns before it enters an environment.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Nobody was asked (an engine without a store, in tests): no record.
    NotAsked,
    /// The store could not say: the change is journaled as unknown, with why.
    Unknown(String),
    /// What is live there, if anything, and how the newest run into the
    /// environment left it when it stopped part-way (drift).
    Known {
        live: Option<Live>,
        drift: Option<String>,
    },
}

/// The version live in the environment when the change was worked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveVersion {
    pub version: String,
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

/// How one artifact compares with the live version's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactState {
    Same,
    Changed,
    /// The live version had no such artifact.
    Added,
    /// The live version had it; this release does not.
    Removed,
    /// One side's digest could not be computed or was not recorded.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactChange {
    pub name: String,
    pub state: ArtifactState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// A config key added (`live` none), removed (`new` none) or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChange {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// The commits between the live version and this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commits {
    /// `LIVE..NEW` as given to git.
    pub range: String,
    /// `git log --oneline` lines, at most [`MAX_COMMITS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// How many more the range has.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more: usize,
    /// Why none are listed (a version that is not a ref there, no git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What promoting into one environment changes, as journaled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The version this run takes there.
    pub version: String,
    /// What is live there; none when the ledger has nothing live (the
    /// first release into it) or could not say (`unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveVersion>,
    /// The newest run into the environment stopped part-way: it may run a mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<String>,
    /// Why nothing could be compared: the store could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<KeyChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_added: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_removed: Vec<String>,
    /// The plan's own changes there: `~ strategy: A → B`, `+ step X`, `- step Y`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
    /// Why config, secrets and the plan were not compared (the live run's
    /// plan could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_unknown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Commits>,
}

impl Change {
    /// Nothing to compare with: the first release into the environment.
    pub fn first(&self) -> bool {
        self.live.is_none() && self.unknown.is_none()
    }
}

/// Compares this run's environment (`now`, and the artifact digests it
/// checked before entering) with what `baseline` says is live. `None` when
/// nobody was asked.
pub fn between(
    version: &str,
    baseline: &Baseline,
    now: &Shape,
    artifacts: &[(String, Option<String>)],
) -> Option<Change> {
    let mut c = Change {
        version: version.to_string(),
        ..Change::default()
    };
    match baseline {
        Baseline::NotAsked => return None,
        Baseline::Unknown(why) => {
            c.unknown = Some(why.clone());
            return Some(c);
        }
        Baseline::Known { live: None, drift } => {
            c.drift = drift.clone();
            // The first release there: everything it brings is new.
            c.artifacts = artifacts
                .iter()
                .map(|(name, d)| ArtifactChange {
                    name: name.clone(),
                    state: ArtifactState::Added,
                    live: None,
                    new: d.clone(),
                })
                .collect();
            c.config = keys(&[], &now.config);
            c.secrets_added = now.secrets.clone();
        }
        Baseline::Known {
            live: Some(live),
            drift,
        } => {
            c.drift = drift.clone();
            c.live = Some(LiveVersion {
                version: live.version.clone(),
                run_id: live.run_id.clone(),
                since: live.since,
            });
            c.artifacts = compare_artifacts(&live.artifacts, artifacts);
            match &live.shape {
                Ok(was) => {
                    c.config = keys(&was.config, &now.config);
                    c.secrets_added = minus(&now.secrets, &was.secrets);
                    c.secrets_removed = minus(&was.secrets, &now.secrets);
                    c.plan = plan_changes(was, now);
                }
                Err(why) => c.plan_unknown = Some(why.clone()),
            }
        }
    }
    Some(c)
}

fn compare_artifacts(
    live: &[(String, Option<String>)],
    now: &[(String, Option<String>)],
) -> Vec<ArtifactChange> {
    let mut out: Vec<ArtifactChange> = now
        .iter()
        .map(|(name, new)| {
            let was = live.iter().find(|(n, _)| n == name);
            let state = match (was, new) {
                (None, _) => ArtifactState::Added,
                (Some((_, Some(a))), Some(b)) if a == b => ArtifactState::Same,
                (Some((_, Some(_))), Some(_)) => ArtifactState::Changed,
                _ => ArtifactState::Unknown,
            };
            ArtifactChange {
                name: name.clone(),
                state,
                live: was.and_then(|(_, d)| d.clone()),
                new: new.clone(),
            }
        })
        .collect();
    for (name, d) in live {
        if !now.iter().any(|(n, _)| n == name) {
            out.push(ArtifactChange {
                name: name.clone(),
                state: ArtifactState::Removed,
                live: d.clone(),
                new: None,
            });
        }
    }
    out
}

/// Config keys added, changed and removed, in the new plan's order, the
/// removed ones last.
fn keys(was: &[(String, String)], now: &[(String, String)]) -> Vec<KeyChange> {
    let find = |set: &[(String, String)], k: &str| {
        set.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    };
    let mut out: Vec<KeyChange> = now
        .iter()
        .filter_map(|(k, v)| match find(was, k) {
            Some(old) if &old == v => None,
            old => Some(KeyChange {
                key: k.clone(),
                live: old,
                new: Some(v.clone()),
            }),
        })
        .collect();
    out.extend(
        was.iter()
            .filter(|(k, _)| find(now, k).is_none())
            .map(|(k, v)| KeyChange {
                key: k.clone(),
                live: Some(v.clone()),
                new: None,
            }),
    );
    out
}

fn minus(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

/// The strategy if it changed, then the steps added and removed, by a
/// line diff of the two step lists (`similar`, the diff insta already
/// brings in), so a step moved shows as one removal and one addition.
fn plan_changes(was: &Shape, now: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    if was.strategy != now.strategy {
        out.push(format!("~ strategy: {} → {}", was.strategy, now.strategy));
    }
    let old: Vec<&str> = was.steps.iter().map(String::as_str).collect();
    let new: Vec<&str> = now.steps.iter().map(String::as_str).collect();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
        match op {
            similar::DiffOp::Equal { .. } => {}
            similar::DiffOp::Delete {
                old_index, old_len, ..
            } => out.extend(
                old[old_index..old_index + old_len]
                    .iter()
                    .map(|s| format!("- step {s}")),
            ),
            similar::DiffOp::Insert {
                new_index, new_len, ..
            } => out.extend(
                new[new_index..new_index + new_len]
                    .iter()
                    .map(|s| format!("+ step {s}")),
            ),
            similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                out.extend(
                    old[old_index..old_index + old_len]
                        .iter()
                        .map(|s| format!("- step {s}")),
                );
                out.extend(
                    new[new_index..new_index + new_len]
                        .iter()
                        .map(|s| format!("+ step {s}")),
                );
            }
        }
    }
    out
}

/// Splits `git log --oneline` lines into what is journaled and how many more.
pub fn commits(range: String, log: Result<Vec<String>, String>) -> Commits {
    match log {
        Ok(mut lines) => {
            // `git::log` ends a long log with its own "… and N more" line.
            let mut more = 0;
            if let Some(last) = lines.last()
                && let Some(n) = last
                    .strip_prefix("… and ")
                    .and_then(|r| r.strip_suffix(" more commits"))
                    .and_then(|n| n.parse::<usize>().ok())
            {
                more = n;
                lines.pop();
            }
            if lines.len() > MAX_COMMITS {
                more += lines.len() - MAX_COMMITS;
                lines.truncate(MAX_COMMITS);
            }
            Commits {
                range,
                lines,
                more,
                error: None,
            }
        }
        Err(e) => Commits {
            range,
            lines: Vec::new(),
            more: 0,
            error: Some(e),
        },
    }
}

#[cfg(test)]
mod tests;
