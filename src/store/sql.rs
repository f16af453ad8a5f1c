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
    /// An expression over every field the text filter reads, indexed for
    /// LIKE (PostgreSQL's trigram index, [`HAYSTACK`]): a count with a
    /// filter of three characters or more asks it first, so the index
    /// picks the candidates and the per-field test keeps the answer exact.
    pub haystack: Option<&'static str>,
}

/// The text filter's fields in one string, each ended by a unit separator
/// (a match across two fields is a candidate the per-field test then
/// drops). Written as the team store's index `runs_text` is, character
/// for character, so the planner can use it. `run_id` and `release` sort
/// in "C" and the rest in the default collation; LIKE needs one.
pub(super) const HAYSTACK: &str = "((run_id COLLATE \"default\") || E'\\x1f' || \
    (release COLLATE \"default\") || E'\\x1f' || version || E'\\x1f' || \
    previous_version || E'\\x1f' || owner || E'\\x1f' || started_by || E'\\x1f' || \
    coalesce(reached, '') || E'\\x1f' || \
    CASE outcome WHEN 'rolled_back' THEN 'rolled back' ELSE outcome END || E'\\x1f' || \
    message || E'\\x1f' || approvers)";

/// Trigrams need three characters: a shorter filter reads every row either way.
const HAYSTACK_MIN_CHARS: usize = 3;

/// The WHERE clause of a run query (filters and where its page starts)
/// and its parameters, in order. The text filter is a LIKE over the fields
/// `RunSummary::matches` reads (the outcome as its word), with the text's
/// own wildcards escaped.
///
/// `counting`: the clause is a count's. A count of the whole list reads
/// every match, and the dialect's indexed [`Dialect::haystack`] finds them
/// fastest. A page, or a count from a run on (a run's place in the list),
/// reads along the primary key and stops at its limit or bound without
/// the index; offered it, PostgreSQL misjudges how many rows it gives and
/// takes it, then reads every match (92 ms instead of 0.8 for a page of a
/// text one run in seven has, at 100,000 runs).
pub(super) fn run_filter(query: &RunQuery, d: &Dialect, counting: bool) -> (String, Vec<String>) {
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
        let whole = counting && matches!(query.page, Page::Newest | Page::Oldest);
        if let Some(h) = d.haystack.filter(|_| whole)
            && query.text.chars().count() >= HAYSTACK_MIN_CHARS
        {
            terms.push(format!("{h} {} {p} ESCAPE '\\'", d.like));
        }
        terms.push(format!("({})", any.join(" OR ")));
    }
    if terms.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", terms.join(" AND ")), params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEXED: Dialect = Dialect {
        placeholder: |n| format!("${n}"),
        like: "ILIKE",
        text: str::to_string,
        haystack: Some(HAYSTACK),
    };

    fn asks_index(text: &str, page: Page, counting: bool) -> bool {
        let q = RunQuery {
            text: text.into(),
            page,
            ..RunQuery::default()
        };
        run_filter(&q, &INDEXED, counting).0.contains(HAYSTACK)
    }

    /// The index serves a count of every match; a page and a run's place
    /// stop early along the primary key, and two characters make no trigram.
    #[test]
    fn only_a_count_of_the_whole_list_asks_the_text_index() {
        assert!(asks_index("svc", Page::Newest, true));
        assert!(asks_index("svc", Page::Oldest, true));
        assert!(!asks_index("svc", Page::Newest, false));
        assert!(!asks_index("svc", Page::NewerThan("r".into()), true));
        assert!(!asks_index("svc", Page::OlderThan("r".into()), true));
        assert!(!asks_index("sv", Page::Newest, true));
        assert!(!asks_index("", Page::Newest, true));
        // Three characters, not three bytes.
        assert!(!asks_index("é", Page::Newest, true));
        assert!(asks_index("éèê", Page::Newest, true));
    }
}
