//! Deploy locks and holds, black-box: real `slate run --headless` processes
//! share one state directory (and so one store). Two runs started at the
//! same instant race for one environment and exactly one proceeds; a run
//! that waits in the queue goes on when the holder ends; a run killed with
//! SIGKILL leaves a stale lock that `slate status` reports and `slate
//! recover` releases; a hold (`slate lock`) refuses new runs and stops one
//! already inside at its next safe point.
//!
//! Stage commands hold while a file named after them exists, so every
//! overlap is made by the test, not by the scheduler.

use crate::common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::sandbox::{Sandbox, wait_output};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// `deploy` appends to the ledger and holds while `hold/<release>` exists.
fn plan(release: &str, extra_release: &str) -> String {
    format!(
        r#"
[release]
name = "{release}"
version = "2"
previous_version = "1"
owner = "qa"
{extra_release}

[[environments]]
name = "staging"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'echo "start $SLATE_ENV $$" >> "$LEDGER"; while [ -e "@DIR@/hold/$SLATE_ENV" ]; do sleep 0.02; done; echo "done $SLATE_ENV" >> "$LEDGER"'
timeout = "60s"

[[stages]]
name = "smoke"
command = 'true'
"#
    )
}

fn start(sb: &Sandbox, plan: &std::path::Path, extra: &[&str]) -> Child {
    sb.slate()
        .args(["run", "--headless", "--json"])
        .args(extra)
        .arg(plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slate")
}

fn hold(sb: &Sandbox, env: &str) {
    std::fs::create_dir_all(sb.path("hold")).unwrap();
    std::fs::write(sb.path("hold").join(env), "").unwrap();
}

/// Starts a run of `plan` and waits until it is inside staging, held there.
fn inside_staging(sb: &Sandbox, plan: &std::path::Path) -> Child {
    hold(sb, "staging");
    let a = start(sb, plan, &[]);
    sb.wait_for("the first run inside staging", LIMIT, || {
        sb.ledger().iter().any(|l| l.starts_with("start staging"))
    });
    a
}

/// SIGKILLs a run's engine (its stage is left running) and reaps it.
fn kill_engine(engine: &mut Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(engine.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    engine.wait().unwrap();
}

fn release_hold(sb: &Sandbox, env: &str) {
    let _ = std::fs::remove_file(sb.path("hold").join(env));
}

fn records(out: &std::process::Output) -> Vec<Value> {
    common::parse_journal(&String::from_utf8_lossy(&out.stdout), "stdout")
}

fn locks_json(sb: &Sandbox) -> Value {
    let out = sb.run(&["locks", "--json"], LIMIT);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("locks JSON")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn two_runs_started_at_the_same_instant_exactly_one_proceeds() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", ""));
    for round in 0..3 {
        hold(&sb, "staging");
        // Both processes exist before either reaches the store.
        let a = start(&sb, &p, &[]);
        let b = start(&sb, &p, &[]);
        // The winner is inside staging (its stage holds); the loser is refused at once.
        sb.wait_for("the loser to be refused", LIMIT, || {
            sb.ledger()
                .iter()
                .filter(|l| l.starts_with("start staging"))
                .count()
                > round
        });
        let (first, second) = (a, b);
        // Whichever was refused ends by itself; the other waits for the file.
        let mut outs = Vec::new();
        let mut running = vec![first, second];
        sb.wait_for("one run to end", LIMIT, || {
            let mut i = 0;
            while i < running.len() {
                if running[i].try_wait().unwrap().is_some() {
                    outs.push(running.remove(i));
                } else {
                    i += 1;
                }
            }
            !outs.is_empty()
        });
        release_hold(&sb, "staging");
        let loser = wait_output(outs.remove(0), LIMIT, &["loser"]);
        let winner = wait_output(running.remove(0), LIMIT, &["winner"]);
        let (lr, wr) = (records(&loser), records(&winner));
        // Said before `outcome`, whose own message has no output in it.
        assert!(!wr.is_empty(), "the winner printed no records: {winner:?}");
        assert!(!lr.is_empty(), "the loser printed no records: {loser:?}");
        assert_eq!(common::outcome(&wr), "released", "{}", text(&winner));
        assert_eq!(common::outcome(&lr), "failed", "{}", text(&loser));
        let blocked = common::only(&lr, "env_blocked");
        let winner_id = common::only(&wr, "run_started")["run_id"].as_str().unwrap();
        assert_eq!(blocked["barrier"]["kind"], "lock");
        assert_eq!(blocked["barrier"]["run_id"], winner_id);
        assert!(
            blocked["barrier"]["message"]
                .as_str()
                .unwrap()
                .contains(winner_id),
            "{blocked}"
        );
        assert!(
            !common::has(&lr, "env_started"),
            "the loser entered staging"
        );
        assert!(!common::has(&lr, "env_locked"));
        common::assert_in_order(
            &wr,
            &[
                "env_locked",
                "env_started",
                "env_finished",
                "env_unlocked",
                "env_locked",
                "env_started",
                "env_finished",
                "env_unlocked",
                "run_finished",
            ],
        );
        let after = locks_json(&sb);
        assert_eq!(after["locks"], Value::Array(vec![]), "{after}");
        // Exactly one deploy ran per environment this round.
        let starts = sb
            .ledger()
            .iter()
            .filter(|l| l.starts_with("start staging"))
            .count();
        assert_eq!(starts, round + 1, "{:?}", sb.ledger());
    }
}

#[test]
fn a_waiting_run_is_queued_and_goes_on_when_the_holder_ends() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", "lock_wait = \"60s\""));
    let a = inside_staging(&sb, &p);
    let b = start(&sb, &p, &[]);
    sb.wait_for("the second run in the queue", LIMIT, || {
        locks_json(&sb)["queue"]
            .as_array()
            .is_some_and(|q| q.len() == 1)
    });
    let listed = locks_json(&sb);
    assert_eq!(listed["locks"][0]["env"], "staging");
    assert_eq!(listed["locks"][0]["stale"], false);
    assert_eq!(listed["queue"][0]["env"], "staging");
    // `slate status` says what the queued run waits for, and who holds it.
    let status = sb.run(&["status"], LIMIT);
    let st = text(&status);
    assert!(
        st.contains("waiting: staging for pay is locked by run"),
        "{st}"
    );
    release_hold(&sb, "staging");
    let (a, b) = (
        wait_output(a, LIMIT, &["first"]),
        wait_output(b, LIMIT, &["second"]),
    );
    let (ar, br) = (records(&a), records(&b));
    assert_eq!(common::outcome(&ar), "released", "{}", text(&a));
    assert_eq!(common::outcome(&br), "released", "{}", text(&b));
    let blocked = common::only(&br, "env_blocked");
    assert!(
        blocked["until"].is_string(),
        "a waiting run says until when"
    );
    common::assert_in_order(&br, &["env_blocked", "env_locked", "env_started"]);
    // The second ran staging only after the first had left it.
    let ledger = sb.ledger();
    let done_first = ledger.iter().position(|l| l == "done staging").unwrap();
    let start_second = ledger
        .iter()
        .rposition(|l| l.starts_with("start staging"))
        .unwrap();
    assert!(done_first < start_second, "{ledger:?}");
    assert_eq!(locks_json(&sb)["queue"], Value::Array(vec![]));
}

