//! The control socket's protocol: newline-delimited JSON, one object per
//! line, each line at most [`MAX_LINE`] bytes.
//!
//! Requests:
//! - `{"op":"command","command":{"action":"approve","gate":"prod","comment":"ok"}}`
//!   → `{"ok":"approved prod"}` or `{"error":"approval needs a comment"}`
//! - `{"op":"status"}` → `{"status": <the run's state as JSON>}`
//! - `{"op":"subscribe","from_seq":1}` → `{"record": …}` lines: every record
//!   with `seq ≥ from_seq` from the journal, then live ones, without gaps or
//!   duplicates, until the engine exits (end of stream).
//!   With `"elide":true` (the cockpit), output lines the subscriber is
//!   behind on may be replaced by `{"elided":{"from_seq","to_seq","lines",
//!   "steps":[{"env","step","lines"}]}}`; state changes never are.
//!   With `"read_only":true` the connection only watches (commands on it are
//!   refused); with `"watchers":true` a `{"watchers":{"you","list","more"}}`
//!   line comes first and again whenever someone attaches or leaves.
//!
//! Who sent a command is never part of a request: the server takes it from
//! the connecting process's credentials (`SO_PEERCRED`).

use serde::{Deserialize, Serialize};

use crate::engine::Action;
use crate::engine::event::Record;

/// The longest request or reply line, newline excluded.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Command {
        /// The one command vocabulary ([`Action`]); the engine's own
        /// instructions (shutdown, notification records) are not part of it.
        command: Action,
        /// Which kind of client asks ("cockpit", "cli"): journaled as the
        /// actor's `via`, for the record only. Who asks is never taken from
        /// the request but from the socket's peer credentials.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    Status,
    Subscribe {
        #[serde(default = "first_seq")]
        from_seq: u64,
        /// Output lines may be left out when behind (see [`super::follow`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        elide: bool,
        /// Watch only: the connection takes no commands, and others see it
        /// listed as watching rather than steering.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        read_only: bool,
        /// Send a `watchers` line whenever who follows the run changes
        /// (see [`super::presence`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        watchers: bool,
    },
}

fn first_seq() -> u64 {
    1
}

/// Output lines left out for an eliding subscriber; all are in the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elided {
    /// The first and last sequence numbers left out (state changes between
    /// them were sent).
    pub from_seq: u64,
    pub to_seq: u64,
    pub lines: u64,
    pub steps: Vec<ElidedStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElidedStep {
    pub env: usize,
    pub step: usize,
    pub lines: u64,
}

/// One reply line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The engine accepted: what happened.
    Ok(String),
    /// Refused, or the request could not be read: why not.
    Error(String),
    /// The run's state (`RunState` as JSON).
    Status(serde_json::Value),
    /// One journal record (subscribe).
    Record(Box<Record>),
    /// Output lines left out for a subscriber that asked (subscribe, `elide`).
    Elided(Elided),
    /// Who follows the run now (subscribe, `watchers`); not a record.
    Watchers(super::presence::Watchers),
}

impl Response {
    /// The line to send, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|e| {
            format!("{{\"error\":\"cannot encode the reply: {e}\"}}").into_bytes()
        });
        line.push(b'\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let r: Request = serde_json::from_str(
            r#"{"op":"command","command":{"action":"approve","gate":"prod","comment":"ok"}}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Request::Command {
                command: Action::Approve {
                    gate: Some("prod".into()),
                    comment: "ok".into()
                },
                client: None,
            }
        );
        let r: Request = serde_json::from_str(r#"{"op":"status"}"#).unwrap();
        assert_eq!(r, Request::Status);
        let r: Request = serde_json::from_str(r#"{"op":"subscribe","from_seq":7}"#).unwrap();
        assert_eq!(
            r,
            Request::Subscribe {
                from_seq: 7,
                elide: false,
                read_only: false,
                watchers: false,
            }
        );
        let r: Request =
            serde_json::from_str(r#"{"op":"command","command":{"action":"pause"}}"#).unwrap();
        assert_eq!(
            r,
            Request::Command {
                command: Action::Pause,
                client: None,
            }
        );
        // The engine's internal actions are not part of the protocol.
        assert!(
            serde_json::from_str::<Request>(r#"{"op":"command","command":{"action":"shutdown"}}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<Request>(
                r#"{"op":"command","command":{"action":"record_notification"}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn replies_are_one_key_objects() {
        assert_eq!(
            String::from_utf8(Response::Ok("approved prod".into()).to_line()).unwrap(),
            "{\"ok\":\"approved prod\"}\n"
        );
        assert_eq!(
            String::from_utf8(Response::Error("no".into()).to_line()).unwrap(),
            "{\"error\":\"no\"}\n"
        );
    }
}
