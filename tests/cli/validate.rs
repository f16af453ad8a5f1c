//! `slate validate` against a corpus of broken plans, each paired with the exact
//! stderr a user should see, and a few plans that must pass.
//!
//! Run with `SLATE_BLESS=1` to rewrite the `.expected` files from the actual
//! output — then read every changed line as a user would before committing it.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INVALID_DIR: &str = "tests/fixtures/invalid";
const VALID_DIR: &str = "tests/fixtures/valid";
const MIN_INVALID_FIXTURES: usize = 20;
/// A validate that takes longer than this is a hang, not a slow machine.
const LIMIT: Duration = Duration::from_secs(30);

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn blessing() -> bool {
    std::env::var_os("SLATE_BLESS").is_some_and(|v| v == "1")
}

/// Runs the real binary from the crate root with a private `SLATE_HOME`.
fn slate_validate(plan: &str) -> Outcome {
    let home = tempfile::tempdir().expect("temp SLATE_HOME");
    let mut child = Command::new(env!("CARGO_BIN_EXE_slate"))
        .arg("validate")
        .arg(plan)
        .current_dir(manifest_dir())
        .env("SLATE_HOME", home.path())
        .env_remove("SLATE_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slate");
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for slate") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`slate validate {plan}` did not finish within {LIMIT:?} (hang?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("slate writes UTF-8");
    Outcome {
        code: status.code(),
        stdout: text(out_reader.join().expect("stdout reader")),
        stderr: text(err_reader.join().expect("stderr reader")),
    }
}

