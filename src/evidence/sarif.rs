//! SARIF 2.1 logs from security scanners (CodeQL, Semgrep, Trivy, gosec…).
//!
//! A result's severity is its `level`, else its rule's
//! `defaultConfiguration.level`, else `warning` (SARIF's default). When the
//! result or its rule carries a numeric `security-severity` property (0–10,
//! the CVSS-like score CodeQL and GitHub use), the severity is raised to what
//! that score means: 7.0 and above (high, critical) counts as `error`, 4.0 and
//! above (medium) as `warning`, anything above 0 (low) as `note`. It is never
//! lowered. Results that are not findings are left out: `level = "none"`, a
//! `kind` other than `fail`, a suppression that is not rejected or under
//! review, and `baselineState = "absent"` (fixed since the baseline).

use std::collections::HashMap;

use serde::Deserialize;

use super::{Finding, Judged, Level, MAX_FINDINGS, SarifRule, count, list_some};

#[derive(Deserialize)]
struct Log {
    runs: Vec<Run>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Run {
    tool: Tool,
    results: Option<Vec<SarifResult>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tool {
    driver: Driver,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Driver {
    rules: Vec<Rule>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Rule {
    id: String,
    default_configuration: Option<RuleConfig>,
    properties: Option<Properties>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RuleConfig {
    level: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Properties {
    #[serde(rename = "security-severity")]
    security_severity: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SarifResult {
    rule_id: Option<String>,
    rule_index: Option<usize>,
    rule: Option<RuleRef>,
    level: Option<String>,
    kind: Option<String>,
    message: Message,
    locations: Vec<Location>,
    suppressions: Option<Vec<Suppression>>,
    baseline_state: Option<String>,
    properties: Option<Properties>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RuleRef {
    id: Option<String>,
    index: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Message {
    text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ArtifactLocation {
    uri: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Region {
    start_line: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Suppression {
    status: Option<String>,
}

/// One finding, its severity decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub rule: String,
    pub level: Level,
    pub location: String,
    pub message: String,
}

/// Every finding of a log, and how many results were left out as suppressed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub found: Vec<Found>,
    pub suppressed: u64,
}

fn level_named(s: &str, what: &str) -> Result<Option<Level>, String> {
    match s {
        "none" => Ok(None),
        _ => Level::from_name(s).map(Some).ok_or_else(|| {
            format!(
                "not valid SARIF: {what} has level \"{}\" (SARIF's levels: none, note, warning, error)",
                super::clip(s)
            )
        }),
    }
}

/// What a `security-severity` score means as a level; `None` for 0.
fn severity_level(v: &serde_json::Value, what: &str) -> Result<Option<Level>, String> {
    let score = match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match score {
        Some(s) if (0.0..=10.0).contains(&s) => Ok(if s >= 7.0 {
            Some(Level::Error)
        } else if s >= 4.0 {
            Some(Level::Warning)
        } else if s > 0.0 {
            Some(Level::Note)
        } else {
            None
        }),
        _ => Err(format!(
            "not valid SARIF: {what} has security-severity {}, not a score from 0 to 10",
            super::clip(&v.to_string())
        )),
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, String> {
    let text = super::utf8(bytes)?;
    // serde_json refuses nesting deeper than 128, so no input can exhaust the stack.
    let log: Log = serde_json::from_str(text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "truncated JSON",
            serde_json::error::Category::Syntax => "malformed JSON",
            _ => "not a SARIF log",
        };
        let msg = e.to_string();
        // "… at line 3 column 5" is already in serde_json's message.
        format!("{what}: {}", super::clip(&msg))
    })?;
    let mut out = Report::default();
    for (ri, run) in log.runs.iter().enumerate() {
        let rules = &run.tool.driver.rules;
        let by_id: HashMap<&str, usize> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.id.is_empty())
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        for (i, res) in run.results.iter().flatten().enumerate() {
            let what = format!("result {} of run {}", i + 1, ri + 1);
            let index = res
                .rule_index
                .or_else(|| res.rule.as_ref().and_then(|r| r.index));
            let id = res
                .rule_id
                .clone()
                .or_else(|| res.rule.as_ref().and_then(|r| r.id.clone()))
                .or_else(|| index.and_then(|i| rules.get(i)).map(|r| r.id.clone()))
                .filter(|s| !s.is_empty());
            let rule = index.and_then(|i| rules.get(i)).or_else(|| {
                id.as_deref()
                    .and_then(|id| by_id.get(id))
                    .map(|&i| &rules[i])
            });
            if res.kind.as_deref().is_some_and(|k| k != "fail")
                || res.baseline_state.as_deref() == Some("absent")
            {
                continue;
            }
            let suppressed = res.suppressions.as_ref().is_some_and(|s| {
                !s.is_empty()
                    && s.iter()
                        .all(|x| !matches!(x.status.as_deref(), Some("rejected" | "underReview")))
            });
            if suppressed {
                out.suppressed += 1;
                continue;
            }
            let stated = match (
                &res.level,
                rule.and_then(|r| r.default_configuration.as_ref()),
            ) {
                (Some(l), _) => level_named(l, &what)?,
                (None, Some(RuleConfig { level: Some(l) })) => {
                    level_named(l, &format!("the rule of {what}"))?
                }
                _ => Some(Level::Warning),
            };
            let Some(stated) = stated else { continue };
            let score = res
                .properties
                .as_ref()
                .and_then(|p| p.security_severity.as_ref())
                .or_else(|| {
                    rule.and_then(|r| r.properties.as_ref())
                        .and_then(|p| p.security_severity.as_ref())
                });
            let level = match score {
                Some(v) => stated.max(severity_level(v, &what)?.unwrap_or(Level::Note)),
                None => stated,
            };
            let phys = res
                .locations
                .first()
                .and_then(|l| l.physical_location.as_ref());
            let uri = phys
                .and_then(|p| p.artifact_location.as_ref())
                .and_then(|a| a.uri.clone())
                .unwrap_or_default();
            let line = phys
                .and_then(|p| p.region.as_ref())
                .and_then(|r| r.start_line);
            let location = match (uri.is_empty(), line) {
                (false, Some(l)) => format!("{uri}:{l}"),
                (false, None) => uri,
                _ => String::new(),
            };
            out.found.push(Found {
                rule: id.unwrap_or_else(|| "(no rule id)".into()),
                level,
                location: super::clip(&location),
                message: super::clip(res.message.text.as_deref().unwrap_or("")),
            });
        }
    }
    Ok(out)
}

/// Whether `allow` lists the rule, or the rule's parent for a hierarchical id ("a/b").
fn allowed(rule: &str, allow: &[String]) -> bool {
    allow
        .iter()
        .any(|a| a == rule || rule.split('/').next() == Some(a.as_str()))
}

pub fn judge(bytes: &[u8], rule: &SarifRule) -> Judged {
    let report = match parse(bytes) {
        Ok(r) => r,
        Err(e) => return Judged::fail(e),
    };
    let at = rule.fail_at;
    let mut blocking: Vec<&Found> = Vec::new();
    let mut allowed_ids: Vec<String> = Vec::new();
    let mut below = [0u64; 3];
    for f in &report.found {
        if f.level < at {
            below[f.level as usize] += 1;
        } else if allowed(&f.rule, &rule.allow) {
            if !allowed_ids.contains(&f.rule) {
                allowed_ids.push(f.rule.clone());
            }
        } else {
            blocking.push(f);
        }
    }
    let n = blocking.len() as u64;
    let mut summary = if n == 0 {
        format!("no findings at {} or above", at.word())
    } else {
        let shown: Vec<String> = blocking
            .iter()
            .map(|f| {
                if f.location.is_empty() {
                    f.rule.clone()
                } else {
                    format!("{} ({})", f.rule, f.location)
                }
            })
            .take(5)
            .collect();
        format!(
            "{} at {} or above: {}",
            count(n, "finding", "findings"),
            at.word(),
            list_some(&shown, n, 5)
        )
    };
    if !allowed_ids.is_empty() {
        summary.push_str(&format!("; allowed: {}", allowed_ids.join(", ")));
    }
    let lower: Vec<String> = [Level::Warning, Level::Note]
        .iter()
        .filter(|l| below[**l as usize] > 0)
        .map(|l| count(below[*l as usize], l.word(), &format!("{}s", l.word())))
        .collect();
    if !lower.is_empty() {
        summary.push_str(&format!("; below it: {}", lower.join(", ")));
    }
    if report.suppressed > 0 {
        summary.push_str(&format!("; {} suppressed", report.suppressed));
    }
    let findings: Vec<Finding> = blocking
        .iter()
        .take(MAX_FINDINGS)
        .map(|f| Finding {
            id: super::clip(&f.rule),
            location: f.location.clone(),
            detail: if f.message.is_empty() {
                f.level.word().to_string()
            } else {
                format!("{}: {}", f.level.word(), f.message)
            },
        })
        .collect();
    Judged {
        ok: n == 0,
        summary,
        more: n.saturating_sub(findings.len() as u64),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(fail_at: Level, allow: &[&str]) -> SarifRule {
        SarifRule {
            path: "scan.sarif".into(),
            fail_at,
            allow: allow.iter().map(|s| s.to_string()).collect(),
        }
    }

    const SCAN: &str = r#"{
  "version": "2.1.0",
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "runs": [{
    "tool": {"driver": {"name": "scanner", "rules": [
      {"id": "RULE-9", "defaultConfiguration": {"level": "error"}},
      {"id": "RULE-123"},
      {"id": "SQLI", "properties": {"security-severity": "8.8"}},
      {"id": "STYLE", "defaultConfiguration": {"level": "note"}}
    ]}},
    "results": [
      {"ruleId": "RULE-9", "message": {"text": "secret in source\nsecond line"},
       "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.rs"}, "region": {"startLine": 12}}}]},
      {"ruleId": "RULE-123", "level": "error", "message": {"text": "known, accepted"}},
      {"ruleIndex": 2, "level": "warning", "message": {"text": "query built from input"},
       "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/db.rs"}}}]},
      {"ruleId": "STYLE", "message": {"text": "long line"}},
      {"ruleId": "NEW", "message": {"text": "defaults to warning"}},
      {"ruleId": "GONE", "level": "error", "baselineState": "absent", "message": {"text": "fixed"}},
      {"ruleId": "OK", "level": "error", "kind": "pass", "message": {"text": "passed"}},
      {"ruleId": "HUSH", "level": "error", "suppressions": [{"kind": "inSource"}], "message": {"text": "hushed"}},
      {"ruleId": "LOUD", "level": "none", "message": {"text": "nothing"}}
    ]
  }]
}"#;

    #[test]
    fn severity_comes_from_level_rule_default_and_security_severity() {
        let r = parse(SCAN.as_bytes()).unwrap();
        let got: Vec<(&str, Level)> = r.found.iter().map(|f| (f.rule.as_str(), f.level)).collect();
        assert_eq!(
            got,
            [
                ("RULE-9", Level::Error),
                ("RULE-123", Level::Error),
                ("SQLI", Level::Error),
                ("STYLE", Level::Note),
                ("NEW", Level::Warning),
            ]
        );
        assert_eq!(r.suppressed, 1);
        assert_eq!(r.found[0].location, "src/a.rs:12");
        assert_eq!(r.found[0].message, "secret in source");
        assert_eq!(r.found[2].location, "src/db.rs");
    }

    #[test]
    fn findings_at_or_above_the_level_block_unless_allowed() {
        let j = judge(SCAN.as_bytes(), &rule(Level::Error, &["RULE-123"]));
        assert!(!j.ok);
        assert_eq!(
            j.summary,
            "2 findings at error or above: RULE-9 (src/a.rs:12), SQLI (src/db.rs); \
             allowed: RULE-123; below it: 1 warning, 1 note; 1 suppressed"
        );
        assert_eq!(
            j.findings[0],
            Finding::new("RULE-9", "src/a.rs:12", "error: secret in source")
        );
        let j = judge(
            SCAN.as_bytes(),
            &rule(Level::Error, &["RULE-9", "RULE-123", "SQLI"]),
        );
        assert!(j.ok, "{j:?}");
        assert_eq!(
            j.summary,
            "no findings at error or above; allowed: RULE-9, RULE-123, SQLI; \
             below it: 1 warning, 1 note; 1 suppressed"
        );
        assert!(j.findings.is_empty());
        let j = judge(
            SCAN.as_bytes(),
            &rule(Level::Warning, &["RULE-9", "RULE-123", "SQLI"]),
        );
        assert!(!j.ok);
        assert_eq!(
            j.summary,
            "1 finding at warning or above: NEW; allowed: RULE-9, RULE-123, SQLI; \
             below it: 1 note; 1 suppressed"
        );
    }

    #[test]
    fn a_clean_log_passes_and_hierarchical_ids_match_their_parent() {
        let clean = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[]}]}"#;
        let j = judge(clean.as_bytes(), &rule(Level::Error, &[]));
        assert!(j.ok);
        assert_eq!(j.summary, "no findings at error or above");
        let no_results = r#"{"runs":[{"tool":{"driver":{"name":"x"}}}]}"#;
        assert!(judge(no_results.as_bytes(), &rule(Level::Note, &[])).ok);
        assert!(allowed("py/sql-injection", &["py".into()]));
        assert!(!allowed("py/sql-injection", &["py/xss".into()]));
    }

    #[test]
    fn malformed_truncated_and_foreign_json_say_what_is_wrong() {
        let e = parse(&SCAN.as_bytes()[..SCAN.len() / 2]).unwrap_err();
        assert!(e.starts_with("truncated JSON: EOF while parsing"), "{e}");
        let e = parse(b"{\"runs\": [}").unwrap_err();
        assert!(e.starts_with("malformed JSON: "), "{e}");
        assert!(e.contains("line 1 column"), "{e}");
        let e = parse(b"{\"version\": \"2.1.0\"}").unwrap_err();
        assert_eq!(
            e,
            "not a SARIF log: missing field `runs` at line 1 column 20"
        );
        let e = parse(br#"{"runs":[{"results":[{"level":3}]}]}"#).unwrap_err();
        assert!(
            e.starts_with("not a SARIF log: invalid type: integer `3`"),
            "{e}"
        );
        let e = parse(br#"{"runs":[{"results":[{"level":"critical"}]}]}"#).unwrap_err();
        assert_eq!(
            e,
            "not valid SARIF: result 1 of run 1 has level \"critical\" (SARIF's levels: none, note, warning, error)"
        );
        let e = parse(br#"{"runs":[{"results":[{"properties":{"security-severity":"high"}}]}]}"#)
            .unwrap_err();
        assert!(e.contains("security-severity \"high\", not a score"), "{e}");
        // Deep nesting is refused by serde_json's recursion limit, not by the
        // stack (values it skips are skipped without recursion).
        let deep = format!(
            "{{\"runs\":[{{\"results\":[{{\"properties\":{{\"security-severity\":{}{}}}}}]}}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = parse(deep.as_bytes()).unwrap_err();
        assert!(e.contains("recursion limit exceeded"), "{e}");
        for cut in 0..SCAN.len() {
            let _ = parse(&SCAN.as_bytes()[..cut]);
        }
    }
}
