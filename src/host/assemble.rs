//! Assembling a run: the one place that builds an engine (new, or taking
//! over a dead one's run), opens its control socket and starts its clients.
//! The front end then drives it.

use std::path::{Path, PathBuf};

use crate::control::ControlServer;
use crate::engine::event::RollbackChoice;
use crate::engine::{Actor, Engine, EngineHandle, EngineOptions, Record, RunState, Unattended};
use crate::plan::{self, GateKind, Plan};

/// What to run.
pub enum Source {
    /// A plan file, with the gates approved in advance.
    Plan {
        path: PathBuf,
        approve: Vec<String>,
        auto_approve: bool,
        /// `--set NAME=VALUE` for the plan's `[vars]`.
        set: Vec<(String, String)>,
        /// How long to wait for an environment others hold (`--lock-wait`).
        lock_wait: Option<std::time::Duration>,
        /// `--break-glass REASON`.
        break_glass: Option<String>,
        /// Its environments are shared with other runs: take their locks and
        /// honour holds and freezes. Only the demo, whose fleet is its own
        /// run's, has nothing to share.
        shared: bool,
        /// `--unpin REASON`: promote over a pin a rollback left.
        unpin: Option<String>,
    },
    /// A rollback to a known-good version (`slate rollback --to`): a new
    /// run of the plan that put the version live (see `rollback_to`).
    RollbackTo(super::rollback_to::Ask),
    /// A run whose engine died: its id (or a prefix, or "latest"), and
    /// what to do with a step the crash interrupted, when decided in advance.
    Recover {
        run: String,
        interrupted: Option<RollbackChoice>,
    },
}

/// How the front end wants the engine.
pub struct Shape {
    /// The client the starter works through ("headless", "cockpit").
    pub via: &'static str,
    pub unattended: Unattended,
    /// Stay up after the run for late rollbacks, until shut down.
    pub linger: bool,
    /// Without a control socket nobody can steer or even see the run.
    pub socket_required: bool,
    /// A client here takes every record from the engine (the headless
    /// printer); otherwise followers read the journal file and the engine
    /// keeps a small every-record channel (see `EngineOptions::every_record_buffer`).
    pub prints_every_record: bool,
}

/// Why a run could not be assembled: the lines to show, and the exit status.
pub struct Failure {
    pub lines: Vec<String>,
    pub code: i32,
}

impl Failure {
    fn one(line: String, code: i32) -> Failure {
        Failure {
            lines: vec![line],
            code,
        }
    }
}

/// A run ready to go: nothing has run yet, and every client that must see
/// the first record is subscribed.
pub struct Assembled {
    pub engine: Engine,
    pub handle: EngineHandle,
    /// The control socket; `None` only when it was optional and failed
    /// (`socket_warning` says why).
    pub server: Option<ControlServer>,
    pub socket_warning: Option<String>,
    /// Who started (or took over) the run.
    pub actor: Actor,
    /// What the journal held before (a recovered run).
    pub before: Vec<Record>,
    /// What reading a recovered journal warned about (a torn tail).
    pub warning: Option<String>,
    /// A new run (not a recovery).
    pub fresh: bool,
}

impl Assembled {
    /// Gives the run up before its engine has run: a new run leaves no
    /// empty directory behind; a recovery leaves the journal as it was.
    pub fn abandon(self) {
        let Assembled {
            engine,
            handle,
            server,
            fresh,
            ..
        } = self;
        drop(server);
        drop(engine);
        if fresh {
            let _ = std::fs::remove_dir_all(&handle.run_dir);
        }
    }
}

