//! Evidence a gate can require before promotion: test results (JUnit XML),
//! line coverage (lcov or Cobertura XML), security findings (SARIF) and a
//! free-form check command.
//!
//! Pure and synchronous: [`check_file`] reads one report and judges it against
//! what the plan asks ([`FileRule`]). Report files are untrusted input, so a
//! file is read only if it is a regular file of at most [`MAX_FILE_BYTES`],
//! every parser is linear in its input and never panics, XML nesting is
//! bounded and DTD entities are refused, never expanded. Whatever goes wrong
//! becomes a failed [`Judged`] whose summary names the problem; the engine
//! adds the file's name.

pub mod coverage;
pub mod junit;
pub mod sarif;
mod xml;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Larger reports are refused rather than read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Blocking findings kept per evidence item (the rest are counted).
pub const MAX_FINDINGS: usize = 20;
/// Longest text kept from a report for one field of a finding.
const MAX_TEXT: usize = 240;

/// What an evidence gate asks for, as the plan says it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spec {
    pub junit: Option<JunitRule>,
    pub coverage: Option<CoverageRule>,
    pub sarif: Option<SarifRule>,
    /// A shell command that must exit 0, run in the plan's directory.
    pub command: Option<String>,
}

impl Spec {
    /// The report files to judge, in the order they are checked.
    pub fn files(&self) -> Vec<FileRule> {
        let mut out = Vec::new();
        if let Some(j) = &self.junit {
            out.push(FileRule::Junit(j.clone()));
        }
        if let Some(c) = &self.coverage {
            out.push(FileRule::Coverage(c.clone()));
        }
        if let Some(s) = &self.sarif {
            out.push(FileRule::Sarif(s.clone()));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JunitRule {
    /// Relative to the plan's directory; may hold `${...}` placeholders.
    pub path: String,
    /// Failed plus errored test cases tolerated.
    pub max_failures: u64,
    /// Test cases that must have run (skipped ones do not count).
    pub min_tests: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageFormat {
    Lcov,
    Cobertura,
}

impl CoverageFormat {
    pub const NAMES: [&'static str; 2] = ["lcov", "cobertura"];

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "lcov" => Some(Self::Lcov),
            "cobertura" => Some(Self::Cobertura),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRule {
    pub path: String,
    /// `None`: from the file's extension, else from its first character.
    pub format: Option<CoverageFormat>,
    /// Lowest line coverage that passes, in percent.
    pub min_line: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SarifRule {
    pub path: String,
    /// Findings at this level or above block, unless their rule is allowed.
    pub fail_at: Level,
    /// Rule ids whose findings never block.
    pub allow: Vec<String>,
}

/// SARIF's result levels that count, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub const NAMES: [&'static str; 3] = ["note", "warning", "error"];

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "note" => Some(Self::Note),
            "warning" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// One report file and how to judge it.
#[derive(Debug, Clone, PartialEq)]
pub enum FileRule {
    Junit(JunitRule),
    Coverage(CoverageRule),
    Sarif(SarifRule),
}

impl FileRule {
    pub fn kind(&self) -> EvidenceKind {
        match self {
            FileRule::Junit(_) => EvidenceKind::Junit,
            FileRule::Coverage(_) => EvidenceKind::Coverage,
            FileRule::Sarif(_) => EvidenceKind::Sarif,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            FileRule::Junit(r) => &r.path,
            FileRule::Coverage(r) => &r.path,
            FileRule::Sarif(r) => &r.path,
        }
    }
}

/// What kind of evidence a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Junit,
    Coverage,
    Sarif,
    Command,
}

impl EvidenceKind {
    pub fn word(self) -> &'static str {
        match self {
            EvidenceKind::Junit => "junit",
            EvidenceKind::Coverage => "coverage",
            EvidenceKind::Sarif => "sarif",
            EvidenceKind::Command => "command",
        }
    }

    /// The summary with what it is about, short: "junit: 212 tests, …",
    /// "line coverage 83.4% ≥ 80% (…)" (which says so already).
    pub fn headline(self, summary: &str) -> String {
        match self {
            EvidenceKind::Coverage if summary.starts_with("line coverage") => summary.to_string(),
            _ => format!("{}: {summary}", self.word()),
        }
    }
}

/// Something in a report that blocked the gate: a failing test, a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The test ("Suite.test_name") or the rule id ("RULE-9").
    pub id: String,
    /// "src/a.rs:12", when the report says where.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// The failure or finding's message, first line, shortened.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Finding {
    pub fn new(id: &str, location: &str, detail: &str) -> Self {
        Self {
            id: clip(id),
            location: clip(location),
            detail: clip(detail),
        }
    }

    /// "RULE-9 (src/a.rs:12)" or "RULE-9".
    pub fn short(&self) -> String {
        if self.location.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.id, self.location)
        }
    }
}

/// One evidence item judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub ok: bool,
    /// One line: "212 tests, 0 failures, 0 errors", or what is wrong with the file.
    pub summary: String,
    /// What blocked, at most [`MAX_FINDINGS`].
    pub findings: Vec<Finding>,
    /// Blocking findings beyond those listed.
    pub more: u64,
}

impl Judged {
    pub fn fail(summary: impl Into<String>) -> Self {
        Self {
            ok: false,
            summary: summary.into(),
            findings: Vec::new(),
            more: 0,
        }
    }
}

/// Reads `full` (the plan's path resolved) and judges it.
pub fn check_file(full: &Path, rule: &FileRule) -> Judged {
    let bytes = match read_capped(full, MAX_FILE_BYTES) {
        Ok(b) => b,
        Err(e) => return Judged::fail(e),
    };
    match rule {
        FileRule::Junit(r) => junit::judge(&bytes, r),
        FileRule::Coverage(r) => coverage::judge(&bytes, r),
        FileRule::Sarif(r) => sarif::judge(&bytes, r),
    }
}

/// The file's bytes, or why not: missing, not a regular file, too large, empty.
/// Never opens a FIFO or device (which could block or never end).
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("missing: no file at {}", path.display()));
        }
        Err(e) => return Err(format!("cannot read {}: {}", path.display(), io_reason(&e))),
    };
    if meta.is_dir() {
        return Err(format!(
            "{} is a directory, not a report file",
            path.display()
        ));
    }
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > cap {
        return Err(format!(
            "too large: the file is {}, more than the {} Slate reads",
            bytes_text(meta.len()),
            bytes_text(cap)
        ));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read {}: {}", path.display(), io_reason(&e)))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {}", path.display(), io_reason(&e)))?;
    // It grew since it was measured.
    if bytes.len() as u64 > cap {
        return Err(format!(
            "too large: the file grew past the {} Slate reads",
            bytes_text(cap)
        ));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("empty: the file has no content".into());
    }
    Ok(bytes)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// "64 MiB", "70.5 MiB", "512 KiB", "12 bytes".
