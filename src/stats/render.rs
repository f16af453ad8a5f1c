//! `slate stats` as text: the window, each definition once, then per
//! environment all releases together and each release, every number with
//! the counts behind it. Durations in the one format (`duration::human`).

use super::{DEFINITIONS, Metrics, Report, window_words};
use crate::duration::human;

/// The report's lines (each printed through `say!`, which neutralises
/// release and environment names).
pub fn lines(r: &Report) -> Vec<String> {
    let words = window_words(r.window.ms);
    let mut out = Vec::new();
    let scope = match (&r.release, &r.env) {
        (Some(rel), Some(env)) => format!(" of {rel} in {env}"),
        (Some(rel), None) => format!(" of {rel}"),
        (None, Some(env)) => format!(" in {env}"),
        (None, None) => String::new(),
    };
    if r.environments.iter().all(|e| {
        e.overall.changes == 0
            && e.overall.not_counted.in_progress == 0
            && e.overall.not_counted.interrupted == 0
    }) {
        out.push(format!("No deployments{scope} in the last {words}."));
        return out;
    }
    out.push(format!(
        "Delivery metrics{scope}, the last {words} ({} to {})",
        when(r.window.since),
        when(r.window.until)
    ));
    out.push(String::new());
    let d = DEFINITIONS;
    out.push(format!("deployment frequency: {}.", d.deployment_frequency));
    out.push(format!("lead time: {}.", d.lead_time));
    out.push(format!("change failure rate: {}.", d.change_failure_rate));
    out.push(format!("time to restore: {}.", d.time_to_restore));
    for e in &r.environments {
        out.push(String::new());
        out.push(e.env.clone());
        // One release: its own lines say everything the total would.
        if e.releases.len() != 1 {
            metric_lines(&mut out, "all releases", &e.overall, &words);
        }
        for rel in &e.releases {
            metric_lines(&mut out, &rel.release, &rel.metrics, &words);
        }
    }
    out
}

fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn metric_lines(out: &mut Vec<String>, name: &str, m: &Metrics, words: &str) {
    out.push(format!("  {name}"));
    if m.deployments == 0 {
        out.push(format!(
            "    deployment frequency  no deployments in the last {words}"
        ));
    } else {
        out.push(format!(
            "    deployment frequency  {:.2} a day, {:.2} a week ({} in {words})",
            m.per_day,
            m.per_week,
            plural(m.deployments, "deployment", "deployments")
        ));
    }
    let l = &m.lead_time;
    match l.median_ms {
        Some(ms) => out.push(format!(
            "    lead time             {} (median of {}: {} from commit, {} from run start)",
            human(ms),
            l.samples,
            l.from_commit,
            l.from_run_start
        )),
        None => out.push("    lead time             no version went live".into()),
    }
    match m.change_failure_rate {
        Some(rate) => out.push(format!(
            "    change failure rate   {} ({} of {} failed)",
            percent(rate),
            m.failures,
            plural(m.changes, "change", "changes")
        )),
        None => out.push("    change failure rate   no changes ended".into()),
    }
    let s = &m.restore;
    match (s.failures, s.median_ms) {
        (0, _) => out.push("    time to restore       no failures".into()),
        (_, Some(ms)) => out.push(format!(
            "    time to restore       {} (median of {} restored; {} unrestored)",
            human(ms),
            s.restored,
            s.unrestored
        )),
        (n, None) => out.push(format!(
            "    time to restore       none yet ({} unrestored)",
            plural(n, "failure", "failures")
        )),
    }
    let n = &m.not_counted;
    if n.in_progress + n.interrupted > 0 {
        out.push(format!(
            "    not counted           {} in progress, {} interrupted",
            n.in_progress, n.interrupted
        ));
    }
}

/// "25%", "33.3%": one decimal only when it is not whole.
pub fn percent(rate: f64) -> String {
    let p = (rate * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}
