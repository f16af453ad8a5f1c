//! The team store on a real PostgreSQL (issue 19, first slice): the store
//! contract run against both backends (SQLite and PostgreSQL), through
//! the real binary where a person would (`slate store init`/`import`,
//! runs, `history`, `memory`, `status` from two "machines"), concurrent
//! writers from several processes, a newer or missing schema refused, an
//! unreachable or silent server failing fast, hostile text in every field.
//!
//! Each test has its own database (created and dropped). Without a server
//! the PostgreSQL tests skip loudly; `.ci/run` makes sure one answers.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use slate::runs::{Outcome, RunSummary};
use slate::store::ledger::{ArtifactDigest, LedgerApproval, LedgerVerdict};
use slate::store::postgres::{PgStore, TeamConfig};
use slate::store::{Deployment, Page, Place, Reach, RunQuery, RunRecord, Store};

use crate::common;
use crate::common::postgres as pg;

use common::sandbox::Sandbox;
use pg::TestDb;

const LIMIT: Duration = Duration::from_secs(60);

macro_rules! db_or_skip {
    ($name:expr) => {
        match TestDb::create($name) {
            Some(db) => db,
            None => return,
        }
    };
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Every control character, a newline, a bidi override, NUL and wide text.
const HOSTILE: &str = "a\u{1b}]0;pwn\u{7}\nb\r\u{202e}c\u{0}d 漢字 \u{7f}";

fn summary(run_id: &str, release: &str, outcome: Outcome) -> RunSummary {
    RunSummary {
        run_id: run_id.into(),
        release: release.into(),
        version: "2.0".into(),
        previous_version: "1.0".into(),
        owner: "owner".into(),
        started_by: "alice".into(),
        started: Some(ts("2026-01-01T10:00:00.123456Z")),
        finished: None,
        duration_ms: Some(1500),
        reached: Some("prod".into()),
        outcome,
        approvers: vec!["bob".into()],
        message: "svc 2.0 released to prod".into(),
        memory: "remember this".into(),
        pid: 4242,
    }
}

fn deployment(
    run_id: &str,
    release: &str,
    env: &str,
    version: &str,
    live: Option<&str>,
) -> Deployment {
    Deployment {
        release: release.into(),
        env: env.into(),
        env_index: if env == "prod" { 1 } else { 0 },
        version: version.into(),
        run_id: run_id.into(),
        reach: if live.is_some() {
            Reach::Deployed
        } else {
            Reach::InProgress
        },
        started: live.map(|l| ts(l) - jiff::SignedDuration::from_secs(60)),
        live_at: live.map(ts),
        ended: None,
        artifacts: vec![ArtifactDigest {
            name: "image".into(),
            digest: Some("sha256:abc".into()),
        }],
        config_digest: Some("cfg".into()),
        approvals: vec![LedgerApproval {
            gate: "go".into(),
            user: "bob".into(),
            how: "comment".into(),
            comment: "ok".into(),
            at: ts("2026-01-01T10:01:00Z"),
        }],
        verdicts: vec![LedgerVerdict {
            kind: "analysis".into(),
            name: "canary".into(),
            verdict: "passed".into(),
        }],
        message: "deployed".into(),
    }
}

fn record(summary: RunSummary, last_seq: u64, deployments: Vec<Deployment>) -> RunRecord {
    RunRecord {
        engine_alive: matches!(summary.outcome, Outcome::Running),
        summary,
        last_seq,
        deployments,
        pins: Vec::new(),
    }
}

fn ids(runs: &[RunSummary]) -> Vec<&str> {
    runs.iter().map(|r| r.run_id.as_str()).collect()
}

/// What every store promises, whatever it is built on. `other` is the same
/// store as another machine (another state directory) sees it.
fn contract(store: &dyn Store, other: &dyn Store, nul_kept: bool) {
    // A new run is written; a derivation from an older record never replaces it.
    let r1 = record(
        summary("20260101-100000.000-aaaa", "svc", Outcome::Running),
        5,
        vec![],
    );
    assert!(store.put_run(&r1).unwrap());
    let mut older = r1.clone();
    older.last_seq = 4;
    older.summary.message = "stale".into();
    assert!(
        !store.put_run(&older).unwrap(),
        "an older derivation replaced a newer one"
    );
    assert_eq!(
        store.runs(&RunQuery::default()).unwrap(),
        vec![r1.summary.clone()]
    );
    // The same record again (a rebuild racing the recorder) is written.
    assert!(store.put_run(&r1).unwrap());

    // Newest first, by release, bounded.
    let r2 = record(
        summary("20260102-100000.000-bbbb", "other", Outcome::Released),
        9,
        vec![],
    );
    let r3 = record(
        summary("20260103-100000.000-cccc", "svc", Outcome::Failed),
        9,
        vec![],
    );
    store.put_run(&r2).unwrap();
    store.put_run(&r3).unwrap();
    let all = store.runs(&RunQuery::default()).unwrap();
    assert_eq!(
        ids(&all),
        [
            "20260103-100000.000-cccc",
            "20260102-100000.000-bbbb",
            "20260101-100000.000-aaaa"
        ]
    );
    let svc = store
        .runs(&RunQuery {
            release: Some("svc".into()),
            limit: Some(1),
            ..RunQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&svc), ["20260103-100000.000-cccc"]);

    // Unsettled: running runs, and finished ones whose engine may linger
    // (a run first written finished has no engine to linger).
    assert_eq!(
        ids(&store.unsettled().unwrap()),
        ["20260101-100000.000-aaaa"]
    );
    store.engine_gone("20260102-100000.000-bbbb").unwrap();
    // A later record that finishes the run keeps it unsettled until its
    // engine is seen gone.
    let mut done = r1.clone();
    done.last_seq = 8;
    done.summary.outcome = Outcome::Released;
    assert!(store.put_run(&done).unwrap());
    assert_eq!(
        ids(&store.unsettled().unwrap()),
        ["20260101-100000.000-aaaa"]
    );
    store.engine_gone("20260101-100000.000-aaaa").unwrap();
    assert!(store.unsettled().unwrap().is_empty());
    // A running run stays unsettled whatever is said of its engine.
    let running = record(
        summary("20260101-090000.000-zzzz", "svc", Outcome::Running),
        1,
        vec![],
    );
    store.put_run(&running).unwrap();
    store.engine_gone("20260101-090000.000-zzzz").unwrap();
    assert_eq!(
        ids(&store.unsettled().unwrap()),
        ["20260101-090000.000-zzzz"]
    );
    store
        .forget_runs(&["20260101-090000.000-zzzz".to_string()])
        .unwrap();
    assert!(store.unsettled().unwrap().is_empty());

    // The ledger: places in plan order, what is live, the history newest first.
    let d_old = deployment(
        "20260101-100000.000-aaaa",
        "svc",
        "prod",
        "2.0",
        Some("2026-01-01T10:05:00Z"),
    );
    let d_new = deployment(
        "20260103-100000.000-cccc",
        "svc",
        "prod",
        "3.0",
        Some("2026-01-03T10:05:00Z"),
    );
    let d_dev = deployment(
        "20260103-100000.000-cccc",
        "svc",
        "dev",
        "3.0",
        Some("2026-01-03T10:00:00Z"),
    );
    let d_wip = deployment("20260104-100000.000-dddd", "svc", "prod", "4.0", None);
    store
        .put_run(&record(done.summary.clone(), 9, vec![d_old.clone()]))
        .unwrap();
    store
        .put_run(&record(
            r3.summary.clone(),
            10,
            vec![d_dev.clone(), d_new.clone()],
        ))
        .unwrap();
    store
        .put_run(&record(
            summary("20260104-100000.000-dddd", "svc", Outcome::Running),
            3,
            vec![d_wip.clone()],
        ))
        .unwrap();
    let places = store.places(Some("svc")).unwrap();
    assert_eq!(
        places,
        vec![
            Place {
                release: "svc".into(),
                env: "dev".into(),
                env_index: 0
            },
            Place {
                release: "svc".into(),
                env: "prod".into(),
                env_index: 1
            }
        ]
    );
    assert!(store.places(Some("nothing")).unwrap().is_empty());
    let prod = places[1].clone();
    assert_eq!(store.live(&prod).unwrap(), Some(d_new.clone()));
    let history = store.history(&prod, None).unwrap();
    // Not started yet (no time) sorts last, as in SQLite.
    assert_eq!(history, vec![d_new.clone(), d_old.clone(), d_wip.clone()]);
    assert_eq!(store.history(&prod, Some(1)).unwrap(), vec![d_new.clone()]);

    // Another machine sees the team's runs and ledger (the SQLite store is
    // one file: the same store, opened again).
    assert_eq!(other.runs(&RunQuery::default()).unwrap().len(), 4);
    assert_eq!(other.live(&prod).unwrap(), Some(d_new.clone()));

    // Notes.
    assert_eq!(store.note("k").unwrap(), None);
    store.set_note("k", "v1").unwrap();
    store.set_note("k", "v2").unwrap();
    assert_eq!(store.note("k").unwrap().as_deref(), Some("v2"));

    // Forgetting a run takes its ledger rows, and a place left empty.
    store
        .forget_runs(&["20260103-100000.000-cccc".to_string()])
        .unwrap();
    assert_eq!(store.live(&prod).unwrap(), Some(d_old.clone()));
    assert_eq!(
        store
            .places(Some("svc"))
            .unwrap()
            .iter()
            .map(|p| p.env.as_str())
            .collect::<Vec<_>>(),
        ["prod"]
    );

    // A rebuild replaces what it read, but keeps what a live run wrote since it began.
    let since = Timestamp::now();
    let late = record(
        summary("20260105-100000.000-eeee", "svc", Outcome::Running),
        1,
        vec![],
    );
    store.put_run(&late).unwrap();
    store
        .replace_all(
            &[record(done.summary.clone(), 9, vec![d_old.clone()])],
            since,
        )
        .unwrap();
    let left = store.runs(&RunQuery::default()).unwrap();
    assert_eq!(
        ids(&left),
        ["20260105-100000.000-eeee", "20260101-100000.000-aaaa"]
    );

    // Hostile text in every field goes in and comes out as it was (PostgreSQL
    // text cannot hold NUL: it comes back as U+FFFD).
    let mut h = summary("20260106-100000.000-ffff", HOSTILE, Outcome::Held);
    h.version = HOSTILE.into();
    h.previous_version = HOSTILE.into();
    h.owner = HOSTILE.into();
    h.started_by = HOSTILE.into();
    h.reached = Some(HOSTILE.into());
    h.approvers = vec![HOSTILE.into()];
    h.message = HOSTILE.into();
    h.memory = HOSTILE.into();
    let mut hd = deployment(
        "20260106-100000.000-ffff",
        HOSTILE,
        HOSTILE,
        HOSTILE,
        Some("2026-01-06T10:00:00Z"),
    );
    hd.message = HOSTILE.into();
    hd.config_digest = Some(HOSTILE.into());
    hd.artifacts[0].name = HOSTILE.into();
    hd.approvals[0].comment = HOSTILE.into();
    hd.verdicts[0].name = HOSTILE.into();
    assert!(
        store
            .put_run(&record(h.clone(), 1, vec![hd.clone()]))
            .unwrap()
    );
    let stored = |s: &str| {
        if nul_kept {
            s.to_string()
        } else {
            s.replace('\0', "\u{FFFD}")
        }
    };
    let got = store
        .runs(&RunQuery {
            release: Some(stored(HOSTILE)),
            limit: None,
            ..RunQuery::default()
        })
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, stored(HOSTILE));
    assert_eq!(got[0].version, stored(HOSTILE));
    assert_eq!(got[0].reached.as_deref(), Some(stored(HOSTILE).as_str()));
    assert_eq!(
        got[0].approvers,
        vec![HOSTILE.to_string()],
        "JSON keeps NUL escaped"
    );
    let place = store.places(Some(&stored(HOSTILE))).unwrap();
    assert_eq!(place.len(), 1);
    let live = store.live(&place[0]).unwrap().unwrap();
    assert_eq!(live.message, stored(HOSTILE));
    assert_eq!(live.artifacts, hd.artifacts);
    assert_eq!(live.approvals, hd.approvals);
    assert_eq!(live.verdicts, hd.verdicts);
}

