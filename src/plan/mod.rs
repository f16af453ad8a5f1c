//! The release plan: what to deploy, where, in which order, behind which gates.
//!
//! `load` turns TOML text into a [`Plan`] or a list of located problems;
//! `steps` expands one environment of a plan into the flat list the engine walks.

pub mod condition;
pub mod diagnostic;
mod load;
pub mod preview;
pub mod reader;
pub mod rollback_to;
pub mod sealed;
pub mod steps;
pub mod template;
pub mod vars;

use std::path::PathBuf;
use std::time::Duration;

pub use condition::{CmpOp, Condition};
pub use diagnostic::{Diagnostic, PlanErrors};
pub use load::schema;
pub use load::{load_file, load_file_with, parse, parse_sha256, parse_with};

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
    /// Named checks, used as smoke tests, health checks and by check gates.
    pub checks: Vec<NamedCheck>,
    pub metrics: Vec<Metric>,
    pub analyses: Vec<Analysis>,
    /// People to keep informed, for the dossier's communication plan.
    pub stakeholders: Vec<Stakeholder>,
    /// Where notifications are posted.
    pub channels: Vec<Channel>,
    pub communication: Communication,
    /// Where secret values live; resolved when the run starts, never stored.
    pub secrets: Vec<Secret>,
    /// What the release promotes, checked by digest before every environment.
    pub artifacts: Vec<Artifact>,
    /// An OS group that may enter the run besides its owner (`[access] group`).
    pub access: Option<String>,
    /// What `[vars]` declares.
    pub vars: Vec<Var>,
    /// The values given with `--set`, journaled with the run so the plan
    /// reads back the same.
    pub set: Vec<(String, String)>,
    /// Values that may carry credentials, where they are in `source` (see
    /// [`sealed`]): the text a run journals has them masked.
    pub sealed: Vec<sealed::Sealed>,
    /// `[[freezes]]` and `[[allow]]`: when the plan's environments may be
    /// promoted into (the user's config adds its own when the run starts).
    pub windows: crate::stopline::window::Windows,
}

/// A secret the plan refers to: the variable stages get, and where its value lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub name: String,
    pub source: SecretSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    /// `env:NAME`: a variable of the process that starts the run.
    Env(String),
    /// `file:PATH`: a file's contents (relative to the plan's directory).
    File(PathBuf),
    /// `cmd:COMMAND`: what a command prints (a secret manager's CLI).
    Command(String),
}

/// A build output promoted unchanged from environment to environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub name: String,
    pub source: ArtifactSource,
    /// The sha256 it must have (64 lowercase hex digits). Without it (only
    /// with a command) the first digest seen in the run is the one to match.
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactSource {
    /// A file hashed by Slate (relative paths from the plan's directory).
    File(PathBuf),
    /// A command that prints the digest (`sha256:<hex>` or `<hex>`), e.g. for a container image.
    Command { command: String, timeout: Duration },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub name: String,
    pub version: String,
    pub previous_version: String,
    pub owner: String,
    pub notes: String,
    /// What the release touches, in a line ("payments API and its workers").
    pub scope: String,
    /// A git repository whose `git log PREV..VERSION` joins the release notes.
    pub repository: Option<PathBuf>,
    /// How long a run waits for an environment another run (or a hold)
    /// has: `lock_wait = "30m"`. None: it is refused at once.
    pub lock_wait: Option<Duration>,
    /// Who may cross a freeze or a hold with `--break-glass` (users and
    /// `@groups`); empty: whoever may approve the environment.
    pub break_glass: Vec<String>,
    /// `break_glass_second = true`: a break-glass waits for the approval of
    /// someone other than whoever asked for it, whom the same policy allows.
    pub break_glass_second: bool,
    /// The plan's `[vars]` as this run has them (`--set`, else the default),
    /// for `${var.NAME}`.
    pub vars: Vec<(String, String)>,
}

/// A value a plan takes (`[vars]`): `${var.NAME}` wherever `${config.KEY}`
/// may appear, and `SLATE_VAR_NAME` for commands.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    pub default: Option<String>,
    pub description: String,
}

