//! `[vars]`: values a plan takes, with defaults and descriptions, given per
//! run with `--set NAME=VALUE`, and used as `${var.NAME}`.

use super::*;
use crate::plan::Var;

const VAR_KEYS: &[&str] = &["default", "description"];

impl Loader<'_> {
    /// The declared vars, and each one's value for this run.
    pub(super) fn vars(&mut self, top: &Table<'_, '_>) -> (Vec<Var>, Vec<(String, String)>) {
        let mut vars = Vec::new();
        if let Some(t) = top.table(self.cx, "vars", "[vars]") {
            for (k, v) in t.table.iter() {
                let name = k.get_ref().to_string();
                if !valid_name(&name) {
                    self.cx.error(
                        k.span(),
                        format!("var name `{name}` must be letters, digits and `_`, not starting with a digit"),
                    );
                    continue;
                }
                if crate::secrets::url::is_credential_name(&name)
                    || ["secret", "password", "passwd", "credential", "private"]
                        .iter()
                        .any(|w| name.to_ascii_lowercase().contains(w))
                {
                    self.cx.error(
                        k.span(),
                        format!(
                            "var `{name}` looks like a secret: vars are journaled and shown; declare it in [secrets] and use `${{secret.{name}}}`"
                        ),
                    );
                    continue;
                }
                let (default, description) = match v.get_ref() {
                    DeValue::Table(e) => {
                        let e = Table::new(e, v.span(), format!("var `{name}`"));
                        e.check_keys(self.cx, VAR_KEYS);
                        let default = scalar(self.cx, &e, "default");
                        let description = e
                            .string(self.cx, "description")
                            .map(|d| d.into_inner())
                            .unwrap_or_default();
                        (default, description)
                    }
                    _ => (scalar_value(v.get_ref()), String::new()),
                };
                if matches!(v.get_ref(), DeValue::Array(_)) {
                    self.cx.error(
                        v.span(),
                        format!("var `{name}` is a value (string, number or boolean) or a table with `default` and `description`"),
                    );
                }
                vars.push(Var {
                    name,
                    default,
                    description,
                });
            }
        }
        let mut values = Vec::new();
        for (k, v) in &self.sets {
            if !vars.iter().any(|d| &d.name == k) {
                let known: Vec<&str> = vars.iter().map(|d| d.name.as_str()).collect();
                self.cx.error(
                    0..0,
                    format!(
                        "--set {k}: the plan declares no var `{k}` in [vars]{}",
                        if known.is_empty() {
                            String::new()
                        } else {
                            format!(" (it has: {})", known.join(", "))
                        }
                    ),
                );
            }
            let _ = v;
        }
        for d in &vars {
            let given = self.sets.iter().rev().find(|(k, _)| k == &d.name);
            if let Some(value) = given.map(|(_, v)| v.clone()).or_else(|| d.default.clone()) {
                values.push((d.name.clone(), value));
            }
        }
        (vars, values)
    }

    /// Every `${var.NAME}` used must be declared and have a value.
    pub(super) fn var_uses(&mut self, vars: &[Var], values: &[(String, String)]) {
        for (span, text) in self.templated.clone() {
            for p in crate::plan::template::placeholders(&text).unwrap_or_default() {
                let Some(name) = p.strip_prefix("var.") else {
                    continue;
                };
                if !vars.iter().any(|v| v.name == name) {
                    self.cx.error(
                        span.clone(),
                        format!("`${{var.{name}}}` is used here, but [vars] declares no `{name}`"),
                    );
                } else if !values.iter().any(|(k, _)| k == name) {
                    self.cx.error(
                        span.clone(),
                        format!(
                            "`${{var.{name}}}` is used here, but var `{name}` has no default and was not given: run with --set {name}=VALUE"
                        ),
                    );
                }
            }
        }
    }
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn scalar_value(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().to_string()),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar(cx: &mut Ctx, t: &Table<'_, '_>, key: &str) -> Option<String> {
    let v = t.get(key)?;
    let s = scalar_value(v.get_ref());
    if s.is_none() {
        cx.error(
            v.span(),
            format!("`{key}` in {} must be a string, number or boolean", t.what),
        );
    }
    s
}
