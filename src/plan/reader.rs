//! A small typed walker over toml's spanned document tree that collects every
//! problem instead of stopping at the first, which serde cannot do.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeInteger, DeTable, DeValue};

use super::diagnostic::{Diagnostic, suggestion};

pub type Span = Range<usize>;

/// Collects diagnostics while the loader walks the document.
#[derive(Default)]
pub struct Ctx {
    pub diags: Vec<Diagnostic>,
}

impl Ctx {
    pub fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::new(span, msg));
    }
}

/// A table being read, with the name used for it in messages ("stage `build`").
pub struct Table<'t, 'i> {
    pub table: &'t DeTable<'i>,
    pub span: Span,
    pub what: String,
}

pub fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The value of a TOML integer as written: any radix, `_` separators, within i64.
fn int_value(i: &DeInteger<'_>) -> Option<i64> {
    let digits = i.as_str().replace('_', "");
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0o"))
        .or_else(|| digits.strip_prefix("0b"))
        .unwrap_or(&digits);
    i64::from_str_radix(digits, i.radix()).ok()
}

/// humantime's reason in plan terms: its byte offsets and full unit list
/// read as noise next to the quoted value and the example that follow.
fn duration_problem(s: &str, e: &humantime::DurationError) -> String {
    use humantime::DurationError as E;
    match e {
        E::InvalidCharacter(at) => match s.get(*at..).and_then(|r| r.chars().next()) {
            Some(c) => format!("unexpected character '{c}'"),
            None => "unexpected character".to_string(),
        },
        E::NumberExpected(at) => match s.get(*at..).filter(|r| !r.is_empty()) {
            Some(rest) => format!("expected a number at \"{rest}\""),
            None => "expected a number".to_string(),
        },
        E::UnknownUnit { unit, .. } if !unit.is_empty() => format!("unknown unit \"{unit}\""),
        E::NumberOverflow => "number out of range".to_string(),
        E::Empty => "it is empty".to_string(),
        other => other.to_string(),
    }
}

impl<'t, 'i> Table<'t, 'i> {
    pub fn new(table: &'t DeTable<'i>, span: Span, what: impl Into<String>) -> Self {
        Self {
            table,
            span,
            what: what.into(),
        }
    }

    /// Reports every key that is not in `allowed`, with a did-you-mean.
    pub fn check_keys(&self, cx: &mut Ctx, allowed: &[&str]) {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                cx.error(
                    key.span(),
                    format!(
                        "unknown key `{name}` in {}{}",
                        self.what,
                        suggestion(name, allowed.iter().copied())
                    ),
                );
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    /// Span of the key itself, for messages about a value that is present.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.table.get_key_value(key).map(|(k, _)| k.span())
    }

    fn missing(&self, cx: &mut Ctx, key: &str) {
        cx.error(
            self.span.clone(),
            format!("{} is missing `{key}`", self.what),
        );
    }

    fn wrong_type(&self, cx: &mut Ctx, key: &str, expected: &str, v: &Spanned<DeValue<'_>>) {
        cx.error(
            v.span(),
            format!(
                "`{key}` in {} must be {expected}, found {}",
                self.what,
                type_name(v.get_ref())
            ),
        );
    }