fn team(db: &TestDb) -> TeamConfig {
    TeamConfig::new(&db.url, None, "the test".into())
}

#[test]
fn the_store_contract_holds_on_sqlite() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let (a, _) = slate::store::sqlite::SqliteStore::open(&path).unwrap();
    let (b, _) = slate::store::sqlite::SqliteStore::open(&path).unwrap();
    contract(&a, &b, true);
}

#[test]
fn the_store_contract_holds_on_postgresql() {
    let db = db_or_skip!("the_store_contract_holds_on_postgresql");
    slate::store::postgres::init(&team(&db)).unwrap();
    let (m1, m2) = (
        tempfile::TempDir::new().unwrap(),
        tempfile::TempDir::new().unwrap(),
    );
    let a = PgStore::open(&team(&db), m1.path()).unwrap();
    let b = PgStore::open(&team(&db), m2.path()).unwrap();
    contract(&a, &b, false);
}

#[test]
fn liveness_questions_are_asked_per_machine() {
    let db = db_or_skip!("liveness_questions_are_asked_per_machine");
    slate::store::postgres::init(&team(&db)).unwrap();
    let (m1, m2) = (
        tempfile::TempDir::new().unwrap(),
        tempfile::TempDir::new().unwrap(),
    );
    let a = PgStore::open(&team(&db), m1.path()).unwrap();
    let b = PgStore::open(&team(&db), m2.path()).unwrap();
    let run = record(
        summary("20260101-100000.000-aaaa", "svc", Outcome::Running),
        1,
        vec![],
    );
    a.put_run(&run).unwrap();
    // Machine b has no journal or engine of this run: it neither forgets it
    // nor marks its engine gone, and does not list it among its own.
    assert!(b.run_ids().unwrap().is_empty());
    assert!(b.unsettled().unwrap().is_empty());
    b.forget_runs(std::slice::from_ref(&run.summary.run_id))
        .unwrap();
    b.engine_gone(&run.summary.run_id).unwrap();
    b.set_note("runs_dir_mtime", "b's").unwrap();
    assert_eq!(
        a.run_ids().unwrap(),
        std::slice::from_ref(&run.summary.run_id)
    );
    assert_eq!(ids(&a.unsettled().unwrap()), [run.summary.run_id.as_str()]);
    assert_eq!(a.note("runs_dir_mtime").unwrap(), None);
    // …while the history is the team's.
    assert_eq!(
        b.runs(&RunQuery::default()).unwrap(),
        vec![run.summary.clone()]
    );
}

