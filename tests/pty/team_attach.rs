//! Following and steering a team run from another machine, in a
//! pseudo-terminal: alice's run waits at a gate on her machine; carol, on
//! hers, follows it read-only; bob, on his (another state directory, the
//! same team store, his own database role), attaches by id and approves it
//! from the keyboard, and both cockpits follow it to its end.

use std::time::Duration;

use crate::common;
use common::postgres::TestDb;
use common::pty::Term;
use common::sandbox::Sandbox;

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
timeout = "2m"

[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_ENV"'
"#
);

/// alice's run of `plan`, started on her machine, once its gate waits; its id.
fn at_gate(db: &TestDb, alice: &Sandbox, plan: &std::path::Path) -> (std::process::Child, String) {
    let run = db.start_run(&db.url, alice, plan);
    alice.wait_for("the gate to wait", WAIT, || {
        common::newest_run(alice.home())
            .and_then(|d| std::fs::read_to_string(d.join("journal.ndjson")).ok())
            .is_some_and(|j| j.contains("\"gate_waiting\""))
    });
    (run, common::newest_run_id(alice.home()).unwrap())
}

#[test]
fn a_run_on_another_machine_is_followed_and_approved_from_the_keyboard() {
    let Some(db) =
        TestDb::create("a_run_on_another_machine_is_followed_and_approved_from_the_keyboard")
    else {
        return;
    };
    let (alice, bob, carol) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    let (bob_role, bob_url) = db.role("bob", true);
    let init = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["store", "init"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let o = db.slate(
        &alice,
        &["store", "grant", &bob_role, "steer", "--as", "bob"],
    );
    assert!(o.status.success(), "{}", common::said(&o));
    let plan = alice.plan("plan.toml", PLAN);
    let (run, id) = at_gate(&db, &alice, &plan);

    // Bob's status lists it among the runs of other machines.
    let st = bob
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["status"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&st.stdout).to_string();
    assert!(st.status.success(), "{listed}");
    assert!(listed.contains("on other machines:"), "{listed}");
    assert!(
        listed.contains(&format!("{id}  svc 2.0.0  on "))
            && listed.contains(&format!("slate attach {id} follows it")),
        "{listed}"
    );

    // Carol follows read-only.
    let mut c = Term::builder(&["attach", "--read-only", &id[..14]])
        .size(100, 30)
        .cwd(carol.dir.path())
        .env("SLATE_HOME", carol.home())
        .env("SLATE_STORE", &db.url)
        .tag(&carol.tag)
        .budget(Duration::from_secs(90))
        .start();
    c.wait_for_all(&["WAITING FOR APPROVAL", "[READ-ONLY]"], WAIT);
    c.send(b"a");
    c.wait_for("approve is not available", WAIT);

    // Bob steers from his machine, as his role.
    let mut t = Term::builder(&["attach", &id[..14]])
        .size(100, 30)
        .cwd(bob.dir.path())
        .env("SLATE_HOME", bob.home())
        .env("SLATE_STORE", &bob_url)
        .tag(&bob.tag)
        .budget(Duration::from_secs(90))
        .start();
    let s = t.wait_for("WAITING FOR APPROVAL", WAIT);
    assert!(s.contains("prod · gate go"), "{s}");
    assert!(!s.contains("READ-ONLY"), "{s}");
    t.send(b"a");
    t.wait_for("comment", WAIT);
    t.send(b"ok from bob");
    t.send(common::pty::ENTER);
    for term in [&t, &c] {
        term.wait_for("RELEASED", WAIT);
    }
    let out = common::sandbox::wait_output(run, WAIT, &["the run"]);
    assert!(out.status.success());
    let journal =
        std::fs::read_to_string(alice.home().join("runs").join(&id).join("journal.ndjson"))
            .unwrap();
    assert!(
        journal.contains(r#""actor":{"user":"bob","uid":4294967295,"via":"cockpit""#)
            && journal.contains("ok from bob"),
        "{journal}"
    );
    for term in [&mut t, &mut c] {
        term.wait_for("the run's engine has exited", WAIT);
        term.send(b"q");
        assert!(term.wait_exit(WAIT).success());
        term.assert_terminal_restored();
    }
    assert!(
        t.raw().contains(&format!("slate export {id}")),
        "{}",
        t.screen()
    );
}

/// Bob's board, on his machine, lists alice's run with the host it runs on
/// and puts its gate in his inbox (his role is in the plan's approvers);
/// he approves it from there, through the team store, and the run proceeds.
#[test]
fn the_board_on_another_machine_lists_the_run_and_approves_it() {
    let Some(db) = TestDb::create("the_board_on_another_machine_lists_the_run_and_approves_it")
    else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    let (bob_role, bob_url) = db.role("bob", true);
    assert!(db.slate(&alice, &["store", "init"]).status.success());
    let o = db.slate(
        &alice,
        &["store", "grant", &bob_role, "steer", "--as", "bob"],
    );
    assert!(o.status.success(), "{}", common::said(&o));
    let plan = alice.plan(
        "plan.toml",
        &PLAN.replace(
            "name = \"prod\"\n",
            "name = \"prod\"\napproval = { approvers = [\"bob\"] }\n",
        ),
    );
    let (run, id) = at_gate(&db, &alice, &plan);
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();

    let mut t = Term::builder(&["board"])
        .size(160, 40)
        .cwd(bob.dir.path())
        .env("SLATE_HOME", bob.home())
        .env("SLATE_STORE", &bob_url)
        .tag(&bob.tag)
        .budget(Duration::from_secs(90))
        .start();
    let s = t.wait_for("1 waiting for you", WAIT);
    assert!(s.contains(&format!("{id} · on {host}")), "{s}");
    // Releases → runs → inbox, then the approval dialog.
    t.send(b"\t");
    t.send(b"\t");
    t.send(b"a");
    t.wait_for("Approve?", WAIT);
    t.send(b"from bob's board");
    t.send(common::pty::ENTER);
    let out = common::sandbox::wait_output(run, WAIT, &["the run"]);
    assert!(out.status.success());
    let journal =
        std::fs::read_to_string(alice.home().join("runs").join(&id).join("journal.ndjson"))
            .unwrap();
    assert!(
        journal.contains(r#""actor":{"user":"bob","uid":4294967295,"via":"board""#)
            && journal.contains("from bob's board"),
        "{journal}"
    );
    t.wait_for("no gate waits for you", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
}
