//! Section 7, Communication Plan: stakeholders, channels, every notification sent
//! (when, where, delivered or not), the status cadence and the handoff.
//! Channel URLs may carry tokens and are never shown.

use super::input::Input;
use super::md::{self, Table};

pub fn write(out: &mut String, input: &Input) {
    md::heading(out, 2, "Communication Plan");
    let plan = input.plan.as_ref();

    md::heading(out, 3, "Stakeholders");
    let stakeholders = plan.map(|p| p.stakeholders.as_slice()).unwrap_or(&[]);
    let mut t = Table::new(&["Name", "Role", "Contact"]);
    t.row(vec![
        md::text(&input.state.owner),
        "release owner".into(),
        "—".into(),
    ]);
    for s in stakeholders {
        t.row(vec![
            md::text(&s.name),
            md::text(&s.role),
            md::text(&s.contact),
        ]);
    }
    t.write(out);

    md::heading(out, 3, "Channels");
    let channels = plan.map(|p| p.channels.as_slice()).unwrap_or(&[]);
    if channels.is_empty() {
        md::para(out, "The plan names no notification channel.");
    } else {
        let mut t = Table::new(&["Channel", "Format", "Hears"]);
        for c in channels {
            t.row(vec![
                md::text(&c.name),
                match c.format {
                    crate::plan::ChannelFormat::Json => "JSON webhook".into(),
                    crate::plan::ChannelFormat::Slack => "Slack-compatible webhook".into(),
                },
                if c.events.is_empty() {
                    "everything".into()
                } else {
                    c.events
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ]);
        }
        t.write(out);
    }

    md::heading(out, 3, "Notifications sent");
    let sent = &input.state.notifications;
    if input.planned {
        md::para(out, "None yet: this is a plan.");
    } else if sent.is_empty() {
        md::para(out, "None.");
    } else {
        let mut t = Table::new(&["Time", "Channel", "About", "Result", "Attempts", "Detail"]);
        for n in sent {
            t.row(vec![
                md::time(n.at),
                md::text(&n.channel),
                n.kind.name().into(),
                match (n.ok, n.status) {
                    (true, _) => "✔ delivered".into(),
                    (false, Some(code)) => format!("✘ failed (HTTP {code})"),
                    (false, None) => "✘ failed".into(),
                },
                n.attempts.to_string(),
                md::text(&n.message),
            ]);
        }
        t.write(out);
        let failed = sent.iter().filter(|n| !n.ok).count();
        md::para(
            out,
            &format!("{} delivered, {failed} failed.", sent.len() - failed),
        );
    }

    let cadence = plan
        .and_then(|p| p.communication.cadence)
        .map(|c| {
            format!(
                "a status update every {}",
                md::duration_ms(c.as_millis() as u64)
            )
        })
        .unwrap_or_else(|| "no periodic status updates (events only)".into());
    let support = plan
        .map(|p| p.communication.support.trim())
        .filter(|s| !s.is_empty())
        .map(md::text)
        .unwrap_or_else(|| {
            format!(
                "not named in the plan; the release owner {} holds it",
                md::text(&input.state.owner)
            )
        });
    md::bullets(
        out,
        &[
            format!("Status cadence: {cadence}."),
            format!("Support handoff: {support}."),
        ],
    );
}
