//! Reading `[[stakeholders]]` (who must hear about the release),
//! `[[channels]]` (the webhooks that hear about the run) and `[communication]`
//! (status cadence and who supports the release once it is out).
//!
//! A channel's URL may hold a token, so no message here ever quotes it.

use super::*;
use crate::plan::sealed::Sealed;

pub(super) const STAKEHOLDER_KEYS: &[&str] = &["name", "role", "contact"];
pub(super) const CHANNEL_KEYS: &[&str] = &["name", "format", "url", "events", "timeout", "retries"];
pub(super) const COMMUNICATION_KEYS: &[&str] = &["cadence", "support"];
pub(super) const FORMATS: &[&str] = &["json", "slack"];

const DEFAULT_ROLE: &str = "informed";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// A webhook that needs longer than this to answer is not one worth waiting for.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_RETRIES: u32 = 2;
const MAX_RETRIES: i64 = 10;
/// Status updates more often than this would drown the channel.
const MIN_CADENCE: Duration = Duration::from_secs(1);

/// The kind named `name` in [`NotifyKind::NAMES`].
fn notify_kind(name: &str) -> Option<NotifyKind> {
    Some(match name {
        "run_started" => NotifyKind::RunStarted,
        "gate_waiting" => NotifyKind::GateWaiting,
        "env_promoted" => NotifyKind::EnvPromoted,
        "rollback" => NotifyKind::Rollback,
        "failure" => NotifyKind::Failure,
        "completed" => NotifyKind::Completed,
        "status" => NotifyKind::Status,
        "break_glass" => NotifyKind::BreakGlass,
        _ => return None,
    })
}

