//! Analysis where it matters (issue 21), through the engine's API with real
//! metric commands and real journals: at full weight, waiting for data, and
//! an inconclusive analysis reported as such.

use slate::engine::RunOutcome;
use slate::engine::event::{Event, Judgement, Verdict};
use slate::engine::state::StepState;

use crate::common;
use common::engine::*;

/// A canary at 50 % then 100 %, analysed after each weight when `at_full`;
/// the metric reads the weight the deploy stage left behind, so it can
/// misbehave only at full traffic.
fn full_weight_plan(at_full: bool) -> String {
    format!(
        r#"
[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [50, 100], pause = "300ms", analysis = "canary", analysis_at_full = {at_full} }}
[[stages]]
name = "deploy"
rollout = true
command = 'echo "$SLATE_WEIGHT" > weight; echo "deploy $SLATE_WEIGHT" >> ledger'
rollback = 'echo "undo $SLATE_WEIGHT" >> ledger'
[[metrics]]
name = "error_ratio"
command = 'if [ "$(cat weight)" = 100 ]; then echo 0.2; else echo 0.01; fi'
interval = "100ms"
success = "<= 0.05"
[[analyses]]
name = "canary"
metrics = ["error_ratio"]
count = 2
"#
    )
}

#[tokio::test]
async fn an_analysis_at_full_weight_catches_what_only_full_traffic_shows() {
    let run = start(&full_weight_plan(true), false);
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(ledger, ["deploy 50", "deploy 100", "undo 0"]);
    let verdicts: Vec<(Verdict, String)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::AnalysisFinished {
                verdict, reason, ..
            } => Some((verdict.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (Verdict::Passed, "error_ratio passed 2 of 2".to_string()),
            (
                Verdict::Failed,
                "error_ratio 0.2 > 0.05 for 1 of 1 samples".to_string()
            ),
        ]
    );
    let last = state.envs[0].steps.last().unwrap();
    assert_eq!(last.label, "analysis canary 300ms");
    assert_eq!(last.state, StepState::Failed);

    // Without it, the same canary is promoted: nothing judged it at 100 %.
    let run = start(&full_weight_plan(false), false);
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 50", "deploy 100"]);
    assert!(records.iter().all(|r| !matches!(
        &r.event,
        Event::MetricSampled {
            judgement: Judgement::Fail,
            ..
        }
    )));
}

/// A canary between 10 % and 100 % whose metric prints the next line of
/// `series` each time it is asked (an empty line is no data).
fn series_plan(series: &[&str], metric_extra: &str, env_extra: &str, count: u32) -> String {
    let values = series.join("\\n");
    format!(
        r#"
[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [10, 100], pause = "1s", analysis = "canary" }}
{env_extra}
[[stages]]
name = "deploy"
rollout = true
command = '[ -f values ] || printf "{values}\\n" > values; echo "deploy $SLATE_WEIGHT" >> ledger'
rollback = 'echo "undo $SLATE_WEIGHT" >> ledger'
[[metrics]]
name = "error_ratio"
command = 'n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; sed -n "${{n}}p" values'
interval = "100ms"
timeout = "2s"
success = "<= 0.05"
{metric_extra}
[[analyses]]
name = "canary"
metrics = ["error_ratio"]
count = {count}
"#
    )
}

