//! What a run leaves behind besides its journal: its line in the history
//! index and, once it ends, its dossier. Both are derived from the journal,
//! so failing to write them loses nothing; it is logged and the run goes on.

use super::Engine;
use crate::runs::{self, RunSummary};

impl Engine {
    /// The run shows up in history as soon as it starts.
    pub(super) fn index_started(&self) {
        let summary = RunSummary::from_state(&self.state, true);
        if let Err(e) = runs::append(&self.opts.state_dir, &summary) {
            tracing::warn!(error = %e, "cannot add the run to the history index");
        }
    }

    /// Writes the dossier again from the journal as it now stands.
    pub(super) fn refresh_dossier(&mut self) {
        if let Err(e) = self.journal.flush() {
            tracing::warn!(error = %e, "cannot flush the journal before the dossier");
        }
        let run_dir = super::runs_dir(&self.opts.state_dir).join(&self.run_id);
        if let Err(e) = crate::dossier::write(&run_dir) {
            tracing::warn!(error = %e, "cannot write the dossier");
        }
    }

    /// After `RunFinished`: the dossier is written and the index updated.
    pub(super) async fn record_finished(&mut self) {
        // The completion notice is part of the record: journaled first.
        self.settle_notifications().await;
        self.refresh_dossier();
        let summary = RunSummary::from_state(&self.state, true);
        if let Err(e) = runs::append(&self.opts.state_dir, &summary) {
            tracing::warn!(error = %e, "cannot update the history index");
        }
    }
}
