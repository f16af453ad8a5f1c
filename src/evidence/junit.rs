//! JUnit XML test reports (`<testsuites>` or `<testsuite>` at the root), as
//! written by surefire, pytest, jest-junit, cargo-nextest, go-junit-report….
//!
//! Test cases are counted: a `<testcase>` with an `<error>` child is an
//! error, else with a `<failure>` child a failure, else with `<skipped>`
//! skipped (a case counts once, whatever it holds). Rerun and flaky
//! elements (`<rerunFailure>`, `<flakyFailure>`…) do not count. A report
//! with no `<testcase>` at all is read from the `tests`, `failures`, `errors`
//! and `skipped` attributes of its outermost suites instead.

use super::xml::{Node, attr, walk};
use super::{Finding, Judged, JunitRule, MAX_FINDINGS, count, list_some, utf8};

/// What a report says ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub tests: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
    /// Failing and erroring cases, first [`MAX_FINDINGS`] of them.
    pub failing: Vec<Finding>,
}

impl Report {
    /// Cases that ran (not skipped).
    pub fn ran(&self) -> u64 {
        self.tests.saturating_sub(self.skipped)
    }

    pub fn bad(&self) -> u64 {
        self.failures.saturating_add(self.errors)
    }
}

#[derive(Default)]
struct Case {
    id: String,
    location: String,
    /// Depth of the `<testcase>` element.
    depth: usize,
    error: Option<String>,
    failure: Option<String>,
    skipped: bool,
}

/// Suite attributes, summed over the outermost suites, for reports without cases.
#[derive(Default)]
struct Totals {
    tests: u64,
    failures: u64,
    errors: u64,
    skipped: u64,
    /// An attribute that is present but not a count: (attribute, value).
    bad: Option<(String, String)>,
    any: bool,
}

