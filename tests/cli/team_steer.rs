//! Steering a team run from other machines (issue 19) on a real
//! PostgreSQL, one database and its own roles per test: who asks is the
//! role the database authenticated, never a name the client gives; the
//! team's levels and the plan's approval policy (four-eyes, `@group` as a
//! database role) hold on every path, and each refusal is journaled.

use std::process::Stdio;
use std::time::Duration;

use crate::common;
use common::postgres::{TestDb, sql_on};
use common::said;
use common::sandbox::{Sandbox, wait_output};

const LIMIT: Duration = Duration::from_secs(60);

fn plan(group: &str) -> String {
    format!(
        r#"
[release]
name = "pay"
version = "2.0"
previous_version = "1.0"
owner = "owner"

[[environments]]
name = "dev"

[[environments]]
name = "prod"
approval = {{ required = 2, approvers = ["bob", "@{group}"], four_eyes = true }}
gates = ["go"]

[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_ENV" >> "$LEDGER"'
timeout = "60s"

[[gates]]
name = "go"
kind = "manual"
timeout = "10m"
"#
    )
}

/// How many records of `run` in the team journal hold every one of `parts`.
fn records(db: &TestDb, run: &str, parts: &[&str]) -> usize {
    let mut sql = format!("SELECT count(*)::text FROM slate.events WHERE run_id = '{run}'");
    for p in parts {
        sql.push_str(&format!(" AND record LIKE '%{}%'", p.replace('\'', "''")));
    }
    db.value(&sql).unwrap().parse().unwrap()
}

/// alice (run) starts a four-eyes release; she cannot approve it from her
/// machine's socket, from another machine, or by inserting the command in
/// SQL, nor write who asks herself; carol (watch) is refused and
/// journaled; mallory (outside the team) reads nothing; dave (in the
/// approvers' group role) and bob approve it from their machines, and a
/// command inserted twice under one key is carried out once.
#[test]
fn who_steers_a_team_run_is_the_role_the_database_authenticated() {
    let Some(db) = TestDb::create("who_steers_a_team_run_is_the_role_the_database_authenticated")
    else {
        return;
    };
    let (alice, alice_url) = db.role("alice", true);
    let (bob, bob_url) = db.role("bob", true);
    let (carol, carol_url) = db.role("carol", true);
    let (dave, dave_url) = db.role("dave", true);
    let (_mallory, mallory_url) = db.role("mallory", true);
    let (group, _) = db.role("approvers", false);
    sql_on(&db.url, &format!("GRANT {group} TO {dave}")).unwrap();
    let admin = Sandbox::new();
    assert!(db.slate(&admin, &["store", "init"]).status.success());
    for (role, level, person) in [
        (&alice, "run", "alice"),
        (&bob, "steer", "bob"),
        (&carol, "watch", "carol"),
        (&dave, "steer", "dave"),
    ] {
        let o = db.slate(&admin, &["store", "grant", role, level, "--as", person]);
        assert!(o.status.success(), "{}", said(&o));
    }
    let o = db.slate(&admin, &["store", "members"]);
    assert!(
        said(&o).contains(carol.as_str()) && said(&o).contains("watch"),
        "{}",
        said(&o)
    );

    let (a, b, c, d, m, a2) = (
        Sandbox::new(),
        Sandbox::new(),
        Sandbox::new(),
        Sandbox::new(),
        Sandbox::new(),
        Sandbox::new(),
    );
    let p = a.plan("plan.toml", &plan(&group));
    let run = a
        .slate()
        .env("SLATE_STORE", &alice_url)
        .args(["run", "--headless", p.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    a.wait_for("the gate in prod", LIMIT, || {
        db.value("SELECT count(*)::text FROM slate.events WHERE record LIKE '%\"gate_waiting\"%'")
            .as_deref()
            == Some("1")
    });
    let id = common::newest_run(a.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    // alice, on her machine (the socket) and on another (the team store).
    let o = db.slate_as(&alice_url, &a, &["approve", &id, "go", "--comment", "mine"]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(said(&o).contains("four-eyes"), "{}", said(&o));
    let o = db.slate_as(
        &alice_url,
        &a2,
        &["approve", &id[..12], "go", "--comment", "mine"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("four-eyes: alice started this run"),
        "{}",
        said(&o)
    );
    // In SQL: who asks is not hers to write…
    let e = sql_on(
        &alice_url,
        &format!(
            "INSERT INTO slate.commands (run_id, idem, action, actor) VALUES ('{id}', 'k0', '{{}}', '{bob}')"
        ),
    )
    .unwrap_err();
    assert!(e.contains("permission denied"), "{e}");
    // …and a command she inserts is hers.
    sql_on(
        &alice_url,
        &format!(
            r#"INSERT INTO slate.commands (run_id, idem, action) VALUES ('{id}', 'k1', '{{"action":"approve","gate":"go","comment":"raw"}}')"#
        ),
    )
    .unwrap();
    a.wait_for("the raw command's answer", LIMIT, || {
        db.value("SELECT answer FROM slate.commands WHERE idem = 'k1' AND answered_at IS NOT NULL")
            .is_some()
    });
    assert_eq!(
        db.value(
            "SELECT actor || ' ' || ok::text || ' ' || answer FROM slate.commands WHERE idem = 'k1'"
        )
        .unwrap(),
        format!(
            "{alice} false four-eyes: alice started this run, so someone else must approve prod"
        )
    );

    // What is not a command is answered so, and what is too big never lands.
    sql_on(
        &bob_url,
        &format!(
            "INSERT INTO slate.commands (run_id, idem, action) VALUES ('{id}', 'm1', '{{\"action\":\"launch\\u001b[2J\"}}')"
        ),
    )
    .unwrap();
    a.wait_for("the malformed command's answer", LIMIT, || {
        db.value("SELECT answer FROM slate.commands WHERE idem = 'm1' AND answered_at IS NOT NULL")
            .is_some()
    });
    let answer = db
        .value("SELECT ok::text || ' ' || answer FROM slate.commands WHERE idem = 'm1'")
        .unwrap();
    assert!(answer.starts_with("false malformed command"), "{answer}");
    assert!(!answer.contains('\u{1b}'), "{answer:?}");
    let e = sql_on(
        &bob_url,
        &format!(
            "INSERT INTO slate.commands (run_id, idem, action) VALUES ('{id}', 'm2', repeat('x', 70000))"
        ),
    )
    .unwrap_err();
    assert!(e.contains("check constraint"), "{e}");
    // A run nobody drives is said at once, not waited for.
    let o = db.slate_as(
        &bob_url,
        &b,
        &[
            "approve",
            "20200101-000000.000-dead",
            "go",
            "--comment",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        said(&o).contains("in the team journal either"),
        "{}",
        said(&o)
    );

    // carol watches: refused, and the journal says she tried.
    let o = db.slate_as(&carol_url, &c, &["approve", &id, "go", "--comment", "ok"]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("may watch the team's runs but not steer"),
        "{}",
        said(&o)
    );
    assert_eq!(
        records(
            &db,
            &id,
            &["command_refused", "\"user\":\"carol\"", "\"via\":\"team\""]
        ),
        1
    );
    let o = db.slate_as(&carol_url, &c, &["export", &id]);
    assert!(o.status.success(), "{}", said(&o));

    // mallory is outside the team: nothing to read, nothing to ask.
    let o = db.slate_as(&mallory_url, &m, &["export", &id]);
    assert!(!o.status.success());
    assert!(said(&o).contains("permission denied"), "{}", said(&o));
    let o = db.slate_as(&mallory_url, &m, &["approve", &id, "go", "--comment", "ok"]);
    assert!(!o.status.success());
    assert!(said(&o).contains("permission denied"), "{}", said(&o));
    let e = sql_on(&mallory_url, "SELECT count(*) FROM slate.events").unwrap_err();
    assert!(e.contains("permission denied"), "{e}");

    // A note inserted twice under one key (a client's retry) is one command.
    for _ in 0..2 {
        sql_on(
            &bob_url,
            &format!(
                r#"INSERT INTO slate.commands (run_id, idem, action) VALUES ('{id}', 'n1', '{{"action":"note","text":"once"}}') ON CONFLICT (actor, idem) DO NOTHING"#
            ),
        )
        .unwrap();
    }
    b.wait_for("the note", LIMIT, || records(&db, &id, &["\"once\""]) == 1);

    // dave, through the approvers' group role, then bob.
    let o = db.slate_as(&dave_url, &d, &["approve", &id, "go", "--comment", "group"]);
    assert!(o.status.success(), "{}", said(&o));
    let o = db.slate_as(&bob_url, &b, &["approve", &id, "go", "--comment", "LGTM"]);
    assert!(o.status.success(), "{}", said(&o));
    let o = wait_output(run, LIMIT, &["run"]);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(a.ledger(), ["deploy dev", "deploy prod"]);
    assert_eq!(
        records(
            &db,
            &id,
            &["\"approved\"", "\"user\":\"dave\"", "\"roles\":[\"", &group]
        ),
        1
    );
    assert_eq!(
        records(
            &db,
            &id,
            &["\"approved\"", "\"user\":\"bob\"", "\"via\":\"team\""]
        ),
        1
    );
    assert_eq!(records(&db, &id, &["\"note_added\"", "once"]), 1);
    assert_eq!(
        db.value("SELECT count(*)::text FROM slate.commands WHERE idem = 'n1'")
            .as_deref(),
        Some("1")
    );

    // Who froze is stamped by the database too, whatever the client says.
    let o = db.slate_as(
        &alice_url,
        &a,
        &["freeze", "prod", "--until", "2h", "--reason", "x"],
    );
    assert!(o.status.success(), "{}", said(&o));
    sql_on(
        &alice_url,
        "INSERT INTO slate.freezes (env, reason, starts, ends, tz, by, at) VALUES ('dev', 'y', 0, 1, 'UTC', 'bob', 0)",
    )
    .unwrap();
    assert_eq!(
        db.value("SELECT string_agg(DISTINCT by, ',') FROM slate.freezes")
            .as_deref(),
        Some("alice")
    );
    // A member who may only steer cannot freeze at all.
    let o = db.slate_as(
        &bob_url,
        &b,
        &["freeze", "prod", "--until", "2h", "--reason", "x"],
    );
    assert!(!o.status.success());
    assert!(said(&o).contains("permission denied"), "{}", said(&o));
}

/// `slate store grant` names what is wrong (a role that does not exist, an
/// empty person) without echoing a terminal's controls, and a revoked role
/// reads nothing from then on.
#[test]
fn grants_say_what_is_wrong_and_a_revoked_role_reads_nothing() {
    let Some(db) = TestDb::create("grants_say_what_is_wrong_and_a_revoked_role_reads_nothing")
    else {
        return;
    };
    let admin = Sandbox::new();
    assert!(db.slate(&admin, &["store", "init"]).status.success());
    let o = db.slate(&admin, &["store", "grant", "ghost\u{1b}[2J", "watch"]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(said(&o).contains("no database role ghost"), "{}", said(&o));
    assert!(!said(&o).contains('\u{1b}'), "{:?}", said(&o));
    let (carol, carol_url) = db.role("carol", true);
    let o = db.slate(&admin, &["store", "grant", &carol, "watch", "--as", " "]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(said(&o).contains("neither may be empty"), "{}", said(&o));
    let o = db.slate(
        &admin,
        &["store", "grant", &carol, "watch", "--as", "carol"],
    );
    assert!(o.status.success(), "{}", said(&o));
    sql_on(&carol_url, "SELECT count(*) FROM slate.runs").unwrap();
    let o = db.slate(&admin, &["store", "members", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["person"], "carol");
    assert_eq!(v[0]["level"], "watch");
    let o = db.slate(&admin, &["store", "revoke", &carol]);
    assert!(
        said(&o).contains("is no longer in the team"),
        "{}",
        said(&o)
    );
    let e = sql_on(&carol_url, "SELECT count(*) FROM slate.runs").unwrap_err();
    assert!(e.contains("permission denied"), "{e}");
    let o = db.slate(&admin, &["store", "members", "--json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}
