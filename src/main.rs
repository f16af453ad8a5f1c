use std::process::ExitCode;

use clap::Parser;
use slate::cli::{Cli, Cmd};
use slate::control::WireCommand;
use slate::{commands_show, commands_validate, headless, logging, paths};

fn main() -> ExitCode {
    let _ = color_eyre::install();
    let cli = Cli::parse();
    let state_dir = paths::state_dir();
    logging::init(&state_dir);
    tracing::info!(args = ?std::env::args().collect::<Vec<_>>(), "slate started");
    let code = match cli.command {
        Cmd::Validate { plan } => commands_validate::run(&plan),
        Cmd::Show { run, json } => commands_show::run(&state_dir, &run, json),
        Cmd::Status { json } => slate::commands_control::status(&state_dir, json),
        Cmd::Approve { run, gate, comment } => slate::commands_control::command(
            &state_dir,
            &run,
            WireCommand::Approve { gate, comment },
        ),
        Cmd::Reject { run, gate, reason } => {
            slate::commands_control::command(&state_dir, &run, WireCommand::Reject { gate, reason })
        }
        Cmd::Pause { run } => {
            slate::commands_control::command(&state_dir, &run, WireCommand::Pause)
        }
        Cmd::Resume { run } => {
            slate::commands_control::command(&state_dir, &run, WireCommand::Resume)
        }
        Cmd::Rollback { run, env, reason } => slate::commands_control::command(
            &state_dir,
            &run,
            WireCommand::Rollback { env, reason },
        ),
        Cmd::Abort { run, reason } => {
            slate::commands_control::command(&state_dir, &run, WireCommand::Abort { reason })
        }
        Cmd::Decide { run, choice, note } => slate::commands_control::command(
            &state_dir,
            &run,
            WireCommand::Decide {
                choice: choice.into(),
                note,
            },
        ),
        Cmd::Retry { run } => {
            slate::commands_control::command(&state_dir, &run, WireCommand::Retry)
        }
        Cmd::Note { run, text } => {
            slate::commands_control::command(&state_dir, &run, WireCommand::Note { text })
        }
        Cmd::Recover {
            run,
            headless,
            json,
            interrupted,
            no_wait,
            theme,
            serve,
        } => recover(
            slate::headless::RecoverArgs {
                run,
                headless,
                json,
                interrupted: interrupted.map(Into::into),
                no_wait,
                theme,
                serve,
            },
            &state_dir,
        ),
        Cmd::Dossier { run, out } => slate::commands_dossier::run(&state_dir, &run, out.as_deref()),
        Cmd::Memory {
            limit,
            release,
            json,
        } => slate::commands_memory::run(&state_dir, limit, release.as_deref(), json),
        Cmd::Review { run } => slate::review::run(&state_dir, &paths::config_dir(), &run),
        Cmd::History { json, outcome } => slate::history::run(
            slate::history::HistoryArgs {
                json,
                outcome: outcome.map(|o| o.0),
            },
            &state_dir,
            &paths::config_dir(),
        ),
        Cmd::Screenshot {
            plan,
            out,
            width,
            height,
            theme,
        } => match tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                rt.block_on(slate::cockpit::screenshot::run(
                    &plan, &out, width, height, &theme, &state_dir,
                ))
            }) {
            Ok(()) => 0,
            Err(e) => {
                slate::warn_user!("slate: {e}");
                1
            }
        },
        Cmd::Demo {
            scenario,
            fast,
            headless,
            json,
            theme,
            serve,
        } => run_demo(scenario, fast, headless, json, theme, serve, &state_dir),
        Cmd::Run(args) => run_plan(args, &state_dir),
        Cmd::Attach {
            run,
            read_only,
            theme,
        } => match tokio::runtime::Runtime::new() {
            Ok(rt) => {
                let code = rt.block_on(slate::cockpit::attach::run(
                    slate::cockpit::attach::AttachArgs {
                        run,
                        read_only,
                        theme,
                    },
                    &state_dir,
                    &paths::config_dir(),
                ));
                // A command still waiting on the socket must not hold the viewer open.
                rt.shutdown_background();
                code
            }
            Err(e) => {
                slate::warn_user!("slate: cannot start the runtime: {e}");
                1
            }
        },
        Cmd::Replay {
            run,
            speed,
            theme,
            paused,
        } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(slate::cockpit::replay::run(
                slate::cockpit::replay::ReplayArgs {
                    run,
                    speed,
                    theme,
                    paused,
                },
                &state_dir,
                &paths::config_dir(),
            )),
            Err(e) => {
                slate::warn_user!("slate: cannot start the runtime: {e}");
                1
            }
        },
        Cmd::DemoService(cmd) => slate::demo_service::run(cmd),
    };
    ExitCode::from(code as u8)
}

