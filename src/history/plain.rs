//! `slate history` for scripts: JSON with `--json`, else (when stdout is not
//! a terminal) a plain table, one run per line, in the list's words.

use jiff::tz::TimeZone;
use unicode_width::UnicodeWidthStr;

use super::format;
use crate::runs::RunSummary;
use crate::text::neutral;

/// The runs as a JSON array, newest first.
pub fn json(runs: &[RunSummary]) -> Result<String, String> {
    crate::text::json::to_string_pretty(runs).map_err(|e| e.to_string())
}

const HEAD: [&str; 8] = [
    "STARTED",
    "RELEASE",
    "VERSION",
    "REACHED",
    "OUTCOME",
    "DURATION",
    "APPROVERS",
    "RUN",
];

/// A header and one aligned line per run; the last column (the run id, for
/// `slate show RUN`) is never padded, so `awk '{print $NF}'` finds it.
pub fn table(runs: &[RunSummary], tz: &TimeZone) -> Vec<String> {
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|r| {
            [
                format::started(r.started, tz),
                r.release.clone(),
                r.version.clone(),
                r.reached.clone().unwrap_or_else(|| format::NONE.into()),
                r.outcome.word().replace(' ', "-"),
                format::duration(r.duration_ms),
                // Commas, not ", ": a list of names reads as one field.
                if r.approvers.is_empty() {
                    format::NONE.to_string()
                } else {
                    r.approvers.join(",")
                },
                r.run_id.clone(),
            ]
            // Shown before measured, so the columns line up as printed.
            .map(|cell| neutral::line(&cell).into_owned())
        })
        .collect();
    let mut widths = HEAD.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: [&str; 8]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        s
    };
    std::iter::once(line(HEAD))
        .chain(rows.iter().map(|r| line(r.each_ref().map(String::as_str))))
        .collect()
}