/// Loads the plan and checks the pre-approvals, without starting anything.
pub fn load(
    path: &Path,
    approve: &[String],
    auto_approve: bool,
    set: &[(String, String)],
) -> Result<Plan, Failure> {
    let plan = plan::load_file_with(path, set).map_err(|e| Failure {
        lines: e.lines(),
        code: crate::exit::USAGE,
    })?;
    let manual: Vec<&str> = plan
        .gates
        .iter()
        .filter(|g| matches!(g.kind, GateKind::Manual { .. }))
        .map(|g| g.name.as_str())
        .collect();
    for g in approve {
        if !manual.contains(&g.as_str()) {
            return Err(Failure::one(
                format!(
                    "slate: --approve {g}: the plan has no manual gate named {g} (manual gates: {})",
                    if manual.is_empty() {
                        "none".to_string()
                    } else {
                        manual.join(", ")
                    }
                ),
                crate::exit::USAGE,
            ));
        }
    }
    // Four-eyes: the starter's pre-approval could never count, so say so before anything runs.
    let conflicts = crate::engine::policy::pre_approval_conflicts(&plan, approve, auto_approve);
    if !conflicts.is_empty() {
        return Err(Failure {
            lines: conflicts
                .into_iter()
                .map(|c| format!("slate: {c}"))
                .collect(),
            code: crate::exit::USAGE,
        });
    }
    Ok(plan)
}

/// Builds the engine for `source`, opens its control socket, and starts the
/// notifier and the recorder as clients of it.
pub fn assemble(source: Source, shape: &Shape, state_dir: &Path) -> Result<Assembled, Failure> {
    let mut actor = Actor::current(shape.via);
    let (engine, handle, before, warning, fresh, shared) = match source {
        Source::Plan {
            path,
            approve,
            auto_approve,
            set,
            lock_wait,
            break_glass,
            shared,
            unpin,
        } => {
            if unpin.as_ref().is_some_and(|r| r.trim().is_empty()) {
                return Err(Failure::one(
                    "slate: --unpin needs a reason: say why the pin a rollback left is overruled"
                        .into(),
                    crate::exit::USAGE,
                ));
            }
            if break_glass.as_ref().is_some_and(|r| r.trim().is_empty()) {
                return Err(Failure::one(
                    "slate: --break-glass needs a reason: say why the line is crossed".into(),
                    crate::exit::USAGE,
                ));
            }
            let plan = load(&path, &approve, auto_approve, &set)?;
            if shared {
                actor = starter(actor)?;
            }
            let mut opts = options(path.display().to_string(), shape, state_dir, &actor);
            opts.pre_approved = approve;
            opts.auto_approve = auto_approve;
            opts.lock_wait = lock_wait;
            opts.break_glass = break_glass;
            opts.unpin = unpin;
            let (engine, handle) = Engine::new(plan, opts)
                .map_err(|e| Failure::one(format!("slate: {}", e.0), crate::exit::NOT_RELEASED))?;
            (engine, handle, Vec::new(), None, true, shared)
        }
        Source::RollbackTo(ask) => {
            let ready = super::rollback_to::prepare(&ask, state_dir)?;
            actor = starter(actor)?;
            let mut opts = options(ready.plan_path, shape, state_dir, &actor);
            opts.rollback_to = Some(ready.to);
            let (engine, handle) = Engine::new(ready.plan, opts)
                .map_err(|e| Failure::one(format!("slate: {}", e.0), crate::exit::NOT_RELEASED))?;
            (engine, handle, Vec::new(), None, true, true)
        }
        Source::Recover { run, interrupted } => {
            let (run_dir, foreign) = match crate::runs::find_run(state_dir, &run) {
                Ok(d) => (d, None),
                // A team run whose engine died on another machine.
                Err(e) => super::team_recover::fetch(state_dir, &run)
                    .map_err(|why| {
                        Failure::one(
                            format!(
                                "slate: {e}{}",
                                why.map(|w| format!("; {w}")).unwrap_or_default()
                            ),
                            crate::exit::USAGE,
                        )
                    })
                    .map(|(d, there)| (d, Some(there)))?,
            };
            // A demo's fleet is its own; anything else is a team run when
            // a team store is configured.
            if !run_dir.join(crate::cli::demo::FLEET_DIR).is_dir() {
                actor = starter(actor)?;
            }
            let mut opts = options(run_dir.display().to_string(), shape, state_dir, &actor);
            opts.on_interrupted = interrupted;
            opts.foreign = foreign;
            let taken = Engine::recover(&run_dir, opts)
                .map_err(|r| Failure::one(format!("slate: {}", r.message), r.code))?;
            // A recovered demo's fleet is its own too (in the run's `fleet/`).
            let shared = !taken
                .handle
                .run_dir
                .join(crate::cli::demo::FLEET_DIR)
                .is_dir();
            (
                taken.engine,
                taken.handle,
                taken.records,
                taken.warning,
                false,
                shared,
            )
        }
    };
    let mut engine = engine;
    match admission(state_dir, shared, engine.plan()) {
        Ok(None) => {}
        Ok(Some((a, policy, second))) => {
            engine.set_admission(a);
            engine.set_break_glass_policy(policy, second);
        }
        Err(lines) => return Err(not_started(engine, &handle, fresh, lines)),
    }
    // A team run's journal lives in the team store too (its lease taken,
    // what the file holds copied in), before the engine writes a record.
    if shared && let Err(lines) = team_journal(&mut engine, &handle, state_dir, fresh, &before) {
        return Err(not_started(engine, &handle, fresh, lines));
    }
    let (server, socket_warning) = match ControlServer::start(handle.clone()) {
        Ok(s) => (Some(s), None),
        Err(e) => {
            let path = handle.run_dir.join(crate::control::SOCKET_FILE);
            tracing::warn!(error = %e, path = %path.display(), "cannot open the control socket");
            if shape.socket_required {
                if fresh {
                    // Nothing has run: leave no empty run behind.
                    drop(engine);
                    let _ = std::fs::remove_dir_all(&handle.run_dir);
                }
                return Err(Failure::one(
                    format!(
                        "slate: cannot open the control socket {}: {e}; nobody could steer the run, so it was not started",
                        path.display()
                    ),
                    crate::exit::NOT_RELEASED,
                ));
            }
            (
                None,
                Some(format!(
                    "cannot open the control socket {}: {e}",
                    path.display()
                )),
            )
        }
    };
    clients(engine.plan(), &handle, RunState::replay(&before), state_dir);
    Ok(Assembled {
        engine,
        handle,
        server,
        socket_warning,
        actor,
        before,
        warning,
        fresh,
    })
}

