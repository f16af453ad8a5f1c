//! Reading what an evidence gate asks for: `junit`, `coverage` and `sarif`
//! (each a table with a `path`) and a `command`.

use super::*;
use crate::evidence::{CoverageFormat, CoverageRule, JunitRule, Level, SarifRule, Spec};
use crate::plan::reader::type_name;

/// The gate keys that belong to an evidence gate.
pub(super) const KEYS: &[&str] = &["junit", "coverage", "sarif", "command"];
pub(super) const JUNIT_KEYS: &[&str] = &["path", "max_failures", "min_tests"];
pub(super) const COVERAGE_KEYS: &[&str] = &["path", "min_line", "format"];
pub(super) const SARIF_KEYS: &[&str] = &["path", "fail_at", "allow"];
const MAX_COUNT: i64 = 1_000_000_000;

impl Loader<'_> {
    pub(super) fn evidence_gate(&mut self, t: &Table<'_, '_>, label: &str) -> Option<Spec> {
        if KEYS.iter().all(|k| t.get(k).is_none()) {
            self.cx.error(
                t.span.clone(),
                format!(
                    "{label} is an evidence gate but asks for no evidence; give `junit`, `coverage`, \
                     `sarif` or `command` (e.g. junit = {{ path = \"reports/junit.xml\" }})"
                ),
            );
            return None;
        }
        // Each is None when absent, Some(None) when present but wrong (already
        // reported); every one is read so that all their problems are reported.
        let junit = self
            .evidence_table(
                t,
                "junit",
                JUNIT_KEYS,
                label,
                "{ path = \"reports/junit.xml\" }",
            )
            .map(|j| {
                let path = self.report_path(&j);
                let count = |this: &mut Self, key: &str, default: u64| {
                    j.int(this.cx, key, 0, MAX_COUNT)
                        .map_or(default, |n| *n.get_ref() as u64)
                };
                let max_failures = count(self, "max_failures", 0);
                let min_tests = count(self, "min_tests", 1);
                Some(JunitRule {
                    path: path?,
                    max_failures,
                    min_tests,
                })
            });
        let coverage = self
            .evidence_table(
                t,
                "coverage",
                COVERAGE_KEYS,
                label,
                "{ path = \"reports/lcov.info\", min_line = 80.0 }",
            )
            .map(|c| {
                let path = self.report_path(&c);
                let format = c
                    .choice(self.cx, "format", &CoverageFormat::NAMES)
                    .map(|f| CoverageFormat::from_name(f.get_ref()));
                let min_line = self.percent(&c, "min_line");
                Some(CoverageRule {
                    path: path?,
                    format: match format {
                        Some(f) => Some(f?),
                        None if c.get("format").is_some() => return None,
                        None => None,
                    },
                    min_line: min_line?,
                })
            });
        let sarif = self
            .evidence_table(
                t,
                "sarif",
                SARIF_KEYS,
                label,
                "{ path = \"reports/scan.sarif\" }",
            )
            .map(|s| {
                let path = self.report_path(&s);
                let fail_at = match s.get("fail_at") {
                    None => Some(Level::Error),
                    Some(_) => s
                        .choice(self.cx, "fail_at", &Level::NAMES)
                        .and_then(|l| Level::from_name(l.get_ref())),
                };
                let mut allow = Vec::new();
                let mut allow_ok = true;
                for id in s.string_list(self.cx, "allow").unwrap_or_default() {
                    if id.get_ref().trim().is_empty() {
                        self.cx.error(
                            id.span(),
                            format!("`allow` in {} lists an empty rule id", s.what),
                        );
                        allow_ok = false;
                    } else {
                        allow.push(id.into_inner());
                    }
                }
                if s.get("allow")
                    .is_some_and(|v| !matches!(v.get_ref(), DeValue::Array(_)))
                {
                    allow_ok = false;
                }
                Some(SarifRule {
                    path: path?,
                    fail_at: fail_at?,
                    allow: allow_ok.then_some(allow)?,
                })
            });
        let command = t.get("command").map(|_| {
            let c = t.string(self.cx, "command")?;
            if c.get_ref().trim().is_empty() {
                self.cx
                    .error(c.span(), format!("`command` in {label} is empty"));
                return None;
            }
            Some(c.into_inner())
        });
        Some(Spec {
            junit: junit.map_or(Some(None), |j| j.map(Some))?,
            coverage: coverage.map_or(Some(None), |c| c.map(Some))?,
            sarif: sarif.map_or(Some(None), |s| s.map(Some))?,
            command: command.map_or(Some(None), |c| c.map(Some))?,
        })
    }

    /// The table under `key`, its keys checked; `None` if absent, or if it
    /// is not a table (reported here, so the plan fails all the same).
    fn evidence_table<'t, 'i>(
        &mut self,
        t: &Table<'t, 'i>,
        key: &str,
        keys: &[&str],
        label: &str,
        example: &str,
    ) -> Option<Table<'t, 'i>> {
        let v = t.get(key)?;
        match v.get_ref() {
            DeValue::Table(inner) => {
                let table = Table::new(inner, v.span(), format!("`{key}` of {label}"));
                table.check_keys(self.cx, keys);
                Some(table)
            }
            other => {
                self.cx.error(
                    v.span(),
                    format!(
                        "`{key}` in {label} must be a table such as {key} = {example}, found {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// A report's path, relative to the plan's directory; placeholders allowed.
    fn report_path(&mut self, t: &Table<'_, '_>) -> Option<String> {
        let Some(v) = t.get("path") else {
            self.cx.error(
                t.span.clone(),
                format!(
                    "{} is missing `path` (the report file, relative to the plan)",
                    t.what
                ),
            );
            return None;
        };
        let p = self.templated(t, "path")?;
        if p.trim().is_empty() || p.chars().any(char::is_control) {
            self.cx.error(
                v.span(),
                format!(
                    "`path` in {} must name a file (not empty, no control characters)",
                    t.what
                ),
            );
            return None;
        }
        Some(p)
    }

    /// A percentage, 0 to 100, written as an integer or a float; required.
    fn percent(&mut self, t: &Table<'_, '_>, key: &str) -> Option<f64> {
        let Some(v) = t.get(key) else {
            self.cx.error(
                t.span.clone(),
                format!(
                    "{} is missing `{key}` (the lowest line coverage that passes, in percent, e.g. {key} = 80.0)",
                    t.what
                ),
            );
            return None;
        };
        let n = match v.get_ref() {
            DeValue::Integer(i) => i.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            other => {
                self.cx.error(
                    v.span(),
                    format!(
                        "`{key}` in {} must be a number such as 80.0, found {}",
                        t.what,
                        type_name(other)
                    ),
                );
                return None;
            }
        };
        match n {
            Some(x) if (0.0..=100.0).contains(&x) => Some(x),
            _ => {
                self.cx.error(
                    v.span(),
                    format!("`{key}` in {} must be a percentage from 0 to 100", t.what),
                );
                None
            }
        }
    }
}
