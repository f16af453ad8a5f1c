//! Break-glass, black-box: a hotfix run crosses a freeze or a person's hold
//! with `--break-glass REASON` only when the policy allows its starter; the
//! crossing is journaled as its own record before the run enters; a refusal
//! is journaled too and the run is held back as without it; another run's
//! lock is never crossed.

use crate::common;

use std::time::Duration;

use common::sandbox::Sandbox;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn me() -> String {
    slate::engine::Actor::current("test").user
}

fn plan(break_glass: &str) -> String {
    format!(
        r#"
[release]
name = "pay"
version = "2"
previous_version = "1"
owner = "qa"
{break_glass}

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'echo deploy >> "$LEDGER"'
"#
    )
}

fn run(sb: &Sandbox, plan: &std::path::Path, reason: &str) -> (std::process::Output, Vec<Value>) {
    let out = sb.run(
        &[
            "run",
            "--headless",
            "--json",
            "--break-glass",
            reason,
            plan.to_str().unwrap(),
        ],
        LIMIT,
    );
    let recs = common::parse_journal(&String::from_utf8_lossy(&out.stdout), "stdout");
    (out, recs)
}

#[test]
fn someone_the_policy_does_not_allow_is_refused_and_journaled() {
    let sb = Sandbox::new();
    let p = sb.plan(
        "plan.toml",
        &plan("break_glass = [\"@slate-no-such-group\", \"nobody-here\"]"),
    );
    assert!(
        sb.run(
            &["freeze", "prod", "--until", "2h", "--reason", "holiday"],
            LIMIT
        )
        .status
        .success()
    );
    let (out, recs) = run(&sb, &p, "hotfix");
    assert_eq!(out.status.code(), Some(1));
    let refused = common::only(&recs, "break_glass_refused");
    assert_eq!(refused["reason"], "hotfix");
    assert_eq!(refused["actor"]["user"], me().as_str());
    assert!(
        refused["why"]
            .as_str()
            .unwrap()
            .contains("may not break glass into prod (allowed: @slate-no-such-group, nobody-here)"),
        "{refused}"
    );
    assert!(!common::has(&recs, "break_glass"));
    assert!(!common::has(&recs, "env_started"));
    assert!(sb.ledger().is_empty());
    common::assert_in_order(
        &recs,
        &["break_glass_refused", "env_blocked", "run_finished"],
    );
}

#[test]
fn an_allowed_hotfix_crosses_a_freeze_and_a_hold_but_never_another_runs_lock() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan(&format!("break_glass = [\"{}\"]", me())));
    assert!(
        sb.run(
            &["freeze", "prod", "--until", "2h", "--reason", "holiday"],
            LIMIT
        )
        .status
        .success()
    );
    assert!(
        sb.run(&["lock", "prod", "--reason", "incident"], LIMIT)
            .status
            .success()
    );
    let (out, recs) = run(&sb, &p, "CVE-2026-1");
    assert!(out.status.success(), "{out:?}");
    let glass = common::only(&recs, "break_glass");
    assert_eq!(glass["reason"], "CVE-2026-1");
    assert_eq!(glass["crossed"]["kind"], "freeze");
    common::assert_in_order(
        &recs,
        &["break_glass", "env_locked", "env_started", "run_finished"],
    );
    assert_eq!(sb.ledger(), vec!["deploy"]);
    // The dossier lists the crossing.
    let id = common::only(&recs, "run_started")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let dossier = sb.run(&["dossier", &id], LIMIT);
    let md = String::from_utf8_lossy(&dossier.stdout).to_string();
    assert!(
        md.contains(&format!(
            "**BREAK-GLASS** into prod by {}: CVE-2026-1 (crossed: prod is frozen",
            me()
        )),
        "{md}"
    );
    // The hold alone is crossed the same way.
    assert!(sb.run(&["unfreeze", "prod"], LIMIT).status.success());
    let (out, recs) = run(&sb, &p, "again");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        common::only(&recs, "break_glass")["crossed"]["kind"],
        "hold"
    );
    // Without --break-glass the hold still holds.
    let plain = sb.run(&["run", "--headless", p.to_str().unwrap()], LIMIT);
    assert_eq!(plain.status.code(), Some(1));
    // A run's lock is not crossed: a live holder (a stage that waits) refuses it.
    assert!(sb.run(&["unlock", "prod"], LIMIT).status.success());
    let slow = sb.plan(
        "slow.toml",
        &plan("").replace(
            "command = 'echo deploy >> \"$LEDGER\"'",
            "command = 'echo slow >> \"$LEDGER\"; while [ -e \"@DIR@/hold\" ]; do sleep 0.02; done'",
        ),
    );
    std::fs::write(sb.path("hold"), "").unwrap();
    let holder = sb
        .slate()
        .args(["run", "--headless"])
        .arg(&slow)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    sb.wait_for("the holder inside prod", LIMIT, || {
        sb.ledger().contains(&"slow".into())
    });
    let (out, recs) = run(&sb, &p, "let me through");
    assert_eq!(out.status.code(), Some(1));
    assert!(!common::has(&recs, "break_glass"));
    assert_eq!(
        common::only(&recs, "env_blocked")["barrier"]["kind"],
        "lock"
    );
    std::fs::remove_file(sb.path("hold")).unwrap();
    common::sandbox::wait_output(holder, LIMIT, &["holder"]);
}

#[test]
fn without_a_list_whoever_may_approve_the_environment_may_break_glass() {
    let sb = Sandbox::new();
    // No list, and prod names approvers that do not include the starter.
    let p = sb.plan(
        "plan.toml",
        &plan("").replace(
            "name = \"prod\"",
            "name = \"prod\"\napproval = { approvers = [\"someone-else\"] }",
        ),
    );
    assert!(
        sb.run(&["freeze", "prod", "--until", "1h", "--reason", "x"], LIMIT)
            .status
            .success()
    );
    let (out, recs) = run(&sb, &p, "hotfix");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let why = common::only(&recs, "break_glass_refused")["why"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("may not approve prod"), "{why}");
    // With no approvers named, the person running the release may.
    let p = sb.plan("open.toml", &plan(""));
    let (out, recs) = run(&sb, &p, "hotfix");
    assert!(out.status.success(), "{out:?}");
    assert!(common::has(&recs, "break_glass"));
    // A blank reason is refused before anything runs.
    let (out, _) = run(&sb, &p, "  ");
    assert_eq!(out.status.code(), Some(2));
}
