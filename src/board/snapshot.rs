//! What the board shows, as plain data: the releases × environments of the
//! ledger with what is live in each, the active runs and what each waits
//! for, and the inbox (every gate the current user may decide). [`read`]
//! builds one from the store and the active runs' journals, off the UI
//! loop ([`super::watch`]); the app and the drawing only ever see this.
//! Every text in it that came from a person or a plan (release and
//! environment names, versions, gates, messages) is made one safe line
//! here, once, so no frame can carry a control character.

use std::path::Path;

use jiff::Timestamp;

use crate::runs::Engine;
use crate::store::{Deployment, Reach, Store};
use crate::text::neutral;

/// The versions of an environment the history pane reads at most.
pub const HISTORY_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// The board's columns: every environment any release has, in plan order.
    pub envs: Vec<String>,
    /// The same environments as the store names them (to look one up).
    pub env_keys: Vec<String>,
    pub releases: Vec<ReleaseRow>,
    /// Active runs, newest first.
    pub runs: Vec<RunLine>,
    /// Gates the current user may decide, oldest wait first.
    pub inbox: Vec<InboxEntry>,
    /// Freezes in effect or coming within a week on the board's
    /// environments (the user's config.toml and `slate freeze`), soonest first.
    pub freezes: Vec<FreezeNote>,
    /// What could not be read (shown, never fatal).
    pub warnings: Vec<String>,
}

/// A freeze as the board shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FreezeNote {
    /// The environments it holds, as the store names them (for the columns' marks).
    pub env_keys: Vec<String>,
    /// In effect now (or the environments are outside their allow windows).
    pub now: bool,
    /// One safe line (`stopline::upcoming::Upcoming::line`).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRow {
    pub release: String,
    /// The release as the store names it (to look it up).
    pub key: String,
    /// One per column of [`Snapshot::envs`]; None where the release has no such environment.
    pub cells: Vec<Option<Cell>>,
}

/// One release × environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub state: CellState,
    /// The version live there (the newest one that went live and stays so).
    pub live: Option<String>,
    /// The newest run's version when it is not the live one (on its way
    /// in, or stopped part-way).
    pub incoming: Option<String>,
}

/// How an environment stands, from its newest run there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellState {
    /// The newest version went live.
    Healthy,
    /// A run is deploying into it.
    Rolling,
    /// A run inside it waits: at a gate, or for a lock, hold or freeze.
    Waiting,
    /// Its newest run stopped part-way and was left so on purpose.
    Held,
    /// Its newest run failed there and was rolled back: the live version stays.
    Failed,
    /// Its newest run failed part-way without rolling back: it may run a mix.
    Drifted,
    /// Its newest run's engine died inside it: `slate recover` takes it over.
    Interrupted,
    /// Slate never deployed it.
    Empty,
}

impl CellState {
    pub const ALL: [CellState; 8] = [
        CellState::Healthy,
        CellState::Rolling,
        CellState::Waiting,
        CellState::Held,
        CellState::Failed,
        CellState::Drifted,
        CellState::Interrupted,
        CellState::Empty,
    ];

    /// A glyph, so that no state rests on colour alone.
    pub fn glyph(self) -> &'static str {
        match self {
            CellState::Healthy => "✔",
            CellState::Rolling => "▶",
            CellState::Waiting => "⏸",
            CellState::Held => "‖",
            CellState::Failed => "✘",
            CellState::Drifted => "≠",
            CellState::Interrupted => "⚠",
            CellState::Empty => "·",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            CellState::Healthy => "healthy",
            CellState::Rolling => "rolling",
            CellState::Waiting => "waiting",
            CellState::Held => "held",
            CellState::Failed => "failed",
            CellState::Drifted => "drifted",
            CellState::Interrupted => "interrupted",
            CellState::Empty => "never deployed",
        }
    }

    /// What the state means, for help.
    pub fn explain(self) -> &'static str {
        match self {
            CellState::Healthy => "healthy: the newest version went live",
            CellState::Rolling => "rolling: a run is deploying into it",
            CellState::Waiting => "waiting: its run waits at a gate, or for a lock or freeze",
            CellState::Held => "held: its newest run stopped part-way and was left so",
            CellState::Failed => {
                "failed: its newest run failed and rolled back; the live one stays"
            }
            CellState::Drifted => "drifted: its newest run failed part-way; it may run a mix",
            CellState::Interrupted => "interrupted: its engine died there (slate recover RUN)",
            CellState::Empty => "never deployed there by Slate",
        }
    }
}

