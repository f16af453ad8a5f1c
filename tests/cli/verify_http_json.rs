//! The generic HTTP JSON metric source against a real HTTP server on
//! loopback that answers realistic shapes (a Datadog-style series array), an
//! empty result, a non-number, an HTTP error, something that is not JSON and
//! an answer slower than the metric's timeout; its header carries a secret,
//! which reaches the server and nothing else.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::common;
use common::*;

const SECRET: &str = "s3cret-dd-key-7f21";

/// Serves canned answers by path until the test ends; keeps each request's
/// `DD-API-KEY` header.
fn server(keys: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let keys = keys.clone();
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req).to_string();
                let path = req.split(' ').nth(1).unwrap_or("").to_string();
                if let Some(k) = req.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("dd-api-key: ")
                        .map(|_| l[12..].trim().to_string())
                }) {
                    keys.lock().unwrap().push(k);
                }
                let (status, body) = match path.as_str() {
                    "/good" => (
                        "200 OK",
                        r#"{"status":"ok","series":[{"metric":"trace.http.errors","pointlist":[[1764763200000,0.03],[1764763260000,0.012]]}]}"#.to_string(),
                    ),
                    "/empty" => ("200 OK", r#"{"status":"ok","series":[]}"#.to_string()),
                    "/text" => (
                        "200 OK",
                        r#"{"series":[{"pointlist":[[1764763200000,"lots\u001b[2J"]]}]}"#.to_string(),
                    ),
                    "/error" => ("500 Internal Server Error", "upstream broke".to_string()),
                    "/html" => ("200 OK", "<html>maintenance</html>".to_string()),
                    "/slow" => {
                        // Slower than the metric's timeout: the source must give up.
                        std::thread::sleep(Duration::from_secs(3));
                        ("200 OK", r#"{"series":[]}"#.to_string())
                    }
                    _ => ("404 Not Found", String::new()),
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

fn metric(name: &str, port: u16, path: &str) -> String {
    format!(
        r#"
[[metrics]]
name = "{name}"
http = "http://127.0.0.1:{port}{path}"
json_path = "$.series[0].pointlist[-1][1]"
headers = {{ DD-API-KEY = "${{secret.DD_KEY}}" }}
interval = "200ms"
timeout = "500ms"
success = "<= 0.05"
"#
    )
}

#[test]
fn an_http_json_source_judges_realistic_answers_and_says_why_it_cannot() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let port = server(keys.clone());
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let cases = [
        ("good", "/good"),
        ("empty", "/empty"),
        ("text", "/text"),
        ("error", "/error"),
        ("html", "/html"),
        ("slow", "/slow"),
    ];
    let metrics: String = cases.iter().map(|(n, p)| metric(n, port, p)).collect();
    let names: Vec<String> = cases.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let plan = format!(
        r#"
[release]
name = "svc"
version = "2.0"
previous_version = "1.0"
owner = "tests"

[secrets]
DD_KEY = "env:SLATE_TEST_DD_KEY"

[[environments]]
name = "staging"
on_inconclusive = "continue"

[[stages]]
name = "deploy"
command = "true"
gates_after = ["canary"]

[[gates]]
name = "canary"
kind = "analysis"
analysis = "canary"
{metrics}
[[analyses]]
name = "canary"
metrics = [{}]
count = 1
inconclusive_limit = 5
"#,
        names.join(", ")
    );
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, plan).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["run", "--headless"])
        .arg(&path)
        .env("SLATE_HOME", home.path())
        .env("SLATE_TEST_DD_KEY", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let run_dir = newest_run(home.path()).expect("a run");
    let recs = read_journal(&run_dir.join("journal.ndjson"));
    let sample = |name: &str| -> (String, String) {
        let s = events(&recs, "metric_sampled")
            .into_iter()
            .find(|s| s["metric"] == name)
            .unwrap_or_else(|| panic!("no sample of {name}: {stdout}"));
        (
            s["judgement"].as_str().unwrap().to_string(),
            s["why"].as_str().unwrap().to_string(),
        )
    };
    let shown = format!("http://127.0.0.1:{port}");
    assert_eq!(sample("good"), ("pass".into(), "0.012 <= 0.05".into()));
    let (j, why) = sample("empty");
    assert_eq!(j, "inconclusive");
    assert_eq!(
        why,
        "`$.series[0].pointlist[-1][1]` matched nothing in the answer"
    );
    let (j, why) = sample("text");
    assert_eq!(j, "inconclusive");
    assert!(
        why.contains("is the text \"lots\u{1b}[2J\", not a number"),
        "{why}"
    );
    assert_eq!(
        sample("error"),
        (
            "error".into(),
            format!("{shown}/error answered 500 Internal Server Error")
        )
    );
    let (j, why) = sample("html");
    assert_eq!(j, "error");
    assert!(
        why.starts_with(&format!(
            "{shown}/html answered something that is not JSON ("
        )),
        "{why}"
    );
    assert_eq!(
        sample("slow"),
        (
            "error".into(),
            format!("{shown}/slow did not answer within 500ms")
        )
    );
    // The analysis proved nothing for five of them, and says which.
    let finished = only(&recs, "analysis_finished");
    assert_eq!(finished["verdict"], "inconclusive");
    let reason = finished["reason"].as_str().unwrap();
    for name in ["empty", "text", "error", "html", "slow"] {
        assert!(reason.contains(&format!("{name}: ")), "{reason}");
    }
    assert!(!reason.contains("good: "), "{reason}");
    // A control character in the answer is shown, never sent to the terminal.
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    // The secret reached the server in its header, and nothing else.
    assert!(keys.lock().unwrap().iter().any(|k| k == SECRET));
    for file in ["journal.ndjson", "dossier.md"] {
        let text = std::fs::read_to_string(run_dir.join(file)).unwrap_or_default();
        assert!(!text.contains(SECRET), "{file}");
    }
    assert!(!stdout.contains(SECRET));
    let explained = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["analysis", "--json", "latest"])
        .env("SLATE_HOME", home.path())
        .output()
        .unwrap();
    let explained: Value = serde_json::from_slice(&explained.stdout).unwrap();
    let m = &explained[0]["metrics"][0];
    assert_eq!(m["source"], "http");
    assert_eq!(m["host"], format!("127.0.0.1:{port}"));
    assert_eq!(m["query"], "$.series[0].pointlist[-1][1]");
}

#[test]
fn an_http_source_is_checked_where_it_is_written() {
    let text = r#"
[release]
name = "svc"
version = "2.0"
previous_version = "1.0"
owner = "tests"

[[environments]]
name = "staging"

[[stages]]
name = "deploy"
command = "true"

[[metrics]]
name = "a"
http = "http://127.0.0.1:9/x"
success = "< 1"
query = "up"

[[metrics]]
name = "b"
http = "http://127.0.0.1:9/x"
json_path = "$.[oops"
success = "< 1"

[[metrics]]
name = "c"
command = "echo 1"
json_path = "$.v"
headers = { X = "${secret.NOPE}" }
success = "< 1"
"#;
    let err = slate::plan::parse(text, "p.toml", ".".into())
        .unwrap_err()
        .to_string();
    for want in [
        "p.toml:19:1: `query` does not apply to an `http` source; `json_path` says where the number is (in metric `a`)",
        "metric `a` is missing `json_path`, the number in the answer",
        "p.toml:24:13: `json_path` in metric `b`: invalid JSONPath `$.[oops`",
        "p.toml:30:1: `json_path` applies only to an `http` source (in metric `c`)",
        "`headers` applies only to an `http` source (in metric `c`)",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
}
