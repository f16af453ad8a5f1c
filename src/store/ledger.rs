//! The release ledger: per release (the service) × environment, every
//! version a run took into that environment, derived from the run's state.
//! A run contributes one [`Deployment`] per environment it entered; how a
//! live version later left (superseded by a newer one) is not stored but
//! worked out when the ledger is read ([`annotate`]), so a ledger built
//! record by record and one rebuilt from the journals are the same rows.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::event::{ApprovalSource, EnvOutcome, RunOutcome};
use crate::engine::state::{EnvStatus, RunState};

/// Where one run's version got to in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Deployed and not undone by its own run: live until something newer is.
    Deployed,
    /// Deployed (or part-deployed), then rolled back to what was there before.
    RolledBack,
    /// Stopped part-way and left so: the environment may run a mix.
    Held,
    /// The run ended failed inside the environment.
    Failed,
    /// The run is still inside the environment.
    InProgress,
    /// The run's engine died inside the environment (`slate recover` takes it over).
    Interrupted,
}

impl Reach {
    pub fn word(self) -> &'static str {
        match self {
            Reach::Deployed => "deployed",
            Reach::RolledBack => "rolled back",
            Reach::Held => "held",
            Reach::Failed => "failed",
            Reach::InProgress => "in progress",
            Reach::Interrupted => "interrupted",
        }
    }

    /// Stored in the store as this name.
    pub fn key(self) -> &'static str {
        match self {
            Reach::Deployed => "deployed",
            Reach::RolledBack => "rolled_back",
            Reach::Held => "held",
            Reach::Failed => "failed",
            Reach::InProgress => "in_progress",
            Reach::Interrupted => "interrupted",
        }
    }

    pub fn from_key(key: &str) -> Option<Reach> {
        [
            Reach::Deployed,
            Reach::RolledBack,
            Reach::Held,
            Reach::Failed,
            Reach::InProgress,
            Reach::Interrupted,
        ]
        .into_iter()
        .find(|r| r.key() == key)
    }

    /// The run stopped inside the environment and left it neither on the
    /// old version nor the new one, as far as Slate knows: drift.
    pub fn part_way(self) -> bool {
        matches!(self, Reach::Held | Reach::Failed | Reach::Interrupted)
    }
}

/// The approval "how" of a rollback to a known-good version (`slate rollback --to`).
pub const ROLLBACK_HOW: &str = "rollback";

/// The approval "how" of a break-glass into the environment: who broke the
/// glass, with their reason (gate `break-glass`).
pub const BREAK_GLASS_HOW: &str = "break_glass";

/// The approval "how" of the second person who approved a break-glass.
pub const BREAK_GLASS_APPROVED_HOW: &str = "break_glass_approved";

/// One artifact's digest as the run checked it before the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDigest {
    pub name: String,
    /// None when it could not be computed.
    pub digest: Option<String>,
}

/// Who approved the environment's gates, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerApproval {
    pub gate: String,
    pub user: String,
    /// `comment` (decided at the gate), `pre_approved` (`--approve`),
    /// `auto_approved`, `rollback` (ordered by `slate rollback --to`, with its reason),
    /// `break_glass` (crossed a freeze or a hold into the environment, with
    /// its reason), `break_glass_approved` (the second person's approval of it).
    pub how: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    pub at: Timestamp,
}

/// An evidence or analysis verdict the version passed (or did not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerVerdict {
    /// `analysis`, or the evidence kind (`junit`, `coverage`, `sarif`, `command`).
    pub kind: String,
    pub name: String,
    /// `passed`, `failed`, `inconclusive`.
    pub verdict: String,
}

/// How a version left its environment, worked out when the ledger is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Left {
    /// `superseded`, `superseded_by_rollback`, `rolled_back`, `held`, `failed`, `interrupted`.
    pub how: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

/// One version's visit to one environment of one release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub release: String,
    pub env: String,
    /// The environment's place in the plan, to list environments in order.
    pub env_index: u32,
    pub version: String,
    pub run_id: String,
    pub reach: Reach,
    pub started: Option<Timestamp>,
    /// When it went live (the environment finished deployed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_at: Option<Timestamp>,
    /// When its run finished with the environment otherwise (rolled back, held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Timestamp>,
    #[serde(default)]
    pub artifacts: Vec<ArtifactDigest>,
    /// sha256 of the environment's effective config (`key=value` lines, in order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    #[serde(default)]
    pub approvals: Vec<LedgerApproval>,
    #[serde(default)]
    pub verdicts: Vec<LedgerVerdict>,
    /// Why it was rolled back, when it was.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The config digest of each environment of a plan, in plan order.
pub fn config_digests(plan: &crate::plan::Plan) -> Vec<Option<String>> {
    plan.environments
        .iter()
        .map(|e| Some(config_digest(&e.config)))
        .collect()
}