/// One active run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLine {
    pub run_id: String,
    pub release: String,
    pub version: String,
    pub engine: Engine,
    /// The run's status word ("running", "waiting for approval", …).
    pub status: String,
    pub env: Option<String>,
    pub waits: Waits,
    /// The machine whose engine drives it, when that is not this one (a
    /// team run: its lease's holder, host only).
    pub elsewhere: Option<String>,
}

/// What an active run waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Waits {
    Nothing,
    Gate {
        gate: String,
        since: Timestamp,
        approvals: u32,
        required: u32,
    },
    /// A lock, a hold or a freeze, in the engine's words.
    Barrier(String),
    /// Its engine died: this command takes it over.
    Recover(String),
}

/// A gate the current user may decide.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    pub run_id: String,
    pub release: String,
    pub version: String,
    pub env: String,
    pub gate: String,
    pub since: Timestamp,
    pub approvals: u32,
    pub required: u32,
}

fn safe(s: &str) -> String {
    neutral::line(s).into_owned()
}

/// Who the inbox is for: the person the engine will see.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    /// Their database roles when the team store says who they are
    /// (`engine::policy::Who`); `None` for an OS user.
    pub roles: Option<Vec<String>>,
}

impl Viewer {
    pub fn os(name: &str) -> Viewer {
        Viewer {
            name: name.to_string(),
            roles: None,
        }
    }

    fn who(&self) -> crate::engine::policy::Who<'_> {
        crate::engine::policy::Who {
            name: &self.name,
            roles: self.roles.as_deref(),
        }
    }
}

/// Reads the board from a store already brought up to date
/// (`store::sync`) and the active runs' journals. `user` is who the inbox
/// is for (this process's OS user: the one the control socket will see).
pub fn read(store: &dyn Store, state_dir: &Path, user: &str) -> Snapshot {
    read_as(store, state_dir, &Viewer::os(user), None)
}

/// [`read`] for `viewer`, with the runs other machines' engines drive when
/// there is a team store (from their state records in the team journal).
pub fn read_as(
    store: &dyn Store,
    state_dir: &Path,
    viewer: &Viewer,
    team: Option<&crate::store::postgres::TeamConfig>,
) -> Snapshot {
    let mut snap = Snapshot::default();
    let mut found = match crate::runs::active_in(store, state_dir) {
        Ok(f) => f,
        Err(e) => {
            snap.warnings.push(e.to_string());
            Vec::new()
        }
    };
    let mut hosts = vec![None; found.len()];
    if let Some(team) = team {
        for (f, host) in elsewhere(team, state_dir, &mut snap.warnings) {
            found.push(f);
            hosts.push(Some(host));
        }
    }
    for (f, host) in found.iter().zip(hosts) {
        let mut line = run_line(&f.run);
        line.elsewhere = host;
        snap.runs.push(line);
        if let Some(entry) = inbox_entry(f, viewer) {
            snap.inbox.push(entry);
        }
    }
    snap.inbox
        .sort_by(|a, b| (a.since, &a.run_id).cmp(&(b.since, &b.run_id)));
    let places = match store.places(None) {
        Ok(p) => p,
        Err(e) => {
            snap.warnings.push(e.to_string());
            Vec::new()
        }
    };
    let mut cells: Vec<(String, u32, String, Cell)> = Vec::with_capacity(places.len());
    for place in places {
        let newest = match store.history(&place, Some(1)) {
            Ok(h) => h.into_iter().next(),
            Err(e) => {
                snap.warnings.push(e.to_string());
                continue;
            }
        };
        let live = store.live(&place).unwrap_or_else(|e| {
            snap.warnings.push(e.to_string());
            None
        });
        let cell = cell(live.as_ref(), newest.as_ref(), &snap.runs);
        cells.push((place.release, place.env_index, place.env, cell));
    }
    snap.env_keys = columns(&cells);
    snap.envs = snap.env_keys.iter().map(|e| safe(e)).collect();
    freezes(store, &mut snap);
    for (release, _, env, cell) in cells {
        let col = snap.env_keys.iter().position(|e| *e == env).unwrap_or(0);
        if snap.releases.last().is_none_or(|r| r.key != release) {
            snap.releases.push(ReleaseRow {
                release: safe(&release),
                key: release.clone(),
                cells: vec![None; snap.envs.len()],
            });
        }
        if let Some(row) = snap.releases.last_mut() {
            row.cells[col] = Some(cell);
        }
    }
    snap
}

