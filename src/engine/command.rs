//! What clients ask of the engine. Every command names who issued it; the
//! engine answers each with a [`Reply`] and journals what it decided.
//!
//! [`Action`] is the one vocabulary of client commands: the cockpit's keys
//! produce it, the CLI verbs build it, and the control socket carries it as
//! JSON (`{"action":"approve","gate":"prod","comment":"ok"}`). The engine's
//! own instructions ([`Instruction::Shutdown`], the notifier's
//! [`Instruction::RecordNotification`]) wrap it and are never on the wire.

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::event::{Actor, NotifyKind, RollbackChoice};

/// A client's command: what a person (or a script) asks of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Approve the named gate, or whichever gate is waiting.
    Approve {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        #[serde(default)]
        comment: String,
    },
    Reject {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        #[serde(default)]
        reason: String,
    },
    Pause,
    Resume,
    /// Stop the environment in progress and return it to the stable version.
    Abort {
        #[serde(default)]
        reason: String,
    },
    /// Undo an environment (the one in progress, or a completed one by name).
    Rollback {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env: Option<String>,
        #[serde(default)]
        reason: String,
    },
    /// Try the failed step (or failed rollback step) again.
    Retry,
    /// Answer a blocked rollback, or a step a crash interrupted.
    Decide {
        choice: RollbackChoice,
        #[serde(default)]
        note: String,
    },
    Note {
        text: String,
    },
    /// End the canary pause or soak being waited out now and go on to the
    /// next step; with `full`, skip the rest of this environment's rollout
    /// to its last step (100%). Follows the environment's approval policy.
    Promote {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        full: bool,
        #[serde(default)]
        reason: String,
    },
    /// Set the canary to `weight` percent and hold it there until promoted.
    Weight {
        weight: u32,
        #[serde(default)]
        reason: String,
    },
    /// Break the glass: cross the freeze or person's hold the run waits
    /// for, if the break-glass policy allows whoever asks (the cockpit's
    /// `B`); with `break_glass_second`, it then waits for a second person.
    BreakGlass {
        #[serde(default)]
        reason: String,
    },
}

/// Everything the engine takes on its command channel: a client's
/// [`Action`], or one of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    Client(Action),
    /// Let a lingering engine finish (it stays up after the run for late rollbacks).
    Shutdown,
    /// The engine's own process was told to stop (SIGTERM to a headless
    /// run or an engine host). The engine ends the run as safely as it can
    /// without waiting for people: an environment in progress is aborted
    /// and rolled back; a decision it waits for is taken the safe way (a
    /// blocked rollback is held, as `hold` would); a rollback under way
    /// finishes and the first decision it needs is taken the same way; a
    /// finished run's engine shuts down. Never on the wire: a client that
    /// means to abort says so.
    Terminate {
        reason: String,
    },
    /// The notifier reports one webhook delivery (after its retries) so the
    /// engine, the only journal writer, journals it. Refused from any client
    /// whose `via` is not [`NOTIFIER`].
    RecordNotification(Delivered),
    /// A command refused before the engine could weigh it (a team role that
    /// may watch but not steer, `store/postgres/commands.rs`): journaled as
    /// refused like any other, so who tried is on the record.
    Refuse {
        action: Action,
        reason: String,
    },
}

/// The `via` of the notifier's commands; the engine records notifications
/// from nobody else.
pub const NOTIFIER: &str = "notifier";

impl From<Action> for Instruction {
    fn from(a: Action) -> Self {
        Instruction::Client(a)
    }
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
            Action::Promote { full: false, .. } => "promote".into(),
            Action::Promote { full: true, .. } => "promote --full".into(),
            Action::Weight { weight, .. } => format!("weight {weight}"),
            Action::BreakGlass { .. } => "break-glass".into(),
        }
    }

    /// The text this command must carry, whatever the run is doing:
    /// `comment_required` is the waiting gate's policy for an approval. The
    /// engine refuses a command that lacks it with this message, and a
    /// client that wants to warn before sending asks the same function, so
    /// the rule and its words exist once.
    pub fn missing_text(&self, comment_required: bool) -> Option<&'static str> {
        let blank = |s: &str| s.trim().is_empty();
        match self {
            Action::Approve { comment, .. } if comment_required && blank(comment) => {
                Some("approval needs a comment")
            }
            Action::Reject { reason, .. } if blank(reason) => Some("a rejection needs a reason"),
            Action::Rollback { reason, .. } if blank(reason) => Some("a rollback needs a reason"),
            Action::Abort { reason } if blank(reason) => Some("an abort needs a reason"),
            Action::Decide {
                choice: RollbackChoice::Force,
                note,
            } if blank(note) => Some("forcing needs an acknowledgement note"),
            Action::Note { text } if blank(text) => Some("a note needs some text"),
            Action::Promote { reason, .. } if blank(reason) => Some("a promotion needs a reason"),
            Action::Weight { reason, .. } if blank(reason) => {
                Some("a weight change needs a reason")
            }
            Action::BreakGlass { reason } if blank(reason) => {
                Some("a break-glass needs a reason: say why the line is crossed")
            }
            _ => None,
        }
    }
}

impl Instruction {
    pub fn describe(&self) -> String {
        match self {
            Instruction::Client(a) | Instruction::Refuse { action: a, .. } => a.describe(),
            Instruction::Shutdown => "shutdown".into(),
            Instruction::Terminate { .. } => "terminate".into(),
            Instruction::RecordNotification(d) => {
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
    pub instruction: Instruction,
    pub reply: Option<oneshot::Sender<Reply>>,
}

impl Command {
    pub fn new(
        actor: Actor,
        instruction: impl Into<Instruction>,
    ) -> (Self, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        (
            Self {
                actor,
                instruction: instruction.into(),
                reply: Some(tx),
            },
            rx,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_and_write_as_on_the_wire() {
        let a: Action =
            serde_json::from_str(r#"{"action":"approve","gate":"prod","comment":"ok"}"#).unwrap();
        assert_eq!(
            a,
            Action::Approve {
                gate: Some("prod".into()),
                comment: "ok".into()
            }
        );
        assert_eq!(
            serde_json::to_string(&Action::Pause).unwrap(),
            r#"{"action":"pause"}"#
        );
        let d: Action =
            serde_json::from_str(r#"{"action":"decide","choice":"roll_forward"}"#).unwrap();
        assert_eq!(
            d,
            Action::Decide {
                choice: RollbackChoice::RollForward,
                note: String::new()
            }
        );
        // The engine's own instructions are not client actions.
        for internal in ["shutdown", "record_notification"] {
            let line = format!(r#"{{"action":"{internal}"}}"#);
            assert!(serde_json::from_str::<Action>(&line).is_err(), "{internal}");
        }
    }

    #[test]
    fn required_text_is_named_once() {
        let approve = |c: &str| Action::Approve {
            gate: None,
            comment: c.into(),
        };
        assert_eq!(approve(" ").missing_text(false), None);
        assert_eq!(
            approve(" ").missing_text(true),
            Some("approval needs a comment")
        );
        assert_eq!(approve("ok").missing_text(true), None);
        let reject = Action::Reject {
            gate: None,
            reason: "\n".into(),
        };
        assert_eq!(
            reject.missing_text(false),
            Some("a rejection needs a reason")
        );
        let hold = Action::Decide {
            choice: RollbackChoice::Hold,
            note: String::new(),
        };
        assert_eq!(hold.missing_text(false), None);
    }
}
