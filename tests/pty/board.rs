//! `slate board` in a pseudo-terminal over real runs: a run started
//! headless waits at a gate; the board shows it in its inbox; `a`, a
//! comment and Enter approve it through the run's control socket as this
//! OS user, and the run goes on to release. A run whose engine was killed
//! shows as interrupted, with the command that takes it over. `slate`
//! alone in a terminal opens the board.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::pty::{ENTER, TAB, Term};
use common::sandbox::Sandbox;
use common::{newest_run, only, read_journal};

const WAIT: Duration = Duration::from_secs(30);

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
timeout = "2m"

[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_ENV" >> "$LEDGER"'
"#
);

fn board(sb: &Sandbox, args: &[&str]) -> Term {
    Term::builder(args)
        .size(100, 30)
        .cwd(sb.dir.path())
        .env("SLATE_HOME", sb.home())
        .tag(&sb.tag)
        .budget(Duration::from_secs(90))
        .start()
}

fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .map(|u| u.name)
        .unwrap()
}

/// Starts the plan headless and waits until its gate waits.
fn headless_at_gate(sb: &Sandbox) -> std::process::Child {
    let plan = sb.plan("plan.toml", PLAN);
    let child = sb
        .slate()
        .args(["run", "--headless", plan.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the headless run");
    sb.wait_for("the gate to wait", WAIT, || {
        newest_run(sb.home())
            .and_then(|d| std::fs::read_to_string(d.join("journal.ndjson")).ok())
            .is_some_and(|j| j.contains("\"gate_waiting\""))
    });
    child
}

#[test]
fn a_gate_is_approved_from_the_inbox_and_the_run_proceeds() {
    let sb = Sandbox::new();
    let headless = headless_at_gate(&sb);
    let run_id = newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    let mut t = board(&sb, &["board"]);
    let s = t.wait_for("1 waiting for you", WAIT);
    assert!(s.contains("gate go 0/1"), "{s}");
    // The ledger shows dev deployed and prod on its way, waiting.
    t.wait_for("⏸ →2.0.0", WAIT);

    // Releases → runs → inbox, then the cockpit's approval dialog.
    t.send(TAB);
    t.send(TAB);
    t.send(b"a");
    t.wait_for("Approve?", WAIT);
    t.send(b"checked from the board");
    t.send(ENTER);
    let out = common::sandbox::wait_output(headless, WAIT, &["run", "--headless"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(sb.ledger(), ["deploy dev", "deploy prod"]);

    let recs: Vec<Value> =
        read_journal(&sb.home().join("runs").join(&run_id).join("journal.ndjson"));
    let approved = only(&recs, "approved");
    assert_eq!(approved["actor"]["via"], "board");
    assert_eq!(approved["actor"]["user"], me().as_str());
    assert_eq!(approved["comment"], "checked from the board");

    // The board follows: the run leaves the inbox and prod is live.
    t.wait_for("0 waiting for you", WAIT);
    t.wait_for("✔ 2.0.0", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    t.assert_terminal_restored();
}

#[test]
fn a_killed_engine_shows_as_interrupted_with_its_recover_command() {
    let sb = Sandbox::new();
    let mut headless = headless_at_gate(&sb);
    let run_id = newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    headless.kill().expect("SIGKILL the engine");
    headless.wait().expect("reap the engine");

    // `slate` alone, in a terminal, is the board.
    let mut t = board(&sb, &[]);
    let s = t.wait_for(&format!("slate recover {run_id}"), WAIT);
    assert!(s.contains("interrupted"), "{s}");
    assert!(
        s.contains("0 waiting for you"),
        "a dead run's gate is nobody's to decide:\n{s}"
    );
    t.wait_for("⚠ →2.0.0", WAIT);
    // Enter on it says the same, rather than attaching to nothing.
    t.send(TAB);
    t.send(ENTER);
    t.wait_for("nothing drives it", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());

    // `slate status` says the same.
    let out = sb.run(&["status"], WAIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("slate recover {run_id}")), "{text}");
}

#[test]
fn slate_alone_without_a_terminal_keeps_saying_how_to_use_it() {
    let sb = Sandbox::new();
    let out = sb.run(&[], WAIT);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Usage"), "{err}");
    assert!(
        err.contains("board"),
        "the board is among the commands:\n{err}"
    );
}

#[test]
fn enter_on_a_run_attaches_the_cockpit_and_leaving_it_comes_back_to_the_board() {
    let sb = Sandbox::new();
    let headless = headless_at_gate(&sb);
    let mut t = board(&sb, &["board"]);
    t.wait_for("1 waiting for you", WAIT);
    // Releases → runs, Enter: the cockpit on the run, as `slate attach`.
    t.send(TAB);
    t.send(ENTER);
    t.wait_for("WAITING FOR APPROVAL", WAIT);
    // `q` asks; `d` detaches; the board is back, the run still waiting.
    t.send(b"q");
    t.wait_for("Quit?", WAIT);
    // One `d`: no reader of the board's is left to take the key first.
    t.send(b"d");
    let s = t.wait_for("1 waiting for you", WAIT);
    assert!(s.contains("Inbox"), "{s}");
    // Approved from the board after all, the run goes on.
    t.send(TAB);
    t.send(b"a");
    t.wait_for("Approve?", WAIT);
    t.send(b"after the cockpit");
    t.send(ENTER);
    let out = common::sandbox::wait_output(headless, WAIT, &["run", "--headless"]);
    assert!(out.status.success());
    t.wait_for("0 waiting for you", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    t.assert_terminal_restored();
}