/// Someone who must hear about the release.
#[derive(Debug, Clone, PartialEq)]
pub struct Stakeholder {
    pub name: String,
    /// "approver", "informed", "support"…
    pub role: String,
    /// Where to reach them: a channel name, an address, a pager rotation.
    pub contact: String,
}

/// A webhook that hears about the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub name: String,
    pub format: ChannelFormat,
    /// May hold a token, so it is never shown or journaled.
    pub url: String,
    /// What this channel hears; empty means everything.
    pub events: Vec<NotifyKind>,
    pub timeout: Duration,
    /// Further attempts after a failed delivery.
    pub retries: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelFormat {
    /// A JSON object describing the event.
    Json,
    /// `{"text": …}`, which Slack-compatible incoming webhooks accept.
    Slack,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    RunStarted,
    GateWaiting,
    EnvPromoted,
    Rollback,
    Failure,
    Completed,
    /// The periodic status update during a long run.
    Status,
    /// A break-glass asked for, crossed, refused or rejected: told to every
    /// channel, whatever its `events`.
    BreakGlass,
}

impl NotifyKind {
    pub const NAMES: [&'static str; 8] = [
        "run_started",
        "gate_waiting",
        "env_promoted",
        "rollback",
        "failure",
        "completed",
        "status",
        "break_glass",
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// How the run keeps people informed beyond single events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Communication {
    /// A status update is posted this often while the run lasts.
    pub cadence: Option<Duration>,
    /// Who takes over once the release is out ("payments on-call, #payments-oncall").
    pub support: String,
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
    /// Production environments fail closed on an inconclusive analysis unless told otherwise.
    pub production: bool,
    pub on_inconclusive: OnInconclusive,
    /// Named checks run after every step of the rollout.
    pub health: Vec<String>,
    /// Analysis run once the environment's rollout is complete.
    pub analysis: Option<String>,
    /// `slate rollback --to` into this environment waits for an approval first.
    pub rollback_approval: bool,
}

/// What an inconclusive analysis (no data, NaN, unreachable source) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInconclusive {
    /// Pause the run and let an operator resume (continue) or roll back.
    Ask,
    /// Treat it as a failure: roll the environment back.
    Fail,
    /// Carry on, journaling that nothing was proven.
    Continue,
}

impl OnInconclusive {
    pub const NAMES: [&'static str; 3] = ["ask", "fail", "continue"];

    pub fn word(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalPolicy {
    pub required: u32,
    /// Who may approve, as written: OS user names, and OS groups as `@name`
    /// (primary or supplementary members); empty means anyone.
    pub approvers: Vec<String>,
    pub require_comment: bool,
    /// The person who started the run may not approve here, and pre-approvals do not count.
    pub four_eyes: bool,
}

impl ApprovalPolicy {
    /// The user names listed (entries without `@`).
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.approvers
            .iter()
            .filter(|a| !a.starts_with('@'))
            .map(String::as_str)
    }

    /// The group names listed (entries written `@name`, without the `@`).
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.approvers.iter().filter_map(|a| a.strip_prefix('@'))
    }
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            required: 1,
            approvers: Vec::new(),
            require_comment: false,
            four_eyes: false,
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
    /// Analysis run between steps: for the whole pause when there is one.
    pub analysis: Option<String>,
    /// The analysis runs once more after the last step, at full weight.
    pub at_full: bool,
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
    /// Named checks run as smoke tests once the stage succeeds.
    pub smoke: Vec<String>,
    /// Secrets the stage gets as environment variables.
    pub secrets: Vec<String>,
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
    Analysis {
        analysis: String,
    },
    /// Reports from CI (tests, coverage, security scans) and a check command.
    Evidence(crate::evidence::Spec),
}

impl GateKind {
    pub fn name(&self) -> &'static str {
        match self {
            GateKind::Manual { .. } => "manual",
            GateKind::Soak { .. } => "soak",
            GateKind::Check { .. } => "check",
            GateKind::Analysis { .. } => "analysis",
            GateKind::Evidence(_) => "evidence",
        }
    }
}