    pub fn string(&self, cx: &mut Ctx, key: &str) -> Option<Spanned<String>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
            _ => {
                self.wrong_type(cx, key, "a string", v);
                None
            }
        }
    }

    pub fn req_string(&self, cx: &mut Ctx, key: &str) -> Option<Spanned<String>> {
        if self.get(key).is_none() {
            self.missing(cx, key);
            return None;
        }
        self.string(cx, key)
    }

    /// A non-empty string that names something (no surrounding whitespace).
    pub fn req_name(&self, cx: &mut Ctx, key: &str) -> Option<Spanned<String>> {
        let s = self.req_string(cx, key)?;
        let v = s.get_ref();
        if v.trim().is_empty() {
            cx.error(
                s.span(),
                format!("`{key}` in {} must not be empty", self.what),
            );
            return None;
        }
        if v.trim() != v || v.chars().any(|c| c.is_control()) {
            cx.error(
                s.span(),
                format!(
                    "`{key}` in {} must not contain surrounding whitespace or control characters",
                    self.what
                ),
            );
            return None;
        }
        Some(s)
    }

    pub fn int(&self, cx: &mut Ctx, key: &str, min: i64, max: i64) -> Option<Spanned<i64>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(n) if (min..=max).contains(&n) => Some(Spanned::new(v.span(), n)),
                _ => {
                    cx.error(
                        v.span(),
                        format!("`{key}` in {} must be between {min} and {max}", self.what),
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(cx, key, "an integer", v);
                None
            }
        }
    }

    /// A finite number, written as an integer or a float, within `min..=max`.
    pub fn number(&self, cx: &mut Ctx, key: &str, min: f64, max: f64) -> Option<Spanned<f64>> {
        let v = self.get(key)?;
        let x = match v.get_ref() {
            DeValue::Integer(i) => int_value(i).map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => {
                self.wrong_type(cx, key, "a number", v);
                return None;
            }
        };
        match x {
            Some(x) if x.is_finite() && (min..=max).contains(&x) => Some(Spanned::new(v.span(), x)),
            _ => {
                cx.error(
                    v.span(),
                    format!(
                        "`{key}` in {} must be a number from {min} to {max}",
                        self.what
                    ),
                );
                None
            }
        }
    }

    pub fn boolean(&self, cx: &mut Ctx, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(cx, key, "true or false", v);
                None
            }
        }
    }

    /// A duration written like "90s", "10m" or "1h 30m".
    pub fn duration(&self, cx: &mut Ctx, key: &str) -> Option<Spanned<Duration>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => match humantime::parse_duration(s) {
                Ok(d) => Some(Spanned::new(v.span(), d)),
                Err(e) => {
                    cx.error(
                        v.span(),
                        format!(
                            "`{key}` in {}: bad duration \"{s}\" ({}); write it like \"90s\", \"10m\" or \"1h 30m\"",
                            self.what,
                            duration_problem(s, &e)
                        ),
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(cx, key, "a duration string such as \"30s\"", v);
                None
            }
        }
    }

    pub fn string_list(&self, cx: &mut Ctx, key: &str) -> Option<Vec<Spanned<String>>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                        other => cx.error(
                            item.span(),
                            format!(
                                "`{key}` in {} must be a list of strings, found {} in it",
                                self.what,
                                type_name(other)
                            ),
                        ),
                    }
                }
                Some(out)
            }
            _ => {
                self.wrong_type(cx, key, "a list of strings", v);
                None
            }
        }
    }

    pub fn int_list(&self, cx: &mut Ctx, key: &str) -> Option<Vec<Spanned<i64>>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Integer(i) => match int_value(i) {
                            Some(n) => out.push(Spanned::new(item.span(), n)),
                            None => cx.error(
                                item.span(),
                                format!("`{key}` in {}: integer out of range", self.what),
                            ),
                        },
                        other => cx.error(
                            item.span(),
                            format!(
                                "`{key}` in {} must be a list of integers, found {} in it",
                                self.what,
                                type_name(other)
                            ),
                        ),
                    }
                }
                Some(out)
            }
            _ => {
                self.wrong_type(cx, key, "a list of integers", v);
                None
            }
        }
    }

    pub fn table(&self, cx: &mut Ctx, key: &str, what: impl Into<String>) -> Option<Table<'t, 'i>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Table::new(t, v.span(), what)),
            _ => {
                self.wrong_type(cx, key, "a table", v);
                None
            }
        }
    }

    /// `[[key]]` entries; each yielded with its own span.
    pub fn array_of_tables(&self, cx: &mut Ctx, key: &str) -> Vec<(&'t DeTable<'i>, Span)> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(t) => out.push((t, item.span())),
                        other => cx.error(
                            item.span(),
                            format!(
                                "each entry of `{key}` must be a table, found {}",
                                type_name(other)
                            ),
                        ),
                    }
                }
                out
            }
            _ => {
                self.wrong_type(cx, key, &format!("a list of tables (write `[[{key}]]`)"), v);
                Vec::new()
            }
        }
    }

    /// A table of scalar values, kept in source order and rendered as text.
    pub fn scalar_map(&self, cx: &mut Ctx, key: &str) -> Vec<(Spanned<String>, String)> {
        let Some(t) = self.table(cx, key, format!("`{key}` of {}", self.what)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in t.table.iter() {
            let text = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.as_str().to_string(),
                DeValue::Float(f) => f.as_str().to_string(),
                DeValue::Boolean(b) => b.to_string(),
                DeValue::Datetime(d) => d.to_string(),
                other => {
                    cx.error(
                        v.span(),
                        format!(
                            "`{key}.{}` in {} must be a string, number or boolean, found {}",
                            k.get_ref(),
                            self.what,
                            type_name(other)
                        ),
                    );
                    continue;
                }
            };
            out.push((Spanned::new(k.span(), k.get_ref().to_string()), text));
        }
        out
    }

    /// A string that must be one of `choices`.
    pub fn choice(&self, cx: &mut Ctx, key: &str, choices: &[&str]) -> Option<Spanned<String>> {
        let s = self.string(cx, key)?;
        if choices.contains(&s.get_ref().as_str()) {
            Some(s)
        } else {
            cx.error(
                s.span(),
                format!(
                    "unknown {key} `{}` in {}{} (expected one of: {})",
                    s.get_ref(),
                    self.what,
                    suggestion(s.get_ref(), choices.iter().copied()),
                    choices.join(", ")
                ),
            );
            None
        }
    }
}
