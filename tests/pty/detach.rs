//! Detach (issue #6): `slate run PLAN` hosts its engine in a process of its
//! own, so the release outlives the cockpit. A hung-up terminal and `q` →
//! `d` both leave it going to its next gate, where `slate approve` (or a
//! cockpit attached later) carries on; the host exits by itself once the run
//! is over and nobody follows it. And everyone following the run sees the
//! journal's records, in order, with no gap and no duplicate.
//!
//! Real binary, real pseudo-terminals, real processes. Every process carries
//! the sandbox's `SLATE_TEST_TAG` (the engine host inherits it from the
//! cockpit), so whatever is left is killed when a test ends, passing or not.
//! Every wait is a bounded poll.

use std::path::{Path, PathBuf};
use std::time::Duration;

use slate::control::client::{Followed, Session};
use slate::engine::{Event, Record};

use crate::common;
use common::pty::Term;
use common::sandbox::Sandbox;
use common::{live_processes, newest_run, outcome, parse_journal, read_journal, types};

/// The most one test may take.
const BUDGET: Duration = Duration::from_secs(90);
/// The longest wait for one thing to happen.
const WAIT: Duration = Duration::from_secs(30);

/// dev holds until `@DIR@/go` exists (printing `FLOOD` lines first); prod
/// waits behind the manual gate `go`.
const PLAN: &str = common::release_plan!(
    r#"
[[environments]]
name = "dev"

[[environments]]
name = "prod"
gates = ["go"]

[[gates]]
name = "go"
kind = "manual"
require_comment = true
timeout = "5m"

[[stages]]
name = "deploy"
command = '''
if [ "$SLATE_ENV" = dev ]; then
  i=0
  while [ $i -lt @FLOOD@ ]; do echo "line $i"; i=$((i+1)); done
  echo "holding until released"
  i=0
  while [ ! -f "@DIR@/go" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
fi
echo "deploy $SLATE_ENV" >> "$LEDGER"
'''
rollback = 'echo "undo $SLATE_ENV" >> "$LEDGER"'
"#
);

fn plan(sb: &Sandbox, flood: usize) -> PathBuf {
    sb.plan("plan.toml", &PLAN.replace("@FLOOD@", &flood.to_string()))
}

/// `slate ARGS` in a terminal of its own, inside the sandbox.
fn term(sb: &Sandbox, args: &[&str]) -> Term {
    let home = sb.home().to_path_buf();
    Term::builder(args)
        .size(120, 40)
        .cwd(sb.dir.path())
        .env("SLATE_HOME", sb.home())
        .env("LEDGER", sb.path("ledger"))
        .env_remove("NO_COLOR")
        .tag(&sb.tag)
        .budget(BUDGET)
        .context(move || format!("--- journal ---\n{:?}", types(&journal(&home))))
        .start()
}

fn run_dir(sb: &Sandbox) -> PathBuf {
    newest_run(sb.home()).expect("a run directory")
}

