//! Snapshots of what the cockpit shows of evidence gates: the gate dialog
//! before promotion lists the evidence judged so far, and the pipeline shows
//! each item under its gate, failures in the failure colour.
//!
//! The records come from real engine runs: a staging stage writes the CI
//! reports into the plan's directory, then the evidence gate after it judges
//! them. They are normalised like `cockpit.rs` does. Regenerate with
//! `INSTA_UPDATE=always cargo test --test screens evidence::` and review
//! every changed `.snap` as a screen.

use slate::cockpit::app::{App, Modal};
use slate::engine::Action;
use slate::engine::event::{Event, Record};

use crate::common;
use common::render::*;

/// Staging runs the tests (writing the reports) and its evidence gate judges
/// them; prod waits at a manual gate. `@COVERED@` is how many of 1000 lines
/// the coverage report says are covered.
const PLAN: &str = common::release_plan!("checkout" "2.4.0" from "2.3.1" by "release-manager"; r#"
[[environments]]
name = "staging"

[[environments]]
name = "prod"
gates = ["prod-approval"]

[[stages]]
name = "tests"
environments = ["staging"]
command = '''
mkdir -p reports
cat > reports/junit.xml <<'XML'
<testsuites><testsuite name="cart">
<testcase classname="cart" name="adds_tax"/><testcase classname="cart" name="rounds"/>
<testcase classname="cart" name="legacy"><skipped/></testcase>
</testsuite></testsuites>
XML
printf 'SF:src/cart.rs\nLF:1000\nLH:@COVERED@\nend_of_record\n' > reports/lcov.info
cat > reports/scan.sarif <<'JSON'
{"runs":[{"results":[
 {"ruleId":"RULE-9","level":"error","message":{"text":"secret in source"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/config.rs"},"region":{"startLine":12}}}]},
 {"ruleId":"RULE-123","level":"error","message":{"text":"accepted"}}]}]}
JSON
'''
gates_after = ["ci-evidence"]

[[stages]]
name = "deploy"
command = 'echo "deploying $SLATE_ENV"'

[[gates]]
name = "ci-evidence"
kind = "evidence"
junit = { path = "reports/junit.xml", min_tests = 2 }
coverage = { path = "reports/lcov.info", min_line = 80 }
sarif = { path = "reports/scan.sarif", allow = ["RULE-123", "RULE-9"] }

[[gates]]
name = "prod-approval"
kind = "manual"
"#);

fn plan(covered: u32) -> String {
    PLAN.replace("@COVERED@", &covered.to_string())
}

/// Runs the plan; prod's gate is approved when it waits. Records normalised.
fn records(src: &str) -> Vec<Record> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let raw = rt.block_on(run_engine(src, |event| match event {
        Event::GateWaiting { gate, .. } if gate == "prod-approval" => Some((
            Action::Approve {
                gate: Some(gate.clone()),
                comment: "evidence reviewed".into(),
            },
            None,
        )),
        _ => None,
    }));
    raw.iter().map(|r| normalise(r, ts_for(r.seq))).collect()
}

fn app_with(src: &str, records: &[Record]) -> App {
    let mut app = plan_app(src, theme("default"));
    for r in records {
        app.apply_record(r);
    }
    app.now = records.last().map(|r| r.ts).unwrap_or_else(base_ts);
    app.frame = 0;
    app
}

#[test]
fn the_gate_dialog_lists_the_evidence_before_promotion() {
    let src = plan(834);
    let recs = records(&src);
    let at_gate = 1 + recs
        .iter()
        .position(
            |r| matches!(&r.event, Event::GateWaiting { gate, .. } if gate == "prod-approval"),
        )
        .expect("prod waited at its gate");
    let mut app = app_with(&src, &recs[..at_gate]);
    assert!(app.on_key(key('a')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Gate { .. })));
    let term = render(&mut app, 100, 30);
    let screen = text(term.backend().buffer());
    for want in [
        "✔ staging · junit: 3 tests, 0 failures, 0 errors, 1 skipped",
        "✔ staging · line coverage 83.40% ≥ 80% (834 of 1000 lines)",
        "✔ staging · sarif: no findings at error or above; allowed: RULE-9",
    ] {
        assert!(screen.contains(want), "{want:?} is shown:\n{screen}");
    }
    insta::assert_snapshot!("evidence_gate_modal_100x30", term.backend());
}

#[test]
fn the_pipeline_shows_each_item_under_its_gate() {
    let src = plan(712);
    let recs = records(&src);
    assert!(
        recs.iter()
            .any(|r| matches!(&r.event, Event::GateFailed { gate, .. } if gate == "ci-evidence")),
        "the coverage is below the minimum"
    );
    let mut app = app_with(&src, &recs);
    let term = render(&mut app, 120, 32);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("✘ line coverage 71.20% < 80% (712 of"),
        "{screen}"
    );
    assert!(
        screen.contains("✔ junit: 3 tests, 0 failures, 0 errors"),
        "{screen}"
    );
    insta::assert_snapshot!("evidence_pipeline_failed_120x32", term.backend());
}
