//! `slate demo`: the bundled example release in the cockpit (or headless),
//! needing nothing but the binary. The plan is compiled in and written under
//! the state directory, and deploys into a folder there too.

use std::path::{Path, PathBuf};

/// The plan `slate demo` runs: README's example, compiled in.
pub const DEMO_PLAN: &str = include_str!("../config.example.toml");

/// Writes the demo plan into `<state>/demo/` and returns its path and the deploy folder.
pub fn prepare(state_dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let dir = state_dir.join("demo");
    crate::paths::ensure_private_dir(&dir)?;
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, DEMO_PLAN)?;
    let root = dir.join("deployments");
    std::fs::create_dir_all(&root)?;
    Ok((plan, root))
}
