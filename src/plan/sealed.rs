//! Values of a plan that may carry credentials, and the plan text as it is
//! journaled without them.
//!
//! A run journals its plan's text (`RunStarted.plan_source`) so that the
//! record stands alone: the dossier, replay, attach and crash recovery parse
//! it back. But people write credentials into plans: a webhook URL is often
//! a token in itself, and check or metric URLs carry `user:pass@` or
//! `?token=`, headers an `Authorization`. Those values are *sealed*: the
//! loader notes where each one is in the text, and the journaled text has
//! each replaced by its shown form (`https://***@host/…`, `?token=***`, a
//! webhook's host alone, `***` for a credential header).
//!
//! A recovered run needs the real values back. They are not in the journal,
//! by design; the plan file still has them. So recovery reads the file the
//! run started from and takes each redacted value from the same place in it
//! (the same channel, check, gate, environment or metric), provided that
//! value, shown, is exactly what was journaled: the parts that were not
//! secret must not have changed. Anything else in the file is ignored (the
//! journal's plan is the one that runs), so editing the plan for the next
//! release does not stop a recovery. A value the file no longer has is
//! *lost*: a webhook then stays silent for the rest of the run (said in the
//! journal), and a check or metric that needs it refuses the recovery with
//! what to do. `${secret.NAME}` references are not secret and stay in the
//! journal, so values written that way always survive a crash.

use std::ops::Range;

use super::Plan;
use crate::secrets::url;

/// A value of the plan that may carry a credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    /// Which value, in plan words: "`url` of channel `ops`", "header
    /// `Authorization` of check `api`". Unique within a plan.
    pub field: String,
    /// Where its token is in the plan text (quotes included).
    pub span: Range<usize>,
    /// As written.
    pub value: String,
    /// As it may be journaled and shown.
    pub shown: String,
    /// The channel, for a webhook's URL.
    pub channel: Option<String>,
}

impl Sealed {
    /// A check or metric URL.
    pub fn url(field: String, span: Range<usize>, value: &str) -> Sealed {
        Sealed {
            field,
            span,
            value: value.to_string(),
            shown: url::shown(value),
            channel: None,
        }
    }

    /// A webhook's URL: all of it but the host may be a token.
    pub fn webhook(field: String, span: Range<usize>, value: &str, channel: &str) -> Sealed {
        Sealed {
            field,
            span,
            value: value.to_string(),
            shown: url::shown_webhook(value),
            channel: Some(channel.to_string()),
        }
    }

    /// A header value. One whose name says it is a credential shows as
    /// `***`, unless it refers to a secret (`Bearer ${secret.TOKEN}` names
    /// a secret and shows as written).
    pub fn header(field: String, span: Range<usize>, name: &str, value: &str) -> Sealed {
        let name_l = name.to_ascii_lowercase();
        let credential = url::is_credential_name(name)
            || ["authorization", "cookie", "x-api-key"].contains(&name_l.as_str());
        Sealed {
            field,
            span,
            value: value.to_string(),
            shown: if credential {
                url::mask_value(value)
            } else {
                value.to_string()
            },
            channel: None,
        }
    }

    fn redacted(&self) -> bool {
        self.shown != self.value
    }
}

impl Plan {
    /// The plan text as a run journals it, and the fields that were redacted.
    pub fn journaled_source(&self) -> (String, Vec<String>) {
        let redacted: Vec<&Sealed> = self.sealed.iter().filter(|s| s.redacted()).collect();
        let source = replace(
            &self.source,
            redacted.iter().map(|s| (s.span.clone(), s.shown.as_str())),
        );
        (source, redacted.iter().map(|s| s.field.clone()).collect())
    }
}

/// A journaled plan's text with its redacted values filled back in.
#[derive(Debug)]
pub struct Restored {
    /// The text to parse: the journaled plan with every value that could be
    /// restored.
    pub source: String,
    /// Redacted values the plan file no longer has (as the journaled plan
    /// holds them: shown, not real).
    pub lost: Vec<Sealed>,
}

/// Fills the `redacted` fields of `journaled` (a plan parsed from a journal)
/// with the values `file` (the plan file as it is now, if it still loads)
/// has in the same places, when they show exactly as journaled.
pub fn restore(journaled: &Plan, redacted: &[String], file: Option<&Plan>) -> Restored {
    let mut fills = Vec::new();
    let mut lost = Vec::new();
    for field in redacted {
        let Some(j) = journaled.sealed.iter().find(|s| &s.field == field) else {
            continue;
        };
        let found = file
            .and_then(|f| f.sealed.iter().find(|s| &s.field == field))
            .filter(|f| f.shown == j.value);
        match found {
            Some(f) => fills.push((j.span.clone(), f.value.clone())),
            None => lost.push(j.clone()),
        }
    }
    Restored {
        source: replace(
            &journaled.source,
            fills.iter().map(|(span, v)| (span.clone(), v.as_str())),
        ),
        lost,
    }
}

