//! `slate stats` and `slate stats --serve`, through the real binary.
//!
//! The fixture history is real runs of one plan (dev, prod; prod fails
//! and is rolled back while `fail-prod` exists), whose journals then have
//! their times moved to known instants (each run starts at a chosen time
//! and each environment takes a chosen time; nothing else changes) and
//! the store is rebuilt from them: so every metric has one right answer,
//! checked exactly in the text and the JSON. The plan of one release names
//! a git repository whose tags carry known commit times (lead time from
//! commit); the other names none (lead time from the run's start).
//!
//! The endpoint is scraped by a real Prometheus (skipped loudly when none
//! is installed; `.ci/run` installs it) and asked in PromQL, with a
//! release name full of quotes and backslashes (a newline, which plans
//! refuse in names, is escaped in the unit tests of `stats::exposition`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::sandbox::Sandbox;

use super::prometheus::{Procs, free_port, get, prometheus_binary, wait_for};

const LIMIT: Duration = Duration::from_secs(60);
const DAY: i64 = 86_400;

fn git(repo: &Path, args: &[&str], date: Option<i64>) {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(repo)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env_remove("GIT_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(d) = date {
        cmd.env("GIT_COMMITTER_DATE", format!("@{d} +0000"))
            .env("GIT_AUTHOR_DATE", format!("@{d} +0000"));
    }
    assert!(cmd.status().unwrap().success(), "git {args:?}");
}

/// A repository with one commit per tag, each committed at its time.
fn repo(sb: &Sandbox, tags: &[(&str, i64)]) {
    let repo = sb.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"], None);
    for (tag, at) in tags {
        git(
            &repo,
            &["commit", "-q", "--allow-empty", "-m", tag],
            Some(*at),
        );
        git(&repo, &["tag", tag], None);
    }
}

