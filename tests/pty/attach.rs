//! `slate attach`: cockpits in pseudo-terminals following a headless run in
//! another process through its control socket. Both see the run replayed
//! from its start and then live; the one that may act approves the gate as
//! its OS user; the read-only one cannot; leaving either keeps the run going.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::pty::{ENTER, Term};
use common::sandbox::Sandbox;
use common::{events, newest_run, only, read_journal};

const WAIT: Duration = Duration::from_secs(20);

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
rollback = 'echo "undo $SLATE_ENV" >> "$LEDGER"'
"#
);

fn attach(sb: &Sandbox, extra: &[&str]) -> Term {
    attach_osc(sb, extra, true)
}

/// With OSC sequences allowed (`SLATE_NO_OSC` unset), or turned off.
fn attach_osc(sb: &Sandbox, extra: &[&str], osc: bool) -> Term {
    let mut args = vec!["attach"];
    args.extend_from_slice(extra);
    let b = Term::builder(&args);
    let b = if osc {
        b.env_remove("SLATE_NO_OSC")
    } else {
        b.env("SLATE_NO_OSC", "1")
    };
    b.size(110, 32)
        .cwd(sb.dir.path())
        .env("SLATE_HOME", sb.home())
        .tag(&sb.tag)
        .budget(Duration::from_secs(60))
        .start()
}

#[test]
fn two_cockpits_follow_a_headless_run_and_one_approves_it() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", PLAN);
    let headless = sb
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

    // Attached after the fact, both show what already happened, then the gate.
    let driver = attach(&sb, &[]);
    let observer = attach_osc(&sb, &["--read-only"], false);
    for t in [&driver, &observer] {
        let s = t.wait_for("WAITING FOR APPROVAL", WAIT);
        assert!(s.contains("dev"), "dev's deploy is replayed:\n{s}");
    }

    // The observer's keys change nothing.
    let mut observer = observer;
    observer.send(b"a");
    observer.wait_for(
        "read-only (attach --read-only): approve is not available",
        WAIT,
    );

    // The driver approves through the socket, as this OS user.
    let mut driver = driver;
    driver.send(b"a");
    driver.wait_for("comment", WAIT);
    driver.send(b"checked from attach");
    driver.send(ENTER);
    for t in [&driver, &observer] {
        t.wait_for("RELEASED", WAIT);
    }
    let out = common::sandbox::wait_output(headless, WAIT, &["run", "--headless"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(sb.ledger(), ["deploy dev", "deploy prod"]);

    let recs: Vec<Value> = read_journal(&newest_run(sb.home()).unwrap().join("journal.ndjson"));
    let approved = only(&recs, "approved");
    assert_eq!(approved["actor"]["via"], "cockpit");
    assert_eq!(approved["comment"], "checked from attach");
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .map(|u| u.name)
        .unwrap();
    assert_eq!(approved["actor"]["user"], me.as_str());
    assert!(
        events(&recs, "command_refused").is_empty(),
        "the observer sent nothing"
    );

    // Inside the cockpit, the ended run names its dossier: a link (OSC 8)
    // where OSC is allowed, plain text with SLATE_NO_OSC.
    let dossier = newest_run(sb.home()).unwrap().join("dossier.md");
    let link = format!("\x1b]8;;file://{}", dossier.display());
    for t in [&driver, &observer] {
        t.wait_for(&format!("dossier: {}", dossier.display()), WAIT);
    }
    assert!(
        driver.raw().contains(&link),
        "{:?}",
        common::pty::tail(&driver.raw())
    );
    assert!(!observer.raw().contains("\x1b]8;"));

    // Leaving is just leaving, and says how the run ended.
    for t in [&mut driver, &mut observer] {
        t.send(b"q");
        assert!(t.wait_exit(WAIT).success());
        let after = t.assert_terminal_restored();
        assert!(after.contains("released"), "{after}");
        assert!(after.contains("dossier: "), "{after}");
    }
    // Printed after leaving, too.
    assert!(
        driver.raw().contains(&link),
        "{:?}",
        common::pty::tail(&driver.raw())
    );
    assert!(
        !observer.raw().contains("\x1b]8;"),
        "{:?}",
        common::pty::tail(&observer.raw())
    );
}

#[test]
fn attaching_to_a_run_that_is_not_active_says_so() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &PLAN.replace("gates = [\"go\"]", ""));
    let out = sb.run(&["run", "--headless", plan.to_str().unwrap()], WAIT);
    assert!(out.status.success());
    let t = attach(&sb, &[]);
    let status = t.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 2);
    let s = t.screen();
    assert!(
        s.contains("is not active") && s.contains("slate replay"),
        "{s}"
    );
}

#[test]
fn two_attached_cockpits_see_each_other_steering_and_watching() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", PLAN);
    let headless = sb
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
    let wide = |extra: &[&str]| {
        let mut args = vec!["attach"];
        args.extend_from_slice(extra);
        Term::builder(&args)
            .size(160, 40)
            .cwd(sb.dir.path())
            .env("SLATE_HOME", sb.home())
            .tag(&sb.tag)
            .budget(Duration::from_secs(60))
            .start()
    };
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .map(|u| u.name)
        .unwrap();
    let mut driver = wide(&[]);
    driver.wait_for("WAITING FOR APPROVAL", WAIT);
    assert!(!driver.screen().contains("also here"), "alone so far");
    let mut observer = wide(&["--read-only"]);
    // Each is told of the other, as the kernel names them, and how they follow.
    driver.wait_for(&format!("also here: {me} watching <1m"), WAIT);
    observer.wait_for(&format!("also here: {me} steering <1m"), WAIT);
    // Leaving takes the observer off the driver's header.
    observer.send(b"q");
    assert!(observer.wait_exit(WAIT).success());
    driver.wait_without("also here", WAIT);

    driver.send(b"a");
    driver.wait_for("comment", WAIT);
    driver.send(b"ok");
    driver.send(ENTER);
    driver.wait_for("RELEASED", WAIT);
    let out = common::sandbox::wait_output(headless, WAIT, &["run", "--headless"]);
    assert!(out.status.success());
    // Presence is not part of the run: nothing about it was journaled.
    let journal =
        std::fs::read_to_string(newest_run(sb.home()).unwrap().join("journal.ndjson")).unwrap();
    assert!(!journal.contains("watch"), "{journal}");
    driver.send(b"q");
    assert!(driver.wait_exit(WAIT).success());
}
