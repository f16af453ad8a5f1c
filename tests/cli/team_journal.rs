//! The team journal (issue 19) on a real PostgreSQL, one database per test:
//! a team run's records are in `slate.events` as its journal file has them,
//! so another machine exports the same NDJSON; the engine's lease fences a
//! second engine; an engine killed mid-run and recovered leaves no gap and
//! no record twice.

use std::process::Stdio;
use std::time::Duration;

use jiff::Timestamp;
use slate::engine::event::{Event, Record, RunOutcome};
use slate::journal::Mirror;
use slate::store::postgres::TeamConfig;
use slate::store::postgres::journal::TeamJournal;

use crate::common;
use common::postgres::TestDb;
use common::said;
use common::sandbox::{Sandbox, wait_output};

const LIMIT: Duration = Duration::from_secs(60);

/// The server's clock in microseconds.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

const PLAN: &str = r#"
[release]
name = "pay"
version = "2.0"
previous_version = "1.0"
owner = "owner"

[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'for i in $(seq 1 300); do echo "line $i \033[31mred\033[0m"; done; echo "deploy $SLATE_ENV" >> "$LEDGER"; while [ -e "@DIR@/hold.$SLATE_ENV" ]; do sleep 0.02; done'
timeout = "60s"
"#;

/// A run on alice's machine is exported from bob's, byte for byte what
/// alice's journal file holds; its lease is gone once the run ended.
#[test]
fn a_team_runs_journal_is_exported_the_same_from_another_machine() {
    let Some(db) = TestDb::create("a_team_runs_journal_is_exported_the_same_from_another_machine")
    else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let p = alice.plan("plan.toml", PLAN);
    let o = db.slate(&alice, &["run", "--headless", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    let run = common::newest_run(alice.home()).unwrap();
    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    let file = std::fs::read_to_string(run.join("journal.ndjson")).unwrap();

    let o = db.slate(&bob, &["export", &id[..12]]);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), file);
    // To a file, too.
    let out = bob.path("pay.ndjson");
    let o = db.slate(&bob, &["export", &id, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(said(&o).contains("from the team journal"), "{}", said(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), file);
    // Every reader works on bob's machine too, from a copy of the team journal.
    let o = db.slate(&bob, &["show", &id[..12], "--json"]);
    assert!(o.status.success(), "{}", said(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["run_id"], id.as_str());
    let o = db.slate(&bob, &["dossier", &id]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(said(&o).contains("## Release Summary"), "{}", said(&o));
    assert!(
        !said(&o).contains('\u{1b}'),
        "the stage's escapes stay neutralised"
    );
    let o = db.slate(&bob, &["analysis", &id]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        !bob.home().join("runs").join(&id).exists(),
        "a copy is not one of bob's runs"
    );
    // A row forged by someone with SQL reaches no terminal raw.
    common::postgres::sql_on(
        &db.url,
        &format!("INSERT INTO slate.events VALUES ('{id}', 999999, 0, true, E'{{\"x\":\"\\x1b]0;pwn\\x07\\u009b\"}}')"),
    )
    .unwrap();
    let o = db.slate(&bob, &["export", &id]);
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        shown.ends_with("{\"x\":\"\\u001b]0;pwn\\u0007\\u009b\"}\n"),
        "{shown:?}"
    );
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}') && !shown.contains('\u{9b}'));
    // The engine let its lease go when it ended.
    assert_eq!(
        db.value("SELECT count(*)::text FROM slate.leases")
            .as_deref(),
        Some("0")
    );
    // Not a run anywhere: said, exit 2.
    let o = db.slate(&bob, &["export", "nosuchrun"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        said(&o).contains("no run nosuchrun in the team journal either"),
        "{}",
        said(&o)
    );
}

fn record(seq: u64) -> Record {
    Record {
        seq,
        ts: Timestamp::now(),
        event: Event::RunFinished {
            outcome: RunOutcome::Released,
            message: format!("record {seq}"),
        },
    }
}

/// One engine per run: a second engine on another machine is refused while
/// the lease is fresh; one that takes the run over (here: its machine's
/// recovery) fences the first, whose next state record fails — it must
/// stop rather than act.
#[test]
fn the_lease_fences_a_second_engine() {
    let Some(db) = TestDb::create("the_lease_fences_a_second_engine") else {
        return;
    };
    let team = TeamConfig::new(&db.url, None, "the test".into());
    slate::store::postgres::init(&team).unwrap();
    let mut first = TeamJournal::start(&team, "r1", "host-a:/state", false, &[]).unwrap();
    let r = record(1);
    first
        .state(&r, &serde_json::to_string(&r).unwrap())
        .unwrap();
    let other = TeamJournal::start(&team, "r1", "host-b:/state", false, &[]);
    let err = other.err().expect("refused");
    assert!(
        err.starts_with("run r1 is driven by an engine on host-a:/state (its lease was renewed"),
        "{err}"
    );
    // The first machine's recovery takes the run over (its engine lock
    // proved the old engine gone), copying in what its file holds.
    let mut second =
        TeamJournal::start(&team, "r1", "host-a:/state", true, &[record(1), record(2)]).unwrap();
    let r3 = record(3);
    let lost = first.state(&r3, &serde_json::to_string(&r3).unwrap());
    assert!(
        lost.as_ref().is_err_and(|e| e.contains("lost its lease")),
        "{lost:?}"
    );
    second
        .state(&r3, &serde_json::to_string(&r3).unwrap())
        .unwrap();
    let seqs = db
        .value(
            "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM slate.events WHERE run_id = 'r1'",
        )
        .unwrap();
    assert_eq!(seqs, "1,2,3");
}

/// An engine killed with SIGKILL while its stage runs in prod, then
/// recovered on its machine: the run finishes, no step ran twice, and the
/// team journal equals the file — no gap, no record twice.
#[test]
fn a_killed_and_recovered_team_run_leaves_no_gap() {
    let Some(db) = TestDb::create("a_killed_and_recovered_team_run_leaves_no_gap") else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let p = alice.plan("plan.toml", PLAN);
    std::fs::write(alice.path("hold.prod"), "").unwrap();
    let mut run = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["run", "--headless", p.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    alice.wait_for("the deploy in prod", LIMIT, || {
        alice.ledger() == ["deploy dev", "deploy prod"]
    });
    run.kill().unwrap();
    run.wait().unwrap();
    std::fs::remove_file(alice.path("hold.prod")).unwrap();
    let id = common::newest_run(alice.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let o = db.slate(
        &alice,
        &["recover", &id, "--headless", "--interrupted", "done"],
    );
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(
        alice.ledger(),
        ["deploy dev", "deploy prod"],
        "no step ran twice"
    );
    let file = std::fs::read_to_string(alice.home().join("runs").join(&id).join("journal.ndjson"))
        .unwrap();
    let o = db.slate(&bob, &["export", &id]);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), file);
    let n = file.lines().count().to_string();
    assert_eq!(
        db.value(&format!(
            "SELECT count(*)::text FROM slate.events WHERE run_id = '{id}'"
        ))
        .as_deref(),
        Some(n.as_str())
    );
}

/// alice's run of `PLAN` with the team store at `url`, held in dev's
/// deploy (until `hold.dev` goes) once it has reached it.
fn in_dev(alice: &Sandbox, url: &str) -> std::process::Child {
    let p = alice.plan("plan.toml", PLAN);
    std::fs::write(alice.path("hold.dev"), "").unwrap();
    let run = alice
        .slate()
        .env("SLATE_STORE", url)
        .args(["run", "--headless", p.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    alice.wait_for("the deploy in dev", LIMIT, || {
        alice.ledger() == ["deploy dev"]
    });
    run
}

/// A TCP proxy to the test server that can be cut (every connection
/// dropped, nothing accepted) and brought back on the same port: the team
/// store going away and coming back, as a restart or a network cut looks.
struct Proxy {
    port: u16,
    upstream: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(port: u16, upstream: &str) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, c, up) = (stop.clone(), conns.clone(), upstream.to_string());
        let accept = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = std::net::TcpStream::connect(&up) else {
                            continue;
                        };
                        let mut list = c.lock().unwrap();
                        for (mut from, mut to) in [
                            (client.try_clone().unwrap(), server.try_clone().unwrap()),
                            (server.try_clone().unwrap(), client.try_clone().unwrap()),
                        ] {
                            std::thread::spawn(move || {
                                let _ = std::io::copy(&mut from, &mut to);
                                let _ = to.shutdown(std::net::Shutdown::Both);
                            });
                        }
                        list.push(client);
                        list.push(server);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Proxy {
            port,
            upstream: upstream.to_string(),
            stop,
            conns,
            accept: Some(accept),
        }
    }

    /// Drops every connection and stops listening.
    fn cut(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            a.join().unwrap();
        }
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// The team store goes away while a stage runs and stays away until the
/// engine's lease has lapsed: the engine waits at its next state record
/// (it does not act unjournaled), and when the store answers again it
/// stops without acting and says why, since another machine may be taking
/// the run over. `slate recover` on its machine then finishes the run: no
/// step twice, and the team journal ends up with the file's state records.
/// A follower on another machine says the store is unreachable, then that
/// it answers again, and misses nothing. (A shorter outage is waited out:
/// `the_team_stores_server_stopped_and_started_again_mid_run_loses_nothing`.)
#[test]
fn a_team_store_that_goes_away_mid_run_and_comes_back_loses_nothing() {
    let Some(db) =
        TestDb::create("a_team_store_that_goes_away_mid_run_and_comes_back_loses_nothing")
    else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    // host:port of the test server, from the database's URL.
    let upstream = db
        .url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(hp, _)| hp.to_string())
        .unwrap();
    let mut proxy = Proxy::start(0, &upstream);
    let via = format!("postgres://postgres@127.0.0.1:{}/{}", proxy.port, db.name);
    let run = in_dev(&alice, &via);
    let id = common::newest_run(alice.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // Bob follows through the same proxy.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    {
        let team = TeamConfig::new(&via, None, "the test".into());
        let mut followed = rt
            .block_on(slate::store::postgres::follow::follow(team, id.clone()))
            .unwrap();
        let seen = seen.clone();
        rt.spawn(async move {
            use slate::control::client::Followed;
            while let Some(m) = followed.recv().await {
                seen.lock().unwrap().push(match m {
                    Followed::Record(r) => format!("record {}", r.seq),
                    Followed::Notice(text, trouble) => format!("notice {trouble} {text}"),
                    Followed::Ended(why) => format!("ended {why}"),
                    _ => "other".into(),
                });
            }
        });
    }
    let saw = |what: &str| seen.lock().unwrap().iter().any(|s| s.starts_with(what));
    proxy.cut();
    // The stage ends while the store is away: its record waits for it.
    std::fs::remove_file(alice.path("hold.dev")).unwrap();
    // A state record is in the file (written first) and not in the team
    // store: the engine waits for the store before it acts on it.
    let journal = common::newest_run(alice.home())
        .unwrap()
        .join("journal.ndjson");
    let newest_state = || -> i64 {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.ends_with('}') && !l.contains("\"type\":\"output\""))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["seq"].as_i64())
            .max()
            .unwrap_or(0)
    };
    let in_store = || -> i64 {
        db.value("SELECT coalesce(max(seq), 0)::text FROM slate.events WHERE state")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    alice.wait_for("a state record the store has not taken", LIMIT, || {
        newest_state() > in_store()
    });
    bob.wait_for("the follower to say the store is away", LIMIT, || {
        saw("notice true the team store is unreachable")
    });
    // Past the lease's lapse, as the server's clock tells.
    bob.wait_for("the lease to lapse", LIMIT, || {
        db.value(&format!(
            "SELECT ({NOW} - heartbeat > {})::text FROM slate.leases WHERE run_id = '{id}'",
            slate::store::postgres::journal::LEASE_TTL.as_micros() + 1_000_000
        ))
        .as_deref()
            == Some("true")
    });
    assert_eq!(
        alice.ledger(),
        ["deploy dev"],
        "nothing acted past the record"
    );
    let back = Proxy::start(proxy.port, &proxy.upstream);
    assert_eq!(back.port, proxy.port);
    let out = wait_output(run, LIMIT, &["the run"]);
    assert!(!out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("lease in the team store lapsed while the store was away"),
        "{}",
        said(&out)
    );
    assert_eq!(alice.ledger(), ["deploy dev"], "it stopped without acting");
    let o = wait_output(
        alice
            .slate()
            .env("SLATE_STORE", &via)
            // The stage's end was not journaled (the store refused it), so
            // it is the interrupted step; it did finish.
            .args(["recover", &id, "--headless", "--interrupted", "done"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        LIMIT,
        &["recover"],
    );
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(
        alice.ledger(),
        ["deploy dev", "deploy prod"],
        "no step ran twice"
    );
    bob.wait_for("the follower to catch up and end", LIMIT, || saw("ended"));
    assert!(saw("notice false the team store answers again"));
    let followed = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("record "))
        .count();
    assert_eq!(
        followed.to_string(),
        db.value(&format!(
            "SELECT count(*)::text FROM slate.events WHERE run_id = '{id}'"
        ))
        .unwrap(),
        "the follower missed nothing"
    );
    let file = std::fs::read_to_string(alice.home().join("runs").join(&id).join("journal.ndjson"))
        .unwrap();
    let o = db.slate(&bob, &["export", &id]);
    assert!(o.status.success(), "{}", said(&o));
    // Every state record is there; output lines the store missed while
    // away may be left out of the team's copy, never out of order.
    let team: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let states = |lines: Vec<&str>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| !l.contains("\"type\":\"output\""))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        states(team.iter().map(String::as_str).collect()),
        states(file.lines().collect())
    );
}

/// alice's engine is killed while its stage runs in prod. bob's machine
/// cannot take the run over while the lease is fresh; once it lapses, bob
/// recovers it from the team journal. The process the dead engine left
/// runs on alice's machine: it is reported, never signalled from bob's
/// (here both "machines" are one host, so it would be found); no step runs
/// twice, and the run ends on bob's machine.
#[test]
fn a_run_whose_engine_died_is_recovered_from_another_machine_once_its_lease_lapses() {
    let Some(db) = TestDb::create(
        "a_run_whose_engine_died_is_recovered_from_another_machine_once_its_lease_lapses",
    ) else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    let shared = tempfile::TempDir::new().unwrap();
    let s = shared.path().to_str().unwrap();
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let p = alice.plan(
        "plan.toml",
        &PLAN
            .replace("\"$LEDGER\"", &format!("\"{s}/ledger\""))
            .replace("@DIR@", s),
    );
    std::fs::write(shared.path().join("hold.prod"), "").unwrap();
    let mut run = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["run", "--headless", p.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ledger = || {
        std::fs::read_to_string(shared.path().join("ledger"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    alice.wait_for("the deploy in prod", LIMIT, || {
        ledger() == ["deploy dev", "deploy prod"]
    });
    run.kill().unwrap();
    run.wait().unwrap();
    let id = common::newest_run(alice.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let args = [
        "recover",
        id.as_str(),
        "--headless",
        "--interrupted",
        "done",
    ];
    let o = db.slate(&bob, &args);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let alice_origin = slate::store::postgres::origin(alice.home());
    assert!(
        said(&o).contains(&format!("is driven by an engine on {alice_origin}")),
        "{}",
        said(&o)
    );
    assert!(
        common::run_dirs(bob.home()).is_empty(),
        "nothing was fetched"
    );
    bob.wait_for("the lease to lapse", Duration::from_secs(60), || {
        db.value(&format!(
            "SELECT (((extract(epoch from clock_timestamp()) * 1000000)::bigint - heartbeat) >= 31000000)::text
             FROM slate.leases WHERE run_id = '{id}'"
        ))
        .as_deref()
            == Some("true")
    });
    let o = db.slate(&bob, &args);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(ledger(), ["deploy dev", "deploy prod"], "no step ran twice");
    let journal =
        std::fs::read_to_string(bob.home().join("runs").join(&id).join("journal.ndjson")).unwrap();
    let recs = common::parse_journal(&journal, "bob's journal");
    let recovered = common::only(&recs, "run_recovered");
    let left = &recovered["leftovers"][0];
    assert_eq!(left["stopped"], false, "{recovered}");
    assert!(
        left["message"]
            .as_str()
            .unwrap()
            .contains(&format!("was started on {alice_origin}")),
        "{recovered}"
    );
    // Still running on "alice's machine": nothing signalled it from bob's.
    let pgid = left["pgid"].as_i64().unwrap() as i32;
    assert!(
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok(),
        "the leftover was stopped from another machine"
    );
    std::fs::remove_file(shared.path().join("hold.prod")).unwrap();
    assert_eq!(common::outcome(&recs), "released");
}

/// The team store's server really stops (`pg_ctl stop -m fast`, every
/// client cut off) while a stage runs, and starts again: the run pauses at
/// its next state record, goes on when the server is back, and the team
/// journal has every state record of the file, in order, without a gap.
#[test]
fn the_team_stores_server_stopped_and_started_again_mid_run_loses_nothing() {
    let Some(server) = common::postgres::PrivateServer::start(
        "the_team_stores_server_stopped_and_started_again_mid_run_loses_nothing",
    ) else {
        return;
    };
    let url = server.url();
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    let slate = |sb: &Sandbox, args: &[&str]| {
        let child = sb
            .slate()
            .env("SLATE_STORE", &url)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_output(child, LIMIT, args)
    };
    assert!(slate(&alice, &["store", "init"]).status.success());
    let run = in_dev(&alice, &url);
    server.stop_fast();
    std::fs::remove_file(alice.path("hold.dev")).unwrap();
    let dir = common::newest_run(alice.home()).unwrap();
    let journal = dir.join("journal.ndjson");
    // The stage's end is in the file; nothing after it is acted on.
    alice.wait_for("the stage's end in the file", LIMIT, || {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .contains("\"step_finished\"")
    });
    assert_eq!(
        alice.ledger(),
        ["deploy dev"],
        "nothing acted past the record"
    );
    server.up();
    let out = wait_output(run, LIMIT, &["the run"]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(alice.ledger(), ["deploy dev", "deploy prod"]);
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let file = std::fs::read_to_string(&journal).unwrap();
    let o = slate(&bob, &["export", &id]);
    assert!(o.status.success(), "{}", said(&o));
    let states = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains("\"type\":\"output\""))
            .map(str::to_string)
            .collect()
    };
    let team = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(states(&team), states(&file));
    // No gap: the team's sequence numbers are the file's.
    let seqs = |text: &str| -> Vec<u64> {
        text.lines()
            .filter(|l| !l.contains("\"type\":\"output\""))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["seq"].as_u64())
            .collect()
    };
    assert_eq!(seqs(&team), seqs(&file));
}
