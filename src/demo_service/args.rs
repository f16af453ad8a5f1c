//! The flags of each `slate demo-service` verb.
//!
//! Ranges (weight 0..=100, rate, names) are checked by [`validate_weight`] and
//! friends rather than by clap, so a bad value yields our own one-line
//! `slate demo-service: ...` message, which a stage's log shows whole.

use std::path::PathBuf;
use std::time::Duration;

/// Default synthetic request rate (requests per second at weight 100).
pub const DEFAULT_RATE: u32 = 200;
/// Highest accepted rate: keeps a typo from turning the demo into a CPU burner.
pub const MAX_RATE: u32 = 100_000;
/// The environment variable that names the owner when `--owner-pid` is absent.
pub const OWNER_ENV: &str = "SLATE_DEMO_OWNER";
/// The run directory every stage command gets: an instance a release's
/// stage starts belongs to that run when no other owner is named.
pub const RUN_ENV: &str = "SLATE_RUN_DIR";

/// Traffic shape shared by `serve` and `start` (which hands it to `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct TrafficArgs {
    /// Share of traffic this instance takes, 0..=100
    #[arg(long, value_name = "W", default_value_t = 100)]
    pub weight: u32,
    /// Synthetic requests per second at weight 100
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE)]
    pub rate: u32,
    /// A bad build behaves for this long before it degrades
    #[arg(long, value_name = "DUR", default_value = "8s", value_parser = parse_duration)]
    pub ramp_after: Duration,
    /// How long a bad build takes to reach its worst error rate
    #[arg(long, value_name = "DUR", default_value = "12s", value_parser = parse_duration)]
    pub ramp_for: Duration,
    /// Exit when this process is gone (default: $SLATE_DEMO_OWNER)
    #[arg(long, value_name = "PID", conflicts_with = "owner_run")]
    pub owner_pid: Option<i32>,
    /// Exit once no engine has run this run directory for a while (default:
    /// $SLATE_RUN_DIR, which every stage of a release gets)
    #[arg(long, value_name = "DIR")]
    pub owner_run: Option<PathBuf>,
}

/// Who an instance belongs to: it exits when its owner is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerSpec {
    /// A process (normally the demo itself).
    Pid(i32),
    /// A release's run: owned while an engine holds the run's lock, so an
    /// engine killed outright leaves the fleet to the one that recovers it.
    Run(PathBuf),
}

impl TrafficArgs {
    pub fn validate(&self) -> Result<(), String> {
        validate_weight(self.weight, "--weight")?;
        if self.rate > MAX_RATE {
            return Err(format!("--rate must be 0..={MAX_RATE}, got {}", self.rate));
        }
        self.owner().map(|_| ())
    }

    /// `--owner-pid` or `--owner-run`, else a non-empty `$SLATE_DEMO_OWNER`
    /// (an empty one means "no owner", so a caller can switch the watchdog
    /// off), else a non-empty `$SLATE_RUN_DIR`.
    pub fn owner(&self) -> Result<Option<OwnerSpec>, String> {
        if let Some(dir) = &self.owner_run {
            return Ok(Some(OwnerSpec::Run(dir.clone())));
        }
        let (pid, source) = match self.owner_pid {
            Some(pid) => (pid, "--owner-pid"),
            None => match std::env::var(OWNER_ENV) {
                Ok(v) if !v.trim().is_empty() => {
                    let pid = v
                        .trim()
                        .parse()
                        .map_err(|_| format!("{OWNER_ENV} must be a process id, got {v:?}"))?;
                    (pid, OWNER_ENV)
                }
                Ok(_) => return Ok(None),
                Err(_) => {
                    return Ok(std::env::var_os(RUN_ENV)
                        .filter(|v| !v.is_empty())
                        .map(|v| OwnerSpec::Run(PathBuf::from(v))));
                }
            },
        };
        if pid <= 1 {
            return Err(format!("{source} must be a real process id, got {pid}"));
        }
        Ok(Some(OwnerSpec::Pid(pid)))
    }
}

/// `serve`: the service itself, in the foreground.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The build's version; one containing "bad" degrades after a while
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, value_name = "P")]
    pub port: u16,
    /// The instance's name, shown by /version and the weight verb
    #[arg(long, value_name = "NAME", default_value = "demo")]
    pub name: String,
    #[command(flatten)]
    pub traffic: TrafficArgs,
}

/// `start`: launch (or relaunch) a named, detached instance in a fleet dir.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Instance name: DIR/NAME.pid, NAME.json and NAME.log belong to it
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The fleet directory (created 0700 if missing)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The build's version
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, value_name = "P")]
    pub port: u16,
    #[command(flatten)]
    pub traffic: TrafficArgs,
}

/// `weight`: change a running instance's traffic share.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["port", "name"]))]
pub struct WeightArgs {
    /// The instance's port on 127.0.0.1
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
    /// The instance's name (with --dir) instead of its port
    #[arg(long, value_name = "NAME", requires = "dir")]
    pub name: Option<String>,
    /// The fleet directory holding NAME.json
    #[arg(long, value_name = "DIR", requires = "name")]
    pub dir: Option<PathBuf>,
    /// New weight, 0..=100
    #[arg(long, value_name = "W")]
    pub value: u32,
}

/// `stop`: end one named instance, or the whole fleet.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["name", "all"]))]
pub struct StopArgs {
    /// The instance to stop
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Stop every instance in DIR
    #[arg(long)]
    pub all: bool,
    /// The fleet directory
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// Weights are percentages of traffic.
pub fn validate_weight(w: u32, flag: &str) -> Result<(), String> {
    if w > 100 {
        return Err(format!("{flag} must be 0..=100, got {w}"));
    }
    Ok(())
}

/// Names become file names in the fleet dir, so nothing that could escape
/// it or hide (`/`, a leading dot) is allowed.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad instance name {name:?}: use letters, digits, '-', '_' or '.' (not leading)"
        ))
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (try e.g. 8s or 500ms)"))
}
