//! A cockpit is a viewer: killing it never stops the release (issue 15).
//! SIGTERM (a session manager, `timeout`, a tmux or ssh teardown), SIGINT
//! sent by a process, or a SIGHUP while the terminal is still there closes
//! the cockpit — terminal restored, exit 0, "detached from run …" — and the
//! run goes on waiting at its gate, where `slate approve` releases it. Only
//! a decision aborts (`q` then `a`, `slate abort`).
//!
//! For each kind of cockpit: `slate run PLAN` (its engine host lives on),
//! `slate attach RUN` on a headless run, and `slate recover RUN` on a run
//! whose engine was killed. Real binary, real pseudo-terminals, real
//! signals; every wait is a bounded poll.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common;
use common::pty::Term;
use common::sandbox::{Sandbox, wait_output};
use common::{live_processes, newest_run, outcome, read_journal, types};

/// The most one test may take.
const BUDGET: Duration = Duration::from_secs(90);
/// The longest wait for one thing to happen.
const WAIT: Duration = Duration::from_secs(30);

/// dev deploys; prod waits behind the manual gate `go`.
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
command = 'echo "deploy $SLATE_ENV" >> "$LEDGER"'
rollback = 'echo "undo $SLATE_ENV" >> "$LEDGER"'
"#
);

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
        .context(move || format!("--- journal ---\n{:?}", types(&journal_of(&home))))
        .start()
}

fn journal_of(home: &std::path::Path) -> Vec<Value> {
    newest_run(home)
        .map(|d| read_journal(&d.join("journal.ndjson")))
        .unwrap_or_default()
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

fn waiting_at_the_gate(sb: &Sandbox) -> bool {
    newest_run(sb.home())
        .and_then(|d| std::fs::read_to_string(d.join("journal.ndjson")).ok())
        .is_some_and(|j| j.contains("\"gate_waiting\""))
}

/// `slate run --headless` on the plan, once it waits at prod's gate.
fn headless_at_the_gate(sb: &Sandbox) -> Child {
    let plan = sb.plan("plan.toml", PLAN);
    let child = sb
        .slate()
        .args(["run", "--headless", plan.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the headless run");
    sb.wait_for("the gate to wait", WAIT, || waiting_at_the_gate(sb));
    child
}

/// Sends `signal` to the cockpit, then checks it detached: exit 0, the
/// terminal handed back with a word on where the run is, and nothing in the
/// journal but the wait at the gate.
fn signal_detaches(cockpit: &Term, sb: &Sandbox, signal: Signal) {
    let id = run_id(sb);
    let before = journal_of(sb.home()).len();
    kill(Pid::from_raw(cockpit.pid()), signal).expect("signal the cockpit");
    let status = cockpit.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 0, "{signal}: {status:?}");
    let after = cockpit.assert_terminal_restored();
    assert!(
        after.contains(&format!(
            "detached from run {id}; it goes on — slate attach {id} to come back"
        )),
        "{signal}: {after}"
    );
    let recs = journal_of(sb.home());
    let kinds = types(&recs);
    for never in [
        "abort_requested",
        "rollback_started",
        "run_finished",
        "command_refused",
    ] {
        assert!(
            !kinds.contains(&never),
            "{signal} led to {never}: {kinds:?}"
        );
    }
    assert_eq!(
        recs.len(),
        before,
        "{signal}: the cockpit's death was journaled: {:?}",
        &kinds[before..]
    );
    assert!(waiting_at_the_gate(sb));
}

/// `slate approve` on the run still waiting at its gate releases it.
fn approve_releases(sb: &Sandbox) {
    let out = sb.run(
        &[
            "approve",
            &run_id(sb),
            "go",
            "--comment",
            "after the cockpit died",
        ],
        WAIT,
    );
    assert!(
        out.status.success(),
        "slate approve: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    sb.wait_for("the run to finish", WAIT, || {
        types(&journal_of(sb.home())).contains(&"run_finished")
    });
    assert_eq!(outcome(&journal_of(sb.home())), "released");
    assert_eq!(sb.ledger(), ["deploy dev", "deploy prod"]);
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

#[test]
fn sigterm_to_the_run_cockpit_detaches_and_the_release_goes_on() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", PLAN);
    let cockpit = term(&sb, &["run", plan.to_str().unwrap()]);
    cockpit.wait_for("WAITING FOR APPROVAL", WAIT);
    let host = host_pid(&sb);
    signal_detaches(&cockpit, &sb, Signal::SIGTERM);
    assert!(
        live_processes().iter().any(|(p, _)| *p == host),
        "the engine host goes on"
    );
    approve_releases(&sb);
}

#[test]
fn sigterm_sigint_and_a_sent_sighup_to_attach_detach_it() {
    let sb = Sandbox::new();
    let headless = headless_at_the_gate(&sb);
    // Kept until the end: dropping one kills whatever carries the sandbox's tag.
    let mut cockpits = Vec::new();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let cockpit = term(&sb, &["attach"]);
        cockpit.wait_for("WAITING FOR APPROVAL", WAIT);
        signal_detaches(&cockpit, &sb, signal);
        cockpits.push(cockpit);
    }
    approve_releases(&sb);
    let out = wait_output(headless, WAIT, &["run", "--headless"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn sigterm_to_the_recover_cockpit_detaches_and_the_run_goes_on() {
    let sb = Sandbox::new();
    let mut dead = headless_at_the_gate(&sb);
    // The engine dies at the gate; `slate recover` takes the run over.
    dead.kill().expect("kill the headless engine");
    dead.wait().expect("reap it");
    let id = run_id(&sb);
    let cockpit = term(&sb, &["recover", &id]);
    cockpit.wait_for("WAITING FOR APPROVAL", WAIT);
    sb.wait_for("the recovered engine to wait at the gate", WAIT, || {
        let recs = journal_of(sb.home());
        let kinds = types(&recs);
        let recovered = kinds.iter().rposition(|k| *k == "run_recovered");
        let waiting = kinds.iter().rposition(|k| *k == "gate_waiting");
        matches!((recovered, waiting), (Some(r), Some(w)) if w > r)
    });
    signal_detaches(&cockpit, &sb, Signal::SIGTERM);
    approve_releases(&sb);
}
