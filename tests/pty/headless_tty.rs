//! Headless runs on a real terminal (a pty from util-linux `script`), where
//! Ctrl-C is a keystroke and stdin is a tty: the "Enter to resume" prompt is
//! live, and must never keep Slate alive once the run has ended.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(path: &std::path::Path, needle: &str, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        let text: String = std::fs::read_dir(path.join("runs"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("journal.ndjson")).ok())
            .collect();
        if text.contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn ctrl_c_twice_on_a_terminal_aborts_and_slate_exits() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: util-linux `script` is not installed (.ci/run installs it)");
        return;
    }
    let home = tempfile::TempDir::new().unwrap();
    let plan = home.path().join("plan.toml");
    std::fs::write(
        &plan,
        common::release_plan!("svc" "2" from "1" by "me"; r#"[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'echo deploying; sleep 20'
rollback = 'echo undone'
"#),
    )
    .unwrap();
    let cmd = format!(
        "{} run {} --headless",
        env!("CARGO_BIN_EXE_slate"),
        plan.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("SLATE_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    assert!(
        wait_for(home.path(), "\"process_started\"", Duration::from_secs(15)),
        "the stage never started"
    );
    keys.write_all(b"\x03").unwrap();
    keys.flush().unwrap();
    assert!(
        wait_for(home.path(), "\"pause_requested\"", Duration::from_secs(10)),
        "Ctrl-C did not pause"
    );
    keys.write_all(b"\x03").unwrap();
    keys.flush().unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        let _ = child.kill();
        panic!("slate kept running after the aborted run ended");
    }
    assert!(wait_for(
        home.path(),
        "\"outcome\":\"aborted\"",
        Duration::from_secs(1)
    ));
    assert!(wait_for(
        home.path(),
        "\"trigger\":{\"kind\":\"abort\"}",
        Duration::from_secs(1)
    ));
}
