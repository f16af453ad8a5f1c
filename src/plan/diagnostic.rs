//! Plan problems as `file:line:col: message`, the one format every plan error uses.

use std::fmt;
use std::ops::Range;

/// One problem found in a plan, located by byte span in the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Range<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
        }
    }
}

/// Every problem of a plan, ready to print against its file name.
#[derive(Debug, Clone)]
pub struct PlanErrors {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl PlanErrors {
    /// One line per problem, sorted by position so the output reads top to bottom.
    pub fn lines(&self) -> Vec<String> {
        let mut diags = self.diagnostics.clone();
        diags.sort_by_key(|d| d.span.start);
        diags.dedup();
        diags
            .iter()
            .map(|d| {
                let (line, col) = line_col(&self.source, d.span.start);
                // A message may quote the plan's values: one line, controls shown.
                let message = crate::text::neutral::line(&d.message);
                format!("{}:{line}:{col}: {message}", self.file)
            })
            .collect()
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let mut start = offset;
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    let before = &source[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The closest candidate to a misspelt name, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Case-blind so `get` finds `GET`; a third of the length, rounded up, so
    // `retry` still finds `retries`.
    let given = given.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&given, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len().div_ceil(3)) && *d < c.len().max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ", did you mean `x`?" or nothing.
pub fn suggestion<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(given, candidates) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        // after "bé " the byte offset is 10 but the column is 4
        assert_eq!(line_col(src, 10), (2, 4));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(did_you_mean("comand", ["command", "cwd"]), Some("command"));
        assert_eq!(did_you_mean("zzzzzz", ["command", "cwd"]), None);
        assert_eq!(did_you_mean("prd", ["dev", "prod"]), Some("prod"));
        assert_eq!(
            did_you_mean("retry", ["retries", "rollout"]),
            Some("retries")
        );
        assert_eq!(did_you_mean("get", ["GET", "HEAD", "POST"]), Some("GET"));
        assert_eq!(did_you_mean("deploy", ["publish", "restart"]), None);
        assert_eq!(did_you_mean("notify", ["release", "stages", "gates"]), None);
    }
}
