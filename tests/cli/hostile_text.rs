//! The hostile-text corpus. Terminal escapes (OSC 52 clipboard write, OSC 0
//! title, clear screen), BEL, CR, a newline that forges a `✔ released` line,
//! a C1 CSI, a bidi override, invalid UTF-8 and a 100 KB line are put into
//! every text field people or plans supply: release values, names, config,
//! stakeholders, notes, approval comments, rejection, abort and rollback
//! reasons, a decide note, a review and stage output. Then every output is
//! read: headless text and JSON, `status`, the verbs' replies, `show` (text
//! and JSON), `dossier`, `memory` (text and JSON), `history` (table and
//! JSON), `validate` and `slate.log`.
//!
//! Each output must hold none of those characters raw (no ESC, BEL, CR, other
//! C0 or C1 control, DEL or bidi control) and no line that begins with a
//! forged marker; and each must show the fields it is meant to show
//! (neutralised), so a field that went missing cannot pass the test.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);

/// What people may type or plans may hold, all in one string.
const PARTS: &[&str] = &[
    "\u{1b}]52;c;cHduZWQ=\u{7}", // OSC 52: write the clipboard
    "\u{1b}]0;owned\u{7}",       // OSC 0: set the window title
    "\u{1b}[2J",                 // clear the screen
    "\u{7}",                     // BEL
    "\r✔ released FORGED",       // CR: overwrite the line's start
    "\n✔ released FORGED",       // a newline forging a line of its own
    "\r\n## FORGED heading",     // and a markdown heading
    "\u{9b}2J",                  // C1 CSI
    "\u{202e}desrever\u{202c}",  // bidi override
];

/// A free-text value: its tag (to find it in outputs), then every hazard.
fn hostile(tag: &str) -> String {
    format!("<{tag}>{}", PARTS.concat())
}

/// A name: the loader refuses control characters there, not bidi or markup.
fn name(tag: &str) -> String {
    format!("{tag}<{tag}>|*#`\u{202e}x\u{202c}")
}

/// A TOML string holding `s`, escapes and all.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The characters no output may hold raw.
fn hazard(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

/// The corpus's assertion for one output: nothing raw, nothing forged.
fn assert_neutral(what: &str, bytes: &[u8]) {
    let text = String::from_utf8(bytes.to_vec())
        .unwrap_or_else(|e| panic!("{what}: output is not UTF-8: {e}"));
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| hazard(c)) {
        let around: String = text[i..].chars().take(80).collect();
        panic!("{what}: raw {c:?} at byte {i}: {around:?}");
    }
    // Lines of several-line text are the program's own; what people wrote
    // continues one (after `⏎`), or sits indented or quoted under it.
    for line in text.lines() {
        assert!(
            !line.starts_with("✔ released FORGED") && !line.starts_with("## FORGED"),
            "{what}: a forged line: {line:?}"
        );
    }
}

/// Every tag must appear in the output, so the field was shown (and
/// neutralised: its hazards are visible as `␛]52`, `⏎✔ released`…).
fn assert_shows(what: &str, bytes: &[u8], tags: &[&str]) {
    let text = String::from_utf8_lossy(bytes);
    for tag in tags {
        // Markdown text escapes the brackets (`\<tag\>`); code spans do not.
        assert!(
            text.contains(&format!("<{tag}>")) || text.contains(&format!("\\<{tag}\\>")),
            "{what} does not show <{tag}>:\n{}",
            clip(&text)
        );
    }
}

/// Visible evidence that the hostile string was there and is shown, not
/// obeyed: its escape sequence as text, and (`one_line`) its newline as `⏎`.
fn assert_shown_visibly(what: &str, bytes: &[u8], one_line: bool) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        text.contains("␛]52;c;cHduZWQ=␇"),
        "{what} does not show the OSC 52 sequence visibly:\n{}",
        clip(&text)
    );
    assert!(
        !one_line || text.contains("⏎✔ released FORGED"),
        "{what} does not show the forged line as part of its own:\n{}",
        clip(&text)
    );
}

fn clip(s: &str) -> String {
    if s.len() <= 3000 {
        return s.to_string();
    }
    let head: String = s.chars().take(3000).collect();
    format!("{head}… ({} bytes)", s.len())
}

