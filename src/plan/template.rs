//! `${...}` placeholders in check URLs, addresses, headers and metric queries,
//! so one check serves every environment (`http://${config.host}/healthz`).
//!
//! Commands get the same facts as `SLATE_*` variables instead, so the shell
//! quotes them; placeholders are never expanded inside commands.

use super::{Environment, Release};

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
            _ => {
                return Err(format!(
                    "unknown placeholder `${{{name}}}` (known: ${{env}}, ${{version}}, \
                     ${{previous_version}}, ${{config.KEY}})"
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

/// Expands placeholders for one environment. The loader has already checked
/// every name, so a missing key here is a plan the loader did not see.
pub fn expand(text: &str, env: &Environment, release: &Release) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` in \"{text}\" is never closed"))?;
        let name = after[..end].trim();
        let value = match name {
            "env" => env.name.clone(),
            "version" => release.version.clone(),
            "previous_version" => release.previous_version.clone(),
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
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
    fn promql_braces_are_left_alone() {
        let q = r#"sum(rate(x{env="${env}"}[1m]))"#;
        assert_eq!(placeholders(q).unwrap(), ["env"]);
        assert_eq!(
            expand(q, &env(), &release()).unwrap(),
            r#"sum(rate(x{env="prod"}[1m]))"#
        );
    }
}
