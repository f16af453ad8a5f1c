//! The engine's command/event API, driven the way the cockpit and the CLI
//! verbs will drive it: real plans, real child processes, real journals.
//! Every scenario ends by replaying the journal and comparing with the live state.

use std::path::Path;

use slate::engine::event::{
    ApprovalSource, EnvOutcome, Event, RollbackChoice, StepStatus, Trigger,
};
use slate::engine::{Action, Instruction, RunOutcome, Unattended};

use crate::common;
use common::engine::*;

const ONE_ENV_GATE: &str = r#"
[[environments]]
name = "prod"
gates = ["go"]
[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_VERSION" >> ledger'
rollback = 'echo "undo deploy to $SLATE_TARGET_VERSION" >> ledger'
[[gates]]
name = "go"
kind = "manual"
require_comment = true
"#;

#[tokio::test]
async fn approval_with_comment_passes_the_gate_and_is_journaled() {
    let mut run = start(ONE_ENV_GATE, false);
    run.until("gate waiting", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    let refused = run
        .send(
            "alice",
            Action::Approve {
                gate: None,
                comment: "  ".into(),
            },
        )
        .await;
    assert_eq!(refused, Err("approval needs a comment".into()));
    let wrong = run
        .send(
            "alice",
            Action::Approve {
                gate: Some("nope".into()),
                comment: "x".into(),
            },
        )
        .await;
    assert!(
        wrong
            .unwrap_err()
            .contains("gate nope is not waiting (waiting: go)")
    );
    let ok = run
        .send(
            "alice",
            Action::Approve {
                gate: Some("go".into()),
                comment: "checked dashboards".into(),
            },
        )
        .await;
    assert_eq!(ok, Ok("approved go".into()));
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 2.0"]);
    let approval = &state.envs[0].approvals[0];
    assert_eq!(
        (approval.user.as_str(), approval.comment.as_str()),
        ("alice", "checked dashboards")
    );
    assert_eq!(approval.source, ApprovalSource::Operator);
    let refusals: Vec<_> = records
        .iter()
        .filter(|r| matches!(r.event, Event::CommandRefused { .. }))
        .collect();
    assert_eq!(refusals.len(), 2, "refused commands are journaled too");
}

#[tokio::test]
async fn rejection_rolls_back_and_ends_rejected() {
    let mut run = start(
        r#"
[[environments]]
name = "dev"
[[environments]]
name = "prod"
gates = ["go"]
[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_ENV" >> ledger'
rollback = 'echo "undo $SLATE_ENV" >> ledger'
[[gates]]
name = "go"
kind = "manual"
"#,
        false,
    );
    run.until("gate waiting", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    assert_eq!(
        run.send(
            "bob",
            Action::Reject {
                gate: None,
                reason: "".into()
            }
        )
        .await,
        Err("a rejection needs a reason".into())
    );
    run.send(
        "bob",
        Action::Reject {
            gate: None,
            reason: "error budget spent".into(),
        },
    )
    .await
    .unwrap();
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Rejected));
    // Nothing ran in prod, so nothing there is undone; dev stays deployed.
    assert_eq!(ledger, ["deploy dev"]);
    assert_eq!(
        state.envs[0].status,
        slate::engine::state::EnvStatus::Done(EnvOutcome::Deployed)
    );
    assert!(records.iter().any(|r| matches!(&r.event, Event::RollbackStarted { trigger: Trigger::GateRejected { gate, .. }, .. } if gate == "go")));
}

#[tokio::test]
async fn two_approvals_need_two_people_from_the_approver_list() {
    let mut run = start(
        r#"
[[environments]]
name = "prod"
gates = ["go"]
approval = { required = 2, approvers = ["alice", "bob", "carol"] }
[[stages]]
name = "deploy"
command = "true"
[[gates]]
name = "go"
kind = "manual"
"#,
        false,
    );
    run.until("gate waiting", |e| {
        matches!(e, Event::GateWaiting { required: 2, .. })
    })
    .await;
    let mallory = run
        .send(
            "mallory",
            Action::Approve {
                gate: None,
                comment: String::new(),
            },
        )
        .await;
    assert!(
        mallory
            .unwrap_err()
            .contains("mallory may not approve prod")
    );
    assert_eq!(
        run.send(
            "alice",
            Action::Approve {
                gate: None,
                comment: String::new()
            }
        )
        .await,
        Ok("approved go (1 of 2)".into())
    );
    let twice = run
        .send(
            "alice",
            Action::Approve {
                gate: None,
                comment: String::new(),
            },
        )
        .await;
    assert_eq!(twice, Err("alice has already approved go".into()));
    assert_eq!(
        run.send(
            "carol",
            Action::Approve {
                gate: None,
                comment: String::new()
            }
        )
        .await,
        Ok("approved go".into())
    );
    let (state, _, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let users: Vec<_> = state.envs[0]
        .approvals
        .iter()
        .map(|a| a.user.as_str())
        .collect();
    assert_eq!(users, ["alice", "carol"]);
}

#[tokio::test]
async fn pause_takes_effect_at_the_next_safe_point_and_resume_continues() {
    let mut run = start(
        r#"
[[environments]]
name = "dev"
[[stages]]
name = "one"
command = 'sleep 0.5; echo one >> ledger'
[[stages]]
name = "two"
command = 'echo two >> ledger'
"#,
        false,
    );
    run.until("stage one", |e| {
        matches!(e, Event::StepStarted { step: 0, .. })
    })
    .await;
    assert_eq!(
        run.send("op", Action::Pause).await,
        Ok("pausing at the next safe point".into())
    );
    run.until("pause requested", |e| {
        matches!(e, Event::PauseRequested { .. })
    })
    .await;
    assert_eq!(
        run.handle_status(),
        "pausing…",
        "visible as pausing until the safe point"
    );
    let paused = run
        .until("paused", |e| matches!(e, Event::Paused { .. }))
        .await;
    assert!(
        matches!(paused, Event::Paused { step: Some(1), .. }),
        "paused before step two, after one finished"
    );
    assert_eq!(
        run.ledger(),
        ["one"],
        "step one finished; step two has not started"
    );
    // Nothing runs while paused: a note sent now is answered after anything
    // the engine would have started on its own, and nothing came before it.
    let paused_at = run.seen.len();
    assert!(
        run.send(
            "op",
            Action::Note {
                text: "still paused?".into()
            }
        )
        .await
        .is_ok()
    );
    run.until("the note", |e| matches!(e, Event::NoteAdded { .. }))
        .await;
    assert_eq!(
        types(&run.seen[paused_at..]),
        ["note_added"],
        "nothing runs while paused"
    );
    assert_eq!(run.ledger(), ["one"], "nothing runs while paused");
    assert_eq!(run.send("op", Action::Resume).await, Ok("resumed".into()));
    let (state, records, ledger) = run.finish().await;
    assert_eq!(ledger, ["one", "two"]);
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let order = types(&records);
    let p = order.iter().position(|t| *t == "paused").unwrap();
    let r = order.iter().position(|t| *t == "resumed").unwrap();
    assert!(order[..p].contains(&"pause_requested") && p < r);
}

#[tokio::test]
async fn abort_stops_the_running_step_and_rolls_the_environment_back() {
    let mut run = start(
        r#"
[[environments]]
name = "prod"
[[stages]]
name = "migrate"
command = 'echo migrate >> ledger'
rollback = 'echo "undo migrate" >> ledger'
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger; echo rolling; sleep 30'
rollback = 'echo "undo deploy" >> ledger'
"#,
        false,
    );
    run.until("deploy running", |e| {
        matches!(e, Event::Output { step: 1, .. })
    })
    .await;
    let reply = run
        .send(
            "op",
            Action::Abort {
                reason: "wrong build".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(reply, "aborting prod: stopping and rolling back");
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Aborted));
    assert_eq!(ledger, ["migrate", "deploy", "undo deploy", "undo migrate"]);
    assert!(records.iter().any(|r| matches!(
        r.event,
        Event::StepFinished {
            step: 1,
            status: StepStatus::Killed,
            ..
        }
    )));
    assert!(records.iter().any(|r| matches!(
        r.event,
        Event::RollbackStarted {
            trigger: Trigger::Abort,
            ..
        }
    )));
}

#[tokio::test]
async fn rollback_during_rollout_is_journaled_with_its_reason() {
    let mut run = start(
        r#"
[[environments]]
name = "prod"
strategy = { kind = "canary", steps = [10, 100], pause = "30s" }
[[stages]]
name = "deploy"
rollout = true
command = 'echo "weight $SLATE_WEIGHT" >> ledger'
rollback = 'echo "weight $SLATE_WEIGHT" >> ledger'
"#,
        false,
    );
    run.until("canary pause", |e| matches!(e, Event::TimerStarted { .. }))
        .await;
    assert_eq!(
        run.send(
            "op",
            Action::Rollback {
                env: None,
                reason: " ".into()
            }
        )
        .await,
        Err("a rollback needs a reason".into())
    );
    run.send(
        "op",
        Action::Rollback {
            env: None,
            reason: "p99 latency doubled".into(),
        },
    )
    .await
    .unwrap();
    let (state, records, ledger) = run.finish().await;
    assert_eq!(
        ledger,
        ["weight 10", "weight 0"],
        "a canary is undone by one call at weight 0"
    );
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert!(records.iter().any(|r| matches!(&r.event, Event::RollbackRequested { reason, actor, .. } if reason == "p99 latency doubled" && actor.user == "op")));
    assert!(records.iter().any(|r| matches!(
        r.event,
        Event::RollbackStarted {
            trigger: Trigger::Manual,
            ..
        }
    )));
}

const IRREVERSIBLE: &str = r#"
[[environments]]
name = "prod"
[[stages]]
name = "config"
command = 'echo config >> ledger'
rollback = 'echo "undo config" >> ledger'
[[stages]]
name = "migrate"
irreversible = true
command = 'echo migrate >> ledger'
rollback = 'echo "undo migrate" >> ledger'
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
rollback = 'echo "undo deploy" >> ledger'
[[stages]]
name = "smoke"
command = 'test -f fixed && echo smoke >> ledger'
"#;

#[tokio::test]
async fn rollback_stops_at_an_irreversible_step_and_hold_keeps_it_there() {
    let mut run = start(IRREVERSIBLE, false);
    let blocked = run
        .until("blocked", |e| matches!(e, Event::RollbackBlocked { .. }))
        .await;
    let Event::RollbackBlocked {
        step,
        choices,
        reason,
        ..
    } = blocked
    else {
        unreachable!()
    };
    assert_eq!(step, 1);
    assert_eq!(
        choices,
        [
            RollbackChoice::Hold,
            RollbackChoice::RollForward,
            RollbackChoice::Force
        ]
    );
    assert!(reason.contains("migrate is irreversible"));
    assert!(
        run.send("op", Action::Retry).await.is_err(),
        "retry is not one of the choices here"
    );
    run.send(
        "op",
        Action::Decide {
            choice: RollbackChoice::Hold,
            note: "DBA on it".into(),
        },
    )
    .await
    .unwrap();
    let (state, _, ledger) = run.finish().await;
    assert_eq!(
        ledger,
        ["config", "migrate", "deploy", "undo deploy"],
        "nothing before the irreversible step is undone"
    );
    assert_eq!(state.outcome, Some(RunOutcome::Held));
    assert_eq!(
        state.envs[0].status,
        slate::engine::state::EnvStatus::Done(EnvOutcome::Held)
    );
}

#[tokio::test]
async fn forcing_past_an_irreversible_step_needs_an_acknowledgement() {
    let mut run = start(IRREVERSIBLE, false);
    run.until("blocked", |e| matches!(e, Event::RollbackBlocked { .. }))
        .await;
    let no_ack = run
        .send(
            "op",
            Action::Decide {
                choice: RollbackChoice::Force,
                note: "".into(),
            },
        )
        .await;
    assert!(no_ack.unwrap_err().contains("needs an acknowledgement"));
    run.send(
        "op",
        Action::Decide {
            choice: RollbackChoice::Force,
            note: "data loss of new column accepted".into(),
        },
    )
    .await
    .unwrap();
    let (state, records, ledger) = run.finish().await;
    assert_eq!(
        ledger,
        [
            "config",
            "migrate",
            "deploy",
            "undo deploy",
            "undo migrate",
            "undo config"
        ]
    );
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert!(records.iter().any(|r| matches!(&r.event, Event::RollbackDecision { choice: RollbackChoice::Force, note, .. } if note.contains("accepted"))));
}

#[tokio::test]
async fn rolling_forward_reruns_from_after_the_irreversible_step() {
    let mut run = start(IRREVERSIBLE, false);
    run.until("blocked", |e| matches!(e, Event::RollbackBlocked { .. }))
        .await;
    std::fs::write(run.work.path().join("fixed"), "").unwrap();
    run.send(
        "op",
        Action::Decide {
            choice: RollbackChoice::RollForward,
            note: "hotfix in place".into(),
        },
    )
    .await
    .unwrap();
    let (state, _, ledger) = run.finish().await;
    assert_eq!(
        ledger,
        [
            "config",
            "migrate",
            "deploy",
            "undo deploy",
            "deploy",
            "smoke"
        ]
    );
    assert_eq!(state.outcome, Some(RunOutcome::Released));
}

#[tokio::test]
async fn a_failed_rollback_step_can_be_retried() {
    let mut run = start(
        r#"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
rollback = 'test -f fixed && echo "undo deploy" >> ledger'
[[stages]]
name = "smoke"
command = 'exit 3'
"#,
        false,
    );
    let blocked = run
        .until("blocked", |e| matches!(e, Event::RollbackBlocked { .. }))
        .await;
    assert!(
        matches!(blocked, Event::RollbackBlocked { ref choices, .. } if choices.contains(&RollbackChoice::Retry))
    );
    std::fs::write(run.work.path().join("fixed"), "").unwrap();
    assert_eq!(
        run.send("op", Action::Retry).await,
        Ok("retrying the step".into())
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(ledger, ["deploy", "undo deploy"]);
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert!(
        records
            .iter()
            .any(|r| matches!(r.event, Event::RetryRequested { .. }))
    );
    assert!(records.iter().any(|r| matches!(&r.event, Event::StepFinished { exit_code: Some(3), message, .. } if message == "exited with status 3")));
}

#[tokio::test]
async fn a_finished_release_can_still_be_rolled_back_by_environment() {
    let mut run = start(
        r#"
[[environments]]
name = "staging"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_ENV" >> ledger'
rollback = 'echo "undo $SLATE_ENV to $SLATE_TARGET_VERSION" >> ledger'
"#,
        true,
    );
    run.until("released", |e| {
        matches!(
            e,
            Event::RunFinished {
                outcome: RunOutcome::Released,
                ..
            }
        )
    })
    .await;
    let bad = run
        .send(
            "op",
            Action::Rollback {
                env: Some("qa".into()),
                reason: "x".into(),
            },
        )
        .await;
    assert_eq!(bad, Err("there is no environment `qa`".into()));
    assert_eq!(
        run.send(
            "op",
            Action::Rollback {
                env: Some("prod".into()),
                reason: "checkout errors".into()
            }
        )
        .await,
        Ok("rolling back prod".into())
    );
    run.until("rolled back", |e| {
        matches!(
            e,
            Event::RunFinished {
                outcome: RunOutcome::RolledBack,
                ..
            }
        )
    })
    .await;
    let again = run
        .send(
            "op",
            Action::Rollback {
                env: Some("prod".into()),
                reason: "again".into(),
            },
        )
        .await;
    assert!(again.unwrap_err().contains("prod is not deployed"));
    run.send("op", Instruction::Shutdown).await.unwrap();
    let (state, _, ledger) = run.finish().await;
    assert_eq!(
        ledger,
        ["deploy staging", "deploy prod", "undo prod to 1.0"]
    );
    assert_eq!(
        state.envs[0].status,
        slate::engine::state::EnvStatus::Done(EnvOutcome::Deployed)
    );
    assert_eq!(
        state.envs[1].status,
        slate::engine::state::EnvStatus::Done(EnvOutcome::RolledBack)
    );
}

#[tokio::test]
async fn soak_is_journaled_as_start_and_length_and_check_gates_retry() {
    let mut run = start(
        r#"
[[environments]]
name = "prod"
gates = ["soak", "ready"]
[[stages]]
name = "deploy"
command = "true"
[[gates]]
name = "soak"
kind = "soak"
wait = "300ms"
[[gates]]
name = "ready"
kind = "check"
retries = 3
interval = "50ms"
check = { command = 'n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; test $n -ge 1' }
"#,
        false,
    );
    let timer = run
        .until("timer", |e| matches!(e, Event::TimerStarted { .. }))
        .await;
    assert!(matches!(
        timer,
        Event::TimerStarted {
            duration_ms: 300,
            ..
        }
    ));
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let checks: Vec<bool> = records
        .iter()
        .filter_map(|r| match r.event {
            Event::CheckResult { ok, .. } => Some(ok),
            _ => None,
        })
        .collect();
    assert_eq!(checks, [false, true]);
    let soak_ms = state.envs[0].steps[0].duration_ms.unwrap();
    assert!(
        soak_ms >= 300,
        "the soak lasted its full length ({soak_ms} ms)"
    );
}

#[tokio::test]
async fn notes_are_journaled_and_unknown_gates_in_headless_mode_fail_closed() {
    let run = start_with(ONE_ENV_GATE, |o| o.unattended = Unattended::FailClosed);
    run.send(
        "op",
        Action::Note {
            text: "starting after the 14:00 freeze".into(),
        },
    )
    .await
    .ok();
    let (state, records, ledger) = run.finish().await;
    assert!(ledger.is_empty());
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let reason = records
        .iter()
        .find_map(|r| match &r.event {
            Event::GateFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("--approve go"), "{reason}");
}

#[tokio::test]
async fn pre_approval_is_journaled_as_such() {
    let run = start_with(ONE_ENV_GATE, |o| {
        o.unattended = Unattended::FailClosed;
        o.pre_approved = vec!["go".into()];
    });
    let (state, _, ledger) = run.finish().await;
    assert_eq!(ledger, ["deploy 2.0"]);
    assert_eq!(
        state.envs[0].approvals[0].source,
        ApprovalSource::PreApproved
    );
    assert_eq!(state.envs[0].approvals[0].user, "starter");
}

#[tokio::test]
async fn stage_env_and_config_reach_commands_as_variables_only() {
    let run = start(
        r#"
[[environments]]
name = "prod"
config = { "log.level" = "warn", replicas = 3 }
[[stages]]
name = "show"
env = { GREETING = "$(echo injected)" }
command = 'printf "%s|%s|%s|%s\n" "$GREETING" "$SLATE_CONFIG_LOG_LEVEL" "$SLATE_CONFIG_REPLICAS" "$SLATE_STAGE" >> ledger'
"#,
        false,
    );
    let (_, _, ledger) = run.finish().await;
    assert_eq!(ledger, ["$(echo injected)|warn|3|show"]);
}

#[tokio::test]
async fn timeouts_and_missing_working_directories_fail_the_step_with_a_reason() {
    let run = start(
        r#"
[[environments]]
name = "prod"
[[stages]]
name = "slow"
command = 'sleep 5'
timeout = "200ms"
[[stages]]
name = "never"
command = 'true'
"#,
        false,
    );
    let (state, _, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let slow = &state.envs[0].steps[0];
    assert_eq!(slow.message, "timed out after 200ms");
    assert_eq!(slow.state, slate::engine::state::StepState::TimedOut);
    let undo = slow
        .undo
        .as_ref()
        .expect("the rollback considered the failed step");
    assert_eq!(
        (undo.state, undo.message.as_str()),
        (
            slate::engine::state::UndoState::Skipped,
            "no rollback command"
        )
    );
    assert_eq!(
        state.envs[0].steps[1].attempts, 0,
        "later steps never started"
    );

    let run = start(
        r#"
[[environments]]
name = "prod"
[[stages]]
name = "where"
cwd = "does/not/exist"
command = 'true'
"#,
        false,
    );
    let (state, _, _) = run.finish().await;
    assert!(
        state.envs[0].steps[0]
            .message
            .starts_with("cannot start the command in"),
        "{}",
        state.envs[0].steps[0].message
    );
}

#[test]
fn journal_path_is_under_the_run_directory() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let run = start("[[stages]]\nname = \"a\"\ncommand = \"true\"\n", false);
        let path = run.handle.journal_path();
        assert!(path.ends_with(Path::new(&run.handle.run_id).join("journal.ndjson")));
        let (state, _, _) = run.finish().await;
        assert_eq!(state.envs.len(), 3, "dev, staging and prod by default");
        assert_eq!(state.outcome, Some(RunOutcome::Released));
    });
}

#[tokio::test]
async fn http_check_gate_probes_a_real_server_until_it_is_healthy() {
    let (url, server) = http_server(vec![
        (503, "starting"),
        (200, "warming"),
        (200, "status: ok"),
    ])
    .await;
    let run = start(
        &format!(
            r#"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = "true"
gates_after = ["healthy"]
[[gates]]
name = "healthy"
kind = "check"
retries = 4
interval = "20ms"
check = {{ http = "{url}", status = 200, contains = "ok", timeout = "2s" }}
"#
        ),
        false,
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let messages: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::CheckResult { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].ends_with("status 503, expected 200"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].ends_with("body does not contain \"ok\""),
        "{}",
        messages[1]
    );
    assert!(messages[2].contains(": 200 in "), "{}", messages[2]);
    assert_eq!(server.await.unwrap(), 3);
}

#[tokio::test]
async fn a_failing_http_check_rolls_back_and_verification_is_journaled() {
    // Nothing listens on this port once the listener is dropped: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = start(
        &format!(
            r#"
[[environments]]
name = "prod"
verify_rollback = {{ command = 'grep -q "undo deploy" ledger' }}
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
rollback = 'echo "undo deploy" >> ledger'
gates_after = ["healthy"]
[[gates]]
name = "healthy"
kind = "check"
check = {{ http = "http://127.0.0.1:{port}/healthz", timeout = "1s" }}
"#
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(ledger, ["deploy", "undo deploy"]);
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert!(
        state.message.contains("connection refused"),
        "{}",
        state.message
    );
    assert!(
        matches!(&state.envs[0].verification, Some(slate::engine::state::Verification::Passed { check, .. }) if check == "verify_rollback")
    );
    assert!(records.iter().any(|r| matches!(&r.event, Event::RollbackVerified { ok: true, check: Some(c), message, .. } if c == "verify_rollback" && message == "check command passed")));
}

#[tokio::test]
async fn a_gate_nobody_can_answer_fails_closed_at_its_timeout() {
    // Every client is gone before the gate is reached.
    let (state, records) = run_without_clients(
        &prod_deploy(
            "gates = [\"go\"]\n",
            "",
            &manual_gate("timeout = \"300ms\"\n"),
        ),
        |o| o.unattended = Unattended::Wait,
    )
    .await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let reason = records
        .iter()
        .find_map(|r| match &r.event {
            Event::GateFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .expect("the gate failed");
    assert_eq!(reason, "no decision within 300ms");
    let waited = records.last().unwrap().ts.duration_since(records[0].ts);
    assert!(
        waited.as_millis() >= 300,
        "the gate kept its timeout ({waited:?})"
    );
}