/// sha256 over `key=value\n` lines: the same config gives the same digest.
pub fn config_digest(config: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    for (k, v) in config {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    let bytes = h.finalize();
    let mut out = String::from("sha256:");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What a run put into each environment it entered. `alive` says whether
/// its engine still runs (an unfinished run without one is interrupted);
/// `configs` are the plan's config digests by environment index.
pub fn deployments(state: &RunState, alive: bool, configs: &[Option<String>]) -> Vec<Deployment> {
    let mut out = Vec::new();
    for (i, env) in state.envs.iter().enumerate() {
        let reach = match env.status {
            EnvStatus::Pending => continue,
            EnvStatus::Done(EnvOutcome::Deployed) => Reach::Deployed,
            EnvStatus::Done(EnvOutcome::RolledBack) => Reach::RolledBack,
            EnvStatus::Done(EnvOutcome::Held) => Reach::Held,
            _ => match state.outcome {
                None if alive => Reach::InProgress,
                None => Reach::Interrupted,
                Some(RunOutcome::Held) => Reach::Held,
                Some(_) => Reach::Failed,
            },
        };
        let artifacts = state
            .artifacts
            .iter()
            .map(|a| ArtifactDigest {
                name: a.name.clone(),
                digest: a
                    .before(i)
                    .and_then(|c| c.found.clone())
                    .or_else(|| a.expected.clone()),
            })
            .collect();
        let approvals = env
            .approvals
            .iter()
            .map(|a| LedgerApproval {
                gate: a.gate.clone(),
                user: a.user.clone(),
                how: match a.source {
                    ApprovalSource::Operator => "comment",
                    ApprovalSource::PreApproved => "pre_approved",
                    ApprovalSource::AutoApproved => "auto_approved",
                }
                .to_string(),
                comment: a.comment.clone(),
                at: a.at,
            })
            .collect::<Vec<_>>();
        // A rollback to a known-good version is approved by whoever ordered
        // it, with their reason: its "how" says it was a rollback.
        let mut approvals = approvals;
        if let Some(to) = &state.rollback_to {
            approvals.insert(
                0,
                LedgerApproval {
                    gate: "rollback".into(),
                    user: state.started_by.clone(),
                    how: ROLLBACK_HOW.into(),
                    comment: to.reason.clone(),
                    at: state.started.unwrap_or_default(),
                },
            );
        }
        // A break-glass into the environment is how the version got past a
        // freeze or a hold: who broke the glass (and who approved it), why.
        for g in state.break_glass.iter().filter(|g| g.env == i) {
            approvals.push(LedgerApproval {
                gate: crate::engine::state::admission::GLASS_GATE.into(),
                user: g.user.clone(),
                how: BREAK_GLASS_HOW.into(),
                comment: g.reason.clone(),
                at: g.at,
            });
            if let Some((user, comment)) = &g.approved_by {
                approvals.push(LedgerApproval {
                    gate: crate::engine::state::admission::GLASS_GATE.into(),
                    user: user.clone(),
                    how: BREAK_GLASS_APPROVED_HOW.into(),
                    comment: comment.clone(),
                    at: g.at,
                });
            }
        }
        let mut verdicts: Vec<LedgerVerdict> = env
            .analyses
            .iter()
            .filter_map(|a| {
                a.verdict.as_ref().map(|v| LedgerVerdict {
                    kind: "analysis".into(),
                    name: a.name.clone(),
                    verdict: v.word().to_string(),
                })
            })
            .collect();
        for step in &env.steps {
            for ev in &step.evidence {
                verdicts.push(LedgerVerdict {
                    kind: ev.kind.word().to_string(),
                    name: ev.path.clone(),
                    verdict: if ev.ok { "passed" } else { "failed" }.into(),
                });
            }
        }
        let live_at = (reach == Reach::Deployed).then_some(env.finished).flatten();
        let ended = (reach != Reach::Deployed).then_some(env.finished).flatten();
        out.push(Deployment {
            release: state.release.clone(),
            env: env.name.clone(),
            // A rollback-to run's plan has its one environment; the ledger
            // keeps the place it has in the plan that deployed the version.
            env_index: state
                .rollback_to
                .as_ref()
                .map_or(i as u32, |to| to.env_index),
            version: state.version.clone(),
            run_id: state.run_id.clone(),
            reach,
            started: env.started.or(state.started),
            live_at,
            ended,
            artifacts,
            config_digest: configs.get(i).cloned().flatten(),
            approvals,
            verdicts,
            message: env.rollback_reason.clone().unwrap_or_default(),
        });
    }
    out
}

/// How each of `history` (one environment's, newest first) left: a
/// deployed version by the next deployed one, the others by what their
/// own run did. The newest deployed one has not left: it is live.
pub fn annotate(history: &[Deployment]) -> Vec<Option<Left>> {
    let mut newer_live: Option<&Deployment> = None;
    let mut out = Vec::with_capacity(history.len());
    for d in history {
        out.push(match d.reach {
            Reach::Deployed => newer_live.map(|n| Left {
                how: if n.approvals.iter().any(|a| a.how == ROLLBACK_HOW) {
                    "superseded_by_rollback"
                } else {
                    "superseded"
                },
                by_version: Some(n.version.clone()),
                by_run: Some(n.run_id.clone()),
                at: n.live_at,
            }),
            Reach::RolledBack => Some(Left {
                how: "rolled_back",
                by_version: None,
                by_run: None,
                at: d.ended,
            }),
            Reach::Held => Some(Left {
                how: "held",
                by_version: None,
                by_run: None,
                at: d.ended,
            }),
            Reach::Failed => Some(Left {
                how: "failed",
                by_version: None,
                by_run: None,
                at: d.ended,
            }),
            Reach::Interrupted => Some(Left {
                how: "interrupted",
                by_version: None,
                by_run: None,
                at: None,
            }),
            Reach::InProgress => None,
        });
        if d.reach == Reach::Deployed {
            newer_live = Some(d);
        }
    }
    out
}
