//! What a run leaves behind besides its journal: its summary and ledger rows
//! in the store and, once it ends, its dossier. The recorder is a client of
//! the engine like any other: it follows the state records, keeps a replica
//! of the run's state, and writes the store when the run starts (or is
//! recovered), enters, leaves or rolls back an environment, and ends, and
//! the dossier whenever a finished run's record changes (its end, then
//! notes and deliveries journaled after it, a late rollback). Both are
//! derived from the journal, so failing to write them loses nothing: it is
//! logged and the run goes on. (Whether the engine still lingers after the
//! run is for `slate status` to find out: the store marks a finished run
//! settled once its engine is seen gone.)
//!
//! It holds the end of the run (a [`Hold`]), so the engine does not exit,
//! nor go on after a `RunFinished`, before the dossier says what the journal
//! says; the notifier holds it too, so the completion notice is journaled,
//! and the recorder writes again once it is.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::engine::{EngineHandle, Event, Hold, Record, RunState};

/// The longest the engine waits for the recorder at the end of a run.
/// Rendering the dossier of a million records takes well under a second.
pub const BOUND: Duration = Duration::from_secs(10);

/// Starts the recorder for the run behind `handle`, before the engine runs
/// (so it hears the first record). `state` is what the journal already
/// held (a recovered run), or the default for a new run.
/// `configs` are the plan's config digests by environment, for the ledger.
pub fn spawn(
    handle: &EngineHandle,
    state: RunState,
    state_dir: PathBuf,
    configs: Vec<Option<String>>,
) -> tokio::task::JoinHandle<()> {
    let recorder = Recorder {
        records: handle.subscribe_states(),
        hold: handle.hold(BOUND),
        journal: handle.journal_path(),
        run_dir: handle.run_dir.clone(),
        state_dir,
        state,
        configs,
    };
    tokio::spawn(recorder.run())
}

struct Recorder {
    records: broadcast::Receiver<Record>,
    hold: Hold,
    journal: PathBuf,
    run_dir: PathBuf,
    state_dir: PathBuf,
    state: RunState,
    configs: Vec<Option<String>>,
}

/// What a batch of records asks the recorder to write.
#[derive(Default)]
struct Due {
    index: bool,
    dossier: bool,
}

impl Due {
    fn note(&mut self, rec: &Record, state: &RunState) {
        match rec.event {
            Event::RunFinished { .. } => {
                self.index = true;
                self.dossier = true;
            }
            // Anything journaled after the end belongs in the dossier (and a
            // late rollback or a review in the store) too.
            _ if state.is_finished() => {
                self.index = true;
                self.dossier = true;
            }
            // What the ledger records: where the run is, who let it in, what it passed.
            Event::RunStarted { .. }
            | Event::RunRecovered { .. }
            | Event::EnvStarted { .. }
            | Event::EnvFinished { .. }
            | Event::ArtifactVerified { .. }
            | Event::Approved { .. }
            | Event::AnalysisFinished { .. }
            | Event::EvidenceChecked { .. }
            | Event::RollbackStarted { .. } => self.index = true,
            _ => {}
        }
    }
}

impl Recorder {
    async fn run(mut self) {
        loop {
            let mut due = Due::default();
            match self.records.recv().await {
                Ok(rec) => self.apply(&rec, &mut due),
                Err(RecvError::Lagged(_)) => {
                    self.catch_up().await;
                    due.index = true;
                    due.dossier = self.state.is_finished();
                }
                Err(RecvError::Closed) => return,
            }
            // Whatever else has arrived is written once, not once per record.
            loop {
                match self.records.try_recv() {
                    Ok(rec) => self.apply(&rec, &mut due),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                        self.catch_up().await;
                        due.index = true;
                        due.dossier = self.state.is_finished();
                    }
                    Err(_) => break,
                }
            }
            self.write(due).await;
            self.hold.done(self.state.last_seq);
        }
    }

    fn apply(&mut self, rec: &Record, due: &mut Due) {
        self.state.apply(rec);
        due.note(rec, &self.state);
    }

    /// The broadcast ran ahead: the journal has every record.
    async fn catch_up(&mut self) {
        let path = self.journal.clone();
        match tokio::task::spawn_blocking(move || crate::journal::read_journal_states(&path)).await
        {
            Ok(Ok(j)) => self.state = j.state(),
            Ok(Err(e)) => tracing::warn!(error = %e, "recorder cannot catch up from the journal"),
            Err(e) => tracing::warn!(error = %e, "recorder cannot catch up from the journal"),
        }
    }

    async fn write(&self, due: Due) {
        if !due.index && !due.dossier {
            return;
        }
        let record = due
            .index
            .then(|| crate::store::rebuild::record(&self.state, true, &self.configs));
        let state_dir = self.state_dir.clone();
        let run_dir = self.run_dir.clone();
        let wrote = tokio::task::spawn_blocking(move || {
            if due.dossier
                && let Err(e) = crate::dossier::write(&run_dir)
            {
                tracing::warn!(error = %e, "cannot write the dossier");
            }
            if let Some(record) = record {
                let wrote = crate::store::open(&state_dir).and_then(|o| {
                    for n in &o.notices {
                        tracing::info!(notice = %n, "store");
                    }
                    o.store.put_run(&record)
                });
                if let Err(e) = wrote {
                    tracing::warn!(error = %e, "cannot update the store");
                }
            }
        })
        .await;
        if let Err(e) = wrote {
            tracing::warn!(error = %e, "the recorder's write did not finish");
        }
    }
}
