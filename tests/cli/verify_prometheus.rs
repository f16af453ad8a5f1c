//! SLO burn-rate gates: the multiwindow, multi-burn-rate rule of the SRE
//! workbook, asked of a real Prometheus scraping real `slate demo-service`
//! instances, and of Slate's own direct-scrape evaluator. A healthy canary
//! passes; a bad one fails with both burn rates of the pair in the reason;
//! windows a direct scrape cannot hold are refused when the plan loads.
//!
//! The Prometheus tests are skipped — loudly — only when no `prometheus`
//! binary is installed; `.ci/run` installs it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::common;
use common::*;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

// The process guard, the binary, ports, HTTP and the demo instances are
// the Prometheus tests' own (`prometheus.rs`).
use super::prometheus::{Procs, demo_service, free_port, get, prometheus_binary, wait_for};

fn start_prometheus(bin: &Path, dir: &Path, targets: &[u16], procs: &mut Procs) -> String {
    let port = free_port();
    let targets: Vec<String> = targets.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: [{}]\n",
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

/// Runs slate with `args`; returns (exit code, stdout+stderr).
fn slate(home: &Path, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(args)
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
            panic!("slate {args:?} did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs a plan headless; returns (exit code, output, journal records).
fn run(home: &Path, dir: &Path, name: &str, plan: &str) -> (i32, String, Vec<Value>) {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, plan).unwrap();
    let (code, out) = slate(home, &["run", "--headless", path.to_str().unwrap()]);
    let journal = read_journal(&newest_run(home).expect("a run").join("journal.ndjson"));
    (code, out, journal)
}

/// A plan whose prod deploy is followed by the analysis `canary` over `metric`.
fn plan(instance: u16, metric: &str, analysis_extra: &str) -> String {
    format!(
        r#"
[release]
name = "demo"
version = "2.5.0"
previous_version = "2.4.1"
owner = "tests"

[[environments]]
name = "prod"
config = {{ instance = "127.0.0.1:{instance}" }}

[[stages]]
name = "deploy"
command = "echo deploy"
rollback = "echo undo"
gates_after = ["canary"]

[[gates]]
name = "canary"
kind = "analysis"
analysis = "canary"

{metric}

[[analyses]]
name = "canary"
metrics = ["availability"]
{analysis_extra}
"#
    )
}

fn prometheus_slo(prom: &str) -> String {
    // Credentials in the URL (Prometheus ignores them) must never be shown.
    let prom = prom.replace("http://", "http://slate:hunter2@");
    format!(
        r#"[[metrics]]
name = "availability"
prometheus = "{prom}"
objective = 99
good = 'sum(rate(demo_requests_total{{instance="${{config.instance}}",status!="500"}}[${{window}}]))'
total = 'sum(rate(demo_requests_total{{instance="${{config.instance}}"}}[${{window}}]))'
burn = [
  {{ short = "3s", long = "6s", rate = 14.4 }},
  {{ short = "4s", long = "8s", rate = 6 }},
]
interval = "1s""#
    )
}

/// The burn rates a reason names for the pair `short`/`long`: "burn 31.2× over 3s and 18.0× over 6s".
fn burns(reason: &str, short: &str, long: &str) -> Option<(f64, f64)> {
    let tail = format!(" over {short} and ");
    let at = reason.find(&tail)?;
    let s = reason[..at].rsplit(' ').next()?.trim_end_matches('×');
    let rest = &reason[at + tail.len()..];
    let l = rest.split(' ').next()?.trim_end_matches('×');
    rest.split(' ')
        .nth(2)
        .filter(|w| *w == long)
        .map(|_| (s.parse().ok(), l.parse().ok()))
        .and_then(|(s, l)| Some((s?, l?)))
}

#[test]
fn a_burn_rate_gate_passes_a_healthy_canary_and_fails_a_bad_one_with_both_rates() {
    let Some(bin) = prometheus_binary() else {
        eprintln!(
            "\n*** SKIPPED a_burn_rate_gate_passes_a_healthy_canary_and_fails_a_bad_one_with_both_rates: \
             no `prometheus` binary on PATH (apt-get install prometheus; .ci/run does) ***\n"
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
        &["--ramp-after", "0s", "--ramp-for", "1s"],
        &tag,
    );
    let prom = start_prometheus(&bin, dir.path(), &[good, bad], &mut procs);
    // The longest window wants eight seconds of scrapes of both instances.
    wait_for("8s of scrapes of both instances", READY_TIMEOUT, || {
        get(&format!(
            "{prom}/api/v1/query?query=count(count_over_time(demo_build_info[1m])%20%3E%3D%208)"
        ))
        .is_some_and(|b| b.contains(r#""2"]"#))
    });

    // Healthy: 0.5 % errors against a 1 % budget burns about half of it.
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "good",
        &plan(good, &prometheus_slo(&prom), "count = 3"),
    );
    assert_eq!(code, 0, "{out}");
    let started = only(&recs, "analysis_started");
    assert_eq!(
        started["metrics"][0]["condition"],
        "objective 99%, fails at burn > 14.4× over 3s and 6s or burn > 6× over 4s and 8s"
    );
    let samples = events(&recs, "metric_sampled");
    assert_eq!(samples.len(), 3, "{out}");
    for s in &samples {
        assert_eq!(s["judgement"], "pass", "{s}");
        let why = s["why"].as_str().unwrap();
        let (short, long) = burns(why, "3s", "6s").unwrap_or_else(|| panic!("{why}"));
        assert!(short < 14.4 && long < 14.4, "{why}");
        assert!(why.ends_with("(objective 99%)"), "{why}");
        assert!(s["value"].as_f64().unwrap() < 1.0, "{s}");
    }

    // Bad: 30 % errors burn the budget 30 times over in every window.
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "bad",
        &plan(bad, &prometheus_slo(&prom), "count = 3"),
    );
    assert_eq!(code, 1, "{out}");
    let finished = only(&recs, "analysis_finished");
    assert_eq!(finished["verdict"], "failed");
    let reason = finished["reason"].as_str().unwrap();
    assert!(reason.starts_with("availability burn "), "{reason}");
    let (short, long) = burns(reason, "3s", "6s").unwrap_or_else(|| panic!("{reason}"));
    assert!(short > 14.4 && long > 14.4, "{reason}");
    assert!(
        reason.contains(" over 6s > 14.4×; burn ")
            && reason.ends_with(" over 8s > 6.0× (objective 99%) for 1 of 1 samples"),
        "{reason}"
    );
    let msg = only(&recs, "run_finished")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("gate canary failed: availability burn "),
        "{msg}"
    );

    // `slate analysis --json` says exactly what the journal says, and names
    // the host asked without the credentials in its URL.
    let (code, json) = slate(home.path(), &["analysis", "--json", "latest"]);
    assert_eq!(code, 0, "{json}");
    assert!(!json.contains("hunter2"), "{json}");
    let explained: Value = serde_json::from_str(&json).unwrap();
    let a = &explained[0];
    assert_eq!(a["env"], "prod");
    assert_eq!(a["analysis"], "canary");
    assert_eq!(a["verdict"], finished["verdict"]);
    assert_eq!(a["reason"], finished["reason"]);
    assert_eq!(a["limits"]["count"], 3);
    assert_eq!(a["limits"]["failure_limit"], 0);
    let m = &a["metrics"][0];
    assert_eq!(m["source"], "prometheus");
    let prom_host = prom.trim_start_matches("http://");
    assert_eq!(m["host"], prom_host);
    let query = m["query"].as_str().unwrap();
    assert!(
        query.starts_with(&format!(
            "1 - (sum(rate(demo_requests_total{{instance=\"127.0.0.1:{bad}\",status!=\"500\"}}[${{window}}]))"
        )),
        "{query}"
    );
    let sampled: Vec<&Value> = recs.iter().filter(|r| ty(r) == "metric_sampled").collect();
    let listed = m["samples"].as_array().unwrap();
    assert_eq!(listed.len(), sampled.len());
    for (l, s) in listed.iter().zip(&sampled) {
        for key in ["value", "shown", "judgement", "why"] {
            assert_eq!(l[key], s["event"][key], "{key}");
        }
        assert_eq!(l["at"], s["ts"]);
    }
    assert_eq!(m["tally"]["failed"], 1);
    // The table names the same things.
    let (code, table) = slate(home.path(), &["analysis", "latest", "--env", "prod"]);
    assert_eq!(code, 0, "{table}");
    assert!(
        table.contains(&format!(
            "metric   availability from prometheus {prom_host}"
        )),
        "{table}"
    );
    assert!(table.contains("✘ fail"), "{table}");
    assert!(!table.contains("hunter2"), "{table}");
    drop(procs);
    assert!(
        kill_tagged(&tag).is_empty(),
        "every demo-service was stopped"
    );
}

/// Slate's own evaluator over direct scrapes: a window is judged only once
/// the scrapes span it (until then the sample is no data), then like Prometheus.
#[test]
fn a_direct_scrape_slo_judges_once_its_scrapes_span_the_windows() {
    let tag = unique();
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let mut procs = Procs(Vec::new());
    let good = free_port();
    demo_service(&mut procs, "2.5.0", good, &[], &tag);
    let metric = format!(
        r#"[[metrics]]
name = "availability"
scrape = "http://127.0.0.1:{good}/metrics"
objective = 99
query = 'sum(rate(demo_requests_total{{status="500"}}[${{window}}])) / sum(rate(demo_requests_total[${{window}}]))'
burn = [{{ short = "2s", long = "4s", rate = 14.4 }}]
interval = "1s""#
    );
    let (code, out, recs) = run(
        home.path(),
        dir.path(),
        "scrape",
        &plan(good, &metric, "count = 7\ninconclusive_limit = 4"),
    );
    assert_eq!(code, 0, "{out}");
    let samples = events(&recs, "metric_sampled");
    let first = samples[0]["why"].as_str().unwrap();
    assert!(
        first.starts_with("the scrapes so far span ") && first.ends_with(" of the 4s window"),
        "{first}"
    );
    let last = samples.last().unwrap();
    assert_eq!(last["judgement"], "pass", "{last}");
    let why = last["why"].as_str().unwrap();
    assert!(
        burns(why, "2s", "4s").is_some_and(|(s, l)| s < 14.4 && l < 14.4),
        "{why}"
    );
    drop(procs);
    assert!(
        kill_tagged(&tag).is_empty(),
        "every demo-service was stopped"
    );
}

#[test]
fn windows_a_direct_scrape_cannot_hold_and_bad_slo_keys_are_refused_where_they_are() {
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let check = |name: &str, metric: &str| -> String {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, plan(9, metric, "count = 3")).unwrap();
        let (code, out) = slate(home.path(), &["validate", path.to_str().unwrap()]);
        assert_ne!(code, 0, "{out}");
        out
    };
    let out = check(
        "long",
        r#"[[metrics]]
name = "availability"
scrape = "http://127.0.0.1:9/metrics"
objective = 99.9
query = 'sum(rate(e[${window}])) / sum(rate(t[${window}]))'
interval = "1s""#,
    );
    assert!(
        out.contains("long.toml:26:1: metric `availability`: a 6h window needs 21602 scrapes at a 1s interval, and a direct scrape keeps at most 500; use a `prometheus` source for long windows, or a longer `interval`"),
        "{out}"
    );
    let out = check(
        "nowindow",
        r#"[[metrics]]
name = "availability"
prometheus = "http://127.0.0.1:9"
objective = 100
query = 'sum(rate(e[5m]))'
success = "< 1"
burn = [{ short = "1h", long = "5m", rate = 0 }, { short = "1m" }]"#,
    );
    assert!(out.contains("is the percent of good requests"), "{out}");
    assert!(
        out.contains("`success` does not apply to metric `availability`"),
        "{out}"
    );
    let out = check(
        "pairs",
        r#"[[metrics]]
name = "availability"
prometheus = "http://127.0.0.1:9"
objective = 99.5
query = 'sum(rate(e[5m]))'
burn = [{ short = "1h", long = "5m", rate = 0 }, { short = "1m" }]"#,
    );
    for want in [
        "`query` in metric `availability` must use `${window}` for its range",
        "the short window (1h) must be shorter than the long one (5m)",
        "`rate` in a `burn` pair of metric `availability` must be above 0",
        "a `burn` pair of metric `availability` is missing `long`",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }
    let out = check(
        "command",
        r#"[[metrics]]
name = "availability"
command = "echo 0"
objective = 99.5"#,
    );
    assert!(
        out.contains("needs a `prometheus` or `scrape` source: its burn windows are PromQL ranges"),
        "{out}"
    );
}

/// A metric waits through Prometheus's first scrapes of a service that is
/// not up yet: its samples are journaled as waiting for data, then judged.
#[test]
fn a_metric_waits_for_data_through_prometheus_first_scrapes_then_judges() {
    let Some(bin) = prometheus_binary() else {
        eprintln!(
            "\n*** SKIPPED a_metric_waits_for_data_through_prometheus_first_scrapes_then_judges: \
             no `prometheus` binary on PATH (apt-get install prometheus; .ci/run does) ***\n"
        );
        return;
    };
    let tag = unique();
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let mut procs = Procs(Vec::new());
    let port = free_port();
    // Prometheus scrapes a target that does not answer yet.
    let prom = start_prometheus(&bin, dir.path(), &[port], &mut procs);
    let metric = format!(
        r#"[[metrics]]
name = "availability"
prometheus = "{prom}"
query = 'sum(rate(demo_requests_total{{instance="${{config.instance}}",status="500"}}[5s])) / sum(rate(demo_requests_total{{instance="${{config.instance}}"}}[5s]))'
interval = "1s"
success = "<= 0.05"
wait_for_data = "40s"
min_data = "2 samples""#
    );
    let path = dir.path().join("waits.toml");
    std::fs::write(&path, plan(port, &metric, "count = 2")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slate"))
        .args(["run", "--headless"])
        .arg(&path)
        .env("SLATE_HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = || {
        newest_run(home.path())
            .map(|d| read_journal(&d.join("journal.ndjson")))
            .unwrap_or_default()
    };
    wait_for("a sample waiting for data", RUN_TIMEOUT, || {
        events(&journal(), "metric_sampled")
            .iter()
            .any(|s| s["judgement"] == "waiting")
    });
    // Now the service comes up, and Prometheus's next scrapes find it.
    demo_service(&mut procs, "2.5.0", port, &[], &tag);
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the run did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(status.code(), Some(0), "{out}");
    let recs = journal();
    let samples = events(&recs, "metric_sampled");
    let judged: Vec<&str> = samples
        .iter()
        .map(|s| s["judgement"].as_str().unwrap())
        .collect();
    let waited = judged.iter().take_while(|j| **j == "waiting").count();
    assert!(waited >= 2, "{judged:?}");
    assert_eq!(judged[waited..], ["pass", "pass"], "{judged:?}");
    assert!(
        samples[0]["why"]
            .as_str()
            .unwrap()
            .starts_with("waiting for data: no series"),
        "{}",
        samples[0]
    );
    assert!(out.contains("… availability"), "{out}");
    let finished = only(&recs, "analysis_finished");
    assert_eq!(finished["verdict"], "passed");
    assert_eq!(finished["reason"], "availability passed 2 of 2");
    drop(procs);
    assert!(
        kill_tagged(&tag).is_empty(),
        "every demo-service was stopped"
    );
}