/// Starts the clients every run has besides its front end: the notifier
/// (when the plan has channels) and the recorder (index line and dossier).
/// Call it before the engine runs, so they hear the first record; `state`
/// is what the journal already held.
pub fn clients(plan: &Plan, handle: &EngineHandle, state: RunState, state_dir: &Path) {
    if !plan.channels.is_empty() {
        crate::notify::spawn(crate::notify::Setup {
            plan: plan.clone(),
            records: handle.subscribe_states(),
            engine: handle.downgrade(),
            hold: handle.hold(crate::notify::settle_bound(plan)),
            journal: handle.journal_path(),
        });
    }
    crate::recorder::spawn(
        handle,
        state,
        state_dir.to_path_buf(),
        crate::store::ledger::config_digests(plan),
    );
}

fn options(plan_path: String, shape: &Shape, state_dir: &Path, actor: &Actor) -> EngineOptions {
    let mut opts = EngineOptions::new(plan_path, state_dir, actor.clone());
    opts.unattended = shape.unattended;
    opts.linger = shape.linger;
    if !shape.prints_every_record {
        opts.every_record_buffer = 1_024;
    }
    opts
}

/// Who starts (or takes over) a run that shares its environments: the OS
/// user, or, with a team store, the person the store authenticates this
/// process as, so approver lists and four-eyes compare people the same
/// way on every machine (the store's commands come as that person too).
/// A team store that cannot say who this is starts nothing.
fn starter(os: Actor) -> Result<Actor, Failure> {
    let team = crate::store::postgres::configured(&crate::paths::config_dir())
        .map_err(|e| Failure::one(format!("slate: {e}"), crate::exit::USAGE))?;
    let Some(team) = team else { return Ok(os) };
    let me = crate::store::postgres::members::whoami(&team).map_err(|e| {
        Failure::one(
            format!(
                "slate: {e}; a team run's people are the team store's, so the run was not started"
            ),
            crate::exit::NOT_RELEASED,
        )
    })?;
    let actor = Actor {
        user: crate::text::neutral::line(&me.person).into_owned(),
        uid: os.uid,
        via: os.via,
        roles: Some(me.roles),
    };
    // Whoever reaches this engine's socket as this OS user holds the same
    // database credentials: the same person.
    crate::control::peer::set_team_self(&actor);
    Ok(actor)
}

