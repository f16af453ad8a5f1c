//! Parser for the Prometheus text exposition format (the `text/plain; version=0.0.4`
//! body of a `/metrics` endpoint).
//!
//! Hand-written: a release gate that silently loses the series it judges is worse
//! than one that stops and says "line 12, column 7: ...", and the crates for the
//! format either skip what they cannot read without a word (`prometheus-parse`),
//! are LGPL-3.0 (`openmetrics-parser`), or are an early release on old parser
//! versions (`prom_text_format_parser`); see docs/ARCHITECTURE.md. So every
//! malformed line is an error with its position, and nothing here panics, whatever
//! the input.
//!
//! What is accepted:
//! - `# HELP name text` and `# TYPE name type` (type one of counter, gauge, histogram,
//!   summary, untyped); every other comment, `# EOF` included, is ignored;
//! - samples `name[{label="value",...}] value [timestamp]`, with an empty or absent
//!   label set, a trailing comma, blanks (spaces, tabs) between tokens, the escapes
//!   `\\`, `\"` and `\n` in label values, values such as `1`, `-2.5e-3`, `NaN`,
//!   `+Inf`, `-Inf` and `Inf`, and an optional integer timestamp in milliseconds
//!   (checked, then dropped: a scrape is judged at the time it was taken);
//! - histogram families own `<name>_bucket` (with a numeric `le` label), `<name>_sum`
//!   and `<name>_count`; summary families own `<name>` (with a numeric `quantile`
//!   label), `<name>_sum` and `<name>_count`.
//!
//! Lines end with `\n`; a `\r` before it is tolerated.

use std::collections::BTreeMap;
use std::fmt;

/// The type a `# TYPE` line gives a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "counter" => Some(Self::Counter),
            "gauge" => Some(Self::Gauge),
            "histogram" => Some(Self::Histogram),
            "summary" => Some(Self::Summary),
            "untyped" => Some(Self::Untyped),
            _ => None,
        }
    }

    /// The keyword used for this type on a `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Untyped => "untyped",
        }
    }

    /// Suffixes of sample names that belong to a family of this type, besides the
    /// family name itself.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Histogram => &["_bucket", "_sum", "_count"],
            Self::Summary => &["_sum", "_count"],
            Self::Counter | Self::Gauge | Self::Untyped => &[],
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One sample line: a sample name (e.g. `requests_bucket`), its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// Sorted by label name; names are unique.
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Everything one scrape said, in the order it said it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub series: Vec<Series>,
    /// The families that had a `# TYPE` line, by family name (a histogram's family
    /// is `x` for samples `x_bucket`, `x_sum`, `x_count`).
    pub types: BTreeMap<String, MetricType>,
}

/// Why a body is not a valid exposition, and where (1-based line and column, the
/// column counted in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole exposition body; the first malformed line ends the parse.
/// An empty body is an empty exposition.
pub fn parse(text: &str) -> Result<Exposition, ParseError> {
    let mut parser = Parser::default();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let mut cur = Cursor {
            text: line,
            pos: 0,
            line: index + 1,
        };
        cur.skip_blanks();
        match cur.peek() {
            None => {}
            Some('#') => parser.comment_line(&mut cur)?,
            Some(_) => parser.sample_line(&mut cur)?,
        }
    }
    Ok(parser.out)
}

/// A label as written, with the byte offset of its value's opening quote so that
/// checks made after the whole line was read can still point at it.
struct Label {
    name: String,
    value: String,
    pos: usize,
}

#[derive(Default)]
struct Parser {
    out: Exposition,
    /// Family name -> line of its `# TYPE`.
    type_lines: BTreeMap<String, usize>,
    /// Sample name -> the first line it appeared on.
    sample_lines: BTreeMap<String, usize>,
}

impl Parser {
    fn comment_line(&mut self, cur: &mut Cursor<'_>) -> Result<(), ParseError> {
        cur.bump(); // '#'
        cur.skip_blanks();
        match cur.word() {
            "HELP" => self.help_line(cur),
            "TYPE" => self.type_line(cur),
            _ => Ok(()), // any other comment, `# EOF` included
        }
    }

