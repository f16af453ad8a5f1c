//! `slate demo` headless, black-box: the good release exits 0 through dev,
//! staging and a prod canary whose metrics are really scraped; the bad canary
//! breaches its threshold, rolls prod back by itself and exits 1 with the
//! reason in one line; every step is announced on the plan's webhook (the
//! fleet's `hooks` instance) and journaled; and no demo process outlives the
//! demo, however it ends.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::TempDir;

use crate::common;
use common::sandbox::wait_output;
use common::*;

const RUN_TIMEOUT: Duration = Duration::from_secs(90);

fn demo(home: &Path, tag: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slate"));
    cmd.arg("demo")
        .args(args)
        .env("SLATE_HOME", home)
        .env("SLATE_TEST_TAG", tag)
        .env_remove("SLATE_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs to the end (bounded); returns exit code and stdout.
fn run_demo(home: &Path, tag: &str, args: &[&str]) -> (i32, String) {
    let mut child = demo(home, tag, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + RUN_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            kill_tagged(tag);
            panic!("the demo did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// The kinds of the journaled webhook deliveries, each of which must have
/// been delivered, and the messages the `hooks` instance logged.
fn notifications(home: &Path, recs: &[Value]) -> (Vec<String>, String) {
    let sent = events(recs, "notification_sent");
    for s in &sent {
        assert_eq!(s["channel"], "release-chat", "{s}");
        assert_eq!(s["ok"], true, "every demo notification is delivered: {s}");
    }
    let kinds = sent
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect();
    let fleet = newest_run(home).expect("a run").join("fleet");
    let log = std::fs::read_to_string(fleet.join("hooks.log")).unwrap_or_default();
    let hooks = log.lines().filter(|l| l.starts_with("hook ")).count();
    assert_eq!(hooks, sent.len(), "one logged hook per delivery:\n{log}");
    (kinds, log)
}

fn journal(home: &Path) -> Vec<Value> {
    read_journal(&newest_run(home).expect("a run").join("journal.ndjson"))
}

/// Waits a little for tagged processes to go; kills and fails if any stay.
fn assert_nothing_left(tag: &str, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !tagged_processes(tag).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = kill_tagged(tag);
    assert!(
        left.is_empty(),
        "{context}: demo processes outlived it: {left:?}"
    );
}

#[test]
fn the_good_demo_releases_through_a_measured_canary() {
    let home = TempDir::new().unwrap();
    let tag = unique();
    let (code, out) = run_demo(home.path(), &tag, &["--headless", "--fast"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("released to dev, staging, prod"), "{out}");
    let recs = journal(home.path());
    let deployed: Vec<_> = events(&recs, "env_finished")
        .iter()
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(deployed, ["deployed", "deployed", "deployed"]);
    // The canary's error ratio was really scraped: numbers, every one passing.
    let ratios: Vec<f64> = events(&recs, "metric_sampled")
        .iter()
        .filter(|e| e["metric"] == "error_ratio")
        .map(|e| {
            assert_eq!(e["judgement"], "pass", "{e}");
            e["value"].as_f64().expect("a measured value")
        })
        .collect();
    assert!(
        ratios.len() >= 10,
        "staging and two canary windows: {ratios:?}"
    );
    // Smoke checks asked the new version what it is.
    assert!(
        events(&recs, "check_result")
            .iter()
            .any(|e| e["check"] == "prod-version" && e["ok"] == true)
    );
    // Announced on the webhook from start to finish.
    let (kinds, log) = notifications(home.path(), &recs);
    for k in ["run_started", "gate_waiting", "completed"] {
        assert_eq!(
            kinds.iter().filter(|x| *x == k).count(),
            1,
            "{k}: {kinds:?}"
        );
    }
    assert_eq!(kinds.iter().filter(|x| *x == "env_promoted").count(), 3);
    // Deliveries run concurrently, so only the completion's place is fixed:
    // it is announced after the run finished.
    let at = |want: &dyn Fn(&Value) -> bool| recs.iter().position(want).expect("journaled");
    let finished = at(&|r| ty(r) == "run_finished");
    let completed = at(&|r| ty(r) == "notification_sent" && r["event"]["kind"] == "completed");
    assert!(completed > finished, "completed after run_finished");
    assert!(log.contains("finished: released."), "{log}");
    assert_nothing_left(&tag, "after a good demo");
}

#[test]
fn the_bad_canary_rolls_prod_back_by_itself_and_says_why() {
    let home = TempDir::new().unwrap();
    let tag = unique();
    let (code, out) = run_demo(
        home.path(),
        &tag,
        &["--headless", "--fast", "--scenario", "bad-canary"],
    );
    assert_eq!(code, 1, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.contains("prod rolled back: analysis canary failed: error_ratio ")
            && last.contains(" > 0.05 for 3 of "),
        "{last}"
    );
    let recs = journal(home.path());
    let rb = only(&recs, "rollback_started");
    assert_eq!(rb["trigger"]["kind"], "analysis_failed");
    assert_eq!(only(&recs, "rollback_verified")["ok"], true);
    // dev and staging keep the release; prod is back on the stable version.
    let outcomes: Vec<_> = events(&recs, "env_finished")
        .iter()
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["deployed", "deployed", "rolled_back"]);
    let (kinds, log) = notifications(home.path(), &recs);
    for k in ["failure", "rollback", "completed"] {
        assert!(kinds.iter().any(|x| x == k), "{k}: {kinds:?}");
    }
    assert!(
        log.contains("rolling prod back to 2.4.1: analysis canary failed: error_ratio "),
        "{log}"
    );
    assert!(log.contains("finished: rolled back."), "{log}");
    assert_nothing_left(&tag, "after a rolled-back demo");
}

#[test]
fn killing_the_demo_outright_still_stops_its_fleet() {
    let home = TempDir::new().unwrap();
    let tag = unique();
    // Default timings: the run is mid-way when it is killed.
    let mut child = demo(home.path(), &tag, &["--headless"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let fleet_up = || {
        newest_run(home.path()).is_some_and(|r| r.join("fleet/staging.pid").exists())
            && tagged_processes(&tag).len() >= 4
    };
    while !fleet_up() {
        assert!(Instant::now() < deadline, "the fleet never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    // Each instance belongs to the run and exits once its engine is gone.
    assert_nothing_left(&tag, "after SIGKILL of slate demo");
}

/// `slate demo` in the cockpit: the engine host it starts, not the cockpit,
/// prepares the demo and owns the fleet. So `q` → `d` leaves the release and
/// its fleet going; `slate approve` finishes it, and the host stops the fleet
/// and exits by itself.
#[test]
fn the_demo_in_the_cockpit_goes_on_after_a_detach() {
    use common::pty::Term;
    let home = TempDir::new().unwrap();
    let tag = unique();
    let mut t = Term::builder(&["demo", "--fast"])
        .size(120, 40)
        .env("SLATE_HOME", home.path())
        .tag(&tag)
        .budget(RUN_TIMEOUT)
        .start();
    t.wait_for("WAITING FOR APPROVAL", RUN_TIMEOUT);
    let slates: Vec<(i32, String)> = live_processes()
        .into_iter()
        .filter(|(p, _)| tagged_processes(&tag).contains(p))
        .collect();
    let host = slates
        .iter()
        .find(|(_, cmd)| cmd.contains(" demo ") && cmd.contains(" --serve"))
        .map(|(p, _)| *p)
        .unwrap_or_else(|| panic!("an engine host: {slates:?}"));
    let fleet: Vec<&(i32, String)> = slates
        .iter()
        .filter(|(_, cmd)| cmd.contains("demo-service serve"))
        .collect();
    assert_eq!(fleet.len(), 4, "dev, staging, prod and hooks: {slates:?}");
    let run_dir = newest_run(home.path()).expect("a run");
    for (pid, cmd) in &fleet {
        assert!(
            cmd.contains(&format!("--owner-run {}", run_dir.display())),
            "instance {pid} is owned by the run the engine host drives, not the cockpit: {cmd}"
        );
    }
    let fleet: Vec<i32> = fleet.iter().map(|(p, _)| *p).collect();

    t.send(b"q");
    t.wait_for("n / Esc stay", RUN_TIMEOUT);
    t.send(b"d");
    assert!(t.wait_exit(RUN_TIMEOUT).success());
    let alive = |pid: &i32| live_processes().iter().any(|(p, _)| p == pid);
    assert!(alive(&host), "the release goes on");
    assert!(fleet.iter().all(alive), "and so does its fleet");

    let approve = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args([
            "approve",
            "latest",
            "prod-approval",
            "--comment",
            "detached demo",
        ])
        .env("SLATE_HOME", home.path())
        .env("SLATE_TEST_TAG", &tag)
        .output()
        .unwrap();
    assert!(approve.status.success(), "{approve:?}");
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !journal(home.path()).iter().any(|r| ty(r) == "run_finished") {
        assert!(Instant::now() < deadline, "the demo never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(outcome_of(&journal(home.path())), "released");
    while alive(&host) {
        assert!(Instant::now() < deadline, "the engine host did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_nothing_left(&tag, "after a detached demo");
}

/// The outcome of the run's last `run_finished` (notifications may follow it).
fn outcome_of(recs: &[Value]) -> String {
    events(recs, "run_finished")
        .last()
        .and_then(|e| e["outcome"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Two demos in one state directory at the same time each deploy their own
/// fleet and release; neither stops the other's instances (issue 15, item 7).
#[test]
fn two_demos_at_once_each_keep_their_own_fleet() {
    let home = TempDir::new().unwrap();
    let tag = unique();
    let start = || {
        demo(home.path(), &tag, &["--headless", "--fast"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    for child in [a, b] {
        let out = wait_output(child, RUN_TIMEOUT, &["a demo"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let runs = run_dirs(home.path());
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let recs = read_journal(&run.join("journal.ndjson"));
        assert_eq!(outcome_of(&recs), "released", "{}", run.display());
        assert!(
            run.join("fleet/hooks.log").exists(),
            "each run has its own fleet"
        );
    }
    assert_nothing_left(&tag, "after two demos at once");
}

/// `kill -9` of a headless demo during the canary, then `slate recover`:
/// the fleet that died with it comes back as its records say, and the
/// recovered run releases (issue 15, item 8).
#[test]
fn a_demo_killed_during_the_canary_is_recovered_and_releases() {
    let home = TempDir::new().unwrap();
    let tag = unique();
    let mut child = demo(home.path(), &tag, &["--headless", "--fast"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let in_canary = || {
        newest_run(home.path()).is_some_and(|r| {
            read_journal(&r.join("journal.ndjson"))
                .iter()
                .any(|e| ty(e) == "analysis_started" && e["event"]["env"] == 2)
        })
    };
    while !in_canary() {
        assert!(Instant::now() < deadline, "the canary never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    // The fleet goes with its engine.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tagged_processes(&tag).is_empty() {
        assert!(Instant::now() < deadline, "the fleet outlived its engine");
        std::thread::sleep(Duration::from_millis(50));
    }

    let recovered = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["recover", "latest", "--headless", "--interrupted", "retry"])
        .env("SLATE_HOME", home.path())
        .env("SLATE_TEST_TAG", &tag)
        .env_remove("SLATE_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(recovered, RUN_TIMEOUT, &["slate recover"]);
    let recs = journal(home.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{:?}", types(&recs));
    assert_eq!(outcome_of(&recs), "released");
    assert!(recs.iter().any(|r| ty(r) == "run_recovered"));
    assert_nothing_left(&tag, "after a recovered demo");
}