/// Two runs wait for the environment one holds: the queue lists them in
/// arrival order and, once it is free, the first queued takes it first. (Both
/// poll, so without the queue's order the first usually wins anyway; the
/// store's `the_queue_is_first_come_first_served` is the test that fails
/// without it.)
#[test]
fn the_queue_is_first_come_first_served() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", "lock_wait = \"60s\""));
    let a = inside_staging(&sb, &p);
    let queued = |n: usize| {
        locks_json(&sb)["queue"]
            .as_array()
            .is_some_and(|q| q.len() == n)
    };
    let b = start(&sb, &p, &[]);
    sb.wait_for("the second run in the queue", LIMIT, || queued(1));
    let c = start(&sb, &p, &[]);
    sb.wait_for("the third run in the queue", LIMIT, || queued(2));
    let order: Vec<String> = locks_json(&sb)["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["run_id"].as_str().unwrap().to_string())
        .collect();
    release_hold(&sb, "staging");
    let outs = [
        wait_output(a, LIMIT, &["first"]),
        wait_output(b, LIMIT, &["second"]),
        wait_output(c, LIMIT, &["third"]),
    ];
    let recs: Vec<Vec<Value>> = outs.iter().map(records).collect();
    for (r, o) in recs.iter().zip(&outs) {
        assert_eq!(common::outcome(r), "released", "{}", text(o));
    }
    let run_id = |r: &[Value]| {
        common::only(r, "run_started")["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        order,
        [run_id(&recs[1]), run_id(&recs[2])],
        "queued in arrival order"
    );
    let locked_at = |r: &[Value]| -> jiff::Timestamp {
        r.iter()
            .find(|rec| common::ty(rec) == "env_locked")
            .and_then(|rec| rec["ts"].as_str())
            .and_then(|t| t.parse().ok())
            .expect("an env_locked record with its time")
    };
    assert!(
        locked_at(&recs[1]) < locked_at(&recs[2]),
        "the second run took staging before the third: {} vs {}",
        locked_at(&recs[1]),
        locked_at(&recs[2])
    );
}

#[test]
fn a_lock_held_by_a_run_killed_with_sigkill_is_stale_until_recovered() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", ""));
    hold(&sb, "staging");
    let mut a = start(&sb, &p, &[]);
    sb.wait_for("the run inside staging", LIMIT, || {
        sb.ledger().iter().any(|l| l.starts_with("start staging"))
    });
    // The engine dies; its stage is left (recovery stops it).
    kill_engine(&mut a);
    let listed = locks_json(&sb);
    assert_eq!(listed["locks"][0]["stale"], true, "{listed}");
    let run_id = listed["locks"][0]["run_id"].as_str().unwrap().to_string();
    // Status reports it with what frees it.
    let st = text(&sb.run(&["status"], LIMIT));
    assert!(
        st.contains("stale lock: staging for pay is locked by run"),
        "{st}"
    );
    assert!(st.contains(&format!("slate recover {run_id}")), "{st}");
    // Another run is refused, told the same.
    let b = wait_output(start(&sb, &p, &[]), LIMIT, &["second"]);
    let br = records(&b);
    assert_eq!(common::outcome(&br), "failed");
    let blocked = common::only(&br, "env_blocked");
    assert_eq!(blocked["barrier"]["stale"], true);
    assert_eq!(blocked["barrier"]["run_id"], run_id.as_str());
    // A live engine's lock cannot be unlocked by hand; this one is not live,
    // but recovery is the way that keeps the run whole.
    release_hold(&sb, "staging");
    let rec = sb.run(
        &["recover", &run_id, "--headless", "--interrupted", "retry"],
        LIMIT,
    );
    let rt = text(&rec);
    assert!(rec.status.success(), "{rt}");
    let journal =
        common::read_journal(&sb.home().join("runs").join(&run_id).join("journal.ndjson"));
    assert_eq!(common::outcome(&journal), "released");
    assert!(common::has(&journal, "env_unlocked"));
    assert_eq!(locks_json(&sb)["locks"], Value::Array(vec![]));
}