fn plan(sb: &Sandbox, release: &str, version: &str, repository: bool) -> PathBuf {
    let repository = if repository {
        "repository = \"repo\"\n"
    } else {
        ""
    };
    let release = toml_string(release);
    sb.plan(
        &format!("plan-{}-{version}.toml", release.len()),
        &format!(
            r#"
[release]
name = {release}
version = "{version}"
previous_version = "0.0.0"
owner = "release-team"
{repository}
[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'if [ "$SLATE_ENV" = prod ] && [ -e @DIR@/fail-prod ]; then exit 1; fi'
rollback = 'true'
"#
        ),
    )
}

/// A TOML basic string of `s`.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Runs one release for real; returns its run directory.
fn release(sb: &Sandbox, release: &str, version: &str, repository: bool, fail: bool) -> PathBuf {
    let fail_file = sb.path("fail-prod");
    if fail {
        std::fs::write(&fail_file, "").unwrap();
    } else {
        let _ = std::fs::remove_file(&fail_file);
    }
    let p = plan(sb, release, version, repository);
    let out = sb.run(&["run", "--headless", p.to_str().unwrap()], LIMIT);
    assert_eq!(
        out.status.code(),
        Some(if fail { 1 } else { 0 }),
        "{version}: {out:?}"
    );
    common::newest_run(sb.home()).expect("a run directory")
}

/// Moves a run's records to known times: the run starts at `start`, and
/// each environment takes `step` seconds (every record after the n-th
/// `env_finished`, that one included, is at `start + n * step`).
fn retime(run_dir: &Path, start: i64, step: i64) {
    let path = run_dir.join("journal.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::with_capacity(text.len());
    let mut finished = 0;
    for line in text.lines() {
        let rec: Value = serde_json::from_str(line).unwrap();
        if common::ty(&rec) == "env_finished" {
            finished += 1;
        }
        let ts = jiff::Timestamp::from_second(start + finished * step)
            .unwrap()
            .to_string();
        let at = line.find("\"ts\":\"").expect("a ts") + 6;
        let end = at + line[at..].find('"').unwrap();
        out.push_str(&line[..at]);
        out.push_str(&ts);
        out.push_str(&line[end..]);
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
}

fn stats(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["stats"];
    all.extend_from_slice(args);
    let out = sb.run(&all, LIMIT);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fixture: four runs ten days ago and after, at known times.
fn history(sb: &Sandbox) -> i64 {
    let b = jiff::Timestamp::now().as_second() - 10 * DAY;
    repo(
        sb,
        &[
            ("1.0.0", b - 3600),
            ("1.1.0", b + DAY - 600),
            ("1.2.0", b + 2 * DAY - 7200),
        ],
    );
    let r1 = release(sb, "payments", "1.0.0", true, false);
    let r2 = release(sb, "payments", "1.1.0", true, true);
    let r3 = release(sb, "payments", "1.2.0", true, false);
    let r4 = release(sb, "billing", "2.0.0", false, false);
    retime(&r1, b, 100);
    retime(&r2, b + DAY, 50);
    retime(&r3, b + 2 * DAY, 300);
    retime(&r4, b + 3 * DAY, 30);
    let out = sb.run(&["store", "rebuild"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    b
}

fn env<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["env"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

fn rel<'a>(env: &'a Value, name: &str) -> &'a Value {
    env["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == name)
        .unwrap_or_else(|| panic!("no {name} in {env:#}"))
}

#[test]
fn a_known_history_gives_known_numbers() {
    let sb = Sandbox::new();
    history(&sb);

    let (code, out, err) = stats(&sb, &["--since", "30d", "--json"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["window"]["ms"], 30 * DAY * 1000);
    assert_eq!(r["window"]["given"], "30d");
    let envs: Vec<&str> = r["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["env"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["dev", "prod"], "in plan order");

    let prod = env(&r, "prod");
    let pay = rel(prod, "payments");
    assert_eq!(pay["deployments"], 2);
    // 1.0.0: live 200 s after the run, committed an hour before it: 3800 s;
    // 1.2.0: 600 s after, committed two hours before: 7800 s.
    assert_eq!(
        pay["lead_time"],
        serde_json::json!({"samples": 2, "from_commit": 2, "from_run_start": 0, "median_ms": 5_800_000})
    );
    assert_eq!(
        (pay["changes"].as_u64(), pay["failures"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(pay["change_failure_rate"].as_f64(), Some(1.0 / 3.0));
    // 1.1.0 entered prod a day and 50 s after the base; 1.2.0 went live two
    // days and 600 s after it.
    assert_eq!(
        pay["restore"],
        serde_json::json!({"failures": 1, "restored": 1, "unrestored": 0, "median_ms": 86_950_000})
    );
    let bill = rel(prod, "billing");
    assert_eq!(
        bill["lead_time"],
        serde_json::json!({"samples": 1, "from_commit": 0, "from_run_start": 1, "median_ms": 60_000})
    );
    assert_eq!(bill["change_failure_rate"].as_f64(), Some(0.0));
    assert_eq!(bill["restore"]["failures"], 0);
    assert_eq!(bill["restore"]["median_ms"], Value::Null);

    let all = &prod["overall"];
    assert_eq!(all["deployments"], 3);
    assert!((all["per_day"].as_f64().unwrap() - 0.1).abs() < 1e-12);
    assert!((all["per_week"].as_f64().unwrap() - 0.7).abs() < 1e-12);
    assert_eq!(
        all["lead_time"],
        serde_json::json!({"samples": 3, "from_commit": 2, "from_run_start": 1, "median_ms": 3_800_000})
    );
    assert_eq!(all["change_failure_rate"].as_f64(), Some(0.25));
    assert_eq!(all["restore"]["median_ms"], 86_950_000);

    // dev: 3700 s, 650 s, 7500 s from commit and 30 s from run start.
    let dev = &env(&r, "dev")["overall"];
    assert_eq!(dev["deployments"], 4);
    assert_eq!(dev["lead_time"]["median_ms"], 2_175_000);
    assert_eq!(dev["change_failure_rate"].as_f64(), Some(0.0));

    // The same numbers as text, each definition printed once.
    let (code, text, err) = stats(&sb, &["--since", "30d"]);
    assert_eq!(code, 0, "{err}");
    for definition in [
        "deployment frequency: ",
        "lead time: ",
        "change failure rate: ",
        "time to restore: ",
    ] {
        assert_eq!(
            text.lines().filter(|l| l.starts_with(definition)).count(),
            1,
            "{definition}\n{text}"
        );
    }
    let prod_text = &text[text.find("\nprod\n").expect("a prod part")..];
    for line in [
        "  all releases",
        "    deployment frequency  0.10 a day, 0.70 a week (3 deployments in 30 days)",
        "    lead time             1h 03m (median of 3: 2 from commit, 1 from run start)",
        "    change failure rate   25% (1 of 4 changes failed)",
        "    time to restore       1d 0h (median of 1 restored; 0 unrestored)",
        "  payments",
        "    lead time             1h 36m (median of 2: 2 from commit, 0 from run start)",
        "    change failure rate   33.3% (1 of 3 changes failed)",
        "  billing",
        "    deployment frequency  0.03 a day, 0.23 a week (1 deployment in 30 days)",
        "    lead time             1m 00s (median of 1: 0 from commit, 1 from run start)",
        "    time to restore       no failures",
    ] {
        assert!(
            prod_text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }

    // One release, one environment.
    let (code, text, _) = stats(&sb, &["payments", "--env", "prod", "--since", "30d"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("Delivery metrics of payments in prod, the last 30 days"),
        "{text}"
    );
    assert!(
        !text.contains("billing") && !text.contains("\ndev\n"),
        "{text}"
    );

    // A window that holds none of it, and a release the ledger does not know.
    let (code, text, _) = stats(&sb, &["--since", "1d"]);
    assert_eq!(
        (code, text.as_str()),
        (0, "No deployments in the last 1 day.\n")
    );
    let (code, text, _) = stats(&sb, &["nosuch"]);
    assert_eq!(
        (code, text.as_str()),
        (0, "No deployments of nosuch in the last 90 days.\n")
    );
    let (code, text, _) = stats(&sb, &["nosuch", "--json"]);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["environments"], serde_json::json!([]));
}

#[test]
fn an_empty_store_and_bad_arguments_are_told_plainly() {
    let sb = Sandbox::new();
    let (code, text, _) = stats(&sb, &[]);
    assert_eq!(
        (code, text.as_str()),
        (0, "No deployments in the last 90 days.\n")
    );
    for (args, says) in [
        (vec!["--since", "banana"], "--since banana"),
        (vec!["--since", "0s"], "longer than nothing"),
        (vec!["--since", "999999d"], "at most a hundred years"),
        (vec!["--serve", "0.0.0.0:9464"], "not a loopback address"),
        (vec!["--serve", "localhost"], "not an address to serve on"),
    ] {
        let (code, _, err) = stats(&sb, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// `slate stats --serve 127.0.0.1:0`, and the address it says it bound.
fn serve(sb: &Sandbox, procs: &mut Procs) -> String {
    let mut child: Child = sb
        .slate()
        .args(["stats", "--serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    procs.0.push(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while stdout.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
    });
    let line = rx.recv_timeout(LIMIT).expect("the serving line");
    let url = line
        .strip_prefix("serving delivery metrics on ")
        .unwrap_or_else(|| panic!("{line}"));
    url.trim_end_matches("/metrics").to_string()
}

fn query(prom: &str, promql: &str) -> Option<Value> {
    let q: String =
        percent_encoding::utf8_percent_encode(promql, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let body = get(&format!("{prom}/api/v1/query?query={q}"))?;
    let v: Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"]
        .as_array()?
        .first()
        .map(|r| r["value"][1].clone())
}

#[test]
fn a_real_prometheus_scrapes_the_endpoint() {
    let Some(bin) = prometheus_binary() else {
        eprintln!(
            "\n*** SKIPPED a_real_prometheus_scrapes_the_endpoint: no `prometheus` binary \
             on PATH (apt-get install prometheus; .ci/run does) ***\n"
        );
        return;
    };
    let sb = Sandbox::new();
    // Plans refuse control characters in names; quotes and backslashes
    // (and a backslash before an `n`) they allow.
    let hostile = "pay\"me\\nts\\x";
    release(&sb, hostile, "1.0.0", false, false);
    release(&sb, hostile, "1.1.0", false, true);
    let mut procs = Procs(Vec::new());
    let url = serve(&sb, &mut procs);
    let target = url.trim_start_matches("http://").to_string();

    let body = get(&format!("{url}/metrics")).expect("a scrape");
    assert!(
        body.contains(r#"slate_deployments{env="prod",release="pay\"me\\nts\\x"} 1"#),
        "{body}"
    );

    let dir = tempfile::TempDir::new().unwrap();
    let port = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: slate\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    procs.0.push(
        Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let prom = format!("http://127.0.0.1:{port}");
    let ratio = r#"slate_change_failure_ratio{env="prod",release="pay\"me\\nts\\x"}"#;
    let mut seen = None;
    wait_for("prometheus to scrape slate", LIMIT, || {
        seen = query(&prom, ratio);
        seen.is_some()
    });
    assert_eq!(seen, Some(Value::from("0.5")));
    assert_eq!(
        query(
            &prom,
            r#"slate_last_outcome{env="prod",release="pay\"me\\nts\\x",outcome="rolled_back"}"#
        ),
        Some(Value::from("1"))
    );
    assert_eq!(
        query(&prom, r#"sum(slate_deployments{env="dev",release!=""})"#),
        Some(Value::from("2"))
    );
    assert_eq!(query(&prom, "slate_runs_active"), Some(Value::from("0")));
    assert_eq!(query(&prom, r#"up{job="slate"}"#), Some(Value::from("1")));
}

fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_endpoint_bounds_what_a_client_may_do() {
    let sb = Sandbox::new();
    let mut procs = Procs(Vec::new());
    let url = serve(&sb, &mut procs);
    let addr = url.trim_start_matches("http://").to_string();

    // A client that connects and says nothing is let go, and meanwhile
    // others are answered.
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    // Longer than the endpoint's bound on a connection (30 s).
    silent
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let body = get(&format!("{url}/metrics")).expect("answered beside a silent client");
    assert!(body.contains("# TYPE slate_runs_active gauge"), "{body}");
    let mut buf = Vec::new();
    let n = silent.read_to_end(&mut buf);
    assert!(n.is_ok(), "the silent client was not let go: {n:?}");

    // A huge request head is refused, not read.
    let mut huge = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    huge.extend(b"\r\n\r\n");
    let reply = raw(&addr, &huge);
    assert!(!reply.starts_with("HTTP/1.1 200"), "{reply}");

    let reply = raw(
        &addr,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
    let reply = raw(
        &addr,
        b"GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    let reply = raw(
        &addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("text/plain; version=0.0.4"), "{reply}");
}