fn run_demo(
    scenario: slate::commands_demo::Scenario,
    fast: bool,
    headless: bool,
    json: bool,
    theme: Option<String>,
    serve: bool,
    state_dir: &std::path::Path,
) -> i32 {
    use slate::commands_demo as demo;
    if !headless && !serve {
        // The cockpit: its engine host (`slate demo … --serve`) prepares the
        // demo and owns the fleet, so the fleet lives as long as the release.
        return launch_cockpit(theme, state_dir);
    }
    // In the engine host, problems are the handshake's (stdout).
    let report = |line: &str| {
        if serve {
            slate::host::serve::say(line)
        } else {
            slate::warn_user!("{line}")
        }
    };
    let prepared = demo::prepare(state_dir, scenario, fast)
        .map_err(|e| format!("cannot prepare the demo in {}: {e}", state_dir.display()));
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the slate binary: {e}"));
    let (d, exe) = match (prepared, exe) {
        (Ok(d), Ok(exe)) => (d, exe),
        (Err(e), _) | (_, Err(e)) => {
            report(&format!("slate: {e}"));
            return 1;
        }
    };
    // SAFETY: set before any thread starts; the demo plan's commands read them.
    unsafe {
        std::env::set_var("SLATE_BIN", &exe);
        std::env::set_var("SLATE_DEMO_FLEET", &d.fleet);
        std::env::set_var("SLATE_DEMO_OWNER", std::process::id().to_string());
    }
    if let Err(e) = demo::start_fleet(&d, &exe) {
        demo::stop_fleet(&d);
        report(&format!("slate: {e}"));
        return 1;
    }
    let code = run_plan(
        slate::cli::RunArgs {
            plan: d.plan.clone(),
            headless,
            json,
            approve: Vec::new(),
            auto_approve: headless,
            // The demo never waits for anyone (its socket still serves pause and abort).
            no_wait: headless,
            theme,
            serve,
        },
        state_dir,
    );
    demo::stop_fleet(&d);
    code
}

fn recover(args: slate::headless::RecoverArgs, state_dir: &std::path::Path) -> i32 {
    if !args.headless && !args.serve {
        return launch_cockpit(args.theme, state_dir);
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            slate::warn_user!("slate: cannot start the runtime: {e}");
            return 1;
        }
    };
    let code = if args.serve {
        rt.block_on(slate::host::serve_recover(
            &args.run,
            args.interrupted,
            state_dir,
        ))
    } else {
        rt.block_on(headless::recover(args, state_dir))
    };
    rt.shutdown_background();
    code
}

/// `slate run PLAN` / `slate demo` in the cockpit: starts the engine host with
/// this process's own arguments (plus `--serve`) and attaches to its run.
fn launch_cockpit(theme: Option<String>, state_dir: &std::path::Path) -> i32 {
    let host_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            slate::warn_user!("slate: cannot start the runtime: {e}");
            return 1;
        }
    };
    let code = rt.block_on(slate::cockpit::launch(
        host_args,
        slate::cockpit::CockpitArgs { theme },
        state_dir,
        &paths::config_dir(),
    ));
    // A command still waiting on the socket must not hold the cockpit open.
    rt.shutdown_background();
    code
}

fn run_plan(args: slate::cli::RunArgs, state_dir: &std::path::Path) -> i32 {
    if !args.headless && !args.serve {
        return launch_cockpit(args.theme, state_dir);
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            let line = format!("slate: cannot start the runtime: {e}");
            if args.serve {
                slate::host::serve::say(&line);
            } else {
                slate::warn_user!("{line}");
            }
            return 1;
        }
    };
    let code = if args.serve {
        rt.block_on(slate::host::serve_plan(&args.plan, state_dir))
    } else {
        let hargs = headless::HeadlessArgs {
            json: args.json,
            approve: args.approve,
            auto_approve: args.auto_approve,
            no_wait: args.no_wait,
        };
        rt.block_on(headless::run(&args.plan, hargs, state_dir))
    };
    // The run is over and journaled; nothing left may hold the process open.
    rt.shutdown_background();
    code
}