fn run_id(sb: &Sandbox) -> String {
    run_dir(sb)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn journal(home: &Path) -> Vec<serde_json::Value> {
    newest_run(home)
        .map(|d| read_journal(&d.join("journal.ndjson")))
        .unwrap_or_default()
}

fn journal_text(sb: &Sandbox) -> String {
    newest_run(sb.home())
        .and_then(|d| std::fs::read_to_string(d.join("journal.ndjson")).ok())
        .unwrap_or_default()
}

fn wait_journal(sb: &Sandbox, needle: &str) -> Vec<serde_json::Value> {
    sb.wait_for(&format!("{needle} in the journal"), WAIT, || {
        journal_text(sb).contains(needle)
    });
    parse_journal(&journal_text(sb), "journal")
}

/// The engine host the cockpit started: the slate process with `--serve`.
fn host_pid(sb: &Sandbox) -> i32 {
    let tagged = common::tagged_processes(&sb.tag);
    let hosts: Vec<i32> = live_processes()
        .into_iter()
        .filter(|(pid, cmd)| tagged.contains(pid) && cmd.contains(" --serve"))
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(hosts.len(), 1, "one engine host: {hosts:?}");
    hosts[0]
}

/// Running (a zombie nobody reaped does not count).
fn alive(pid: i32) -> bool {
    live_processes().iter().any(|(p, _)| *p == pid)
}

fn approve(sb: &Sandbox, id: &str, comment: &str) {
    let out = sb.run(&["approve", id, "go", "--comment", comment], WAIT);
    assert!(
        out.status.success(),
        "slate approve: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The run ends released and its engine host exits by itself.
fn assert_released_and_host_gone(sb: &Sandbox, host: i32) {
    let recs = wait_journal(sb, "\"type\":\"run_finished\"");
    assert_eq!(outcome(&recs), "released", "{:?}", types(&recs));
    assert_eq!(sb.ledger(), ["deploy dev", "deploy prod"]);
    sb.wait_for("the engine host to exit by itself", WAIT, || !alive(host));
}

/// The terminal goes away while dev's stage runs: the cockpit leaves
/// quietly, the engine host carries the release on to prod's gate and waits
/// there; `slate approve` releases it and the host exits.
#[test]
fn a_hung_up_terminal_leaves_the_release_going_to_its_gate() {
    let sb = Sandbox::new();
    let plan = plan(&sb, 0);
    let mut front = term(&sb, &["run", plan.to_str().unwrap()]);
    front.wait_for("holding until released", WAIT);
    let recs = wait_journal(&sb, "holding until released");
    assert!(types(&recs).contains(&"step_started"), "{:?}", types(&recs));
    let host = host_pid(&sb);
    assert_ne!(
        host,
        front.pid(),
        "the engine is not in the cockpit's process"
    );

    front.hang_up();
    let status = front.wait_exit(WAIT);
    assert!(status.success(), "the cockpit leaves quietly: {status:?}");
    assert!(alive(host), "the hang-up never reached the engine host");

    std::fs::write(sb.path("go"), "").unwrap();
    let recs = wait_journal(&sb, "\"type\":\"gate_waiting\"");
    assert!(
        !types(&recs).contains(&"run_finished"),
        "the run waits at prod's gate: {:?}",
        types(&recs)
    );
    assert!(alive(host), "the engine host waits at the gate");
    assert_eq!(sb.ledger(), ["deploy dev"]);

    approve(&sb, &run_id(&sb), "approved after the hang-up");
    assert_released_and_host_gone(&sb, host);
}

/// `q` asks; `d` detaches: the cockpit exits 0 and says how to come back,
/// the run is listed by `slate status`, `slate attach` shows it at its gate,
/// and `slate approve` finishes it.
#[test]
fn q_then_d_detaches_and_attach_comes_back() {
    let sb = Sandbox::new();
    let plan = plan(&sb, 0);
    std::fs::write(sb.path("go"), "").unwrap();
    let mut front = term(&sb, &["run", plan.to_str().unwrap()]);
    front.wait_for("WAITING FOR APPROVAL", WAIT);
    let id = run_id(&sb);
    let host = host_pid(&sb);

    front.send(b"q");
    let s = front.wait_for("n / Esc stay", WAIT);
    assert!(s.contains("Quit?") && s.contains("detach"), "{s}");
    front.send(b"d");
    let status = front.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 0, "{status:?}");
    assert!(
        front.eof(),
        "the cockpit exited but something still holds its terminal"
    );
    let after = front.assert_terminal_restored();
    assert!(
        after.contains(&format!(
            "detached from run {id}; it goes on — slate attach {id} to come back"
        )),
        "{after}"
    );
    assert!(alive(host), "the release goes on after the detach");

    let listed = sb.run(&["status"], WAIT);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&id),
        "slate status lists the run:\n{listed}"
    );

    let mut again = term(&sb, &["attach", &id]);
    let s = again.wait_for("WAITING FOR APPROVAL", WAIT);
    assert!(s.contains("dev"), "what happened is replayed:\n{s}");

    approve(&sb, &id, "approved after the detach");
    again.wait_for("RELEASED", WAIT);
    again.send(b"q");
    assert!(again.wait_exit(WAIT).success());
    let after = again.assert_terminal_restored();
    assert!(after.contains("released"), "{after}");
    assert_released_and_host_gone(&sb, host);
}