    fn help_line(&mut self, cur: &mut Cursor<'_>) -> Result<(), ParseError> {
        if !cur.skip_blanks() || cur.at_end() {
            return Err(cur.error_at(cur.pos, "HELP line without a metric name"));
        }
        cur.metric_name("metric name in HELP line")?;
        // The docstring is free text; it is not kept.
        Ok(())
    }

    fn type_line(&mut self, cur: &mut Cursor<'_>) -> Result<(), ParseError> {
        if !cur.skip_blanks() || cur.at_end() {
            return Err(cur.error_at(cur.pos, "TYPE line without a metric name"));
        }
        let name_pos = cur.pos;
        let name = cur.metric_name("metric name in TYPE line")?;
        cur.skip_blanks();
        let type_pos = cur.pos;
        let word = cur.word();
        if word.is_empty() {
            return Err(cur.error_at(type_pos, format!("TYPE line for \"{name}\" has no type")));
        }
        let Some(kind) = MetricType::from_keyword(word) else {
            return Err(cur.error_at(
                type_pos,
                format!(
                    "unknown metric type \"{word}\" for \"{name}\"; expected counter, gauge, \
                     histogram, summary or untyped"
                ),
            ));
        };
        cur.skip_blanks();
        if !cur.at_end() {
            return Err(cur.error_at(
                cur.pos,
                format!("unexpected \"{}\" after the metric type", cur.rest()),
            ));
        }
        if let Some(first) = self.type_lines.get(name) {
            return Err(cur.error_at(
                name_pos,
                format!("duplicate TYPE line for \"{name}\" (first TYPE on line {first})"),
            ));
        }
        let owned = std::iter::once(name.to_string()).chain(
            kind.suffixes()
                .iter()
                .map(|suffix| format!("{name}{suffix}")),
        );
        for sample in owned {
            // A sample name with a TYPE of its own is another family, not this one's.
            if sample != name && self.type_lines.contains_key(&sample) {
                continue;
            }
            if let Some(line) = self.sample_lines.get(&sample) {
                return Err(cur.error_at(
                    name_pos,
                    format!(
                        "TYPE line for \"{name}\" comes after its samples (\"{sample}\" on line \
                         {line}); TYPE must precede the family's first sample"
                    ),
                ));
            }
        }
        self.type_lines.insert(name.to_string(), cur.line);
        self.out.types.insert(name.to_string(), kind);
        Ok(())
    }

    fn sample_line(&mut self, cur: &mut Cursor<'_>) -> Result<(), ParseError> {
        let name_pos = cur.pos;
        let name = cur.metric_name("metric name")?;
        let after_name = cur.skip_blanks();
        let mut labels = Vec::new();
        let had_labels = cur.peek() == Some('{');
        if had_labels {
            labels = label_set(cur)?;
        }
        let blank = cur.skip_blanks() || (after_name && !had_labels);
        if cur.at_end() {
            return Err(cur.error_at(cur.pos, format!("missing value for sample \"{name}\"")));
        }
        if !blank {
            // Only reachable after a label set: a name always ends at a blank or `{`.
            return Err(cur.error_at(
                cur.pos,
                format!(
                    "expected a space before the value, found {}",
                    describe(cur.peek())
                ),
            ));
        }
        let value_pos = cur.pos;
        let value_text = cur.word();
        let Some(value) = parse_float(value_text) else {
            return Err(cur.error_at(
                value_pos,
                format!("invalid value \"{value_text}\"; expected a number, NaN, +Inf or -Inf"),
            ));
        };
        cur.skip_blanks();
        if !cur.at_end() {
            let ts_pos = cur.pos;
            let ts_text = cur.word();
            if ts_text.parse::<i64>().is_err() {
                return Err(cur.error_at(
                    ts_pos,
                    format!(
                        "invalid timestamp \"{ts_text}\"; expected integer milliseconds since \
                         the epoch"
                    ),
                ));
            }
            cur.skip_blanks();
            if !cur.at_end() {
                return Err(cur.error_at(
                    cur.pos,
                    format!("unexpected \"{}\" after the timestamp", cur.rest()),
                ));
            }
        }
        self.check_family_labels(cur, name, name_pos, &labels)?;
        self.sample_lines
            .entry(name.to_string())
            .or_insert(cur.line);
        let mut labels: Vec<(String, String)> =
            labels.into_iter().map(|l| (l.name, l.value)).collect();
        labels.sort();
        self.out.series.push(Series {
            name: name.to_string(),
            labels,
            value,
        });
        Ok(())
    }