/// A check with a name, as declared in `[[checks]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedCheck {
    pub name: String,
    pub check: Check,
    /// Further attempts before the check counts as failed.
    pub retries: u32,
    pub interval: Duration,
}

/// One probe that passes or fails. Strings other than commands may hold
/// `${env}`, `${version}`, `${previous_version}` and `${config.KEY}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Command {
        command: String,
        timeout: Duration,
    },
    Http(HttpCheck),
    Tcp {
        addr: String,
        timeout: Duration,
    },
    /// Passes while no alert matching every label is firing in Prometheus
    /// (nor pending, unless `pending` says otherwise).
    Alerts {
        prometheus: String,
        labels: Vec<(String, String)>,
        timeout: Duration,
        pending: PendingAlerts,
    },
}

/// What an alerts check makes of a matching alert that is *pending*: its
/// condition already holds, and only its `for:` period has not run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PendingAlerts {
    /// Ask again until the check's timeout: pass once nothing matching is
    /// pending or firing, fail if it fires or is still pending at the end.
    #[default]
    Wait,
    /// Fail at once, as if it were firing.
    Fail,
    /// Pass; only a firing alert fails.
    Ignore,
}

impl PendingAlerts {
    pub const NAMES: [&'static str; 3] = ["wait", "fail", "ignore"];

    pub fn word(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub expect_status: u16,
    pub contains: Option<String>,
    /// A dotted path into a JSON body and the value it must have.
    pub json: Option<(String, serde_json::Value)>,
    pub timeout: Duration,
}

impl Check {
    /// What the check asks of environment `env`, as the engine runs it
    /// there: placeholders filled in (left as written if one cannot be).
    pub fn describe_in(&self, env: &Environment, release: &Release) -> String {
        template::expand_check(self, env, release)
            .as_ref()
            .unwrap_or(self)
            .describe()
    }

    /// One line that says what the check does. A command is not quoted (it
    /// may span lines; the place that shows it whole is the dossier's
    /// command cell), and URLs show as [`crate::secrets::url::shown`] says.
    pub fn describe(&self) -> String {
        match self {
            Check::Command { command, .. } => match command.trim().lines().count() {
                0 | 1 => "a command".to_string(),
                n => format!("a command of {n} lines"),
            },
            Check::Http(h) => {
                let mut s = format!(
                    "{} {} expects {}",
                    h.method,
                    crate::secrets::url::shown(&h.url),
                    h.expect_status
                );
                if let Some(needle) = &h.contains {
                    s.push_str(&format!(" and a body containing \"{needle}\""));
                }
                if let Some((field, want)) = &h.json {
                    s.push_str(&format!(" and JSON field {field} = {want}"));
                }
                s
            }
            Check::Tcp { addr, .. } => format!("TCP connect to {addr}"),
            Check::Alerts {
                labels, pending, ..
            } => format!(
                "no {} alert matching {{{}}}",
                if *pending == PendingAlerts::Ignore {
                    "firing"
                } else {
                    "firing or pending"
                },
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A number sampled over time and judged against its conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    /// Shown after values: "ratio", "ms", "req/s"…
    pub unit: String,
    pub source: MetricSource,
    pub interval: Duration,
    pub timeout: Duration,
    /// A sample meeting this passes.
    pub success: Option<Condition>,
    /// A sample meeting this fails (checked before `success`).
    pub failure: Option<Condition>,
    /// A service-level objective judged by how fast it burns its error
    /// budget; the source's query is then the error ratio over `${window}`.
    pub slo: Option<Slo>,
    /// Data readiness: samples before the source has given `min_data`
    /// readings in a row are journaled as waiting, not judged, for at most
    /// this long (`wait_for_data`); then the analysis is inconclusive.
    pub wait_for_data: Option<Duration>,
    pub min_data: u32,
}

/// A service-level objective and the multiwindow, multi-burn-rate rule of
/// the SRE workbook: a sample fails when both windows of a pair burn the
/// error budget faster than the pair allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// Percent of requests that must be good, e.g. 99.9.
    pub objective: f64,
    pub pairs: Vec<BurnPair>,
}

/// Two windows and the burn rate both must exceed to fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnPair {
    pub short: Duration,
    pub long: Duration,
    /// How many times faster than the objective allows, e.g. 14.4.
    pub rate: f64,
}

impl Slo {
    /// The error ratio the objective allows (0.001 for 99.9 %).
    pub fn budget(&self) -> f64 {
        1.0 - self.objective / 100.0
    }

    /// Every window the pairs use, shortest first, each once.
    pub fn windows(&self) -> Vec<Duration> {
        let mut w: Vec<Duration> = self.pairs.iter().flat_map(|p| [p.short, p.long]).collect();
        w.sort();
        w.dedup();
        w
    }

    /// The SRE workbook's page-worthy pairs: 5m/1h at 14.4×, 30m/6h at 6×.
    pub fn default_pairs() -> Vec<BurnPair> {
        vec![
            BurnPair {
                short: Duration::from_secs(300),
                long: Duration::from_secs(3600),
                rate: 14.4,
            },
            BurnPair {
                short: Duration::from_secs(1800),
                long: Duration::from_secs(6 * 3600),
                rate: 6.0,
            },
        ]
    }
}

/// The placeholder an SLO's queries put their window in.
pub const WINDOW: &str = "${window}";

/// A window as PromQL writes it: "5m", "1h", "90s".
pub fn promql_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else if d.subsec_millis() == 0 {
        format!("{s}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The query with its window filled in.
pub fn with_window(query: &str, w: Duration) -> String {
    query.replace(WINDOW, &promql_duration(w))
}

impl Metric {
    /// The value the cockpit draws as the threshold line.
    pub fn threshold(&self) -> Option<f64> {
        if self.slo.is_some() {
            // An SLO's value is its worst pair's burn over that pair's rate.
            return Some(1.0);
        }
        self.success.or(self.failure).map(|c| c.value)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricSource {
    /// PromQL evaluated by Slate over scrapes of a Prometheus text-format endpoint.
    Scrape { url: String, query: String },
    /// Prometheus's HTTP API: an instant query, or a range query reduced to one value.
    Prometheus {
        url: String,
        query: String,
        range: Option<Duration>,
        reduce: crate::metrics::prometheus::Reduce,
    },
    /// A command whose standard output is one number.
    Command { command: String },
    /// Any HTTP API answering JSON: the number at `json_path` (RFC 9535).
    Http {
        url: String,
        json_path: String,
        /// Header values may hold `${secret.NAME}`, filled in for the request alone.
        headers: Vec<(String, String)>,
    },
}

impl MetricSource {
    pub fn kind(&self) -> &'static str {
        match self {
            MetricSource::Scrape { .. } => "scrape",
            MetricSource::Prometheus { .. } => "prometheus",
            MetricSource::Command { .. } => "command",
            MetricSource::Http { .. } => "http",
        }
    }
}

/// Progressive-delivery analysis: repeated measurements of metrics and the limits that judge them.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub name: String,
    pub metrics: Vec<String>,
    /// Measurements per metric; with neither this nor `duration`, the surrounding pause decides.
    pub count: Option<u32>,
    pub duration: Option<Duration>,
    pub initial_delay: Duration,
    /// Failed measurements tolerated (per metric) before the analysis fails.
    pub failure_limit: u32,
    /// Inconclusive measurements tolerated before the analysis is inconclusive.
    pub inconclusive_limit: u32,
    /// Consecutive errors (source unreachable) tolerated before it is inconclusive.
    pub consecutive_error_limit: u32,
}

impl Plan {
    pub fn env_index(&self, name: &str) -> Option<usize> {
        self.environments.iter().position(|e| e.name == name)
    }

    pub fn gate(&self, name: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.name == name)
    }

    pub fn check(&self, name: &str) -> Option<&NamedCheck> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    pub fn analysis(&self, name: &str) -> Option<&Analysis> {
        self.analyses.iter().find(|a| a.name == name)
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
