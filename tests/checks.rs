//! Checks through the engine: smoke tests after a stage, health checks after
//! every rollout step, TCP and HTTP (headers, JSON fields) against real
//! loopback servers, with `${...}` placeholders filled from the environment.

use slate::engine::event::{CheckRole, Event, Trigger};
use slate::engine::{Record, RunOutcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::engine::*;

/// A server answering every request with `body` as JSON, and sending each
/// request's head back to the test.
async fn json_server(body: &'static str) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok(Ok((mut sock, _))) = tokio::time::timeout(LIMIT, listener.accept()).await else {
                break;
            };
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_lowercase());
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (port, rx)
}

fn check_results(records: &[Record]) -> Vec<(String, CheckRole, bool, String)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::CheckResult {
                check,
                role,
                ok,
                message,
                ..
            } => Some((check.clone(), *role, *ok, message.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn smoke_checks_send_headers_and_judge_json_fields_with_placeholders_filled() {
    let (port, mut requests) = json_server(r#"{"version":"2.0","checks":{"db":"up"}}"#).await;
    let run = start(
        &format!(
            r#"
[[environments]]
name = "staging"
config = {{ port = {port}, token = "s3cret" }}
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
smoke = ["version", "db"]
[[checks]]
name = "version"
http = "http://127.0.0.1:${{config.port}}/version?env=${{env}}"
headers = {{ X-Probe = "slate ${{version}}", Authorization = "Bearer ${{config.token}}" }}
json = {{ field = "version", equals = "${{version}}" }}
[[checks]]
name = "db"
http = "http://127.0.0.1:${{config.port}}/healthz"
json = {{ field = "checks.db", equals = "up" }}
"#
        ),
        false,
    );
    let (state, records, _) = run.finish().await;
    assert_eq!(
        state.outcome,
        Some(RunOutcome::Released),
        "{}",
        state.message
    );
    let results = check_results(&records);
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(_, role, ok, _)| *role == CheckRole::Smoke && *ok)
    );
    let first = requests.recv().await.unwrap();
    assert!(first.starts_with("get /version?env=staging "), "{first}");
    assert!(first.contains("x-probe: slate 2.0"), "{first}");
    assert!(first.contains("authorization: bearer s3cret"), "{first}");
    // The step list shows the smoke checks as their own step.
    let labels: Vec<&str> = state.envs[0]
        .steps
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(labels, ["deploy", "smoke version, db"]);
}

#[tokio::test]
async fn a_failing_smoke_check_fails_the_step_and_rolls_the_stage_back() {
    let (port, _requests) = json_server(r#"{"version":"1.0"}"#).await;
    let run = start(
        &format!(
            r#"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
rollback = 'echo undo >> ledger'
smoke = ["version"]
[[checks]]
name = "version"
http = "http://127.0.0.1:{port}/version"
json = {{ field = "version", equals = "2.0" }}
retries = 1
interval = "50ms"
"#
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(ledger, ["deploy", "undo"]);
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let want = format!(
        "smoke version: GET http://127.0.0.1:{port}/version: JSON field `version` is \"1.0\", expected \"2.0\" (2 attempts)"
    );
    assert!(state.message.ends_with(&want), "{}", state.message);
    assert!(records.iter().any(|r| matches!(
        &r.event,
        Event::RollbackStarted {
            trigger: Trigger::StepFailed { step: 1 },
            ..
        }
    )));
}

#[tokio::test]
async fn health_checks_run_after_every_rollout_step_and_tcp_checks_connect() {
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let run = start(
        &format!(
            r#"
[[environments]]
name = "prod"
config = {{ db = "127.0.0.1:{port}" }}
health = ["db"]
strategy = {{ kind = "canary", steps = [10, 50, 100] }}
[[stages]]
name = "deploy"
rollout = true
command = 'echo "deploy $SLATE_WEIGHT" >> ledger'
[[checks]]
name = "db"
tcp = "${{config.db}}"
timeout = "2s"
"#
        ),
        false,
    );
    let (state, records, ledger) = run.finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    assert_eq!(ledger, ["deploy 10", "deploy 50", "deploy 100"]);
    let results = check_results(&records);
    assert_eq!(results.len(), 3, "one health check per weight: {results:?}");
    for (name, role, ok, message) in &results {
        assert_eq!((name.as_str(), *role, *ok), ("db", CheckRole::Health, true));
        assert!(
            message.starts_with(&format!("TCP 127.0.0.1:{port}: connected in ")),
            "{message}"
        );
    }
    drop(open);
}

#[tokio::test]
async fn a_tcp_check_gate_on_a_closed_port_fails_closed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = start(
        &format!(
            r#"
[[environments]]
name = "prod"
gates = ["db-up"]
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
[[gates]]
name = "db-up"
kind = "check"
check = {{ tcp = "127.0.0.1:{port}", timeout = "1s" }}
"#
        ),
        false,
    );
    let (state, _, ledger) = run.finish().await;
    assert!(ledger.is_empty(), "nothing deployed behind a failed gate");
    assert_ne!(state.outcome, Some(RunOutcome::Released));
    assert!(
        state
            .message
            .contains(&format!("TCP 127.0.0.1:{port}: connection refused")),
        "{}",
        state.message
    );
}
