//! Locks, holds, the queue and ad-hoc freezes in the team store (issue 19's
//! "locks and freezes hold across machines"), on a real PostgreSQL, one
//! database per test. The same contract is checked on the embedded store;
//! then through the binary, two "machines" (two state directories sharing
//! one database) race for prod at the same instant and exactly one gets in,
//! and a lock whose engine was killed is stale only where its engine ran.

use std::process::Stdio;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use slate::store::Store;
use slate::store::locks::{ANY_RELEASE, Acquired, Freeze, Lock, LockAsk, LockKind};
use slate::store::postgres::{PgStore, TeamConfig};

use crate::common;
use common::postgres::TestDb;
use common::said;
use common::sandbox::{Sandbox, wait_output};

const LIMIT: Duration = Duration::from_secs(60);

const HOSTILE: &str = "incident\u{1b}]0;pwn\u{7}\n42\u{202e}";

fn ask(run: &str, release: &str, env: &str) -> LockAsk {
    LockAsk {
        release: release.into(),
        env: env.into(),
        run_id: run.into(),
        holder: "alice".into(),
        pid: 4242,
        cross_holds: false,
    }
}

fn blocked_by(got: Acquired) -> Vec<Lock> {
    match got {
        Acquired::Blocked(l) => l,
        Acquired::Granted => panic!("granted, expected blocked"),
    }
}

/// What every store keeps about locks, asked of two handles on it (`a`
/// and `b`: two machines on a team store). `origin_of_a`: what `b` reads
/// as the machine of `a`'s runs (None on the embedded store).
fn contract(a: &dyn Store, b: &dyn Store, origin_of_a: Option<&str>) {
    // One run per release × environment; asking again keeps it.
    assert_eq!(
        a.acquire(&ask("r1", "pay", "prod"), false).unwrap(),
        Acquired::Granted
    );
    assert_eq!(
        a.acquire(&ask("r1", "pay", "prod"), false).unwrap(),
        Acquired::Granted
    );
    let l = blocked_by(b.acquire(&ask("r2", "pay", "prod"), false).unwrap());
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(
        (l[0].kind, l[0].run_id.as_deref()),
        (LockKind::Run, Some("r1"))
    );
    assert_eq!(l[0].pid, Some(4242));
    assert_eq!(l[0].origin.as_deref(), origin_of_a);
    // Another release, or another environment, is free.
    assert_eq!(
        b.acquire(&ask("r3", "web", "prod"), false).unwrap(),
        Acquired::Granted
    );
    assert_eq!(
        b.acquire(&ask("r2", "pay", "staging"), false).unwrap(),
        Acquired::Granted
    );

    // First come, first served: r4 queued before r5 goes first.
    blocked_by(b.acquire(&ask("r4", "pay", "prod"), true).unwrap());
    blocked_by(a.acquire(&ask("r5", "pay", "prod"), true).unwrap());
    let q = a.lock_queue().unwrap();
    let order: Vec<&str> = q.iter().map(|w| w.run_id.as_str()).collect();
    assert_eq!(order, ["r4", "r5"]);
    let released = a.release_run("r1", None).unwrap();
    assert_eq!(released.len(), 1);
    let l = blocked_by(a.acquire(&ask("r5", "pay", "prod"), true).unwrap());
    assert_eq!(
        (l[0].kind, l[0].run_id.as_deref()),
        (LockKind::Queued, Some("r4"))
    );
    assert_eq!(
        b.acquire(&ask("r4", "pay", "prod"), true).unwrap(),
        Acquired::Granted
    );
    let order: Vec<String> = b
        .lock_queue()
        .unwrap()
        .into_iter()
        .map(|w| w.run_id)
        .collect();
    assert_eq!(order, ["r5"]);
    assert!(b.release_run("r5", Some("prod")).unwrap().is_empty());
    assert!(a.lock_queue().unwrap().is_empty());

    // A person's hold on every release stops new promotions; the second
    // hold finds the first; break-glass crosses it, another run's lock not.
    let hold = Lock {
        release: ANY_RELEASE.into(),
        env: "prod".into(),
        kind: LockKind::Manual,
        run_id: None,
        holder: "sre".into(),
        pid: None,
        reason: HOSTILE.into(),
        since: Timestamp::now(),
        origin: None,
    };
    assert_eq!(a.hold(&hold).unwrap(), None);
    let again = b.hold(&hold).unwrap().expect("the first hold");
    assert_eq!(again.reason, HOSTILE, "hostile text is kept as data");
    let l = blocked_by(b.acquire(&ask("r6", "shop", "prod"), false).unwrap());
    assert_eq!(l[0].kind, LockKind::Manual);
    let glass = LockAsk {
        cross_holds: true,
        ..ask("r6", "shop", "prod")
    };
    assert_eq!(b.acquire(&glass, false).unwrap(), Acquired::Granted);
    let glass = LockAsk {
        cross_holds: true,
        ..ask("r7", "pay", "prod")
    };
    let l = blocked_by(b.acquire(&glass, false).unwrap());
    assert_eq!(l[0].run_id.as_deref(), Some("r4"));
    assert_eq!(a.holds_on("anything", "prod").unwrap().len(), 1);
    assert!(a.lift(ANY_RELEASE, "prod").unwrap().is_some());
    assert!(b.lift(ANY_RELEASE, "prod").unwrap().is_none());

    // A stale run lock is broken by name.
    let broken = a.break_run_lock("pay", "prod").unwrap().expect("r4's lock");
    assert_eq!(broken.run_id.as_deref(), Some("r4"));
    let all: Vec<(String, String)> = b
        .locks()
        .unwrap()
        .into_iter()
        .map(|l| (l.env, l.release))
        .collect();
    assert_eq!(
        all,
        [
            ("prod".to_string(), "shop".to_string()),
            ("prod".to_string(), "web".to_string()),
            ("staging".to_string(), "pay".to_string()),
        ]
    );

    // Ad-hoc freezes: seen by every handle, lifted by one.
    let now = Timestamp::now();
    let f = Freeze {
        id: 0,
        env: "prod".into(),
        reason: HOSTILE.into(),
        starts: now,
        ends: now + jiff::SignedDuration::from_hours(2),
        tz: "Europe/Berlin".into(),
        by: "alice".into(),
        at: now,
    };
    let id = a.add_freeze(&f).unwrap();
    let seen = b.freezes(now).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].id, seen[0].reason.as_str()), (id, HOSTILE));
    assert_eq!(seen[0].ends.as_microsecond(), f.ends.as_microsecond());
    assert!(b.freezes(f.ends).unwrap().is_empty(), "over at its end");
    assert_eq!(b.lift_freezes("prod", "bob", now).unwrap().len(), 1);
    assert!(a.freezes(now).unwrap().is_empty());
}

