//! `${...}` placeholders in check URLs, addresses, headers and metric queries,
//! so one check serves every environment (`http://${config.host}/healthz`).
//!
//! `${secret.NAME}` (a `[secrets]` entry) is allowed in URLs and header values
//! only. [`expand`] leaves it as written, so everything shown and journaled
//! names the secret; [`expand_for_request`] puts the value in for the request
//! alone.
//!
//! Commands get the same facts as `SLATE_*` variables instead, so the shell
//! quotes them; placeholders are never expanded inside commands.

use super::{Check, Environment, HttpCheck, Release};
use crate::secrets::Resolved;

/// The prefix of a secret reference's name: `${secret.NAME}`.
pub const SECRET: &str = "secret.";

/// The placeholder names in `text`, in order, or what is malformed about it.
pub fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`${{` in \"{text}\" is never closed with `}}`"));
        };
        let name = after[..end].trim();
        match name {
            "env" | "version" | "previous_version" => {}
            n if n.strip_prefix("config.").is_some_and(|k| !k.is_empty()) => {}
            n if n.strip_prefix(SECRET).is_some_and(|k| !k.is_empty()) => {}
            n if n.strip_prefix("var.").is_some_and(|k| !k.is_empty()) => {}
            _ => {
                return Err(format!(
                    "unknown placeholder `${{{name}}}` (known: ${{env}}, ${{version}}, \
                     ${{previous_version}}, ${{config.KEY}}, ${{var.NAME}}, ${{secret.NAME}})"
                ));
            }
        }
        out.push(name);
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// The text with every placeholder replaced by `with` (to parse a query
/// before any environment fills it in).
pub fn fill_all(text: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        out.push_str(&rest[..i]);
        out.push_str(with);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Config keys a text needs from an environment.
pub fn config_keys(text: &str) -> Vec<&str> {
    placeholders(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.strip_prefix("config."))
        .collect()
}

/// Secret names a text refers to (`${secret.NAME}`).
pub fn secret_names(text: &str) -> Vec<&str> {
    placeholders(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.strip_prefix(SECRET))
        .collect()
}

/// Expands placeholders for one environment, leaving `${secret.NAME}` as it
/// is: the text as it may be shown. The loader has already checked every
/// name, so a missing key here is a plan the loader did not see.
pub fn expand(text: &str, env: &Environment, release: &Release) -> Result<String, String> {
    expand_with(text, env, release, None)
}

/// How a secret's value is written into the text it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// As it is (a header value).
    Raw,
    /// Percent-encoded as one URL component, so a value holding `@`, `/` or
    /// `&` cannot change where the request goes.
    UrlComponent,
}

/// [`expand`], with each `${secret.NAME}` replaced by the secret's value:
/// the text of the request itself, never shown or journaled. One pass over
/// the text as written, so a value (a config value, a secret) is never read
/// again for placeholders of its own.
pub fn expand_for_request(
    text: &str,
    env: &Environment,
    release: &Release,
    secrets: &Resolved,
    how: Fill,
) -> Result<String, String> {
    expand_with(text, env, release, Some((secrets, how)))
}