/// The admission, who may break glass by the team's config, and whether
/// the team's config asks for a second person's approval of a break-glass.
type Admitting = (
    crate::engine::admission::AdmissionRef,
    Option<Vec<String>>,
    bool,
);

/// A run given up before its engine ran: a new one leaves no directory.
fn not_started(engine: Engine, handle: &EngineHandle, fresh: bool, lines: Vec<String>) -> Failure {
    drop(engine);
    if fresh {
        let _ = std::fs::remove_dir_all(&handle.run_dir);
    }
    Failure {
        lines,
        code: crate::exit::NOT_RELEASED,
    }
}

/// Gives the engine the team journal when a team store is configured. A
/// run recovered on its own machine (`fresh` false) has its engine lock,
/// which proves its old engine gone, so its lease is taken at once.
fn team_journal(
    engine: &mut Engine,
    handle: &EngineHandle,
    state_dir: &Path,
    fresh: bool,
    before: &[Record],
) -> Result<(), Vec<String>> {
    let team = crate::store::postgres::configured(&crate::paths::config_dir())
        .map_err(|e| vec![format!("slate: {e}")])?;
    let Some(team) = team else { return Ok(()) };
    let origin = crate::store::postgres::origin(state_dir);
    // Taken at once only by a recovery on the run's own machine; one from
    // another machine waits for the lease to lapse.
    let here = !fresh && engine.foreign().is_none();
    let mirror = crate::store::postgres::journal::TeamJournal::start(
        &team,
        &handle.run_id,
        &origin,
        here,
        before,
    )
    .map_err(|e| {
        vec![format!(
            "slate: {e}; a team run's journal lives in the team store, so the run was not started"
        )]
    })?;
    // Commands from other machines, fenced by the same lease.
    crate::store::postgres::commands::spawn(
        team,
        handle.downgrade(),
        handle.run_id.clone(),
        mirror.token(),
    );
    engine.set_journal_mirror(Box::new(mirror));
    Ok(())
}

/// The admission every run asks before promoting (locks, holds, freezes),
/// over the state directory's store. Without a store nobody could tell
/// whether an environment is free, so the run does not start (fail closed).
fn admission(
    state_dir: &Path,
    shared: bool,
    plan: &Plan,
) -> Result<Option<Admitting>, Vec<String>> {
    if !shared {
        return Ok(None);
    }
    // The team's freezes (config.toml) hold for every plan; one that cannot
    // be read stops the run rather than letting it through.
    let team = crate::stopline::config::load(&crate::paths::config_dir()).map_err(|e| e.lines())?;
    let mut windows = team.windows;
    windows.extend(plan.windows.clone());
    // The team store when there is one: its locks and freezes bind every
    // machine sharing it, and a run that cannot reach it cannot tell
    // whether another machine is in prod.
    let opened = crate::store::open(state_dir).map_err(|e| {
        vec![format!("slate: {e}; without the store nobody can tell which environments are locked, so the run was not started")]
    })?;
    Ok(Some((
        std::sync::Arc::new(crate::stopline::StoreAdmission::new(
            opened.store,
            state_dir,
            windows,
        )),
        team.break_glass,
        team.break_glass_second,
    )))
}
