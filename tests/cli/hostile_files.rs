//! Hostile files: plans and user files that are not regular files (a FIFO,
//! `/dev/zero` behind a symlink, a directory) or are huge; journals that are
//! empty or hold no run's start; and state directories that someone else
//! could write to or owns. Each is refused with a message that says what and
//! where, never hangs, never grows without bound, and never writes through
//! a symlink.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::common;
use common::sandbox::Sandbox;

/// Every refusal here is immediate; this only bounds a hang.
const LIMIT: Duration = Duration::from_secs(30);

const PLAN: &str = common::release_plan!("svc" "2" from "1" by "me"; r#"[[environments]]
name = "dev"
[[stages]]
name = "deploy"
command = 'echo deployed'
"#);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn assert_refused(out: &Output, code: i32, says: &str) {
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    assert!(text(&out.stderr).contains(says), "{says:?} not in {out:?}");
}

#[test]
fn plans_that_are_not_regular_files_or_too_large_are_refused_before_reading() {
    let sb = Sandbox::new();
    let fifo = sb.path("fifo.toml");
    mkfifo(&fifo);
    let zero = sb.path("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let dir = sb.path("dir.toml");
    std::fs::create_dir(&dir).unwrap();
    let big = sb.path("big.toml");
    std::fs::write(&big, format!("{PLAN}\n{}", "# padding\n".repeat(500_000))).unwrap();
    let plan = |p: &Path| p.to_str().unwrap().to_string();
    for (path, says) in [
        (
            &fifo,
            "cannot read plan: it is a FIFO (named pipe), not a regular file",
        ),
        (
            &zero,
            "cannot read plan: it is a device, not a regular file",
        ),
        (&dir, "cannot read plan: it is a directory, not a file"),
        (
            &big,
            "cannot read plan: it is 4.8 MiB, more than the 4 MiB Slate reads",
        ),
    ] {
        let v = sb.run(&["validate", &plan(path)], LIMIT);
        assert_refused(&v, 2, says);
        assert!(
            text(&v.stderr).starts_with(&format!("{}:", plan(path))),
            "{v:?}"
        );
        let r = sb.run(&["run", &plan(path), "--headless"], LIMIT);
        assert_refused(&r, 2, says);
    }
    assert!(common::run_dirs(sb.home()).is_empty(), "no run started");
}

#[test]
fn user_config_and_themes_that_are_not_regular_files_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path();
    std::fs::create_dir(config.join("themes")).unwrap();
    mkfifo(&config.join("config.toml"));
    let e = slate::cockpit::config::load(config).unwrap_err();
    assert!(
        e.lines()[0].contains("cannot read config: it is a FIFO"),
        "{:?}",
        e.lines()
    );
    std::os::unix::fs::symlink("/dev/zero", config.join("themes/zero.toml")).unwrap();
    let e = slate::tui::theme::Theme::load("zero", config).unwrap_err();
    assert!(e.contains("it is a device, not a regular file"), "{e}");
}