fn expand_with(
    text: &str,
    env: &Environment,
    release: &Release,
    secrets: Option<(&Resolved, Fill)>,
) -> Result<String, String> {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` in \"{text}\" is never closed"))?;
        let name = after[..end].trim();
        let value = match (name.strip_prefix(SECRET), secrets) {
            (Some(secret), Some((values, how))) => {
                let value = values
                    .get(secret)
                    .ok_or_else(|| format!("secret {secret} has no value in this run"))?;
                match how {
                    Fill::Raw => value.clone(),
                    Fill::UrlComponent => utf8_percent_encode(value, NON_ALPHANUMERIC).collect(),
                }
            }
            (Some(_), None) => format!("${{{name}}}"),
            // An SLO query's range, filled in per burn window by its sampler
            // (the loader allows it nowhere else).
            (None, _) if name == "window" => format!("${{{name}}}"),
            (None, _) => match name {
                "env" => env.name.clone(),
                "version" => release.version.clone(),
                "previous_version" => release.previous_version.clone(),
                n if n.starts_with("var.") => {
                    let key = &n[4..];
                    release
                        .vars
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("`${{{name}}}` has no value in this run"))?
                }
                n => {
                    let key = n.strip_prefix("config.").unwrap_or(n);
                    env.config
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| {
                            format!("`${{{name}}}` is not set in environment `{}`", env.name)
                        })?
                }
            },
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A check as it runs in one environment: every placeholder of its URL,
/// headers, expected JSON value, address and alert labels filled in. The
/// engine probes this, and the dossier describes it.
pub fn expand_check(check: &Check, env: &Environment, release: &Release) -> Result<Check, String> {
    let x = |s: &str| expand(s, env, release);
    expand_check_with(check, |s, _| x(s), x)
}

/// A check with its placeholders filled in: `ask` fills what is asked of a
/// server (URLs and header values, where a secret may be referred to, and
/// how the value is put there), `x` everything else. The engine asks with
/// the secrets' values; whatever only describes a check leaves them named.
pub fn expand_check_with(
    check: &Check,
    ask: impl Fn(&str, Fill) -> Result<String, String>,
    x: impl Fn(&str) -> Result<String, String>,
) -> Result<Check, String> {
    Ok(match check {
        Check::Command { .. } => check.clone(),
        Check::Http(h) => Check::Http(HttpCheck {
            url: ask(&h.url, Fill::UrlComponent)?,
            headers: h
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), ask(v, Fill::Raw)?)))
                .collect::<Result<_, String>>()?,
            json: match &h.json {
                Some((field, serde_json::Value::String(want))) => {
                    Some((field.clone(), serde_json::Value::String(x(want)?)))
                }
                other => other.clone(),
            },
            ..h.clone()
        }),
        Check::Tcp { addr, timeout } => Check::Tcp {
            addr: x(addr)?,
            timeout: *timeout,
        },
        Check::Alerts {
            prometheus,
            labels,
            timeout,
            pending,
        } => Check::Alerts {
            prometheus: ask(prometheus, Fill::UrlComponent)?,
            labels: labels
                .iter()
                .map(|(k, v)| Ok((k.clone(), x(v)?)))
                .collect::<Result<_, String>>()?,
            timeout: *timeout,
            pending: *pending,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ApprovalPolicy, OnInconclusive, Strategy};

    fn env() -> Environment {
        Environment {
            name: "prod".into(),
            config: vec![("port".into(), "8080".into())],
            approval: ApprovalPolicy::default(),
            strategy: Strategy::AllAtOnce,
            gates: vec![],
            verify_rollback: None,
            production: true,
            on_inconclusive: OnInconclusive::Fail,
            health: vec![],
            analysis: None,
            rollback_approval: false,
        }
    }

    fn release() -> Release {
        Release {
            name: "svc".into(),
            version: "2".into(),
            previous_version: "1".into(),
            owner: "me".into(),
            notes: String::new(),
            scope: String::new(),
            repository: None,
            vars: Vec::new(),
            lock_wait: None,
            break_glass: Vec::new(),
            break_glass_second: false,
        }
    }

    #[test]
    fn expands_env_version_and_config() {
        let s = expand(
            "http://127.0.0.1:${config.port}/${env}?v=${version}&was=${ previous_version }",
            &env(),
            &release(),
        )
        .unwrap();
        assert_eq!(s, "http://127.0.0.1:8080/prod?v=2&was=1");
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(
            placeholders("${nope}")
                .unwrap_err()
                .contains("unknown placeholder `${nope}`")
        );
        assert!(
            placeholders("a ${env")
                .unwrap_err()
                .contains("never closed")
        );
        assert_eq!(config_keys("${config.a}:${config.b}/${env}"), ["a", "b"]);
        let e = expand("${config.host}", &env(), &release()).unwrap_err();
        assert_eq!(e, "`${config.host}` is not set in environment `prod`");
    }

    #[test]
    fn secret_references_stay_until_a_request_fills_them() {
        let url = "https://${secret.USER}:${secret.PASS}@h:${config.port}/x?t=${secret.PASS}";
        assert_eq!(secret_names(url), ["USER", "PASS", "PASS"]);
        assert_eq!(
            expand(url, &env(), &release()).unwrap(),
            "https://${secret.USER}:${secret.PASS}@h:8080/x?t=${secret.PASS}"
        );
        let secrets: Resolved = [("USER", "deploy"), ("PASS", "p@ss/w&rd")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ask = |text: &str, e: &Environment, how| {
            expand_for_request(text, e, &release(), &secrets, how)
        };
        assert_eq!(
            ask(url, &env(), Fill::UrlComponent).unwrap(),
            "https://deploy:p%40ss%2Fw%26rd@h:8080/x?t=p%40ss%2Fw%26rd"
        );
        assert_eq!(
            ask("Bearer ${secret.PASS}", &env(), Fill::Raw).unwrap(),
            "Bearer p@ss/w&rd"
        );
        assert_eq!(
            ask("${secret.NOPE}", &env(), Fill::Raw).unwrap_err(),
            "secret NOPE has no value in this run"
        );
        // A value is never read again for placeholders: a config value that
        // spells a secret reference stays text.
        let mut sly = env();
        sly.config = vec![("port".into(), "${secret.PASS}".into())];
        assert_eq!(
            ask("http://h:${config.port}/", &sly, Fill::UrlComponent).unwrap(),
            "http://h:${secret.PASS}/"
        );
    }

    #[test]
    fn promql_braces_are_left_alone() {
        let q = r#"sum(rate(x{env="${env}"}[1m]))"#;
        assert_eq!(placeholders(q).unwrap(), ["env"]);
        assert_eq!(
            expand(q, &env(), &release()).unwrap(),
            r#"sum(rate(x{env="prod"}[1m]))"#
        );
    }
}