fn samples(records: &[slate::engine::Record]) -> Vec<(String, Judgement, String)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::MetricSampled {
                shown,
                judgement,
                why,
                ..
            } => Some((shown.clone(), *judgement, why.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_metric_waits_for_its_data_then_judges_as_many_samples_as_planned() {
    let run = start(
        &series_plan(
            &["", "NaN", "0.01", "0.02", "0.03"],
            "wait_for_data = \"10s\"\nmin_data = \"2 samples\"",
            "",
            2,
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 10", "deploy 100"]);
    let taken = samples(&records);
    let judgements: Vec<Judgement> = taken.iter().map(|(_, j, _)| *j).collect();
    assert_eq!(
        judgements,
        [
            Judgement::Waiting,
            Judgement::Waiting,
            Judgement::Waiting,
            Judgement::Pass,
            Judgement::Pass
        ],
        "{taken:?}"
    );
    assert_eq!(taken[0].2, "waiting for data: the command printed nothing");
    assert_eq!(taken[1].2, "waiting for data: NaN");
    assert_eq!(taken[2].2, "waiting for data: 1 of 2 samples with data");
    let a = &state.envs[0].analyses[0];
    assert_eq!(a.verdict, Some(Verdict::Passed));
    // Waiting samples are shown but never counted.
    assert_eq!(a.reason, "error_ratio passed 2 of 2");
    assert_eq!(a.metrics[0].taken, 2);
}

#[tokio::test]
async fn data_that_never_arrives_within_the_bound_is_inconclusive_not_failure() {
    let run = start(
        &series_plan(
            &["", "", "", "", "", "", "", "", "", ""],
            "wait_for_data = \"300ms\"",
            "",
            3,
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    let taken = samples(&records);
    assert!(
        !taken.is_empty() && taken.iter().all(|(_, j, _)| *j == Judgement::Waiting),
        "{taken:?}"
    );
    let reason = "error_ratio had no data within 300ms (the command printed nothing)";
    assert!(records.iter().any(|r| matches!(&r.event,
        Event::AnalysisFinished { verdict: Verdict::Inconclusive, reason: why, .. } if why == reason)));
    // Production fails closed on an inconclusive analysis.
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(ledger, ["deploy 10", "undo 0"]);
}

#[test]
fn readiness_keys_are_checked_where_they_are_written() {
    let text = format!(
        "[release]\nname = \"r\"\nversion = \"2\"\nprevious_version = \"1\"\nowner = \"o\"\n{}",
        series_plan(
            &["1"],
            "wait_for_data = \"0s\"\nmin_data = \"two samples\"",
            "",
            1
        )
    );
    let err = slate::plan::parse(&text, "p.toml", ".".into())
        .unwrap_err()
        .to_string();
    for want in [
        "p.toml:22:17: `wait_for_data` in metric `error_ratio` must be greater than zero",
        "p.toml:23:12: `min_data` in metric `error_ratio` is a number of samples with data, like \"2 samples\" (1 to 10000); found \"two samples\"",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
    let text = text
        .replace("\"two samples\"", "[1]")
        .replace("\"0s\"", "\"1s\"");
    let err = slate::plan::parse(&text, "p.toml", ".".into())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "`min_data` in metric `error_ratio` must be like \"2 samples\", found an array"
        ),
        "{err}"
    );
}

/// Two metrics, neither of which ever passes: the analysis is inconclusive,
/// its reason names both, and the rollback's trigger says it proved nothing.
#[tokio::test]
async fn an_inconclusive_analysis_has_its_own_trigger_and_names_every_unproven_metric() {
    use slate::engine::event::Trigger;
    let body = series_plan(&["0.07", "0.07"], "failure = \">= 0.1\"", "", 2)
        .replace("success = \"<= 0.05\"\n", "success = \"< 0.05\"\n")
        .replace(
            "metrics = [\"error_ratio\"]",
            "metrics = [\"error_ratio\", \"latency\"]\ninconclusive_limit = 10",
        )
        + r#"
[[metrics]]
name = "latency"
command = "echo NaN"
interval = "100ms"
success = "< 300"
"#;
    let run = start(&body, false);
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(ledger, ["deploy 10", "undo 0"]);
    let reason = "error_ratio: no sample of 2 passed; latency: no sample of 2 passed";
    assert!(records.iter().any(|r| matches!(&r.event,
        Event::AnalysisFinished { verdict: Verdict::Inconclusive, reason: why, .. } if why == reason)));
    assert!(
        records.iter().any(|r| matches!(&r.event,
        Event::RollbackStarted { trigger: Trigger::AnalysisInconclusive { analysis, .. }, reason: why, .. }
            if analysis == "canary" && why == &format!("analysis canary inconclusive: {reason}"))),
        "{records:?}"
    );
    // In the journal, the trigger has its own name.
    let line = records
        .iter()
        .find(|r| matches!(r.event, Event::RollbackStarted { .. }))
        .map(|r| serde_json::to_string(r).unwrap())
        .unwrap();
    assert!(line.contains(r#""analysis_inconclusive""#), "{line}");
}

/// Headless: an analysis says its verdict once; its step's end adds only
/// what happened next ("continued as configured"), not the reason again.
#[test]
fn headless_prints_one_summary_line_per_analysis() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let run = |on: &str| -> String {
        let head =
            "[release]\nname = \"r\"\nversion = \"2\"\nprevious_version = \"1\"\nowner = \"o\"\n";
        let body = series_plan(
            &["NaN", "NaN"],
            "",
            &format!("on_inconclusive = \"{on}\""),
            2,
        )
        .replace("name = \"prod\"", "name = \"staging\"")
        .replace("count = 2", "count = 2\ninconclusive_limit = 5");
        let path = dir.path().join(format!("{on}.toml"));
        std::fs::write(&path, format!("{head}{body}")).unwrap();
        let _ = std::fs::remove_file(dir.path().join("n"));
        let _ = std::fs::remove_file(dir.path().join("values"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_slate"))
            .args(["run", "--headless"])
            .arg(&path)
            .env("SLATE_HOME", home.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let reason = "error_ratio: no sample of 2 passed";
    let out = run("fail");
    let about: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("· analysis canary 1s") && l.contains(reason))
        .collect();
    assert_eq!(about.len(), 1, "{out}");
    assert!(
        about[0].ends_with(&format!("? analysis canary inconclusive: {reason}")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "rolling back staging: analysis canary inconclusive: {reason}"
        )),
        "{out}"
    );
    let out = run("continue");
    assert!(
        out.contains("· analysis canary 1s ✔ inconclusive, continued as configured ("),
        "{out}"
    );
    assert_eq!(out.matches(reason).count(), 1, "{out}");
}

/// An analysis gate's verdict is said once too: the gate's failure line
/// does not repeat the reason.
#[test]
fn headless_says_an_analysis_gate_verdict_once() {
    let home = tempfile::TempDir::new().unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let plan = r#"[release]
name = "r"
version = "2"
previous_version = "1"
owner = "o"
[[environments]]
name = "staging"
[[stages]]
name = "deploy"
command = "true"
rollback = "true"
gates_after = ["canary"]
[[gates]]
name = "canary"
kind = "analysis"
analysis = "canary"
[[metrics]]
name = "error_ratio"
command = "echo 0.5"
interval = "100ms"
success = "<= 0.05"
[[analyses]]
name = "canary"
metrics = ["error_ratio"]
count = 2
"#;
    let path = dir.path().join("gate.toml");
    std::fs::write(&path, plan).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["run", "--headless"])
        .arg(&path)
        .env("SLATE_HOME", home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    let reason = "error_ratio 0.5 > 0.05 for 1 of 1 samples";
    let gate_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("· gate canary") && l.contains(reason))
        .collect();
    assert_eq!(gate_lines.len(), 1, "{out}");
    assert!(out.contains("· gate canary ✘ gate failed"), "{out}");
}