/// The freezes on the board's environments: what every run obeys besides
/// its own plan (the user's config.toml and the store's ad-hoc freezes).
fn freezes(store: &dyn Store, snap: &mut Snapshot) {
    use crate::stopline::upcoming;
    let now = Timestamp::now();
    let (windows, warnings) = upcoming::team_windows(&crate::paths::config_dir(), Some(store), now);
    snap.warnings.extend(warnings);
    snap.freezes = upcoming::for_envs(&windows, snap.env_keys.iter().map(String::as_str), now)
        .into_iter()
        .map(|u| FreezeNote {
            now: u.now(),
            text: u.line(),
            env_keys: u.envs,
        })
        .collect();
}

/// The columns: every environment name, by its lowest place in any plan
/// (dev, staging, prod), ties by name.
fn columns(cells: &[(String, u32, String, Cell)]) -> Vec<String> {
    let mut envs: Vec<(u32, &str)> = Vec::new();
    for (_, index, env, _) in cells {
        match envs.iter_mut().find(|(_, e)| e == env) {
            Some(seen) => seen.0 = seen.0.min(*index),
            None => envs.push((*index, env)),
        }
    }
    envs.sort();
    envs.into_iter().map(|(_, e)| e.to_string()).collect()
}

/// How a place stands: its newest run decides.
pub fn cell(live: Option<&Deployment>, newest: Option<&Deployment>, runs: &[RunLine]) -> Cell {
    let live_version = live.map(|l| safe(&l.version));
    let Some(newest) = newest else {
        return Cell {
            state: CellState::Empty,
            live: live_version,
            incoming: None,
        };
    };
    let state = match newest.reach {
        Reach::Deployed => CellState::Healthy,
        Reach::InProgress => match runs.iter().find(|r| r.run_id == newest.run_id) {
            Some(r) if matches!(r.waits, Waits::Gate { .. } | Waits::Barrier(_)) => {
                CellState::Waiting
            }
            Some(r) if r.engine == Engine::Interrupted => CellState::Interrupted,
            _ => CellState::Rolling,
        },
        Reach::Held => CellState::Held,
        Reach::RolledBack => CellState::Failed,
        Reach::Failed => CellState::Drifted,
        Reach::Interrupted => CellState::Interrupted,
    };
    let incoming = (live.is_none_or(|l| l.run_id != newest.run_id)).then(|| safe(&newest.version));
    Cell {
        state,
        live: live_version,
        incoming,
    }
}

fn run_line(r: &crate::runs::ActiveRun) -> RunLine {
    let waits = if let Some(cmd) = &r.recover {
        Waits::Recover(safe(cmd))
    } else if let Some(w) = &r.waiting {
        Waits::Gate {
            gate: safe(&w.gate),
            since: w.since,
            approvals: w.approvals,
            required: w.required,
        }
    } else if let Some(b) = &r.held_back {
        Waits::Barrier(safe(b))
    } else {
        Waits::Nothing
    };
    RunLine {
        run_id: safe(&r.run_id),
        release: safe(&r.release),
        version: safe(&r.version),
        engine: r.engine,
        status: safe(&r.status),
        env: r.environment.as_deref().map(safe),
        waits,
        elsewhere: None,
    }
}

/// The run's waiting gate, if `user` may decide it: the engine is there to
/// take the decision, the environment's approval policy (approvers, groups,
/// four-eyes) lets `user` approve, the same rule the engine applies
/// ([`crate::engine::policy::refusal`]), and `user` has not approved it yet.
fn inbox_entry(f: &crate::runs::Found, viewer: &Viewer) -> Option<InboxEntry> {
    let user = viewer.name.as_str();
    if f.run.engine != Engine::Running {
        return None;
    }
    if let Some(g) = &f.state.glass_wait {
        return glass_entry(f, g, viewer);
    }
    let w = f.state.waiting.as_ref()?;
    let plan = f.open.plan()?.ok()?;
    let env = plan.environments.get(w.env)?;
    if crate::engine::policy::refusal(&env.approval, &env.name, viewer.who(), &f.state.started_by)
        .is_some()
    {
        return None;
    }
    let approvals: Vec<&str> = f
        .state
        .envs
        .get(w.env)
        .map(|e| {
            e.approvals
                .iter()
                .filter(|a| a.gate == w.gate && a.step == w.step)
                .map(|a| a.user.as_str())
                .collect()
        })
        .unwrap_or_default();
    if approvals.contains(&user) {
        return None;
    }
    let waiting = f.run.waiting.as_ref();
    Some(InboxEntry {
        run_id: safe(&f.run.run_id),
        release: safe(&f.run.release),
        version: safe(&f.run.version),
        env: safe(&env.name),
        gate: safe(&w.gate),
        since: w.since,
        approvals: waiting.map_or(0, |w| w.approvals),
        required: w.required,
    })
}