/// The engine journals `env_locked` without waiting for its fsync (it
/// rides on the next record the engine waits for), so a crash can leave a
/// lock in the store that the run's journal on disk does not mention: the
/// same state a crash between taking the lock and writing the record always
/// could. Made here by killing the run and cutting its journal back to its
/// first record: `slate recover` asks for the environment again, the store
/// grants the run its own lock, and the run goes on to release.
#[test]
fn a_lock_the_journal_never_recorded_is_the_recovered_runs_own() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", ""));
    let mut a = inside_staging(&sb, &p);
    kill_engine(&mut a);
    let listed = locks_json(&sb);
    let run_id = listed["locks"][0]["run_id"].as_str().unwrap().to_string();
    let path = sb.home().join("runs").join(&run_id).join("journal.ndjson");
    let text_before = std::fs::read_to_string(&path).unwrap();
    let first = text_before.lines().next().unwrap();
    assert!(first.contains("\"run_started\""), "{first}");
    std::fs::write(&path, format!("{first}\n")).unwrap();
    release_hold(&sb, "staging");
    let rec = sb.run(&["recover", &run_id, "--headless"], LIMIT);
    let rt = text(&rec);
    assert!(rec.status.success(), "{rt}");
    let journal = common::read_journal(&path);
    assert_eq!(common::outcome(&journal), "released", "{rt}");
    assert!(
        !common::has(&journal, "env_blocked"),
        "the run's own lock did not keep it out: {rt}"
    );
    assert_eq!(locks_json(&sb)["locks"], Value::Array(vec![]));
    // Staging ran again from its start (the cut journal said nothing of it).
    let starts = sb
        .ledger()
        .iter()
        .filter(|l| l.starts_with("start staging"))
        .count();
    assert_eq!(starts, 2, "{:?}", sb.ledger());
}

