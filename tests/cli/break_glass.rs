//! Break-glass, black-box: a hotfix run crosses a freeze or a person's hold
//! with `--break-glass REASON` only when the policy allows its starter; the
//! crossing is journaled as its own record before the run enters; a refusal
//! is journaled too and the run is held back as without it; another run's
//! lock is never crossed. With `break_glass_second`, it waits (visibly, and
//! again after a crash) for a second person: never whoever asked; another
//! OS user (uid 65534, as root) lets it cross, which the ledger then says.

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

/// `break_glass_second = true`: the break-glass is asked for and journaled,
/// and the run waits, visibly (`slate status`), for someone else. Whoever
/// asked approving it is refused, and that is journaled. Another OS user
/// the policy allows (uid 65534, reaching the run through `[access] group`)
/// approving it lets the run cross; the ledger then says the version went
/// live by break-glass, who approved it, and a rebuilt store says the same.
/// Acting as another user needs root: without it, the requester rejects
/// their own request and the run stays held back as without break-glass.
#[test]
fn a_break_glass_needing_a_second_person_waits_and_its_requester_cannot_approve_it() {
    use std::fs::File;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let root = nix::unistd::geteuid().is_root();
    let nobody = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(65534))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "nobody".into());
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(65534))
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_else(|| "nogroup".into());
    let sb = Sandbox::new();
    let p = sb.plan(
        "plan.toml",
        &format!(
            "{}\n[access]\ngroup = \"{group}\"\n",
            plan(&format!(
                "break_glass = [\"{}\", \"{nobody}\"]\nbreak_glass_second = true",
                me()
            ))
        ),
    );
    assert!(
        sb.run(
            &["freeze", "prod", "--until", "2h", "--reason", "holiday"],
            LIMIT
        )
        .status
        .success()
    );
    let stdout = sb.path("run.out");
    let reason = "CVE-2026-1\n\u{1b}]52;c;x\u{7}fix";
    let mut child = sb
        .slate()
        .args(["run", "--headless", "--break-glass", reason])
        .arg(&p)
        .stdout(Stdio::from(File::create(&stdout).unwrap()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = || std::fs::read_to_string(&stdout).unwrap_or_default();
    sb.wait_for("the approve hint", LIMIT, || {
        printed().contains("slate approve ")
    });
    let out = printed();
    let id = out
        .lines()
        .find(|l| l.contains("slate approve "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap()
        .to_string();
    assert!(out.contains("BREAK-GLASS asked by"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "the reason is shown, not obeyed: {out}"
    );
    assert!(sb.ledger().is_empty());
    // Visible in `slate status`.
    let status = sb.run(&["status", "--json"], LIMIT);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap_or(Value::Null);
    let listed = status
        .as_array()
        .or_else(|| status["runs"].as_array())
        .and_then(|a| a.iter().find(|r| r["run_id"] == id.as_str()).cloned())
        .unwrap_or_else(|| panic!("run {id} not in {status}"));
    assert_eq!(listed["waiting"]["gate"], "break-glass", "{listed}");
    assert!(
        listed["held_back"]
            .as_str()
            .unwrap()
            .contains("waits for a second person's approval"),
        "{listed}"
    );
    // In the board's inbox of someone the policy allows, never of whoever asked.
    let store = slate::store::open(sb.home()).unwrap().store;
    let inbox = |user: &str| slate::board::snapshot::read(store.as_ref(), sb.home(), user).inbox;
    let theirs = inbox(&nobody);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(
        (theirs[0].gate.as_str(), theirs[0].env.as_str()),
        ("break-glass", "prod")
    );
    assert!(inbox(&me()).is_empty());
    assert!(inbox("mallory").is_empty());
    // Whoever asked may not approve it: refused, and journaled.
    let own = sb.run(&["approve", &id, "break-glass", "--comment", "mine"], LIMIT);
    assert_eq!(own.status.code(), Some(1), "{own:?}");
    let why = format!(
        "four-eyes: {} asked for this break-glass into prod, so someone else must approve it",
        me()
    );
    assert!(
        String::from_utf8_lossy(&own.stderr).contains(&why),
        "{own:?}"
    );
    let journal = sb
        .home()
        .join("runs")
        .join(&id)
        .join(slate::journal::JOURNAL_FILE);
    let recs = common::read_journal(&journal);
    assert_eq!(
        common::only(&recs, "command_refused")["reason"],
        why.as_str()
    );
    assert_eq!(
        common::only(&recs, "break_glass_requested")["reason"],
        reason
    );
    assert!(!common::has(&recs, "break_glass"));
    // The engine dies (SIGKILL) while the break-glass waits: a recovered
    // run waits for the second person again, without asking anew.
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = sb.path("recover.out");
    let child = sb
        .slate()
        .args(["recover", &id, "--headless"])
        .stdout(Stdio::from(File::create(&stdout).unwrap()))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sb.wait_for("the recovered run's approve hint", LIMIT, || {
        std::fs::read_to_string(&stdout)
            .unwrap_or_default()
            .contains(&format!("slate approve {id} break-glass"))
    });
    let recs = common::read_journal(&journal);
    assert!(common::has(&recs, "run_recovered"));
    assert_eq!(common::events(&recs, "break_glass_requested").len(), 1);
    if !root {
        eprintln!(
            "SKIPPED the second person's approval: needs root to run a command as another uid"
        );
        let rejected = sb.run(
            &["reject", &id, "break-glass", "--reason", "withdrawn"],
            LIMIT,
        );
        assert_eq!(rejected.status.code(), Some(0), "{rejected:?}");
        let done = common::sandbox::wait_output(child, LIMIT, &["run"]);
        assert_eq!(done.status.code(), Some(1), "{done:?}");
        assert!(sb.ledger().is_empty());
        return;
    }
    let approved = std::process::Command::new(env!("CARGO_BIN_EXE_slate"))
        .env("SLATE_HOME", sb.home())
        .args([
            "approve",
            &id,
            "break-glass",
            "--comment",
            "checked the CVE",
        ])
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run slate as nobody");
    assert_eq!(approved.status.code(), Some(0), "{approved:?}");
    let done = common::sandbox::wait_output(child, LIMIT, &["run"]);
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    assert_eq!(sb.ledger(), vec!["deploy"]);
    let recs = common::read_journal(&journal);
    common::assert_in_order(
        &recs,
        &[
            "break_glass_requested",
            "command_refused",
            "break_glass_approved",
            "break_glass",
            "env_started",
        ],
    );
    let glass = common::only(&recs, "break_glass");
    assert_eq!(glass["approved_by"]["uid"], 65534);
    assert_eq!(glass["actor"]["user"], me().as_str());
    // The ledger: the version went live by break-glass, who and why, who approved.
    let ledger = sb.run(&["ledger"], LIMIT);
    let text = String::from_utf8_lossy(&ledger.stdout).to_string();
    assert!(
        text.contains(&format!(
            "by BREAK-GLASS ({}: CVE-2026-1⏎␛]52;c;x␇fix; approved by {nobody})",
            me()
        )),
        "{text}"
    );
    let json = |sb: &Sandbox| {
        let out = sb.run(&["ledger", "--json"], LIMIT);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let before = json(&sb);
    let approvals = before.to_string();
    assert!(approvals.contains("\"how\":\"break_glass\""), "{approvals}");
    assert!(
        approvals.contains("\"how\":\"break_glass_approved\""),
        "{approvals}"
    );
    assert!(
        sb.run(&["store", "rebuild"], LIMIT).status.success(),
        "rebuild"
    );
    assert_eq!(json(&sb), before, "a rebuilt store lists the same rows");
}

#[test]
fn validate_reads_break_glass_second_and_locates_a_wrong_type() {
    let sb = Sandbox::new();
    let ok = sb.plan(
        "ok.toml",
        &plan("break_glass = [\"@sre\"]\nbreak_glass_second = true"),
    );
    let out = sb.run(&["validate", ok.to_str().unwrap()], LIMIT);
    assert!(out.status.success(), "{out:?}");
    let bad = sb.plan("bad.toml", &plan("break_glass_second = \"yes\""));
    let out = sb.run(&["validate", bad.to_str().unwrap()], LIMIT);
    assert!(!out.status.success(), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("bad.toml:7:22"), "{said}");
    assert!(said.contains("true or false"), "{said}");
}

/// With nobody able to answer (`--no-wait`), a break-glass that needs a
/// second person is refused at once, journaled, rather than waited for.
#[test]
fn without_anyone_to_answer_a_break_glass_needing_a_second_person_is_refused() {
    let sb = Sandbox::new();
    let p = sb.plan(
        "plan.toml",
        &plan(&format!(
            "break_glass = [\"{}\"]\nbreak_glass_second = true",
            me()
        )),
    );
    assert!(
        sb.run(&["freeze", "prod", "--until", "1h", "--reason", "x"], LIMIT)
            .status
            .success()
    );
    let out = sb.run(
        &[
            "run",
            "--headless",
            "--json",
            "--no-wait",
            "--break-glass",
            "hotfix",
            p.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let recs = common::parse_journal(&String::from_utf8_lossy(&out.stdout), "stdout");
    let refused = common::only(&recs, "break_glass_refused");
    assert_eq!(
        refused["why"],
        "break-glass into prod needs a second person's approval and nobody can give one in this mode"
    );
    assert!(!common::has(&recs, "break_glass_requested"));
    assert!(sb.ledger().is_empty());
}
