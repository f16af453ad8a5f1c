//! `slate analysis RUN [--env E] [--json]`: why each analysis of a run
//! passed, failed or proved nothing, from its journal (`crate::explain`).

use std::path::Path;

use crate::explain::{self, Explained};
use crate::text::neutral;

pub fn run(state_dir: &Path, run: &str, env: Option<&str>, json: bool) -> i32 {
    let journal = match crate::runs::open_states(state_dir, run) {
        Ok(j) => j,
        Err(e) => {
            crate::warn_user!("slate: {}", e.message);
            return e.code;
        }
    };
    if let Some(w) = &journal.warning {
        crate::warn_user!("slate: warning: {w}");
    }
    let mut all = explain::explain(&journal.records);
    if let Some(env) = env {
        let state = crate::engine::state::RunState::replay(&journal.records);
        if !state.envs.iter().any(|e| e.name == env) {
            let known: Vec<&str> = state.envs.iter().map(|e| e.name.as_str()).collect();
            crate::warn_user!(
                "slate: run {} has no environment `{env}` (it has: {})",
                state.run_id,
                known.join(", ")
            );
            return 2;
        }
        all.retain(|a| a.env == env);
    }
    if json {
        return match crate::text::json::to_string_pretty(&all) {
            Ok(s) => {
                crate::output::out_text(&s);
                0
            }
            Err(e) => {
                crate::warn_user!("slate: {e}");
                1
            }
        };
    }
    if all.is_empty() {
        crate::say!(
            "no analysis ran{}",
            env.map(|e| format!(" in {e}")).unwrap_or_default()
        );
        return 0;
    }
    let tz = jiff::tz::TimeZone::system();
    let mut out = String::new();
    for (i, a) in all.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        table(&mut out, a, &tz);
    }
    crate::output::out_text(out.trim_end());
    0
}

/// One analysis: a heading, its limits, then per metric its source and a
/// sample table. Every supplied value is one line with its controls shown.
fn table(out: &mut String, a: &Explained, tz: &jiff::tz::TimeZone) {
    let l = neutral::line;
    let verdict = match (&a.verdict, &a.reason) {
        (Some(v), Some(r)) => format!("{} {}: {}", explain::verdict_mark(v), v.word(), l(r)),
        _ => "… no verdict (still measuring, or stopped)".to_string(),
    };
    out.push_str(&format!(
        "{} · {} — analysis {}\n  verdict  {verdict}\n",
        l(&a.env),
        l(&a.step_label),
        l(&a.analysis)
    ));
    match &a.limits {
        Some(lim) => out.push_str(&format!("  limits   {}\n", explain::limits_line(lim))),
        None => out.push_str("  limits   unknown (the journal's plan does not parse)\n"),
    }
    for m in &a.metrics {
        let unit = if m.unit.is_empty() {
            String::new()
        } else {
            format!(" ({})", l(&m.unit))
        };
        let from = match &m.host {
            Some(h) => format!("{} {}", m.source, l(h)),
            None => m.source.clone(),
        };
        out.push_str(&format!("  metric   {}{unit} from {from}\n", l(&m.name)));
        if let Some(q) = &m.query {
            out.push_str(&format!("  query    {}\n", l(q)));
        }
        out.push_str(&format!("  passes   {}\n", l(&m.condition)));
        out.push_str(&format!("  tally    {}\n", explain::tally_line(&m.tally)));
        let rows: Vec<[String; 4]> = m
            .samples
            .iter()
            .map(|s| {
                [
                    s.at.to_zoned(tz.clone()).strftime("%H:%M:%S").to_string(),
                    l(&s.shown).to_string(),
                    format!("{} {}", explain::mark(s.judgement), s.judgement.word()),
                    l(&s.why).to_string(),
                ]
            })
            .collect();
        let head = ["time", "value", "judgement", "why"];
        let width = |c: usize| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let pad =
            |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
        out.push_str(&format!(
            "    {}  {}  {}  {}\n",
            pad(head[0], w0),
            pad(head[1], w1),
            pad(head[2], w2),
            head[3]
        ));
        for r in &rows {
            out.push_str(&format!(
                "    {}  {}  {}  {}\n",
                pad(&r[0], w0),
                pad(&r[1], w1),
                pad(&r[2], w2),
                r[3]
            ));
        }
    }
}
