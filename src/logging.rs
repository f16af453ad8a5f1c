//! Diagnostics go to `slate.log` in the state directory, never to the
//! terminal (which belongs to the cockpit or to the headless output).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// The log's name in the state directory.
pub const LOG_FILE: &str = "slate.log";

/// Opens `<state>/slate.log` for appending (creating it, owner-only).
pub fn open_log(state_dir: &Path) -> std::io::Result<std::fs::File> {
    crate::paths::ensure_private_dir(state_dir)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(state_dir.join(LOG_FILE))
}

/// Installs the file logger; `SLATE_LOG` sets the filter (default `info`).
/// Failing to open the log is not fatal: Slate runs without it.
pub fn init(state_dir: &Path) {
    let Ok(file) = open_log(state_dir) else {
        return;
    };
    let filter = EnvFilter::try_from_env("SLATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init();
}