fn team(db: &TestDb) -> TeamConfig {
    TeamConfig::new(&db.url, None, "the test".into())
}

#[test]
fn the_lock_contract_holds_on_sqlite() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let (a, _) = slate::store::sqlite::SqliteStore::open(&path).unwrap();
    let (b, _) = slate::store::sqlite::SqliteStore::open(&path).unwrap();
    contract(&a, &b, None);
}

#[test]
fn the_lock_contract_holds_on_postgresql_across_machines() {
    let Some(db) = TestDb::create("the_lock_contract_holds_on_postgresql_across_machines") else {
        return;
    };
    slate::store::postgres::init(&team(&db)).unwrap();
    let (m1, m2) = (
        tempfile::TempDir::new().unwrap(),
        tempfile::TempDir::new().unwrap(),
    );
    let a = PgStore::open(&team(&db), m1.path()).unwrap();
    let b = PgStore::open(&team(&db), m2.path()).unwrap();
    let origin = slate::store::postgres::origin(m1.path());
    contract(&a, &b, Some(&origin));
}

const PLAN: &str = r#"
[release]
name = "pay"
version = "2.0"
previous_version = "1.0"
owner = "owner"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'echo "$SLATE_RUN_ID" >> "@SHARED@/entered"; while [ -e "@SHARED@/hold" ]; do sleep 0.02; done'
timeout = "60s"
"#;

/// A "machine": a sandbox (its own SLATE_HOME) with the plan, whose
/// stage notes its run id in `shared` and holds while `shared/hold` exists.
fn machine(shared: &std::path::Path) -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "plan.toml",
        &PLAN.replace("@SHARED@", shared.to_str().unwrap()),
    );
    (sb, plan)
}

