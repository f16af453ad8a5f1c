//! Analysis through the engine's API: real metric commands, real journals.
//! Each metric here is a command that prints the next value of a scripted
//! series (from `values`, one per line), so a test says exactly what the
//! source reports and asserts what the engine decides from it.

use slate::engine::event::{Event, Judgement, Trigger, Verdict};
use slate::engine::{Action, RunOutcome};

use crate::common;
use common::engine::*;

/// A prod-like environment whose canary analysis measures `series` (a metric
/// command) between the canary's two weights, judged by `conditions`.
fn plan(series: &[&str], conditions: &str, env_extra: &str, analysis_extra: &str) -> String {
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
unit = "ratio"
command = 'n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; sed -n "${{n}}p" values'
interval = "100ms"
timeout = "2s"
{conditions}
[[analyses]]
name = "canary"
metrics = ["error_ratio"]
count = {count}
{analysis_extra}
"#,
        count = series.len()
    )
}

fn samples(records: &[slate::engine::Record]) -> Vec<(String, Judgement)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::MetricSampled {
                shown, judgement, ..
            } => Some((shown.clone(), *judgement)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_healthy_canary_passes_its_analysis_and_is_promoted() {
    let run = start(
        &plan(&["0.01", "0.02", "0.03"], r#"success = "<= 0.05""#, "", ""),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 10", "deploy 100"]);
    assert_eq!(
        samples(&records),
        [
            ("0.01".into(), Judgement::Pass),
            ("0.02".into(), Judgement::Pass),
            ("0.03".into(), Judgement::Pass)
        ]
    );
    let a = &state.envs[0].analyses[0];
    assert_eq!(a.verdict, Some(Verdict::Passed));
    assert_eq!(a.reason, "error_ratio passed 3 of 3");
    assert_eq!(a.metrics[0].info.threshold, Some(0.05));
}

#[tokio::test]
async fn a_breaching_canary_rolls_back_by_itself_and_says_why_in_one_line() {
    let run = start(
        &plan(
            &["0.02", "0.06", "0.068", "0.071", "0.01"],
            r#"success = "<= 0.05""#,
            "",
            "failure_limit = 2",
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(ledger, ["deploy 10", "undo 0"], "never promoted, undone");
    // It stopped at the third failure, without waiting for the fifth sample.
    assert_eq!(samples(&records).len(), 4);
    let why = "error_ratio 0.071 > 0.05 for 3 of 4 samples";
    assert!(records.iter().any(|r| matches!(&r.event,
        Event::AnalysisFinished { verdict: Verdict::Failed, reason, .. } if reason == why)));
    assert!(records.iter().any(|r| matches!(&r.event,
        Event::RollbackStarted { trigger: Trigger::AnalysisFailed { analysis, .. }, reason, .. }
            if analysis == "canary" && reason == &format!("analysis canary failed: {why}"))));
    assert_eq!(
        state.message,
        format!(
            "prod rolled back (not verified: no verify_rollback): analysis canary failed: {why}"
        )
    );
}

#[tokio::test]
async fn no_data_and_nan_are_inconclusive_and_production_fails_closed() {
    let run = start(
        &plan(
            &["", "NaN"],
            r#"success = "<= 0.05""#,
            "",
            "inconclusive_limit = 1",
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(
        samples(&records),
        [
            ("no data".into(), Judgement::Inconclusive),
            ("NaN".into(), Judgement::Inconclusive)
        ]
    );
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(ledger, ["deploy 10", "undo 0"]);
    assert!(
        state
            .message
            .contains("analysis canary inconclusive: error_ratio inconclusive for 2 of 2 samples"),
        "{}",
        state.message
    );
}

#[tokio::test]
async fn an_unreachable_source_is_inconclusive_after_the_consecutive_error_limit() {
    // A metric command that fails every time is a source that cannot be asked.
    let body = plan(
        &["x"],
        r#"success = "<= 0.05""#,
        "",
        "consecutive_error_limit = 2",
    )
    .replace("sed -n \"${n}p\" values", "echo unreachable >&2; exit 7")
    .replace("count = 1", "count = 10");
    let run = start(&body, false);
    let (state, records, _) = run.finish().await;
    let taken = samples(&records);
    assert_eq!(
        taken.len(),
        3,
        "stops once the limit is exceeded: {taken:?}"
    );
    assert!(taken.iter().all(|(_, j)| *j == Judgement::Error));
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let m = &state.message;
    // The metric is named; its command's text (maybe many lines) is not.
    assert!(
        m.ends_with(
            "inconclusive: error_ratio could not be measured 3 times in a row: \
             the command exited with code 7: unreachable"
        ),
        "{m}"
    );
}

#[tokio::test]
async fn an_inconclusive_analysis_asks_and_resuming_continues_the_rollout() {
    let mut run = start(
        &plan(
            &["0.01", "NaN"],
            r#"success = "<= 0.05""#,
            r#"on_inconclusive = "ask""#,
            "",
        ),
        false,
    );
    let asked = run
        .until("the engine pauses to ask", |e| {
            matches!(
                e,
                Event::PauseRequested {
                    reason: Some(_),
                    ..
                }
            )
        })
        .await;
    let Event::PauseRequested {
        reason: Some(why), ..
    } = asked
    else {
        unreachable!()
    };
    assert_eq!(
        why,
        "analysis canary inconclusive: error_ratio inconclusive for 1 of 2 samples: NaN (NaN proves nothing) (resume to continue, or roll back)"
    );
    run.until("paused", |e| matches!(e, Event::Paused { .. }))
        .await;
    assert_eq!(
        run.send("alice", Action::Resume).await,
        Ok("resumed".into())
    );
    let (state, _, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 10", "deploy 100"]);
    assert_eq!(state.pause_reason, None);
    let analysis_step = &state.envs[0].steps[1];
    assert!(
        analysis_step.message.contains("continued by the operator"),
        "{}",
        analysis_step.message
    );
}

#[tokio::test]
async fn an_inconclusive_analysis_asks_and_the_operator_can_roll_back() {
    let mut run = start(
        &plan(
            &["NaN"],
            r#"success = "<= 0.05""#,
            r#"on_inconclusive = "ask""#,
            "",
        ),
        false,
    );
    run.until("paused", |e| matches!(e, Event::Paused { .. }))
        .await;
    let r = run
        .send(
            "alice",
            Action::Rollback {
                env: None,
                reason: "no data from the canary".into(),
            },
        )
        .await;
    assert_eq!(r, Ok("rolling back prod".into()));
    let (state, _, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert_eq!(ledger, ["deploy 10", "undo 0"]);
}

#[tokio::test]
async fn between_success_and_failure_is_inconclusive_and_continue_carries_on() {
    let run = start(
        &plan(
            &["0.07", "0.01"],
            "success = \"< 0.05\"\nfailure = \">= 0.1\"",
            r#"on_inconclusive = "continue""#,
            "inconclusive_limit = 0",
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(
        samples(&records),
        [("0.07".into(), Judgement::Inconclusive)]
    );
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 10", "deploy 100"]);
    assert!(records.iter().any(|r| matches!(&r.event,
        Event::MetricSampled { why, .. } if why == "0.07 meets neither < 0.05 nor >= 0.1")));
}
