//! Freeze windows with a real clock, black-box: a freeze that starts two
//! seconds into a run stops it at its next safe point until the freeze ends;
//! a run that would enter a frozen environment waits (lock_wait) until the
//! window ends, or is refused at once naming the freeze and its end; an
//! ad-hoc `slate freeze` and the team's config.toml freeze hold the same
//! way; a malformed window is a FILE:LINE:COL error before anything runs.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::sandbox::{Sandbox, wait_output};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn plan(extra: &str) -> String {
    format!(
        r#"
[release]
name = "pay"
version = "2"
previous_version = "1"
owner = "qa"

[[environments]]
name = "staging"

[[stages]]
name = "one"
command = 'echo one >> "$LEDGER"; while [ -e "@DIR@/hold" ]; do sleep 0.02; done'
timeout = "60s"

[[stages]]
name = "two"
command = 'echo two >> "$LEDGER"'
{extra}
"#
    )
}

fn freeze(from: Timestamp, until: Timestamp, extra: &str) -> String {
    format!(
        r#"
[[freezes]]
name = "change freeze"
environments = ["*"]
reason = "board meeting"
timezone = "UTC"
from = "{}"
until = "{}"
{extra}
"#,
        utc(from),
        utc(until)
    )
}

fn records(out: &std::process::Output) -> Vec<Value> {
    common::parse_journal(&String::from_utf8_lossy(&out.stdout), "stdout")
}

fn ts(rec: &Value) -> Timestamp {
    rec["ts"].as_str().unwrap().parse().unwrap()
}

fn find<'a>(recs: &'a [Value], t: &str) -> &'a Value {
    recs.iter()
        .find(|r| common::ty(r) == t)
        .unwrap_or_else(|| panic!("no {t}: {:?}", common::types(recs)))
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whole seconds: the plan's times are written to the second.
fn second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap()
}

