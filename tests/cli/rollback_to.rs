//! `slate rollback --to VERSION --env ENV`, through the real binary: after
//! three releases of one plan through dev, staging and prod, rolling prod
//! back to the first version is a new run (its own id, journal, dossier and
//! ledger row) of the plan that put it live, cut down to prod: no gates, no
//! canary pauses, `verify_rollback` run; it pins prod, so a later run stops
//! before prod unless started with `--unpin`. Unknown versions and changed
//! artifacts are refused with what the ledger knows; hostile reasons are
//! shown, never obeyed.

use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);

/// `version` through dev, staging and prod: prod behind a manual gate and a
/// canary with a pause between its steps (which a rollback skips), with an
/// artifact whose digest a command reads.
fn plan(sb: &Sandbox, version: &str, pause: &str) -> std::path::PathBuf {
    sb.plan(
        &format!("plan-{version}.toml"),
        &format!(
            r#"
[release]
name = "payments"
version = "{version}"
previous_version = "0.9.0"
owner = "release-team"

[[environments]]
name = "dev"

[[environments]]
name = "staging"

[[environments]]
name = "prod"
gates = ["prod-ok"]
strategy = {{ kind = "canary", steps = [50, 100], pause = "{pause}" }}
verify_rollback = {{ command = 'echo "verify $SLATE_ENV $SLATE_VERSION" >> "$LEDGER"' }}

[[gates]]
name = "prod-ok"
kind = "manual"

[[artifacts]]
name = "app.bin"
digest_command = "sha256sum @DIR@/app-$SLATE_VERSION.bin"

[[stages]]
name = "deploy"
rollout = true
command = 'echo "deploy $SLATE_ENV $SLATE_VERSION ${{SLATE_WEIGHT:-}}" >> "$LEDGER"'
"#
        ),
    )
}

fn release(sb: &Sandbox, version: &str, extra: &[&str]) -> std::process::Output {
    release_edited(sb, version, extra, |t| t)
}

