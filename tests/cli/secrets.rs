//! Secrets, black-box: a plan refers to three secrets (env:, file:, cmd:),
//! its stages print them every way they can — plain, inside a longer line, on
//! stderr, split across stdout and stderr, in a failure and in the rollback —
//! and no value may appear in any file under SLATE_HOME, in headless output,
//! in a webhook payload, or on the cockpit's screen. The stages did get the
//! values: they write them to a ledger outside SLATE_HOME.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::loopback::receiver;
use common::pty::Term;
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);
const DB: &str = "pg-Pa55word-7f3a";
const TOKEN: &str = "tok_9c1d2e3f4a5b";
const VAULT: &str = "vault-s3cret-42";

fn plan(hook: &str) -> String {
    format!(
        common::release_plan!("vaulted" "1.0.1" from "1.0.0" by "sec"; r#"
[secrets]
DB_PASSWORD = "env:TEST_DB_PASSWORD"
API_TOKEN = "file:token.txt"
VAULT_KEY = "cmd:printf 'vault-s3cret-%s' 42"

[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "configure"
secrets = ["DB_PASSWORD", "API_TOKEN", "VAULT_KEY"]
command = '''
printf '%s %s %s\n' "$DB_PASSWORD" "$API_TOKEN" "$VAULT_KEY" >> "$LEDGER"
echo "$DB_PASSWORD"
echo "connecting to postgres://app:$DB_PASSWORD@db:5432/app?sslmode=require"
echo "token=$API_TOKEN" >&2
half=${{VAULT_KEY%???????}}; rest=${{VAULT_KEY#"$half"}}
echo "$half"; echo "$rest" >&2
echo "both: $VAULT_KEY" >&2; echo "both: $VAULT_KEY"
'''
rollback = 'echo "undo with $DB_PASSWORD"'

[[stages]]
name = "deploy"
secrets = ["API_TOKEN"]
environments = ["prod"]
command = 'echo "deploy failed: bad token $API_TOKEN" >&2; exit 3'

[[channels]]
name = "ops"
url = "{hook}"
"#),
        hook = hook
    )
}

fn setup() -> (Sandbox, std::path::PathBuf, Arc<Mutex<Vec<u8>>>) {
    let sb = Sandbox::new();
    std::fs::write(sb.path("token.txt"), format!("{TOKEN}\n")).unwrap();
    let (url, got) = receiver();
    let plan = sb.plan("plan.toml", &plan(&url));
    (sb, plan, got)
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for v in [DB, TOKEN, VAULT] {
        assert!(
            !text.contains(v),
            "{what} holds a secret value ({v}):\n{text}"
        );
    }
}

/// The stages got every value, and the run really printed them (masked).
fn assert_used_and_masked(sb: &Sandbox) {
    let line = format!("{DB} {TOKEN} {VAULT}");
    assert_eq!(
        sb.ledger(),
        [line.clone(), line],
        "the stage got the values, in dev and in prod"
    );
    let run = common::newest_run(sb.home()).unwrap();
    let journal = std::fs::read_to_string(run.join("journal.ndjson")).unwrap();
    for name in ["DB_PASSWORD", "API_TOKEN", "VAULT_KEY"] {
        assert!(
            journal.contains(&format!("[secret {name}]")),
            "{name} was printed and masked"
        );
    }
    assert!(
        journal.contains("postgres://app:[secret DB_PASSWORD]@db:5432"),
        "masked inside a line"
    );
}

#[test]
fn no_secret_reaches_a_file_an_output_or_a_webhook() {
    let (sb, plan, got) = setup();
    let out = sb
        .slate()
        .env("TEST_DB_PASSWORD", DB)
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "prod's deploy fails and rolls back: {out:?}"
    );
    assert_no_secret("headless stdout", &out.stdout);
    assert_no_secret("headless stderr", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stdout).contains("[secret API_TOKEN]"));
    assert_used_and_masked(&sb);
    // The dossier, the index, the log, the journal: nothing under SLATE_HOME.
    let all = files(sb.home());
    assert!(
        all.iter().any(|(p, _)| p.ends_with("dossier.md")),
        "the dossier was written"
    );
    for (path, bytes) in &all {
        assert_no_secret(&path.display().to_string(), bytes);
    }
    // Files Slate writes are the owner's alone.
    for (path, _) in all
        .iter()
        .filter(|(p, _)| p.starts_with(sb.home().join("runs")))
    {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
    }
    // Webhooks: every delivery the journal reports arrived, and none holds a value.
    sb.wait_for("the webhook deliveries", LIMIT, || {
        !got.lock().unwrap().is_empty()
    });
    let bytes = got.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&bytes).contains("vaulted"),
        "payloads arrived"
    );
    assert_no_secret("webhook payloads", &bytes);
}