/// A break-glass waiting for a second person, if `user` may approve it:
/// not who asked for it, and allowed by the break-glass policy (the team's
/// `config.toml` list, else the plan's), the rule the engine applies.
fn glass_entry(
    f: &crate::runs::Found,
    g: &crate::engine::state::admission::GlassWait,
    viewer: &Viewer,
) -> Option<InboxEntry> {
    if g.actor.user == viewer.name {
        return None;
    }
    let plan = f.open.plan()?.ok()?;
    let env = plan.environments.get(g.env)?;
    let team = crate::stopline::config::load(&crate::paths::config_dir())
        .ok()
        .and_then(|t| t.break_glass);
    let list = team.unwrap_or_else(|| plan.release.break_glass.clone());
    crate::engine::policy::break_glass_refusal(&list, &env.approval, &env.name, viewer.who())
        .is_none()
        .then(|| InboxEntry {
            run_id: safe(&f.run.run_id),
            release: safe(&f.run.release),
            version: safe(&f.run.version),
            env: safe(&env.name),
            gate: crate::engine::state::admission::GLASS_GATE.to_string(),
            since: g.since,
            approvals: 0,
            required: 1,
        })
}

/// One environment's history, newest first, as the history pane lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvHistory {
    pub release: String,
    pub env: String,
    /// One line per version that entered the environment (`slate ledger`'s words).
    pub lines: Vec<String>,
    /// For each line, what a rollback to it would need to know.
    pub picks: Vec<Pick>,
}

/// A version in an environment's history, as the rollback picker weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// As the store has it (the command gets this; the line shows it neutralised).
    pub version: String,
    /// It went live there (`slate rollback --to` takes only such a version).
    pub went_live: bool,
    /// It is live there now.
    pub live: bool,
}

/// Reads one environment's history from the store (off the UI loop).
pub fn env_history(store: &dyn Store, release: &str, env: &str) -> Result<EnvHistory, String> {
    let ledger = crate::cli::ledger::read(store, Some(release), Some(env), Some(HISTORY_LIMIT))?;
    let entries: Vec<(
        &crate::cli::ledger::Entry,
        Option<&crate::store::Deployment>,
    )> = ledger
        .iter()
        .flat_map(|e| e.history.iter().map(move |h| (h, e.live.as_ref())))
        .collect();
    let lines = entries
        .iter()
        .map(|(h, _)| safe(&crate::cli::ledger::history_line(h)))
        .collect();
    let picks = entries
        .iter()
        .map(|(h, live)| Pick {
            version: h.deployment.version.clone(),
            went_live: h.deployment.reach == crate::store::Reach::Deployed,
            live: live.is_some_and(|l| {
                l.run_id == h.deployment.run_id && l.version == h.deployment.version
            }),
        })
        .collect();
    Ok(EnvHistory {
        release: safe(release),
        env: safe(env),
        lines,
        picks,
    })
}

/// The runs other machines' engines drive, from the team journal, with
/// the host each is on; each problem is one warning.
fn elsewhere(
    team: &crate::store::postgres::TeamConfig,
    state_dir: &Path,
    warnings: &mut Vec<String>,
) -> Vec<(crate::runs::Found, String)> {
    let origin = crate::store::postgres::origin(state_dir);
    let leases = match crate::store::postgres::reader::elsewhere(team, &origin) {
        Ok(l) => l,
        Err(e) => {
            warnings.push(format!("the runs on other machines: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for l in leases {
        match crate::store::postgres::reader::states(team, &l.run_id) {
            Ok(records) if !records.is_empty() => {
                // Where the run would be here (it is not).
                let dir = crate::runs::runs_dir(state_dir).join(&l.run_id);
                out.push((crate::runs::remote(dir, records), safe(host_of(&l.origin))));
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("run {}: {e}", safe(&l.run_id))),
        }
    }
    out
}

/// The host of a lease's origin (`host:/state/dir`).
fn host_of(origin: &str) -> &str {
    origin.split_once(':').map_or(origin, |(h, _)| h)
}