pub fn bytes_text(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB {
        let m = n as f64 / MIB as f64;
        if n.is_multiple_of(MIB) {
            format!("{} MiB", n / MIB)
        } else {
            format!("{m:.1} MiB")
        }
    } else if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// The first line of a report's text, shortened, with control characters dropped.
pub(crate) fn clip(s: &str) -> String {
    let line = s.trim().lines().next().unwrap_or("").trim();
    let mut out: String = line
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect();
    if line.chars().filter(|c| !c.is_control()).count() > MAX_TEXT {
        out.push('…');
    }
    out
}

/// Text as UTF-8, a leading byte-order mark dropped.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            "not UTF-8: the file is UTF-16; write the report as UTF-8".to_string()
        } else {
            format!("not UTF-8 text: invalid byte at line {line}")
        }
    })
}

/// "1 failure", "2 failures".
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "a, b, c" for the first `n` items, then ", …and 4 more".
pub(crate) fn list_some(items: &[String], total: u64, n: usize) -> String {
    let shown: Vec<&str> = items.iter().take(n).map(String::as_str).collect();
    let mut s = shown.join(", ");
    let rest = total.saturating_sub(shown.len() as u64);
    if rest > 0 {
        s.push_str(&format!(", …and {rest} more"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_refuses_missing_directories_fifos_huge_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_capped(&dir.path().join("nope.xml"), 100).unwrap_err();
        assert!(missing.starts_with("missing: no file at "), "{missing}");
        assert!(missing.ends_with("nope.xml"), "{missing}");

        let d = read_capped(dir.path(), 100).unwrap_err();
        assert!(d.contains("is a directory"), "{d}");

        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let f = read_capped(&fifo, 100).unwrap_err();
        assert!(f.contains("is not a regular file"), "{f}");

        let big = dir.path().join("big.xml");
        std::fs::write(&big, vec![b'x'; 101]).unwrap();
        let b = read_capped(&big, 100).unwrap_err();
        assert!(b.starts_with("too large: "), "{b}");
        assert_eq!(
            b,
            "too large: the file is 101 bytes, more than the 100 bytes Slate reads"
        );

        // The real cap, on a sparse file: nothing is read.
        let huge = dir.path().join("huge.sarif");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let h = read_capped(&huge, MAX_FILE_BYTES).unwrap_err();
        assert_eq!(
            h,
            "too large: the file is 64.0 MiB, more than the 64 MiB Slate reads"
        );

        let empty = dir.path().join("empty.info");
        std::fs::write(&empty, "  \n").unwrap();
        assert_eq!(
            read_capped(&empty, 100).unwrap_err(),
            "empty: the file has no content"
        );

        let ok = dir.path().join("ok");
        std::fs::write(&ok, "abc").unwrap();
        assert_eq!(read_capped(&ok, 3).unwrap(), b"abc");
    }

    #[test]
    fn text_helpers_clip_and_count() {
        assert_eq!(clip("  first line\nsecond"), "first line");
        assert_eq!(clip("a\u{1b}[31mb"), "a[31mb");
        let long = "x".repeat(500);
        assert_eq!(clip(&long).chars().count(), MAX_TEXT + 1);
        assert_eq!(count(1, "test", "tests"), "1 test");
        assert_eq!(count(0, "test", "tests"), "0 tests");
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(list_some(&items, 3, 5), "a, b, c");
        assert_eq!(list_some(&items, 7, 2), "a, b, …and 5 more");
        assert_eq!(bytes_text(64 * 1024 * 1024), "64 MiB");
        assert_eq!(bytes_text(2048), "2 KiB");
        assert!(utf8(b"\xEF\xBB\xBFok").is_ok());
        assert_eq!(
            utf8(b"a\nb\xFF").unwrap_err(),
            "not UTF-8 text: invalid byte at line 2"
        );
        assert!(utf8(b"\xFF\xFE<\x00").unwrap_err().contains("UTF-16"));
    }
}