#[test]
fn a_freeze_that_starts_two_seconds_into_a_run_stops_it_at_the_next_safe_point() {
    let sb = Sandbox::new();
    let now = second(Timestamp::now());
    let from = now + SignedDuration::from_secs(2);
    let until = now + SignedDuration::from_secs(5);
    let p = sb.plan("plan.toml", &plan(&freeze(from, until, "")));
    std::fs::write(sb.path("hold"), "").unwrap();
    let child = sb
        .slate()
        .args(["run", "--headless", "--json"])
        .arg(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sb.wait_for("the first step", LIMIT, || {
        sb.ledger().contains(&"one".into())
    });
    // The step is still running when the freeze begins; it ends after.
    sb.wait_for("the freeze to begin", LIMIT, || Timestamp::now() > from);
    std::fs::remove_file(sb.path("hold")).unwrap();
    let out = wait_output(child, LIMIT, &["run"]);
    let recs = records(&out);
    assert_eq!(common::outcome(&recs), "released", "{}", text(&out));
    let blocked = find(&recs, "env_blocked");
    assert_eq!(blocked["event"]["in_flight"], true);
    assert_eq!(blocked["event"]["barrier"]["kind"], "freeze");
    let msg = blocked["event"]["barrier"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("staging is frozen: change freeze (board meeting) until "),
        "{msg}"
    );
    common::assert_in_order(
        &recs,
        &[
            "step_finished",
            "env_blocked",
            "env_cleared",
            "step_started",
            "run_finished",
        ],
    );
    // The first step ran into the freeze and was finished; the second
    // started only once the freeze was over.
    let second_start = recs
        .iter()
        .filter(|r| common::ty(r) == "step_started")
        .nth(1)
        .unwrap();
    assert!(ts(second_start) >= until, "{} < {until}", ts(second_start));
    assert!(ts(blocked) >= from);
}

#[test]
fn a_window_that_ends_while_a_run_waits_lets_it_in() {
    let sb = Sandbox::new();
    let now = second(Timestamp::now());
    let until = now + SignedDuration::from_secs(3);
    let p = sb.plan(
        "plan.toml",
        &plan(&freeze(now - SignedDuration::from_secs(60), until, ""))
            .replace("owner = \"qa\"", "owner = \"qa\"\nlock_wait = \"30s\""),
    );
    let out = sb.run(&["run", "--headless", "--json", p.to_str().unwrap()], LIMIT);
    let recs = records(&out);
    assert_eq!(common::outcome(&recs), "released", "{}", text(&out));
    let blocked = find(&recs, "env_blocked");
    assert_eq!(blocked["event"]["in_flight"], Value::Null);
    assert_eq!(
        blocked["event"]["barrier"]["until"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        until
    );
    let locked = find(&recs, "env_locked");
    assert!(ts(locked) >= until, "entered before the freeze ended");
    common::assert_in_order(&recs, &["env_blocked", "env_locked", "env_started"]);
}

#[test]
fn a_run_into_a_frozen_environment_without_lock_wait_is_refused_naming_the_freeze() {
    let sb = Sandbox::new();
    let now = second(Timestamp::now());
    let p = sb.plan(
        "plan.toml",
        &plan(&freeze(
            now - SignedDuration::from_hours(1),
            now + SignedDuration::from_hours(48),
            "",
        )),
    );
    let out = sb.run(&["run", "--headless", "--json", p.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let recs = records(&out);
    assert_eq!(common::outcome(&recs), "failed");
    assert!(!common::has(&recs, "env_started"));
    let msg = common::only(&recs, "run_finished")["message"]
        .as_str()
        .unwrap()
        .to_string();
    let end = (now + SignedDuration::from_hours(48))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%a %Y-%m-%d %H:%M UTC")
        .to_string();
    assert_eq!(
        msg,
        format!("staging is frozen: change freeze (board meeting) until {end}")
    );
    assert!(sb.ledger().is_empty(), "nothing ran");
}

#[test]
fn an_adhoc_freeze_and_a_config_freeze_hold_and_are_lifted() {
    let sb = Sandbox::new();
    let p = sb.plan("plan.toml", &plan(""));
    let run = |sb: &Sandbox| sb.run(&["run", "--headless", "--json", p.to_str().unwrap()], LIMIT);
    let frozen = sb.run(
        &[
            "freeze",
            "staging",
            "--until",
            "2h",
            "--reason",
            "incident\u{1b}[31m 7\nnext",
        ],
        LIMIT,
    );
    assert!(frozen.status.success(), "{}", text(&frozen));
    let out = run(&sb);
    assert_eq!(out.status.code(), Some(1));
    let msg = common::only(&records(&out), "run_finished")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.starts_with("staging is frozen: freeze by "), "{msg}");
    // Listed, with its text made safe.
    let listed = sb.run(&["locks"], LIMIT);
    let shown = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(shown.contains("staging frozen until"), "{shown}");
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert_eq!(shown.lines().count(), 1, "{shown:?}");
    assert!(sb.run(&["unfreeze", "staging"], LIMIT).status.success());
    assert!(!sb.run(&["unfreeze", "staging"], LIMIT).status.success());
    assert_eq!(common::outcome(&records(&run(&sb))), "released");

    // The team's config.toml: a weekly window covering every day.
    let config = sb.home().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[[freezes]]\nname = \"always\"\nenvironments = [\"staging\"]\ntimezone = \"Europe/Berlin\"\nstart = \"00:00\"\nend = \"00:00\"\n",
    )
    .unwrap();
    let out = run(&sb);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = common::only(&records(&out), "run_finished")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.starts_with("staging is frozen: always until "), "{msg}");
    assert!(msg.ends_with("00:00 Europe/Berlin"), "{msg}");
    // A config freeze that cannot be read stops the run before it starts.
    std::fs::write(
        config.join("config.toml"),
        "[[freezes]]\nname = \"broken\"\ntimezone = \"Mars/Olympus\"\ndates = [\"2026-12-25\"]\n",
    )
    .unwrap();
    let out = run(&sb);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("config.toml:3:12: unknown time zone `Mars/Olympus`"),
        "{}",
        text(&out)
    );
    // Two refused runs and one released; the config error left no run behind.
    assert_eq!(common::run_dirs(sb.home()).len(), 3);
}

