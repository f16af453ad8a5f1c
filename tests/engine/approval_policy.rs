//! Approval policies, enforced by the engine for every client: approver
//! lists with OS users and `@groups`, four-eyes, distinct approvers, refusals
//! journaled with their reason, pre-approvals on a four-eyes environment, and
//! a gate's timeout failing closed. Then the same four-eyes refusal through
//! the real binary's `slate approve`.

use crate::common;

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use common::engine::*;
use common::sandbox::{Sandbox, wait_output};
use nix::unistd::{Group, User, getgid, getgrouplist, getuid};
use slate::engine::event::{Actor, ApprovalSource, Event, Record, Trigger};
use slate::engine::{Action, RunOutcome, Unattended};

fn approve(comment: &str) -> Action {
    Action::Approve {
        gate: None,
        comment: comment.into(),
    }
}

/// Every `CommandRefused` in the journal, as (user, command, reason).
fn refusals(records: &[Record]) -> Vec<(String, String, String)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::CommandRefused {
                actor,
                command,
                reason,
            } => Some((actor.user.clone(), command.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// The OS user running the tests, as the control socket would name them.
fn me() -> Actor {
    let user = User::from_uid(getuid())
        .unwrap()
        .expect("the test user is in the user database");
    Actor {
        user: user.name,
        uid: getuid().as_raw(),
        via: "test".into(),
        roles: None,
    }
}

/// The name of the test user's primary group.
fn my_primary_group() -> String {
    Group::from_gid(getgid())
        .unwrap()
        .expect("the primary group is in the group database")
        .name
}

/// A group that exists on this host and that `user` is not in (neither
/// primary nor supplementary), if there is one among the usual system groups.
fn a_group_i_am_not_in(user: &str) -> Option<String> {
    let u = User::from_name(user).unwrap()?;
    let mine = getgrouplist(&std::ffi::CString::new(user).unwrap(), u.gid).unwrap();
    [
        "nogroup", "daemon", "bin", "sys", "adm", "tty", "disk", "lp", "mail", "news", "uucp",
        "games", "users", "staff", "nobody",
    ]
    .iter()
    .filter_map(|g| Group::from_name(g).ok().flatten())
    .find(|g| !mine.contains(&g.gid) && u.gid != g.gid && !g.mem.iter().any(|m| m == user))
    .map(|g| g.name)
}

const NO_SUCH_GROUP: &str = "slate-test-no-such-group";

#[tokio::test]
async fn someone_not_in_the_list_nor_its_groups_is_refused_and_the_refusal_journaled() {
    let mut run = start(
        &prod_deploy(
            &format!(
                "gates = [\"go\"]\napproval = {{ approvers = [\"alice\", \"@{NO_SUCH_GROUP}\"] }}\n"
            ),
            "",
            &manual_gate(""),
        ),
        false,
    );
    run.until("gate waiting", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    let why = run.send("mallory", approve("")).await.unwrap_err();
    assert_eq!(
        why,
        format!(
            "mallory may not approve prod (approvers: alice, @{NO_SUCH_GROUP}); \
             group {NO_SUCH_GROUP} does not exist on this host"
        )
    );
    assert_eq!(
        run.send("alice", approve("")).await,
        Ok("approved go".into())
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(
        refusals(&records),
        [(
            "mallory".to_string(),
            "approve (waiting gate)".to_string(),
            why
        )]
    );
}

#[tokio::test]
async fn group_members_may_approve_and_others_may_not() {
    let me = me();
    let primary = my_primary_group();
    let not_mine = a_group_i_am_not_in(&me.user);
    // dev: a group I am not in (or none that exists), and alice.
    let dev_group = not_mine
        .clone()
        .unwrap_or_else(|| NO_SUCH_GROUP.to_string());
    let plan = format!(
        r#"
[[environments]]
name = "dev"
gates = ["go"]
approval = {{ approvers = ["alice", "@{dev_group}"] }}
[[environments]]
name = "prod"
gates = ["go"]
approval = {{ approvers = ["alice", "@{primary}"] }}
[[stages]]
name = "deploy"
command = "true"
[[gates]]
name = "go"
kind = "manual"
"#
    );
    let mut run = start(&plan, false);
    run.until("dev gate", |e| {
        matches!(e, Event::GateWaiting { env: 0, .. })
    })
    .await;
    let refused = run.handle.send(me.clone(), approve("")).await.unwrap_err();
    assert!(
        refused.starts_with(&format!(
            "{} may not approve dev (approvers: alice, @{dev_group})",
            me.user
        )),
        "{refused}"
    );
    if not_mine.is_none() {
        eprintln!(
            "no system group without {} here; checked a missing group instead",
            me.user
        );
    }
    run.send("alice", approve("")).await.unwrap();
    run.until("prod gate", |e| {
        matches!(e, Event::GateWaiting { env: 1, .. })
    })
    .await;
    // Primary group membership counts, resolved when the approval arrives.
    assert_eq!(
        run.handle.send(me.clone(), approve("")).await,
        Ok("approved go".into())
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(state.envs[1].approvals[0].user, me.user);
    assert_eq!(refusals(&records).len(), 1);
    assert_eq!(refusals(&records)[0].2, refused);
}

#[test]
fn membership_covers_primary_and_supplementary_groups() {
    let me = me();
    assert_eq!(
        slate::identity::member(&me.user, &my_primary_group()),
        Ok(true)
    );
    // Every supplementary group the OS lists for the user counts too.
    let u = User::from_name(&me.user).unwrap().unwrap();
    for gid in getgrouplist(&std::ffi::CString::new(me.user.clone()).unwrap(), u.gid).unwrap() {
        if let Ok(Some(g)) = Group::from_gid(gid) {
            assert_eq!(
                slate::identity::member(&me.user, &g.name),
                Ok(true),
                "{}",
                g.name
            );
        }
    }
    if let Some(other) = a_group_i_am_not_in(&me.user) {
        assert_eq!(slate::identity::member(&me.user, &other), Ok(false));
    }
    assert_eq!(
        slate::identity::member("no-such-user-of-slate", &my_primary_group()),
        Ok(false)
    );
    assert_eq!(
        slate::identity::member(&me.user, NO_SUCH_GROUP),
        Err(format!("group {NO_SUCH_GROUP} does not exist on this host"))
    );
}

#[tokio::test]
async fn four_eyes_refuses_the_starter_and_two_distinct_people_make_two_approvals() {
    let mut run = start(
        &prod_deploy(
            "gates = [\"go\"]\napproval = { required = 2, approvers = [\"starter\", \"alice\", \"bob\"], four_eyes = true }\n",
            "",
            &manual_gate(""),
        ),
        false,
    );
    run.until("gate waiting", |e| {
        matches!(e, Event::GateWaiting { required: 2, .. })
    })
    .await;
    // Listed as an approver, but they started the run.
    let starter = run.send("starter", approve("lgtm")).await.unwrap_err();
    assert_eq!(
        starter,
        "four-eyes: starter started this run, so someone else must approve prod"
    );
    assert_eq!(
        run.send("alice", approve("")).await,
        Ok("approved go (1 of 2)".into())
    );
    // One person approving twice counts once.
    assert_eq!(
        run.send("alice", approve("again")).await,
        Err("alice has already approved go".into())
    );
    assert_eq!(run.send("bob", approve("")).await, Ok("approved go".into()));
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let users: Vec<&str> = state.envs[0]
        .approvals
        .iter()
        .map(|a| a.user.as_str())
        .collect();
    assert_eq!(users, ["alice", "bob"]);
    assert_eq!(
        refusals(&records),
        [
            (
                "starter".to_string(),
                "approve (waiting gate)".to_string(),
                starter
            ),
            (
                "alice".to_string(),
                "approve (waiting gate)".to_string(),
                "alice has already approved go".to_string()
            ),
        ]
    );
    assert_eq!(state.refusals, 2);
}

#[tokio::test]
async fn without_four_eyes_the_starter_may_approve() {
    let mut run = start(
        &prod_deploy("gates = [\"go\"]\n", "", &manual_gate("")),
        false,
    );
    run.until("gate waiting", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    assert_eq!(
        run.send("starter", approve("")).await,
        Ok("approved go".into())
    );
    let (state, _, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
}

const FOUR_EYES_PROD: &str = "gates = [\"go\"]\napproval = { four_eyes = true }\n";

#[tokio::test]
async fn a_pre_approval_does_not_count_on_a_four_eyes_environment() {
    // Nobody can answer: the refused pre-approval leaves the gate to fail closed.
    let (state, records) =
        run_without_clients(&prod_deploy(FOUR_EYES_PROD, "", &manual_gate("")), |o| {
            o.unattended = Unattended::FailClosed;
            o.pre_approved = vec!["go".into()];
        })
        .await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    assert!(state.envs[0].approvals.is_empty());
    let refused = refusals(&records);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, "starter");
    assert_eq!(refused[0].1, "pre-approve go");
    assert_eq!(
        refused[0].2,
        "four-eyes: prod needs an approval at the gate by someone other than starter, \
         who started the run; pre-approvals do not count there"
    );
    let failed = records
        .iter()
        .find_map(|r| match &r.event {
            Event::GateFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        failed.contains("someone other than starter (four-eyes)"),
        "{failed}"
    );
}

#[tokio::test]
async fn after_a_refused_auto_approval_someone_else_approves_at_the_gate() {
    let mut run = start_with(&prod_deploy(FOUR_EYES_PROD, "", &manual_gate("")), |o| {
        o.auto_approve = true;
    });
    // The gate waits, then the auto-approval is refused and it goes on waiting.
    run.until("the refusal", |e| matches!(e, Event::CommandRefused { .. }))
        .await;
    assert_eq!(
        run.send("alice", approve("")).await,
        Ok("approved go".into())
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(state.envs[0].approvals.len(), 1);
    assert_eq!(state.envs[0].approvals[0].source, ApprovalSource::Operator);
    assert_eq!(refusals(&records)[0].1, "auto-approve go");
}

#[tokio::test]
async fn a_gate_past_its_timeout_fails_closed_and_rolls_back_with_the_reason() {
    // A client is attached the whole time; nobody decides.
    let mut run = start(
        r#"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
rollback = 'echo undo >> ledger'
gates_after = ["go"]
[[gates]]
name = "go"
kind = "manual"
timeout = "300ms"
"#,
        false,
    );
    run.until("gate waiting", |e| {
        matches!(
            e,
            Event::GateWaiting {
                timeout_ms: Some(300),
                ..
            }
        )
    })
    .await;
    let (state, records, ledger) = run.finish().await;
    assert_eq!(ledger, ["deploy", "undo"]);
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let started = records
        .iter()
        .find_map(|r| match &r.event {
            Event::RollbackStarted {
                trigger, reason, ..
            } => Some((trigger.clone(), reason.clone())),
            _ => None,
        })
        .expect("the rollback started");
    assert!(matches!(&started.0, Trigger::GateFailed { gate, .. } if gate == "go"));
    assert_eq!(started.1, "gate go failed: no decision within 300ms");
    assert_eq!(
        state.envs[0].rollback_reason.as_deref(),
        Some("gate go failed: no decision within 300ms")
    );
    assert_eq!(
        state.message,
        "prod rolled back (not verified: no verify_rollback): gate go failed: no decision within 300ms"
    );
}

// --- the real binary --------------------------------------------------------

/// Four-eyes production.
const CLI_PLAN: &str = common::release_plan!(
    r#"
[[environments]]
name = "prod"
approval = { four_eyes = true }
gates = ["go"]

[[stages]]
name = "deploy"
command = 'echo "deploy" >> "$LEDGER"'

[[gates]]
name = "go"
kind = "manual"
timeout = "60s"
"#
);

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn slate_approve_by_the_starter_of_a_four_eyes_run_is_refused() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", CLI_PLAN);
    let stdout = sb.path("run.out");
    let child = sb
        .slate()
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .stdout(Stdio::from(File::create(&stdout).unwrap()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = || std::fs::read_to_string(&stdout).unwrap_or_default();
    sb.wait_for("the approve hint", LIMIT, || {
        printed().contains("slate approve ")
    });
    let out = printed();
    let id = out
        .lines()
        .find(|l| l.contains("slate approve "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap()
        .to_string();

    let me = me().user;
    let refused = sb.run(&["approve", &id, "go", "--comment", "mine"], LIMIT);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    let reason = format!("four-eyes: {me} started this run, so someone else must approve prod");
    assert!(stderr.contains(&format!("refused: {reason}")), "{stderr}");

    // End the run: the starter may still reject.
    let rejected = sb.run(
        &["reject", &id, "go", "--reason", "needs a second person"],
        LIMIT,
    );
    assert_eq!(rejected.status.code(), Some(0), "{rejected:?}");
    let done = wait_output(child, LIMIT, &["run"]);
    assert_eq!(done.status.code(), Some(1), "{done:?}");
    assert!(sb.ledger().is_empty());

    let journal = common::read_journal(
        &sb.home()
            .join("runs")
            .join(&id)
            .join(slate::journal::JOURNAL_FILE),
    );
    let refusals = common::events(&journal, "command_refused");
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["reason"], reason.as_str());
    assert_eq!(refusals[0]["actor"]["via"], "cli");
}

#[test]
fn pre_approving_a_four_eyes_gate_is_a_usage_error() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", CLI_PLAN);
    for args in [&["--approve", "go"][..], &["--auto-approve"][..]] {
        let mut all = vec!["run", plan.to_str().unwrap(), "--headless"];
        all.extend_from_slice(args);
        let out = sb.run(&all, LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("four_eyes = true"), "{stderr}");
        assert!(stderr.contains("someone other than you"), "{stderr}");
    }
    // Nothing ran, nothing was journaled.
    assert!(sb.ledger().is_empty());
    assert!(common::run_dirs(sb.home()).is_empty());
}
