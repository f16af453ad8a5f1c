//! What a run leaves behind besides its journal: its line in the history
//! index and, once it ends, its dossier. Both are derived from the journal,
//! so failing to write them loses nothing; it is logged and the run goes on.
//! The last notifications are settled (journaled) first, so the dossier
//! shows them.

use super::commands::Ctx;
use super::{Action, Engine, Event, Fatal};
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

    /// At the end of a run, before the dossier: waits until the notifier has
    /// seen the last record and has nothing in flight, journaling each
    /// delivery as it reports. Bounded by the slowest channel's worst case
    /// (at most 30 s); never called at any other time, and a no-op without
    /// channels. Other commands that arrive meanwhile are put back in the
    /// queue for whatever reads it next.
    async fn settle_notifications(&mut self) {
        let Some(mut link) = self.notifier.take() else {
            return;
        };
        let target = self.seq;
        let deadline = tokio::time::Instant::now() + link.bound;
        let mut later = Vec::new();
        loop {
            while let Ok(d) = link.orphans.try_recv() {
                self.journal_delivery(d);
            }
            if link.settled(target) {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(
                        bound = ?link.bound,
                        "notifications still in flight when the run's record was written"
                    );
                    break;
                }
                changed = link.progress.changed() => {
                    if changed.is_err() {
                        break; // the notifier has stopped
                    }
                }
                Some(d) = link.orphans.recv() => self.journal_delivery(d),
                c = self.cmds.recv(), if self.cmds_open => match c {
                    None => self.cmds_open = false,
                    Some(cmd) if matches!(cmd.action, Action::RecordNotification(_)) => {
                        if let Err(Fatal(e)) = self.on_command(cmd, &Ctx::Finished) {
                            tracing::warn!(error = %e, "cannot journal a notification");
                        }
                    }
                    Some(cmd) => later.push(cmd),
                },
            }
        }
        while let Ok(d) = link.orphans.try_recv() {
            self.journal_delivery(d);
        }
        self.notifier = Some(link);
        for cmd in later {
            let refused = match self.cmd_weak.upgrade() {
                Some(tx) => tx.try_send(cmd).err().map(|e| e.into_inner()),
                None => Some(cmd),
            };
            if let Some(cmd) = refused {
                let reason = "the engine was finishing the run; send it again".to_string();
                let _ = self.emit(Event::CommandRefused {
                    actor: cmd.actor,
                    command: cmd.action.describe(),
                    reason: reason.clone(),
                });
                if let Some(tx) = cmd.reply {
                    let _ = tx.send(Err(reason));
                }
            }
        }
    }

    fn journal_delivery(&mut self, d: crate::notify::Delivered) {
        if let Err(Fatal(e)) = self.emit(d.into_event()) {
            tracing::warn!(error = %e, "cannot journal a notification");
        }
    }
}
