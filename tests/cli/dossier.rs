//! Deployment dossiers of real runs — released, rolled back, crashed — read
//! back with a markdown parser: the eight sections in order, tables whose
//! rows fit their headers, and a memory entry within 120 words. Also the
//! history index, `slate memory` and saving a review.

use std::time::Duration;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::Value;

use crate::common;
use common::sandbox::Sandbox;

const RUN: Duration = Duration::from_secs(60);

const SECTIONS: [&str; 8] = [
    "Release Summary",
    "Environment Matrix",
    "Deployment Plan",
    "Verification & Monitoring",
    "Rollback Strategy",
    "Post-Deployment Actions",
    "Communication Plan",
    "Memory Entry",
];

const HEAD: &str = common::release_plan!(
    "ledger-api" "3.1.0" from "3.0.2" by "release-team";
    r#"scope = "the ledger API and its workers"
notes = "Adds idempotency keys to POST /entries."
"#
);

const RELEASED: &str = r#"
[[environments]]
name = "dev"
config = { replicas = 1, log = "debug" }

[[environments]]
name = "staging"
config = { replicas = 2, log = "info" }
analysis = "post-deploy"

[[environments]]
name = "prod"
config = { replicas = 6, log = "info" }
gates = ["prod-ok"]

[[gates]]
name = "prod-ok"
kind = "manual"

[[stages]]
name = "build"
kind = "build"
owner = "ci-team"
command = 'echo "build $SLATE_ENV" >> "$LEDGER"'

[[stages]]
name = "deploy"
kind = "restart"
command = 'echo "deploy $SLATE_ENV" >> "$LEDGER"'
rollback = 'echo "undo deploy $SLATE_ENV" >> "$LEDGER"'
smoke = ["alive"]

[[checks]]
name = "alive"
command = "true"

[[metrics]]
name = "errors"
unit = "ratio"
command = "echo 0.01"
interval = "100ms"
success = "<= 0.05"

[[analyses]]
name = "post-deploy"
metrics = ["errors"]
count = 2
"#;

const ROLLED_BACK: &str = r#"
[[environments]]
name = "dev"

[[environments]]
name = "staging"
verify_rollback = { command = "true" }

[[stages]]
name = "deploy"
kind = "restart"
command = 'echo "deploy $SLATE_ENV" >> "$LEDGER"'
rollback = 'echo "undo deploy $SLATE_ENV" >> "$LEDGER"'

[[stages]]
name = "migrate"
kind = "migrate"
command = 'if [ "$SLATE_ENV" = staging ]; then echo "lock timeout" >&2; exit 3; fi'
"#;

const CRASHING: &str = r#"
[[environments]]
name = "dev"

[[stages]]
name = "deploy"
kind = "restart"
command = 'echo started >> "$LEDGER"; sleep 30'
"#;

/// The parts of a dossier a reviewer relies on, as the parser sees them.
struct Parsed {
    h1: Vec<String>,
    h2: Vec<String>,
    /// Each table: the section it is in, its header cells, and each row's cells.
    tables: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
    /// The text of each h2 section.
    sections: Vec<(String, String)>,
}

fn parse(md: &str) -> Parsed {
    let mut p = Parsed {
        h1: vec![],
        h2: vec![],
        tables: vec![],
        sections: vec![],
    };
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut cell: Option<String> = None;
    let mut row: Vec<String> = vec![];
    let mut in_head = false;
    for ev in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => {
                let (level, text) = heading.take().expect("heading open");
                match level {
                    HeadingLevel::H1 => p.h1.push(text),
                    HeadingLevel::H2 => {
                        p.h2.push(text.clone());
                        p.sections.push((text, String::new()));
                    }
                    _ => {}
                }
            }
            Event::Start(Tag::Table(_)) => {
                let section = p.h2.last().cloned().unwrap_or_default();
                p.tables.push((section, vec![], vec![]));
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => {
                in_head = false;
                p.tables.last_mut().unwrap().1 = std::mem::take(&mut row);
            }
            Event::End(TagEnd::TableRow) => p
                .tables
                .last_mut()
                .unwrap()
                .2
                .push(std::mem::take(&mut row)),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => row.push(cell.take().unwrap()),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h)) = heading.as_mut() {
                    h.push_str(&t);
                } else if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                } else if let Some((_, s)) = p.sections.last_mut() {
                    s.push_str(&t);
                }
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Item) => {
                if let Some((_, s)) = p.sections.last_mut() {
                    s.push(' ');
                }
            }
            _ => {}
        }
    }
    let _ = in_head;
    p
}

