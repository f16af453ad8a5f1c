use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use slate::cli::{self, Cli};
use slate::state_dir::{self, Standing};
use slate::{logging, paths};

fn main() -> ExitCode {
    // `slate` alone in a terminal opens the board, Slate's home screen;
    // elsewhere (a script, a pipe) it says how to use it, as it always has.
    let cli = if std::env::args_os().len() == 1
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
    {
        Cli::parse_from(["slate", "board"])
    } else {
        Cli::parse()
    };
    let state_dir = paths::state_dir();
    // A state directory someone else could have prepared is refused before
    // anything is written there (see `state_dir.rs`).
    match state_dir::admit(&state_dir, cli::state_use(&cli.command)) {
        Ok(Standing::Own) => {
            logging::init(&state_dir);
            logging::log_start();
        }
        Ok(_) => {}
        Err(e) => {
            slate::warn_user!("slate: {e}");
            return ExitCode::from(1);
        }
    }
    logging::install_panic_log();
    let mut code = cli::dispatch(cli, &state_dir, &paths::config_dir());
    // A cockpit left with `:board` (the release goes on): the board next;
    // with `:attach RUN`, that run's cockpit next. Each is a person's ask,
    // so the chain is as long as they make it.
    loop {
        if slate::cockpit::board_asked() {
            code = slate::board::run(
                slate::board::BoardArgs { theme: None },
                &state_dir,
                &paths::config_dir(),
            );
        } else if let Some(run) = slate::cockpit::attach_asked() {
            code = cli::dispatch(
                Cli::parse_from(["slate", "attach", run.as_str()]),
                &state_dir,
                &paths::config_dir(),
            );
        } else {
            break;
        }
    }
    ExitCode::from(code as u8)
}
