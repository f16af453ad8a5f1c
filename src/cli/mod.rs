//! The command line: `args` is what clap parses, [`dispatch`] hands each
//! subcommand to its verb. Each verb family has a file here (`steer` for
//! the verbs that drive an active run, `show`, `validate`, `dossier`,
//! `memory`, `ledger` (and `store`), `demo`, `plan` (the preview), `init` (scaffolding),
//! `doctor`, `tooling` (schema, completions, man page), `run` for the verbs that start or
//! take over a run);
//! the interactive viewers (`history`, `review`, `attach`, `replay`) live
//! in their own modules and are called from here the same way.

mod analysis;
mod args;
mod changes;
mod complete;
pub mod demo;
mod doctor;
mod dossier;
pub mod export;
pub mod init;
pub mod ledger;
pub mod locks;
mod memory;
mod plan;
mod run;
pub mod said;
mod show;
mod stats;
pub mod steer;
mod team;
mod tooling;
mod validate;
mod watch;

use std::future::Future;
use std::path::Path;

pub use args::{Cli, Cmd, DecideArg, InitArgs, InterruptedArg, PlanArgs, RunArgs, StoreCmd};

use crate::engine::Action;

/// How a verb uses the state directory, for [`crate::state_dir::admit`]:
/// `validate` never touches it (nor do `plan`, `init`, `schema`, `man`,
/// the completions, or `doctor`, which judges it itself; `complete` only
/// reads run names for a shell); the verbs that read or steer one run by its
/// id may work in a directory shared with them; everything else keeps runs
/// and logs there, so the directory must be the user's own.
pub fn state_use(cmd: &Cmd) -> crate::state_dir::Use {
    use crate::state_dir::Use;
    match cmd {
        Cmd::Validate { .. }
        | Cmd::Plan(_)
        | Cmd::Init(_)
        | Cmd::Doctor { .. }
        | Cmd::Complete { .. }
        | Cmd::Schema { .. }
        | Cmd::Completions { .. }
        | Cmd::Man { .. } => Use::None,
        Cmd::Approve { .. }
        | Cmd::Reject { .. }
        | Cmd::Pause { .. }
        | Cmd::Resume { .. }
        | Cmd::Rollback { to: None, .. }
        | Cmd::Abort { .. }
        | Cmd::Promote { .. }
        | Cmd::Weight { .. }
        | Cmd::Decide { .. }
        | Cmd::Retry { .. }
        | Cmd::Note { .. }
        | Cmd::Attach { .. }
        | Cmd::Show { .. }
        | Cmd::Export { .. }
        | Cmd::Dossier { .. }
        | Cmd::Analysis { .. }
        | Cmd::Replay { .. } => Use::OneRun,
        _ => Use::Own,
    }
}

