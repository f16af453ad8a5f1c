//! Artifact integrity: real files in a temp directory, hashed before every
//! environment; a digest that changed between environments stops the run
//! before the next one, naming the artifact and what was found. Replay equals
//! live (checked by `Run::finish`), the dossier and the cockpit's matrix show
//! the digests, and headless prints a line per check.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::engine::*;
use common::sandbox::Sandbox;
use sha2::{Digest, Sha256};
use slate::engine::event::{Event, Record};
use slate::engine::{RunOutcome, RunState};

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Each `ArtifactVerified` as (env, name, expected, found, ok, message).
type Check = (usize, String, Option<String>, Option<String>, bool, String);

fn checks(records: &[Record]) -> Vec<Check> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ArtifactVerified {
                env,
                name,
                expected,
                found,
                ok,
                message,
            } => Some((
                *env,
                name.clone(),
                expected.clone(),
                found.clone(),
                *ok,
                message.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn envs_started(records: &[Record]) -> Vec<usize> {
    records
        .iter()
        .filter_map(|r| match r.event {
            Event::EnvStarted { env } => Some(env),
            _ => None,
        })
        .collect()
}

/// dev then staging; the stage appends to the ledger, and in dev runs `dev_extra` too.
fn two_envs(dev_extra: &str, artifacts: &str) -> String {
    format!(
        r#"
[[environments]]
name = "dev"
[[environments]]
name = "staging"
[[stages]]
name = "deploy"
command = '''
echo "deploy $SLATE_ENV" >> ledger
if [ "$SLATE_ENV" = dev ]; then {dev_extra} ; fi
'''
{artifacts}"#
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Starts a plan and lets `setup` write files into its work directory. The
/// test runtime has one thread, so the engine's task runs only once the test
/// awaits: the files are in place before the first check.
fn start_in(plan: &str, setup: impl FnOnce(&Path)) -> Run {
    let run = start_with(plan, |o| {
        o.unattended = slate::engine::Unattended::FailClosed;
    });
    setup(run.work.path());
    run
}

#[tokio::test]
async fn a_matching_digest_is_checked_before_every_environment() {
    let content = b"the release tarball";
    let digest = sha256(content);
    // An absolute path, outside the plan's directory.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.tar.gz", content);
    let plan = two_envs(
        "true",
        &format!(
            "[[artifacts]]\nname = \"app.tar.gz\"\npath = \"{}\"\nsha256 = \"{}\"\n",
            dir.path().join("app.tar.gz").display(),
            digest.to_uppercase()
        ),
    );
    let run = start_in(&plan, |_| {});
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy dev", "deploy staging"]);
    let want = |env| {
        (
            env,
            "app.tar.gz".to_string(),
            Some(digest.clone()),
            Some(digest.clone()),
            true,
            "sha256 matches".to_string(),
        )
    };
    assert_eq!(checks(&records), [want(0), want(1)]);
    // Each check comes before its environment starts.
    let pos = |pred: &dyn Fn(&Event) -> bool| records.iter().position(|r| pred(&r.event));
    assert!(
        pos(&|e| matches!(e, Event::ArtifactVerified { env: 1, .. }))
            < pos(&|e| matches!(e, Event::EnvStarted { env: 1 }))
    );
    assert_eq!(state.artifacts.len(), 1);
    assert_eq!(
        state.artifacts[0].expected.as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(state.artifacts[0].checks.len(), 2);

    // The dossier shows the full digest, and the cockpit's matrix a short one.
    let dossier = slate::dossier::render(&records, false);
    assert!(dossier.contains("### Artifacts"), "{dossier}");
    assert!(dossier.contains(&format!("`{digest}`")), "{dossier}");
    let mut app = common::render::plan_app(&plan_source(&plan), common::render::theme("default"));
    for r in &records {
        app.apply_record(r);
    }
    let screen = common::render::text(common::render::render(&mut app, 160, 48).backend().buffer());
    assert!(screen.contains("artifacts"), "{screen}");
    assert!(screen.contains(&format!("✔ {}", &digest[..8])), "{screen}");
}

#[tokio::test]
async fn an_artifact_changed_between_environments_stops_the_run_before_the_next() {
    let before = b"built once";
    let plan = two_envs(
        "echo tampered >> app.tar.gz",
        &format!(
            "[[artifacts]]\nname = \"app.tar.gz\"\npath = \"app.tar.gz\"\nsha256 = \"{}\"\n",
            sha256(before)
        ),
    );
    let run = start_in(&plan, |dir| write(dir, "app.tar.gz", before));
    let after = [&before[..], b"tampered\n"].concat();
    let (state, records, ledger) = run.finish().await;

    assert_eq!(ledger, ["deploy dev"], "staging never ran");
    assert_eq!(envs_started(&records), [0]);
    assert_eq!(state.outcome, Some(RunOutcome::Failed));
    let found = sha256(&after);
    let message = format!(
        "digest changed: expected sha256:{}, found sha256:{found}",
        sha256(before)
    );
    let c = checks(&records);
    assert_eq!(c.len(), 2);
    assert!(c[0].4);
    assert_eq!(
        c[1],
        (
            1,
            "app.tar.gz".into(),
            Some(sha256(before)),
            Some(found.clone()),
            false,
            message.clone()
        )
    );
    assert_eq!(
        state.message,
        format!("staging not started: artifact app.tar.gz: {message}")
    );
    // dev stays deployed; nothing of staging ran, so nothing is rolled back.
    assert_eq!(
        state.envs_ended(slate::engine::event::EnvOutcome::Deployed),
        ["dev"]
    );
    assert!(
        !records
            .iter()
            .any(|r| matches!(r.event, Event::RollbackStarted { .. }))
    );
    let mut app = common::render::plan_app(&plan_source(&plan), common::render::theme("default"));
    for r in &records {
        app.apply_record(r);
    }
    let screen = common::render::text(common::render::render(&mut app, 160, 48).backend().buffer());
    assert!(screen.contains("✘ app.tar.gz"), "{screen}");
}

#[tokio::test]
async fn a_digest_command_pins_the_first_digest_it_prints() {
    // The command prints `<hex>  file` as sha256sum does; dev changes the file.
    let plan = two_envs(
        "echo rebuilt > image.tar",
        "[[artifacts]]\nname = \"image\"\ndigest_command = 'sha256sum image.tar'\n",
    );
    let run = start_in(&plan, |dir| write(dir, "image.tar", b"layer one"));
    let (state, records, ledger) = run.finish().await;
    let first = sha256(b"layer one");
    let second = sha256(b"rebuilt\n");
    assert_eq!(ledger, ["deploy dev"]);
    assert_eq!(state.outcome, Some(RunOutcome::Failed));
    assert_eq!(
        checks(&records),
        [
            (
                0,
                "image".into(),
                None,
                Some(first.clone()),
                true,
                "first digest seen; every later environment must match it".into()
            ),
            (
                1,
                "image".into(),
                Some(first.clone()),
                Some(second.clone()),
                false,
                format!("digest changed: expected sha256:{first}, found sha256:{second}")
            ),
        ]
    );
    assert!(
        state.message.contains("artifact image"),
        "{}",
        state.message
    );
}

#[tokio::test]
async fn a_digest_command_that_passes_everywhere_and_one_that_fails() {
    let digest = sha256(b"same bits");
    // `sha256:<hex>`, and an expected digest given in the plan too.
    let plan = two_envs(
        "true",
        &format!(
            "[[artifacts]]\nname = \"image\"\nsha256 = \"sha256:{digest}\"\ndigest_command = 'echo \"registry.example/app@sha256:{digest}\"'\n"
        ),
    );
    let (state, records, ledger) = start_in(&plan, |_| {}).finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy dev", "deploy staging"]);
    assert!(
        checks(&records)
            .iter()
            .all(|c| c.4 && c.3.as_deref() == Some(&digest[..]))
    );

    let plan = two_envs(
        "true",
        "[[artifacts]]\nname = \"image\"\ndigest_command = 'echo \"no such image\" >&2; exit 3'\n",
    );
    let (state, records, ledger) = start_in(&plan, |_| {}).finish().await;
    assert!(ledger.is_empty());
    assert_eq!(state.outcome, Some(RunOutcome::Failed));
    assert_eq!(
        state.message,
        "dev not started: artifact image: the digest command exited with 3: no such image"
    );
    assert_eq!(checks(&records)[0].3, None);
}

#[tokio::test]
async fn a_missing_file_stops_the_run_before_the_first_environment() {
    let plan = two_envs(
        "true",
        &format!(
            "[[artifacts]]\nname = \"app.tar.gz\"\npath = \"dist/app.tar.gz\"\nsha256 = \"{}\"\n",
            sha256(b"x")
        ),
    );
    let run = start_in(&plan, |_| {});
    let missing = run.work.path().join("dist/app.tar.gz");
    let (state, records, ledger) = run.finish().await;
    assert!(ledger.is_empty());
    assert!(envs_started(&records).is_empty(), "no environment started");
    assert_eq!(state.outcome, Some(RunOutcome::Failed));
    let c = checks(&records);
    assert_eq!(c.len(), 1);
    assert!(!c[0].4);
    assert_eq!(c[0].3, None);
    assert!(
        c[0].5
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{}",
        c[0].5
    );
    assert!(
        state
            .message
            .starts_with("dev not started: artifact app.tar.gz: cannot read "),
        "{}",
        state.message
    );
    assert_eq!(RunState::replay(&records), state);
}

#[test]
fn headless_prints_a_line_per_check() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("app.tar.gz"), b"bits").unwrap();
    let digest = sha256(b"bits");
    let plan = sb.plan(
        "plan.toml",
        &format!(
            common::release_plan!(
                r#"[[environments]]
name = "dev"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = "true"
[[artifacts]]
name = "app.tar.gz"
path = "app.tar.gz"
sha256 = "{digest}"
"#
            ),
            digest = digest
        ),
    );
    let out = sb.run(
        &["run", plan.to_str().unwrap(), "--headless"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for env in ["dev", "prod"] {
        assert!(
            stdout.contains(&format!(
                "{env} · artifact app.tar.gz ✔ sha256:{digest} (sha256 matches)"
            )),
            "{stdout}"
        );
    }
}
