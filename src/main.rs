use std::process::ExitCode;

use clap::Parser;
use slate::cli::{self, Cli};
use slate::state_dir::{self, Standing};
use slate::{logging, paths};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let code = cli::dispatch(cli, &state_dir, &paths::config_dir());
    ExitCode::from(code as u8)
}
