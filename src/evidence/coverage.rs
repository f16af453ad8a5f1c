//! Line coverage from an lcov tracefile or a Cobertura XML report.
//!
//! lcov: each record (`SF:` … `end_of_record`) counts `LF`/`LH` when it has
//! them, else its `DA:` lines (a line with a count above zero is covered);
//! the records are summed. Other record types (`FN`, `BRDA`…) are skipped.
//! Cobertura: the root `<coverage>`'s `lines-covered`/`lines-valid`, else its
//! `line-rate`; the whole document must still be well-formed.

use super::xml::{Node, attr, walk};
use super::{CoverageFormat, CoverageRule, Judged, utf8};

/// Lines covered of lines that could be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lines {
    pub covered: Option<u64>,
    pub total: Option<u64>,
    /// 0–100.
    pub percent: f64,
}

/// The format the rule names, else the file's extension, else its first character.
pub fn format_of(rule: &CoverageRule, bytes: &[u8]) -> CoverageFormat {
    if let Some(f) = rule.format {
        return f;
    }
    let ext = std::path::Path::new(&rule.path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xml") => CoverageFormat::Cobertura,
        Some("info" | "lcov") => CoverageFormat::Lcov,
        _ => {
            let first = bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(bytes)
                .iter()
                .find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'<') {
                CoverageFormat::Cobertura
            } else {
                CoverageFormat::Lcov
            }
        }
    }
}

pub fn judge(bytes: &[u8], rule: &CoverageRule) -> Judged {
    let parsed = match format_of(rule, bytes) {
        CoverageFormat::Lcov => lcov(bytes),
        CoverageFormat::Cobertura => cobertura(bytes),
    };
    let lines = match parsed {
        Ok(l) => l,
        Err(e) => return Judged::fail(e),
    };
    let ok = lines.percent >= rule.min_line;
    let (shown, min) = compared(lines.percent, rule.min_line);
    let of = match (lines.covered, lines.total) {
        (Some(c), Some(t)) => format!(" ({c} of {t} lines)"),
        _ => String::new(),
    };
    Judged {
        ok,
        summary: format!(
            "line coverage {shown}% {} {min}%{of}",
            if ok { "≥" } else { "<" },
        ),
        findings: Vec::new(),
        more: 0,
    }
}

/// The percentage and the threshold as the gate compared them: the
/// threshold as the plan gives it, the percentage to two decimals, or as
/// many more (up to six) as it takes to compare with the threshold as the
/// real value did (79.996 < 80 reads "79.996% < 80%", never "80.00% < 80%").
fn compared(percent: f64, min: f64) -> (String, String) {
    let ok = percent >= min;
    let m = format!("{min}");
    for d in 2..=6 {
        let p = format!("{percent:.d$}");
        if p.parse::<f64>().is_ok_and(|p| (p >= min) == ok) {
            return (p, m);
        }
    }
    (percent.to_string(), m)
}