    /// Histogram buckets need a numeric `le`, summary quantiles a numeric `quantile`.
    fn check_family_labels(
        &self,
        cur: &Cursor<'_>,
        name: &str,
        name_pos: usize,
        labels: &[Label],
    ) -> Result<(), ParseError> {
        let (required, what) = match self.family_of(name) {
            Some((family, MetricType::Histogram)) if name.len() > family.len() => {
                if !name.ends_with("_bucket") {
                    return Ok(());
                }
                ("le", "histogram bucket")
            }
            Some((family, MetricType::Summary)) if name.len() == family.len() => {
                ("quantile", "summary sample")
            }
            _ => return Ok(()),
        };
        let Some(label) = labels.iter().find(|l| l.name == required) else {
            return Err(cur.error_at(
                name_pos,
                format!("{what} \"{name}\" has no \"{required}\" label"),
            ));
        };
        if parse_float(&label.value).is_none() {
            return Err(cur.error_at(
                label.pos,
                format!(
                    "invalid \"{required}\" value \"{}\" on {what} \"{name}\"; expected a number",
                    label.value.escape_default()
                ),
            ));
        }
        Ok(())
    }

    /// The typed family a sample name belongs to, if any.
    fn family_of<'n>(&self, name: &'n str) -> Option<(&'n str, MetricType)> {
        if let Some(kind) = self.out.types.get(name) {
            return Some((name, *kind));
        }
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = name.strip_suffix(suffix)?;
            let kind = *self.out.types.get(base)?;
            kind.suffixes().contains(suffix).then_some((base, kind))
        })
    }
}

/// Reads `{name="value",...}` starting at the `{`.
fn label_set(cur: &mut Cursor<'_>) -> Result<Vec<Label>, ParseError> {
    let open = cur.pos;
    cur.bump(); // '{'
    let mut labels: Vec<Label> = Vec::new();
    loop {
        cur.skip_blanks();
        match cur.peek() {
            Some('}') => {
                cur.bump();
                return Ok(labels);
            }
            None => return Err(cur.error_at(open, "unterminated label set: missing '}'")),
            Some(_) => {}
        }
        let name_pos = cur.pos;
        let name = cur.label_name()?;
        if labels.iter().any(|l| l.name == name) {
            return Err(cur.error_at(name_pos, format!("duplicate label name \"{name}\"")));
        }
        cur.skip_blanks();
        if !cur.eat('=') {
            return Err(cur.error_at(
                cur.pos,
                format!(
                    "expected '=' after label name \"{name}\", found {}",
                    describe(cur.peek())
                ),
            ));
        }
        cur.skip_blanks();
        let quote = cur.pos;
        if !cur.eat('"') {
            return Err(cur.error_at(
                quote,
                format!(
                    "expected '\"' to start the value of label \"{name}\", found {}",
                    describe(cur.peek())
                ),
            ));
        }
        let value = label_value(cur, quote, name)?;
        labels.push(Label {
            name: name.to_string(),
            value,
            pos: quote,
        });
        cur.skip_blanks();
        match cur.peek() {
            Some(',') => {
                cur.bump();
            }
            Some('}') => {}
            other => {
                return Err(cur.error_at(
                    cur.pos,
                    format!(
                        "expected ',' or '}}' after the value of label \"{name}\", found {}",
                        describe(other)
                    ),
                ));
            }
        }
    }
}

