//! Checks through the engine: smoke tests after a stage, health checks after
//! every rollout step, TCP, HTTP (headers, JSON fields) and HTTPS against real
//! loopback servers, with `${...}` placeholders filled from the environment;
//! and the series of attempts the run state keeps per check.

use slate::engine::event::{CheckRole, Event, Trigger};
use slate::engine::{Record, RunOutcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common;
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

/// Two environments, each deploying with the smoke checks `up` (which fails
/// its very first attempt, then passes) and `ready`.
const TWO_ENVS_SMOKED: &str = r#"
[[environments]]
name = "staging"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'echo deploy >> ledger'
smoke = ["up", "ready"]
[[checks]]
name = "up"
command = 'n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; test $n -ge 1'
retries = 1
interval = "50ms"
[[checks]]
name = "ready"
command = "true"
"#;

#[tokio::test]
async fn check_series_live_in_the_run_state_per_environment_and_check() {
    // `finish` also checks that replaying the journal rebuilds this state,
    // series included.
    let (state, records, _) = start(TWO_ENVS_SMOKED, false).finish().await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let series: Vec<(usize, &str, Vec<bool>)> = state
        .checks
        .iter()
        .map(|c| {
            let oks = c.samples.iter().map(|(_, ok)| *ok).collect();
            (c.env, c.check.as_str(), oks)
        })
        .collect();
    assert_eq!(
        series,
        [
            (0, "up", vec![false, true]),
            (0, "ready", vec![true]),
            (1, "up", vec![true]),
            (1, "ready", vec![true]),
        ]
    );
    // Each sample is its attempt's latency, in the order journaled.
    for c in &state.checks {
        let journaled: Vec<(u64, bool)> = records
            .iter()
            .filter_map(|r| match &r.event {
                Event::CheckResult {
                    env,
                    check,
                    ok,
                    latency_ms,
                    ..
                } if *env == c.env && *check == c.check => Some((*latency_ms, *ok)),
                _ => None,
            })
            .collect();
        assert_eq!(Vec::from(c.samples.clone()), journaled, "{}", c.check);
    }
}

#[tokio::test]
async fn a_check_series_keeps_only_its_newest_attempts_and_ignores_unknown_places() {
    use slate::engine::RunState;
    use slate::engine::state::CHECK_SAMPLES_KEPT;

    let (_, records, _) = start(TWO_ENVS_SMOKED, false).finish().await;
    // The run as it started (its real outline), then many attempts of `up`.
    let mut state = RunState::replay(&records[..1]);
    let attempt = |seq: u64, env: usize, latency_ms: u64| Record {
        seq,
        ts: records[0].ts,
        event: Event::CheckResult {
            env,
            step: 1,
            check: "up".into(),
            role: CheckRole::Smoke,
            attempt: 1,
            ok: latency_ms.is_multiple_of(2),
            latency_ms,
            message: String::new(),
        },
    };
    let total = CHECK_SAMPLES_KEPT as u64 + 10;
    for i in 0..total {
        state.apply(&attempt(2 + i, 0, i));
    }
    assert_eq!(state.checks.len(), 1);
    let kept = &state.checks[0].samples;
    assert_eq!(kept.len(), CHECK_SAMPLES_KEPT);
    assert_eq!(kept.front(), Some(&(10, true)), "the oldest ten are gone");
    assert_eq!(kept.back(), Some(&(total - 1, false)));
    // An environment the run does not have (a damaged journal) adds no series.
    state.apply(&attempt(2 + total, 7, 1));
    assert_eq!(state.checks.len(), 1);
    assert_eq!(state.last_seq, 2 + total);
}

/// An HTTPS server on 127.0.0.1 with a new self-signed certificate for that
/// address (returned as PEM), answering each request `200 ok`. It reports how
/// each connection went: the request line, or the TLS error that ended it.
fn https_server() -> (
    u16,
    String,
    std::sync::mpsc::Receiver<Result<String, String>>,
) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::io::{Read, Write};
    use std::sync::Arc;

    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { break };
            let _ = tcp.set_read_timeout(Some(LIMIT));
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            let seen = loop {
                match tls.read(&mut buf) {
                    Ok(0) => break Err("closed before a request".to_string()),
                    Ok(n) => {
                        head.extend_from_slice(&buf[..n]);
                        if head.windows(4).any(|w| w == b"\r\n\r\n") {
                            let text = String::from_utf8_lossy(&head);
                            break Ok(text.lines().next().unwrap_or("").to_string());
                        }
                    }
                    Err(e) => break Err(e.to_string()),
                }
            };
            if seen.is_ok() {
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
            if tx.send(seen).is_err() {
                break;
            }
        }
    });
    (port, cert.pem(), rx)
}

/// Runs a plan whose smoke check asks `https://127.0.0.1:PORT/healthz`, with
/// `trusted` (PEM) as the only certificates the system trusts.
fn run_https_check(port: u16, trusted: &str) -> (std::process::Output, Vec<serde_json::Value>) {
    use common::sandbox::{Sandbox, wait_output};

    let sb = Sandbox::new();
    std::fs::write(sb.path("trusted.pem"), trusted).unwrap();
    let plan = sb.plan(
        "plan.toml",
        &plan_source(&format!(
            r#"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = "true"
smoke = ["tls"]
[[checks]]
name = "tls"
http = "https://127.0.0.1:{port}/healthz"
timeout = "5s"
"#
        )),
    );
    let child = sb
        .slate()
        .env("SSL_CERT_FILE", sb.path("trusted.pem"))
        .env_remove("SSL_CERT_DIR")
        .args(["run", plan.to_str().unwrap(), "--headless", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, LIMIT, &["run", "--headless"]);
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (out, records)
}

fn tls_check_results(records: &[serde_json::Value]) -> Vec<(bool, String)> {
    records
        .iter()
        .filter(|r| r["event"]["type"] == "check_result")
        .map(|r| {
            let e = &r["event"];
            (
                e["ok"] == true,
                e["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn https_checks_talk_tls_to_a_server_the_system_trusts() {
    let (port, pem, seen) = https_server();
    let (out, records) = run_https_check(port, &pem);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        seen.recv_timeout(LIMIT).unwrap(),
        Ok("GET /healthz HTTP/1.1".to_string())
    );
    let results = tls_check_results(&records);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].0, "{results:?}");
}

#[test]
fn https_checks_refuse_a_certificate_the_system_does_not_trust() {
    let (port, _, seen) = https_server();
    // A certificate with the server's name and address, but another key.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
        .unwrap()
        .cert
        .pem();
    let (out, records) = run_https_check(port, &other);
    assert!(!out.status.success());
    // The handshake happened, and the client ended it over the certificate.
    let ended = seen.recv_timeout(LIMIT).unwrap().unwrap_err();
    assert!(ended.contains("alert"), "{ended}");
    let results = tls_check_results(&records);
    assert!(
        !results.is_empty() && results.iter().all(|(ok, _)| !ok),
        "{results:?}"
    );
}