/// Everything every dossier must satisfy, whatever the run did.
fn assert_well_formed(md: &str) -> Parsed {
    let p = parse(md);
    assert_eq!(p.h1.len(), 1, "one title:\n{md}");
    assert_eq!(p.h2, SECTIONS, "the eight sections, in order");
    for (section, head, rows) in &p.tables {
        assert!(!head.is_empty(), "a table in {section} has no header");
        for r in rows {
            assert_eq!(
                r.len(),
                head.len(),
                "a row in {section} does not fit its header {head:?}: {r:?}"
            );
        }
    }
    let memory = &p.sections.last().expect("sections").1;
    let words = memory.split_whitespace().count();
    assert!(
        (1..=120).contains(&words),
        "memory entry has {words} words: {memory}"
    );
    p
}

fn table<'a>(
    p: &'a Parsed,
    section: &str,
    first_header: &str,
) -> &'a (String, Vec<String>, Vec<Vec<String>>) {
    p.tables
        .iter()
        .find(|(s, h, _)| s == section && h.first().is_some_and(|c| c == first_header))
        .unwrap_or_else(|| panic!("no table starting with {first_header} in {section}"))
}

fn run_dir(sb: &Sandbox) -> std::path::PathBuf {
    common::newest_run(sb.home()).expect("a run")
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_released_run_leaves_a_complete_dossier() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{RELEASED}"));
    let out = sb.run(
        &[
            "run",
            "--headless",
            "--approve",
            "prod-ok",
            plan.to_str().unwrap(),
        ],
        RUN,
    );
    assert!(
        out.status.success(),
        "released run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Written by the engine when the run ended, and identical to the on-demand one.
    let written = std::fs::read_to_string(run_dir(&sb).join("dossier.md")).expect("dossier.md");
    let printed = text(&sb.run(&["dossier", "latest"], RUN));
    assert_eq!(written.trim_end(), printed.trim_end());
    let p = assert_well_formed(&written);

    let (_, head, rows) = table(&p, "Environment Matrix", "Environment");
    assert_eq!(head.len(), 6);
    assert_eq!(rows.len(), 3, "one row per environment");
    assert!(
        rows.iter()
            .all(|r| r[2].contains("3.0.2") && r[2].contains("3.1.0")),
        "{rows:?}"
    );
    assert!(
        rows[1][3].contains("~replicas: 1 → 2"),
        "config delta: {:?}",
        rows[1]
    );
    assert!(
        rows[2][4].contains("approved prod-ok"),
        "approval: {:?}",
        rows[2]
    );
    assert!(rows.iter().all(|r| r[5].contains("deployed")));

    let plans: Vec<_> = p
        .tables
        .iter()
        .filter(|(s, _, _)| s == "Deployment Plan")
        .collect();
    assert_eq!(plans.len(), 3, "a checklist per environment");
    for (_, head, rows) in &plans {
        assert_eq!(
            head,
            &[
                "#", "Step", "Owner", "Command", "Timeout", "Duration", "Retries", "Result"
            ]
        );
        assert!(rows.iter().all(|r| r[7].starts_with('✔')), "{rows:?}");
    }
    let build = plans[0]
        .2
        .iter()
        .find(|r| r[1] == "build")
        .expect("build row");
    assert_eq!(build[2], "ci-team");
    assert!(build[3].contains("echo \"build $SLATE_ENV\""));

    let (_, _, checks) = table(&p, "Verification & Monitoring", "Environment");
    assert!(
        checks
            .iter()
            .any(|r| r[2] == "alive" && r[3] == "smoke" && r[5].contains("passed"))
    );
    let metrics = p
        .tables
        .iter()
        .find(|(s, h, _)| s == "Verification & Monitoring" && h.contains(&"Metric".to_string()))
        .expect("metrics table");
    let errors = &metrics.2[0];
    assert_eq!(errors[2], "errors");
    assert_eq!(errors[3], "<= 0.05");
    assert_eq!(errors[4], "2 of 2");
    assert!(
        errors[6].starts_with("0.01") && errors[7].starts_with("0.01"),
        "{errors:?}"
    );
    assert!(written.contains("**post-deploy** in staging: passed"));
    assert!(written.contains("No rollback happened."));
    let summary = &p.sections[0].1;
    assert!(
        summary.contains("Adds idempotency keys"),
        "release notes: {summary}"
    );
    let memory = &p.sections[7].1;
    assert!(
        memory.contains("ledger-api 3.1.0 replaced 3.0.2"),
        "{memory}"
    );
}

#[test]
fn a_rolled_back_run_says_why_and_what_was_undone() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{ROLLED_BACK}"));
    let out = sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        sb.ledger().contains(&"undo deploy staging".to_string()),
        "{:?}",
        sb.ledger()
    );

    let md = std::fs::read_to_string(run_dir(&sb).join("dossier.md")).expect("dossier.md");
    let p = assert_well_formed(&md);
    let (_, _, rows) = table(&p, "Environment Matrix", "Environment");
    assert!(rows[0][5].contains("deployed"));
    assert!(
        rows[1][5].contains("rolled back, verified"),
        "{:?}",
        rows[1]
    );
    assert!(rows[1][2].contains("(rolled back)"));
    let staging = &p
        .tables
        .iter()
        .filter(|(s, _, _)| s == "Deployment Plan")
        .nth(1)
        .unwrap()
        .2;
    let migrate = staging.iter().find(|r| r[1] == "migrate").unwrap();
    assert!(migrate[7].contains("failed"), "{migrate:?}");
    let deploy = staging.iter().find(|r| r[1] == "deploy").unwrap();
    assert!(deploy[7].contains("undone"), "{deploy:?}");

    let rollback = &p.sections[4].1;
    assert!(rollback.contains("Trigger: a step failed."), "{rollback}");
    assert!(rollback.contains("Recovery ✔ verified"), "{rollback}");
    let (_, _, undone) = table(&p, "Rollback Strategy", "Step undone");
    assert!(
        undone
            .iter()
            .any(|r| r[0] == "deploy" && r[1].contains("undone"))
    );
    let actions = &p.sections[5].1;
    assert!(actions.contains("staging / migrate: ✘ failed"), "{actions}");
    assert!(
        actions.contains("dev still runs 3.1.0: keep it"),
        "{actions}"
    );
    assert!(
        p.sections[7].1.contains("did not ship"),
        "{}",
        p.sections[7].1
    );
    // One environment "runs", never "run".
    assert!(
        p.sections[7].1.contains(" dev still runs 3.1.0."),
        "{}",
        p.sections[7].1
    );
}