/// Reads a label value after its opening quote, resolving escapes.
fn label_value(cur: &mut Cursor<'_>, quote: usize, label: &str) -> Result<String, ParseError> {
    let mut value = String::new();
    loop {
        let at = cur.pos;
        match cur.bump() {
            None => {
                return Err(cur.error_at(
                    quote,
                    format!("unterminated value of label \"{label}\": missing closing '\"'"),
                ));
            }
            Some('"') => return Ok(value),
            Some('\\') => match cur.bump() {
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                Some('n') => value.push('\n'),
                Some(other) => {
                    return Err(cur.error_at(
                        at,
                        format!(
                            "invalid escape \"\\{}\" in the value of label \"{label}\"; only \
                             \\\\, \\\" and \\n are allowed",
                            other.escape_default()
                        ),
                    ));
                }
                None => {
                    return Err(cur.error_at(
                        quote,
                        format!("unterminated value of label \"{label}\": missing closing '\"'"),
                    ));
                }
            },
            Some(c) => value.push(c),
        }
    }
}

/// A sample value or `le`/`quantile` bound: a decimal float, `NaN`, `Inf`, `+Inf`
/// or `-Inf` (case-insensitive, as Prometheus's Go parser takes them).
fn parse_float(text: &str) -> Option<f64> {
    // Rust also reads "infinity"; Go does too, so that is no loss. Rust does not
    // read hex floats, which no real exporter writes.
    if text.is_empty() || text.contains('_') {
        return None;
    }
    text.parse::<f64>().ok()
}

