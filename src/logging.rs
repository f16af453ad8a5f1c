//! Diagnostics go to `slate.log` in the state directory, never to the
//! terminal (which belongs to the cockpit or to the headless output).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Installs the file logger; `SLATE_LOG` sets the filter (default `info`).
/// Failing to open the log is not fatal: Slate runs without it.
pub fn init(state_dir: &Path) {
    if crate::paths::ensure_private_dir(state_dir).is_err() {
        return;
    }
    let Ok(file) = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(state_dir.join("slate.log"))
    else {
        return;
    };
    let filter = EnvFilter::try_from_env("SLATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init();
}