/// Files directly in `dir` (relative to the crate root) ending in `.ext`, sorted.
fn files_with_ext(dir: &str, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(manifest_dir().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

/// Internal representations leaking into a user-facing message.
fn debug_leaks(stderr: &str) -> Vec<String> {
    let mut found = Vec::new();
    for needle in [
        "panicked",
        "Spanned",
        "DeValue",
        "DeTable",
        "Error {",
        "Some(",
        "RUST_BACKTRACE",
    ] {
        if stderr.contains(needle) {
            found.push(format!("contains {needle:?}"));
        }
    }
    // A Rust Debug struct reads `Name { field: ...`. TOML examples in messages
    // (`check = { command = "..." }`) are fine: `=` not `:`, and no name before `{`.
    for (i, _) in stderr.match_indices("{ ") {
        let before = stderr[..i].chars().next_back();
        let after = &stderr[i + 2..];
        let field: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let named_struct = before.is_some_and(|c| c.is_ascii_alphanumeric());
        let field_colon = !field.is_empty() && after[field.len()..].starts_with(':');
        if named_struct || field_colon {
            let end = (i + 40).min(stderr.len());
            let end = (end..=stderr.len())
                .find(|&e| stderr.is_char_boundary(e))
                .unwrap_or(stderr.len());
            found.push(format!("debug-dump shape near {:?}", &stderr[i..end]));
        }
    }
    found
}

/// Every line must be `PLAN:LINE:COL: message`, in source order, none repeated.
fn shape_problems(plan: &str, stderr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if stderr.is_empty() {
        problems.push("stderr is empty: a broken plan must report at least one problem".into());
    }
    if !stderr.is_empty() && !stderr.ends_with('\n') {
        problems.push("stderr does not end with a newline".into());
    }
    let prefix = format!("{plan}:");
    let mut prev: Option<(usize, usize)> = None;
    let mut seen = BTreeSet::new();
    for line in stderr.lines() {
        if !seen.insert(line) {
            problems.push(format!("line reported twice: {line}"));
        }
        let Some(rest) = line.strip_prefix(&prefix) else {
            problems.push(format!("line does not start with `{prefix}`: {line}"));
            continue;
        };
        let mut parts = rest.splitn(3, ':');
        let pos = (
            parts.next().and_then(|l| l.parse::<usize>().ok()),
            parts.next().and_then(|c| c.parse::<usize>().ok()),
            parts.next(),
        );
        match pos {
            (Some(l), Some(c), Some(msg))
                if l > 0 && c > 0 && msg.starts_with(' ') && msg.len() > 1 =>
            {
                if prev.is_some_and(|p| p > (l, c)) {
                    problems.push(format!("line out of position order: {line}"));
                }
                prev = Some((l, c));
            }
            _ => problems.push(format!("line is not `{plan}:LINE:COL: message`: {line}")),
        }
    }
    problems
}

#[test]
fn every_invalid_plan_reports_exactly_the_expected_problems() {
    let bless = blessing();
    let mut failures = Vec::new();
    let mut blessed = Vec::new();
    for file in files_with_ext(INVALID_DIR, "toml") {
        let plan = format!("{INVALID_DIR}/{file}");
        let expected_path = manifest_dir().join(format!("{INVALID_DIR}/{}.expected", stem(&file)));
        let out = slate_validate(&plan);

        let mut problems = Vec::new();
        if out.code != Some(2) {
            problems.push(format!("exit code {:?}, expected Some(2)", out.code));
        }
        if !out.stdout.is_empty() {
            problems.push(format!("stdout is not empty:\n{}", out.stdout));
        }
        problems.extend(debug_leaks(&out.stderr));
        problems.extend(shape_problems(&plan, &out.stderr));

        if bless {
            let old = std::fs::read_to_string(&expected_path).ok();
            if old.as_deref() != Some(out.stderr.as_str()) {
                std::fs::write(&expected_path, &out.stderr)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", expected_path.display()));
                blessed.push(file.clone());
            }
        } else {
            match std::fs::read_to_string(&expected_path) {
                Ok(expected) if expected == out.stderr => {}
                Ok(expected) => problems.push(format!(
                    "stderr differs from {} (< expected, > actual):\n{}",
                    expected_path.display(),
                    pretty_assertions::StrComparison::new(&expected, &out.stderr)
                )),
                Err(e) => problems.push(format!(
                    "cannot read {}: {e} (run with SLATE_BLESS=1 to create it)\nactual stderr:\n{}",
                    expected_path.display(),
                    out.stderr
                )),
            }
        }

        if !problems.is_empty() {
            failures.push(format!("── {plan}\n{}", problems.join("\n")));
        }
    }
    if !blessed.is_empty() {
        eprintln!("SLATE_BLESS=1 rewrote: {}", blessed.join(", "));
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_is_big_enough_and_every_plan_has_its_expectation() {
    let plans: BTreeSet<String> = files_with_ext(INVALID_DIR, "toml")
        .iter()
        .map(|f| stem(f).to_string())
        .collect();
    let expected: BTreeSet<String> = files_with_ext(INVALID_DIR, "expected")
        .iter()
        .map(|f| stem(f).to_string())
        .collect();
    assert!(
        plans.len() >= MIN_INVALID_FIXTURES,
        "only {} invalid fixtures in {INVALID_DIR}, want at least {MIN_INVALID_FIXTURES}",
        plans.len()
    );
    if blessing() {
        // The corpus test above creates the missing expectations.
        return;
    }
    let no_expected: Vec<_> = plans.difference(&expected).collect();
    let no_plan: Vec<_> = expected.difference(&plans).collect();
    assert!(
        no_expected.is_empty() && no_plan.is_empty(),
        "unpaired fixtures in {INVALID_DIR}:\n  .toml without .expected: {no_expected:?}\n  .expected without .toml: {no_plan:?}"
    );
}

#[test]
fn every_fixture_starts_with_a_comment_saying_what_it_is() {
    for dir in [INVALID_DIR, VALID_DIR] {
        for file in files_with_ext(dir, "toml") {
            let text = std::fs::read_to_string(manifest_dir().join(dir).join(&file)).unwrap();
            let first = text.lines().next().unwrap_or("");
            assert!(
                first.starts_with("# ") && first.len() > 10,
                "{dir}/{file} must start with a `# ...` line saying what it covers, found {first:?}"
            );
        }
    }
}

#[test]
fn fixture_names_are_numbered() {
    let mut numbers = BTreeSet::new();
    for file in files_with_ext(INVALID_DIR, "toml") {
        let (nn, name) = file.split_once('-').unwrap_or(("", ""));
        assert!(
            nn.len() == 2 && nn.chars().all(|c| c.is_ascii_digit()) && name.len() > ".toml".len(),
            "{INVALID_DIR}/{file}: expected a name like `NN-short-name.toml`"
        );
        assert!(
            numbers.insert(nn.to_string()),
            "{INVALID_DIR}: number {nn} is used twice"
        );
    }
}

fn assert_valid(plan: &str) {
    let out = slate_validate(plan);
    assert_eq!(
        out.code,
        Some(0),
        "`slate validate {plan}` should pass, but stderr was:\n{}",
        out.stderr
    );
    assert_eq!(out.stderr, "", "`slate validate {plan}` wrote to stderr");
    let first = out.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with(&format!("{plan}: ok — ")),
        "`slate validate {plan}` should start its summary with `{plan}: ok — `, got:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(" stages, ") && out.stdout.contains(" gates"),
        "`slate validate {plan}` summary lacks the stage and gate counts:\n{}",
        out.stdout
    );
}

#[test]
fn valid_plans_pass() {
    let plans = files_with_ext(VALID_DIR, "toml");
    assert!(
        plans.len() >= 4,
        "want at least four valid fixtures, found {plans:?}"
    );
    for file in plans {
        assert_valid(&format!("{VALID_DIR}/{file}"));
    }
}

#[test]
fn the_example_plan_validates_if_present() {
    if manifest_dir().join("config.example.toml").exists() {
        assert_valid("config.example.toml");
    }
}

#[test]
fn a_missing_plan_file_is_reported_with_its_name() {
    let plan = "tests/fixtures/no-such-plan.toml";
    assert!(!manifest_dir().join(plan).exists());
    let out = slate_validate(plan);
    assert_eq!(out.code, Some(2), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(&format!("{plan}:")) && out.stderr.contains("cannot read plan"),
        "the message should name the file and say it cannot be read, got:\n{}",
        out.stderr
    );
    assert!(debug_leaks(&out.stderr).is_empty(), "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "one line expected:\n{}",
        out.stderr
    );
}

#[test]
fn the_debug_leak_detector_tells_toml_examples_from_debug_dumps() {
    assert!(debug_leaks("p:1:1: write `check = { command = \"...\" }`\n").is_empty());
    assert!(
        debug_leaks("p:1:1: write `strategy = { kind = \"canary\", steps = [1] }`\n").is_empty()
    );
    assert!(!debug_leaks("p:1:1: Diagnostic { span: 0..1 }\n").is_empty());
    assert!(!debug_leaks("p:1:1: { message: \"x\" }\n").is_empty());
    assert!(!debug_leaks("p:1:1: bad value Some(\"x\")\n").is_empty());
}