#[test]
fn a_crashed_run_has_a_dossier_on_demand_and_shows_as_interrupted() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{CRASHING}"));
    let mut child = sb
        .slate()
        .args(["run", "--headless", plan.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start slate");
    sb.wait_for("the stage to start", RUN, || {
        sb.ledger().contains(&"started".to_string())
    });
    child.kill().expect("SIGKILL slate");
    child.wait().expect("reap slate");

    let dir = run_dir(&sb);
    assert!(
        !dir.join("dossier.md").exists(),
        "a killed engine wrote no dossier"
    );
    let out = sb.run(&["dossier", "latest"], RUN);
    assert!(out.status.success());
    let md = text(&out);
    let p = assert_well_formed(&md);
    assert!(md.contains("never finished"), "{md}");
    let (_, _, rows) = table(&p, "Environment Matrix", "Environment");
    assert!(rows[0][5].contains("interrupted"), "{rows:?}");
    let plan_rows = &p
        .tables
        .iter()
        .find(|(s, _, _)| s == "Deployment Plan")
        .unwrap()
        .2;
    assert!(plan_rows[0][7].contains("interrupted"), "{plan_rows:?}");
    assert!(
        p.sections[7].1.contains("was interrupted"),
        "{}",
        p.sections[7].1
    );

    // History learns the run is over although its index line says "running".
    let out = sb.run(&["memory", "--json"], RUN);
    let list: Value = serde_json::from_slice(&out.stdout).expect("memory --json");
    assert_eq!(list[0]["outcome"], "interrupted", "{list}");

    // -o writes the file, owner-only.
    let file = sb.path("crash.md");
    let out = sb.run(&["dossier", "latest", "-o", file.to_str().unwrap()], RUN);
    assert!(out.status.success());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim_end(),
        md.trim_end()
    );
}

