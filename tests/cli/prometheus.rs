//! A real Prometheus server (Debian's `prometheus` package) scraping real
//! `slate demo-service` instances, and plans whose analyses and alert checks
//! ask Prometheus's HTTP API: a healthy build passes, a bad build's error
//! ratio breaches its threshold and rolls back, and a firing alert fails an
//! alerts check.
//!
//! Skipped — loudly — only when no `prometheus` binary is installed;
//! `.ci/run` installs it, so CI always runs this.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::common;
use common::*;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Children killed when the test ends, however it ends.
pub(crate) struct Procs(pub(crate) Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) fn prometheus_binary() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("prometheus"))
            .find(|p| p.is_file())
    })
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET a URL on loopback, bounded in time.
pub(crate) fn get(url: &str) -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = slate::net::client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .ok()?;
        c.get(url).send().await.ok()?.text().await.ok()
    })
}

/// Polls `cond` every 200 ms until it holds, failing after `limit`.
pub(crate) fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn demo_service(procs: &mut Procs, version: &str, port: u16, extra: &[&str], tag: &str) {
    let child = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["demo-service", "serve", "--version", version, "--port"])
        .arg(port.to_string())
        .args(["--rate", "1000"])
        .args(extra)
        .env("SLATE_TEST_TAG", tag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start demo-service");
    procs.0.push(child);
    wait_for("demo-service /healthz", READY_TIMEOUT, || {
        get(&format!("http://127.0.0.1:{port}/healthz")).is_some()
    });
}

/// The alerting rule the tests use, under `name`, pending for `for_` before
/// it fires: a demo instance whose error ratio is above 10 %.
fn error_rule(name: &str, for_: &str) -> String {
    format!(
        r#"      - alert: {name}
        expr: sum by (instance) (rate(demo_requests_total{{status="500"}}[5s])) / sum by (instance) (rate(demo_requests_total[5s])) > 0.1
        for: {for_}
        labels:
          severity: page
          service: demo
"#
    )
}

fn start_prometheus(
    bin: &Path,
    dir: &Path,
    targets: &[u16],
    rules: &str,
    procs: &mut Procs,
) -> String {
    let port = free_port();
    let rules_file = dir.join("rules.yml");
    std::fs::write(
        &rules_file,
        format!("groups:\n  - name: demo\n    interval: 1s\n    rules:\n{rules}"),
    )
    .unwrap();
    let rules = rules_file;
    let targets: Vec<String> = targets.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: [{}]\n",
            rules.display(),
            targets.join(", ")
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    procs.0.push(child);
    let url = format!("http://127.0.0.1:{port}");
    wait_for("prometheus to be ready", READY_TIMEOUT, || {
        get(&format!("{url}/-/ready")).is_some_and(|b| b.contains("Ready"))
    });
    url
}

/// Runs a plan headless; returns (exit code, stdout, journal records).
fn run(home: &Path, dir: &Path, name: &str, plan: &str) -> (i32, String, Vec<Value>) {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, plan).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["run", "--headless"])
        .arg(&path)
        .env("SLATE_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name}: slate did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let journal = read_journal(&newest_run(home).expect("a run").join("journal.ndjson"));
    (status.code().unwrap_or(-1), stdout, journal)
}

