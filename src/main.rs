use std::process::ExitCode;

use clap::Parser;
use slate::cli::{Cli, Cmd};
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
            headless,
            json,
            theme,
        } => {
            let (plan, root) = match slate::commands_demo::prepare(&state_dir) {
                Ok(x) => x,
                Err(e) => {
                    slate::warn_user!(
                        "slate: cannot prepare the demo in {}: {e}",
                        state_dir.display()
                    );
                    return ExitCode::from(1);
                }
            };
            // SAFETY: set before any thread starts; the demo plan's commands read it.
            unsafe { std::env::set_var("SLATE_EXAMPLE_ROOT", &root) };
            run_plan(
                slate::cli::RunArgs {
                    plan,
                    headless,
                    json,
                    approve: Vec::new(),
                    auto_approve: headless,
                    theme,
                },
                &state_dir,
            )
        }
        Cmd::Run(args) => run_plan(args, &state_dir),
        Cmd::DemoService(cmd) => slate::demo_service::run(cmd),
    };
    ExitCode::from(code as u8)
}

fn run_plan(args: slate::cli::RunArgs, state_dir: &std::path::Path) -> i32 {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            slate::warn_user!("slate: cannot start the runtime: {e}");
            return 1;
        }
    };
    let code = if args.headless {
        let hargs = headless::HeadlessArgs {
            json: args.json,
            approve: args.approve,
            auto_approve: args.auto_approve,
        };
        rt.block_on(headless::run(&args.plan, hargs, state_dir))
    } else {
        let cargs = slate::cockpit::CockpitArgs { theme: args.theme };
        rt.block_on(slate::cockpit::run(
            &args.plan,
            cargs,
            state_dir,
            &paths::config_dir(),
        ))
    };
    // The run is over and journaled; nothing left may hold the process open.
    rt.shutdown_background();
    code
}
