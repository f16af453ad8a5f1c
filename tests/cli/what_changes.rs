//! What a promotion changes, against what the ledger says is live in the
//! environment — not the plan's `previous_version`: three releases of one
//! plan, the second rolled back in prod, so prod runs 1.0 while the third
//! plan claims to replace 2.0. Its prod gate, `slate approve --show`, the
//! headless lines, the gate_waiting webhook and the dossier all say
//! 1.0 → 3.0, with the changed artifact, config, secret names, plan steps
//! and commits; dev (where 2.0 is live) says 2.0 → 3.0.

use std::process::Stdio;
use std::time::Duration;

use crate::common;
use common::sandbox::{Sandbox, wait_output};

const LIMIT: Duration = Duration::from_secs(60);

/// Release `version` (whose plan names `previous` as the version before)
/// through dev and prod. Prod's deploy fails while `fail-prod` exists;
/// 3.0 gives prod more replicas, a region, a secret and a smoke stage.
fn plan(sb: &Sandbox, version: &str, previous: &str, hook: &str) -> std::path::PathBuf {
    let three = version == "3.0";
    let (prod_config, smoke, secret) = if three {
        (
            r#"{ replicas = 8, region = "eu" }"#,
            "\n[[stages]]\nname = \"smoke\"\nenvironments = [\"prod\"]\ncommand = 'true'\n",
            "secrets = [\"API_TOKEN\"]",
        )
    } else {
        ("{ replicas = 6 }", "", "")
    };
    sb.plan(
        &format!("plan-{version}.toml"),
        &format!(
            r#"
[release]
name = "payments"
version = "{version}"
previous_version = "{previous}"
owner = "release-team"
repository = "repo"

[secrets]
API_TOKEN = "env:TEST_API_TOKEN"

[[environments]]
name = "dev"

[[environments]]
name = "prod"
config = {prod_config}
gates = ["prod-ok"]

[[gates]]
name = "prod-ok"
kind = "manual"

[[artifacts]]
name = "app.bin"
digest_command = "sha256sum @DIR@/app-$SLATE_VERSION.bin"

[[channels]]
name = "ops"
format = "json"
url = "{hook}"
events = ["gate_waiting"]

[[stages]]
name = "deploy"
{secret}
command = 'if [ "$SLATE_ENV" = prod ] && [ -e @DIR@/fail-prod ]; then exit 1; fi'
rollback = 'true'
{smoke}"#
        ),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_gate_shows_what_changes_against_what_is_live_there() {
    if !common::loopback::has_git() {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let sb = Sandbox::new();
    common::loopback::tagged_repo(
        &sb.path("repo"),
        &[
            ("first cut", Some("1.0")),
            ("retry payments on 503", Some("2.0")),
            ("idempotency keys for refunds", Some("3.0")),
        ],
    );
    for v in ["1.0", "2.0", "3.0"] {
        std::fs::write(sb.path(&format!("app-{v}.bin")), format!("app {v}\n")).unwrap();
    }
    let (hook, got) = common::loopback::receiver();
    let headless = |version: &str, previous: &str| {
        let p = plan(&sb, version, previous, &hook);
        sb.slate()
            .env("TEST_API_TOKEN", "t0ken-value-never-shown")
            .args(["run", "--headless", "--approve", "prod-ok"])
            .arg(&p)
            .output()
            .unwrap()
    };
    let first = headless("1.0", "0.9");
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let out = text(&first.stdout);
    assert!(
        out.contains("prod · 1.0 into prod: the ledger has no version live there"),
        "{out}"
    );
    std::fs::write(sb.path("fail-prod"), "").unwrap();
    let second = headless("2.0", "1.0");
    assert_ne!(second.status.code(), Some(0), "prod fails and rolls back");
    std::fs::remove_file(sb.path("fail-prod")).unwrap();
    let before = common::newest_run(sb.home());

    // The third plan says it replaces 2.0; prod runs 1.0.
    let p = plan(&sb, "3.0", "2.0", &hook);
    let child = sb
        .slate()
        .env("TEST_API_TOKEN", "t0ken-value-never-shown")
        .args(["run", "--headless"])
        .arg(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut dir = None;
    sb.wait_for("prod's gate to wait", LIMIT, || {
        dir = common::newest_run(sb.home()).filter(|d| {
            Some(d) != before.as_ref()
                && common::events(
                    &common::read_journal(&d.join("journal.ndjson")),
                    "gate_waiting",
                )
                .len()
                    == 1
        });
        dir.is_some()
    });
    let dir = dir.unwrap();
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();

    let show = sb.run(&["approve", &id, "--show"], LIMIT);
    assert_eq!(show.status.code(), Some(0), "{show:?}");
    let shown = text(&show.stdout);
    for want in [
        "gate prod-ok waits before promoting payments 3.0 to prod",
        "1.0 → 3.0 in prod (live since ",
        "~ artifact app.bin: sha256:",
        "~ replicas: 6 → 8",
        "+ region = eu",
        "+ secret API_TOKEN (name only)",
        "+ plan: step smoke",
        "commits 1.0..3.0 (2):",
        "idempotency keys for refunds",
        "retry payments on 503",
    ] {
        assert!(shown.contains(want), "{want:?} in:\n{shown}");
    }
    assert!(!shown.contains("2.0 → 3.0"), "prod never ran 2.0:\n{shown}");
    assert!(
        !shown.contains("first cut"),
        "1.0's own commit is live already:\n{shown}"
    );
    assert!(!shown.contains("t0ken-value"), "{shown}");
    // A gate that is not waiting is named, not approved.
    let wrong = sb.run(&["approve", &id, "other-gate", "--show"], LIMIT);
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    assert!(text(&wrong.stderr).contains("prod-ok is"), "{wrong:?}");

    // The webhook for the waiting gate carries the same change.
    let mut bodies = Vec::new();
    sb.wait_for("the gate_waiting webhook", LIMIT, || {
        bodies = common::loopback::json_bodies(&got)
            .into_iter()
            .filter(|b| b["kind"] == "gate_waiting" && b["version"] == "3.0")
            .collect();
        !bodies.is_empty()
    });
    let changes = &bodies[0]["changes"];
    assert_eq!(changes["live"]["version"], "1.0", "{changes:#}");
    assert_eq!(changes["artifacts"][0]["state"], "changed", "{changes:#}");
    assert_eq!(changes["secrets_added"][0], "API_TOKEN", "{changes:#}");
    let said = bodies[0]["text"].as_str().unwrap();
    assert!(said.contains("1.0 → 3.0 in prod"), "{said}");

    let ok = sb.run(&["approve", &id, "prod-ok", "--comment", "reviewed"], LIMIT);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let third = wait_output(child, LIMIT, &["run"]);
    assert_eq!(third.status.code(), Some(0), "{third:?}");
    let out = text(&third.stdout);
    assert!(out.contains("dev · 2.0 → 3.0 in dev"), "{out}");
    assert!(out.contains("prod · 1.0 → 3.0 in prod"), "{out}");
    assert!(out.contains("~ replicas: 6 → 8"), "{out}");

    let dossier = text(&sb.run(&["dossier", &id], LIMIT).stdout);
    assert!(
        dossier.contains("What changed against what was live"),
        "{dossier}"
    );
    assert!(dossier.contains("| prod |"), "{dossier}");
    assert!(dossier.contains("`1.0` → `3.0`"), "{dossier}");
    assert!(dossier.contains("`~ replicas: 6 → 8`"), "{dossier}");
    // `approve --show` of an ended run lists what each promotion changed.
    let after = text(&sb.run(&["approve", &id, "--show"], LIMIT).stdout);
    assert!(after.contains("no gate is waiting"), "{after}");
    assert!(after.contains("2.0 → 3.0 in dev"), "{after}");
    assert!(after.contains("1.0 → 3.0 in prod"), "{after}");
}

/// A git that does not answer (a hung network mount) holds nobody at the
/// environment's door, nor the dossier: past its bound (`git::GIT_WAIT`) the
/// commits are said not listed and the release goes on.
#[test]
fn a_git_that_hangs_costs_a_bounded_wait_and_says_so() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("repo")).unwrap();
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = bin.join("git");
    std::fs::write(&git, "#!/bin/sh\nexec sleep 60\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    for v in ["1.0", "3.0"] {
        std::fs::write(sb.path(&format!("app-{v}.bin")), format!("app {v}\n")).unwrap();
    }
    let (hook, _got) = common::loopback::receiver();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |version: &str, previous: &str| {
        let p = plan(&sb, version, previous, &hook);
        sb.slate()
            .env("PATH", &path)
            .env("TEST_API_TOKEN", "t0ken-value-never-shown")
            .args(["run", "--headless", "--approve", "prod-ok"])
            .arg(&p)
            .output()
            .unwrap()
    };
    assert_eq!(run("1.0", "0.9").status.code(), Some(0));
    let out = run("3.0", "1.0");
    let text = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("commits 1.0..3.0 not listed: git took longer than 10 s"),
        "{text}"
    );
    let dir = common::newest_run(sb.home()).unwrap();
    let dossier = std::fs::read_to_string(dir.join("dossier.md")).unwrap();
    assert!(dossier.contains("git took longer than 10 s"), "{dossier}");
}