#[test]
fn concurrent_writers_of_one_run_keep_the_newest_derivation() {
    let db = db_or_skip!("concurrent_writers_of_one_run_keep_the_newest_derivation");
    slate::store::postgres::init(&team(&db)).unwrap();
    let m = tempfile::TempDir::new().unwrap();
    // Each thread its own process-like writer: a separate connection per
    // store is not guaranteed in one process, so the processes test below
    // covers that; here the order of commits is what varies.
    std::thread::scope(|s| {
        for seq in 1..=40u64 {
            let (db, m) = (&db, m.path());
            s.spawn(move || {
                let store = PgStore::open(&team(db), m).unwrap();
                let mut s = summary("20260101-100000.000-aaaa", "svc", Outcome::Running);
                s.message = format!("seq {seq}");
                let d = deployment(
                    "20260101-100000.000-aaaa",
                    "svc",
                    "prod",
                    &seq.to_string(),
                    None,
                );
                store.put_run(&record(s, seq, vec![d])).unwrap();
            });
        }
    });
    let store = PgStore::open(&team(&db), m.path()).unwrap();
    let runs = store.runs(&RunQuery::default()).unwrap();
    assert_eq!(runs[0].message, "seq 40");
    let place = &store.places(None).unwrap()[0];
    assert_eq!(store.history(place, None).unwrap()[0].version, "40");
}