#[test]
fn no_secret_reaches_the_cockpit_screen() {
    let (sb, plan, _got) = setup();
    let term = Term::builder(&["run", plan.to_str().unwrap()])
        .size(160, 50)
        .cwd(sb.dir.path())
        .env("SLATE_HOME", sb.home())
        .env("LEDGER", sb.path("ledger"))
        .env("TEST_DB_PASSWORD", DB)
        .env_remove("NO_COLOR")
        .tag(&sb.tag)
        .budget(LIMIT)
        .start();
    term.wait_for("ROLLED BACK", LIMIT);
    // The log pane shows the masked lines.
    term.wait_for("[secret", LIMIT);
    assert_no_secret("the screen", term.screen().as_bytes());
    assert_no_secret("everything written to the terminal", term.raw().as_bytes());
    assert_used_and_masked(&sb);
    for (path, bytes) in files(sb.home()) {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}

#[test]
fn an_unresolvable_secret_fails_the_run_and_names_it() {
    let (sb, plan, _got) = setup();
    let out = sb
        .slate()
        .env_remove("TEST_DB_PASSWORD")
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("secret DB_PASSWORD: the variable TEST_DB_PASSWORD is not set"),
        "{stdout}"
    );
    assert!(sb.ledger().is_empty(), "no stage ran");
}

/// Waits (bounded) until the newest run's journal holds a record of type `t`;
/// returns the run's directory.
fn wait_for_record(sb: &Sandbox, t: &str) -> std::path::PathBuf {
    let mut dir = None;
    sb.wait_for(&format!("a {t} record"), LIMIT, || {
        dir = common::newest_run(sb.home())
            .filter(|d| common::has(&common::read_journal(&d.join("journal.ndjson")), t));
        dir.is_some()
    });
    dir.unwrap()
}

