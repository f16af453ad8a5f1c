//! Reading checks: `[[checks]]` entries and the inline check tables of check
//! gates and `verify_rollback`.

use super::*;
use crate::plan::sealed::Sealed;
use crate::plan::template;

pub(super) const CHECK_KEYS: &[&str] = &[
    "command", "http", "tcp", "alerts", "method", "headers", "status", "contains", "json",
    "labels", "pending", "timeout",
];
/// Keys of an HTTP check's `json = { field, equals }`.
pub(super) const JSON_KEYS: &[&str] = &["field", "equals"];
pub(super) const NAMED_KEYS: &[&str] = &["name", "retries", "interval"];
/// Which keys belong to which kind of check, for "does not apply" messages.
const KIND_KEYS: &[(&str, &[&str])] = &[
    ("command", &[]),
    ("http", &["method", "headers", "status", "contains", "json"]),
    ("tcp", &[]),
    ("alerts", &["labels", "pending"]),
];
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

impl Loader<'_> {
    pub(super) fn named_check(&mut self, t: &DeTable<'_>, span: Span) -> Option<NamedCheck> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("check `{s}`"),
            _ => "a check".to_string(),
        };
        let t = Table::new(t, span, label);
        let name = t.req_name(self.cx, "name");
        let retries = t
            .int(self.cx, "retries", 0, 1000)
            .map(|r| *r.get_ref() as u32)
            .unwrap_or(0);
        let interval = self
            .positive(&t, "interval")
            .unwrap_or(Duration::from_secs(2));
        let check = self.check_with(&t, NAMED_KEYS);
        Some(NamedCheck {
            name: name?.into_inner(),
            check: check?,
            retries,
            interval,
        })
    }

    pub(super) fn check(&mut self, t: &Table<'_, '_>) -> Option<Check> {
        self.check_with(t, &[])
    }

    fn check_with(&mut self, t: &Table<'_, '_>, extra_keys: &[&str]) -> Option<Check> {
        let allowed: Vec<&str> = CHECK_KEYS.iter().chain(extra_keys).copied().collect();
        t.check_keys(self.cx, &allowed);
        let timeout = self.positive(t, "timeout").unwrap_or(DEFAULT_CHECK_TIMEOUT);
        let kinds: Vec<&str> = KIND_KEYS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| t.get(k).is_some())
            .collect();
        let kind = match kinds.as_slice() {
            [one] => *one,
            [] => {
                if !self.cx.diags.iter().any(|d| t.span.contains(&d.span.start)) {
                    self.cx.error(
                        t.span.clone(),
                        format!(
                            "{} needs one of `command`, `http`, `tcp` or `alerts`",
                            t.what
                        ),
                    );
                }
                return None;
            }
            many => {
                let listed: Vec<String> = many.iter().map(|k| format!("`{k}`")).collect();
                let both = if listed.len() == 2 { "both " } else { "" };
                self.cx.error(
                    t.span.clone(),
                    format!(
                        "{} has {both}{}; give exactly one",
                        t.what,
                        listed.join(" and ")
                    ),
                );
                return None;
            }
        };
        for (other, keys) in KIND_KEYS {
            for key in *keys {
                let mine = KIND_KEYS
                    .iter()
                    .any(|(k, ks)| *k == kind && ks.contains(key));
                if !mine && let Some(ks) = t.key_span(key) {
                    self.cx.error(
                        ks,
                        format!(
                            "`{key}` applies only to {} checks (in {})",
                            if *other == "http" { "HTTP" } else { other },
                            t.what
                        ),
                    );
                }
            }
        }
        match kind {
            "command" => {
                let c = t.string(self.cx, "command")?;
                if c.get_ref().trim().is_empty() {
                    self.cx
                        .error(c.span(), format!("`command` in {} is empty", t.what));
                    return None;
                }
                Some(Check::Command {
                    command: c.into_inner(),
                    timeout,
                })
            }
            "http" => self.http_check(t, timeout),
            "tcp" => {
                let a = self.templated(t, "tcp")?;
                let host_port = a.rsplit_once(':');
                // With placeholders the address is judged once filled in, at run time.
                if !a.contains("${")
                    && !host_port.is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
                {
                    self.cx.error(
                        t.get("tcp").map(|v| v.span()).unwrap_or(t.span.clone()),
                        format!(
                            "`tcp` in {} must be HOST:PORT, such as \"127.0.0.1:5432\", found \"{a}\"",
                            t.what
                        ),
                    );
                    return None;
                }
                Some(Check::Tcp { addr: a, timeout })
            }
            _ => {
                let url = self.url(t, "alerts")?;
                let labels = self.templated_map(t, "labels");
                let pending = match t.choice(self.cx, "pending", &PendingAlerts::NAMES) {
                    Some(p) => match p.get_ref().as_str() {
                        "fail" => PendingAlerts::Fail,
                        "ignore" => PendingAlerts::Ignore,
                        _ => PendingAlerts::Wait,
                    },
                    None if t.get("pending").is_some() => return None,
                    None => PendingAlerts::default(),
                };
                if labels.is_empty() {
                    self.cx.error(
                        t.key_span("alerts").unwrap_or(t.span.clone()),
                        format!(
                            "{} needs `labels` to say which alerts matter, e.g. labels = {{ service = \"checkout\" }}",
                            t.what
                        ),
                    );
                    return None;
                }
                Some(Check::Alerts {
                    prometheus: url,
                    labels,
                    timeout,
                    pending,
                })
            }
        }
    }

    fn http_check(&mut self, t: &Table<'_, '_>, timeout: Duration) -> Option<Check> {
        let url = self.url(t, "http");
        let method = t
            .choice(self.cx, "method", &["GET", "HEAD", "POST", "PUT"])
            .map(|m| m.into_inner())
            .unwrap_or_else(|| "GET".into());
        let status = t
            .int(self.cx, "status", 100, 599)
            .map(|s| *s.get_ref() as u16)
            .unwrap_or(200);
        let headers = self.headers(t);
        let contains = t.string(self.cx, "contains").map(|c| c.into_inner());
        let json = match t.table(self.cx, "json", format!("`json` of {}", t.what)) {
            Some(j) => {
                j.check_keys(self.cx, JSON_KEYS);
                let field = j.req_string(self.cx, "field");
                let equals = match j.get("equals") {
                    Some(v) => {
                        if let DeValue::String(text) = v.get_ref() {
                            self.placeholders_ok(v.span(), text, None);
                        }
                        json_scalar(v.get_ref()).or_else(|| {
                            self.cx.error(
                                v.span(),
                                format!(
                                    "`equals` in {} must be a string, number or boolean",
                                    j.what
                                ),
                            );
                            None
                        })
                    }
                    None => {
                        self.cx.error(
                            j.span.clone(),
                            format!(
                                "{} is missing `equals` (the value the field must have)",
                                j.what
                            ),
                        );
                        None
                    }
                };
                Some((field?.into_inner(), equals?))
            }
            None => None,
        };
        if t.get("json").is_some() && json.is_none() {
            return None;
        }
        Some(Check::Http(HttpCheck {
            url: url?,
            method,
            headers,
            expect_status: status,
            contains,
            json,
            timeout,
        }))
    }

    /// An http(s) URL, placeholders allowed, `${secret.NAME}` too. It may
    /// carry credentials, so it is sealed: journaled only as shown.
    pub(super) fn url(&mut self, t: &Table<'_, '_>, key: &str) -> Option<String> {
        let s = t.string(self.cx, key)?;
        let field = format!("`{key}` of {}", t.what);
        if !self.placeholders_ok(s.span(), s.get_ref(), Some(&field)) {
            return None;
        }
        let u = s.get_ref().clone();
        self.sealed.push(Sealed::url(field, s.span(), &u));
        if u.starts_with("http://") || u.starts_with("https://") {
            Some(u)
        } else {
            self.cx.error(
                t.get(key).map(|v| v.span()).unwrap_or(t.span.clone()),
                format!(
                    "`{key}` in {} must be an http:// or https:// URL, found \"{}\"",
                    t.what,
                    crate::secrets::url::shown(&u)
                ),
            );
            None
        }
    }

    /// A string whose `${...}` placeholders are checked and remembered for the
    /// per-environment check once every environment is known.
    pub(super) fn templated(&mut self, t: &Table<'_, '_>, key: &str) -> Option<String> {
        let s = t.string(self.cx, key)?;
        self.placeholders_ok(s.span(), s.get_ref(), None)
            .then(|| s.into_inner())
    }

    fn templated_map(&mut self, t: &Table<'_, '_>, key: &str) -> Vec<(String, String)> {
        let map = t.scalar_map(self.cx, key);
        let mut out = Vec::new();
        for (k, v) in map {
            if self.placeholders_ok(k.span(), &v, None) {
                out.push((k.into_inner(), v));
            }
        }
        out
    }

    /// `headers`: placeholders allowed, `${secret.NAME}` too; each value is
    /// sealed (one whose name says it is a credential is journaled masked).
    pub(super) fn headers(&mut self, t: &Table<'_, '_>) -> Vec<(String, String)> {
        let map = t.scalar_map(self.cx, "headers");
        let values = match t.get("headers").map(|v| v.get_ref()) {
            Some(DeValue::Table(table)) => Some(table),
            _ => None,
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let field = format!("header `{}` of {}", k.get_ref(), t.what);
            let span = values
                .and_then(|table| table.get(k.get_ref().as_str()))
                .map(|v| v.span())
                .unwrap_or(k.span());
            if self.placeholders_ok(span.clone(), &v, Some(&field)) {
                self.sealed
                    .push(Sealed::header(field, span, k.get_ref(), &v));
                out.push((k.into_inner(), v));
            }
        }
        out
    }

    /// Checks a text's placeholders. `${secret.NAME}` is allowed only where
    /// `secret_use` names the place (a URL or a header value, filled in
    /// only for the request); elsewhere its value would be shown.
    pub(super) fn placeholders_ok(
        &mut self,
        span: Span,
        text: &str,
        secret_use: Option<&str>,
    ) -> bool {
        match template::placeholders(text) {
            Ok(names) => {
                let mut ok = true;
                for secret in names
                    .iter()
                    .filter_map(|n| n.strip_prefix(template::SECRET))
                {
                    match secret_use {
                        Some(from) => self.secret_refs.push((
                            Spanned::new(span.clone(), secret.to_string()),
                            from.to_string(),
                        )),
                        None => {
                            self.cx.error(
                                span.clone(),
                                format!(
                                    "`${{secret.{secret}}}` is allowed only in check and metric \
                                     URLs and in header values, where Slate fills it in for the \
                                     request alone; here its value would be shown"
                                ),
                            );
                            ok = false;
                        }
                    }
                }
                if ok && !names.is_empty() {
                    self.templated.push((span, text.to_string()));
                }
                ok
            }
            Err(e) => {
                self.cx.error(span, e);
                false
            }
        }
    }
}

fn json_scalar(v: &DeValue<'_>) -> Option<serde_json::Value> {
    Some(match v {
        DeValue::String(s) => serde_json::Value::String(s.to_string()),
        DeValue::Boolean(b) => serde_json::Value::Bool(*b),
        DeValue::Integer(i) => {
            serde_json::Value::from(i.as_str().replace('_', "").parse::<i64>().ok()?)
        }
        DeValue::Float(f) => {
            serde_json::Value::from(f.as_str().replace('_', "").parse::<f64>().ok()?)
        }
        _ => return None,
    })
}
