//! The release plan: what to deploy, where, in which order, behind which gates.
//!
//! `load` turns TOML text into a [`Plan`] or a list of located problems;
//! `steps` expands one environment of a plan into the flat list the engine walks.

pub mod diagnostic;
mod load;
pub mod reader;
pub mod steps;

use std::path::PathBuf;
use std::time::Duration;

pub use diagnostic::{Diagnostic, PlanErrors};
pub use load::{load_file, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The text the plan was parsed from, journaled with the run so the record stands alone.
    pub source: String,
    /// Directory that relative `cwd`s are resolved against (the plan file's).
    pub base_dir: PathBuf,
    pub release: Release,
    pub environments: Vec<Environment>,
    pub stages: Vec<Stage>,
    pub gates: Vec<Gate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub name: String,
    pub version: String,
    pub previous_version: String,
    pub owner: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    /// Config values in source order, rendered as text, for the matrix's deltas.
    pub config: Vec<(String, String)>,
    pub approval: ApprovalPolicy,
    pub strategy: Strategy,
    /// Gates that must pass before the environment starts.
    pub gates: Vec<String>,
    /// Check run after a rollback to confirm the environment is back on the stable version.
    pub verify_rollback: Option<Check>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalPolicy {
    pub required: u32,
    /// OS user names allowed to approve; empty means anyone.
    pub approvers: Vec<String>,
    pub require_comment: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            required: 1,
            approvers: Vec::new(),
            require_comment: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    AllAtOnce,
    Rolling {
        batches: u32,
        between: Between,
    },
    Canary {
        weights: Vec<u32>,
        between: Between,
    },
    BlueGreen {
        /// Colour the new version is deployed to (the idle one).
        color: String,
        /// Colour that serves now and is kept until promotion is confirmed.
        old_color: String,
        switch: String,
        retire: Option<String>,
        /// Gate between the switch and retiring the old colour.
        confirm: Option<String>,
    },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::AllAtOnce => "all-at-once",
            Strategy::Rolling { .. } => "rolling",
            Strategy::Canary { .. } => "canary",
            Strategy::BlueGreen { .. } => "blue-green",
        }
    }
}

/// What separates two steps of a rolling or canary rollout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Between {
    pub pause: Option<Duration>,
    pub gate: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Preflight,
    Build,
    Publish,
    Config,
    Migrate,
    Restart,
    Smoke,
    Custom,
}

impl StageKind {
    pub const NAMES: [&'static str; 8] = [
        "preflight",
        "build",
        "publish",
        "config",
        "migrate",
        "restart",
        "smoke",
        "custom",
    ];

    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "preflight" => Self::Preflight,
            "build" => Self::Build,
            "publish" => Self::Publish,
            "config" => Self::Config,
            "migrate" => Self::Migrate,
            "restart" => Self::Restart,
            "smoke" => Self::Smoke,
            "custom" => Self::Custom,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub kind: StageKind,
    pub owner: String,
    pub command: String,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    pub rollback: Option<String>,
    pub irreversible: bool,
    /// Safe to run again after a crash without asking (used by recovery).
    pub idempotent: bool,
    /// The stage the environment's rollout strategy repeats (per batch, weight or colour).
    pub rollout: bool,
    /// Environments the stage runs in; `None` means all.
    pub environments: Option<Vec<String>>,
    /// Gates that must pass after the stage.
    pub gates_after: Vec<String>,
}

impl Stage {
    pub fn applies_to(&self, env: &str) -> bool {
        self.environments
            .as_ref()
            .is_none_or(|envs| envs.iter().any(|e| e == env))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub name: String,
    pub kind: GateKind,
    /// A gate still undecided after this long fails closed.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GateKind {
    Manual {
        require_comment: bool,
        /// Overrides the environment's required approvals.
        approvals: Option<u32>,
    },
    Soak {
        wait: Duration,
    },
    Check {
        check: Check,
        retries: u32,
        interval: Duration,
    },
}

impl GateKind {
    pub fn name(&self) -> &'static str {
        match self {
            GateKind::Manual { .. } => "manual",
            GateKind::Soak { .. } => "soak",
            GateKind::Check { .. } => "check",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Command {
        command: String,
        timeout: Duration,
    },
    Http {
        url: String,
        method: String,
        expect_status: u16,
        contains: Option<String>,
        timeout: Duration,
    },
}

impl Check {
    pub fn describe(&self) -> String {
        match self {
            Check::Command { command, .. } => format!("command `{command}`"),
            Check::Http {
                url,
                method,
                expect_status,
                ..
            } => format!("{method} {url} expects {expect_status}"),
        }
    }
}

impl Plan {
    pub fn env_index(&self, name: &str) -> Option<usize> {
        self.environments.iter().position(|e| e.name == name)
    }

    pub fn gate(&self, name: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.name == name)
    }

    /// Config keys added, changed and removed against the previous environment.
    pub fn config_deltas(&self, env: usize) -> Vec<ConfigDelta> {
        let cur = &self.environments[env].config;
        let prev: &[(String, String)] = if env == 0 {
            &[]
        } else {
            &self.environments[env - 1].config
        };
        let mut out = Vec::new();
        for (k, v) in cur {
            match prev.iter().find(|(pk, _)| pk == k) {
                None => out.push(ConfigDelta::Added(k.clone(), v.clone())),
                Some((_, pv)) if pv != v => {
                    out.push(ConfigDelta::Changed(k.clone(), pv.clone(), v.clone()))
                }
                _ => {}
            }
        }
        for (k, v) in prev {
            if !cur.iter().any(|(ck, _)| ck == k) {
                out.push(ConfigDelta::Removed(k.clone(), v.clone()));
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigDelta {
    Added(String, String),
    Changed(String, String, String),
    Removed(String, String),
}
