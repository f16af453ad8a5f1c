//! The store and the release ledger, through the real binary: runs of one
//! plan through dev, staging and prod make the ledger say exactly what is
//! live where and what was before; a rebuild from the journals gives the
//! same answers as the store the runs wrote as they went; runs writing at
//! once lose nothing; a missing, corrupt, truncated, newer or non-file
//! store is told plainly and never costs a journal.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::sandbox::{Sandbox, wait_output};

const LIMIT: Duration = Duration::from_secs(60);

/// A plan of `version` through dev, staging and prod (a pre-approvable
/// gate before prod); prod fails while `fail-prod` exists in the work
/// directory, and its deploy is rolled back.
fn plan(sb: &Sandbox, version: &str, previous: &str) -> std::path::PathBuf {
    sb.plan(
        &format!("plan-{version}.toml"),
        &format!(
            r#"
[release]
name = "payments"
version = "{version}"
previous_version = "{previous}"
owner = "release-team"

[[environments]]
name = "dev"
config = {{ replicas = 1 }}

[[environments]]
name = "staging"
config = {{ replicas = 2 }}

[[environments]]
name = "prod"
config = {{ replicas = 6 }}
gates = ["prod-ok"]

[[gates]]
name = "prod-ok"
kind = "manual"

[[stages]]
name = "deploy"
command = 'echo "deploy $SLATE_ENV" >> "$LEDGER"; if [ "$SLATE_ENV" = prod ] && [ -e @DIR@/fail-prod ]; then exit 1; fi'
rollback = 'echo "undo $SLATE_ENV" >> "$LEDGER"'
"#
        ),
    )
}

fn release(sb: &Sandbox, version: &str, previous: &str) -> std::process::Output {
    let p = plan(sb, version, previous);
    sb.run(
        &[
            "run",
            "--headless",
            "--approve",
            "prod-ok",
            p.to_str().unwrap(),
        ],
        LIMIT,
    )
}

