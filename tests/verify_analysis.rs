//! Analysis where it matters (issue 21), through the engine's API with real
//! metric commands and real journals: at full weight, waiting for data, and
//! an inconclusive analysis reported as such.

use slate::engine::RunOutcome;
use slate::engine::event::{Event, Judgement, Verdict};
use slate::engine::state::StepState;

mod common;
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
