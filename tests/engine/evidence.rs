//! Evidence gates end to end: real report files written into a temporary
//! plan directory, an in-process engine judging them (every run ends by
//! checking that clients saw exactly the journal and that replaying it
//! rebuilds the live state), and one black-box headless run through the real
//! binary with its printed lines and its dossier.

use std::time::Duration;

use slate::engine::event::{Event, EvidenceKind, Finding};
use slate::engine::state::EvidenceView;
use slate::engine::{Engine, EngineOptions, Record, RunOutcome, RunState, Unattended};
use slate::journal::read_journal;
use tempfile::TempDir;

use crate::common;
use common::actor;
use common::engine::{LIMIT, plan_source};
use common::sandbox::Sandbox;

const JUNIT_OK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="cart" tests="3">
    <testcase classname="cart.Totals" name="adds_tax"/>
    <testcase classname="cart.Totals" name="rounds"/>
    <testcase classname="cart.Totals" name="legacy"><skipped/></testcase>
  </testsuite>
</testsuites>"#;

const JUNIT_FAILING: &str = r#"<testsuite name="cart">
  <testcase classname="cart.Totals" name="adds_tax"/>
  <testcase classname="cart.Totals" name="rounds" file="src/cart.rs" line="88">
    <failure message="expected 10.00, got 9.99">trace</failure>
  </testcase>
  <testcase classname="db.Pool" name="connects"><error message="timed out"/></testcase>
</testsuite>"#;

const LCOV: &str = "SF:src/a.rs\nDA:1,1\nDA:2,1\nDA:3,0\nLF:10\nLH:9\nend_of_record\n";

const COBERTURA_LOW: &str = r#"<?xml version="1.0"?>
<coverage line-rate="0.712" lines-covered="712" lines-valid="1000"><packages/></coverage>"#;

const SARIF: &str = r#"{
  "version": "2.1.0",
  "runs": [{
    "tool": {"driver": {"name": "scanner", "rules": [{"id": "RULE-9"}, {"id": "RULE-123"}]}},
    "results": [
      {"ruleId": "RULE-9", "level": "error", "message": {"text": "secret in source"},
       "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.rs"}, "region": {"startLine": 12}}}]},
      {"ruleId": "RULE-123", "level": "error", "message": {"text": "known and accepted"}},
      {"ruleId": "STYLE", "level": "note", "message": {"text": "long line"}}
    ]
  }]
}"#;

/// One environment `prod` whose evidence gate `ci` holds `gate_body`, then a
/// stage that appends to the ledger, so a failed gate means nothing deployed.
fn plan(gate_body: &str) -> String {
    format!(
        r#"
[[environments]]
name = "prod"
gates = ["ci"]
[[stages]]
name = "deploy"
command = 'echo deployed >> ledger'
[[gates]]
name = "ci"
kind = "evidence"
{gate_body}
"#
    )
}

/// The run's end: state, journal, ledger, and the plan directory (kept alive).
struct Ran {
    state: RunState,
    records: Vec<Record>,
    ledger: Vec<String>,
    _work: TempDir,
}

impl Ran {
    fn checked(&self) -> Vec<(EvidenceKind, String, bool, String)> {
        self.records
            .iter()
            .filter_map(|r| match &r.event {
                Event::EvidenceChecked {
                    kind,
                    path,
                    ok,
                    summary,
                    ..
                } => Some((*kind, path.clone(), *ok, summary.clone())),
                _ => None,
            })
            .collect()
    }

