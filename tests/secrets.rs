//! Secrets, black-box: a plan refers to three secrets (env:, file:, cmd:),
//! its stages print them every way they can — plain, inside a longer line, on
//! stderr, split across stdout and stderr, in a failure and in the rollback —
//! and no value may appear in any file under SLATE_HOME, in headless output,
//! in a webhook payload, or on the cockpit's screen. The stages did get the
//! values: they write them to a ledger outside SLATE_HOME.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::pty::Term;
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);
const DB: &str = "pg-Pa55word-7f3a";
const TOKEN: &str = "tok_9c1d2e3f4a5b";
const VAULT: &str = "vault-s3cret-42";

fn plan(hook: &str) -> String {
    format!(
        r#"
[release]
name = "vaulted"
version = "1.0.1"
previous_version = "1.0.0"
owner = "sec"

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
"#
    )
}

/// A loopback HTTP receiver that keeps every request it gets, whole.
fn receiver() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming().take(200) {
            let Ok(mut sock) = sock else { continue };
            let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Headers, then as many body bytes as Content-Length says.
            while let Ok(n) = sock.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            store.lock().unwrap().extend_from_slice(&buf);
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, got)
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