#[test]
fn a_stale_lock_can_be_released_by_hand_but_a_live_one_cannot() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", ""));
    hold(&sb, "staging");
    let mut a = start(&sb, &p, &[]);
    sb.wait_for("the run inside staging", LIMIT, || {
        sb.ledger().iter().any(|l| l.starts_with("start staging"))
    });
    let live = sb.run(&["unlock", "staging", "--release", "pay"], LIMIT);
    assert!(!live.status.success());
    assert!(
        text(&live).contains("it is released when that run ends"),
        "{}",
        text(&live)
    );
    kill_engine(&mut a);
    release_hold(&sb, "staging");
    let gone = sb.run(&["unlock", "staging", "--release", "pay"], LIMIT);
    assert!(gone.status.success(), "{}", text(&gone));
    assert!(text(&gone).contains("its engine was gone"));
    assert_eq!(locks_json(&sb)["locks"], Value::Array(vec![]));
}

#[test]
fn a_hold_refuses_new_runs_and_stops_one_inside_at_its_next_safe_point() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan("pay", ""));
    // A run inside staging when the line stops.
    hold(&sb, "staging");
    let a = start(&sb, &p, &[]);
    sb.wait_for("the run inside staging", LIMIT, || {
        sb.ledger().iter().any(|l| l.starts_with("start staging"))
    });
    let locked = sb.run(&["lock", "staging", "--reason", "incident 42"], LIMIT);
    assert!(locked.status.success(), "{}", text(&locked));
    assert!(text(&locked).contains("it stops at its next safe point"));
    // A second hold is refused, naming the first.
    let again = sb.run(&["lock", "staging", "--reason", "again"], LIMIT);
    assert!(!again.status.success());
    assert!(text(&again).contains("incident 42"));
    // A new run is refused at once, told who holds it and why.
    let b = wait_output(start(&sb, &p, &[]), LIMIT, &["new run"]);
    let br = records(&b);
    assert_eq!(common::outcome(&br), "failed");
    let msg = common::only(&br, "run_finished")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("staging is held by") && msg.contains("incident 42"),
        "{msg}"
    );
    // The run inside finishes its step, then stops before the next.
    release_hold(&sb, "staging");
    let journal_of_a = || {
        let dirs = common::run_dirs(sb.home());
        dirs.iter()
            .map(|d| common::read_journal(&d.join("journal.ndjson")))
            .find(|j| common::has(j, "env_locked"))
            .unwrap_or_default()
    };
    sb.wait_for("the run inside to stop at a safe point", LIMIT, || {
        journal_of_a()
            .iter()
            .any(|r| common::ty(r) == "env_blocked" && r["event"]["in_flight"] == true)
    });
    assert!(sb.ledger().contains(&"done staging".to_string()));
    let stopped = journal_of_a();
    let last_step = stopped
        .iter()
        .rev()
        .find(|r| common::ty(r).starts_with("step_"))
        .unwrap();
    assert_eq!(
        common::ty(last_step),
        "step_finished",
        "it stopped between steps"
    );
    let lifted = sb.run(&["unlock", "staging"], LIMIT);
    assert!(lifted.status.success(), "{}", text(&lifted));
    let a = wait_output(a, LIMIT, &["run inside"]);
    let ar = records(&a);
    assert_eq!(common::outcome(&ar), "released", "{}", text(&a));
    common::assert_in_order(&ar, &["env_blocked", "env_cleared", "step_started"]);
}

#[test]
fn lock_refuses_bad_input_and_never_prints_controls() {
    let sb = Sandbox::new();
    for args in [
        &["lock", "prod", "--reason", "  "][..],
        &["lock", "", "--reason", "x"][..],
        &["lock", "pr\nod", "--reason", "x"][..],
        &["lock", "prod", "--release", "*", "--reason", "x"][..],
    ] {
        let out = sb.run(args, LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let out = sb.run(
        &[
            "lock",
            "prod",
            "--reason",
            "evil\u{1b}[2J\u{202e}\nsecond line",
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out));
    let listed = sb.run(&["locks"], LIMIT);
    let shown = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
        "{shown:?}"
    );
    assert_eq!(shown.lines().count(), 1, "{shown:?}");
    let json = sb.run(&["locks", "--json"], LIMIT);
    assert!(!String::from_utf8_lossy(&json.stdout).contains('\u{1b}'));
    // Nothing to unlock is said, not silently accepted.
    let none = sb.run(&["unlock", "staging"], LIMIT);
    assert!(!none.status.success());
    assert!(text(&none).contains("nothing holds staging"));
}