struct Printed {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Output into files: a pipe nobody reads would block a 100 KB output.
fn files(sb: &Sandbox, label: &str) -> (PathBuf, PathBuf) {
    (
        sb.path(&format!("{label}.out")),
        sb.path(&format!("{label}.err")),
    )
}

fn spawn(sb: &Sandbox, label: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
    let (out, err) = files(sb, label);
    let mut cmd = sb.slate();
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(File::create(out).unwrap()))
        .stderr(Stdio::from(File::create(err).unwrap()));
    cmd.spawn().expect("start slate")
}

fn finish(sb: &Sandbox, label: &str, mut child: Child) -> Printed {
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("slate ({label}) did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = files(sb, label);
    Printed {
        code: status.code(),
        stdout: std::fs::read(out).unwrap(),
        stderr: std::fs::read(err).unwrap(),
    }
}

fn slate(sb: &Sandbox, label: &str, args: &[&str]) -> Printed {
    let child = spawn(sb, label, args, &[]);
    finish(sb, label, child)
}

/// The stage prints every hazard itself, invalid UTF-8 and a 100 KB line.
const STAGE: &str = r#"printf 'OUT \033]52;c;cHduZWQ=\007 \033]0;owned\007 \033[2J \007 tail\r✔ released FORGED\n✔ released FORGED\n\302\233 2J \342\200\256desrever\n'
printf 'bad utf8 \377\376 end\n'
printf 'ERR \033]0;stderr title\007\n' >&2
head -c 102400 /dev/zero | tr '\0' x; echo
if [ "$SLATE_ENV" = prod ] && [ -f '@DIR@/fail' ]; then exit 1; fi"#;

fn plan(sb: &Sandbox) -> PathBuf {
    let big = "n".repeat(100 * 1024);
    let notes = format!("{}\nsecond line\n{big}", hostile("notes"));
    let text = format!(
        r#"
[release]
name = {release}
version = {version}
previous_version = {previous}
owner = {owner}
notes = {notes}
scope = {scope}

[[stakeholders]]
name = {stakeholder}
role = {role}
contact = {contact}

[communication]
support = {support}

[[environments]]
name = {dev}
config = {{ motd = {config} }}

[[environments]]
name = "prod"
gates = [{gate}]

[[stages]]
name = {stage}
owner = {stage_owner}
command = '''{STAGE}'''
rollback = '''echo undo; if [ -f '@DIR@/fail' ]; then exit 1; fi'''

[[gates]]
name = {gate}
kind = "manual"
"#,
        release = q(&name("release")),
        version = q(&name("version")),
        previous = q(&name("previous")),
        owner = q(&name("owner")),
        notes = q(&notes),
        scope = q(&hostile("scope")),
        stakeholder = q(&name("stakeholder")),
        role = q(&hostile("role")),
        contact = q(&hostile("contact")),
        support = q(&hostile("support")),
        dev = q(&name("dev")),
        config = q(&hostile("config")),
        stage = q(&name("stage")),
        stage_owner = q(&hostile("stage-owner")),
        gate = q(&name("gate")),
    );
    sb.plan("hostile.toml", &text)
}

/// A headless run, waiting at prod's gate: its id.
fn start_at_gate(sb: &Sandbox, label: &str, plan: &Path) -> (Child, String) {
    let child = spawn(
        sb,
        label,
        &["run", plan.to_str().unwrap(), "--headless"],
        &[],
    );
    let (out, _) = files(sb, label);
    let mut id = None;
    sb.wait_for(&format!("{label} at its gate"), LIMIT, || {
        let text = String::from_utf8_lossy(&std::fs::read(&out).unwrap_or_default()).into_owned();
        id = text
            .lines()
            .find(|l| l.contains("slate approve "))
            .and_then(|l| l.split_whitespace().nth(2).map(str::to_string));
        id.is_some()
    });
    (child, id.unwrap())
}

fn run_dir(sb: &Sandbox, id: &str) -> PathBuf {
    sb.home().join("runs").join(id)
}

#[test]
fn hostile_text_is_shown_never_obeyed_in_every_output() {
    let sb = Sandbox::new();
    let plan = plan(&sb);

    // Validation quotes what it refuses: a hostile gate name in gates_after.
    let bad = sb.plan(
        "bad.toml",
        &std::fs::read_to_string(&plan).unwrap().replace(
            "[[gates]]",
            &format!(
                "gates_after = [{}]\n\n[[gates]]",
                q(&hostile("unknown-gate"))
            ),
        ),
    );
    let v = slate(&sb, "validate", &["validate", bad.to_str().unwrap()]);
    assert_eq!(v.code, Some(2));
    assert_neutral("validate", &v.stderr);
    assert_shows("validate", &v.stderr, &["unknown-gate"]);
    assert_shown_visibly("validate", &v.stderr, true);

    // A: approved with a comment and a note; prod's deploy fails, its undo
    // fails too, and the rollback is forced past it with a note.
    std::fs::write(sb.path("fail"), "").unwrap();
    let (a, id_a) = start_at_gate(&sb, "run-a", &plan);
    let note = slate(&sb, "note", &["note", &id_a, &hostile("note")]);
    assert_eq!(
        note.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&note.stderr)
    );
    let status = slate(&sb, "status", &["status"]);
    let status_json = slate(&sb, "status-json", &["status", "--json"]);
    let approve = slate(
        &sb,
        "approve",
        &["approve", &id_a, "--comment", &hostile("comment")],
    );
    assert_eq!(
        approve.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    sb.wait_for("run A's blocked rollback", LIMIT, || {
        std::fs::read_to_string(sb.path("run-a.out"))
            .unwrap_or_default()
            .contains("slate decide ")
    });
    let decide = slate(
        &sb,
        "decide",
        &["decide", &id_a, "force", "--note", &hostile("decide")],
    );
    assert_eq!(
        decide.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&decide.stderr)
    );
    let run_a = finish(&sb, "run-a", a);
    assert_eq!(run_a.code, Some(1));
    std::fs::remove_file(sb.path("fail")).unwrap();

    // B, C, D: rejected, aborted, rolled back, each with its reason.
    let mut others = Vec::new();
    for (label, verb, flag) in [
        ("run-b", "reject", "--reason"),
        ("run-c", "abort", "--reason"),
        ("run-d", "rollback", "--reason"),
    ] {
        let (child, id) = start_at_gate(&sb, label, &plan);
        let reply = slate(&sb, verb, &[verb, &id, flag, &hostile(verb)]);
        assert_eq!(
            reply.code,
            Some(0),
            "{}",
            String::from_utf8_lossy(&reply.stderr)
        );
        assert_neutral(verb, &reply.stdout);
        let printed = finish(&sb, label, child);
        assert_eq!(printed.code, Some(1));
        others.push((label, verb, id, printed));
    }

    // E: released, printing NDJSON.
    let e = slate(
        &sb,
        "run-e",
        &[
            "run",
            plan.to_str().unwrap(),
            "--headless",
            "--json",
            "--approve",
            &name("gate"),
        ],
    );
    assert_eq!(e.code, Some(0), "{}", String::from_utf8_lossy(&e.stderr));

    // A review of A, hostile from end to end.
    let review = slate::engine::event::Review {
        went_well: hostile("went-well"),
        went_wrong: hostile("went-wrong"),
        improve: hostile("improve"),
        follow_ups: format!("- {}\n- {}", hostile("follow-up"), hostile("follow-up-2")),
        incidents: hostile("incident"),
        memory: Some(hostile("memory")),
    };
    slate::review::save(sb.home(), &run_dir(&sb, &id_a), review).expect("save the review");

    // Every output, read.
    let run_a_all = [run_a.stdout.as_slice(), &run_a.stderr].concat();
    assert_neutral("headless run A", &run_a_all);
    assert_shows(
        "headless run A",
        &run_a_all,
        &[
            "release", "dev", "stage", "gate", "note", "comment", "decide",
        ],
    );
    assert_shown_visibly("headless run A", &run_a_all, true);
    let a_text = String::from_utf8_lossy(&run_a_all);
    assert!(
        a_text.contains("┃  OUT ␛]52;c;cHduZWQ=␇"),
        "stage output, shown"
    );
    assert!(a_text.contains("┃! ERR ␛]0;stderr title␇"), "stderr, shown");
    assert!(
        a_text.contains("bad utf8 �� end"),
        "invalid UTF-8, replaced"
    );
    assert!(
        a_text.contains(&"x".repeat(16 * 1024 - 64)),
        "the long line, cut into pieces"
    );
    for (label, verb, _, printed) in &others {
        let all = [printed.stdout.as_slice(), &printed.stderr].concat();
        assert_neutral(label, &all);
        assert_shows(label, &all, &[verb]);
    }
    assert_neutral("headless --json", &e.stdout);
    assert_neutral("headless --json (stderr)", &e.stderr);
    assert_shows("headless --json", &e.stdout, &["release", "gate", "dev"]);
    for (what, p) in [
        ("note reply", &note),
        ("approve reply", &approve),
        ("decide reply", &decide),
        ("status", &status),
        ("status --json", &status_json),
    ] {
        assert_neutral(what, &p.stdout);
        assert_neutral(what, &p.stderr);
    }
    assert_shows("status", &status.stdout, &["release", "gate"]);
    assert_shows("status --json", &status_json.stdout, &["release", "gate"]);

    let show = slate(&sb, "show", &["show", &id_a]);
    assert_eq!(show.code, Some(0));
    assert_neutral("show", &show.stdout);
    assert_shows(
        "show",
        &show.stdout,
        &["release", "dev", "stage", "note", "comment"],
    );
    assert_shown_visibly("show", &show.stdout, true);
    let show_json = slate(&sb, "show-json", &["show", &id_a, "--json"]);
    assert_neutral("show --json", &show_json.stdout);
    assert_shows(
        "show --json",
        &show_json.stdout,
        &["note", "comment", "went-well"],
    );
    serde_json::from_slice::<serde_json::Value>(&show_json.stdout).expect("show --json is JSON");

    let dossier = slate(&sb, "dossier", &["dossier", &id_a]);
    assert_eq!(dossier.code, Some(0));
    assert_neutral("dossier", &dossier.stdout);
    assert_shows(
        "dossier",
        &dossier.stdout,
        &[
            "release",
            "version",
            "previous",
            "owner",
            "notes",
            "scope",
            "stakeholder",
            "role",
            "contact",
            "support",
            "dev",
            "config",
            "stage",
            "stage-owner",
            "gate",
            "note",
            "comment",
            "decide",
            "went-well",
            "went-wrong",
            "improve",
            "follow-up",
            "follow-up-2",
            "incident",
            "memory",
        ],
    );
    assert_shown_visibly("dossier", &dossier.stdout, true);
    let written = std::fs::read(run_dir(&sb, &id_a).join("dossier.md")).unwrap();
    assert_neutral("dossier.md", &written);
    for (label, verb, id, _) in &others {
        let d = slate(&sb, "dossier-other", &["dossier", id]);
        assert_neutral(&format!("dossier of {label}"), &d.stdout);
        assert_shows(&format!("dossier of {label}"), &d.stdout, &[verb]);
    }

    let memory = slate(&sb, "memory", &["memory"]);
    assert_neutral("memory", &memory.stdout);
    assert_shows(
        "memory",
        &memory.stdout,
        &["release", "memory", "reject", "abort", "rollback"],
    );
    assert_shown_visibly("memory", &memory.stdout, false);
    let memory_json = slate(&sb, "memory-json", &["memory", "--json"]);
    assert_neutral("memory --json", &memory_json.stdout);
    assert_shows("memory --json", &memory_json.stdout, &["memory", "reject"]);

    // The ledger keeps the same fields in the store and shows them neutralised.
    let ledger = slate(&sb, "ledger", &["ledger"]);
    assert_neutral("ledger", &ledger.stdout);
    assert_neutral("ledger", &ledger.stderr);
    assert_shows("ledger", &ledger.stdout, &["release", "version", "dev"]);
    let ledger_json = slate(&sb, "ledger-json", &["ledger", "--json"]);
    assert_neutral("ledger --json", &ledger_json.stdout);
    assert_shows(
        "ledger --json",
        &ledger_json.stdout,
        &["release", "version", "dev"],
    );

    let history = slate(&sb, "history", &["history"]);
    assert_neutral("history", &history.stdout);
    assert_shows("history", &history.stdout, &["release", "version"]);
    let history_json = slate(&sb, "history-json", &["history", "--json"]);
    assert_neutral("history --json", &history_json.stdout);
    assert_shows("history --json", &history_json.stdout, &["release"]);

    let log = std::fs::read(sb.home().join("slate.log")).unwrap();
    assert_neutral("slate.log", &log);

    // The cockpit, on run A's journal: ratatui keeps controls (bidi ones
    // included) out of every cell it draws.
    let records = slate::journal::read_journal(&run_dir(&sb, &id_a).join("journal.ndjson"))
        .unwrap()
        .records;
    let plan = slate::runs::recorded_plan(&records).unwrap().unwrap();
    let mut app = slate::cockpit::app::App::new(
        plan,
        slate::cockpit::keymap::Keymap::default(),
        common::render::theme("default"),
    );
    for r in &records {
        app.apply_record(r);
    }
    let term = common::render::render(&mut app, 160, 48);
    let cells: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert_neutral("the cockpit's cells", cells.as_bytes());
    assert!(
        cells.contains("OUT"),
        "{}",
        common::render::text(term.backend().buffer())
    );
}