fn plan(prom: &str, instance: u16, extra_metric: &str, gate_check: &str) -> String {
    format!(
        common::release_plan!("demo" "2.5.0" from "2.4.1" by "tests"; r#"
[[environments]]
name = "prod"
config = {{ instance = "127.0.0.1:{instance}" }}
gates = ["no-pages"]

[[stages]]
name = "deploy"
command = "echo deploy"
rollback = "echo undo"
gates_after = ["canary"]

[[gates]]
name = "no-pages"
kind = "check"
{gate_check}

[[gates]]
name = "canary"
kind = "analysis"
analysis = "canary"

[[metrics]]
name = "error_ratio"
unit = "ratio"
prometheus = "{prom}"
query = 'sum(rate(demo_requests_total{{instance="${{config.instance}}",status="500"}}[5s])) / sum(rate(demo_requests_total{{instance="${{config.instance}}"}}[5s]))'
interval = "1s"
success = "<= 0.05"
{extra_metric}

[[analyses]]
name = "canary"
metrics = ["error_ratio"{extra_name}]
count = 3
failure_limit = 1
"#),
        instance = instance,
        gate_check = gate_check,
        prom = prom,
        extra_metric = extra_metric,
        extra_name = if extra_metric.is_empty() {
            ""
        } else {
            r#", "peak_error_ratio""#
        }
    )
}

#[test]
fn analyses_and_alert_checks_ask_a_real_prometheus() {
    let Some(bin) = prometheus_binary() else {
        eprintln!(
            "\n*** SKIPPED analyses_and_alert_checks_ask_a_real_prometheus: no `prometheus` binary \
             on PATH (apt-get install prometheus; .ci/run does) ***\n"
        );
        return;
    };
    let tag = unique();
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let mut procs = Procs(Vec::new());
    let (good, bad) = (free_port(), free_port());
    demo_service(&mut procs, "2.5.0", good, &[], &tag);
    demo_service(
        &mut procs,
        "2.5.0-bad.1",
        bad,
        &["--ramp-after", "0s", "--ramp-for", "2s"],
        &tag,
    );
    let prom = start_prometheus(
        &bin,
        dir.path(),
        &[good, bad],
        &error_rule("DemoErrorsHigh", "0s"),
        &mut procs,
    );
    // Rates need two scrapes of each target.
    wait_for("two scrapes of both instances", READY_TIMEOUT, || {
        get(&format!(
            "{prom}/api/v1/query?query=count(count_over_time(demo_build_info[1m])%20%3E%3D%202)"
        ))
        .is_some_and(|b| b.contains(r#""2"]"#))
    });

    let alerts_on = |port: u16| {
        format!(
            r#"check = {{ alerts = "{prom}", labels = {{ alertname = "DemoErrorsHigh", instance = "127.0.0.1:{port}" }}, timeout = "2s" }}"#
        )
    };
    // A range query reduced to its worst point, beside the instant query.
    let peak = format!(
        r#"[[metrics]]
name = "peak_error_ratio"
unit = "ratio"
prometheus = "{prom}"
query = 'sum(rate(demo_requests_total{{instance="${{config.instance}}",status="500"}}[5s])) / sum(rate(demo_requests_total{{instance="${{config.instance}}"}}[5s]))'
range = "10s"
reduce = "max"
interval = "1s"
success = "<= 0.05""#
    );

    // The healthy build passes: every sample is a real number from Prometheus.
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "good",
        &plan(&prom, good, &peak, &alerts_on(good)),
    );
    assert_eq!(code, 0, "{out}");
    let samples = events(&recs, "metric_sampled");
    assert_eq!(samples.len(), 6, "{out}");
    for s in &samples {
        assert_eq!(s["judgement"], "pass", "{s}");
        let v = s["value"].as_f64().expect("a real value");
        assert!((0.0..=0.05).contains(&v), "{v}");
    }
    assert!(
        out.contains("no alert firing or pending for {alertname=\"DemoErrorsHigh\""),
        "{out}"
    );

    // The bad build's error ratio climbs past the threshold: rolled back, with the reason.
    wait_for("the bad build to misbehave", READY_TIMEOUT, || {
        get(&format!(
            "{prom}/api/v1/query?query=sum(rate(demo_requests_total%7Binstance%3D%22127.0.0.1%3A{bad}%22%2Cstatus%3D%22500%22%7D%5B5s%5D))"
        ))
        .is_some_and(|b| !b.contains(r#""0"]"#) && b.contains("\"value\""))
    });
    let no_alert_gate = "check = { command = \"true\" }";
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "bad",
        &plan(&prom, bad, "", no_alert_gate),
    );
    assert_eq!(code, 1, "{out}");
    let finished = only(&recs, "run_finished");
    let msg = finished["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "prod rolled back (not verified: no verify_rollback): gate canary failed: error_ratio "
        ) && msg.contains(" > 0.05 for 2 of "),
        "{msg}"
    );

    // Its alert fires in Prometheus, and an alerts check sees it.
    wait_for("DemoErrorsHigh to fire", READY_TIMEOUT, || {
        get(&format!("{prom}/api/v1/alerts")).is_some_and(|b| b.contains("\"firing\""))
    });
    let (code, out, _) = run(
        home.path(),
        dir.path(),
        "alerting",
        &plan(&prom, bad, "", &alerts_on(bad)),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1 alert firing for {alertname=\"DemoErrorsHigh\", instance=\"127.0.0.1:"),
        "{out}"
    );
    drop(procs);
    assert!(
        kill_tagged(&tag).is_empty(),
        "every demo-service was stopped"
    );
}

/// A plan whose prod is behind a check gate with `check`.
fn gated_plan(check: &str) -> String {
    format!(
        common::release_plan!("demo" "2.5.0" from "2.4.1" by "tests"; r#"
[[environments]]
name = "prod"
gates = ["no-pages"]

[[stages]]
name = "deploy"
command = "echo deploy"
rollback = "echo undo"

[[gates]]
name = "no-pages"
kind = "check"
check = {{ {check} }}
"#),
        check = check
    )
}

/// The one check result of the gate, from a run's journal.
fn gate_result(recs: &[Value]) -> (bool, String) {
    let r = only(recs, "check_result");
    (
        r["ok"].as_bool().unwrap(),
        r["message"].as_str().unwrap().to_string(),
    )
}

/// An alert is *pending* while its condition holds and its `for:` period
/// runs: a real rule, really pending, in a real Prometheus. An alerts check
/// must not pass then. By default it asks again until its timeout and fails
/// if the alert fires or is still pending; `pending = "fail"` fails at once,
/// `pending = "ignore"` passes as before. Its reason names each alert with
/// its state, since when, its value and labels.
#[test]
fn a_pending_alert_does_not_pass_an_alerts_check() {
    let Some(bin) = prometheus_binary() else {
        eprintln!(
            "\n*** SKIPPED a_pending_alert_does_not_pass_an_alerts_check: no `prometheus` binary \
             on PATH (apt-get install prometheus; .ci/run does) ***\n"
        );
        return;
    };
    let tag = unique();
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let mut procs = Procs(Vec::new());
    let bad = free_port();
    demo_service(
        &mut procs,
        "2.5.0-bad.1",
        bad,
        &["--ramp-after", "0s", "--ramp-for", "2s"],
        &tag,
    );
    // The same condition twice: one alert pending for an hour, one for 8s.
    let rules = format!(
        "{}{}",
        error_rule("DemoErrorsLinger", "1h"),
        error_rule("DemoErrorsSoon", "8s")
    );
    let prom = start_prometheus(&bin, dir.path(), &[bad], &rules, &mut procs);
    let alerts = || get(&format!("{prom}/api/v1/alerts")).unwrap_or_default();
    let state_of = |name: &str| -> Option<String> {
        let v: Value = serde_json::from_str(&alerts()).ok()?;
        v["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == name)
            .and_then(|a| a["state"].as_str().map(String::from))
    };
    wait_for("both alerts to be pending", RUN_TIMEOUT, || {
        state_of("DemoErrorsLinger").as_deref() == Some("pending")
            && state_of("DemoErrorsSoon").as_deref() == Some("pending")
    });
    let on = |name: &str, extra: &str| {
        format!(
            r#"alerts = "{prom}", labels = {{ alertname = "{name}", instance = "127.0.0.1:{bad}" }}{extra}"#
        )
    };

    // By default a pending alert is asked about again until the timeout; one
    // still pending then fails the gate, with what Prometheus says of it.
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "waits",
        &gated_plan(&on("DemoErrorsLinger", r#", timeout = "3s""#)),
    );
    assert_eq!(code, 1, "{out}");
    let (ok, why) = gate_result(&recs);
    assert!(!ok);
    assert!(
        why.starts_with(&format!(
            "1 alert still pending for {{alertname=\"DemoErrorsLinger\", instance=\"127.0.0.1:{bad}\"}}: DemoErrorsLinger pending since "
        )) && why.contains(" (value 0.")
            && why.contains(&format!("{{instance=\"127.0.0.1:{bad}\", service=\"demo\", severity=\"page\"}}"))
            && why.ends_with(" after 3s"),
        "{why}"
    );
    assert!(
        events(&recs, "output").is_empty(),
        "nothing was deployed behind the pending alert"
    );

    // `pending = "fail"`: at once.
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "fails",
        &gated_plan(&on("DemoErrorsLinger", r#", pending = "fail""#)),
    );
    assert_eq!(code, 1, "{out}");
    let (ok, why) = gate_result(&recs);
    assert!(!ok && why.starts_with("1 alert pending for "), "{why}");

    // `pending = "ignore"`: passes, and says what it ignored.
    let (_, out, recs) = run(
        home.path(),
        dir.path(),
        "ignores",
        &gated_plan(&on("DemoErrorsLinger", r#", pending = "ignore""#)),
    );
    let (ok, why) = gate_result(&recs);
    assert!(ok, "{out}");
    assert!(
        why.contains("(1 pending, ignored: DemoErrorsLinger pending since "),
        "{why}"
    );

    // A check that starts while an alert is pending and waits sees it fire.
    let pending_before = state_of("DemoErrorsSoon").as_deref() == Some("pending");
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "sees-it-fire",
        &gated_plan(&on("DemoErrorsSoon", r#", timeout = "50s""#)),
    );
    assert_eq!(code, 1, "{out}");
    let (ok, why) = gate_result(&recs);
    assert!(
        !ok && why.starts_with("1 alert firing for {alertname=\"DemoErrorsSoon\"")
            && why.contains(": DemoErrorsSoon firing since ")
            && why.contains(" (value 0."),
        "{why}"
    );
    if !pending_before {
        eprintln!("note: DemoErrorsSoon fired before the last run started; it saw it firing");
    }
    drop(procs);
    assert!(
        kill_tagged(&tag).is_empty(),
        "every demo-service was stopped"
    );
}
