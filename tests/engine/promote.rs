//! `promote`, `promote --full` and `weight N`, through the engine's one
//! command vocabulary: each needs a reason, follows the environment's
//! approval policy (four-eyes included), is journaled as its own record,
//! and replaying the journal rebuilds the run. The rollout stage writes the
//! weights it was called with to a ledger, so the tests see what really ran.

use crate::common;

use common::engine::*;
use slate::engine::event::Event;
use slate::engine::state::StepState;
use slate::engine::{Action, RunOutcome};

/// A canary of 10, 50, 100 % with an hour's pause between weights.
fn canary(env_extra: &str) -> String {
    format!(
        r#"
[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [10, 50, 100], pause = "1h" }}
{env_extra}
[[stages]]
name = "deploy"
command = "echo $SLATE_WEIGHT >> ledger"
rollback = "echo undo $SLATE_WEIGHT >> ledger"
rollout = true
"#
    )
}

fn promote(reason: &str) -> Action {
    Action::Promote {
        full: false,
        reason: reason.into(),
    }
}

fn full(reason: &str) -> Action {
    Action::Promote {
        full: true,
        reason: reason.into(),
    }
}

fn weight(n: u32, reason: &str) -> Action {
    Action::Weight {
        weight: n,
        reason: reason.into(),
    }
}

/// Polls the ledger until its last line is `line` (within LIMIT).
async fn ledger_has(run: &Run, line: &str) {
    let deadline = std::time::Instant::now() + LIMIT;
    while run.ledger().last().map(String::as_str) != Some(line) {
        assert!(
            std::time::Instant::now() < deadline,
            "ledger: {:?}",
            run.ledger()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Sends `what` (a promote, another weight) once the held weight's rollout command has ended: its ledger
/// line is written while it still runs, and until it exits a promote is
/// refused ("a step is running"); the end of that command is not a record
/// of its own to wait for, so this asks again, within LIMIT.
async fn when_held(run: &mut Run, what: impl Fn() -> Action) {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        match run.send("bob", what()).await {
            Ok(_) => return,
            Err(e) if e.contains("a step is running") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("refused: {e}"),
        }
    }
}

async fn at_pause(run: &mut Run, step: usize) {
    run.until(
        "the pause",
        |e| matches!(e, Event::TimerStarted { step: s, .. } if *s == step),
    )
    .await;
}

#[tokio::test]
async fn promote_ends_the_pause_and_full_skips_to_the_last_weight() {
    let mut run = start(&canary(""), false);
    at_pause(&mut run, 1).await;
    assert_eq!(
        run.send("bob", promote("metrics are flat")).await,
        Ok("promoted: pause 1h ends now".into())
    );
    at_pause(&mut run, 3).await;
    let reply = run.send("bob", full("ship it")).await.unwrap();
    assert!(
        reply.contains("skipping 0 step(s) to deploy canary 100%"),
        "{reply}"
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["10", "50", "100"]);
    let promoted: Vec<(usize, bool, String)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Promoted {
                step,
                full,
                actor,
                reason,
                ..
            } => {
                assert_eq!(actor.user, "bob");
                Some((*step, *full, reason.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        promoted,
        [
            (1, false, "metrics are flat".into()),
            (3, true, "ship it".into())
        ]
    );
    let pause = &state.envs[0].steps[1];
    assert_eq!(pause.message, "promoted early");
}

#[tokio::test]
async fn full_from_the_first_pause_skips_the_middle_weight_and_says_so() {
    let mut run = start(&canary(""), false);
    at_pause(&mut run, 1).await;
    let reply = run.send("bob", full("hotfix, tested")).await.unwrap();
    assert!(reply.contains("skipping 2 step(s)"), "{reply}");
    let (state, records, ledger) = run.finish().await;
    assert_eq!(ledger, ["10", "100"]);
    assert!(records.iter().any(|r| matches!(
        &r.event,
        Event::Promoted { full: true, skipped, .. } if skipped == &[2, 3]
    )));
    let states: Vec<StepState> = state.envs[0].steps.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [
            StepState::Succeeded,
            StepState::Succeeded,
            StepState::Skipped,
            StepState::Skipped,
            StepState::Succeeded
        ]
    );
    assert!(state.envs[0].steps[2].message.contains("bob"));
}

#[tokio::test]
async fn weight_sets_the_canary_and_holds_it_until_promoted() {
    let mut run = start(&canary(""), false);
    at_pause(&mut run, 1).await;
    assert!(
        run.send("bob", weight(25, "watch 25% for a while"))
            .await
            .is_ok()
    );
    // The rollout command runs with the held weight; the run waits on.
    ledger_has(&run, "25").await;
    // Another weight while held runs again.
    when_held(&mut run, || weight(30, "a little more")).await;
    ledger_has(&run, "30").await;
    when_held(&mut run, || promote("30% is fine")).await;
    at_pause(&mut run, 3).await;
    assert!(run.send("bob", promote("go")).await.is_ok());
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["10", "25", "30", "50", "100"]);
    let held: Vec<u32> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::WeightHeld { weight, canary, .. } => {
                assert_eq!(*canary, 0);
                Some(*weight)
            }
            _ => None,
        })
        .collect();
    assert_eq!(held, [25, 30]);
    assert_eq!(
        state.envs[0].held_weight, None,
        "promoting lets the hold go"
    );
}