/// Stage output in a headless run keeps its colours (SGR) only on a terminal
/// that wants them, and every other escape sequence is shown, never sent:
/// piped, colours are dropped; on a terminal they stay; `NO_COLOR` drops them.
#[test]
fn headless_stage_output_keeps_colours_only_on_a_terminal() {
    use common::pty::Term;
    let sb = Sandbox::new();
    let plan = sb.plan(
        "colour.toml",
        common::release_plan!("svc" "2" from "1" by "me"; r#"[[environments]]
name = "dev"
[[stages]]
name = "build"
command = '''printf '\033[1;31mRED\033[0m plain \033]0;owned\007 \033]52;c;eA==\007 \033[2J \033[1A up\n'; echo COLOURTEST-DONE'''
"#),
    );
    let args = ["run", plan.to_str().unwrap(), "--headless"];

    let piped = slate(&sb, "piped", &args);
    assert_eq!(piped.code, Some(0));
    assert_neutral("piped", &piped.stdout);
    let text = String::from_utf8_lossy(&piped.stdout);
    assert!(
        text.contains("RED plain ␛]0;owned␇ ␛]52;c;eA==␇ ␛[2J ␛[1A up"),
        "{text}"
    );

    let on_terminal = |no_color: Option<&str>| {
        let mut b = Term::builder(&args)
            .env("SLATE_HOME", sb.home())
            .tag(&sb.tag)
            .size(200, 40)
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            b = b.env("NO_COLOR", v);
        }
        let term = b.start();
        assert!(term.wait_exit(LIMIT).success(), "{}", term.raw());
        term.wait_eof(LIMIT);
        term.raw()
    };
    let raw = on_terminal(None);
    assert!(raw.contains("COLOURTEST-DONE"), "{raw:?}");
    assert!(
        raw.contains(
            "\u{1b}[1;31mRED\u{1b}[0m plain ␛]0;owned␇ ␛]52;c;eA==␇ ␛[2J ␛[1A up\u{1b}[0m"
        ),
        "{raw:?}"
    );
    // Slate's own link (the dossier's path, OSC 8 on a terminal) is the
    // only OSC sequence; once it is taken out, nothing the stage sent is left.
    assert!(
        raw.contains("dossier: \u{1b}]8;;file://"),
        "the dossier's path is a link on a terminal: {raw:?}"
    );
    let mut own = String::new();
    let mut rest = raw.as_str();
    while let Some(at) = rest.find("\u{1b}]8;;") {
        own.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        rest = after.find("\u{1b}\\").map_or("", |end| &after[end + 2..]);
    }
    own.push_str(rest);
    for sent in ["\u{1b}]", "\u{1b}[2J", "\u{1b}[1A", "\u{7}"] {
        assert!(
            !own.contains(sent),
            "{sent:?} reached the terminal: {raw:?}"
        );
    }
    let raw = on_terminal(Some("1"));
    assert!(raw.contains("COLOURTEST-DONE"), "{raw:?}");
    assert!(raw.contains("RED plain ␛]0;owned␇"), "{raw:?}");
    assert!(
        !raw.contains("\u{1b}[1;31m"),
        "NO_COLOR keeps no colour: {raw:?}"
    );
}
