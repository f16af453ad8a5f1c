//! `runs/index.ndjson`: one [`RunSummary`] per line, appended when a run
//! starts, ends or is reviewed; the newest line for a run wins. Loading it
//! costs one read however many runs there are; journals are opened only for
//! runs the index does not know or that claimed to be running.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::runs_dir;
use super::summary::{Outcome, RunSummary};
use crate::journal::JOURNAL_FILE;

pub const INDEX_FILE: &str = "index.ndjson";

/// The runs, newest first, and what could not be read.
#[derive(Debug, Default)]
pub struct History {
    pub runs: Vec<RunSummary>,
    pub warnings: Vec<String>,
}

/// Appends one summary; a single write so concurrent runs never interleave lines.
pub fn append(state_dir: &Path, summary: &RunSummary) -> std::io::Result<()> {
    let dir = runs_dir(state_dir);
    crate::paths::ensure_private_dir(&dir)?;
    let mut line = serde_json::to_vec(summary).map_err(std::io::Error::other)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(dir.join(INDEX_FILE))?
        .write_all(&line)
}

/// Summarises a run from its journal and records it in the index.
pub fn record_journal(state_dir: &Path, run_dir: &Path) -> Result<RunSummary, String> {
    let summary = summarise(run_dir)?;
    append(state_dir, &summary).map_err(|e| format!("cannot update the run index: {e}"))?;
    Ok(summary)
}

fn summarise(run_dir: &Path) -> Result<RunSummary, String> {
    let run = super::open_dir_states(run_dir)?;
    let mut s = RunSummary::from_records(&run.records, super::engine_running(run_dir, run.pid()));
    if s.run_id.is_empty() {
        s.run_id = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(s)
}

/// Loads every run, newest first, repairing the index where it is behind.
pub fn load(state_dir: &Path) -> History {
    let dir = runs_dir(state_dir);
    let mut history = History::default();
    let index_path = dir.join(INDEX_FILE);
    let mut by_id: HashMap<String, RunSummary> = HashMap::new();
    let mut lines = 0usize;
    if let Ok(text) = std::fs::read_to_string(&index_path) {
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            lines += 1;
            match serde_json::from_str::<RunSummary>(line) {
                Ok(s) => {
                    by_id.insert(s.run_id.clone(), s);
                }
                Err(e) => history.warnings.push(format!(
                    "{}:{}: skipped an unreadable index line ({e})",
                    index_path.display(),
                    n + 1
                )),
            }
        }
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return history;
    };
    let mut changed = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        let known = by_id.remove(&id);
        let stale = match &known {
            None => true,
            Some(s) => {
                s.outcome == Outcome::Running && !super::engine_running(&entry.path(), s.pid)
            }
        };
        let summary = if stale {
            match summarise(&entry.path()) {
                Ok(s) => {
                    changed.push(s.clone());
                    s
                }
                Err(e) => {
                    if !entry.path().join(JOURNAL_FILE).exists() {
                        continue;
                    }
                    history.warnings.push(format!("run {id}: {e}"));
                    match known {
                        Some(k) => k,
                        None => continue,
                    }
                }
            }
        } else {
            known.expect("not stale means known")
        };
        history.runs.push(summary);
    }
    // Run ids sort by start time.
    history.runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    let forgotten = !by_id.is_empty();
    if lines + changed.len() > 2 * history.runs.len() + 64 || forgotten {
        if let Err(e) = rewrite(&dir, &history.runs) {
            history
                .warnings
                .push(format!("cannot compact {}: {e}", index_path.display()));
        }
    } else {
        for s in &changed {
            if let Err(e) = append(state_dir, s) {
                history
                    .warnings
                    .push(format!("cannot update {}: {e}", index_path.display()));
                break;
            }
        }
    }
    history
}

/// Replaces the index with one line per run, atomically.
fn rewrite(dir: &Path, runs: &[RunSummary]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{INDEX_FILE}.{}.tmp", std::process::id()));
    {
        let mut out = std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&tmp)?,
        );
        for s in runs.iter().rev() {
            serde_json::to_writer(&mut out, s).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    std::fs::rename(&tmp, dir.join(INDEX_FILE))
}
