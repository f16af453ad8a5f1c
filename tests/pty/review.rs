//! `slate review RUN`, end to end: the real binary in a pseudo-terminal, a
//! review typed (and pasted) like a person would, saved with Ctrl-S; then
//! the journal holds the `ReviewSaved` record with that text, the dossier
//! shows it, and the terminal was handed back. A signal leaves without
//! saving and restores the terminal; `--theme` picks the editor's colours.
//!
//! Every wait is bounded; dropping the harness kills what a test started.

use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::pty::{CTRL_S, TAB, Term};
use common::sandbox::Sandbox;
use common::{newest_run, read_journal};

/// The most one test may take.
const BUDGET: Duration = Duration::from_secs(60);
/// The longest wait for one thing to happen.
const WAIT: Duration = Duration::from_secs(20);

const PLAN: &str = common::release_plan!(
    r#"
[[environments]]
name = "dev"

[[stages]]
name = "deploy"
command = 'echo "deployed"'
"#
);

/// A sandbox with one released run; its id.
fn released() -> (Sandbox, String) {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", PLAN);
    let out = sb.run(&["run", "--headless", plan.to_str().unwrap()], WAIT);
    assert!(out.status.success(), "{out:?}");
    let id = newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (sb, id)
}

fn review(sb: &Sandbox, args: &[&str]) -> Term {
    let mut all = vec!["review"];
    all.extend_from_slice(args);
    Term::builder(&all)
        .size(110, 34)
        .cwd(sb.dir.path())
        .env("SLATE_HOME", sb.home())
        .env_remove("NO_COLOR")
        .tag(&sb.tag)
        .budget(BUDGET)
        .start()
}

fn journal(sb: &Sandbox) -> Vec<Value> {
    read_journal(&newest_run(sb.home()).unwrap().join("journal.ndjson"))
}

#[test]
fn a_review_typed_and_pasted_is_journaled_and_in_the_dossier() {
    let (sb, id) = released();
    let before = journal(&sb).len();
    let mut t = review(&sb, &[&id]);
    let screen = t.wait_for("Post-deploy review", WAIT);
    assert!(screen.contains(&format!("run {id}")), "{screen}");
    t.wait_for("(generated)", WAIT);

    t.send(b"Canary held for an hour.");
    t.send(TAB);
    // A paste arrives whole: its line break stays one, its escape sequence
    // is dropped, and nothing in it acts as a key (Ctrl-S, Esc).
    t.paste("Dashboards lagged\r\nby ten minutes\x1b[2J\x13");
    t.wait_for("by ten minutes", WAIT);
    for _ in 0..4 {
        t.send(TAB);
    }
    t.send(b"Ship it the same way.");
    t.wait_for("5/120 words", WAIT);
    t.send(CTRL_S);

    let status = t.wait_exit(WAIT);
    assert!(status.success(), "{status:?}");
    let after = t.assert_terminal_restored();
    assert!(after.contains("✔ review saved; dossier: "), "{after}");

    let recs = journal(&sb);
    assert_eq!(recs.len(), before + 1, "one record was added");
    let saved = recs.last().unwrap();
    assert_eq!(saved["event"]["type"], "review_saved", "{saved}");
    let r = &saved["event"]["review"];
    assert_eq!(r["went_well"], "Canary held for an hour.");
    assert_eq!(r["went_wrong"], "Dashboards lagged\nby ten minutes");
    assert_eq!(r["memory"], "Ship it the same way.");
    assert_eq!(saved["event"]["actor"]["via"], "review");

    let dossier =
        std::fs::read_to_string(newest_run(sb.home()).unwrap().join("dossier.md")).unwrap();
    for wanted in [
        "Canary held for an hour.",
        "by ten minutes",
        "Ship it the same way.",
    ] {
        assert!(dossier.contains(wanted), "{wanted} not in:\n{dossier}");
    }
}

#[test]
fn sigterm_leaves_the_editor_without_saving_and_restores_the_terminal() {
    let (sb, id) = released();
    let before =
        std::fs::read_to_string(newest_run(sb.home()).unwrap().join("journal.ndjson")).unwrap();
    let mut t = review(&sb, &[&id]);
    t.wait_for("(generated)", WAIT);
    t.send(b"half a thought");
    t.wait_for("half a thought", WAIT);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(t.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = t.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 1, "{status:?}");
    let after = t.assert_terminal_restored();
    assert!(after.contains("SIGTERM: review not saved"), "{after}");
    let now =
        std::fs::read_to_string(newest_run(sb.home()).unwrap().join("journal.ndjson")).unwrap();
    assert_eq!(now, before, "nothing was journaled");
}

#[test]
fn theme_picks_the_editors_colours_and_an_unknown_one_is_refused() {
    let (sb, id) = released();
    // The sixteen-colour theme draws with the basic palette only.
    let t = review(&sb, &[&id, "--theme", "sixteen"]);
    t.wait_for("Post-deploy review", WAIT);
    {
        let parser = t.parser();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let mut coloured = 0;
        for row in 0..rows {
            for col in 0..cols {
                let cell = screen.cell(row, col).unwrap();
                for c in [cell.fgcolor(), cell.bgcolor()] {
                    match c {
                        vt100::Color::Default => {}
                        vt100::Color::Idx(i) if i < 16 => coloured += 1,
                        other => panic!("({row}, {col}) is {other:?}, not a basic colour"),
                    }
                }
            }
        }
        assert!(coloured > 0, "nothing was coloured");
    }
    drop(t);

    let t = review(&sb, &[&id, "--theme", "no-such-theme"]);
    let status = t.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 2, "{status:?}");
    assert!(
        t.screen().contains("unknown theme `no-such-theme`"),
        "{}",
        t.screen()
    );
}