/// How an offending character (or the end of the line) is named in a message.
fn describe(c: Option<char>) -> String {
    match c {
        None => "end of line".to_string(),
        Some(c) => format!("{c:?}"),
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A position in one line. Positions are byte offsets that always sit on character
/// boundaries, because the cursor only ever moves by whole characters.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.text.get(self.pos..)?.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.pos += want.len_utf8();
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.peek().is_none()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// Skips spaces and tabs; says whether there were any.
    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
        self.pos > start
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// Everything up to the next blank.
    fn word(&mut self) -> &'a str {
        self.take_while(|c| !is_blank(c))
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, which must end at a blank, `{` or the line's end.
    fn metric_name(&mut self, what: &str) -> Result<&'a str, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
            other => {
                return Err(self.error_at(
                    start,
                    format!(
                        "invalid {what}: expected a letter, '_' or ':', found {}",
                        describe(other)
                    ),
                ));
            }
        }
        let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        match self.peek() {
            None | Some('{') => Ok(name),
            Some(c) if is_blank(c) => Ok(name),
            Some(c) => Err(self.error_at(
                self.pos,
                format!("invalid {what}: unexpected {c:?} after \"{name}\""),
            )),
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, which must end at a blank or `=`.
    fn label_name(&mut self) -> Result<&'a str, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            other => {
                return Err(self.error_at(
                    start,
                    format!(
                        "invalid label name: expected a letter or '_', found {}",
                        describe(other)
                    ),
                ));
            }
        }
        let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        match self.peek() {
            Some(c) if c != '=' && !is_blank(c) => Err(self.error_at(
                self.pos,
                format!("invalid label name: unexpected {c:?} after \"{name}\""),
            )),
            _ => Ok(name),
        }
    }

    fn error_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        let col = self
            .text
            .get(..pos)
            .map_or(pos, |before| before.chars().count())
            + 1;
        ParseError {
            line: self.line,
            col,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REALISTIC: &str = r#"# HELP demo_requests_total Requests served, by status.
# TYPE demo_requests_total counter
demo_requests_total{route="/api",status="200"} 1027
demo_requests_total{status="500",route="/api",} 3 1712345678000
demo_requests_total{route="/",status="200"} 14
# HELP demo_request_duration_seconds Request latency.
# TYPE demo_request_duration_seconds histogram
demo_request_duration_seconds_bucket{le="0.05"} 24054
demo_request_duration_seconds_bucket{le="0.1"} 33444
demo_request_duration_seconds_bucket{le="0.2"} 100392
demo_request_duration_seconds_bucket{le="+Inf"} 144320
demo_request_duration_seconds_sum 53423
demo_request_duration_seconds_count 144320
# TYPE demo_rpc_seconds summary
demo_rpc_seconds{quantile="0.5"} 0.012
demo_rpc_seconds{quantile="0.99"} NaN
demo_rpc_seconds_sum 1.5e+3
demo_rpc_seconds_count 120
# TYPE demo_temperature gauge
demo_temperature -2.5e-3
demo_queue_depth{} +Inf
demo_min	-Inf
demo_label_escapes{path="C:\\dir\"x\"\nnext"} Inf
# EOF
"#;

    fn err(text: &str) -> ParseError {
        match parse(text) {
            Ok(exposition) => panic!("expected an error, got {exposition:?}"),
            Err(e) => e,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn realistic_exposition_parses() {
        let exp = parse(REALISTIC).expect("valid exposition");
        assert_eq!(exp.series.len(), 17);
        assert_eq!(
            exp.types.get("demo_requests_total"),
            Some(&MetricType::Counter)
        );
        assert_eq!(
            exp.types.get("demo_request_duration_seconds"),
            Some(&MetricType::Histogram)
        );
        assert_eq!(
            exp.types.get("demo_rpc_seconds"),
            Some(&MetricType::Summary)
        );
        assert_eq!(exp.types.get("demo_temperature"), Some(&MetricType::Gauge));
        assert_eq!(exp.types.len(), 4);

        // Labels come out sorted by name, whatever the order written; trailing comma ok.
        let second = &exp.series[1];
        assert_eq!(second.name, "demo_requests_total");
        assert_eq!(
            second.labels,
            labels(&[("route", "/api"), ("status", "500")])
        );
        assert_eq!(second.value, 3.0);

        let bucket = &exp.series[6];
        assert_eq!(bucket.name, "demo_request_duration_seconds_bucket");
        assert_eq!(bucket.labels, labels(&[("le", "+Inf")]));
        assert_eq!(bucket.value, 144320.0);

        let by_name = |name: &str| {
            exp.series
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        assert_eq!(by_name("demo_rpc_seconds_sum").value, 1500.0);
        assert_eq!(by_name("demo_temperature").value, -0.0025);
        assert!(by_name("demo_queue_depth").labels.is_empty());
        assert_eq!(by_name("demo_queue_depth").value, f64::INFINITY);
        assert_eq!(by_name("demo_min").value, f64::NEG_INFINITY);
        let escaped = by_name("demo_label_escapes");
        assert_eq!(escaped.labels, labels(&[("path", "C:\\dir\"x\"\nnext")]));
        assert_eq!(escaped.value, f64::INFINITY);
        assert!(exp.series[10].value.is_nan());
    }

    #[test]
    fn empty_and_comment_only_input_is_empty() {
        assert_eq!(parse("").expect("empty"), Exposition::default());
        assert_eq!(parse("\n\n  \n").expect("blank"), Exposition::default());
        assert_eq!(
            parse("# just a comment\n#\n# EOF\n").expect("comments"),
            Exposition::default()
        );
    }

    #[test]
    fn crlf_and_untyped_samples_parse() {
        let exp = parse("a 1\r\nb{x=\"y\"} 2 -5\r\n").expect("crlf");
        assert_eq!(exp.series.len(), 2);
        assert_eq!(exp.series[1].value, 2.0);
        assert!(exp.types.is_empty());
    }

    #[test]
    fn error_display_has_line_and_column() {
        let e = err("ok 1\n0bad 1\n");
        assert_eq!(
            e.to_string(),
            "line 2, column 1: invalid metric name: expected a letter, '_' or ':', found '0'"
        );
    }

    #[test]
    fn error_invalid_metric_name_character() {
        let e = err("foo-bar 1");
        assert_eq!((e.line, e.col), (1, 4));
        assert_eq!(
            e.message,
            "invalid metric name: unexpected '-' after \"foo\""
        );
    }

    #[test]
    fn error_invalid_label_name() {
        let e = err("foo{1a=\"x\"} 1");
        assert_eq!((e.line, e.col), (1, 5));
        assert_eq!(
            e.message,
            "invalid label name: expected a letter or '_', found '1'"
        );
        let e = err("foo{a-b=\"x\"} 1");
        assert_eq!((e.line, e.col), (1, 6));
        assert_eq!(e.message, "invalid label name: unexpected '-' after \"a\"");
    }

    #[test]
    fn error_unterminated_label_value() {
        let e = err("foo{a=\"x} 1");
        assert_eq!((e.line, e.col), (1, 7));
        assert_eq!(
            e.message,
            "unterminated value of label \"a\": missing closing '\"'"
        );
    }

    #[test]
    fn error_unterminated_label_set() {
        let e = err("foo{a=\"x\"");
        assert_eq!((e.line, e.col), (1, 10));
        assert_eq!(
            e.message,
            "expected ',' or '}' after the value of label \"a\", found end of line"
        );
        let e = err("foo{a=\"x\",");
        assert_eq!((e.line, e.col), (1, 4));
        assert_eq!(e.message, "unterminated label set: missing '}'");
    }

    #[test]
    fn error_bad_escape() {
        let e = err(r#"foo{a="x\ty"} 1"#);
        assert_eq!((e.line, e.col), (1, 9));
        assert_eq!(
            e.message,
            r#"invalid escape "\t" in the value of label "a"; only \\, \" and \n are allowed"#
        );
    }

    #[test]
    fn error_missing_value() {
        let e = err("foo");
        assert_eq!((e.line, e.col), (1, 4));
        assert_eq!(e.message, "missing value for sample \"foo\"");
        let e = err("foo{a=\"b\"}   ");
        assert_eq!((e.line, e.col), (1, 14));
        assert_eq!(e.message, "missing value for sample \"foo\"");
    }

    #[test]
    fn error_unparsable_value() {
        let e = err("foo 12abc");
        assert_eq!((e.line, e.col), (1, 5));
        assert_eq!(
            e.message,
            "invalid value \"12abc\"; expected a number, NaN, +Inf or -Inf"
        );
        let e = err("foo{a=\"b\"}1");
        assert_eq!((e.line, e.col), (1, 11));
        assert_eq!(e.message, "expected a space before the value, found '1'");
    }

    #[test]
    fn error_bad_timestamp() {
        let e = err("foo 1 12.5");
        assert_eq!((e.line, e.col), (1, 7));
        assert_eq!(
            e.message,
            "invalid timestamp \"12.5\"; expected integer milliseconds since the epoch"
        );
    }

    #[test]
    fn error_junk_after_timestamp() {
        let e = err("foo 1 1000 extra stuff");
        assert_eq!((e.line, e.col), (1, 12));
        assert_eq!(e.message, "unexpected \"extra stuff\" after the timestamp");
    }

    #[test]
    fn error_duplicate_type() {
        let e = err("# TYPE foo counter\n# TYPE foo gauge\n");
        assert_eq!((e.line, e.col), (2, 8));
        assert_eq!(
            e.message,
            "duplicate TYPE line for \"foo\" (first TYPE on line 1)"
        );
    }

    #[test]
    fn error_type_after_samples() {
        let e = err("foo 1\n# TYPE foo counter\n");
        assert_eq!((e.line, e.col), (2, 8));
        assert_eq!(
            e.message,
            "TYPE line for \"foo\" comes after its samples (\"foo\" on line 1); TYPE must \
             precede the family's first sample"
        );
        let e = err("h_bucket{le=\"1\"} 1\n# TYPE h histogram\n");
        assert!(e.message.contains("(\"h_bucket\" on line 1)"), "{e}");
        // A gauge named like a histogram suffix is a family of its own.
        parse("# TYPE g_count gauge\ng_count 1\n# TYPE g histogram\n").expect("separate family");
    }

    #[test]
    fn error_unknown_type() {
        let e = err("# TYPE foo histgram\n");
        assert_eq!((e.line, e.col), (1, 12));
        assert_eq!(
            e.message,
            "unknown metric type \"histgram\" for \"foo\"; expected counter, gauge, histogram, \
             summary or untyped"
        );
        let e = err("# TYPE foo\n");
        assert_eq!(e.message, "TYPE line for \"foo\" has no type");
        let e = err("# TYPE 9foo counter\n");
        assert_eq!(
            e.message,
            "invalid metric name in TYPE line: expected a letter, '_' or ':', found '9'"
        );
    }

    #[test]
    fn error_bucket_without_le() {
        let e = err("# TYPE h histogram\nh_bucket{x=\"1\"} 3\n");
        assert_eq!((e.line, e.col), (2, 1));
        assert_eq!(
            e.message,
            "histogram bucket \"h_bucket\" has no \"le\" label"
        );
        let e = err("# TYPE h histogram\nh_bucket{le=\"fast\"} 3\n");
        assert_eq!((e.line, e.col), (2, 13));
        assert_eq!(
            e.message,
            "invalid \"le\" value \"fast\" on histogram bucket \"h_bucket\"; expected a number"
        );
        // Untyped `_bucket` samples are nobody's histogram: no `le` needed.
        parse("u_bucket 3\n").expect("untyped bucket");
    }

    #[test]
    fn error_summary_without_quantile() {
        let e = err("# TYPE s summary\ns 3\n");
        assert_eq!(e.message, "summary sample \"s\" has no \"quantile\" label");
        parse("# TYPE s summary\ns_sum 3\ns_count 1\n").expect("sum and count need none");
    }

    #[test]
    fn error_duplicate_label_name() {
        let e = err("foo{a=\"1\",b=\"2\",a=\"3\"} 1");
        assert_eq!((e.line, e.col), (1, 17));
        assert_eq!(e.message, "duplicate label name \"a\"");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = err("foo{a=\"ünï\",b=\"x\\q\"} 1");
        assert_eq!((e.line, e.col), (1, 17));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "\u{0}",
            "{",
            "}",
            "#",
            "# TYPE",
            "# HELP",
            "# TYPE ü counter",
            "föö 1",
            "a{ü=\"1\"} 1",
            "a{a=\"\\",
            "a 1e999999",
            "a 99999999999999999999999999 99999999999999999999999",
            "a\u{feff} 1",
            "\u{1F600}",
        ] {
            let _ = parse(text);
        }
        assert_eq!(
            parse("a 1e999").expect("huge").series[0].value,
            f64::INFINITY
        );
    }

    /// Thousands of deterministic random edits of a valid exposition: `parse` must
    /// return (Ok or Err) every time, never panic.
    #[test]
    fn random_mutations_never_panic() {
        let mut rng = fastrand::Rng::with_seed(0x5EED_51A7E);
        let interesting = b"{}=\",\\#\n\r\t _:eE+-.0123456789aInfNa\xc3\xa9\xff\x00";
        let base = REALISTIC.as_bytes();
        let mut accepted = 0;
        for _ in 0..4000 {
            let mut bytes = base.to_vec();
            for _ in 0..rng.usize(1..=6) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.usize(..bytes.len());
                match rng.u8(..5) {
                    0 => bytes[at] = interesting[rng.usize(..interesting.len())],
                    1 => bytes[at] = rng.u8(..),
                    2 => bytes.insert(at, interesting[rng.usize(..interesting.len())]),
                    3 => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if parse(&text).is_ok() {
                accepted += 1;
            }
        }
        // Some edits (in help text, in label values) keep the body valid.
        assert!(accepted > 0);
    }
}