impl Totals {
    fn add(&mut self, e: &quick_xml::events::BytesStart<'_>) {
        for (key, slot) in [
            ("tests", &mut self.tests),
            ("failures", &mut self.failures),
            ("errors", &mut self.errors),
            ("skipped", &mut self.skipped),
        ] {
            if let Some(v) = attr(e, key) {
                self.any |= key == "tests";
                match v.trim().parse::<u64>() {
                    Ok(n) => *slot = slot.saturating_add(n),
                    Err(_) => {
                        self.bad.get_or_insert((key.to_string(), v));
                    }
                }
            }
        }
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, String> {
    let text = utf8(bytes)?;
    let mut r = Report::default();
    let mut depth = 0usize;
    let mut case: Option<Case> = None;
    // How many <testsuite> elements enclose the current position.
    let mut suites = 0usize;
    let mut root_totals = Totals::default();
    let mut suite_totals = Totals::default();
    let mut cases = 0u64;
    let mut first = true;
    walk(text, |node| {
        match node {
            Node::Open { name, element, .. } => {
                depth += 1;
                if first {
                    first = false;
                    if name != "testsuites" && name != "testsuite" {
                        return Err(format!(
                            "not a JUnit report: the root element is <{name}>, not <testsuites> or <testsuite>"
                        ));
                    }
                    if name == "testsuites" {
                        root_totals.add(element);
                    }
                }
                match name {
                    "testsuite" => {
                        if suites == 0 {
                            suite_totals.add(element);
                        }
                        suites += 1;
                    }
                    "testcase" if case.is_none() => {
                        cases += 1;
                        let class = attr(element, "classname").unwrap_or_default();
                        let test = attr(element, "name").unwrap_or_default();
                        let id = match (class.is_empty(), test.is_empty()) {
                            (false, false) => format!("{class}.{test}"),
                            (true, false) => test,
                            (false, true) => class,
                            (true, true) => format!("test case {cases}"),
                        };
                        let location = match (attr(element, "file"), attr(element, "line")) {
                            (Some(f), Some(l)) => format!("{f}:{l}"),
                            (Some(f), None) => f,
                            _ => String::new(),
                        };
                        case = Some(Case {
                            id,
                            location,
                            depth,
                            ..Case::default()
                        });
                    }
                    "failure" | "error" | "skipped" => {
                        if let Some(c) = case.as_mut().filter(|c| c.depth + 1 == depth) {
                            let why = attr(element, "message")
                                .filter(|m| !m.trim().is_empty())
                                .or_else(|| attr(element, "type"))
                                .unwrap_or_default();
                            match name {
                                "failure" => {
                                    c.failure.get_or_insert(why);
                                }
                                "error" => {
                                    c.error.get_or_insert(why);
                                }
                                _ => c.skipped = true,
                            }
                        }
                    }
                    _ => {}
                }
            }
            Node::Close { name } => {
                if name == "testsuite" {
                    suites = suites.saturating_sub(1);
                }
                if name == "testcase"
                    && let Some(c) = case.take_if(|c| c.depth == depth)
                {
                    r.tests += 1;
                    let bad = match (c.error, c.failure) {
                        (Some(why), _) => {
                            r.errors += 1;
                            Some(why)
                        }
                        (None, Some(why)) => {
                            r.failures += 1;
                            Some(why)
                        }
                        (None, None) => {
                            if c.skipped {
                                r.skipped += 1;
                            }
                            None
                        }
                    };
                    if let Some(why) = bad
                        && r.failing.len() < MAX_FINDINGS
                    {
                        r.failing.push(Finding::new(&c.id, &c.location, &why));
                    }
                }
                depth -= 1;
            }
        }
        Ok(())
    })?;
    if cases == 0 {
        // A summary-only report: trust the outermost counts.
        let totals = if root_totals.any {
            root_totals
        } else {
            suite_totals
        };
        if let Some((key, value)) = totals.bad {
            return Err(format!(
                "malformed report: `{key}=\"{value}\"` is not a count of tests"
            ));
        }
        r.tests = totals.tests;
        r.failures = totals.failures;
        r.errors = totals.errors;
        r.skipped = totals.skipped.min(totals.tests);
    }
    Ok(r)
}

pub fn judge(bytes: &[u8], rule: &JunitRule) -> Judged {
    let r = match parse(bytes) {
        Ok(r) => r,
        Err(e) => return Judged::fail(e),
    };
    let mut summary = format!(
        "{}, {}, {}",
        count(r.tests, "test", "tests"),
        count(r.failures, "failure", "failures"),
        count(r.errors, "error", "errors")
    );
    if r.skipped > 0 {
        summary.push_str(&format!(", {} skipped", r.skipped));
    }
    let mut problems = Vec::new();
    if r.bad() > rule.max_failures {
        let ids: Vec<String> = r.failing.iter().map(|f| f.id.clone()).collect();
        let listed = if ids.is_empty() {
            String::new()
        } else {
            format!(": {}", list_some(&ids, r.bad(), 5))
        };
        problems.push(format!(
            "more failures and errors than the {} allowed{listed}",
            rule.max_failures
        ));
    }
    // Skipped tests did not run: they never count towards `min_tests`.
    if r.ran() < rule.min_tests {
        problems.push(format!(
            "{} ran, {} skipped, {} required",
            r.ran(),
            r.skipped,
            rule.min_tests
        ));
    }
    let ok = problems.is_empty();
    if !ok {
        summary = format!("{summary} — {}", problems.join("; "));
    }
    let (findings, more) = if r.bad() > rule.max_failures {
        let more = r.bad().saturating_sub(r.failing.len() as u64);
        (r.failing, more)
    } else {
        (Vec::new(), 0)
    };
    Judged {
        ok,
        summary,
        findings,
        more,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(max_failures: u64, min_tests: u64) -> JunitRule {
        JunitRule {
            path: "junit.xml".into(),
            max_failures,
            min_tests,
        }
    }

    const SUREFIRE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all" tests="5" failures="1" errors="1">
  <testsuite name="cart" tests="3">
    <testcase classname="cart.Totals" name="adds_tax" time="0.01"/>
    <testcase classname="cart.Totals" name="rounds" file="src/cart.rs" line="88">
      <failure message="expected 10.00, got 9.99" type="AssertionError">trace
      more trace</failure>
      <system-out>noise</system-out>
    </testcase>
    <testcase classname="cart.Totals" name="legacy"><skipped/></testcase>
  </testsuite>
  <testsuite name="db">
    <testcase classname="db.Pool" name="connects"><error message="" type="TimeoutError"/></testcase>
    <testcase classname="db.Pool" name="flaky">
      <flakyFailure message="first try failed"/>
    </testcase>
  </testsuite>
</testsuites>"#;

    #[test]
    fn counts_cases_and_names_the_failing_ones() {
        let r = parse(SUREFIRE.as_bytes()).unwrap();
        assert_eq!(
            (r.tests, r.failures, r.errors, r.skipped),
            (5, 1, 1, 1),
            "{r:?}"
        );
        assert_eq!(r.ran(), 4);
        assert_eq!(
            r.failing,
            [
                Finding::new(
                    "cart.Totals.rounds",
                    "src/cart.rs:88",
                    "expected 10.00, got 9.99"
                ),
                Finding::new("db.Pool.connects", "", "TimeoutError"),
            ]
        );
        let j = judge(SUREFIRE.as_bytes(), &rule(0, 1));
        assert!(!j.ok);
        assert_eq!(
            j.summary,
            "5 tests, 1 failure, 1 error, 1 skipped — more failures and errors than the 0 allowed: \
             cart.Totals.rounds, db.Pool.connects"
        );
        assert_eq!(j.findings.len(), 2);
        let j = judge(SUREFIRE.as_bytes(), &rule(2, 4));
        assert!(j.ok, "{j:?}");
        assert_eq!(j.summary, "5 tests, 1 failure, 1 error, 1 skipped");
        assert!(j.findings.is_empty());
    }

    #[test]
    fn too_few_tests_fail_even_when_all_pass() {
        let x = r#"<testsuite name="t"><testcase name="a"/><testcase name="b"><skipped/></testcase></testsuite>"#;
        let j = judge(x.as_bytes(), &rule(0, 10));
        assert!(!j.ok);
        assert_eq!(
            j.summary,
            "2 tests, 0 failures, 0 errors, 1 skipped — 1 ran, 1 skipped, 10 required"
        );
        assert!(j.findings.is_empty());
        // Skipped tests did not run, so they do not make up the minimum.
        let x = r#"<testsuites><testsuite tests="200" failures="0" errors="0" skipped="2"/></testsuites>"#;
        let j = judge(x.as_bytes(), &rule(0, 200));
        assert!(!j.ok);
        assert!(
            j.summary.ends_with("— 198 ran, 2 skipped, 200 required"),
            "{}",
            j.summary
        );
        // An empty suite fails the default minimum of one.
        let j = judge(br#"<testsuite name="none" tests="0"/>"#, &rule(0, 1));
        assert_eq!(
            j.summary,
            "0 tests, 0 failures, 0 errors — 0 ran, 0 skipped, 1 required"
        );
    }

    #[test]
    fn summary_only_reports_use_the_outermost_counts() {
        let x = r#"<testsuites><testsuite tests="10" failures="2" errors="0" skipped="1">
            <testsuite tests="4" failures="2"/></testsuite><testsuite tests="3"/></testsuites>"#;
        let r = parse(x.as_bytes()).unwrap();
        assert_eq!((r.tests, r.failures, r.errors, r.skipped), (13, 2, 0, 1));
        let x = r#"<testsuites tests="7" failures="1"><testsuite tests="3"/></testsuites>"#;
        let r = parse(x.as_bytes()).unwrap();
        assert_eq!((r.tests, r.failures), (7, 1));
        let e = parse(br#"<testsuite tests="many"/>"#).unwrap_err();
        assert_eq!(
            e,
            "malformed report: `tests=\"many\"` is not a count of tests"
        );
    }

    #[test]
    fn many_failures_are_capped_and_counted() {
        let mut x = String::from("<testsuite>");
        for i in 0..50 {
            x.push_str(&format!(
                "<testcase name=\"t{i}\"><failure message=\"boom {i}\"/></testcase>"
            ));
        }
        x.push_str("</testsuite>");
        let j = judge(x.as_bytes(), &rule(3, 1));
        assert!(!j.ok);
        assert_eq!(j.findings.len(), MAX_FINDINGS);
        assert_eq!(j.more, 50 - MAX_FINDINGS as u64);
        assert!(
            j.summary.ends_with("t0, t1, t2, t3, t4, …and 45 more"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn malformed_truncated_and_foreign_files_say_what_is_wrong() {
        let cut = &SUREFIRE[..SUREFIRE.len() / 2];
        let e = parse(cut.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "truncated at line 8, column 7: tag not closed: `>` not found before end of input"
        );
        let cut = &SUREFIRE[..SUREFIRE.find("<testsuite name=\"db\">").unwrap()];
        let e = parse(cut.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "truncated: the file ends inside <testsuites> (it is never closed)"
        );
        let e = parse(b"<testsuite><testcase></testsuite>").unwrap_err();
        assert!(e.starts_with("malformed XML at line 1, column "), "{e}");
        let e = parse(b"<html><body/></html>").unwrap_err();
        assert_eq!(
            e,
            "not a JUnit report: the root element is <html>, not <testsuites> or <testsuite>"
        );
        let e = parse(b"{\"tests\": 3}").unwrap_err();
        assert_eq!(e, "not XML: the file has no elements");
        let e = parse(b"<testsuite>\xFF</testsuite>").unwrap_err();
        assert!(e.starts_with("not UTF-8"), "{e}");
        // Binary noise never panics.
        let noise: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(parse(&noise).is_err());
        // Cut anywhere, even inside a character: an error, never a panic.
        for cut in 0..SUREFIRE.len() {
            let _ = parse(&SUREFIRE.as_bytes()[..cut]);
        }
    }

    #[test]
    fn billion_laughs_is_refused() {
        let lol = r#"<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<testsuite tests="&b;"><testcase name="&b;"/></testsuite>"#;
        let e = parse(lol.as_bytes()).unwrap_err();
        assert!(e.contains("declares XML entities"), "{e}");
    }
}
