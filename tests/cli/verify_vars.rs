//! Plans that take values: `[vars]` with defaults and descriptions,
//! `${var.NAME}` where `${config.KEY}` may appear, `SLATE_VAR_NAME` for
//! commands, and `--set NAME=VALUE` through validate, run and the dossier.

use std::path::Path;
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::common;
use common::*;

fn slate(home: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(args)
        .env("SLATE_HOME", home)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const PLAN: &str = r#"[release]
name = "svc"
version = "2.0"
previous_version = "1.0"
owner = "tests"

[vars]
region = { default = "eu-west-1", description = "where the fleet runs" }
port = { description = "the health endpoint's port" }
replicas = 3

[[environments]]
name = "staging"
health = ["up"]

[[stages]]
name = "deploy"
command = 'echo "deploying to $SLATE_VAR_REGION with $SLATE_VAR_REPLICAS replicas"'

[[checks]]
name = "up"
http = "http://127.0.0.1:${var.port}/healthz?region=${var.region}"
timeout = "2s"
"#;

#[test]
fn set_values_flow_through_validate_run_and_the_dossier() {
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, PLAN).unwrap();
    let p = path.to_str().unwrap();

    // `port` has no default: where it is used is named.
    let (code, _, err) = slate(home.path(), &["validate", p], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{p}:22:8: `${{var.port}}` is used here, but var `port` has no default and was not given: run with --set port=VALUE"
        )),
        "{err}"
    );
    // Given, it validates and says where each value came from.
    let (code, out, err) = slate(home.path(), &["validate", p, "--set", "port=9"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("var region = eu-west-1 (default)"), "{out}");
    assert!(out.contains("var port = 9 (--set)"), "{out}");
    assert!(out.contains("var replicas = 3 (default)"), "{out}");
    // A name the plan does not declare, and a malformed --set, are refused.
    let (code, _, err) = slate(home.path(), &["validate", p, "--set", "prot=9"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "--set prot: the plan declares no var `prot` in [vars] (it has: region, port, replicas)"
        ),
        "{err}"
    );
    let (code, _, err) = slate(home.path(), &["validate", p, "--set", "port"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("expected NAME=VALUE"), "{err}");

    // A run: a real health endpoint on the port given, the stage sees the vars.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for conn in server.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 2048];
            let n = c.read(&mut buf).unwrap_or(0);
            *seen2.lock().unwrap() = String::from_utf8_lossy(&buf[..n]).to_string();
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let (code, out, err) = slate(
        home.path(),
        &[
            "run",
            "--headless",
            p,
            "--set",
            &format!("port={port}"),
            "--set",
            "region=us-east-2",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("deploying to us-east-2 with 3 replicas"),
        "{out}"
    );
    assert!(
        seen.lock()
            .unwrap()
            .starts_with("GET /healthz?region=us-east-2 "),
        "{}",
        seen.lock().unwrap()
    );
    let run_dir = newest_run(home.path()).unwrap();
    let recs = read_journal(&run_dir.join("journal.ndjson"));
    let started = only(&recs, "run_started");
    assert_eq!(
        started["vars"],
        serde_json::json!([["port", port], ["region", "us-east-2"]])
    );
    let (code, dossier, _) = slate(home.path(), &["dossier", "latest"], &[]);
    assert_eq!(code, 0);
    assert!(
        dossier.contains(&format!(
            "| Vars | region = `us-east-2` (--set), port = `{port}` (--set), replicas = `3` (default) |"
        )),
        "{dossier}"
    );
}

#[test]
fn secret_looking_vars_and_undeclared_uses_are_refused_where_they_are() {
    let text = r#"[release]
name = "svc"
version = "2.0"
previous_version = "1.0"
owner = "tests"

[vars]
api_token = "x"
db_password = { default = "y" }
"9lives" = "z"

[[environments]]
name = "staging"
health = ["up"]

[[stages]]
name = "deploy"
command = "true"

[[checks]]
name = "up"
http = "http://127.0.0.1:9/${var.nope}"
"#;
    let err = slate::plan::parse(text, "p.toml", ".".into())
        .unwrap_err()
        .to_string();
    for want in [
        "p.toml:8:1: var `api_token` looks like a secret: vars are journaled and shown; declare it in [secrets] and use `${secret.api_token}`",
        "p.toml:9:1: var `db_password` looks like a secret",
        "p.toml:10:1: var name `9lives` must be letters, digits and `_`, not starting with a digit",
        "p.toml:22:8: `${var.nope}` is used here, but [vars] declares no `nope`",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
}

#[test]
fn the_preview_takes_set_values_as_a_run_does() {
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, PLAN).unwrap();
    let p = path.to_str().unwrap();

    // Without the value `port` needs, the preview refuses as validate does.
    let (code, _, err) = slate(home.path(), &["plan", p], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("run with --set port=VALUE"), "{err}");

    // With it, the commands' variables and the check's URL carry the values.
    let (code, out, err) = slate(
        home.path(),
        &["plan", p, "--set", "port=9", "--set", "region=ap-1"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("SLATE_VAR_REGION=ap-1"), "{out}");
    assert!(out.contains("SLATE_VAR_PORT=9"), "{out}");
    assert!(out.contains("127.0.0.1:9/healthz?region=ap-1"), "{out}");

    // The pre-release dossier reads the plan back with the same values.
    let (code, out, err) = slate(
        home.path(),
        &["plan", p, "--dossier", "--set", "port=9"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("port = `9` (--set)"), "{out}");
}
