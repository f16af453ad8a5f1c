//! `slate memory`: the memory entries of recent runs, newest first, read
//! from the store.

use std::path::Path;

use serde::Serialize;

#[derive(Serialize)]
struct Entry<'a> {
    run_id: &'a str,
    release: &'a str,
    version: &'a str,
    outcome: crate::runs::Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    started: Option<jiff::Timestamp>,
    memory: &'a str,
}

pub fn run(state_dir: &Path, limit: usize, release: Option<&str>, json: bool) -> i32 {
    let history = crate::store::load_runs(
        state_dir,
        &crate::store::RunQuery {
            release: release.map(str::to_string),
            limit: Some(limit),
            ..Default::default()
        },
    );
    for n in &history.notices {
        crate::warn_user!("slate: {n}");
    }
    for w in &history.warnings {
        crate::warn_user!("slate: warning: {w}");
    }
    if let Some(e) = &history.unavailable {
        crate::warn_user!("slate: {e}");
        return 1;
    }
    let entries: Vec<Entry> = history
        .runs
        .iter()
        .map(|r| Entry {
            run_id: &r.run_id,
            release: &r.release,
            version: &r.version,
            outcome: r.outcome,
            started: r.started,
            memory: &r.memory,
        })
        .collect();
    if json {
        return match crate::text::json::to_string_pretty(&entries) {
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
    if entries.is_empty() {
        crate::say!(
            "No runs yet in {}.",
            crate::runs::runs_dir(state_dir).display()
        );
        return 0;
    }
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            crate::say!("");
        }
        let day = e
            .started
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        crate::say!(
            "{} · {} {} · {} · {day}",
            e.run_id,
            e.release,
            e.version,
            e.outcome.word()
        );
        // Indented under its run: a wrapped line of someone's prose never
        // starts a line of its own.
        for line in textwrap_words(&crate::text::neutral::line(e.memory), 76).lines() {
            crate::say!("  {line}");
        }
    }
    0
}

/// Wraps prose at word boundaries for a terminal.
fn textwrap_words(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for w in text.split_whitespace() {
        let len = unicode_width::UnicodeWidthStr::width(w);
        if line > 0 && line + 1 + len > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(w);
        line += len;
    }
    out
}
