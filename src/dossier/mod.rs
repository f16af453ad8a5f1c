//! The deployment dossier: markdown generated from a run's plan and journal
//! (never from UI state), written to `runs/<id>/dossier.md` when a run ends
//! and on demand with `slate dossier RUN`.

pub mod memory;

use std::path::{Path, PathBuf};

use crate::engine::event::Record;
use crate::journal::{JOURNAL_FILE, read_journal};

pub const DOSSIER_FILE: &str = "dossier.md";

/// A dossier and what the reader should know about its source.
pub struct Rendered {
    pub markdown: String,
    /// A torn journal tail that was skipped.
    pub warning: Option<String>,
}

/// The dossier of the run in `run_dir`, from its journal.
pub fn for_run(run_dir: &Path) -> Result<Rendered, String> {
    let journal = read_journal(&run_dir.join(JOURNAL_FILE)).map_err(|e| e.to_string())?;
    let alive = crate::runs::engine_alive(journal.records.first().map_or(0, |r| match &r.event {
        crate::engine::Event::RunStarted { pid, .. } => *pid,
        _ => 0,
    }));
    Ok(Rendered {
        markdown: render(&journal.records, alive),
        warning: journal.warning,
    })
}

/// Writes `dossier.md` beside the journal, owner-only.
pub fn write(run_dir: &Path) -> Result<PathBuf, String> {
    let r = for_run(run_dir)?;
    let path = run_dir.join(DOSSIER_FILE);
    write_private(&path, &r.markdown).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The markdown for a run's records; `alive` says whether its engine still runs.
pub fn render(records: &[Record], alive: bool) -> String {
    let state = crate::engine::RunState::replay(records);
    let summary = crate::runs::RunSummary::from_state(&state, alive);
    format!(
        "# Deployment dossier: {} {}\n\n## Release Summary\n\n## Environment Matrix\n\n## Deployment Plan\n\n## Verification & Monitoring\n\n## Rollback Strategy\n\n## Post-Deployment Actions\n\n## Communication Plan\n\n## Memory Entry\n\n{}\n",
        state.release, state.version, summary.memory
    )
}