#[test]
fn an_artifact_that_is_a_fifo_fails_its_check_instead_of_hanging() {
    let sb = Sandbox::new();
    mkfifo(&sb.path("app.tar.gz"));
    let plan = sb.plan(
        "plan.toml",
        &format!(
            "{PLAN}\n[[artifacts]]\nname = \"app\"\npath = \"app.tar.gz\"\nsha256 = \"{}\"\n",
            "0".repeat(64)
        ),
    );
    let out = sb.run(&["run", plan.to_str().unwrap(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stdout).contains("it is a FIFO (named pipe), not a regular file"),
        "{out:?}"
    );
}

/// A released run, and beside it a run directory whose journal is empty
/// and one whose journal does not begin with the run's start.
fn runs_with_broken_journals(sb: &Sandbox) -> (String, String, String) {
    let plan = sb.plan("plan.toml", PLAN);
    let out = sb.run(&["run", plan.to_str().unwrap(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let good = common::newest_run(sb.home()).unwrap();
    let journal = std::fs::read_to_string(good.join("journal.ndjson")).unwrap();
    let runs = sb.home().join("runs");
    // Ids that sort after the good run: each is "latest" in turn.
    let empty = "29991231T000000-empty".to_string();
    std::fs::create_dir(runs.join(&empty)).unwrap();
    std::fs::write(runs.join(&empty).join("journal.ndjson"), "").unwrap();
    let headless = "29991231T000001-headless".to_string();
    std::fs::create_dir(runs.join(&headless)).unwrap();
    let rest: String = journal.split_inclusive('\n').skip(1).collect();
    std::fs::write(runs.join(&headless).join("journal.ndjson"), rest).unwrap();
    (
        good.file_name().unwrap().to_str().unwrap().to_string(),
        empty,
        headless,
    )
}

#[test]
fn an_empty_journal_is_an_error_not_a_blank_run() {
    let sb = Sandbox::new();
    let (good, empty, headless) = runs_with_broken_journals(&sb);
    for (id, says) in [
        (&empty, "the journal is empty: the run never started"),
        (&headless, "the journal does not begin with run_started"),
    ] {
        for args in [
            vec!["show", id],
            vec!["show", id, "--json"],
            vec!["dossier", id],
            vec!["replay", id],
        ] {
            let out = sb.run(&args, LIMIT);
            assert_refused(&out, 1, says);
            assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        }
    }
    // `latest` is the newest directory: refused the same way.
    assert_refused(&sb.run(&["show"], LIMIT), 1, "the journal does not begin");

    // Lists skip them, and say so.
    for args in [
        vec!["memory"],
        vec!["memory", "--json"],
        vec!["history"],
        vec!["history", "--json"],
    ] {
        let out = sb.run(&args, LIMIT);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert!(stdout.contains(&good), "{args:?}: {stdout}");
        assert!(
            !stdout.contains(&empty) && !stdout.contains(&headless),
            "{args:?}: {stdout}"
        );
        assert!(
            stderr.contains(&format!("run {empty}:")) && stderr.contains("the journal is empty"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("run {headless}:")),
            "{args:?}: {stderr}"
        );
    }
    // Skipped, not recorded as runs: the store holds the good run alone.
    let ids = slate::store::open(sb.home())
        .unwrap()
        .store
        .run_ids()
        .unwrap();
    assert_eq!(ids, vec![good.clone()]);

    // A FIFO where the journal should be is refused, not waited on.
    let fifo = "29991231T000002-fifo";
    std::fs::create_dir(sb.home().join("runs").join(fifo)).unwrap();
    mkfifo(&sb.home().join("runs").join(fifo).join("journal.ndjson"));
    assert_refused(&sb.run(&["show", fifo], LIMIT), 1, "not a regular file");
    assert_refused(&sb.run(&["dossier", fifo], LIMIT), 1, "not a regular file");
}

#[test]
fn a_state_directory_others_may_write_to_is_refused_and_left_untouched() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", PLAN);
    let state = sb.path("shared-state");
    std::fs::create_dir(&state).unwrap();
    chmod(&state, 0o777);
    let run = |args: &[&str]| {
        let mut cmd = sb.slate();
        cmd.env("SLATE_HOME", &state).args(args);
        common::sandbox::wait_output(
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
            LIMIT,
            args,
        )
    };
    let out = run(&["run", plan.to_str().unwrap(), "--headless"]);
    assert_refused(&out, 1, &format!("chmod go-w {}", state.display()));
    assert!(text(&out.stderr).contains("mode 0777"), "{out:?}");
    assert_eq!(
        std::fs::read_dir(&state).unwrap().count(),
        0,
        "nothing written"
    );
    for args in [
        vec!["status"],
        vec!["show"],
        vec!["approve", "x", "--comment", "c"],
    ] {
        assert_refused(&run(&args), 1, "chmod go-w");
    }
    // `validate` does not use the state directory at all.
    assert_eq!(
        run(&["validate", plan.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read_dir(&state).unwrap().count(),
        0,
        "nothing written"
    );

    // Closed again, it is used.
    chmod(&state, 0o700);
    assert_eq!(
        run(&["run", plan.to_str().unwrap(), "--headless"])
            .status
            .code(),
        Some(0)
    );

    // `runs/` swapped for a link to someone else's directory: refused.
    let elsewhere = sb.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::rename(state.join("runs"), sb.path("moved-runs")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, state.join("runs")).unwrap();
    let out = run(&["run", plan.to_str().unwrap(), "--headless"]);
    assert_refused(&out, 1, "is a symbolic link");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// `slate.log` planted as a symlink to another file: Slate never writes
/// through it (and runs on without its log).
#[test]
fn a_symlinked_log_is_never_written_through() {
    let sb = Sandbox::new();
    let victim = sb.path("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, sb.home().join("slate.log")).unwrap();
    let plan = sb.plan("plan.toml", PLAN);
    let out = sb.run(&["run", plan.to_str().unwrap(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

/// Another user's state directory, even one only it can write to, is never
/// used to keep runs in or to log: not even by root. Only a run shared with
/// a group is reached there, by its id (see tests/cli/control.rs). Needs root to
/// give the directory away; says so loudly and skips otherwise.
#[test]
fn a_state_directory_owned_by_someone_else_is_refused_even_for_root() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "SKIPPED a_state_directory_owned_by_someone_else_is_refused_even_for_root: needs root"
        );
        return;
    }
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", PLAN);
    let theirs = sb.path("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o755);
    // What she planted: the log a symlink to a root-only file.
    let victim = sb.path("root-only");
    std::fs::write(&victim, "root's\n").unwrap();
    chmod(&victim, 0o600);
    std::os::unix::fs::symlink(&victim, theirs.join("slate.log")).unwrap();
    let nobody = nix::unistd::Uid::from_raw(65534);
    nix::unistd::chown(&theirs, Some(nobody), None).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = sb.slate();
        cmd.env("SLATE_HOME", &theirs).args(args);
        common::sandbox::wait_output(
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
            LIMIT,
            args,
        )
    };
    for args in [
        vec!["run", plan.to_str().unwrap(), "--headless"],
        vec!["status"],
        vec!["history"],
        vec!["memory"],
    ] {
        let out = run(&args);
        assert_refused(&out, 1, "refusing the state directory");
        assert!(
            text(&out.stderr).contains("owner nobody")
                || text(&out.stderr).contains("owner uid 65534"),
            "{out:?}"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's\n");
    assert!(!theirs.join("runs").exists(), "no run was kept there");
}