/// Runs the subcommand; returns the process's exit status.
pub fn dispatch(cli: Cli, state_dir: &Path, config_dir: &Path) -> i32 {
    let steer = |run: String, action: Action| {
        block_on(async { steer::command(state_dir, &run, action).await })
    };
    match cli.command {
        Cmd::Validate { plan, set } => validate::run(&plan, &set, state_dir),
        Cmd::Plan(args) => plan::run(&args),
        Cmd::Init(args) => init::run(args),
        Cmd::Doctor { plan } => doctor::run(state_dir, plan.as_deref()),
        Cmd::Schema { out } => tooling::schema(out.as_deref()),
        Cmd::Completions { shell } => tooling::completions(shell),
        Cmd::Complete { kind, target } => complete::run(state_dir, kind, target.as_deref()),
        Cmd::Man { dir } => tooling::man(dir.as_deref()),
        Cmd::Show { run, json } => show::run(state_dir, &run, json),
        Cmd::Export { run, output } => export::run(state_dir, &run, output.as_deref()),
        Cmd::Status {
            json: _,
            watch: true,
        } => watch::status(state_dir),
        Cmd::Status { json, watch: false } => steer::status(state_dir, json),
        Cmd::Board { theme } => {
            crate::board::run(crate::board::BoardArgs { theme }, state_dir, config_dir)
        }
        Cmd::Ledger {
            release,
            env,
            limit,
            json,
        } => ledger::run(
            state_dir,
            &ledger::LedgerArgs {
                release,
                env,
                limit: (limit > 0).then_some(limit),
                json,
            },
        ),
        Cmd::Stats {
            release,
            env,
            since,
            json,
            serve,
        } => stats::run(
            state_dir,
            &stats::StatsArgs {
                release,
                env,
                since,
                json,
                serve,
            },
        ),
        Cmd::Store(StoreCmd::Rebuild) => ledger::rebuild(state_dir),
        Cmd::Store(StoreCmd::Init) => team::run(team::Verb::Init, state_dir, config_dir),
        Cmd::Store(StoreCmd::Import) => team::run(team::Verb::Import, state_dir, config_dir),
        Cmd::Store(StoreCmd::Grant {
            role,
            level,
            person,
        }) => team::run(
            team::Verb::Grant {
                level: match level {
                    args::LevelArg::Watch => crate::store::postgres::members::Level::Watch,
                    args::LevelArg::Steer => crate::store::postgres::members::Level::Steer,
                    args::LevelArg::Run => crate::store::postgres::members::Level::Run,
                },
                person: person.unwrap_or_else(|| role.clone()),
                role,
            },
            state_dir,
            config_dir,
        ),
        Cmd::Store(StoreCmd::Revoke { role }) => {
            team::run(team::Verb::Revoke { role }, state_dir, config_dir)
        }
        Cmd::Store(StoreCmd::Members { json }) => {
            team::run(team::Verb::Members { json }, state_dir, config_dir)
        }
        Cmd::Lock {
            env,
            release,
            reason,
        } => locks::lock(state_dir, &env, release.as_deref(), &reason),
        Cmd::Unlock { env, release } => locks::unlock(state_dir, &env, release.as_deref()),
        Cmd::Locks { json } => locks::list(state_dir, json),
        Cmd::Freeze {
            env,
            until,
            from,
            tz,
            reason,
        } => locks::freeze(
            state_dir,
            &env,
            &until,
            from.as_deref(),
            tz.as_deref(),
            &reason,
        ),
        Cmd::Unfreeze { env } => locks::unfreeze(state_dir, &env),
        Cmd::Approve {
            run,
            gate,
            show: true,
            ..
        } => changes::show(state_dir, &run, gate.as_deref()),
        Cmd::Approve {
            run, gate, comment, ..
        } => steer(run, Action::Approve { gate, comment }),
        Cmd::Reject { run, gate, reason } => steer(run, Action::Reject { gate, reason }),
        Cmd::Pause { run } => steer(run, Action::Pause),
        Cmd::Resume { run } => steer(run, Action::Resume),
        Cmd::Rollback {
            run: Some(run),
            env,
            reason,
            ..
        } => steer(run, Action::Rollback { env, reason }),
        Cmd::Rollback {
            to: Some(version),
            env: Some(env),
            release,
            reason,
            json,
            serve,
            ..
        } => run::rollback_to(
            crate::host::rollback_to::Ask {
                version,
                env,
                release,
                reason,
            },
            json,
            serve,
            state_dir,
        ),
        Cmd::Rollback { .. } => {
            crate::warn_user!("slate rollback: give a RUN, or --to VERSION --env ENV");
            crate::exit::USAGE
        }
        Cmd::Abort { run, reason } => steer(run, Action::Abort { reason }),
        Cmd::Promote { run, full, reason } => steer(run, Action::Promote { full, reason }),
        Cmd::Weight {
            run,
            weight,
            reason,
        } => steer(run, Action::Weight { weight, reason }),
        Cmd::Decide { run, choice, note } => steer(
            run,
            Action::Decide {
                choice: choice.into(),
                note,
            },
        ),
        Cmd::Retry { run } => steer(run, Action::Retry),
        Cmd::Note { run, text } => steer(run, Action::Note { text }),
        Cmd::Recover {
            run,
            headless,
            json,
            interrupted,
            no_wait,
            theme,
            serve,
        } => run::recover(
            run::RecoverArgs {
                run,
                headless,
                json,
                interrupted: interrupted.map(Into::into),
                no_wait,
                theme,
                serve,
            },
            state_dir,
            config_dir,
        ),
        Cmd::Dossier { run, out } => dossier::run(state_dir, &run, out.as_deref()),
        Cmd::Analysis { run, env, json } => analysis::run(state_dir, &run, env.as_deref(), json),
        Cmd::Memory {
            limit,
            release,
            json,
        } => memory::run(state_dir, limit, release.as_deref(), json),
        Cmd::Review { run, theme } => crate::review::run(state_dir, config_dir, &run, theme),
        Cmd::History {
            json,
            outcome,
            theme,
        } => crate::history::run(
            crate::history::HistoryArgs {
                json,
                outcome: outcome.map(|o| o.0),
                theme,
            },
            state_dir,
            config_dir,
        ),
        Cmd::Screenshot {
            plan: None,
            out,
            width,
            height,
            theme,
            ..
        } => match crate::board::screenshot::run(&out, width, height, &theme, state_dir) {
            Ok(()) => 0,
            Err(e) => {
                crate::warn_user!("slate: {e}");
                1
            }
        },
        Cmd::Screenshot {
            plan: Some(plan),
            out,
            width,
            height,
            theme,
            ..
        } => block_on(async {
            match crate::cockpit::screenshot::run(&plan, &out, width, height, &theme, state_dir)
                .await
            {
                Ok(()) => 0,
                Err(e) => {
                    crate::warn_user!("slate: {e}");
                    1
                }
            }
        }),
        Cmd::Demo {
            scenario,
            fast,
            headless,
            json,
            theme,
            serve,
        } => demo::run(
            demo::DemoArgs {
                scenario,
                fast,
                headless,
                json,
                theme,
                serve,
            },
            state_dir,
            config_dir,
        ),
        Cmd::Run(args) => run::run(args, state_dir, config_dir),
        Cmd::Attach {
            run,
            read_only,
            theme,
        } => block_on(crate::cockpit::attach::run(
            crate::cockpit::attach::AttachArgs {
                run,
                read_only,
                theme,
            },
            state_dir,
            config_dir,
        )),
        Cmd::Replay {
            run,
            speed,
            theme,
            paused,
        } => block_on(crate::cockpit::replay::run(
            crate::cockpit::replay::ReplayArgs {
                run,
                speed,
                theme,
                paused,
            },
            state_dir,
            config_dir,
        )),
        Cmd::DemoService(cmd) => crate::demo_service::run(cmd),
    }
}