#[test]
fn malformed_windows_are_located_at_validate_time() {
    let sb = Sandbox::new();
    let p = sb.plan(
        "plan.toml",
        &plan(
            r#"
[[freezes]]
name = "zone"
timezone = "Europe/Nowhere"
dates = ["2026-12-25"]

[[freezes]]
name = "inverted"
timezone = "UTC"
from = "2026-12-28 08:00"
until = "2026-12-24 00:00"

[[allow]]
name = "rule"
timezone = "UTC"
days = ["mon", "funday"]
start = "09:00"
end = "25:00"
"#,
        ),
    );
    let out = sb.run(&["validate", p.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    let file = p.display().to_string();
    for want in [
        format!("{file}:22:12: unknown time zone `Europe/Nowhere`"),
        format!("{file}:29:9: `until` in [[freezes]] #2 is not after `from`"),
        format!("{file}:34:16: `days` in [[allow]] #1: \"funday\" is not a weekday"),
        format!("{file}:36:7: `end` in [[allow]] #1: \"25:00\" is not a time of day"),
    ] {
        assert!(t.contains(&want), "missing {want:?} in:\n{t}");
    }
}

#[test]
fn validate_warns_when_the_plans_known_waits_would_run_into_a_freeze() {
    let sb = Sandbox::new();
    let now = second(Timestamp::now());
    let text_of_plan = plan(&freeze(
        now + SignedDuration::from_mins(30),
        now + SignedDuration::from_hours(3),
        "",
    ))
    .replace(
        "name = \"staging\"",
        "name = \"staging\"\ngates = [\"bake\"]",
    ) + "\n[[gates]]\nname = \"bake\"\nkind = \"soak\"\nwait = \"1h\"\n";
    let p = sb.plan("plan.toml", &text_of_plan);
    let out = sb.run(&["validate", p.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("warning: staging: the plan's known waits (1h by the end of staging) would run into change freeze at "),
        "{err}"
    );
}

/// `slate locks` lists the team's config.toml freezes that hold now or
/// start within a week (the board and the cockpit show the same), with
/// their text made safe, and leaves out one that ended or is further off.
#[test]
fn locks_lists_the_configs_freezes_in_effect_and_coming_within_a_week() {
    let sb = Sandbox::new();
    let now = second(Timestamp::now());
    let config = sb.home().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let window = |name: &str, from: Timestamp, until: Timestamp| {
        format!(
            "[[freezes]]\nname = \"{name}\"\nenvironments = [\"prod\", \"staging\"]\nreason = \"why\\u001b[2J\"\ntimezone = \"UTC\"\nfrom = \"{}\"\nuntil = \"{}\"\n",
            utc(from),
            utc(until)
        )
    };
    let h = SignedDuration::from_hours;
    std::fs::write(
        config.join("config.toml"),
        [
            window("incident", now - h(1), now + h(1)),
            window("holiday", now + h(48), now + h(72)),
            window("over", now - h(3), now - h(2)),
            window("far", now + h(24 * 10), now + h(24 * 11)),
        ]
        .concat(),
    )
    .unwrap();
    let out = sb.run(&["locks"], LIMIT);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert_eq!(
        lines[0],
        format!(
            "prod, staging frozen now: incident (why␛[2J) until {} UTC (config.toml)",
            (now + h(1)).strftime("%a %Y-%m-%d %H:%M")
        )
    );
    assert!(
        lines[1].starts_with(&format!(
            "prod, staging frozen from {} UTC until",
            (now + h(48)).strftime("%a %Y-%m-%d %H:%M")
        )),
        "{shown}"
    );
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    let json: Value = serde_json::from_slice(&sb.run(&["locks", "--json"], LIMIT).stdout).unwrap();
    let policy = json["policy"].as_array().unwrap();
    assert_eq!(policy.len(), 2, "{json}");
    assert_eq!(policy[0]["name"], "incident");
    assert_eq!(policy[0]["from"], Value::Null);
    assert_eq!(policy[1]["from"], (now + h(48)).to_string());
}