    fn gate_failed(&self) -> Option<String> {
        self.records.iter().find_map(|r| match &r.event {
            Event::GateFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
    }

    fn evidence(&self) -> &[EvidenceView] {
        &self.state.envs[0].steps[0].evidence
    }
}

/// Writes `files` into a fresh plan directory, runs `body` there with no
/// client (nothing can be asked), and checks replay against the live state.
async fn run(body: &str, files: &[(&str, &str)]) -> Ran {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    for (name, text) in files {
        let path = work.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let plan = slate::plan::parse(&plan_source(body), "test.toml", work.path().to_path_buf())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = EngineOptions::new("test.toml", home.path(), actor("starter", "test"));
    opts.unattended = Unattended::FailClosed;
    opts.durable = false;
    let (engine, handle) = Engine::new(plan, opts).unwrap();
    let mut rx = handle.subscribe();
    let journal_path = handle.journal_path();
    drop(handle);
    let task = tokio::spawn(engine.run());
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(LIMIT, rx.recv()).await {
            Ok(Ok(rec)) => seen.push(rec),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
            Ok(Err(e)) => panic!("the client fell behind: {e}"),
            Err(_) => panic!("the run did not finish within {LIMIT:?}"),
        }
    }
    let state = tokio::time::timeout(LIMIT, task)
        .await
        .expect("engine finished")
        .unwrap();
    let journal = read_journal(&journal_path).unwrap();
    assert!(journal.warning.is_none());
    assert_eq!(journal.records, seen, "the client saw exactly the journal");
    assert_eq!(
        RunState::replay(&journal.records),
        state,
        "replaying the journal rebuilds the live state"
    );
    let ledger = std::fs::read_to_string(work.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    Ran {
        state,
        records: journal.records,
        ledger,
        _work: work,
    }
}

#[tokio::test]
async fn passing_evidence_of_every_kind_lets_the_release_through() {
    let r = run(
        &plan(
            r#"junit = { path = "reports/junit-${version}.xml", min_tests = 2 }
coverage = { path = "reports/lcov.info", min_line = 80 }
sarif = { path = "reports/scan.sarif", allow = ["RULE-9", "RULE-123"] }
command = 'test -s reports/lcov.info && echo "licenses ok"'"#,
        ),
        &[
            ("reports/junit-2.0.xml", JUNIT_OK),
            ("reports/lcov.info", LCOV),
            ("reports/scan.sarif", SARIF),
        ],
    )
    .await;
    assert_eq!(
        r.state.outcome,
        Some(RunOutcome::Released),
        "{:?}",
        r.checked()
    );
    assert_eq!(r.ledger, ["deployed"]);
    assert_eq!(
        r.checked(),
        [
            (
                EvidenceKind::Junit,
                "reports/junit-2.0.xml".to_string(),
                true,
                "3 tests, 0 failures, 0 errors, 1 skipped".to_string()
            ),
            (
                EvidenceKind::Coverage,
                "reports/lcov.info".into(),
                true,
                "line coverage 90.00% ≥ 80% (9 of 10 lines)".into()
            ),
            (
                EvidenceKind::Sarif,
                "reports/scan.sarif".into(),
                true,
                "no findings at error or above; allowed: RULE-9, RULE-123; below it: 1 note".into()
            ),
            (
                EvidenceKind::Command,
                "test -s reports/lcov.info && echo \"licenses ok\"".into(),
                true,
                "passed".into()
            ),
        ]
    );
    // The command's output is the gate step's, like any check command's.
    assert!(r.records.iter().any(
        |rec| matches!(&rec.event, Event::Output { line, step: 0, .. } if line == "licenses ok")
    ));
    assert!(r.gate_failed().is_none());
    // The state keeps the summary per gate step, for the cockpit and the dossier.
    let kinds: Vec<EvidenceKind> = r.evidence().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EvidenceKind::Junit,
            EvidenceKind::Coverage,
            EvidenceKind::Sarif,
            EvidenceKind::Command
        ]
    );
    assert!(r.evidence().iter().all(|e| e.ok));
}

#[tokio::test]
async fn failing_tests_fail_the_gate_and_name_them() {
    let r = run(
        &plan(r#"junit = { path = "reports/junit.xml" }"#),
        &[("reports/junit.xml", JUNIT_FAILING)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    assert!(r.ledger.is_empty(), "nothing deployed behind a failed gate");
    assert_eq!(
        r.gate_failed().unwrap(),
        "junit reports/junit.xml: 3 tests, 1 failure, 1 error — more failures and errors than \
         the 0 allowed: cart.Totals.rounds, db.Pool.connects"
    );
    let ev = &r.evidence()[0];
    assert!(!ev.ok);
    assert_eq!(
        ev.findings,
        [
            Finding::new(
                "cart.Totals.rounds",
                "src/cart.rs:88",
                "expected 10.00, got 9.99"
            ),
            Finding::new("db.Pool.connects", "", "timed out"),
        ]
    );
    // Tolerated failures pass.
    let r = run(
        &plan(r#"junit = { path = "reports/junit.xml", max_failures = 2 }"#),
        &[("reports/junit.xml", JUNIT_FAILING)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::Released));
    assert!(r.evidence()[0].findings.is_empty());
}

#[tokio::test]
async fn too_few_tests_fail_the_gate() {
    let r = run(
        &plan(r#"junit = { path = "junit.xml", min_tests = 10 }"#),
        &[("junit.xml", JUNIT_OK)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(
        r.gate_failed().unwrap(),
        "junit junit.xml: 3 tests, 0 failures, 0 errors, 1 skipped — 2 ran, 1 skipped, 10 required"
    );
}

#[tokio::test]
async fn coverage_below_the_minimum_fails_the_gate() {
    let r = run(
        &plan(r#"coverage = { path = "coverage.xml", min_line = 80 }"#),
        &[("coverage.xml", COBERTURA_LOW)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(
        r.gate_failed().unwrap(),
        "coverage coverage.xml: line coverage 71.20% < 80% (712 of 1000 lines)"
    );
    let r = run(
        &plan(r#"coverage = { path = "coverage.xml", min_line = 70 }"#),
        &[("coverage.xml", COBERTURA_LOW)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::Released));
}

#[tokio::test]
async fn a_sarif_finding_at_error_blocks_and_an_allowed_one_does_not() {
    let r = run(
        &plan(r#"sarif = { path = "scan.sarif", allow = ["RULE-123"] }"#),
        &[("scan.sarif", SARIF)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(
        r.gate_failed().unwrap(),
        "sarif scan.sarif: 1 finding at error or above: RULE-9 (src/a.rs:12); \
         allowed: RULE-123; below it: 1 note"
    );
    assert_eq!(
        r.evidence()[0].findings,
        [Finding::new(
            "RULE-9",
            "src/a.rs:12",
            "error: secret in source"
        )]
    );
    // Both allowed: only a note is left, below the bar.
    let r = run(
        &plan(r#"sarif = { path = "scan.sarif", allow = ["RULE-123", "RULE-9"] }"#),
        &[("scan.sarif", SARIF)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::Released));
    // A lower bar catches the note.
    let r = run(
        &plan(
            r#"sarif = { path = "scan.sarif", fail_at = "note", allow = ["RULE-123", "RULE-9"] }"#,
        ),
        &[("scan.sarif", SARIF)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    assert!(
        r.gate_failed()
            .unwrap()
            .contains("1 finding at note or above: STYLE")
    );
}

#[tokio::test]
async fn missing_and_malformed_files_fail_the_gate_naming_the_file() {
    let r = run(
        &plan(
            r#"junit = { path = "reports/junit.xml" }
coverage = { path = "reports/lcov.info", min_line = 50 }
sarif = { path = "reports/scan.sarif" }"#,
        ),
        &[
            (
                "reports/lcov.info",
                "SF:a.rs\nDA:1,1\nLF:ten\nend_of_record\n",
            ),
            ("reports/scan.sarif", &SARIF[..SARIF.len() / 2]),
        ],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    let reason = r.gate_failed().unwrap();
    let parts: Vec<&str> = reason.split("; ").collect();
    assert_eq!(parts.len(), 3, "{reason}");
    assert!(
        parts[0].starts_with("junit reports/junit.xml: missing: no file at /")
            && parts[0].ends_with("/reports/junit.xml"),
        "{reason}"
    );
    assert_eq!(
        parts[1],
        "coverage reports/lcov.info: malformed lcov at line 3: LF `ten` is not a count"
    );
    assert!(
        parts[2].starts_with("sarif reports/scan.sarif: truncated JSON: EOF while parsing"),
        "{reason}"
    );
    // Every item was judged and journaled, not only the first that failed.
    assert_eq!(r.checked().len(), 3);
    assert!(r.checked().iter().all(|(_, _, ok, _)| !ok));
}

#[tokio::test]
async fn a_failing_check_command_fails_the_gate() {
    let r = run(
        &plan("command = 'echo \"GPL-3.0 in vendor/x\" >&2; exit 3'"),
        &[],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    let reason = r.gate_failed().unwrap();
    assert!(
        reason.starts_with("command `echo \"GPL-3.0 in vendor/x\" >&2; exit 3` "),
        "{reason}"
    );
    assert!(reason.contains('3'), "{reason}");
    let ev = &r.evidence()[0];
    assert_eq!(ev.kind, EvidenceKind::Command);
    assert!(!ev.ok);
}

#[tokio::test]
async fn an_entity_bomb_is_refused_not_expanded() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<testsuite tests="&lol2;"><testcase name="&lol2;"/></testsuite>"#;
    let r = run(
        &plan(r#"junit = { path = "junit.xml" }"#),
        &[("junit.xml", bomb)],
    )
    .await;
    assert_eq!(r.state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(
        r.gate_failed().unwrap(),
        "junit junit.xml: refused at line 2, column 1: the document declares XML entities, \
         which Slate never expands"
    );
}

/// Headless through the real binary: one line per evidence item, the run's
/// exit status, and the dossier's Evidence table with the blocking findings.
#[test]
fn headless_prints_each_item_and_the_dossier_lists_the_evidence() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("reports")).unwrap();
    std::fs::write(sb.path("reports/junit.xml"), JUNIT_OK).unwrap();
    std::fs::write(sb.path("reports/scan.sarif"), SARIF).unwrap();
    let body = plan(
        r#"junit = { path = "reports/junit.xml", min_tests = 2 }
sarif = { path = "reports/scan.sarif", allow = ["RULE-123"] }"#,
    );
    let plan = sb.plan("plan.toml", &plan_source(&body));
    let out = sb.run(
        &["run", "--headless", "--no-wait", plan.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("prod · gate ci ✔ junit") || l.contains("prod · gate ci ✘ sarif"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].ends_with(
            "prod · gate ci ✔ junit reports/junit.xml: 3 tests, 0 failures, 0 errors, 1 skipped"
        ),
        "{stdout}"
    );
    assert!(
        lines[1].ends_with(
            "prod · gate ci ✘ sarif reports/scan.sarif: 1 finding at error or above: \
             RULE-9 (src/a.rs:12); allowed: RULE-123; below it: 1 note"
        ),
        "{stdout}"
    );

    let run_dir = common::newest_run(sb.home()).expect("a run");
    let dossier = std::fs::read_to_string(run_dir.join("dossier.md")).expect("dossier.md");
    let section = dossier
        .split("### Evidence")
        .nth(1)
        .expect("an Evidence part in Verification & Monitoring");
    assert!(
        section.contains("| Environment | Gate | Kind | File | Result | Summary |"),
        "{section}"
    );
    assert!(
        section.contains(
            "| prod | ci | junit | `reports/junit.xml` | ✔ passed | 3 tests, 0 failures, 0 errors, 1 skipped |"
        ),
        "{section}"
    );
    assert!(
        section.contains("| prod | ci | sarif | `reports/scan.sarif` | ✘ failed | 1 finding at error or above: RULE-9 (src/a.rs:12); allowed: RULE-123; below it: 1 note |"),
        "{section}"
    );
    assert!(
        section.contains(
            "- prod · sarif `reports/scan.sarif`: **RULE-9** at `src/a.rs:12` — error: secret in source"
        ),
        "{section}"
    );
}

/// What the loader makes of the valid fixture: defaults filled in, formats and
/// levels read, placeholders kept for the engine to fill per environment.
#[test]
fn the_plan_says_what_each_evidence_gate_asks_for() {
    use slate::evidence::{CoverageFormat, Level};
    use slate::plan::GateKind;
    let plan = slate::plan::load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/valid/evidence.toml"
    )))
    .unwrap_or_else(|e| panic!("{e}"));
    let GateKind::Evidence(ci) = &plan.gate("ci-evidence").unwrap().kind else {
        panic!("ci-evidence is an evidence gate");
    };
    let junit = ci.junit.as_ref().unwrap();
    assert_eq!(junit.path, "${config.reports}/junit-${version}.xml");
    assert_eq!((junit.max_failures, junit.min_tests), (0, 200));
    let cov = ci.coverage.as_ref().unwrap();
    assert_eq!((cov.format, cov.min_line), (None, 80.0));
    assert!(ci.sarif.is_none() && ci.command.is_none());
    let GateKind::Evidence(sec) = &plan.gate("security").unwrap().kind else {
        panic!("security is an evidence gate");
    };
    assert_eq!(
        sec.coverage.as_ref().unwrap().format,
        Some(CoverageFormat::Cobertura)
    );
    assert_eq!(sec.coverage.as_ref().unwrap().min_line, 72.5);
    let sarif = sec.sarif.as_ref().unwrap();
    assert_eq!(sarif.fail_at, Level::Warning);
    assert_eq!(sarif.allow, ["RULE-123", "py/clear-text-logging"]);
    assert_eq!(sec.command.as_deref(), Some("scripts/check-licenses.sh"));
    assert!(sec.junit.is_none());
}