#[tokio::test]
async fn the_held_weight_is_in_the_state_while_it_holds() {
    let mut run = start(&canary(""), false);
    at_pause(&mut run, 1).await;
    run.send("bob", weight(5, "cautious")).await.unwrap();
    run.until("held", |e| matches!(e, Event::WeightHeld { .. }))
        .await;
    let live = slate::engine::RunState::replay(&run.seen);
    assert_eq!(live.envs[0].held_weight, Some(5));
    run.send(
        "bob",
        Action::Abort {
            reason: "enough".into(),
        },
    )
    .await
    .unwrap();
    let (state, _, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Aborted));
    assert_eq!(state.envs[0].held_weight, None);
    assert_eq!(ledger.last().map(String::as_str), Some("undo 0"));
}

#[tokio::test]
async fn refusals_say_why_and_are_journaled() {
    let mut run = start(
        &canary("approval = { four_eyes = true, approvers = [\"starter\", \"bob\"] }"),
        false,
    );
    at_pause(&mut run, 1).await;
    let cases = [
        ("bob", promote(" \n"), "a promotion needs a reason"),
        ("bob", weight(25, ""), "a weight change needs a reason"),
        (
            "bob",
            weight(0, "off"),
            "weight 0 is out of range: give 1 to 99 (0 is a rollback, 100 is promote --full)",
        ),
        (
            "bob",
            weight(100, "all"),
            "weight 100 is out of range: give 1 to 99 (0 is a rollback, 100 is promote --full)",
        ),
        (
            "starter",
            promote("mine"),
            "four-eyes: starter started this run, so someone else must approve prod (promote is decided like an approval)",
        ),
        (
            "mallory",
            full("let me"),
            "mallory may not approve prod (approvers: starter, bob) (promote --full is decided like an approval)",
        ),
    ];
    for (user, action, why) in cases.clone() {
        assert_eq!(run.send(user, action).await, Err(why.to_string()), "{user}");
    }
    run.send("bob", promote("fine")).await.unwrap();
    // While the next weight's command runs there is nothing to promote.
    let _ = run
        .until("the 50% step", |e| {
            matches!(e, Event::StepStarted { step: 2, .. })
        })
        .await;
    at_pause(&mut run, 3).await;
    run.send("bob", full("done")).await.unwrap();
    let (_, records, _) = run.finish().await;
    let refused: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::CommandRefused { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = cases.iter().map(|c| c.2.to_string()).collect();
    assert_eq!(refused, expected);
}

#[tokio::test]
async fn nothing_to_promote_outside_a_pause_and_no_weight_outside_a_canary() {
    // A manual gate waits: promote does not pass it.
    let mut run = start(
        &prod_deploy("gates = [\"go\"]\n", "", &manual_gate("")),
        false,
    );
    run.until("gate", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    assert_eq!(
        run.send("bob", promote("now")).await,
        Err("gate go waits for an approval: approve it (promote ends a pause or soak)".into())
    );
    assert_eq!(
        run.send("bob", weight(20, "w")).await,
        Err("weight applies to a canary; prod rolls out all-at-once".into())
    );
    run.send(
        "bob",
        Action::Approve {
            gate: None,
            comment: String::new(),
        },
    )
    .await
    .unwrap();
    let (state, _, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
}

#[tokio::test]
async fn hostile_reasons_are_kept_whole_in_the_journal_and_flattened_in_headless_lines() {
    let mut run = start(&canary(""), false);
    at_pause(&mut run, 1).await;
    let reason = "ok\n\x1b[31mFAKE\x1b[0m \u{202e}evil\r";
    run.send("bob", full(reason)).await.unwrap();
    let (_, records, _) = run.finish().await;
    let rec = records
        .iter()
        .find(|r| matches!(r.event, Event::Promoted { .. }))
        .unwrap();
    let mut printer = slate::headless::Printer::new("journal".into());
    for r in &records {
        printer.observe(r);
    }
    let lines = printer.lines(rec);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        !lines[0].chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{:?}",
        lines[0]
    );
}

#[tokio::test]
async fn the_dossier_names_who_promoted_and_held_and_why() {
    let mut run = start(&canary(""), false);
    at_pause(&mut run, 1).await;
    run.send("bob", weight(25, "watch | 25%")).await.unwrap();
    ledger_has(&run, "25").await;
    // The weight's command has written the ledger but may not have exited:
    // until it has, the engine refuses (a step is running), so ask again.
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        match run.send("bob", full("green <b>board</b>")).await {
            Ok(_) => break,
            Err(e) if e.contains("a step is running") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    let (_, records, _) = run.finish().await;
    let md = slate::dossier::render(&records, false);
    assert!(md.contains("bob held the canary at 25%"), "{md}");
    assert!(
        md.contains("bob promoted to the last rollout step (--full, 2 step(s) skipped)"),
        "{md}"
    );
    // The reason is text in the dossier, never markup.
    assert!(!md.contains("<b>board</b>"), "{md}");
    let skipped = md
        .lines()
        .find(|l| l.contains("deploy canary 50%"))
        .expect("the skipped step is listed");
    assert!(skipped.contains("skipped: bob promoted"), "{skipped}");
}
