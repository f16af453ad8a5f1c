//! `slate run PLAN` and `slate recover RUN`: start a release, or take over
//! one whose engine died. Headless, the run is assembled and driven in this
//! process ([`crate::host`]); with the cockpit, this process starts an
//! engine host (the same verb with `--serve`) and attaches to it.

use std::path::Path;

use super::RunArgs;
use crate::engine::event::RollbackChoice;
use crate::host::{self, Front, Source};

/// `slate recover RUN`'s arguments, as parsed.
pub struct RecoverArgs {
    /// Run id, unique prefix, or "latest".
    pub run: String,
    pub headless: bool,
    pub json: bool,
    /// What to do with a step the crash interrupted (otherwise someone decides).
    pub interrupted: Option<RollbackChoice>,
    pub no_wait: bool,
    pub theme: Option<String>,
    /// Be the cockpit's engine host instead of printing.
    pub serve: bool,
}

pub fn run(args: RunArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !args.headless && !args.serve {
        let cockpit = crate::cockpit::CockpitArgs {
            theme: args.theme,
            plan: Some(crate::cockpit::Outline::File {
                path: args.plan,
                set: args.set,
            }),
        };
        return super::launch_cockpit(cockpit, state_dir, config_dir);
    }
    let source = Source::Plan {
        set: args.set.clone(),
        path: args.plan,
        approve: args.approve.clone(),
        auto_approve: args.auto_approve,
        lock_wait: args.lock_wait,
        break_glass: args.break_glass.clone(),
        shared: true,
        unpin: args.unpin.clone(),
    };
    let front = Front::new(
        args.serve,
        host::headless::Options {
            json: args.json,
            approve: args.approve,
            auto_approve: args.auto_approve,
            no_wait: args.no_wait,
            interrupted_preset: false,
        },
    );
    super::host_block_on(args.serve, host::run(source, front, state_dir))
}

/// `slate rollback --to VERSION --env ENV --reason R`: a new run, headless,
/// that deploys VERSION again with the plan that put it live there. With
/// `serve`, the engine host the board starts (`host::launch`), which the
/// board's cockpit then attaches to.
pub fn rollback_to(ask: host::rollback_to::Ask, json: bool, serve: bool, state_dir: &Path) -> i32 {
    let front = Front::new(
        serve,
        host::headless::Options {
            json,
            approve: Vec::new(),
            auto_approve: false,
            no_wait: false,
            interrupted_preset: false,
        },
    );
    super::host_block_on(serve, host::run(Source::RollbackTo(ask), front, state_dir))
}

pub fn recover(args: RecoverArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !args.headless && !args.serve {
        let cockpit = crate::cockpit::CockpitArgs {
            theme: args.theme,
            plan: None,
        };
        return super::launch_cockpit(cockpit, state_dir, config_dir);
    }
    let source = Source::Recover {
        run: args.run,
        interrupted: args.interrupted,
    };
    let front = Front::new(
        args.serve,
        host::headless::Options {
            json: args.json,
            approve: Vec::new(),
            auto_approve: false,
            no_wait: args.no_wait,
            interrupted_preset: args.interrupted.is_some(),
        },
    );
    super::host_block_on(args.serve, async move {
        // A demo's fleet lives in its run's directory and dies with its
        // engine: the engine that takes the run over brings it back first.
        let mut fleet = None;
        let code = host::run_with(source, front, state_dir, |run| {
            fleet = super::demo::revive_fleet(&run.handle.run_dir)?;
            Ok(())
        })
        .await;
        if let Some(fleet) = fleet {
            crate::demo_service::stop_all(&fleet);
        }
        code
    })
}