/// Kills the engine of a headless run the hard way, as a crash would.
fn crash(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A value pasted into a note, a comment or a reason is masked in the
/// journal, and never logged: `slate.log` holds the verb and the run, not
/// what was said.
#[test]
fn a_secret_pasted_into_a_note_or_a_comment_never_reaches_the_log() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "plan.toml",
        common::release_plan!("chatty" "2" from "1" by "sec"; r#"
[secrets]
DB_PASSWORD = "env:TEST_DB_PASSWORD"

[[environments]]
name = "prod"
gates = ["go"]

[[stages]]
name = "deploy"
secrets = ["DB_PASSWORD"]
command = 'true'

[[gates]]
name = "go"
kind = "manual"
"#),
    );
    let mut run = sb
        .slate()
        .env("TEST_DB_PASSWORD", DB)
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dir = wait_for_record(&sb, "gate_waiting");
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    let verb = |args: &[&str]| {
        let out = sb.slate().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert_no_secret("a verb's output", &out.stdout);
    };
    verb(&["note", &id, &format!("oops {DB}")]);
    verb(&[
        "approve",
        &id,
        "go",
        "--comment",
        &format!("the password is {DB}"),
    ]);
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let journal = std::fs::read_to_string(dir.join("journal.ndjson")).unwrap();
    assert!(journal.contains("oops [secret DB_PASSWORD]"), "{journal}");
    let log = std::fs::read_to_string(sb.home().join("slate.log")).unwrap();
    assert_no_secret("slate.log", log.as_bytes());
    // What the log keeps instead: who did what to which run.
    assert!(log.contains(&format!("note run={id} text=…")), "{log}");
    assert!(log.contains("action=note"), "{log}");
    for (path, bytes) in files(sb.home()) {
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}

/// The variable an `env:` secret is read from reaches no process Slate
/// starts — a stage that does not name the secret, one that does (it gets
/// the value under the secret's own name only), a check command, a metric
/// command, a digest command, an evidence command, a `cmd:` secret.
#[test]
fn the_variable_a_secret_is_read_from_reaches_no_child() {
    let sb = Sandbox::new();
    let digest = "0".repeat(64);
    let seen = |who: &str| format!(r#"echo "{who}:${{SRC_TOKEN:-unset}}" >> "$LEDGER""#);
    let plan = sb.plan(
        "plan.toml",
        &format!(
            common::release_plan!("sealed" "2" from "1" by "sec"; r#"
[secrets]
TOKEN = "env:SRC_TOKEN"
OTHER = 'cmd:{cmd_secret}; echo other-value-1234'

[[environments]]
name = "prod"
gates = ["evidence"]

[[stages]]
name = "named"
secrets = ["TOKEN"]
command = '{named}; echo "named-gets:${{#TOKEN}}" >> "$LEDGER"'
smoke = ["probe"]

[[stages]]
name = "unnamed"
command = '{unnamed}; echo "unnamed-gets:${{TOKEN:-unset}}" >> "$LEDGER"'
gates_after = ["measured"]

[[checks]]
name = "probe"
command = '{check}'

[[gates]]
name = "evidence"
kind = "evidence"
command = '{evidence}'

[[gates]]
name = "measured"
kind = "analysis"
analysis = "once"

[[metrics]]
name = "m"
command = '{metric}; echo 1'
interval = "100ms"
success = "> 0"

[[analyses]]
name = "once"
metrics = ["m"]
count = 1

[[artifacts]]
name = "image"
sha256 = "{digest}"
digest_command = '{digest_cmd}; echo {digest}'
"#),
            digest = digest,
            cmd_secret = seen("cmd-secret"),
            named = seen("named"),
            unnamed = seen("unnamed"),
            check = seen("check"),
            evidence = seen("evidence"),
            metric = seen("metric"),
            digest_cmd = seen("digest"),
        ),
    );
    let child = sb
        .slate()
        .env("SRC_TOKEN", "src-tok-9a8b")
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = common::sandbox::wait_output(child, LIMIT, &["run"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut ledger = sb.ledger();
    ledger.sort();
    assert_eq!(
        ledger,
        [
            "check:unset",
            "cmd-secret:unset",
            "digest:unset",
            "evidence:unset",
            "metric:unset",
            "named-gets:12",
            "named:unset",
            "unnamed-gets:unset",
            "unnamed:unset",
        ]
    );
}

const HOOK_TOKEN: &str = "TOPSECRETTOKEN";

/// A plan that waits at a manual gate in prod, with a webhook whose URL is
/// a token and a check whose URL carries credentials.
fn sealed_plan(hook: &str, health: &str) -> String {
    format!(
        common::release_plan!("hooked" "2" from "1" by "sec"; r#"
[[environments]]
name = "prod"
gates = ["go"]
health = ["up"]

[[stages]]
name = "deploy"
rollout = false
command = 'echo "deploy $SLATE_VERSION" >> "$LEDGER"'

[[gates]]
name = "go"
kind = "manual"

[[checks]]
name = "up"
http = "{health}"

[[channels]]
name = "ops"
url = "{hook}"
"#),
        health = health,
        hook = hook
    )
}

/// A loopback server that answers 200 to every request and keeps each one's
/// request line and headers (for health checks).
fn health_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming().take(500) {
            let Ok(mut sock) = sock else { continue };
            let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = sock.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let body = if head.starts_with("GET /metrics") {
                "up 1\n"
            } else {
                "ok"
            };
            store.lock().unwrap().push(head);
            let _ = sock.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    (port, got)
}

/// Runs a sealed plan headless until it waits at its gate, then crashes its
/// engine: returns the run's directory and what `--json` printed.
fn crashed_at_the_gate(sb: &Sandbox, plan: &Path) -> (std::path::PathBuf, String) {
    let stdout = sb.path("run.out");
    let mut run = sb
        .slate()
        .args(["run", plan.to_str().unwrap(), "--headless", "--json"])
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dir = wait_for_record(sb, "gate_waiting");
    crash(&mut run);
    (dir, std::fs::read_to_string(stdout).unwrap())
}

/// Takes the run over headless and approves its gate; returns what recovery printed.
fn recover_and_approve(sb: &Sandbox, dir: &Path) -> std::process::Output {
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    let recover = sb
        .slate()
        .args(["recover", &id, "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    sb.wait_for("the recovered run at its gate again", LIMIT, || {
        let recs = common::read_journal(&dir.join("journal.ndjson"));
        common::has(&recs, "run_recovered") && common::events(&recs, "gate_waiting").len() == 2
    });
    let out = sb
        .slate()
        .args(["approve", &id, "go", "--comment", "ok"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    common::sandbox::wait_output(recover, LIMIT, &["recover"])
}

/// Item: a webhook URL is often a token. The journal (which `--json`
/// prints) holds the plan's text, so the plan's sealed values — the hook's
/// URL, a check URL's credentials — are masked in it, and a recovered run
/// reads them back from the plan file: it still notifies, and its checks
/// still get their credentials.
#[test]
fn a_webhook_token_stays_out_of_the_journal_and_a_recovered_run_still_notifies() {
    let sb = Sandbox::new();
    let (url, got) = receiver();
    let (port, health) = health_server();
    let plan = sb.plan(
        "plan.toml",
        &sealed_plan(
            &format!("{url}?token={HOOK_TOKEN}"),
            &format!("http://probe:pr0be-pw-4e1d@127.0.0.1:{port}/healthz"),
        ),
    );
    let (dir, json) = crashed_at_the_gate(&sb, &plan);
    let leaks = |what: &str, text: &str| {
        for s in [HOOK_TOKEN, "pr0be-pw-4e1d"] {
            assert!(!text.contains(s), "{what} holds {s}:\n{text}");
        }
    };
    leaks("run --headless --json", &json);
    let journal = std::fs::read_to_string(dir.join("journal.ndjson")).unwrap();
    leaks("the journal", &journal);
    // What it holds instead: the hook's host and the check URL, masked.
    let started = common::only(&common::parse_journal(&journal, "journal"), "run_started").clone();
    let source = started["plan_source"].as_str().unwrap();
    assert!(source.contains("url = \"http://127.0.0.1:"), "{source}");
    assert!(
        source.contains("http = \"http://***@127.0.0.1:"),
        "{source}"
    );
    assert_eq!(
        started["sealed"],
        serde_json::json!(["`http` of check `up`", "`url` of channel `ops`"])
    );
    let before = got.lock().unwrap().len();

    let out = recover_and_approve(&sb, &dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("released"), "{stdout}");
    // The recovered engine posted with the real URL, token and all…
    let requests = String::from_utf8_lossy(&got.lock().unwrap()[before..]).to_string();
    assert!(
        requests.contains(&format!("POST /hook?token={HOOK_TOKEN} ")),
        "{requests}"
    );
    assert!(requests.contains("\"completed\""), "{requests}");
    // …and probed with the real credentials (`probe:pr0be-pw-4e1d`, basic auth).
    let probes = health.lock().unwrap().join("\n");
    assert!(
        probes.contains("authorization: Basic cHJvYmU6cHIwYmUtcHctNGUxZA=="),
        "{probes}"
    );
    leaks("the recovered run's output", &stdout);
    for (path, bytes) in files(sb.home()) {
        leaks(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        );
    }
}

/// When the plan file no longer has a sealed value as the run started with
/// it, recovery says so: a webhook stays silent (and the journal says why),
/// and a check that needs its credentials refuses the recovery, naming it.
#[test]
fn a_recovery_whose_plan_file_lost_a_sealed_value_says_so() {
    let sb = Sandbox::new();
    let (url, got) = receiver();
    let (port, _health) = health_server();
    let health = format!("http://probe:pr0be-pw-4e1d@127.0.0.1:{port}/healthz");
    let plan = sb.plan(
        "plan.toml",
        &sealed_plan(&format!("{url}?token={HOOK_TOKEN}"), &health),
    );
    let (dir, _) = crashed_at_the_gate(&sb, &plan);
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();

    // The check's credentials are gone from the file: refused, and why.
    std::fs::write(
        &plan,
        sealed_plan(
            &format!("{url}?token={HOOK_TOKEN}"),
            &format!("http://127.0.0.1:{port}/healthz"),
        ),
    )
    .unwrap();
    let out = sb.run(&["recover", &id, "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("`http` of check `up` may hold credentials, which are never journaled"),
        "{why}"
    );

    // The hook moved elsewhere: the run recovers and goes on, its channel silent.
    std::fs::write(
        &plan,
        sealed_plan("https://hooks.example.invalid/x?token=ANOTHER", &health),
    )
    .unwrap();
    let before = got.lock().unwrap().len();
    let out = recover_and_approve(&sb, &dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("channel ops stays silent: its URL is never journaled"),
        "{stdout}"
    );
    let recs = common::read_journal(&dir.join("journal.ndjson"));
    let warning = common::only(&recs, "run_recovered")["warning"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(warning.contains("channel ops stays silent"), "{warning}");
    assert_eq!(
        got.lock().unwrap().len(),
        before,
        "nothing was posted after the crash"
    );
}

/// Item: credentials written into check and metric URLs (`user:pass@`,
/// `?token=`) never reach a record, and so neither the journal, the dossier,
/// the history index, headless output nor a webhook's failure message; what
/// shows is the URL masked. Credentials can also be secret references
/// (`${secret.NAME}`), filled in for the request alone: the endpoint gets
/// them, nothing else does.
#[test]
fn credentials_in_check_and_metric_urls_reach_no_record() {
    const PW: &str = "pw-LITERAL-9f";
    const TOK: &str = "tok-LITERAL-7c";
    const KEY: &str = "apiKey7f3a9c1e";
    let sb = Sandbox::new();
    let (hook, got) = receiver();
    let (port, seen) = health_server();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plan = sb.plan(
        "plan.toml",
        &format!(
            common::release_plan!("probed" "2" from "1" by "sec"; r#"
[secrets]
API_KEY = "env:TEST_API_KEY"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'true'
rollback = 'true'
smoke = ["literal", "by-ref"]
gates_after = ["measured"]

[[stages]]
name = "verify"
command = 'true'
smoke = ["down"]

[[checks]]
name = "literal"
http = "http://probe:{PW}@127.0.0.1:{port}/healthz?token={TOK}"

[[checks]]
name = "by-ref"
http = "http://127.0.0.1:{port}/ref?token=${{secret.API_KEY}}"
headers = {{ Authorization = "Bearer ${{secret.API_KEY}}" }}

[[checks]]
name = "down"
http = "http://probe:{PW}@127.0.0.1:{dead}/x?access_token={TOK}"
timeout = "2s"

[[gates]]
name = "measured"
kind = "analysis"
analysis = "once"

[[metrics]]
name = "up"
scrape = "http://probe:{PW}@127.0.0.1:{port}/metrics?token={TOK}"
query = "up"
interval = "200ms"
success = "> 0"

[[analyses]]
name = "once"
metrics = ["up"]
count = 1

[[channels]]
name = "ops"
url = "{hook}"
"#),
            PW = PW,
            TOK = TOK,
            port = port,
            dead = dead,
            hook = hook
        ),
    );
    let child = sb
        .slate()
        .env("TEST_API_KEY", KEY)
        .args(["run", plan.to_str().unwrap(), "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = common::sandbox::wait_output(child, LIMIT, &["run"]);
    assert_eq!(out.status.code(), Some(1), "the down check fails: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // The endpoints got every credential, as written or as referred to.
    let requests = seen.lock().unwrap().join("\n");
    let basic = "Basic cHJvYmU6cHctTElURVJBTC05Zg==";
    assert!(
        requests.contains(&format!("GET /healthz?token={TOK} "))
            && requests.contains(&format!("GET /metrics?token={TOK} "))
            && requests.contains(&format!("authorization: {basic}")),
        "{requests}"
    );
    assert!(
        requests.contains(&format!("GET /ref?token={KEY} "))
            && requests.contains(&format!("authorization: Bearer {KEY}")),
        "{requests}"
    );
    // Nothing else did.
    let hidden = |what: &str, text: &str| {
        for s in [PW, TOK, KEY] {
            assert!(!text.contains(s), "{what} holds {s}:\n{text}");
        }
    };
    hidden("headless stdout", &stdout);
    hidden("headless stderr", &String::from_utf8_lossy(&out.stderr));
    for (path, bytes) in files(sb.home()) {
        hidden(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        );
    }
    sb.wait_for("the failure's notification", LIMIT, || {
        String::from_utf8_lossy(&got.lock().unwrap()).contains("\"completed\"")
    });
    let payloads = String::from_utf8_lossy(&got.lock().unwrap()).to_string();
    hidden("webhook payloads", &payloads);
    // What shows instead is the URL, masked, in every place the failure is told.
    let shown = format!("GET http://***@127.0.0.1:{dead}/x?access_token=***");
    let run = common::newest_run(sb.home()).unwrap();
    let index = String::from_utf8_lossy(&sb.run(&["history", "--json"], LIMIT).stdout).into_owned();
    let dossier = std::fs::read_to_string(run.join("dossier.md")).unwrap();
    for (what, text) in [
        ("stdout", &stdout),
        ("the history (from the store)", &index),
        ("the webhook payloads", &payloads),
    ] {
        assert!(
            text.contains(&shown),
            "{what} does not say {shown}:\n{text}"
        );
    }
    let in_markdown = shown.replace('*', "\\*").replace('_', "\\_");
    assert!(dossier.contains(&in_markdown), "{in_markdown}\n{dossier}");
    assert!(
        stdout.contains("GET http://127.0.0.1:")
            && stdout.contains("/ref?token=${secret.API_KEY}: 200 in"),
        "a reference shows as itself: {stdout}"
    );
}
