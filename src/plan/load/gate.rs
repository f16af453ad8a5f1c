//! Reading `[[gates]]` and the checks they (and `verify_rollback`) run.

use super::*;

const GATE_KEYS: &[&str] = &[
    "name",
    "kind",
    "timeout",
    "require_comment",
    "approvals",
    "wait",
    "check",
    "retries",
    "interval",
];
const GATE_KINDS: &[&str] = &["manual", "soak", "check"];
const CHECK_KEYS: &[&str] = &["command", "http", "method", "status", "contains", "timeout"];
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

impl Loader<'_> {
    pub(super) fn gate(&mut self, t: &DeTable<'_>, span: Span) -> Option<Gate> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("gate `{s}`"),
            _ => "a gate".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, GATE_KEYS);
        let name = t.req_name(self.cx, "name");
        let timeout = self.positive(&t, "timeout");
        let kind = match t.get("kind") {
            None => {
                self.cx.error(
                    t.span.clone(),
                    format!(
                        "{label} is missing `kind` (one of: {})",
                        GATE_KINDS.join(", ")
                    ),
                );
                None
            }
            Some(_) => t.choice(self.cx, "kind", GATE_KINDS),
        };
        let kind = kind?;
        let allowed: &[&str] = match kind.get_ref().as_str() {
            "manual" => &["require_comment", "approvals"],
            "soak" => &["wait"],
            _ => &["check", "retries", "interval"],
        };
        for key in [
            "require_comment",
            "approvals",
            "wait",
            "check",
            "retries",
            "interval",
        ] {
            if !allowed.contains(&key)
                && let Some(ks) = t.key_span(key)
            {
                self.cx.error(
                    ks,
                    format!(
                        "`{key}` does not apply to a {} gate ({label})",
                        kind.get_ref()
                    ),
                );
            }
        }
        let gate_kind = match kind.get_ref().as_str() {
            "manual" => GateKind::Manual {
                require_comment: t.boolean(self.cx, "require_comment").unwrap_or(false),
                approvals: t
                    .int(self.cx, "approvals", 1, 100)
                    .map(|a| *a.get_ref() as u32),
            },
            "soak" => {
                if t.get("wait").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!("{label} is a soak gate but has no `wait` (e.g. wait = \"10m\")"),
                    );
                }
                GateKind::Soak {
                    wait: self.positive(&t, "wait")?,
                }
            }
            _ => {
                if t.get("check").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!("{label} is a check gate but has no `check` (e.g. check = {{ command = \"...\" }})"),
                    );
                }
                let check = t
                    .table(self.cx, "check", format!("the check of {label}"))
                    .and_then(|c| self.check(&c));
                // Read before giving up on a bad check, so their problems are reported too.
                let retries = t
                    .int(self.cx, "retries", 0, 1000)
                    .map(|r| *r.get_ref() as u32)
                    .unwrap_or(0);
                let interval = t
                    .duration(self.cx, "interval")
                    .map(|d| d.into_inner())
                    .unwrap_or(Duration::from_secs(2));
                GateKind::Check {
                    check: check?,
                    retries,
                    interval,
                }
            }
        };
        Some(Gate {
            name: name?.into_inner(),
            kind: gate_kind,
            timeout,
        })
    }

    pub(super) fn check(&mut self, t: &Table<'_, '_>) -> Option<Check> {
        t.check_keys(self.cx, CHECK_KEYS);
        let timeout = self.positive(t, "timeout").unwrap_or(DEFAULT_CHECK_TIMEOUT);
        let command = t.string(self.cx, "command");
        let http = t.string(self.cx, "http");
        match (command, http) {
            (Some(c), None) => {
                for key in ["method", "status", "contains"] {
                    if let Some(ks) = t.key_span(key) {
                        self.cx.error(
                            ks,
                            format!("`{key}` applies only to HTTP checks (in {})", t.what),
                        );
                    }
                }
                Some(Check::Command {
                    command: c.into_inner(),
                    timeout,
                })
            }
            (None, Some(url)) => {
                let u = url.get_ref();
                let is_url = u.starts_with("http://") || u.starts_with("https://");
                if !is_url {
                    self.cx.error(
                        url.span(),
                        format!(
                            "`http` in {} must be an http:// or https:// URL, found \"{u}\"",
                            t.what
                        ),
                    );
                }
                let method = t
                    .choice(self.cx, "method", &["GET", "HEAD", "POST", "PUT"])
                    .map(|m| m.into_inner())
                    .unwrap_or_else(|| "GET".into());
                let status = t
                    .int(self.cx, "status", 100, 599)
                    .map(|s| *s.get_ref() as u16)
                    .unwrap_or(200);
                // Method and status are read first so their problems show up too.
                if !is_url {
                    return None;
                }
                Some(Check::Http {
                    url: url.into_inner(),
                    method,
                    expect_status: status,
                    contains: t.string(self.cx, "contains").map(|c| c.into_inner()),
                    timeout,
                })
            }
            (Some(_), Some(_)) => {
                self.cx.error(
                    t.span.clone(),
                    format!("{} has both `command` and `http`; give exactly one", t.what),
                );
                None
            }
            (None, None) => {
                if !self.cx.diags.iter().any(|d| t.span.contains(&d.span.start)) {
                    self.cx.error(
                        t.span.clone(),
                        format!("{} needs `command` or `http`", t.what),
                    );
                }
                None
            }
        }
    }
}
