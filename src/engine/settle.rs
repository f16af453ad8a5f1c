//! Settling: after every `RunFinished`, and before the engine exits, the
//! clients holding a [`Hold`](super::Hold) get to finish what the end of a
//! run asks of them (the notifier's last deliveries, the record writer's
//! dossier) before the engine moves on. See `hold.rs`.

use super::commands::Ctx;
use super::{Command, Engine, Event, Fatal, Instruction};

impl Engine {
    /// Waits until every hold has handled the last record, bounded by the
    /// longest bound any asked for; a no-op without holds. Meanwhile the
    /// engine journals what clients report (notification records, also
    /// those left at the side door) and keeps other commands for after:
    /// they are put back in the queue for whatever reads it next.
    pub(super) async fn settle(&mut self) {
        // Clients hear of records once they are on disk: all of them, now.
        if let Err(Fatal(why)) = self.commit() {
            tracing::error!(%why, "the journal's last records may not be on disk");
        }
        let Some(bound) = self.holds.bound() else {
            self.take_late();
            return;
        };
        let deadline = tokio::time::Instant::now() + bound;
        let wake = self.holds.waker();
        let mut later = Vec::new();
        loop {
            self.take_late();
            if self.holds.settled(self.seq) {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(?bound, seq = self.seq, "clients still busy with the end of the run; going on");
                    break;
                }
                () = wake.notified() => {}
                Some(cmd) = self.holds.late.recv() => self.journal_report(cmd),
                c = self.cmds.recv(), if self.cmds_open => match c {
                    None => self.cmds_open = false,
                    Some(cmd) if matches!(cmd.instruction, Instruction::RecordNotification(_)) => {
                        self.journal_report(cmd);
                    }
                    Some(cmd) => later.push(cmd),
                },
            }
        }
        self.take_late();
        self.requeue(later);
    }

    /// Journals what was left at the side door.
    fn take_late(&mut self) {
        while let Ok(cmd) = self.holds.late.try_recv() {
            self.journal_report(cmd);
        }
    }

    fn journal_report(&mut self, cmd: Command) {
        if let Err(Fatal(e)) = self.on_command(cmd, &Ctx::Finished) {
            tracing::warn!(error = %e, "cannot journal a client's report");
        }
    }

    /// Puts commands back at the end of the queue; those that find no room
    /// (or no queue) are refused and journaled as such.
    fn requeue(&mut self, later: Vec<Command>) {
        for cmd in later {
            let refused = match self.cmd_weak.upgrade() {
                Some(tx) => tx.try_send(cmd).err().map(|e| e.into_inner()),
                None => Some(cmd),
            };
            if let Some(cmd) = refused {
                let reason = "the engine was finishing the run; send it again".to_string();
                let _ = self.emit(Event::CommandRefused {
                    actor: cmd.actor,
                    command: cmd.instruction.describe(),
                    reason: reason.clone(),
                });
                if let Some(tx) = cmd.reply {
                    let _ = tx.send(Err(reason));
                }
            }
        }
    }
}