impl Loader<'_> {
    pub(super) fn stakeholder(&mut self, t: &DeTable<'_>, span: Span) -> Option<Stakeholder> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("stakeholder `{s}`"),
            _ => "a stakeholder".to_string(),
        };
        let t = Table::new(t, span, label);
        t.check_keys(self.cx, STAKEHOLDER_KEYS);
        let name = t.req_name(self.cx, "name");
        let role = match t.string(self.cx, "role") {
            Some(r) if r.get_ref().trim().is_empty() => {
                self.cx.error(
                    r.span(),
                    format!(
                        "`role` in {} is empty; leave it out for \"{DEFAULT_ROLE}\"",
                        t.what
                    ),
                );
                None
            }
            Some(r) => Some(r.into_inner()),
            None if t.get("role").is_some() => None,
            None => Some(DEFAULT_ROLE.to_string()),
        };
        let contact = t
            .string(self.cx, "contact")
            .map(|c| c.into_inner())
            .unwrap_or_default();
        Some(Stakeholder {
            name: name?.into_inner(),
            role: role?,
            contact,
        })
    }

    pub(super) fn channel(&mut self, t: &DeTable<'_>, span: Span) -> Option<Channel> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("channel `{s}`"),
            _ => "a channel".to_string(),
        };
        let t = Table::new(t, span, label);
        t.check_keys(self.cx, CHANNEL_KEYS);
        let name = t.req_name(self.cx, "name");
        let format = match t.get("format") {
            None => Some(ChannelFormat::Json),
            Some(_) => t
                .choice(self.cx, "format", FORMATS)
                .map(|f| match f.get_ref().as_str() {
                    "slack" => ChannelFormat::Slack,
                    _ => ChannelFormat::Json,
                }),
        };
        let url = self.webhook_url(&t, name.as_ref().map(|n| n.get_ref().as_str()));
        let events = self.events(&t);
        let timeout = match t.get("timeout") {
            None => Some(DEFAULT_TIMEOUT),
            Some(_) => self.positive(&t, "timeout").and_then(|d| {
                if d > MAX_TIMEOUT {
                    self.cx.error(
                        t.get("timeout").map(|v| v.span()).unwrap_or(t.span.clone()),
                        format!(
                            "`timeout` in {} must be at most {}",
                            t.what,
                            humantime::format_duration(MAX_TIMEOUT)
                        ),
                    );
                    None
                } else {
                    Some(d)
                }
            }),
        };
        let retries = match t.get("retries") {
            None => Some(DEFAULT_RETRIES),
            Some(_) => t
                .int(self.cx, "retries", 0, MAX_RETRIES)
                .map(|r| *r.get_ref() as u32),
        };
        Some(Channel {
            name: name?.into_inner(),
            format: format?,
            url: url?,
            events: events?,
            timeout: timeout?,
            retries: retries?,
        })
    }

    /// An http(s) URL with a host. Never quoted back: it may carry a token.
    /// Sealed: a run journals its host alone, and a recovery reads the rest
    /// back from the plan file (see `plan::sealed`).
    fn webhook_url(&mut self, t: &Table<'_, '_>, channel: Option<&str>) -> Option<String> {
        if t.get("url").is_none() {
            self.cx.error(
                t.span.clone(),
                format!(
                    "{} is missing `url` (the webhook's http:// or https:// address)",
                    t.what
                ),
            );
            return None;
        }
        let u = t.string(self.cx, "url")?;
        let text = u.get_ref().trim();
        if text.contains("${") {
            self.cx.error(
                u.span(),
                format!(
                    "`url` in {} cannot hold placeholders: write the webhook's address \
                     whole; Slate never journals or shows more of it than its host",
                    t.what
                ),
            );
            return None;
        }
        if let Some(name) = channel {
            self.sealed.push(Sealed::webhook(
                format!("`url` of {}", t.what),
                u.span(),
                text,
                name,
            ));
        }
        let scheme_ok = text.starts_with("http://") || text.starts_with("https://");
        let parsed = reqwest::Url::parse(text).ok();
        if !scheme_ok || parsed.as_ref().and_then(|p| p.host_str()).is_none() {
            let why = if scheme_ok {
                "is not a valid URL"
            } else {
                "must be an http:// or https:// URL"
            };
            // The URL itself stays out of the message.
            self.cx
                .error(u.span(), format!("`url` in {} {why}", t.what));
            return None;
        }
        Some(text.to_string())
    }

    /// `Some(vec![])` when absent (every event), `None` when something is wrong.
    fn events(&mut self, t: &Table<'_, '_>) -> Option<Vec<NotifyKind>> {
        if t.get("events").is_none() {
            return Some(Vec::new());
        }
        let names = t.string_list(self.cx, "events")?;
        if names.is_empty() {
            self.cx.error(
                t.key_span("events").unwrap_or(t.span.clone()),
                format!(
                    "`events` in {} is empty; leave it out to hear every event",
                    t.what
                ),
            );
            return None;
        }
        let mut kinds = Vec::new();
        let mut ok = true;
        for n in &names {
            match notify_kind(n.get_ref()) {
                Some(k) => {
                    if !kinds.contains(&k) {
                        kinds.push(k);
                    }
                }
                None => {
                    ok = false;
                    self.cx.error(
                        n.span(),
                        format!(
                            "unknown event `{}` in `events` of {}{} (expected any of: {})",
                            n.get_ref(),
                            t.what,
                            suggestion(n.get_ref(), NotifyKind::NAMES),
                            NotifyKind::NAMES.join(", ")
                        ),
                    );
                }
            }
        }
        ok.then_some(kinds)
    }

    pub(super) fn communication(&mut self, top: &Table<'_, '_>) -> Communication {
        let Some(t) = top.table(self.cx, "communication", "[communication]") else {
            return Communication::default();
        };
        t.check_keys(self.cx, COMMUNICATION_KEYS);
        let cadence = t
            .duration(self.cx, "cadence")
            .and_then(|d| {
                if *d.get_ref() < MIN_CADENCE {
                    self.cx.error(
                        d.span(),
                        format!(
                            "`cadence` in [communication] must be at least {}: a status update more often would drown the channel",
                            humantime::format_duration(MIN_CADENCE)
                        ),
                    );
                    None
                } else {
                    Some(d.into_inner())
                }
            });
        let support = t
            .string(self.cx, "support")
            .map(|s| s.into_inner().trim().to_string())
            .unwrap_or_default();
        Communication { cadence, support }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_reads_back_as_its_kind() {
        for name in NotifyKind::NAMES {
            let kind = notify_kind(name).expect("a known name");
            assert_eq!(kind.name(), name);
        }
        assert_eq!(notify_kind("gate_waitng"), None);
    }

    fn load(body: &str) -> Result<Plan, PlanErrors> {
        let src = format!(
            "[release]\nname = \"a\"\nversion = \"2\"\nprevious_version = \"1\"\nowner = \"o\"\n\
             [[stages]]\nname = \"s\"\ncommand = \"true\"\n{body}"
        );
        parse(&src, "p.toml", ".".into())
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let p = load(
            "[[stakeholders]]\nname = \"Ana\"\n\
             [[channels]]\nname = \"ops\"\nurl = \"https://hooks.example/x\"\n",
        )
        .unwrap();
        assert_eq!(p.stakeholders[0].role, "informed");
        assert_eq!(p.stakeholders[0].contact, "");
        let c = &p.channels[0];
        assert_eq!(c.format, ChannelFormat::Json);
        assert!(c.events.is_empty());
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.retries, 2);
        assert_eq!(p.communication, Communication::default());
    }

    #[test]
    fn every_key_is_read() {
        let p = load(
            "[[stakeholders]]\nname = \"Ana\"\nrole = \"approver\"\ncontact = \"#payments\"\n\
             [[channels]]\nname = \"ops\"\nformat = \"slack\"\nurl = \"http://127.0.0.1:9/h\"\n\
             events = [\"failure\", \"completed\", \"failure\"]\ntimeout = \"2s\"\nretries = 0\n\
             [communication]\ncadence = \"5m\"\nsupport = \"payments on-call\"\n",
        )
        .unwrap();
        assert_eq!(
            p.stakeholders,
            [Stakeholder {
                name: "Ana".into(),
                role: "approver".into(),
                contact: "#payments".into()
            }]
        );
        let c = &p.channels[0];
        assert_eq!(c.format, ChannelFormat::Slack);
        assert_eq!(c.events, [NotifyKind::Failure, NotifyKind::Completed]);
        assert_eq!((c.timeout, c.retries), (Duration::from_secs(2), 0));
        assert_eq!(p.communication.cadence, Some(Duration::from_secs(300)));
        assert_eq!(p.communication.support, "payments on-call");
    }

    #[test]
    fn a_bad_url_is_never_quoted_back() {
        let e = load("[[channels]]\nname = \"ops\"\nurl = \"ftp://secret-token@x/y\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be an http:// or https:// URL"), "{e}");
        assert!(!e.contains("secret-token"), "{e}");
    }
}
