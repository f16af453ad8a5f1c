//! Output that said something other than what Slate did: the dossier's
//! recovery check as written rather than as run, and the refusal of a
//! `force` without a note that named the wrong cause.

use std::fs::File;
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::common;
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The dossier names each environment's rollback check as the engine runs
/// it there: placeholders filled in per environment, the JSON condition kept.
#[test]
fn the_dossier_shows_the_recovery_check_each_environment_runs() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "plan.toml",
        common::release_plan!("svc" "2.5.0" from "2.4.1" by "me"; r#"
[[environments]]
name = "staging"
config = { port = "8081" }
verify_rollback = { http = "http://127.0.0.1:${config.port}/version", json = { field = "version", equals = "${previous_version}" } }

[[environments]]
name = "prod"
config = { port = "9091" }
verify_rollback = { http = "http://127.0.0.1:${config.port}/${env}/health", contains = "ok" }

[[stages]]
name = "deploy"
command = 'true'
"#),
    );
    let out = sb.run(&["run", plan.to_str().unwrap(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = sb.run(&["dossier", "latest"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let md = text(&out.stdout);
    assert!(!md.contains("${"), "an unresolved placeholder:\n{md}");
    assert!(
        md.contains(
            "- staging: `verify_rollback`, GET http://127.0.0.1:8081/version expects 200 and JSON field version = \"2.4.1\""
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "- prod: `verify_rollback`, GET http://127.0.0.1:9091/prod/health expects 200 and a body containing \"ok\""
        ),
        "{md}"
    );
}

/// A rollback whose undo fails waits for a decision; `force` without a note
/// is refused for the reason that applies (the undo failed), not for an
/// irreversible step there is none of.
#[test]
fn force_without_a_note_names_the_failed_undo() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "plan.toml",
        common::release_plan!("svc" "2" from "1" by "me"; r#"[[environments]]
name = "dev"
[[stages]]
name = "deploy"
command = 'echo deployed'
rollback = 'echo undo fails; exit 1'
[[stages]]
name = "check"
command = 'exit 1'
"#),
    );
    let printed = sb.path("run.out");
    let child = sb
        .slate()
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .stdout(Stdio::from(File::create(&printed).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    sb.wait_for("the blocked rollback", LIMIT, || {
        std::fs::read_to_string(&printed)
            .unwrap_or_default()
            .contains("slate decide ")
    });
    let slate = |args: &[&str]| -> Output { sb.run(args, LIMIT) };
    let no_note = slate(&["decide", "latest", "force"]);
    assert_eq!(no_note.status.code(), Some(1), "{no_note:?}");
    let why = text(&no_note.stderr);
    assert!(
        why.contains("a step whose undo failed needs a note"),
        "{why}"
    );
    assert!(!why.contains("irreversible"), "{why}");
    let forced = slate(&["decide", "latest", "force", "--note", "checked by hand"]);
    assert_eq!(forced.status.code(), Some(0), "{forced:?}");
    let run = common::sandbox::wait_output(child, LIMIT, &["run"]);
    assert_eq!(run.status.code(), Some(1));
}
