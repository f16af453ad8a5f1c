//! A run opened for reading: found by id, prefix or "latest", its journal
//! read (a torn tail is a warning, a corrupt middle an error), and what its
//! first record says about it — the engine's pid and the plan as it ran.

use std::path::{Path, PathBuf};

use crate::engine::event::{Event, Record};
use crate::journal::{JOURNAL_FILE, read_journal, read_journal_states};
use crate::plan::{Plan, PlanErrors};

pub struct OpenRun {
    pub dir: PathBuf,
    pub records: Vec<Record>,
    /// A torn last line that was skipped.
    pub warning: Option<String>,
    /// Output counted instead of kept, when read without it.
    pub output: Vec<crate::journal::OutputSpan>,
}

impl OpenRun {
    fn from(dir: &Path, journal: crate::journal::ReadJournal) -> Self {
        OpenRun {
            dir: dir.to_path_buf(),
            records: journal.records,
            warning: journal.warning,
            output: journal.output,
        }
    }

    /// The run's state; read without output, its lines are still counted.
    pub fn state(&self) -> crate::engine::state::RunState {
        crate::journal::replay(&self.records, &self.output)
    }
}

/// Why a run could not be opened, with the exit status it deserves.
#[derive(Debug)]
pub struct OpenError {
    /// 2 when the run does not exist (a usage error), 1 when it cannot be read.
    pub code: i32,
    pub message: String,
}

/// Finds and reads a run: `run` is an id, a unique prefix of one, or "latest".
pub fn open(state_dir: &Path, run: &str) -> Result<OpenRun, OpenError> {
    let dir =
        super::find_anywhere(state_dir, run).map_err(|message| OpenError { code: 2, message })?;
    open_dir(&dir).map_err(|message| OpenError { code: 1, message })
}

/// Finds a run like [`open`] and reads it without its stage output (see
/// [`open_dir_states`]).
pub fn open_states(state_dir: &Path, run: &str) -> Result<OpenRun, OpenError> {
    let dir =
        super::find_anywhere(state_dir, run).map_err(|message| OpenError { code: 2, message })?;
    open_dir_states(&dir).map_err(|message| OpenError { code: 1, message })
}

/// Reads the run in `dir`.
pub fn open_dir(dir: &Path) -> Result<OpenRun, String> {
    let path = dir.join(JOURNAL_FILE);
    let journal = read_journal(&path).map_err(|e| e.to_string())?;
    started(&path, &journal.records)?;
    Ok(OpenRun::from(dir, journal))
}

/// Reads the run in `dir` without its stage output (see
/// [`read_journal_states`]): for the dossier, summaries and status, whose
/// cost must not grow with what stages printed.
pub fn open_dir_states(dir: &Path) -> Result<OpenRun, String> {
    let path = dir.join(JOURNAL_FILE);
    let journal = read_journal_states(&path).map_err(|e| e.to_string())?;
    started(&path, &journal.records)?;
    Ok(OpenRun::from(dir, journal))
}

/// A run's journal begins with `run_started`, which says what the run is;
/// without it there is no run to show, only an empty or foreign file.
pub fn started(path: &Path, records: &[Record]) -> Result<(), String> {
    match records.first().map(|r| &r.event) {
        Some(Event::RunStarted { .. }) => Ok(()),
        None => Err(format!(
            "{}: the journal is empty: the run never started (no run_started record)",
            path.display()
        )),
        Some(_) => Err(format!(
            "{}: the journal does not begin with run_started, so it is not a whole run's journal",
            path.display()
        )),
    }
}

impl OpenRun {
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_FILE)
    }

    /// The process id of the engine that wrote the journal (0 if unknown).
    pub fn pid(&self) -> u32 {
        pid_of(&self.records)
    }

    /// The plan as it ran, parsed back from the journal; `None` when the
    /// journal does not begin with the run's start.
    pub fn plan(&self) -> Option<Result<Plan, PlanErrors>> {
        recorded_plan(&self.records)
    }
}

pub fn pid_of(records: &[Record]) -> u32 {
    match records.first().map(|r| &r.event) {
        Some(Event::RunStarted { pid, .. }) => *pid,
        _ => 0,
    }
}

/// A rollback-to run's plan, cut down as it ran (`plan::rollback_to`).
pub fn cut_down(plan: Plan, to: &crate::engine::event::RollbackTo) -> Result<Plan, PlanErrors> {
    let source = plan.source.clone();
    crate::plan::rollback_to::cut(plan, to).map_err(|why| PlanErrors {
        file: "the journaled plan".into(),
        source,
        diagnostics: vec![crate::plan::diagnostic::Diagnostic::new(0..0, why)],
    })
}

/// Parses the plan text that `RunStarted` carries, relative to where it was
/// (cut down for a rollback to a known-good version).
pub fn recorded_plan(records: &[Record]) -> Option<Result<Plan, PlanErrors>> {
    match records.first().map(|r| &r.event) {
        Some(Event::RunStarted {
            plan_source,
            plan_path,
            vars,
            rollback_to,
            ..
        }) => {
            let base = Path::new(plan_path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            let plan = crate::plan::parse_with(plan_source, plan_path, base, vars);
            Some(match (plan, rollback_to) {
                (Ok(p), Some(to)) => cut_down(p, to),
                (plan, _) => plan,
            })
        }
        _ => None,
    }
}