/// Follows the run from its first record on a thread, until its last one.
fn follow(run_dir: &Path) -> std::thread::JoinHandle<Vec<Record>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = rt
        .block_on(Session::open(
            run_dir,
            slate::control::client::Following {
                from_seq: 1,
                ..Default::default()
            },
        ))
        .expect("subscribe through the control socket");
    std::thread::spawn(move || {
        let (mut followed, _commands) = session.into_parts();
        let mut seen = Vec::new();
        loop {
            let next = rt.block_on(async { tokio::time::timeout(WAIT, followed.recv()).await });
            match next {
                Ok(Some(Followed::Record(r))) => {
                    let last = matches!(r.event, Event::RunFinished { .. });
                    seen.push(*r);
                    if last {
                        return seen;
                    }
                }
                other => panic!("the stream stopped after {} records: {other:?}", seen.len()),
            }
        }
    })
}

/// Two followers on the control socket of a cockpit-hosted run, one of them
/// starting mid-flood, see exactly the journal: same records, same order,
/// no gap, no duplicate.
#[test]
fn two_followers_see_the_journal_in_order() {
    let sb = Sandbox::new();
    let plan = plan(&sb, 3000);
    let mut front = term(&sb, &["run", plan.to_str().unwrap()]);
    sb.wait_for("the flood to begin", WAIT, || {
        journal_text(&sb).contains("\"line 1")
    });
    let dir = run_dir(&sb);
    let first = follow(&dir);
    wait_journal(&sb, "holding until released");
    let second = follow(&dir);
    let host = host_pid(&sb);

    std::fs::write(sb.path("go"), "").unwrap();
    wait_journal(&sb, "\"type\":\"gate_waiting\"");
    approve(&sb, &run_id(&sb), "followed twice");
    let a = first.join().expect("the first follower");
    let b = second.join().expect("the second follower");

    front.wait_for("RELEASED", WAIT);
    front.send(b"q");
    assert!(front.wait_exit(WAIT).success());
    assert_released_and_host_gone(&sb, host);

    let journal = slate::journal::read_journal(&dir.join("journal.ndjson"))
        .expect("read the journal")
        .records;
    assert!(
        matches!(
            journal.last().map(|r| &r.event),
            Some(Event::RunFinished { .. })
        ),
        "nothing after the run's end"
    );
    let seqs: Vec<u64> = journal.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=journal.len() as u64).collect::<Vec<_>>());
    assert!(journal.len() > 3000, "the flood is in the journal");
    for (name, seen) in [("first", &a), ("second", &b)] {
        assert_eq!(
            seen.len(),
            journal.len(),
            "the {name} follower saw {} records, the journal has {}",
            seen.len(),
            journal.len()
        );
        if let Some(i) = (0..seen.len()).find(|&i| seen[i] != journal[i]) {
            panic!(
                "the {name} follower differs from the journal at record {}: {:?} vs {:?}",
                i + 1,
                seen[i],
                journal[i]
            );
        }
    }
}

/// A plan that does not load: the engine host reports every problem over
/// the handshake, located as headless prints them, and the cockpit prints
/// them and exits 2; no run is left behind, and no process.
#[test]
fn an_invalid_plan_is_reported_by_the_cockpit_with_the_hosts_status() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "plan.toml",
        &PLAN
            .replace("@FLOOD@", "0")
            .replace("kind = \"manual\"", "kind = \"manul\""),
    );
    let headless = sb.run(&["validate", plan.to_str().unwrap()], WAIT);
    assert_eq!(headless.status.code(), Some(2));
    let expected = String::from_utf8_lossy(&headless.stdout).into_owned()
        + &String::from_utf8_lossy(&headless.stderr);
    let located = expected
        .lines()
        .find(|l| l.contains("plan.toml:"))
        .unwrap_or_else(|| panic!("a located problem: {expected}"))
        .trim()
        .to_string();

    let front = term(&sb, &["run", plan.to_str().unwrap()]);
    let status = front.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 2, "{status:?}");
    let screen = front.screen();
    assert!(
        screen.contains(&located),
        "the host's located problem {located:?} is printed:\n{screen}"
    );
    assert!(common::run_dirs(sb.home()).is_empty(), "no run was started");
    sb.wait_for("no slate process left", WAIT, || {
        common::tagged_processes(&sb.tag).is_empty()
    });
}