/// `text` with each span replaced by a TOML string of the given value.
fn replace<'a>(text: &str, edits: impl Iterator<Item = (Range<usize>, &'a str)>) -> String {
    let mut edits: Vec<_> = edits.collect();
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_string();
    for (span, value) in edits {
        if out.get(span.clone()).is_some() {
            out.replace_range(span, &toml_string(value));
        }
    }
    out
}

/// A basic TOML string holding `value` exactly.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
[release]
name = "svc"
version = "2"
previous_version = "1"
owner = "me"

[secrets]
PASS = "env:SVC_PASS"

[[environments]]
name = "prod"
verify_rollback = { http = 'https://probe:pr0be-pw@127.0.0.1:8080/version', headers = { Authorization = "Bearer abc123" } }

[[stages]]
name = "deploy"
command = "true"

[[checks]]
name = "api"
http = """https://127.0.0.1/healthz?token=tok-9f8e"""
headers = { Authorization = "Bearer ${secret.PASS}", Accept = "application/json", X-Api-Key = "k-1234" }

[[checks]]
name = "plain"
http = "https://${secret.PASS}@127.0.0.1/x"

[[metrics]]
name = "errors"
prometheus = "https://viewer:v13w@prom.internal:9090"
query = "up"
success = "> 0"

[[channels]]
name = "ops"
url = "https://hooks.example/services/T0/B0/SECRET"
"#;

    fn parse(text: &str) -> Plan {
        crate::plan::parse(text, "plan.toml", ".".into()).unwrap_or_else(|e| {
            panic!("{}", e.lines().join("\n"));
        })
    }

    const SECRETS: [&str; 6] = ["pr0be-pw", "abc123", "tok-9f8e", "k-1234", "v13w", "SECRET"];

    #[test]
    fn the_journaled_text_holds_no_credential_and_still_loads() {
        let plan = parse(PLAN);
        let (text, redacted) = plan.journaled_source();
        for s in SECRETS {
            assert!(!text.contains(s), "{s} in\n{text}");
        }
        assert_eq!(
            redacted,
            [
                "`http` of `verify_rollback` of environment `prod`",
                "header `Authorization` of `verify_rollback` of environment `prod`",
                "`http` of check `api`",
                "header `X-Api-Key` of check `api`",
                "`prometheus` of metric `errors`",
                "`url` of channel `ops`",
            ]
        );
        let j = parse(&text);
        // The same plan, its sealed values shown; references kept.
        assert_eq!(j.channels[0].url, "https://hooks.example/***");
        assert_eq!(
            j.checks[0].check.describe(),
            "GET https://127.0.0.1/healthz?token=*** expects 200"
        );
        assert!(text.contains("Bearer ${secret.PASS}") && text.contains("https://${secret.PASS}@"));
        assert!(text.contains("Accept = \"application/json\""));
        // Lines stay where they were, so a journaled plan's messages match the file.
        assert_eq!(text.lines().count(), PLAN.lines().count());
        // Journaling a journaled plan changes nothing more.
        assert_eq!(j.journaled_source(), (text.clone(), vec![]));
    }

    #[test]
    fn recovery_takes_the_values_back_from_an_unchanged_place_in_the_file() {
        let plan = parse(PLAN);
        let (text, redacted) = plan.journaled_source();
        let j = parse(&text);
        // The file has moved on elsewhere (a new version): the values still come back.
        let file = parse(&PLAN.replace("version = \"2\"", "version = \"3\""));
        let r = restore(&j, &redacted, Some(&file));
        assert!(r.lost.is_empty(), "{:?}", r.lost);
        let back = parse(&r.source);
        assert_eq!(back.channels, plan.channels);
        assert_eq!(back.checks, plan.checks);
        assert_eq!(back.metrics, plan.metrics);
        assert_eq!(back.environments, plan.environments);
        assert_eq!(
            back.release.version, "2",
            "the journal's plan is the one that runs"
        );
    }

    #[test]
    fn a_value_the_file_changed_or_lost_is_lost() {
        let plan = parse(PLAN);
        let (text, redacted) = plan.journaled_source();
        let j = parse(&text);
        // Another host for the hook, and the metric's credentials gone.
        let file = parse(
            &PLAN
                .replace("hooks.example", "hooks.elsewhere")
                .replace("viewer:v13w@", ""),
        );
        let r = restore(&j, &redacted, Some(&file));
        let lost: Vec<&str> = r.lost.iter().map(|s| s.field.as_str()).collect();
        assert_eq!(
            lost,
            ["`prometheus` of metric `errors`", "`url` of channel `ops`"]
        );
        assert_eq!(r.lost[1].channel.as_deref(), Some("ops"));
        let back = parse(&r.source);
        assert_eq!(back.checks, plan.checks, "what is unchanged comes back");
        // No file at all: everything redacted is lost.
        assert_eq!(restore(&j, &redacted, None).lost.len(), redacted.len());
    }
}