#[test]
fn a_saved_review_is_journaled_and_replaces_the_memory_entry() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{ROLLED_BACK}"));
    sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    let dir = run_dir(&sb);
    let before = std::fs::read_to_string(dir.join("journal.ndjson")).unwrap();

    let review = slate::engine::event::Review {
        went_well: "rollback took 2 seconds".into(),
        went_wrong: "the staging migration hit a lock timeout".into(),
        follow_ups: "- dba: add lock_timeout to migrations\n- team: retry Friday".into(),
        incidents: "INC-4242".into(),
        memory: Some(
            "Staging migration locked; rolled back cleanly. Add lock_timeout first.".into(),
        ),
        ..Default::default()
    };
    slate::review::save(sb.home(), &dir, review).expect("save review");

    let after = std::fs::read_to_string(dir.join("journal.ndjson")).unwrap();
    assert!(after.starts_with(&before), "past records are never edited");
    let last: Value = serde_json::from_str(after.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"]["type"], "review_saved");
    assert_eq!(
        last["seq"].as_u64(),
        Some(before.lines().count() as u64 + 1)
    );

    let md = std::fs::read_to_string(dir.join("dossier.md")).unwrap();
    let p = assert_well_formed(&md);
    assert!(
        p.sections[5]
            .1
            .contains("the staging migration hit a lock timeout")
    );
    assert!(
        p.sections[5]
            .1
            .contains("dba: add lock_timeout to migrations")
    );
    assert!(p.sections[5].1.contains("INC-4242"));
    assert_eq!(
        p.sections[7]
            .1
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        "Staging migration locked; rolled back cleanly. Add lock_timeout first."
    );
    let out = sb.run(&["memory", "--json"], RUN);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list[0]["memory"],
        "Staging migration locked; rolled back cleanly. Add lock_timeout first."
    );
}

#[test]
fn the_store_repairs_itself() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{ROLLED_BACK}"));
    for _ in 0..3 {
        sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    }
    let store = sb.home().join(slate::store::STORE_FILE);
    let first = slate::runs::load(sb.home());
    assert_eq!(first.runs.len(), 3);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    assert!(
        first.runs.windows(2).all(|w| w[0].run_id > w[1].run_id),
        "newest first"
    );

    // A lost store is rebuilt from the journals, with the same answers, and says so.
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", store.display()));
    }
    let rebuilt = slate::runs::load(sb.home());
    assert_eq!(rebuilt.runs, first.runs);
    assert!(
        rebuilt
            .notices
            .iter()
            .any(|n| n.contains("from 3 run journals")),
        "{:?}",
        rebuilt.notices
    );

    // A deleted run disappears.
    std::fs::remove_dir_all(sb.home().join("runs").join(&first.runs[0].run_id)).unwrap();
    let after = slate::runs::load(sb.home());
    assert_eq!(after.runs.len(), 2);
    assert_eq!(after.runs[..], first.runs[1..]);
}

#[test]
fn slate_review_in_a_terminal_saves_what_was_typed() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{ROLLED_BACK}"));
    sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    let mut term = common::pty::Term::spawn(
        &["review", "latest"],
        &[("SLATE_HOME", sb.home())],
        sb.dir.path(),
        110,
        34,
    );
    term.wait_for("Post-deploy review", RUN);
    let screen = term.wait_for("(generated)", RUN);
    assert!(
        screen.contains("did not ship"),
        "the generated entry is shown:\n{screen}"
    );
    term.send(b"rolled back by itself");
    for _ in 0..5 {
        term.send(b"\t");
    }
    term.send(b"Staging migrations need lock_timeout.");
    term.wait_for("4/120 words", RUN);
    term.send(b"\x13"); // Ctrl-S
    let status = term.wait_exit(RUN);
    assert!(status.success(), "{status:?}");
    let md = std::fs::read_to_string(run_dir(&sb).join("dossier.md")).unwrap();
    let p = assert_well_formed(&md);
    assert!(p.sections[5].1.contains("rolled back by itself"));
    assert!(
        p.sections[7]
            .1
            .contains("Staging migrations need lock_timeout.")
    );
}

#[test]
fn release_notes_list_the_commits_between_the_two_versions() {
    if !common::loopback::has_git() {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let sb = Sandbox::new();
    common::loopback::tagged_repo(
        &sb.path("repo"),
        &[
            ("before the release", Some("3.0.2")),
            ("add idempotency keys", None),
            ("fix the ledger rounding", Some("3.1.0")),
        ],
    );
    let head = HEAD.replace(
        "owner = \"release-team\"",
        "owner = \"release-team\"\nrepository = \"repo\"",
    );
    let plan = sb.plan("plan.toml", &format!("{head}{ROLLED_BACK}"));
    sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    let md = text(&sb.run(&["dossier", "latest"], RUN));
    let p = assert_well_formed(&md);
    let summary = &p.sections[0].1;
    assert!(summary.contains("add idempotency keys"), "{summary}");
    assert!(summary.contains("fix the ledger rounding"), "{summary}");
    assert!(
        !summary.contains("before the release"),
        "only commits after the previous version: {summary}"
    );
}

/// A webhook receiver on 127.0.0.1 that answers 204 to anything; returns its port.
fn receiver() -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64).flatten() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut r = BufReader::new(conn);
            let mut len = 0usize;
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
                line.clear();
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ = r.get_mut().write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    port
}