/// An lcov tracefile.
pub fn lcov(bytes: &[u8]) -> Result<Lines, String> {
    let text = String::from_utf8_lossy(bytes);
    #[derive(Default)]
    struct Rec {
        file: String,
        lf: Option<u64>,
        lh: Option<u64>,
        da: u64,
        da_hit: u64,
        open: bool,
    }
    let mut rec = Rec::default();
    let (mut total, mut covered, mut records) = (0u64, 0u64, 0u64);
    let last_line = text.lines().count();
    // A problem on a last line with no newline is the file being cut short.
    let cut = !text.ends_with('\n');
    let bad = |n: usize, what: String| {
        if cut && n == last_line {
            format!("truncated at line {n} (the file ends mid-line): {what}")
        } else {
            format!("malformed lcov at line {n}: {what}")
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line == "end_of_record" {
            let (t, c) = match rec.lf {
                Some(lf) => (lf, rec.lh.unwrap_or(rec.da_hit)),
                None => (rec.da, rec.da_hit),
            };
            if c > t {
                return Err(bad(
                    n,
                    format!(
                        "the record for {} has {c} lines hit of {t} found",
                        shown_file(&rec.file)
                    ),
                ));
            }
            total = total.saturating_add(t);
            covered = covered.saturating_add(c);
            records += 1;
            rec = Rec::default();
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else {
            let hint = if line.starts_with('<') {
                " (it looks like XML: set format = \"cobertura\")"
            } else {
                ""
            };
            return Err(bad(
                n,
                format!("`{}` is not an lcov record{hint}", short(line)),
            ));
        };
        let number = |v: &str, what: &str| -> Result<u64, String> {
            v.trim()
                .parse::<u64>()
                .map_err(|_| bad(n, format!("{what} `{}` is not a count", short(v))))
        };
        rec.open = true;
        match tag {
            "SF" => rec.file = value.to_string(),
            "LF" => rec.lf = Some(number(value, "LF")?),
            "LH" => rec.lh = Some(number(value, "LH")?),
            "DA" => {
                let mut parts = value.split(',');
                let _line = number(parts.next().unwrap_or(""), "DA line")?;
                let hits = parts.next().unwrap_or("").trim();
                // Some tools write counts as floats or negative numbers.
                let hit = match hits.parse::<f64>() {
                    Ok(h) if h.is_finite() => h > 0.0,
                    _ => {
                        return Err(bad(
                            n,
                            format!("DA count `{}` is not a number", short(hits)),
                        ));
                    }
                };
                rec.da += 1;
                rec.da_hit += u64::from(hit);
            }
            t if !t.is_empty() && t.bytes().all(|b| b.is_ascii_uppercase()) => {}
            _ => {
                return Err(bad(n, format!("`{}` is not an lcov record", short(line))));
            }
        }
    }
    if rec.open {
        return Err(format!(
            "truncated: the record for {} has no end_of_record (line {last_line} is the last)",
            shown_file(&rec.file)
        ));
    }
    if records == 0 {
        return Err("not an lcov tracefile: no records (SF: … end_of_record)".into());
    }
    if total == 0 {
        return Err("no lines to cover: every record has 0 lines found".into());
    }
    Ok(Lines {
        covered: Some(covered),
        total: Some(total),
        percent: covered as f64 * 100.0 / total as f64,
    })
}

/// A bit of a bad line, for a message.
fn short(s: &str) -> String {
    let c = super::clip(s);
    if c.chars().count() > 40 {
        format!("{}…", c.chars().take(40).collect::<String>())
    } else {
        c
    }
}

fn shown_file(f: &str) -> String {
    if f.is_empty() {
        "a file".into()
    } else {
        super::clip(f)
    }
}

/// A Cobertura XML report (coverage.py, gcovr, cargo-llvm-cov, Istanbul's `cobertura`).
pub fn cobertura(bytes: &[u8]) -> Result<Lines, String> {
    let text = utf8(bytes)?;
    let mut found: Option<(Option<String>, Option<String>, Option<String>)> = None;
    let mut first = true;
    walk(text, |node| {
        if let Node::Open { name, element, .. } = node
            && std::mem::take(&mut first)
        {
            if name != "coverage" {
                return Err(format!(
                    "not a Cobertura report: the root element is <{name}>, not <coverage>"
                ));
            }
            found = Some((
                attr(element, "lines-covered"),
                attr(element, "lines-valid"),
                attr(element, "line-rate"),
            ));
        }
        Ok(())
    })?;
    let (covered, valid, rate) = found.unwrap_or_default();
    let count = |key: &str, v: &str| -> Result<u64, String> {
        v.trim().parse::<u64>().map_err(|_| {
            format!(
                "malformed report: <coverage {key}=\"{}\"> is not a count",
                super::clip(v)
            )
        })
    };
    if let (Some(c), Some(v)) = (&covered, &valid) {
        let (c, v) = (count("lines-covered", c)?, count("lines-valid", v)?);
        if v == 0 {
            return Err("no lines to cover: <coverage lines-valid=\"0\">".into());
        }
        if c > v {
            return Err(format!("malformed report: {c} lines covered of {v} valid"));
        }
        return Ok(Lines {
            covered: Some(c),
            total: Some(v),
            percent: c as f64 * 100.0 / v as f64,
        });
    }
    let Some(rate) = rate else {
        return Err(
            "malformed report: <coverage> has neither line-rate nor lines-covered and lines-valid"
                .into(),
        );
    };
    match rate.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(Lines {
            covered: None,
            total: None,
            percent: r * 100.0,
        }),
        _ => Err(format!(
            "malformed report: <coverage line-rate=\"{}\"> is not a number from 0 to 1",
            super::clip(&rate)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, min: f64) -> CoverageRule {
        CoverageRule {
            path: path.into(),
            format: None,
            min_line: min,
        }
    }

    const LCOV: &str = "TN:\nSF:src/a.rs\nFN:3,main\nFNDA:1,main\nDA:3,1\nDA:4,0\nLF:10\nLH:8\nend_of_record\n\
SF:src/b.rs\nDA:1,5\nDA:2,0\nDA:3,0\nDA:4,2.0\nend_of_record\n";

    #[test]
    fn lcov_sums_records_from_lf_lh_or_da() {
        let l = lcov(LCOV.as_bytes()).unwrap();
        assert_eq!((l.covered, l.total), (Some(10), Some(14)));
        let j = judge(LCOV.as_bytes(), &rule("lcov.info", 70.0));
        assert!(j.ok);
        assert_eq!(j.summary, "line coverage 71.43% ≥ 70% (10 of 14 lines)");
        let j = judge(LCOV.as_bytes(), &rule("lcov.info", 80.0));
        assert!(!j.ok);
        assert_eq!(j.summary, "line coverage 71.43% < 80% (10 of 14 lines)");
    }

    #[test]
    fn shown_percent_is_what_was_compared() {
        let x = "SF:a\nLF:10000\nLH:7996\nend_of_record\n";
        let j = judge(x.as_bytes(), &rule("x.info", 80.0));
        assert!(!j.ok);
        assert_eq!(
            j.summary,
            "line coverage 79.96% < 80% (7996 of 10000 lines)"
        );
        let j = judge(x.as_bytes(), &rule("x.info", 79.5));
        assert_eq!(
            j.summary,
            "line coverage 79.96% ≥ 79.5% (7996 of 10000 lines)"
        );
        // 61.39% is not floored to 61.3%.
        let x = "SF:a\nLF:10000\nLH:6139\nend_of_record\n";
        let j = judge(x.as_bytes(), &rule("x.info", 61.0));
        assert_eq!(
            j.summary,
            "line coverage 61.39% ≥ 61% (6139 of 10000 lines)"
        );
        // Two decimals would round past the threshold: more are shown.
        let x = "SF:a\nLF:100000\nLH:79996\nend_of_record\n";
        let j = judge(x.as_bytes(), &rule("x.info", 80.0));
        assert!(!j.ok);
        assert_eq!(
            j.summary,
            "line coverage 79.996% < 80% (79996 of 100000 lines)"
        );
        assert_eq!(compared(80.004, 80.003), ("80.004".into(), "80.003".into()));
        assert_eq!(compared(80.0, 80.0), ("80.00".into(), "80".into()));
    }

    #[test]
    fn broken_lcov_names_the_line() {
        let e = lcov(b"SF:a\nLF:ten\nend_of_record\n").unwrap_err();
        assert_eq!(e, "malformed lcov at line 2: LF `ten` is not a count");
        let e = lcov(b"SF:a\nDA:1\nend_of_record\n").unwrap_err();
        assert_eq!(e, "malformed lcov at line 2: DA count `` is not a number");
        let e = lcov(b"SF:a\nLF:2\nLH:3\nend_of_record\n").unwrap_err();
        assert_eq!(
            e,
            "malformed lcov at line 4: the record for a has 3 lines hit of 2 found"
        );
        let e = lcov(b"hello world\n").unwrap_err();
        assert_eq!(
            e,
            "malformed lcov at line 1: `hello world` is not an lcov record"
        );
        let e = lcov(b"<?xml version='1.0'?><coverage/>").unwrap_err();
        assert!(
            e.ends_with("(it looks like XML: set format = \"cobertura\")"),
            "{e}"
        );
        let cut = &LCOV[..LCOV.len() - "end_of_record\n".len()];
        let e = lcov(cut.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "truncated: the record for src/b.rs has no end_of_record (line 14 is the last)"
        );
        let cut = &LCOV[..LCOV.len() - 20];
        let e = lcov(cut.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "truncated at line 14 (the file ends mid-line): DA line `` is not a count"
        );
        assert_eq!(
            lcov(b"TN:\n").unwrap_err(),
            "truncated: the record for a file has no end_of_record (line 1 is the last)"
        );
        assert_eq!(
            lcov(b"\n\n").unwrap_err(),
            "not an lcov tracefile: no records (SF: … end_of_record)"
        );
        assert_eq!(
            lcov(b"SF:a\nend_of_record\n").unwrap_err(),
            "no lines to cover: every record has 0 lines found"
        );
        for cut in 0..LCOV.len() {
            let _ = lcov(&LCOV.as_bytes()[..cut]);
        }
    }

    const COBERTURA: &str = r#"<?xml version="1.0" ?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.834" branch-rate="0.5" lines-covered="834" lines-valid="1000" version="7.4">
  <packages><package name="app"><classes/></package></packages>
</coverage>"#;

    #[test]
    fn cobertura_reads_the_root_counts_or_rate() {
        let j = judge(COBERTURA.as_bytes(), &rule("coverage.xml", 80.0));
        assert!(j.ok);
        assert_eq!(j.summary, "line coverage 83.40% ≥ 80% (834 of 1000 lines)");
        let rate_only = r#"<coverage line-rate="0.5"><packages/></coverage>"#;
        let j = judge(rate_only.as_bytes(), &rule("cov", 60.0));
        assert!(!j.ok);
        assert_eq!(j.summary, "line coverage 50.00% < 60%");
        let e = cobertura(br#"<coverage line-rate="NaN"/>"#).unwrap_err();
        assert_eq!(
            e,
            "malformed report: <coverage line-rate=\"NaN\"> is not a number from 0 to 1"
        );
        let e = cobertura(br#"<coverage/>"#).unwrap_err();
        assert!(e.contains("neither line-rate nor"), "{e}");
        let e = cobertura(br#"<report name="jacoco"/>"#).unwrap_err();
        assert_eq!(
            e,
            "not a Cobertura report: the root element is <report>, not <coverage>"
        );
        let cut = &COBERTURA[..COBERTURA.len() - 30];
        let e = cobertura(cut.as_bytes()).unwrap_err();
        assert!(e.starts_with("truncated at line 4, column "), "{e}");
        let cut = &COBERTURA[..COBERTURA.find("</packages>").unwrap()];
        let e = cobertura(cut.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "truncated: the file ends inside <packages> (it is never closed)"
        );
    }

    #[test]
    fn the_format_comes_from_the_rule_the_extension_or_the_content() {
        let mut r = rule("reports/cov.xml", 1.0);
        assert_eq!(format_of(&r, b"SF:a"), CoverageFormat::Cobertura);
        r.path = "reports/lcov.info".into();
        assert_eq!(format_of(&r, b"<coverage/>"), CoverageFormat::Lcov);
        r.path = "reports/coverage".into();
        assert_eq!(format_of(&r, b"  <coverage/>"), CoverageFormat::Cobertura);
        assert_eq!(format_of(&r, b"TN:"), CoverageFormat::Lcov);
        r.format = Some(CoverageFormat::Lcov);
        assert_eq!(format_of(&r, b"<coverage/>"), CoverageFormat::Lcov);
    }
}
