//! What the two SQL stores (SQLite and PostgreSQL) write the same way:
//! how times and outcomes are stored, and the WHERE clause of a run query.
//! Only the placeholder syntax, the case-insensitive LIKE and what a text
//! parameter must not hold differ, and [`Dialect`] says which.

use jiff::Timestamp;

use super::{Page, RunQuery};
use crate::runs::Outcome;

/// Times are microseconds since the Unix epoch: they sort as numbers.
pub(super) fn micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_microsecond())
}

pub(super) fn from_micros(v: Option<i64>) -> Option<Timestamp> {
    v.and_then(|v| Timestamp::from_microsecond(v).ok())
}

pub(super) fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Released => "released",
        Outcome::RolledBack => "rolled_back",
        Outcome::Rejected => "rejected",
        Outcome::Aborted => "aborted",
        Outcome::Held => "held",
        Outcome::Failed => "failed",
        Outcome::Running => "running",
        Outcome::Interrupted => "interrupted",
    }
}

/// An unknown key reads as interrupted: a run the store cannot place is
/// one to look at, never one to call finished.
pub(super) fn outcome_from(key: &str) -> Outcome {
    Outcome::ALL
        .into_iter()
        .find(|o| outcome_key(*o) == key)
        .unwrap_or(Outcome::Interrupted)
}

/// What differs between the two stores' SQL.
pub(super) struct Dialect {
    /// The n-th (1-based) parameter's placeholder.
    pub placeholder: fn(usize) -> String,
    /// The LIKE that ignores case (SQLite's `LIKE` does, for ASCII letters
    /// only; PostgreSQL's `ILIKE` beyond ASCII too).
    pub like: &'static str,
    /// A text parameter as the store can hold it.
    pub text: fn(&str) -> String,
}

/// The WHERE clause of a run query (filters and where its page starts)
/// and its parameters, in order. The text filter is a LIKE over the fields
/// `RunSummary::matches` reads (the outcome as its word), with the text's
/// own wildcards escaped.
pub(super) fn run_filter(query: &RunQuery, d: &Dialect) -> (String, Vec<String>) {
    let mut terms: Vec<String> = Vec::new();
    let mut params: Vec<String> = Vec::new();
    let mut param = |v: &str| {
        params.push((d.text)(v));
        (d.placeholder)(params.len())
    };
    if let Some(r) = &query.release {
        terms.push(format!("release = {}", param(r)));
    }
    if let Some(o) = query.outcome {
        terms.push(format!("outcome = {}", param(outcome_key(o))));
    }
    match &query.page {
        Page::Newest | Page::Oldest => {}
        Page::OlderThan(id) => terms.push(format!("run_id < {}", param(id))),
        Page::From(id) => terms.push(format!("run_id <= {}", param(id))),
        Page::NewerThan(id) => terms.push(format!("run_id > {}", param(id))),
    }
    if !query.text.is_empty() {
        let p = param(&query.like_pattern());
        let fields = [
            "run_id",
            "release",
            "version",
            "previous_version",
            "owner",
            "started_by",
            "coalesce(reached, '')",
            "CASE outcome WHEN 'rolled_back' THEN 'rolled back' ELSE outcome END",
            "message",
            // A JSON array of names: the text is found inside one of them
            // (a name with a quote or a backslash is stored escaped).
            "approvers",
        ];
        let any: Vec<String> = fields
            .iter()
            .map(|f| format!("{f} {} {p} ESCAPE '\\'", d.like))
            .collect();
        terms.push(format!("({})", any.join(" OR ")));
    }
    if terms.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", terms.join(" AND ")), params)
    }
}
