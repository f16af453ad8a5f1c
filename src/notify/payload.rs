//! What a channel receives: the body of the POST, by channel format.
//!
//! **`format = "json"`** posts one object (`Content-Type: application/json`):
//!
//! ```json
//! {
//!   "kind": "rollback",
//!   "run_id": "20250101T120000Z-3f2a",
//!   "release": "checkout-api",
//!   "version": "2.5.0",
//!   "previous_version": "2.4.1",
//!   "environment": "prod",
//!   "text": "checkout-api 2.5.0: rolling prod back to 2.4.1: analysis canary failed: …",
//!   "at": "2025-01-01T12:03:04.5Z",
//!   "seq": 212,
//!   "reason": "analysis canary failed: error_ratio 0.071 > 0.05 for 3 of 3 samples",
//!   "trigger": "analysis_failed"
//! }
//! ```
//!
//! Always present: `kind` (one of run_started, gate_waiting, env_promoted,
//! rollback, failure, completed, status, break_glass), `run_id`, `release`, `version`,
//! `previous_version`, `environment` (null when the notice concerns the whole
//! run), `text` (one readable line, the same the Slack format posts) and `at`
//! (RFC 3339, when it happened). The rest appear only where they mean
//! something: `seq` (the journal record that prompted it; absent for status),
//! `outcome` (completed: released, rolled_back, rejected, aborted, held,
//! failed), `reason` (rollback, failure, and completed when not released),
//! `gate` (gate_waiting, a gate's failure), `step` (a step's failure,
//! status), `trigger` (rollback: step_failed, gate_rejected, gate_failed,
//! analysis_failed, abort, manual), `status` and `elapsed_s` (status),
//! `support` (completed, from `[communication] support`), `changes`
//! (gate_waiting: what the promotion changes against what the ledger says is
//! live in the environment — `live` {version, run_id, since}, `artifacts`
//! [{name, state: same|changed|added|removed|unknown, live, new}], `config`
//! [{key, live, new}], `secrets_added`/`secrets_removed` (names only),
//! `plan` (strategy and step changes), `commits` {range, lines, more, error},
//! `drift`, and `unknown`/`plan_unknown` saying what could not be compared;
//! absent when the run compared nothing; the text then ends with the
//! change's headline and summary), and for break_glass: `break_glass`
//! (requested, crossed, refused, rejected), `actor` (who asked for it),
//! `reason` (why), `crossed` (what it crosses, in one line; requested and
//! crossed) and `decided_by` (who approved or rejected it, where a second
//! person did). A break_glass notice goes to
//! every channel, whatever its `events`.
//!
//! **`format = "slack"`** posts `{"text": "…"}`, which Slack-compatible
//! incoming webhooks (Slack, Mattermost, Rocket.Chat…) accept: the same
//! line, with `&`, `<` and `>` escaped as Slack asks.

use jiff::Timestamp;
use serde::Serialize;

use super::decide::Notice;
use crate::engine::RunOutcome;
use crate::plan::{ChannelFormat, NotifyKind};

/// The generic JSON body; the field list above is its contract.
#[derive(Debug, Serialize)]
struct Json<'a> {
    kind: NotifyKind,
    run_id: &'a str,
    release: &'a str,
    version: &'a str,
    previous_version: &'a str,
    environment: Option<&'a str>,
    text: &'a str,
    at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<RunOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gate: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trigger: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    support: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a crate::change::Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    break_glass: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crossed: Option<&'a str>,
}

/// The bytes to post to a channel of `format`.
pub fn body(format: ChannelFormat, n: &Notice) -> Vec<u8> {
    let value = match format {
        ChannelFormat::Json => serde_json::to_value(Json {
            kind: n.kind,
            run_id: &n.run_id,
            release: &n.release,
            version: &n.version,
            previous_version: &n.previous_version,
            environment: n.environment.as_deref(),
            text: &n.text,
            at: n.at,
            seq: n.seq,
            outcome: n.outcome,
            reason: n.reason.as_deref(),
            gate: n.gate.as_deref(),
            step: n.step.as_deref(),
            trigger: n.trigger,
            status: n.status.as_deref(),
            elapsed_s: n.elapsed_s,
            support: n.support.as_deref(),
            changes: n.change.as_deref(),
            break_glass: n.glass,
            actor: n.actor.as_deref(),
            decided_by: n.decided_by.as_deref(),
            crossed: n.crossed.as_deref(),
        }),
        ChannelFormat::Slack => Ok(serde_json::json!({ "text": slack_escape(&n.text) })),
    };
    // Strings, numbers and a timestamp always serialize.
    value
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_default()
}

/// Slack reads `&`, `<` and `>` as markup; everything else is plain text.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn notice() -> Notice {
        Notice {
            kind: NotifyKind::Completed,
            run_id: "r1".into(),
            release: "svc".into(),
            version: "2.0".into(),
            previous_version: "1.0".into(),
            environment: None,
            text: "svc 2.0 finished: rolled back. prod rolled back: a < b & c".into(),
            at: "2025-01-01T12:00:00Z".parse().unwrap(),
            seq: Some(42),
            outcome: Some(RunOutcome::RolledBack),
            reason: Some("prod rolled back: a < b & c".into()),
            gate: None,
            step: None,
            trigger: None,
            status: None,
            elapsed_s: None,
            support: Some("payments on-call".into()),
            change: None,
            actor: None,
            decided_by: None,
            crossed: None,
            glass: None,
        }
    }

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn json_carries_the_run_and_only_the_fields_that_mean_something() {
        let v = parse(body(ChannelFormat::Json, &notice()));
        assert_eq!(
            v,
            json!({
                "kind": "completed",
                "run_id": "r1",
                "release": "svc",
                "version": "2.0",
                "previous_version": "1.0",
                "environment": null,
                "text": "svc 2.0 finished: rolled back. prod rolled back: a < b & c",
                "at": "2025-01-01T12:00:00Z",
                "seq": 42,
                "outcome": "rolled_back",
                "reason": "prod rolled back: a < b & c",
                "support": "payments on-call",
            })
        );
    }

    #[test]
    fn a_status_has_no_seq_but_says_where_and_how_long() {
        let mut n = notice();
        n.kind = NotifyKind::Status;
        n.seq = None;
        n.outcome = None;
        n.reason = None;
        n.support = None;
        n.environment = Some("prod".into());
        n.step = Some("deploy".into());
        n.status = Some("running".into());
        n.elapsed_s = Some(75);
        let v = parse(body(ChannelFormat::Json, &n));
        assert_eq!(v["kind"], "status");
        assert_eq!(v["environment"], "prod");
        assert_eq!(v["step"], "deploy");
        assert_eq!(v["elapsed_s"], 75);
        assert!(v.get("seq").is_none() && v.get("outcome").is_none(), "{v}");
    }

    #[test]
    fn slack_gets_the_line_alone_escaped() {
        let v = parse(body(ChannelFormat::Slack, &notice()));
        assert_eq!(
            v,
            json!({"text": "svc 2.0 finished: rolled back. prod rolled back: a &lt; b &amp; c"})
        );
    }
}
