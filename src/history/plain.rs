//! `slate history` for scripts: JSON with `--json`, else (when stdout is not
//! a terminal) a plain table, one run per line, in the list's words. Both
//! stream from the store a page at a time, so 100,000 runs take the memory
//! of one page.

use std::io::Write;

use jiff::tz::TimeZone;
use unicode_width::UnicodeWidthStr;

use super::format;
use crate::runs::RunSummary;
use crate::store::{Page, RunPages, RunQuery, StoreError};
use crate::text::neutral;

/// Runs read from the store at a time.
const PAGE: usize = 1000;

/// Why the output stopped.
#[derive(Debug)]
pub enum Failed {
    /// The reader went away (`| head`): not an error.
    Closed,
    Write(std::io::Error),
    Json(String),
    Store(StoreError),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Closed => f.write_str("the output was closed"),
            Failed::Write(e) => write!(f, "cannot write the runs: {e}"),
            Failed::Json(e) => write!(f, "cannot write JSON: {e}"),
            Failed::Store(e) => e.fmt(f),
        }
    }
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Failed {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failed::Closed
        } else {
            Failed::Write(e)
        }
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Failed {
        Failed::Store(e)
    }
}

/// Calls `each` with every run `query` admits, newest first, a page at a time.
fn each_run(
    source: &dyn RunPages,
    query: &RunQuery,
    mut each: impl FnMut(&RunSummary) -> Result<(), Failed>,
) -> Result<(), Failed> {
    let mut q = RunQuery {
        page: Page::Newest,
        limit: Some(PAGE),
        ..query.clone()
    };
    loop {
        let page = source.page(&q)?;
        for r in &page {
            each(r)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => q.page = Page::OlderThan(last.run_id.clone()),
            _ => return Ok(()),
        }
    }
}

/// The runs as a JSON array, newest first: the same text as the whole
/// array pretty-printed at once, written one run at a time.
pub fn json(source: &dyn RunPages, query: &RunQuery, out: &mut impl Write) -> Result<(), Failed> {
    let mut first = true;
    each_run(source, query, |r| {
        let one =
            crate::text::json::to_string_pretty(r).map_err(|e| Failed::Json(e.to_string()))?;
        out.write_all(if first { b"[\n" } else { b",\n" })?;
        first = false;
        // Strings hold no raw newline, so every line is the value's own.
        let mut lines = String::with_capacity(one.len() + 64);
        for (i, line) in one.lines().enumerate() {
            if i > 0 {
                lines.push('\n');
            }
            lines.push_str("  ");
            lines.push_str(line);
        }
        out.write_all(neutral::text(&lines).as_bytes())?;
        Ok(())
    })?;
    out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
    out.flush()?;
    Ok(())
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

/// A run's cells, shown before measured so the columns line up as printed.
fn cells(r: &RunSummary, tz: &TimeZone) -> [String; 8] {
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
    .map(|cell| neutral::line(&cell).into_owned())
}

fn line(cells: [&str; 8], widths: &[usize; 8]) -> String {
    let mut s = String::new();
    for (i, cell) in cells.iter().enumerate() {
        s.push_str(cell);
        if i + 1 < cells.len() {
            s.push_str(&" ".repeat(widths[i].saturating_sub(cell.width()) + 2));
        }
    }
    s
}

/// A header and one aligned line per run; the last column (the run id, for
/// `slate show RUN`) is never padded, so `awk '{print $NF}'` finds it. The
/// runs are read twice, page by page: once to measure the columns, once to
/// print them.
pub fn table(
    source: &dyn RunPages,
    query: &RunQuery,
    tz: &TimeZone,
    out: &mut impl Write,
) -> Result<(), Failed> {
    let mut widths = HEAD.map(str::len);
    each_run(source, query, |r| {
        for (w, cell) in widths.iter_mut().zip(cells(r, tz)) {
            *w = (*w).max(cell.width());
        }
        Ok(())
    })?;
    writeln!(out, "{}", line(HEAD, &widths))?;
    each_run(source, query, |r| {
        let row = cells(r, tz);
        writeln!(out, "{}", line(row.each_ref().map(String::as_str), &widths))?;
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}