fn entered(shared: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(shared.join("entered"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Two machines start the same release into prod at the same instant:
/// exactly one deploys; the other is refused at once, naming the run that
/// holds prod and the machine it runs on. When the first ends, prod is free
/// for either machine.
#[test]
fn two_machines_racing_for_prod_exactly_one_proceeds() {
    let Some(db) = TestDb::create("two_machines_racing_for_prod_exactly_one_proceeds") else {
        return;
    };
    let shared = tempfile::TempDir::new().unwrap();
    std::fs::write(shared.path().join("hold"), "").unwrap();
    let (alice, alice_plan) = machine(shared.path());
    let (bob, bob_plan) = machine(shared.path());
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let start = |sb: &Sandbox, plan: &std::path::Path| {
        sb.slate()
            .env("SLATE_STORE", &db.url)
            .args(["run", "--headless", "--json", plan.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(&alice, &alice_plan), start(&bob, &bob_plan));
    // The loser is refused at once, while the winner holds prod.
    alice.wait_for("one run to enter prod", LIMIT, || {
        entered(shared.path()).len() == 1
    });
    let winner_id = entered(shared.path())[0].clone();
    let winner_is_alice = common::newest_run(alice.home())
        .is_some_and(|d| d.file_name().unwrap().to_string_lossy() == winner_id);
    let (winner, loser, (loser_sb, loser_plan), winner_home) = if winner_is_alice {
        (a, b, (&bob, &bob_plan), alice.home().to_path_buf())
    } else {
        (b, a, (&alice, &alice_plan), bob.home().to_path_buf())
    };
    let lost = wait_output(loser, LIMIT, &["the losing run"]);
    assert_eq!(lost.status.code(), Some(1), "{}", said(&lost));
    let recs = common::parse_journal(&String::from_utf8_lossy(&lost.stdout), "stdout");
    let msg = common::only(&recs, "run_finished")["message"]
        .as_str()
        .unwrap()
        .to_string();
    let origin = slate::store::postgres::origin(&winner_home);
    assert!(
        msg.starts_with(&format!("prod for pay is locked by run {winner_id} (")),
        "{msg}"
    );
    assert!(msg.contains(&format!(" on {origin}, since ")), "{msg}");
    // The loser's machine lists the lock, on the winner's machine.
    let o = db.slate(loser_sb, &["locks", "--json"]);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(&o)));
    assert_eq!(v["locks"][0]["run_id"], winner_id.as_str());
    assert_eq!(v["locks"][0]["origin"], origin.as_str());
    assert_eq!(v["locks"][0]["stale"], false);

    std::fs::remove_file(shared.path().join("hold")).unwrap();
    let won = wait_output(winner, LIMIT, &["the winning run"]);
    assert!(won.status.success(), "{}", said(&won));
    assert_eq!(
        entered(shared.path()),
        std::slice::from_ref(&winner_id),
        "no second deploy"
    );
    // Released when the run ended: the loser's machine gets in now.
    let again = db.slate(
        loser_sb,
        &["run", "--headless", loser_plan.to_str().unwrap()],
    );
    assert!(again.status.success(), "{}", said(&again));
    assert_eq!(entered(shared.path()).len(), 2);
    let o = db.slate(loser_sb, &["locks"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "no locks");
}

/// A run whose engine is killed keeps its lock in the team store. Another
/// machine cannot tell whether that engine lives, so it neither takes the
/// lock for stale nor breaks it; the run's own machine sees it stale and
/// releases it.
#[test]
fn a_killed_engines_lock_is_stale_only_on_its_own_machine() {
    let Some(db) = TestDb::create("a_killed_engines_lock_is_stale_only_on_its_own_machine") else {
        return;
    };
    let shared = tempfile::TempDir::new().unwrap();
    std::fs::write(shared.path().join("hold"), "").unwrap();
    let (alice, plan) = machine(shared.path());
    let (bob, _) = machine(shared.path());
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let mut run = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["run", "--headless", plan.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    alice.wait_for("the run to enter prod", LIMIT, || {
        entered(shared.path()).len() == 1
    });
    let run_id = entered(shared.path())[0].clone();
    run.kill().unwrap();
    run.wait().unwrap();
    // The engine is gone, but bob's machine cannot know it.
    let o = db.slate(&bob, &["unlock", "prod", "--release", "pay"]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("this machine cannot tell whether its engine lives"),
        "{}",
        said(&o)
    );
    let o = db.slate(&bob, &["locks", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["locks"][0]["stale"], false);
    // Alice's machine knows: status reports it, unlock releases it.
    let o = db.slate(&alice, &["status"]);
    assert!(
        said(&o).contains(&format!("slate recover {run_id}")),
        "{}",
        said(&o)
    );
    let o = db.slate(&alice, &["unlock", "prod", "--release", "pay"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(said(&o).contains("its engine was gone"), "{}", said(&o));
    let o = db.slate(&bob, &["locks"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "no locks");
}

/// `slate lock` on one machine stops the line on the other; `slate
/// unlock` there lifts it; an ad-hoc freeze likewise.
#[test]
fn a_hold_and_a_freeze_on_one_machine_stop_runs_on_another() {
    let Some(db) = TestDb::create("a_hold_and_a_freeze_on_one_machine_stop_runs_on_another") else {
        return;
    };
    let shared = tempfile::TempDir::new().unwrap();
    let (alice, alice_plan) = machine(shared.path());
    let (bob, plan) = machine(shared.path());
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let o = db.slate(&alice, &["lock", "prod", "--reason", "incident 42"]);
    assert!(o.status.success(), "{}", said(&o));
    let o = db.slate(&bob, &["run", "--headless", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(said(&o).contains("prod is held by"), "{}", said(&o));
    assert!(said(&o).contains("incident 42"), "{}", said(&o));
    assert!(entered(shared.path()).is_empty());
    assert!(db.slate(&bob, &["unlock", "prod"]).status.success());
    let o = db.slate(
        &bob,
        &["freeze", "prod", "--until", "2h", "--reason", "holiday"],
    );
    assert!(o.status.success(), "{}", said(&o));
    let o = db.slate(&alice, &["run", "--headless", alice_plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("prod is frozen: freeze by"),
        "{}",
        said(&o)
    );
    assert!(said(&o).contains("(holiday)"), "{}", said(&o));
    assert!(db.slate(&alice, &["unfreeze", "prod"]).status.success());
    let o = db.slate(&alice, &["run", "--headless", alice_plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(entered(shared.path()).len(), 1);
}

/// A rollback to a known-good version on one machine pins the place for
/// every machine: a run from another is refused, naming the pin, until it
/// promotes over it with `--unpin`.
#[test]
fn a_pin_left_by_a_rollback_on_one_machine_holds_on_another() {
    let Some(db) = TestDb::create("a_pin_left_by_a_rollback_on_one_machine_holds_on_another")
    else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    let plan = |sb: &Sandbox, version: &str| {
        sb.plan(
            &format!("plan-{version}.toml"),
            &format!(
                "[release]\nname = \"pay\"\nversion = \"{version}\"\nprevious_version = \"0.9\"\nowner = \"owner\"\n\
                 [[environments]]\nname = \"prod\"\n[[stages]]\nname = \"deploy\"\ncommand = \"true\"\n"
            ),
        )
    };
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    for v in ["1.0", "2.0"] {
        let p = plan(&alice, v);
        let o = db.slate(&alice, &["run", "--headless", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}", said(&o));
    }
    let o = db.slate(
        &alice,
        &[
            "rollback",
            "--to",
            "1.0",
            "--env",
            "prod",
            "--reason",
            "2.0 drops payments",
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    let p = plan(&bob, "3.0");
    let o = db.slate(&bob, &["run", "--headless", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("prod is pinned to 1.0 by rollback run"),
        "{}",
        said(&o)
    );
    assert!(said(&o).contains("2.0 drops payments"), "{}", said(&o));
    let o = db.slate(
        &bob,
        &[
            "run",
            "--headless",
            p.to_str().unwrap(),
            "--unpin",
            "3.0 fixes it",
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    let o = db.slate(&alice, &["ledger", "--json", "--env", "prod"]);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(&o)));
    let env = &v["environments"][0];
    assert_eq!(env["live"]["version"], "3.0", "{v:#}");
    assert!(env.get("pin").is_none(), "{v:#}");
}
