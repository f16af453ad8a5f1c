//! What clients ask of the engine. Every command names who issued it; the
//! engine answers each with a [`Reply`] and journals what it decided.

use tokio::sync::oneshot;

use super::event::{Actor, NotifyKind, RollbackChoice};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Approve the named gate, or whichever gate is waiting.
    Approve {
        gate: Option<String>,
        comment: String,
    },
    Reject {
        gate: Option<String>,
        reason: String,
    },
    Pause,
    Resume,
    /// Stop the environment in progress and return it to the stable version.
    Abort {
        reason: String,
    },
    /// Undo an environment (the one in progress, or a completed one by name).
    Rollback {
        env: Option<String>,
        reason: String,
    },
    /// Try the failed step (or failed rollback step) again.
    Retry,
    /// Answer a blocked rollback.
    Decide {
        choice: RollbackChoice,
        note: String,
    },
    Note {
        text: String,
    },
    /// Let a lingering engine finish (it stays up after the run for late rollbacks).
    Shutdown,
    /// Internal: the notifier reports one webhook delivery (after its retries)
    /// so the engine, the only journal writer, journals it. Refused from any
    /// client whose `via` is not "notifier".
    RecordNotification(Delivered),
}

/// One webhook delivery, after its retries, as the journal will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub channel: String,
    pub kind: NotifyKind,
    pub ok: bool,
    pub attempts: u32,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// What was said, or why delivery failed (never the URL).
    pub message: String,
}

impl Delivered {
    pub fn into_event(self) -> super::event::Event {
        super::event::Event::NotificationSent {
            channel: self.channel,
            kind: self.kind,
            ok: self.ok,
            attempts: self.attempts,
            status: self.status,
            latency_ms: self.latency_ms,
            message: self.message,
        }
    }
}

impl Action {
    pub fn describe(&self) -> String {
        match self {
            Action::Approve { gate, .. } => {
                format!("approve {}", gate.as_deref().unwrap_or("(waiting gate)"))
            }
            Action::Reject { gate, .. } => {
                format!("reject {}", gate.as_deref().unwrap_or("(waiting gate)"))
            }
            Action::Pause => "pause".into(),
            Action::Resume => "resume".into(),
            Action::Abort { .. } => "abort".into(),
            Action::Rollback { env, .. } => {
                format!("rollback {}", env.as_deref().unwrap_or("(current)"))
            }
            Action::Retry => "retry".into(),
            Action::Decide { choice, .. } => format!("decide {}", choice.word()),
            Action::Note { .. } => "note".into(),
            Action::Shutdown => "shutdown".into(),
            Action::RecordNotification(d) => {
                format!("record notification {} to {}", d.kind.name(), d.channel)
            }
        }
    }
}

/// Ok carries what happened ("approved gate prod (1 of 2)"); Err why not.
pub type Reply = Result<String, String>;

#[derive(Debug)]
pub struct Command {
    pub actor: Actor,
    pub action: Action,
    pub reply: Option<oneshot::Sender<Reply>>,
}

impl Command {
    pub fn new(actor: Actor, action: Action) -> (Self, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        (
            Self {
                actor,
                action,
                reply: Some(tx),
            },
            rx,
        )
    }
}