fn plan(sb: &Sandbox, name: &str, release: &str) -> std::path::PathBuf {
    sb.plan(
        name,
        &format!(
            r#"
[release]
name = "{release}"
version = "2.0"
previous_version = "1.0"
owner = "owner"

[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = "true"
"#
        ),
    )
}

fn slate(sb: &Sandbox, url: &str, args: &[&str]) -> std::process::Output {
    let child = sb
        .slate()
        .env("SLATE_STORE", url)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::sandbox::wait_output(child, LIMIT, args)
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn history(sb: &Sandbox, url: &str) -> Vec<serde_json::Value> {
    let o = slate(sb, url, &["history", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

#[test]
fn two_machines_share_history_memory_and_status_through_the_binary() {
    let db = db_or_skip!("two_machines_share_history_memory_and_status_through_the_binary");
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    // Before init: refused with what to do.
    let o = slate(&alice, &db.url, &["status"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("`slate store init` creates it"),
        "{}",
        text(&o)
    );

    let o = slate(&alice, &db.url, &["store", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("schema 0 → 4"), "{}", text(&o));
    let o = slate(&bob, &db.url, &["store", "init"]);
    assert!(
        o.status.success() && text(&o).contains("nothing to migrate"),
        "{}",
        text(&o)
    );

    // A run on alice's machine is recorded by its recorder in the team store.
    let p = plan(&alice, "plan.toml", "svc");
    let o = slate(&alice, &db.url, &["run", p.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o));
    let runs = history(&bob, &db.url);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["release"], "svc");
    assert_eq!(runs[0]["outcome"], "released");
    let o = slate(&bob, &db.url, &["memory", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("replaced 1.0"),
        "{}",
        text(&o)
    );
    // Bob's status looks at his own machine's engines; alice's run is over.
    for sb in [&alice, &bob] {
        let o = slate(sb, &db.url, &["status", "--json"]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "[]",
            "{}",
            text(&o)
        );
    }
    // The ledger rows are there, derived by the recorder.
    assert_eq!(
        db.value(
            "SELECT string_agg(env || '=' || reach, ',' ORDER BY env_index) FROM slate.deployments"
        )
        .as_deref(),
        Some("dev=deployed,prod=deployed")
    );
    // Bob's history listing (which syncs his empty machine) did not forget alice's run.
    assert_eq!(history(&alice, &db.url).len(), 1);
}

#[test]
fn import_copies_local_runs_and_concurrent_runs_all_land() {
    let db = db_or_skip!("import_copies_local_runs_and_concurrent_runs_all_land");
    let sb = Sandbox::new();
    // Two runs made with the local store only.
    let p = plan(&sb, "plan.toml", "local-svc");
    for _ in 0..2 {
        let o = sb.run(&["run", p.to_str().unwrap(), "--headless"], LIMIT);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert!(sb.home().join("store.db").exists());
    let o = slate(&sb, &db.url, &["store", "import"]);
    assert!(
        !o.status.success(),
        "import into an uninitialised store: {}",
        text(&o)
    );
    assert!(slate(&sb, &db.url, &["store", "init"]).status.success());
    let o = slate(&sb, &db.url, &["store", "import"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Imported 2 runs"), "{}", text(&o));
    // Again: nothing newer to copy, nothing doubled.
    let o = slate(&sb, &db.url, &["store", "import"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(history(&sb, &db.url).len(), 2);

    // Six engines at once from another machine, each its own process writing
    // the same release's places: every run lands, once. (Deploy locks let
    // one at a time into an environment; the others queue.)
    let other = Sandbox::new();
    let p = plan(&other, "plan.toml", "local-svc");
    let children: Vec<_> = (0..6)
        .map(|_| {
            other
                .slate()
                .env("SLATE_STORE", &db.url)
                .args([
                    "run",
                    p.to_str().unwrap(),
                    "--headless",
                    "--lock-wait",
                    "2m",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = common::sandbox::wait_output(c, LIMIT, &["run"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let runs = history(&sb, &db.url);
    assert_eq!(runs.len(), 8, "{runs:?}");
    assert!(runs.iter().all(|r| r["outcome"] == "released"), "{runs:?}");
    assert_eq!(
        db.value("SELECT count(*) FROM slate.deployments WHERE reach = 'deployed'")
            .as_deref(),
        Some("16")
    );
    assert_eq!(
        db.value("SELECT count(*) FROM slate.places").as_deref(),
        Some("2")
    );
}

#[test]
fn a_newer_schema_is_refused_and_left_as_it_is() {
    let db = db_or_skip!("a_newer_schema_is_refused_and_left_as_it_is");
    let sb = Sandbox::new();
    assert!(slate(&sb, &db.url, &["store", "init"]).status.success());
    db.sql("INSERT INTO slate.migrations (version) VALUES (999)");
    for args in [&["status"][..], &["store", "init"], &["store", "import"]] {
        let o = slate(&sb, &db.url, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("written by a newer Slate (schema 999"),
            "{}",
            text(&o)
        );
    }
    assert_eq!(
        db.value("SELECT max(version) FROM slate.migrations")
            .as_deref(),
        Some("999")
    );
    // An older one is not migrated behind everyone's back either.
    db.sql("DELETE FROM slate.migrations");
    let o = slate(&sb, &db.url, &["status"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no Slate schema yet"), "{}", text(&o));
}

/// Checks an unreachable store's failure: quick, clear, no password shown.
fn fails_fast(sb: &Sandbox, url: &str, expect: &str) {
    for args in [&["status"][..], &["store", "init"]] {
        let started = Instant::now();
        let o = slate(sb, url, args);
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let said = text(&o);
        assert!(said.contains("cannot reach the team store"), "{said}");
        assert!(said.contains(expect), "{said}");
        assert!(
            !said.contains("hunter2-secret"),
            "the password was shown: {said}"
        );
        assert!(took < Duration::from_secs(30), "took {took:?}");
    }
}

#[test]
fn an_unreachable_server_fails_fast_with_a_clear_message() {
    let sb = Sandbox::new();
    // A closed port: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fails_fast(
        &sb,
        &format!("postgres://slate:hunter2-secret@127.0.0.1:{port}/team"),
        "refused",
    );
    // A server that accepts and never answers: bounded by the connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let _held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for c in silent.incoming().flatten() {
            kept.push(c);
        }
    });
    fails_fast(
        &sb,
        &format!("postgres://slate:hunter2-secret@127.0.0.1:{port}/team?connect_timeout=1"),
        "no answer within 2s",
    );
}

#[test]
fn configuration_problems_are_named() {
    let sb = Sandbox::new();
    let config = sb.home().join("config");
    std::fs::create_dir_all(&config).unwrap();
    // No team store: init says how to configure one.
    let o = sb.run(&["store", "init"], LIMIT);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no team store is configured"),
        "{}",
        text(&o)
    );
    // A bad [store] table: FILE:LINE:COL.
    std::fs::write(
        config.join("config.toml"),
        "[store]\nurl = \"postgres://h/db\"\nuser = 3\n",
    )
    .unwrap();
    let o = sb.run(&["store", "init"], LIMIT);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("config.toml:3:1:"), "{}", text(&o));
    // A password written as a value rather than a reference is refused, unshown.
    std::fs::write(
        config.join("config.toml"),
        "[store]\nurl = \"postgres://alice@127.0.0.1:1/db\"\npassword = \"hunter2-secret\"\n",
    )
    .unwrap();
    let o = sb.run(&["store", "init"], LIMIT);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not a reference"), "{}", text(&o));
    assert!(!text(&o).contains("hunter2-secret"), "{}", text(&o));
    // Not a postgres:// URL.
    let o = slate(&sb, "mysql://u:hunter2-secret@h/db", &["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not a postgres:// URL"), "{}", text(&o));
    assert!(!text(&o).contains("hunter2-secret"), "{}", text(&o));
}

#[test]
fn the_password_comes_from_a_reference() {
    let db = db_or_skip!("the_password_comes_from_a_reference");
    let sb = Sandbox::new();
    let config = sb.home().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let write = |password_ref: &str| {
        std::fs::write(
            config.join("config.toml"),
            format!(
                "[store]\nurl = \"{}\"\npassword = \"{password_ref}\"\n",
                db.url
            ),
        )
        .unwrap()
    };
    // A reference to nothing: named, and nothing is tried.
    let missing = config.join("missing-pw");
    write(&format!("file:{}", missing.display()));
    let o = sb.run(&["store", "init"], LIMIT);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("cannot read {}", missing.display())),
        "{}",
        text(&o)
    );
    // A reference to a file: read (the loopback server trusts any password;
    // what is tested is that the value is used and never shown).
    std::fs::write(config.join("pw"), "hunter2-secret\n").unwrap();
    write(&format!("file:{}", config.join("pw").display()));
    let o = sb.run(&["store", "init"], LIMIT);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("hunter2-secret"), "{}", text(&o));
    let o = sb.run(&["status"], LIMIT);
    assert!(o.status.success(), "{}", text(&o));
}

/// A TLS front for the test server, as a team's PostgreSQL behind TLS
/// would be: it answers PostgreSQL's SSLRequest with `S`, terminates TLS
/// with a new certificate for `localhost` (returned as PEM), and passes
/// the bytes on to the real server. Says how each handshake went.
fn tls_front(backend: String) -> (u16, String, std::sync::mpsc::Receiver<Result<(), String>>) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::io::{ErrorKind, Read, Write};
    use std::sync::Arc;

    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { break };
            let (config, backend, tx) = (config.clone(), backend.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut request = [0u8; 8];
                if tcp.read_exact(&mut request).is_err()
                    || request != [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
                {
                    let _ = tx.send(Err("no SSLRequest: the client spoke plain text".into()));
                    return;
                }
                tcp.write_all(b"S").unwrap();
                let mut tls =
                    rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), tcp);
                if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
                let _ = tx.send(Ok(()));
                let mut back = std::net::TcpStream::connect(&backend).unwrap();
                // One thread pumps both ways; short read timeouts let it turn.
                let tick = Some(Duration::from_millis(5));
                tls.sock.set_read_timeout(tick).unwrap();
                back.set_read_timeout(tick).unwrap();
                let mut buf = [0u8; 16 * 1024];
                let idle = |e: &std::io::Error| {
                    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                };
                loop {
                    match tls.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if back.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        Err(e) if idle(&e) => {}
                        Err(_) => return,
                    }
                    match back.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if tls.write_all(&buf[..n]).and_then(|_| tls.flush()).is_err() {
                                return;
                            }
                        }
                        Err(e) if idle(&e) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    (port, cert.pem(), rx)
}

#[test]
fn verify_full_talks_tls_to_a_server_it_can_verify_and_to_no_other() {
    let db = db_or_skip!("verify_full_talks_tls_to_a_server_it_can_verify_and_to_no_other");
    let backend = db
        .url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(hostport, _)| hostport.to_string())
        .unwrap();
    let (port, pem, handshakes) = tls_front(backend);
    let sb = Sandbox::new();
    let ca = sb.path("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let url = |host: &str, extra: &str| {
        format!(
            "postgres://postgres:hunter2-secret@{host}:{port}/{}?sslmode=verify-full{extra}",
            db.name
        )
    };
    // Its certificate, for its name: TLS, and the store works through it.
    let good = url("localhost", &format!("&sslrootcert={}", ca.display()));
    let o = slate(&sb, &good, &["store", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(handshakes.recv_timeout(LIMIT).unwrap(), Ok(()));
    let o = slate(&sb, &good, &["status"]);
    assert!(o.status.success(), "{}", text(&o));
    // A certificate the system does not trust: refused, never plain text.
    let o = slate(&sb, &url("localhost", ""), &["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot reach the team store"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).to_lowercase().contains("certificate"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("hunter2-secret"), "{}", text(&o));
    // The right certificate for another name: refused.
    let o = slate(
        &sb,
        &url("127.0.0.1", &format!("&sslrootcert={}", ca.display())),
        &["status"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).to_lowercase().contains("certificate"),
        "{}",
        text(&o)
    );
}

/// A run needs its team store before it starts: without it nobody can tell
/// whether another machine holds prod, so it is refused (and leaves no run
/// behind) rather than deploying past the team's locks. A run made without
/// a team store (this machine alone) is copied in by `slate store import`.
#[test]
fn a_run_without_its_team_store_is_refused_and_import_catches_up() {
    let db = db_or_skip!("a_run_without_its_team_store_is_refused_and_import_catches_up");
    let sb = Sandbox::new();
    assert!(slate(&sb, &db.url, &["store", "init"]).status.success());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let away = format!("postgres://postgres@127.0.0.1:{closed}/{}", db.name);
    let p = plan(&sb, "plan.toml", "svc");
    let o = slate(&sb, &away, &["run", p.to_str().unwrap(), "--headless"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot reach the team store")
            && text(&o).contains("so the run was not started"),
        "{}",
        text(&o)
    );
    assert!(
        common::run_dirs(sb.home()).is_empty(),
        "a refused run leaves nothing"
    );
    // Unreachable: status, history and memory fail, saying so — this
    // machine's journals are not the team's history.
    for args in [&["status"][..], &["history", "--json"], &["memory"]] {
        let o = slate(&sb, &away, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("cannot reach the team store"),
            "{}",
            text(&o)
        );
        assert!(
            o.stdout.is_empty(),
            "{args:?} listed something: {}",
            text(&o)
        );
    }
    // This machine alone (no team store configured): released, and then
    // copied from its journal.
    let o = sb.run(&["run", p.to_str().unwrap(), "--headless"], LIMIT);
    assert!(o.status.success(), "{}", text(&o));
    let run = common::newest_run(sb.home()).expect("a run directory");
    assert!(run.join("journal.ndjson").exists() && run.join("dossier.md").exists());
    let o = slate(&sb, &db.url, &["store", "import"]);
    assert!(
        o.status.success() && text(&o).contains("Imported 1 run "),
        "{}",
        text(&o)
    );
    let runs = history(&sb, &db.url);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "released");
}

/// A team store at schema 1 (before locks and the journal moved in) is
/// refused with what to do; `slate store init` migrates it to the latest
/// keeping its runs, and then it holds locks.
#[test]
fn a_schema_1_store_is_migrated_keeping_its_runs() {
    let db = db_or_skip!("a_schema_1_store_is_migrated_keeping_its_runs");
    let sb = Sandbox::new();
    assert!(slate(&sb, &db.url, &["store", "init"]).status.success());
    let p = plan(&sb, "plan.toml", "svc");
    assert!(
        slate(&sb, &db.url, &["run", p.to_str().unwrap(), "--headless"])
            .status
            .success()
    );
    // Back to schema 1, as a store made by the Slate before this one.
    pg::sql_on(
        &db.url,
        "DROP TABLE slate.locks, slate.lock_queue, slate.freezes, slate.pins, slate.events, slate.leases,
             slate.members, slate.commands;
         DROP FUNCTION slate.command_asked, slate.command_kept, slate.command_wake,
             slate.stamp_holder, slate.stamp_freeze, slate.person;
         DELETE FROM slate.migrations WHERE version >= 2;",
    )
    .unwrap();
    let o = slate(&sb, &db.url, &["locks"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("is at schema 1 and this Slate needs 4: `slate store init` migrates it"),
        "{}",
        text(&o)
    );
    let o = slate(&sb, &db.url, &["store", "init"]);
    assert!(text(&o).contains("schema 1 → 4"), "{}", text(&o));
    assert_eq!(history(&sb, &db.url).len(), 1);
    let o = slate(
        &sb,
        &db.url,
        &["lock", "prod", "--reason", "after the migration"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = slate(&sb, &db.url, &["run", p.to_str().unwrap(), "--headless"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("after the migration"), "{}", text(&o));
}

#[test]
fn a_connection_the_server_closed_is_made_again() {
    let db = db_or_skip!("a_connection_the_server_closed_is_made_again");
    slate::store::postgres::init(&team(&db)).unwrap();
    let m = tempfile::TempDir::new().unwrap();
    let store = PgStore::open(&team(&db), m.path()).unwrap();
    let first = record(
        summary("20260101-100000.000-aaaa", "svc", Outcome::Running),
        1,
        vec![],
    );
    store.put_run(&first).unwrap();
    // The server ends the session (a restart, an idle timeout, an admin).
    let ended = db
        .value(&format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = '{}' AND application_name = 'slate'",
            db.name
        ))
        .unwrap();
    assert_eq!(ended, "1");
    let second = record(
        summary("20260102-100000.000-bbbb", "svc", Outcome::Released),
        3,
        vec![],
    );
    assert!(store.put_run(&second).unwrap());
    assert_eq!(store.runs(&RunQuery::default()).unwrap().len(), 2);
}

/// Keyset paging, counts and the text filter mean on every store what
/// `RunQuery::select` means over the same runs in memory.
fn paging_contract(store: &dyn Store) {
    let outcomes = [Outcome::Released, Outcome::RolledBack, Outcome::Failed];
    let mut all: Vec<RunSummary> = (0..240)
        .map(|i| {
            let mut s = summary(
                &format!("20260201-{:06}.000-{i:04x}", i * 7),
                &format!("svc-{}", i % 4),
                outcomes[i % 3],
            );
            s.version = format!("1.{i}.0");
            // Wildcards and case, to be found as they are.
            s.message = match i % 10 {
                0 => "50% off_sale".into(),
                1 => "50x offXsale".into(),
                2 => "a back\\slash".into(),
                3 => "MiXeD Case".into(),
                _ => "plain".into(),
            };
            s
        })
        .collect();
    for s in &all {
        store.put_run(&record(s.clone(), 1, vec![])).unwrap();
    }
    all.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    let mid = all[97].run_id.clone();
    let pages = [
        Page::Newest,
        Page::Oldest,
        Page::OlderThan(mid.clone()),
        Page::From(mid.clone()),
        Page::NewerThan(mid.clone()),
    ];
    let filters: [(Option<Outcome>, &str); 8] = [
        (None, ""),
        (Some(Outcome::RolledBack), ""),
        (None, "50%"),
        (None, "_"),
        (None, "\\"),
        (None, "mixed case"),
        (None, "rolled back"),
        (Some(Outcome::Failed), "SVC-1"),
    ];
    for page in &pages {
        for (outcome, text) in &filters {
            for limit in [None, Some(1), Some(25)] {
                let q = RunQuery {
                    release: None,
                    outcome: *outcome,
                    text: text.to_string(),
                    page: page.clone(),
                    limit,
                };
                let want = q.select(&all);
                assert_eq!(ids(&store.runs(&q).unwrap()), ids(&want), "{q:?}");
                let counted = RunQuery {
                    limit: None,
                    ..q.clone()
                }
                .select(&all)
                .len();
                assert_eq!(store.count_runs(&q).unwrap(), counted, "{q:?}");
            }
        }
    }
    // `%` and `_` are not wildcards: "50%" is only the runs that say it.
    let pct = RunQuery {
        text: "50%".into(),
        ..RunQuery::default()
    };
    assert_eq!(store.count_runs(&pct).unwrap(), 24);
    // Walking the whole list a page at a time gives every run once, in order.
    let mut walked = Vec::new();
    let mut q = RunQuery {
        limit: Some(50),
        ..RunQuery::default()
    };
    loop {
        let page = store.runs(&q).unwrap();
        let Some(last) = page.last() else { break };
        q.page = Page::OlderThan(last.run_id.clone());
        walked.extend(page);
    }
    assert_eq!(ids(&walked), ids(&all));
    // The generation moves when a run is written, and only then.
    let g = store.generation().unwrap();
    assert_eq!(
        store.generation().unwrap(),
        g,
        "reading moved the generation"
    );
    let mut changed = all[0].clone();
    changed.message = "again".into();
    store.put_run(&record(changed, 2, vec![])).unwrap();
    assert_ne!(store.generation().unwrap(), g, "a write did not move it");
}

#[test]
fn paging_holds_on_sqlite() {
    let dir = tempfile::TempDir::new().unwrap();
    let (a, _) = slate::store::sqlite::SqliteStore::open(&dir.path().join("store.db")).unwrap();
    paging_contract(&a);
}

#[test]
fn paging_holds_on_postgresql() {
    let db = db_or_skip!("paging_holds_on_postgresql");
    slate::store::postgres::init(&team(&db)).unwrap();
    let m = tempfile::TempDir::new().unwrap();
    let a = PgStore::open(&team(&db), m.path()).unwrap();
    paging_contract(&a);
}

/// The team store of `db` opened for the machine `state`, holding three
/// released runs: svc-one, svc-two and other.
fn three_runs(db: &TestDb, state: &std::path::Path) -> PgStore {
    let a = PgStore::open(&team(db), state).unwrap();
    for (i, release) in ["svc-one", "svc-two", "other"].iter().enumerate() {
        let id = format!("20260201-00000{i}.000-000{i}");
        a.put_run(&record(summary(&id, release, Outcome::Released), 1, vec![]))
            .unwrap();
    }
    a
}

/// `slate store init` makes the text filter's trigram index, and the
/// filter's own query can read it (the planner matches an expression index
/// only to the same expression, so a filter written apart from its index
/// would read every run). A filter of two characters, which trigrams
/// cannot serve, does not ask for it.
#[test]
fn store_init_makes_the_index_the_text_filter_reads() {
    let db = db_or_skip!("store_init_makes_the_index_the_text_filter_reads");
    let done = slate::store::postgres::init(&team(&db)).unwrap();
    assert_eq!(
        done.text_index,
        Ok(true),
        "PostgreSQL's pg_trgm is in its contrib, which Debian installs with it"
    );
    let m = tempfile::TempDir::new().unwrap();
    let a = three_runs(&db, m.path());
    let count = |text: &str| {
        a.count_runs(&RunQuery {
            text: text.into(),
            ..RunQuery::default()
        })
        .unwrap()
    };
    assert_eq!(count("svc-"), 2);
    let plan = db.plan_without_seq_scan(&format!(
        "SELECT count(*) FROM slate.runs{}",
        slate::store::postgres::text_filter_where("svc-")
    ));
    assert!(plan.contains("runs_text"), "{plan}");
    let short = slate::store::postgres::text_filter_where("sv");
    assert!(!short.contains("x1f"), "{short}");
    // Text that could be SQL or a pattern is still only text.
    assert_eq!(count("'; DROP TABLE slate.runs; --"), 0);
    assert_eq!(count("svc-%"), 0);
    // Init again: nothing to do, the index stays.
    let again = slate::store::postgres::init(&team(&db)).unwrap();
    assert_eq!(again.text_index, Ok(true));
}

/// A server where `pg_trgm` cannot be made (here: a function of its name
/// is already in the schema it would go to, so `CREATE EXTENSION` fails as
/// it does where contrib is missing or the role may not create it): `slate
/// store init` still makes the store, says plainly what the text filter
/// will cost, and exits 0; the filter still answers, by reading every run.
#[test]
fn without_pg_trgm_the_store_is_made_and_the_text_filter_still_answers() {
    let db = db_or_skip!("without_pg_trgm_the_store_is_made_and_the_text_filter_still_answers");
    db.sql(
        "CREATE FUNCTION public.show_trgm(text) RETURNS text[] LANGUAGE sql AS 'SELECT ARRAY[$1]'",
    );
    let sb = Sandbox::new();
    let o = slate(&sb, &db.url, &["store", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("pg_trgm is not installed on the server"),
        "{}",
        text(&o)
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"),
        Some("0".into())
    );
    let done = slate::store::postgres::init(&team(&db)).unwrap();
    assert_eq!(done.text_index, Ok(false));
    assert_eq!(
        done.from, done.to,
        "the schema was made by the binary's init"
    );

    let m = tempfile::TempDir::new().unwrap();
    let a = three_runs(&db, m.path());
    let query = |text: &str| RunQuery {
        text: text.into(),
        ..RunQuery::default()
    };
    assert_eq!(a.count_runs(&query("svc-")).unwrap(), 2);
    // Two characters, and in another case: what trigrams could not serve anyway.
    assert_eq!(a.count_runs(&query("-T")).unwrap(), 1);
    assert_eq!(a.count_runs(&query("svc-%")).unwrap(), 0);
    let names: Vec<String> = a
        .runs(&query("two"))
        .unwrap()
        .into_iter()
        .map(|r| r.release)
        .collect();
    assert_eq!(names, ["svc-two"]);
    // What every member runs still works against it.
    let o = slate(&sb, &db.url, &["status"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(history(&sb, &db.url).len(), 3);
}

/// Ledger rows for `deliveries`: two releases (one named with hostile
/// text), reaches of every kind, a row with no start (NULL sorts first in
/// both stores), and rows before the window.
fn delivery_history() -> Vec<RunRecord> {
    let mut out = Vec::new();
    /// run id, release, environment, reach, start, end (live or otherwise).
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Reach,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: [Case; 7] = [
        (
            "20260101-100000.000-d001",
            "svc",
            "prod",
            Reach::Deployed,
            Some("2026-01-01T10:00:00Z"),
            Some("2026-01-01T10:05:00Z"),
        ),
        (
            "20260102-100000.000-d002",
            "svc",
            "prod",
            Reach::RolledBack,
            Some("2026-01-02T10:00:00Z"),
            Some("2026-01-02T10:02:00Z"),
        ),
        (
            "20260103-100000.000-d003",
            "svc",
            "prod",
            Reach::Deployed,
            Some("2026-01-03T10:00:00Z"),
            Some("2026-01-03T11:00:00Z"),
        ),
        (
            "20260104-100000.000-d004",
            HOSTILE,
            "prod",
            Reach::Failed,
            Some("2026-01-04T10:00:00Z"),
            Some("2026-01-04T10:01:00Z"),
        ),
        (
            "20260105-100000.000-d005",
            "svc",
            "dev",
            Reach::InProgress,
            Some("2026-01-05T10:00:00Z"),
            None,
        ),
        (
            "20251201-100000.000-d000",
            "svc",
            "prod",
            Reach::Deployed,
            Some("2025-12-01T10:00:00Z"),
            Some("2025-12-01T10:05:00Z"),
        ),
        (
            "20260106-100000.000-d006",
            "svc",
            "prod",
            Reach::Held,
            None,
            Some("2026-01-06T10:00:30Z"),
        ),
    ];
    for (run_id, release, env, reach, started, end) in cases {
        let mut d = deployment(run_id, release, env, "2.0", None);
        d.reach = reach;
        d.started = started.map(ts);
        d.live_at = end.filter(|_| reach == Reach::Deployed).map(ts);
        d.ended = end.filter(|_| reach != Reach::Deployed).map(ts);
        let outcome = if reach == Reach::InProgress {
            Outcome::Running
        } else {
            Outcome::Released
        };
        out.push(record(summary(run_id, release, outcome), 3, vec![d]));
    }
    out
}

#[test]
fn delivery_queries_answer_the_same_on_both_stores() {
    let db = db_or_skip!("delivery_queries_answer_the_same_on_both_stores");
    slate::store::postgres::init(&team(&db)).unwrap();
    let machine = tempfile::TempDir::new().unwrap();
    let pg = PgStore::open(&team(&db), machine.path()).unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let (lite, _) = slate::store::sqlite::SqliteStore::open(&dir.path().join("store.db")).unwrap();
    for r in delivery_history() {
        pg.put_run(&r).unwrap();
        lite.put_run(&r).unwrap();
    }
    let since = ts("2026-01-01T00:00:00Z");
    for (release, env) in [
        (None, None),
        (Some("svc"), None),
        (None, Some("prod")),
        (Some(HOSTILE), Some("prod")),
        (Some("nosuch"), None),
    ] {
        let q = slate::store::DeliveryQuery {
            release: release.map(str::to_string),
            env: env.map(str::to_string),
            since,
        };
        let (a, b) = (lite.deliveries(&q).unwrap(), pg.deliveries(&q).unwrap());
        // PostgreSQL keeps NUL as U+FFFD (see the contract); nothing else differs.
        let shown =
            |v: &[slate::store::Delivery]| -> Vec<(String, String, String, Option<Timestamp>)> {
                v.iter()
                    .map(|d| {
                        (
                            d.deployment.release.replace('\0', "\u{FFFD}"),
                            d.deployment.run_id.clone(),
                            d.deployment.reach.key().to_string(),
                            d.run_started,
                        )
                    })
                    .collect()
            };
        assert_eq!(shown(&a), shown(&b), "{release:?} {env:?}");
        if release.is_none() && env.is_none() {
            // Every row touching the window, none before it; by release,
            // environment, then start (NULL first).
            let runs: Vec<&str> = a.iter().map(|d| &d.deployment.run_id[20..]).collect();
            assert_eq!(runs, ["d004", "d005", "d006", "d001", "d002", "d003"]);
        }
        // The statistics over either are the same.
        let w = slate::stats::Window {
            since,
            until: ts("2026-02-01T00:00:00Z"),
        };
        let ra = slate::stats::compute(&a, w, "31d", None, None, &mut |_| None);
        let rb = slate::stats::compute(&b, w, "31d", None, None, &mut |_| None);
        let metrics = |r: &slate::stats::Report| -> Vec<slate::stats::Metrics> {
            r.environments.iter().map(|e| e.overall.clone()).collect()
        };
        assert_eq!(metrics(&ra), metrics(&rb));
    }
}

/// The ledger's reads put NULL where SQLite does (no start: after every
/// dated row; no time it went live: never before one that has it), at any
/// limit: `history` and `live` answer the same on both stores.
#[test]
fn ledger_reads_answer_the_same_on_both_stores() {
    let db = db_or_skip!("ledger_reads_answer_the_same_on_both_stores");
    slate::store::postgres::init(&team(&db)).unwrap();
    let machine = tempfile::TempDir::new().unwrap();
    let pg = PgStore::open(&team(&db), machine.path()).unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let (lite, _) = slate::store::sqlite::SqliteStore::open(&dir.path().join("store.db")).unwrap();
    let mut runs = delivery_history();
    // Deployed with no time it went live (nor a start): alone in its place,
    // and beside rows that have one.
    for (run_id, env) in [
        ("20260107-100000.000-d007", "qa"),
        ("20260108-100000.000-d008", "prod"),
    ] {
        let mut d = deployment(run_id, "svc", env, "3.0", None);
        d.reach = Reach::Deployed;
        runs.push(record(
            summary(run_id, "svc", Outcome::Released),
            3,
            vec![d],
        ));
    }
    for r in &runs {
        pg.put_run(r).unwrap();
        lite.put_run(r).unwrap();
    }
    let ids = |v: Vec<Deployment>| -> Vec<String> { v.into_iter().map(|d| d.run_id).collect() };
    let places = lite.places(None).unwrap();
    assert_eq!(places.len(), 4);
    for place in &places {
        for limit in [Some(1), Some(2), Some(4), Some(5), None] {
            assert_eq!(
                ids(lite.history(place, limit).unwrap()),
                ids(pg.history(place, limit).unwrap()),
                "{place:?} {limit:?}"
            );
        }
        assert_eq!(
            lite.live(place).unwrap().map(|d| d.run_id),
            pg.live(place).unwrap().map(|d| d.run_id),
            "{place:?}"
        );
    }
    let place = |env: &str| Place {
        release: "svc".into(),
        env: env.into(),
        env_index: 0,
    };
    let prod: Vec<String> = ids(pg.history(&place("prod"), None).unwrap());
    assert_eq!(
        prod.iter().map(|id| &id[20..]).collect::<Vec<_>>(),
        ["d003", "d002", "d001", "d000", "d008", "d006"]
    );
    let live = |env: &str| {
        pg.live(&place(env))
            .unwrap()
            .map(|d| d.run_id[20..].to_string())
    };
    assert_eq!(live("prod").as_deref(), Some("d003"));
    assert_eq!(live("qa").as_deref(), Some("d007"));
}

/// A break-glass run recorded in the team store: its prod row says the
/// version went live by break-glass, who and why (hostile text kept as
/// data), read back by `slate ledger` like the SQLite store's.
#[test]
fn a_break_glass_is_listed_in_the_team_ledger() {
    let db = db_or_skip!("a_break_glass_is_listed_in_the_team_ledger");
    let sb = Sandbox::new();
    let o = slate(&sb, &db.url, &["store", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    let me = slate::engine::Actor::current("test").user;
    // In team mode a person is the database role, named by the store.
    let role = db
        .url
        .split_once("://")
        .unwrap()
        .1
        .split_once('@')
        .unwrap()
        .0;
    let o = slate(&sb, &db.url, &["store", "grant", role, "run", "--as", &me]);
    assert!(o.status.success(), "{}", text(&o));
    // An argument holds no NUL; every other hostile character goes in.
    let reason = HOSTILE.replace('\u{0}', "");
    let p = sb.plan(
        "plan.toml",
        &std::fs::read_to_string(plan(&sb, "base.toml", "svc"))
            .unwrap()
            .replace(
                "owner = \"owner\"",
                &format!("owner = \"owner\"\nbreak_glass = [\"{me}\"]"),
            ),
    );
    let o = slate(
        &sb,
        &db.url,
        &["freeze", "prod", "--until", "2h", "--reason", "holiday"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = slate(
        &sb,
        &db.url,
        &[
            "run",
            p.to_str().unwrap(),
            "--headless",
            "--break-glass",
            &reason,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let approvals = db
        .value("SELECT approvals::text FROM slate.deployments WHERE env = 'prod'")
        .unwrap_or_default();
    assert!(approvals.contains("\"break_glass\""), "{approvals}");
    let o = slate(&sb, &db.url, &["ledger", "--json", "--env", "prod"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    fn glass(v: &serde_json::Value) -> Option<&serde_json::Value> {
        match v {
            serde_json::Value::Object(m) if m.get("how").is_some_and(|h| h == "break_glass") => {
                Some(v)
            }
            serde_json::Value::Object(m) => m.values().find_map(glass),
            serde_json::Value::Array(a) => a.iter().find_map(glass),
            _ => None,
        }
    }
    let g = glass(&v).unwrap_or_else(|| panic!("no break-glass approval in {v}"));
    assert_eq!(g["user"], me.as_str());
    assert_eq!(g["gate"], "break-glass");
    assert_eq!(g["comment"], reason.as_str());
    let o = slate(&sb, &db.url, &["ledger", "--env", "prod"]);
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        shown.contains(&format!("by BREAK-GLASS ({me}: a")),
        "{shown}"
    );
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
}
