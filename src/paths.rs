//! Where Slate keeps its state and reads its config. `SLATE_HOME` overrides
//! both (tests always set it), so a run never touches the user's real state.

use std::path::PathBuf;

fn home_override() -> Option<PathBuf> {
    std::env::var_os("SLATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn project() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "slate")
}

/// Journals, dossiers, the log file and (later) control sockets live here.
pub fn state_dir() -> PathBuf {
    if let Some(home) = home_override() {
        return home;
    }
    project()
        .map(|p| p.state_dir().unwrap_or(p.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".slate"))
}

/// The user's `config.toml` and extra themes.
pub fn config_dir() -> PathBuf {
    if let Some(home) = home_override() {
        return home.join("config");
    }
    project()
        .map(|p| p.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".slate/config"))
}

/// Creates a directory only its owner can enter.
pub fn ensure_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
