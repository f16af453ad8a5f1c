//! Following a team run from another machine, in a pseudo-terminal: alice's
//! run waits at a gate on her machine; bob, on his (another state
//! directory, the same team store), attaches to it by id and sees it —
//! read-only, since steering from another machine is not built yet — and
//! follows it to its end when alice approves on hers.

use std::process::Stdio;
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

#[test]
fn a_run_on_another_machine_is_followed_read_only_to_its_end() {
    let Some(db) = TestDb::create("a_run_on_another_machine_is_followed_read_only_to_its_end")
    else {
        return;
    };
    let (alice, bob) = (Sandbox::new(), Sandbox::new());
    let init = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["store", "init"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let plan = alice.plan("plan.toml", PLAN);
    let run = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["run", "--headless", plan.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    alice.wait_for("the gate to wait", WAIT, || {
        common::newest_run(alice.home())
            .and_then(|d| std::fs::read_to_string(d.join("journal.ndjson")).ok())
            .is_some_and(|j| j.contains("\"gate_waiting\""))
    });
    let id = common::newest_run(alice.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();

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

    let mut t = Term::builder(&["attach", &id[..14]])
        .size(100, 30)
        .cwd(bob.dir.path())
        .env("SLATE_HOME", bob.home())
        .env("SLATE_STORE", &db.url)
        .tag(&bob.tag)
        .budget(Duration::from_secs(90))
        .start();
    let s = t.wait_for_all(&["WAITING FOR APPROVAL", "[READ-ONLY]"], WAIT);
    assert!(s.contains("prod · gate go"), "{s}");
    // Deciding is refused here, and says why.
    t.send(b"a");
    t.wait_for("its engine is on another machine", WAIT);

    // Alice approves on her machine; bob's cockpit follows to the end.
    let o = alice
        .slate()
        .env("SLATE_STORE", &db.url)
        .args(["approve", &id, "--comment", "ok from alice"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.wait_for("RELEASED", WAIT);
    let out = common::sandbox::wait_output(run, WAIT, &["the run"]);
    assert!(out.status.success());
    t.wait_for("the run's engine has exited", WAIT);
    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    t.assert_terminal_restored();
    assert!(
        t.raw().contains(&format!("slate export {id}")),
        "{}",
        t.screen()
    );
}
