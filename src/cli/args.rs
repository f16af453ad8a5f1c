//! The command line: one subcommand per job.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "slate", version, about = "A release cockpit in the terminal", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Execute a release plan in the cockpit (or headless with --headless)
    Run(RunArgs),
    /// Release a real local demo service through dev, staging and a prod canary (needs nothing but slate)
    Demo {
        /// Which story to tell: a healthy release, or a canary that rolls itself back
        #[arg(long, value_enum, default_value = "good")]
        scenario: super::demo::Scenario,
        /// Shrink every wait (canary windows, sampling intervals) for tests and quick looks
        #[arg(long)]
        fast: bool,
        /// Without the cockpit; manual gates are approved automatically
        #[arg(long)]
        headless: bool,
        /// With --headless: print events as NDJSON
        #[arg(long, requires = "headless")]
        json: bool,
        /// Cockpit colour theme
        #[arg(long, value_name = "NAME", conflicts_with = "headless")]
        theme: Option<String>,
        /// Be the engine host a cockpit started (internal; see `host`)
        #[arg(long, hide = true, conflicts_with = "headless")]
        serve: bool,
    },
    /// Check a release plan and report every problem as FILE:LINE:COL
    Validate {
        /// The plan file (TOML)
        plan: PathBuf,
        /// Give the plan's var NAME this value (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
    },
    /// Preview what a run of a plan would do, without running anything
    Plan(PlanArgs),
    /// Write a commented, working plan to start from (--list names the templates)
    Init(InitArgs),
    /// Check this machine, terminal and (with a plan) its metric sources and channels; say what to fix
    Doctor {
        /// A plan whose metric sources and channels to try
        plan: Option<PathBuf>,
    },
    /// Print the plan format as a JSON Schema (for taplo / Even Better TOML)
    Schema {
        /// Write it to this file instead of standard output
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Names for shell completion: run ids, a run's gates, environments (internal)
    #[command(hide = true)]
    Complete {
        #[arg(value_enum)]
        kind: super::complete::Kind,
        /// A run id (gates, envs) or a plan file (envs)
        target: Option<String>,
    },
    /// Print the man page (roff), or write one page per subcommand with --dir
    Man {
        /// Write slate.1 and slate-VERB.1 pages into this directory
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Browse past runs; Enter opens a run's dossier
    History {
        /// Print the runs as JSON (newest first) instead of browsing them
        #[arg(long)]
        json: bool,
        /// Only runs with this outcome
        #[arg(long, value_enum, value_name = "OUTCOME")]
        outcome: Option<crate::history::OutcomeArg>,
        /// Colour theme of the browser
        #[arg(long, value_name = "NAME", conflicts_with = "json")]
        theme: Option<String>,
    },
    /// Print a run's deployment dossier (markdown), generated from its journal
    Dossier {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// Write it to this file instead of standard output
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Explain every analysis of a run: each sample's value, judgement and why, the limits, the verdict
    Analysis {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// Only this environment's analyses
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
    /// Play a past run's journal in the cockpit, read-only, at an adjustable speed
    Replay {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// Playback speed, 0.25 to 64 (Space pauses, + and - change it, n jumps to the next gate or failure)
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Cockpit colour theme
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
        /// Open paused on the first record (Space plays)
        #[arg(long)]
        paused: bool,
    },
    /// Open the cockpit on a run that is going on elsewhere (headless, or another cockpit)
    Attach {
        /// Run id, a unique prefix of one, or "latest" (the newest active run)
        #[arg(default_value = "latest")]
        run: String,
        /// Watch only: keys cannot change the run
        #[arg(long)]
        read_only: bool,
        /// Cockpit colour theme
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
    },
    /// Write the post-deploy review and memory entry of a finished run
    Review {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// Colour theme of the editor
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
    },
    /// Print the memory entries of recent runs, newest first
    Memory {
        /// How many runs
        #[arg(short = 'n', long, default_value_t = 10)]
        limit: usize,
        /// Only runs of this release
        #[arg(long, value_name = "NAME")]
        release: Option<String>,
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
    /// The home screen: what is live where, the active runs, and the gates waiting for you (`slate` alone opens it)
    Board {
        /// Colour theme
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
    },
    /// What is live in each environment, and the active runs (those whose engine is running)
    Status {
        /// Print the active runs as JSON
        #[arg(long)]
        json: bool,
        /// Keep watching: show the status again whenever it changes (q or Ctrl-C quits)
        #[arg(long, short = 'w', conflicts_with = "json")]
        watch: bool,
    },
    /// What is live in each environment of each release, and what was before (newest first)
    Ledger {
        /// Only this release
        #[arg(value_name = "RELEASE")]
        release: Option<String>,
        /// Only this environment
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// How many past versions per environment (0: all)
        #[arg(short = 'n', long, default_value_t = 10)]
        limit: usize,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Delivery metrics from the ledger: deployment frequency, lead time, change failure rate, time to restore
    Stats {
        /// Only this release
        #[arg(value_name = "RELEASE")]
        release: Option<String>,
        /// Only this environment
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// The window, ending now (e.g. 90d, 2w, 12h)
        #[arg(long, value_name = "DURATION", default_value = "90d")]
        since: String,
        /// Print them as JSON
        #[arg(long, conflicts_with = "serve")]
        json: bool,
        /// Serve them, with the live state, as a Prometheus endpoint (GET /metrics) on this loopback address
        #[arg(long, value_name = "ADDR")]
        serve: Option<String>,
    },
    /// The store that indexes runs and keeps the release ledger (local, or a team's PostgreSQL)
    #[command(subcommand)]
    Store(StoreCmd),
    /// Stop the line: hold an environment so that no run starts promoting into it until `slate unlock`
    Lock {
        /// The environment (as plans name it)
        env: String,
        /// Hold it for this release only (default: every release)
        #[arg(long, value_name = "RELEASE")]
        release: Option<String>,
        /// Why (shown to every run it stops)
        #[arg(long)]
        reason: String,
    },
    /// Lift a hold on an environment, or release a run's lock whose engine is gone
    Unlock {
        /// The environment
        env: String,
        /// The release the hold (or lock) is for (default: the hold for every release)
        #[arg(long, value_name = "RELEASE")]
        release: Option<String>,
    },
    /// Freeze an environment until a time: no run starts promoting into it, and runs inside stop at their next safe point
    Freeze {
        /// The environment, or "*" for every environment
        env: String,
        /// When it ends: "2026-12-28 08:00" (in --tz), or a duration from now ("2h")
        #[arg(long, value_name = "TIME")]
        until: String,
        /// When it starts (default: now), written like --until
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// The time zone TIME is written in (default: the system's)
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Why (shown to every run it stops)
        #[arg(long)]
        reason: String,
    },
    /// Lift the ad-hoc freezes on an environment ("*" for those on every environment)
    Unfreeze { env: String },
    /// List deploy locks, holds, the runs waiting for them, and ad-hoc freezes
    Locks {
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
    /// Approve the gate an active run waits at (through its control socket)
    Approve {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// The gate (default: whichever gate is waiting)
        gate: Option<String>,
        /// Why you approve (some gates require one)
        #[arg(long, default_value = "")]
        comment: String,
        /// Approve nothing: show what the waiting gate would promote and what
        /// that changes against what is live in the environment
        #[arg(long, conflicts_with = "comment")]
        show: bool,
    },
    /// Reject the gate an active run waits at; its environment rolls back
    Reject {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// The gate (default: whichever gate is waiting)
        gate: Option<String>,
        /// Why you reject it (required; the engine refuses a rejection without one)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Pause an active run at its next safe point
    Pause {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
    },
    /// Resume a paused run
    Resume {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
    },
    /// Roll back a run's environment (RUN [--env ENV]), or roll an
    /// environment back to a known-good version as a new run (--to VERSION --env ENV)
    #[command(group(clap::ArgGroup::new("what").args(["run", "to"]).required(true)))]
    Rollback {
        /// Run id, a unique prefix of one, or "latest": undo the environment in
        /// progress, or a deployed one with --env (the run's engine must still be up)
        #[arg(conflicts_with_all = ["to", "release"])]
        run: Option<String>,
        /// Deploy this earlier version again, as a new run, with the plan that put
        /// it live in --env (the ledger says which); pauses and analyses skipped
        #[arg(long, value_name = "VERSION", requires = "env")]
        to: Option<String>,
        /// With RUN: the environment to undo (default: the one in progress, or the
        /// last deployed). With --to: the environment to roll back
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// With --to: the release, when several have that environment
        #[arg(long, value_name = "NAME", requires = "to")]
        release: Option<String>,
        /// Why (required; the engine refuses without one)
        #[arg(long, default_value = "")]
        reason: String,
        /// With --to: print events as NDJSON
        #[arg(long, requires = "to")]
        json: bool,
        /// With --to: be the engine host the board started (internal; see `host`)
        #[arg(long, hide = true, requires = "to", conflicts_with = "json")]
        serve: bool,
    },
    /// Stop the environment in progress and roll it back
    Abort {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// Why (required; the engine refuses without one)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// End the canary pause or soak being waited out and go to the next step;
    /// --full skips the rest of the environment's rollout to its last step
    Promote {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// Skip the remaining steps of this environment's rollout (to 100%)
        #[arg(long)]
        full: bool,
        /// Why (required; the environment's approval policy decides who may)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Set the canary to a weight (1-99 %) and hold it there until promoted
    Weight {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// The canary weight in percent
        weight: u32,
        /// Why (required; the environment's approval policy decides who may)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Answer the decision a run is waiting for (a blocked rollback, or a step a crash interrupted)
    Decide {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// What to do: hold, roll-forward, force, retry, done or rollback (the run says which apply)
        #[arg(value_enum)]
        choice: DecideArg,
        /// Why (forcing past an irreversible step requires one)
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Run the failed step a waiting run offers to retry
    Retry {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
    },
    /// Add a note to an active run's record
    Note {
        /// Run id, a unique prefix of one, or "latest"
        run: String,
        /// The note
        text: String,
    },
    /// Take over a run whose engine died (kill -9, power loss) and carry it on from its journal
    Recover {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// Without the cockpit, printing one line per event
        #[arg(long)]
        headless: bool,
        /// With --headless: print events as NDJSON
        #[arg(long, requires = "headless")]
        json: bool,
        /// What to do with a step the crash interrupted, instead of asking
        #[arg(long, value_enum, value_name = "CHOICE")]
        interrupted: Option<InterruptedArg>,
        /// With --headless: never wait for a decision; fail closed
        #[arg(long, requires = "headless")]
        no_wait: bool,
        /// Cockpit colour theme
        #[arg(long, value_name = "NAME", conflicts_with = "headless")]
        theme: Option<String>,
        /// Be the cockpit's engine host (internal)
        #[arg(long, hide = true, conflicts_with = "headless")]
        serve: bool,
    },
    /// Write a run's journal as NDJSON (whole records only), to stdout or a new file
    Export {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// A new file to write (never overwritten); stdout without it
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Show a run's state, rebuilt from its journal
    Show {
        /// Run id, a unique prefix of one, or "latest"
        #[arg(default_value = "latest")]
        run: String,
        /// Print the state as JSON
        #[arg(long)]
        json: bool,
    },
    /// Render a plan's cockpit at its first manual gate (the plan really runs), or the board, into an SVG picture (for docs)
    Screenshot {
        /// The plan file (TOML); it really runs, up to its first manual gate
        #[arg(required_unless_present = "board")]
        plan: Option<PathBuf>,
        /// Render the board (`slate board`) from the store as it is now, instead of a plan's cockpit
        #[arg(long, conflicts_with = "plan")]
        board: bool,
        /// Where to write the SVG
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
        /// Columns of the rendered terminal
        #[arg(long, default_value_t = 120)]
        width: u16,
        /// Rows of the rendered terminal
        #[arg(long, default_value_t = 36)]
        height: u16,
        /// Cockpit colour theme
        #[arg(long, value_name = "NAME", default_value = "default")]
        theme: String,
    },
    /// The demo's fleet: start, steer and stop local demo service instances
    #[command(hide = true, subcommand)]
    DemoService(crate::demo_service::DemoServiceCmd),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file (TOML)
    pub plan: PathBuf,
    /// Drive the engine without the cockpit, printing one line per event
    #[arg(long)]
    pub headless: bool,
    /// With --headless: print events as NDJSON, one object per line
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// Approve this manual gate in advance (repeatable)
    #[arg(long = "approve", value_name = "GATE", requires = "headless")]
    pub approve: Vec<String>,
    /// Approve every manual gate in advance
    #[arg(long, requires = "headless")]
    pub auto_approve: bool,
    /// With --headless: never wait at a manual gate nobody pre-approved; fail
    /// it closed and roll back (for CI that must never wait)
    #[arg(long, requires = "headless")]
    pub no_wait: bool,
    /// Wait this long ("30m") for an environment another run or a hold has,
    /// in a visible queue, instead of the plan's `lock_wait` (default: refuse at once)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_wait: Option<std::time::Duration>,
    /// A hotfix: cross a freeze or a hold (never another run's lock), if the
    /// break-glass policy allows you; journaled and flagged, with this reason
    #[arg(long, value_name = "REASON")]
    pub break_glass: Option<String>,
    /// Promote over the pin a `slate rollback --to` left on an environment
    /// (journaled, with who and this reason; it lifts the pin)
    #[arg(long, value_name = "REASON")]
    pub unpin: Option<String>,
    /// Cockpit colour theme: default, light, high-contrast, sixteen, or one of yours
    #[arg(long, value_name = "NAME", conflicts_with = "headless")]
    pub theme: Option<String>,
    /// Give the plan's var NAME this value (repeatable; journaled with the run)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// Be the engine host a cockpit started: no output but the handshake,
    /// gates wait for commands through the control socket (internal; see `host`)
    #[arg(long, hide = true, conflicts_with = "headless")]
    pub serve: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan file (TOML)
    pub plan: PathBuf,
    /// Only this environment (repeatable; the dossier always covers them all)
    #[arg(long = "env", value_name = "ENV", conflicts_with = "dossier")]
    pub envs: Vec<String>,
    /// Print the preview as JSON
    #[arg(long, conflicts_with = "dossier")]
    pub json: bool,
    /// Render it as a pre-release dossier (markdown, the eight sections)
    #[arg(long)]
    pub dossier: bool,
    /// Write it to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Give the plan's var NAME this value, as `slate run --set` would (repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to write `slate.toml` into (created if missing)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Which starting point (without it, on a terminal, slate asks)
    #[arg(long, short, value_name = "NAME")]
    pub template: Option<String>,
    /// Name the templates and stop
    #[arg(long, conflicts_with = "template")]
    pub list: bool,
    /// Replace an existing plan file
    #[arg(long)]
    pub force: bool,
}

/// A decision as typed on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DecideArg {
    Hold,
    RollForward,
    Force,
    Retry,
    Done,
    Rollback,
}

impl From<DecideArg> for crate::engine::event::RollbackChoice {
    fn from(a: DecideArg) -> Self {
        use crate::engine::event::RollbackChoice as C;
        match a {
            DecideArg::Hold => C::Hold,
            DecideArg::RollForward => C::RollForward,
            DecideArg::Force => C::Force,
            DecideArg::Retry => C::Retry,
            DecideArg::Done => C::Done,
            DecideArg::Rollback => C::Rollback,
        }
    }
}

/// What `slate recover --interrupted` does with a step the crash cut short.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InterruptedArg {
    /// Run it again
    Retry,
    /// Count it as done and carry on after it
    Done,
    /// Roll its environment back
    Rollback,
}

impl From<InterruptedArg> for crate::engine::event::RollbackChoice {
    fn from(a: InterruptedArg) -> Self {
        use crate::engine::event::RollbackChoice as C;
        match a {
            InterruptedArg::Retry => C::Retry,
            InterruptedArg::Done => C::Done,
            InterruptedArg::Rollback => C::Rollback,
        }
    }
}

/// `slate store …`
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Derive the store again from every run's journal (the journals are the truth)
    Rebuild,
    /// Create or migrate the team store's schema ([store] url or $SLATE_STORE)
    Init,
    /// Copy this machine's runs (their summaries and ledger rows) into the team store
    Import,
    /// Let a database role into the team: watch (read), steer (also send commands), run (also run releases)
    Grant {
        /// The database role (it must exist: CREATE ROLE … LOGIN)
        role: String,
        #[arg(value_enum)]
        level: LevelArg,
        /// The person the role is, as approver lists name them (default: the role's name)
        #[arg(long = "as", value_name = "PERSON")]
        person: Option<String>,
    },
    /// Take every right in the team store back from a database role
    Revoke { role: String },
    /// List the team's members: role, level, person
    Members {
        #[arg(long)]
        json: bool,
    },
}

/// What a team member may do (`slate store grant`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LevelArg {
    Watch,
    Steer,
    Run,
}

/// `--set NAME=VALUE`: split at the first `=`.
fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, found \"{s}\"")),
    }
}

/// A duration as people write it: "90s", "30m", "1h 30m".
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{e} (write it like \"90s\", \"30m\" or \"1h 30m\")"))
}