#[test]
fn the_communication_plan_shows_deliveries_and_never_a_webhook_url() {
    let sb = Sandbox::new();
    let port = receiver();
    let comms = format!(
        r##"
[[stakeholders]]
name = "Payments team"
role = "informed"
contact = "#payments"

[[stakeholders]]
name = "Support desk"
role = "support"
contact = "support@example.com"

[[channels]]
name = "ops-chat"
format = "slack"
url = "http://127.0.0.1:{port}/hooks/s3cr3t-T0KEN"

[[channels]]
name = "pager"
url = "http://127.0.0.1:9/never?token=pager-s3cr3t"
retries = 0
timeout = "1s"
events = ["completed"]

[communication]
cadence = "1m"
support = "payments on-call, #payments-oncall"
"##
    );
    let plan = sb.plan("plan.toml", &format!("{HEAD}{comms}{ROLLED_BACK}"));
    let out = sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md =
        std::fs::read_to_string(common::newest_run(sb.home()).unwrap().join("dossier.md")).unwrap();
    let p = assert_well_formed(&md);
    for secret in ["s3cr3t-T0KEN", "pager-s3cr3t", "/hooks", ":9/"] {
        assert!(
            !md.contains(secret),
            "the dossier shows part of a webhook URL ({secret})"
        );
    }
    let (_, _, people) = table(&p, "Communication Plan", "Name");
    assert_eq!(
        people.len(),
        3,
        "the owner and two stakeholders: {people:?}"
    );
    assert!(
        people
            .iter()
            .any(|r| r[0] == "Support desk" && r[2] == "support@example.com")
    );
    let (_, _, channels) = table(&p, "Communication Plan", "Channel");
    assert_eq!(channels.len(), 2);
    let (_, _, sent) = table(&p, "Communication Plan", "Time");
    let about = |channel: &str, kind: &str| sent.iter().find(|r| r[1] == channel && r[2] == kind);
    for kind in [
        "run_started",
        "env_promoted",
        "rollback",
        "failure",
        "completed",
    ] {
        let row =
            about("ops-chat", kind).unwrap_or_else(|| panic!("no {kind} to ops-chat: {sent:?}"));
        assert!(row[3].contains("delivered"), "{row:?}");
    }
    let pager = about("pager", "completed").expect("the completion notice to the pager");
    assert!(pager[3].contains("failed") && pager[4] == "1", "{pager:?}");
    assert!(pager[5].contains("connection refused"), "{pager:?}");
    assert!(
        sent.iter().all(|r| r[1] != "pager" || r[2] == "completed"),
        "pager hears only completion"
    );
    let text = &p.sections[6].1;
    assert!(text.contains("a status update every 1m 00s"), "{text}");
    assert!(text.contains("payments on-call"), "{text}");
    assert!(
        p.sections[5].1.contains("not delivered"),
        "a follow-up for the failed delivery"
    );
}

#[test]
fn the_pre_release_dossier_has_the_eight_sections_and_says_it_is_a_plan() {
    let sb = Sandbox::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    let out = sb.run(&["plan", example, "--dossier"], RUN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = text(&out);
    let p = assert_well_formed(&md);
    assert!(
        p.h1[0].starts_with("Pre-release dossier (plan)"),
        "{}",
        p.h1[0]
    );
    assert!(md.contains("This is a plan, not a record."));
    // Nothing ran: every step is planned, none skipped or done.
    let plan = table(&p, "Deployment Plan", "#");
    assert!(plan.2.iter().all(|r| r[7] == "planned"), "{:?}", plan.2);
    let matrix = table(&p, "Environment Matrix", "Environment");
    assert_eq!(matrix.2.len(), 3);
    assert!(
        matrix.2[2][4].contains("with a comment"),
        "{:?}",
        matrix.2[2]
    );
    // Nothing is written to the state directory: no run exists.
    assert!(common::run_dirs(sb.home()).is_empty());
}

#[test]
fn a_run_s_dossier_says_where_it_departed_from_its_plan() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", &format!("{HEAD}{ROLLED_BACK}"));
    let out = sb.run(&["run", "--headless", plan.to_str().unwrap()], RUN);
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(run_dir(&sb).join("dossier.md")).expect("dossier.md");
    let against = md
        .lines()
        .find(|l| l.starts_with("Against its plan"))
        .unwrap_or_else(|| panic!("no comparison with the plan:\n{md}"));
    assert!(against.contains("--dossier"), "{against}");
    assert!(against.contains("failed"), "{against}");
    assert!(against.contains("undone"), "{against}");
    assert!(against.contains("rolled back: staging"), "{against}");
}