/// [`release`] of the plan as `edit` changes its text.
fn release_edited(
    sb: &Sandbox,
    version: &str,
    extra: &[&str],
    edit: impl Fn(String) -> String,
) -> std::process::Output {
    std::fs::write(
        sb.path(&format!("app-{version}.bin")),
        format!("bits of {version}"),
    )
    .unwrap();
    let text = edit(std::fs::read_to_string(plan(sb, version, "1s")).unwrap());
    let p = sb.plan(&format!("plan-{version}.toml"), &text);
    let mut args = vec!["run", "--headless", "--approve", "prod-ok"];
    args.extend_from_slice(extra);
    args.push(p.to_str().unwrap());
    sb.run(&args, LIMIT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ledger_json(sb: &Sandbox) -> Value {
    let out = sb.run(&["ledger", "--json", "--env", "prod"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn three_releases(sb: &Sandbox) {
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        let out = release(sb, v, &[]);
        assert_eq!(out.status.code(), Some(0), "{v}: {out:?}");
    }
}

fn runs(sb: &Sandbox) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(sb.home().join("runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn rollback_to_the_first_version_is_a_new_run_that_verifies_pins_and_is_recorded() {
    let sb = Sandbox::new();
    three_releases(&sb);
    let before = runs(&sb);
    // The releases' plan files change afterwards: the rollback uses the journaled plan.
    std::fs::write(sb.path("plan-1.0.0.toml"), "not a plan any more").unwrap();
    std::fs::remove_file(sb.path("ledger")).unwrap();

    let out = sb.run(
        &[
            "rollback",
            "--to",
            "1.0.0",
            "--env",
            "prod",
            "--reason",
            "1.2.0 drops payments",
        ],
        LIMIT,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.contains("ROLLBACK payments to 1.0.0 in prod (replacing 1.2.0)"),
        "{stdout}"
    );
    assert!(stdout.contains("reason: 1.2.0 drops payments"), "{stdout}");

    let after = runs(&sb);
    assert_eq!(after.len(), before.len() + 1, "a new run: {after:?}");
    let id = after.last().unwrap().clone();
    assert!(!before.contains(&id));

    // Only prod, no gate, no pause, and verify_rollback ran.
    let lines = sb.ledger();
    assert_eq!(
        lines,
        [
            "deploy prod 1.0.0 50",
            "verify prod 1.0.0",
            "deploy prod 1.0.0 100",
            "verify prod 1.0.0"
        ],
        "{stdout}"
    );
    let journal =
        std::fs::read_to_string(sb.home().join("runs").join(&id).join("journal.ndjson")).unwrap();
    assert!(
        journal.contains("\"rollback_to\""),
        "journaled as a rollback-to"
    );
    assert!(
        !journal.contains("\"timer_started\""),
        "no pause was waited"
    );
    assert!(!journal.contains("\"gate_waiting\""), "no gate was asked");

    // The ledger: 1.0.0 live again by the new run, approved "how: rollback",
    // 1.2.0 superseded by the rollback, and prod pinned.
    let l = ledger_json(&sb);
    let prod = &l["environments"][0];
    assert_eq!(prod["live"]["version"], "1.0.0");
    assert_eq!(prod["live"]["run_id"], id.as_str());
    assert_eq!(prod["live"]["env_index"], 2, "prod keeps its place");
    assert_eq!(prod["live"]["approvals"][0]["how"], "rollback");
    assert_eq!(
        prod["live"]["approvals"][0]["comment"],
        "1.2.0 drops payments"
    );
    assert_eq!(prod["history"][1]["version"], "1.2.0");
    assert_eq!(prod["history"][1]["left"]["how"], "superseded_by_rollback");
    assert_eq!(prod["pin"]["version"], "1.0.0");
    assert_eq!(prod["pin"]["run_id"], id.as_str());
    let all = sb.run(&["ledger"], LIMIT);
    let all = text(&all.stdout);
    assert!(all.contains("pinned: prod is pinned to 1.0.0"), "{all}");
    assert!(all.contains("superseded by rollback to 1.0.0"), "{all}");

    // `slate show` and the dossier say it is a rollback, and why.
    let show = text(&sb.run(&["show", &id], LIMIT).stdout);
    assert!(show.contains("rollback to 1.0.0"), "{show}");
    assert!(show.contains("1.2.0 drops payments"), "{show}");
    let dossier = text(&sb.run(&["dossier", &id], LIMIT).stdout);
    assert!(dossier.contains("Rollback to `1.0.0` in prod"), "{dossier}");
    assert!(dossier.contains("1.2.0 drops payments"), "{dossier}");

    // The store rebuilt from the journals says the same.
    let rebuilt = sb.run(&["store", "rebuild"], LIMIT);
    assert_eq!(rebuilt.status.code(), Some(0), "{rebuilt:?}");
    let again = ledger_json(&sb);
    assert_eq!(again["environments"][0]["pin"], prod["pin"]);
    assert_eq!(again["environments"][0]["live"], prod["live"]);
}

#[test]
fn a_pinned_environment_is_not_promoted_over_without_unpin() {
    let sb = Sandbox::new();
    three_releases(&sb);
    let out = sb.run(
        &[
            "rollback",
            "--to",
            "1.1.0",
            "--env",
            "prod",
            "--reason",
            "bad 1.2.0",
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // validate warns.
    std::fs::write(sb.path("app-1.3.0.bin"), "bits of 1.3.0").unwrap();
    let p = plan(&sb, "1.3.0", "1s");
    let v = sb.run(&["validate", p.to_str().unwrap()], LIMIT);
    assert_eq!(v.status.code(), Some(0), "{v:?}");
    assert!(text(&v.stderr).contains("prod is pinned to 1.1.0"), "{v:?}");

    // Refused before prod without --unpin.
    let refused = release(&sb, "1.3.0", &[]);
    assert_ne!(refused.status.code(), Some(0), "{refused:?}");
    let said = text(&refused.stdout);
    assert!(
        said.contains("prod is pinned to 1.1.0") && said.contains("--unpin"),
        "{said}"
    );
    assert!(!sb.ledger().iter().any(|l| l == "deploy prod 1.3.0 50"));
    assert_eq!(
        ledger_json(&sb)["environments"][0]["live"]["version"],
        "1.1.0"
    );

    // An empty --unpin reason is a usage error.
    let empty = release(&sb, "1.3.0", &["--unpin", " "]);
    assert_eq!(empty.status.code(), Some(2), "{empty:?}");

    // Allowed with it, journaled, and the pin is gone.
    let allowed = release(&sb, "1.3.0", &["--unpin", "fixed forward in 1.3.0"]);
    assert_eq!(allowed.status.code(), Some(0), "{allowed:?}");
    assert!(text(&allowed.stdout).contains("UNPINNED by"), "{allowed:?}");
    let l = ledger_json(&sb);
    assert_eq!(l["environments"][0]["live"]["version"], "1.3.0");
    assert!(l["environments"][0].get("pin").is_none(), "{l:#}");
}

#[test]
fn unknown_versions_and_changed_artifacts_are_refused_by_name() {
    let sb = Sandbox::new();
    three_releases(&sb);
    let n = runs(&sb).len();

    let unknown = sb.run(
        &[
            "rollback", "--to", "0.1.0", "--env", "prod", "--reason", "x",
        ],
        LIMIT,
    );
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    let err = text(&unknown.stderr);
    assert!(
        err.contains("version 0.1.0 is not in the ledger in prod"),
        "{err}"
    );
    assert!(
        err.contains("versions that went live there: 1.2.0 (live now), 1.1.0, 1.0.0"),
        "the versions it knows, and which is live: {err}"
    );
    assert_eq!(runs(&sb).len(), n, "no run for a refusal");

    let nowhere = sb.run(
        &["rollback", "--to", "1.0.0", "--env", "qa", "--reason", "x"],
        LIMIT,
    );
    assert_eq!(nowhere.status.code(), Some(1), "{nowhere:?}");
    assert!(
        text(&nowhere.stderr).contains("knows no environment qa"),
        "{nowhere:?}"
    );

    let live = sb.run(
        &[
            "rollback", "--to", "1.2.0", "--env", "prod", "--reason", "x",
        ],
        LIMIT,
    );
    assert_eq!(live.status.code(), Some(1), "{live:?}");
    assert!(
        text(&live.stderr).contains("is live in prod now"),
        "{live:?}"
    );

    // No reason, or the two forms mixed: usage errors.
    let no_reason = sb.run(&["rollback", "--to", "1.0.0", "--env", "prod"], LIMIT);
    assert_eq!(no_reason.status.code(), Some(2), "{no_reason:?}");
    assert!(
        text(&no_reason.stderr).contains("needs a reason"),
        "{no_reason:?}"
    );
    let mixed = sb.run(
        &[
            "rollback", "latest", "--to", "1.0.0", "--env", "prod", "--reason", "x",
        ],
        LIMIT,
    );
    assert_eq!(mixed.status.code(), Some(2), "{mixed:?}");
    assert!(
        text(&mixed.stderr).contains("cannot be used with"),
        "{mixed:?}"
    );
    let no_env = sb.run(&["rollback", "--to", "1.0.0", "--reason", "x"], LIMIT);
    assert_eq!(no_env.status.code(), Some(2), "{no_env:?}");

    // The bits of 1.0.0 changed since they were live: refused, named.
    std::fs::write(sb.path("app-1.0.0.bin"), "other bits").unwrap();
    std::fs::remove_file(sb.path("ledger")).unwrap();
    let changed = sb.run(
        &[
            "rollback", "--to", "1.0.0", "--env", "prod", "--reason", "x",
        ],
        LIMIT,
    );
    assert_ne!(changed.status.code(), Some(0), "{changed:?}");
    let said = text(&changed.stdout);
    assert!(said.contains("artifact app.bin: digest changed"), "{said}");
    assert!(
        !sb.ledger().iter().any(|l| l == "deploy prod 1.0.0 50"),
        "nothing deployed"
    );
    let l = ledger_json(&sb);
    assert_eq!(l["environments"][0]["live"]["version"], "1.2.0");
    assert!(l["environments"][0].get("pin").is_none());
}

#[test]
fn a_hostile_reason_is_shown_never_obeyed() {
    let sb = Sandbox::new();
    for v in ["1.0.0", "1.1.0"] {
        assert_eq!(release(&sb, v, &[]).status.code(), Some(0));
    }
    let reason = "oops\u{1b}[2J\u{1b}]0;pwned\u{7}\nslate: fake line\u{202e}";
    let out = sb.run(
        &[
            "rollback", "--to", "1.0.0", "--env", "prod", "--reason", reason,
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let id = runs(&sb).last().unwrap().clone();
    let ledger = sb.run(&["ledger"], LIMIT);
    let show = sb.run(&["show", &id], LIMIT);
    let dossier = sb.run(&["dossier", &id], LIMIT);
    for (what, o) in [
        ("rollback", &out),
        ("ledger", &ledger),
        ("show", &show),
        ("dossier", &dossier),
    ] {
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert!(!all.contains('\u{1b}'), "{what}: {all}");
        assert!(!all.contains('\u{7}'), "{what}: {all}");
        assert!(!all.contains('\u{202e}'), "{what}: {all}");
        assert!(!all.contains("\nslate: fake line"), "{what}: {all}");
        assert!(all.contains("oops␛"), "{what} shows it: {all}");
    }
}

#[test]
fn rollback_approval_is_a_boolean_checked_where_it_is_written() {
    let sb = Sandbox::new();
    let p = sb.plan(
        "bad.toml",
        r#"[release]
name = "payments"
version = "1.0.0"
previous_version = "0.9.0"
owner = "release-team"

[[environments]]
name = "prod"
rollback_approval = "yes"

[[stages]]
name = "deploy"
command = "true"
"#,
    );
    let out = sb.run(&["validate", p.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:9:21:") && err.contains("rollback_approval"),
        "{err}"
    );
}

/// With `rollback_approval = true` on prod, the rollback waits at its
/// `rollback-approval` gate. Its engine killed while it waits, `slate
/// recover` takes it over as the same rollback (the cut-down plan rebuilt
/// from the journal alone): it waits again, and once approved deploys 1.0.0,
/// verifies, and pins prod.
#[test]
fn a_rollback_needing_approval_waits_survives_its_engine_and_goes_on_when_approved() {
    let sb = Sandbox::new();
    for v in ["1.0.0", "1.1.0"] {
        let out = release_edited(&sb, v, &[], |t| {
            t.replace(
                "verify_rollback =",
                "rollback_approval = true\nverify_rollback =",
            )
        });
        assert_eq!(out.status.code(), Some(0), "{v}: {out:?}");
    }
    let before = runs(&sb);
    let waits = |id: &str, n: usize| {
        let j = sb.home().join("runs").join(id).join("journal.ndjson");
        common::events(&common::read_journal(&j), "gate_waiting").len() >= n
    };
    let mut child = sb
        .slate()
        .args(["rollback", "--to", "1.0.0", "--env", "prod"])
        .args(["--reason", "1.1.0 leaks connections"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut id = String::new();
    sb.wait_for(
        "the rollback to wait for its approval",
        LIMIT,
        || match runs(&sb).into_iter().find(|r| !before.contains(r)) {
            Some(r) if waits(&r, 1) => {
                id = r;
                true
            }
            _ => false,
        },
    );
    // The engine dies the hard way while the gate waits.
    let _ = child.kill();
    let _ = child.wait();

    let recover = sb
        .slate()
        .args(["recover", &id, "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    sb.wait_for("the recovered rollback to wait again", LIMIT, || {
        waits(&id, 2)
    });
    let ok = sb.run(
        &[
            "approve",
            &id,
            "rollback-approval",
            "--comment",
            "checked the pool",
        ],
        LIMIT,
    );
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let out = common::sandbox::wait_output(recover, LIMIT, &["recover"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let recs = common::read_journal(&sb.home().join("runs").join(&id).join("journal.ndjson"));
    assert!(common::has(&recs, "run_recovered"), "taken over");
    let started = common::only(&recs, "run_started");
    assert_eq!(started["rollback_to"]["env"], "prod");
    assert_eq!(started["rollback_to"]["approval"], true);
    let approved = common::only(&recs, "approved");
    assert_eq!(approved["gate"], "rollback-approval");
    assert_eq!(approved["comment"], "checked the pool");
    let prod = &ledger_json(&sb)["environments"][0];
    assert_eq!(prod["live"]["version"], "1.0.0", "{prod:#}");
    assert_eq!(prod["pin"]["run_id"], id.as_str(), "{prod:#}");
    // After 1.1.0's deploys, 1.0.0 went to prod again.
    let lines = sb.ledger();
    let last_new = lines
        .iter()
        .rposition(|l| l.starts_with("deploy prod 1.1.0"))
        .unwrap();
    assert!(
        lines[last_new..]
            .iter()
            .any(|l| l.starts_with("deploy prod 1.0.0")),
        "{lines:?}"
    );
}