fn json(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb.run(args, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The ledger's environment `env` (of the one release).
fn place<'a>(ledger: &'a Value, env: &str) -> &'a Value {
    ledger["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["env"] == env)
        .unwrap_or_else(|| panic!("no {env} in {ledger:#}"))
}

fn versions(place: &Value) -> Vec<(String, String)> {
    place["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["version"].as_str().unwrap().to_string(),
                h["reach"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn store_files(home: &Path) {
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!(
            "{}{side}",
            home.join(slate::store::STORE_FILE).display()
        ));
    }
}

#[test]
fn three_releases_make_the_ledger_say_what_is_live_where() {
    let sb = Sandbox::new();
    assert_eq!(release(&sb, "1.0.0", "0.9.0").status.code(), Some(0));
    assert_eq!(release(&sb, "1.1.0", "1.0.0").status.code(), Some(0));
    std::fs::write(sb.path("fail-prod"), "").unwrap();
    let failed = release(&sb, "1.2.0", "1.1.0");
    assert_ne!(failed.status.code(), Some(0), "{failed:?}");

    let ledger = json(&sb, &["ledger", "--json"]);
    let envs: Vec<&str> = ledger["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["env"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["dev", "staging", "prod"], "in plan order");
    for env in ["dev", "staging"] {
        let p = place(&ledger, env);
        assert_eq!(p["live"]["version"], "1.2.0", "{env}");
        assert_eq!(
            versions(p),
            [
                ("1.2.0".into(), "deployed".into()),
                ("1.1.0".into(), "deployed".into()),
                ("1.0.0".into(), "deployed".into())
            ],
            "{env}"
        );
        assert_eq!(p["history"][0]["left"], Value::Null, "live: {p:#}");
        assert_eq!(p["history"][1]["left"]["how"], "superseded");
        assert_eq!(p["history"][1]["left"]["by_version"], "1.2.0");
        assert_eq!(p["history"][2]["left"]["by_version"], "1.1.0");
    }
    // Prod rolled 1.2.0 back: 1.1.0 is still what runs there.
    let prod = place(&ledger, "prod");
    assert_eq!(prod["live"]["version"], "1.1.0", "{prod:#}");
    assert_eq!(
        versions(prod),
        [
            ("1.2.0".into(), "rolled_back".into()),
            ("1.1.0".into(), "deployed".into()),
            ("1.0.0".into(), "deployed".into())
        ]
    );
    assert_eq!(prod["history"][0]["left"]["how"], "rolled_back");
    assert_eq!(prod["history"][1]["left"], Value::Null);
    assert_eq!(prod["history"][2]["left"]["by_version"], "1.1.0");
    assert_eq!(
        prod["drift"],
        serde_json::json!([]),
        "a clean rollback is no drift"
    );
    // Who let it in, and how; the run that put it there; the config it ran with.
    let live = &prod["live"];
    assert_eq!(live["approvals"][0]["gate"], "prod-ok");
    assert_eq!(live["approvals"][0]["how"], "pre_approved");
    let runs = json(&sb, &["history", "--json"]);
    let run_of = |v: &str| {
        runs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["version"] == v)
            .unwrap()["run_id"]
            .clone()
    };
    assert_eq!(live["run_id"], run_of("1.1.0"));
    assert!(live["live_at"].is_string(), "{live:#}");
    let digest = |env: &str| place(&ledger, env)["live"]["config_digest"].clone();
    assert!(digest("prod").as_str().unwrap().starts_with("sha256:"));
    assert_ne!(digest("prod"), digest("dev"), "different config");
    assert_eq!(
        prod["history"][2]["config_digest"],
        digest("prod"),
        "same config, same digest"
    );

    // The same in text, and in `slate status`.
    let out = sb.run(&["ledger", "payments", "--env", "prod"], LIMIT);
    let said = text(&out.stdout);
    assert!(said.contains("prod  1.1.0 live since"), "{said}");
    assert!(said.contains("1.2.0  rolled back"), "{said}");
    assert!(said.contains("1.0.0  superseded by 1.1.0"), "{said}");
    assert!(!said.contains("staging"), "only prod: {said}");
    let status = text(&sb.run(&["status"], LIMIT).stdout);
    assert!(
        status.contains("payments prod  1.1.0 live since"),
        "{status}"
    );
    assert!(
        status.contains("payments dev  1.2.0 live since"),
        "{status}"
    );
    let none = sb.run(&["ledger", "nothing-here"], LIMIT);
    assert_eq!(none.status.code(), Some(0));
    assert!(text(&none.stdout).contains("knows no release nothing-here"));

    // Rebuilt from the journals, the store says exactly the same.
    let rebuilt = sb.run(&["store", "rebuild"], LIMIT);
    assert_eq!(rebuilt.status.code(), Some(0), "{rebuilt:?}");
    assert!(
        text(&rebuilt.stdout).contains("from 3 run journals"),
        "{rebuilt:?}"
    );
    assert_eq!(json(&sb, &["ledger", "--json"]), ledger);
    assert_eq!(json(&sb, &["history", "--json"]), runs);
    // And so does a store made again from nothing.
    store_files(sb.home());
    let out = sb.run(&["ledger", "--json"], LIMIT);
    assert!(
        text(&out.stderr).contains("created the store"),
        "a new store says so: {out:?}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        ledger
    );
}

#[test]
fn runs_at_once_all_reach_the_store() {
    let sb = Sandbox::new();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let p = plan(&sb, &format!("2.{i}.0"), "1.0.0");
            sb.slate()
                // One release's environments take one run at a time (deploy
                // locks): the others queue, and all six write the store.
                .args([
                    "run",
                    "--headless",
                    "--lock-wait",
                    "2m",
                    "--approve",
                    "prod-ok",
                    p.to_str().unwrap(),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = wait_output(c, LIMIT, &["run"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let runs = json(&sb, &["history", "--json"]);
    assert_eq!(runs.as_array().unwrap().len(), 6, "{runs:#}");
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "released"),
        "{runs:#}"
    );
    let ledger = json(&sb, &["ledger", "--json", "-n", "0"]);
    for env in ["dev", "staging", "prod"] {
        assert_eq!(
            place(&ledger, env)["history"].as_array().unwrap().len(),
            6,
            "{env}"
        );
    }
    // What the recorders wrote at once is what the journals say.
    assert_eq!(sb.run(&["store", "rebuild"], LIMIT).status.code(), Some(0));
    assert_eq!(json(&sb, &["ledger", "--json", "-n", "0"]), ledger);
}

#[test]
fn a_broken_store_is_told_and_rebuilt_and_a_newer_one_left_alone() {
    let sb = Sandbox::new();
    assert_eq!(release(&sb, "1.0.0", "0.9.0").status.code(), Some(0));
    let ledger = json(&sb, &["ledger", "--json"]);
    let path = sb.home().join(slate::store::STORE_FILE);

    // Garbage where the store should be: said, with the way out; history
    // still answers from the journals.
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    for args in [vec!["ledger"], vec!["status"]] {
        let out = sb.run(&args, LIMIT);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("is unreadable") && err.contains("`slate store rebuild`"),
            "{args:?}: {err}"
        );
    }
    let history = sb.run(&["history", "--json"], LIMIT);
    assert_eq!(history.status.code(), Some(0), "{history:?}");
    assert!(text(&history.stderr).contains("slate store rebuild"));
    assert_eq!(
        serde_json::from_slice::<Value>(&history.stdout).unwrap()[0]["version"],
        "1.0.0"
    );
    let rebuilt = sb.run(&["store", "rebuild"], LIMIT);
    assert_eq!(rebuilt.status.code(), Some(0), "{rebuilt:?}");
    assert!(text(&rebuilt.stderr).contains("moved to"), "{rebuilt:?}");
    assert_eq!(json(&sb, &["ledger", "--json"]), ledger);

    // Cut short: told or taken as new, never a panic, and rebuilt the same.
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let out = sb.run(&["ledger", "--json"], LIMIT);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    assert!(!text(&out.stderr).contains("panicked"), "{out:?}");
    assert_eq!(sb.run(&["store", "rebuild"], LIMIT).status.code(), Some(0));
    assert_eq!(json(&sb, &["ledger", "--json"]), ledger);

    // Written by a newer Slate: refused, and not a byte changed.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    for args in [vec!["ledger"], vec!["store", "rebuild"], vec!["status"]] {
        let out = sb.run(&args, LIMIT);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert!(
            text(&out.stderr).contains("written by a newer Slate (schema 999"),
            "{args:?}: {out:?}"
        );
    }
    assert!(std::fs::read(&path).unwrap() == before, "left as it was");

    // Not a file: a directory, a link to elsewhere.
    store_files(sb.home());
    std::fs::create_dir(&path).unwrap();
    let out = sb.run(&["ledger"], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("is not a regular file"),
        "{out:?}"
    );
    std::fs::remove_dir(&path).unwrap();
    let elsewhere = sb.path("elsewhere.db");
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let out = sb.run(&["ledger"], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("is not a regular file"),
        "{out:?}"
    );
    assert!(!elsewhere.exists(), "nothing written through the link");
    std::fs::remove_file(&path).unwrap();

    // The journals never suffered: the store comes back whole from them.
    assert_eq!(json(&sb, &["ledger", "--json"]), ledger);
}

#[test]
fn an_older_state_directory_is_moved_to_the_store() {
    let sb = Sandbox::new();
    assert_eq!(release(&sb, "1.0.0", "0.9.0").status.code(), Some(0));
    let runs = json(&sb, &["history", "--json"]);
    // As an older Slate left it: an index, no store.
    store_files(sb.home());
    let index = sb.home().join("runs").join(slate::runs::INDEX_FILE);
    std::fs::write(&index, "{\"run_id\":\"stale\"}\n").unwrap();
    let out = sb.run(&["history", "--json"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("created the store"), "{err}");
    assert!(err.contains("from 1 run journal "), "{err}");
    assert!(err.contains("is replaced by the store"), "{err}");
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), runs);
    assert!(!index.exists());
    assert!(index.with_extension("ndjson.migrated").exists());
    // Said once: the next reader finds the store.
    let again = sb.run(&["history", "--json"], LIMIT);
    assert!(
        !text(&again.stderr).contains("created the store"),
        "{again:?}"
    );
}

/// The characters of an SVG screenshot, row by row (each cell is its own
/// `<text>` at a `y`; blank cells are not drawn, so words keep together
/// but the spaces between them are gone).
fn svg_rows(svg: &str) -> Vec<String> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for cell in svg.split("<text ").skip(1) {
        let y = cell.split("y=\"").nth(1).and_then(|r| r.split('"').next());
        let ch = cell.split('>').nth(1).and_then(|r| r.split('<').next());
        let (Some(y), Some(ch)) = (y, ch) else {
            continue;
        };
        match rows.last_mut() {
            Some((ry, text)) if ry == y => text.push_str(ch),
            _ => rows.push((y.to_string(), ch.to_string())),
        }
    }
    rows.into_iter().map(|(_, t)| t).collect()
}

#[test]
fn screenshot_board_renders_what_the_store_holds() {
    let sb = Sandbox::new();
    assert_eq!(release(&sb, "1.0.0", "0.9.0").status.code(), Some(0));
    assert_eq!(release(&sb, "1.1.0", "1.0.0").status.code(), Some(0));
    let out = sb.path("board.svg");
    let shot = sb.run(
        &[
            "screenshot",
            "--board",
            "-o",
            out.to_str().unwrap(),
            "--width",
            "100",
            "--height",
            "20",
        ],
        LIMIT,
    );
    assert_eq!(shot.status.code(), Some(0), "{shot:?}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"), "{svg:.200}");
    let rows = svg_rows(&svg);
    // The release's row: live 1.1.0, healthy, in all three environments.
    let row = rows
        .iter()
        .find(|r| r.contains("payments"))
        .unwrap_or_else(|| panic!("no payments row in {rows:#?}"));
    assert_eq!(row.matches("✔1.1.0").count(), 3, "{row}");
    assert!(!row.contains("1.0.0"), "{row}");
    // A plan and --board together are refused before anything runs.
    let both = sb.run(
        &[
            "screenshot",
            "--board",
            "x.toml",
            "-o",
            out.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(both.status.code(), Some(2), "{both:?}");
}
