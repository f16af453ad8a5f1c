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

/// `slate ARGS` in a 100×30 terminal over the sandbox; runs it starts (a
/// rollback from the board) inherit its environment, `LEDGER` included.
fn board(sb: &Sandbox, args: &[&str]) -> Term {
    Term::builder(args)
        .size(100, 30)
        .cwd(sb.dir.path())
        .env("SLATE_HOME", sb.home())
        .env("LEDGER", sb.path("ledger"))
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

/// From the board to a rollback: an environment's history, `r` on the
/// version before the live one, a reason, Enter — the rollback is a new run
/// (an engine host of its own, as `slate rollback --to` would start), the
/// cockpit opens on it, and the ledger has the old version live again.
#[test]
fn a_past_version_is_picked_in_the_history_and_rolled_back_to() {
    let sb = Sandbox::new();
    for (version, previous) in [("1.0.0", "0.9.0"), ("2.0.0", "1.0.0")] {
        let text = PLAN
            .replace("version = \"2.0.0\"", &format!("version = \"{version}\""))
            .replace(
                "previous_version = \"1.0.0\"",
                &format!("previous_version = \"{previous}\""),
            );
        let plan = sb.plan(&format!("plan-{version}.toml"), &text);
        let out = sb.run(
            &[
                "run",
                "--headless",
                "--approve",
                "go",
                plan.to_str().unwrap(),
            ],
            WAIT,
        );
        assert!(out.status.success(), "{out:?}");
    }
    // The rollback's run inherits the board's environment, as a command typed there would.
    let mut t = board(&sb, &["board"]);
    t.wait_for("✔ 2.0.0", WAIT);
    // Releases pane, the prod column, Enter: its history, newest first.
    t.send(b"l");
    t.send(ENTER);
    t.wait_for("every version, newest first", WAIT);
    t.wait_for("superseded by 2.0.0", WAIT);
    // The live version is refused; the one before it asks why.
    t.send(b"r");
    t.wait_for("2.0.0 is live in prod now", WAIT);
    t.send(b"j");
    t.send(b"r");
    t.wait_for("Roll prod back to 1.0.0?", WAIT);
    t.send(b"2.0.0 double-charges");
    t.send(ENTER);
    // The cockpit opens on the new run, which deploys 1.0.0 to prod and ends.
    t.wait_for("1.0.0 (from 2.0.0 in prod)", WAIT);
    sb.wait_for("the rollback to finish", WAIT, || {
        sb.ledger().last().map(String::as_str) == Some("deploy prod")
            && newest_run(sb.home())
                .and_then(|d| std::fs::read_to_string(d.join("journal.ndjson")).ok())
                .is_some_and(|j| j.contains("\"run_finished\""))
    });
    let run = newest_run(sb.home()).unwrap();
    let recs = read_journal(&run.join("journal.ndjson"));
    let started = only(&recs, "run_started");
    assert_eq!(started["version"], "1.0.0");
    assert_eq!(started["rollback_to"]["env"], "prod");
    assert_eq!(started["rollback_to"]["reason"], "2.0.0 double-charges");
    assert_eq!(started["actor"]["user"], me().as_str());
    let ledger = sb.run(&["ledger", "--json", "--env", "prod"], WAIT);
    let v: Value = serde_json::from_slice(&ledger.stdout).unwrap();
    assert_eq!(v["environments"][0]["live"]["version"], "1.0.0", "{v:#}");
    // Leaving the cockpit of the ended run comes back to the board.
    t.send(b"q");
    t.wait_for("Slate board", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    t.assert_terminal_restored();
}

/// `:board` in a cockpit: the cockpit closes as a detach would (the
/// release goes on, still waiting) and the board opens in its place.
#[test]
fn board_from_the_cockpit_palette_leaves_the_release_running() {
    let sb = Sandbox::new();
    let mut headless = headless_at_gate(&sb);
    let run_id = newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut t = board(&sb, &["attach", &run_id]);
    t.wait_for("WAITING FOR APPROVAL", WAIT);
    t.send(b":");
    t.wait_for("Command", WAIT);
    t.send(b"board");
    t.send(ENTER);
    let s = t.wait_for("1 waiting for you", WAIT);
    assert!(s.contains("Slate board"), "{s}");
    // The release was not touched: still waiting at its gate.
    assert!(headless.try_wait().unwrap().is_none(), "the run goes on");
    let recs = read_journal(&sb.home().join("runs").join(&run_id).join("journal.ndjson"));
    assert!(
        !common::has(&recs, "abort_requested"),
        "nothing was aborted"
    );
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    t.assert_terminal_restored();
    let _ = headless.kill();
    let _ = headless.wait();
}

/// Freezes are shown before they bite: an ad-hoc `slate freeze` on prod
/// marks its column and is listed under the grid; the team's config.toml
/// freeze two days off is listed as coming; `slate unfreeze` takes the
/// first away while the board is open; the cockpit attached from the board
/// names the coming freeze in its header.
#[test]
fn freezes_in_effect_and_coming_show_on_the_board_and_in_the_cockpit() {
    let sb = Sandbox::new();
    let mut headless = headless_at_gate(&sb);
    let config = sb.home().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let at = |h: i64| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(h))
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[[freezes]]\nname = \"holiday\"\nenvironments = [\"*\"]\ntimezone = \"UTC\"\nfrom = \"{}\"\nuntil = \"{}\"\n",
            at(48),
            at(72)
        ),
    )
    .unwrap();
    let out = sb.run(
        &[
            "freeze",
            "prod",
            "--until",
            "1h",
            "--reason",
            "incident 4411",
        ],
        WAIT,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut t = board(&sb, &["board"]);
    let s = t.wait_for_all(
        &[
            &format!("❄ prod frozen now: freeze by {} (incident 4411)", me()),
            "❄ dev, prod frozen from",
        ],
        WAIT,
    );
    assert!(s.contains("❄ prod"), "the column is marked:\n{s}");
    assert!(sb.run(&["unfreeze", "prod"], WAIT).status.success());
    t.wait_until("the lifted freeze to leave the board", WAIT, || {
        !t.screen().contains("frozen now")
    });
    assert!(t.screen().contains("❄ dev, prod frozen from"));

    // The cockpit on the run (still ahead: prod) names the coming freeze.
    t.send(TAB);
    t.send(ENTER);
    t.wait_for_all(&["WAITING FOR APPROVAL", "❄ dev, prod frozen from"], WAIT);
    t.send(b"q");
    t.wait_for("Quit?", WAIT);
    t.send(b"d");
    t.wait_for("1 waiting for you", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    headless.kill().expect("stop the headless run");
    headless.wait().expect("reap it");
}

/// The palette's verbs that reach beyond the run, from the real binary:
/// `:attach RUN` leaves one waiting run's cockpit for another's (both go
/// on); there, `:lock` and `:freeze` stop the line on the environment it
/// shows, as `slate lock`/`slate freeze` would (`slate locks` lists both),
/// `:export` writes the journal to a new file, `:theme` switches colours.
#[test]
fn palette_verbs_attach_lock_freeze_export_and_theme() {
    let sb = Sandbox::new();
    let start = |name: &str, release: &str| {
        let plan = sb.plan(
            name,
            &PLAN.replacen("name = \"svc\"", &format!("name = \"{release}\""), 1),
        );
        sb.slate()
            .args(["run", "--headless", plan.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a headless run")
    };
    let gates = || {
        common::run_dirs(sb.home())
            .iter()
            .filter(|d| {
                std::fs::read_to_string(d.join("journal.ndjson"))
                    .is_ok_and(|j| j.contains("\"gate_waiting\""))
            })
            .count()
    };
    let other = start("other.toml", "other");
    sb.wait_for("the first gate", WAIT, || gates() == 1);
    let other_id = newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut svc = start("plan.toml", "svc");
    sb.wait_for("the second gate", WAIT, || gates() == 2);
    let svc_id = newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_ne!(svc_id, other_id);

    let mut t = board(&sb, &["attach", &svc_id]);
    t.wait_for("svc 2.0.0", WAIT);
    let palette = |t: &mut Term, cmd: &str| {
        t.send(b":");
        t.wait_for("Command", WAIT);
        t.send(cmd.as_bytes());
        t.send(ENTER);
    };
    palette(&mut t, "attach nosuchrun");
    t.wait_for("no run", WAIT);
    // Esc alone (with the next key it would read as Alt+key).
    t.send(b"\x1b");
    t.wait_until("the palette to close", WAIT, || {
        !t.screen().contains("Command")
    });
    palette(&mut t, &format!("attach {other_id}"));
    t.wait_for("other 2.0.0", WAIT);
    assert!(svc.try_wait().unwrap().is_none(), "the run left goes on");

    palette(&mut t, "lock incident 42");
    t.wait_for("prod is held", WAIT);
    palette(&mut t, "freeze 1h board meeting");
    t.wait_for("prod is frozen until", WAIT);
    let out = sb.run(&["locks"], WAIT);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed.contains(&format!("prod is held by {} since", me())),
        "{listed}"
    );
    assert!(listed.contains("incident 42"), "{listed}");
    assert!(listed.contains("prod frozen until"), "{listed}");
    assert!(listed.contains("board meeting"), "{listed}");

    palette(&mut t, "export");
    t.wait_for("exported", WAIT);
    let file = sb.path(&format!("slate-{other_id}.ndjson"));
    let text = std::fs::read_to_string(&file).expect("the exported journal");
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(common::ty(&first), "run_started");
    // Never over an existing file.
    palette(&mut t, "export");
    t.wait_for("exists; it was left as it is", WAIT);

    palette(&mut t, "theme light");
    t.wait_for("theme light", WAIT);
    t.send(b"q");
    t.wait_for("Quit?", WAIT);
    t.send(b"d");
    assert!(t.wait_exit(WAIT).success());
    for mut c in [other, svc] {
        assert!(c.try_wait().unwrap().is_none(), "both runs go on");
        c.kill().unwrap();
        c.wait().unwrap();
    }
}