/// Runs a verb's future on a runtime of its own and returns its status.
/// Once the verb is done nothing left may hold the process open (a command
/// still waiting on a socket, a reader of a terminal that went away), so
/// the runtime is shut down without waiting for its tasks.
pub fn block_on(verb: impl Future<Output = i32>) -> i32 {
    block_on_telling(verb, |line| crate::warn_user!("{line}"))
}

/// [`block_on`], telling a runtime that cannot start through `tell`.
fn block_on_telling(verb: impl Future<Output = i32>, tell: fn(&str)) -> i32 {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => {
            let code = rt.block_on(verb);
            rt.shutdown_background();
            code
        }
        Err(e) => {
            tell(&format!("slate: cannot start the runtime: {e}"));
            1
        }
    }
}

/// Like [`block_on`], but an engine host tells a failure to start
/// on its handshake (stdout), where its cockpit reads it.
fn host_block_on(serve: bool, verb: impl std::future::Future<Output = i32>) -> i32 {
    let tell = if serve {
        crate::host::serve::say
    } else {
        tell_stderr
    };
    block_on_telling(verb, tell)
}

fn tell_stderr(line: &str) {
    crate::warn_user!("{line}");
}

/// `slate run PLAN`, `slate demo` and `slate recover RUN` in the cockpit:
/// starts the engine host with this process's own arguments (plus
/// `--serve`) and attaches to its run.
fn launch_cockpit(args: crate::cockpit::CockpitArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    let host_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    block_on(crate::cockpit::launch(
        host_args, args, state_dir, config_dir,
    ))
}
