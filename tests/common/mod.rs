//! The fixtures shared by the test crates (`tests/engine`, `tests/cli`,
//! `tests/state`, `tests/screens`, `tests/pty`), as the library
//! `slate-testkit`. Here: the `slate` binary's path, unique tags, finding and killing
//! the processes a test started, and reading journals as JSON.

pub mod board;
pub mod engine;
pub mod loopback;
pub mod postgres;
pub mod pty;
pub mod render;
pub mod sandbox;
pub mod state;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const POLL: Duration = Duration::from_millis(20);

/// The `slate` binary under test: Cargo builds it for the integration tests
/// and names it in their environment when it runs them (Cargo 1.94 on);
/// an older Cargo leaves it beside the directory of the test binaries.
pub fn slate_bin() -> std::path::PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_slate") {
        return bin.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|test| Some(test.parent()?.parent()?.join("slate")))
        .filter(|bin| bin.is_file())
        .expect("no slate binary: run the tests with `cargo test`")
}

/// A release plan's text, as a string literal (so it serves in a `const`,
/// `concat!` or as a `format!` string): the `[release]` table, then `body`
/// (more keys of that table, if any, then the plan's other tables).
///
/// `release_plan!(body)` releases svc 2.0.0, replacing 1.0.0, owned by
/// tests, and `release_plan!()` is that table alone;
/// `release_plan!("checkout" "2.4.0" from "2.3.1" by "ops"; body)` says
/// which release, versions and owner.
#[macro_export]
macro_rules! release_plan {
    ($name:literal $version:literal from $previous:literal by $owner:literal; $body:literal) => {
        concat!(
            "[release]\nname = \"",
            $name,
            "\"\nversion = \"",
            $version,
            "\"\nprevious_version = \"",
            $previous,
            "\"\nowner = \"",
            $owner,
            "\"\n",
            $body
        )
    };
    ($body:literal) => {
        $crate::release_plan!("svc" "2.0.0" from "1.0.0" by "tests"; $body)
    };
    () => {
        $crate::release_plan!("")
    };
}

/// Who a test says did something: `user` through `via` ("cockpit", "cli",
/// "test"…), uid 1000. The one actor every fixture and test uses.
pub fn actor(user: &str, via: &str) -> slate::engine::Actor {
    slate::engine::Actor {
        user: user.into(),
        uid: 1000,
        via: via.into(),
        roles: None,
    }
}

/// Digits that no other test (or test run) uses: for tags and process markers.
pub fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}{:03}{:09}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Live (not zombie) processes, as (pid, cmdline with spaces).
pub fn live_processes() -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            // "pid (comm) S ..." — comm may hold spaces and parentheses.
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let after = &s[s.rfind(')')? + 1..];
                    after.split_whitespace().next().map(|st| st != "Z")
                })
                .unwrap_or(false)
        })
        .filter_map(|pid| {
            let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            Some((pid, cmd.trim().to_string()))
        })
        .collect()
}

/// Processes whose environment carries `SLATE_TEST_TAG=tag`.
pub fn tagged_processes(tag: &str) -> Vec<i32> {
    let needle = format!("SLATE_TEST_TAG={tag}");
    live_processes()
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// SIGKILLs everything carrying the tag, until nothing does (bounded).
pub fn kill_tagged(tag: &str) -> Vec<i32> {
    let mut killed = Vec::new();
    for _ in 0..50 {
        let pids = tagged_processes(tag);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            killed.push(pid);
        }
        thread::sleep(POLL);
    }
    killed.sort_unstable();
    killed.dedup();
    killed
}

/// Every complete record of a journal's text. A last line still being
/// written (no newline yet) is left out; any other bad line fails the test,
/// naming `origin` and the line.
pub fn parse_journal(text: &str, origin: &str) -> Vec<Value> {
    text.split_inclusive('\n')
        .take_while(|l| l.ends_with('\n'))
        .enumerate()
        .map(|(i, l)| (i, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{origin}:{}: not a JSON record ({e}): {l}", i + 1))
        })
        .collect()
}

/// The journal file's records (none if it does not exist yet).
pub fn read_journal(path: &Path) -> Vec<Value> {
    match fs::read(path) {
        Ok(bytes) => parse_journal(
            &String::from_utf8_lossy(&bytes),
            &path.display().to_string(),
        ),
        Err(_) => Vec::new(),
    }
}

pub fn ty(rec: &Value) -> &str {
    rec["event"]["type"].as_str().unwrap_or("")
}

pub fn types(recs: &[Value]) -> Vec<&str> {
    recs.iter().map(ty).collect()
}

/// The `event` objects of every record of type `t`.
pub fn events<'a>(recs: &'a [Value], t: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| ty(r) == t)
        .map(|r| &r["event"])
        .collect()
}

pub fn has(recs: &[Value], t: &str) -> bool {
    recs.iter().any(|r| ty(r) == t)
}

/// The one event of type `t`; fails if there is none or more than one.
pub fn only<'a>(recs: &'a [Value], t: &str) -> &'a Value {
    let found = events(recs, t);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {t} record, journal: {:?}",
        types(recs)
    );
    found[0]
}

pub fn outcome(recs: &[Value]) -> &str {
    let last = recs.last().expect("journal is empty");
    assert_eq!(
        ty(last),
        "run_finished",
        "the journal must end with run_finished: {:?}",
        types(recs)
    );
    last["event"]["outcome"].as_str().unwrap_or("")
}

/// `wanted` appear in the journal in this order (other records may sit between).
pub fn assert_in_order(recs: &[Value], wanted: &[&str]) {
    let all = types(recs);
    let mut it = all.iter();
    for w in wanted {
        assert!(
            it.any(|t| t == w),
            "expected {wanted:?} in this order in the journal, got {all:?}"
        );
    }
}

/// Every run directory under `home/runs`, oldest first (run ids sort by time).
pub fn run_dirs(home: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = fs::read_dir(home.join("runs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The newest run's directory, if there is one.
pub fn newest_run(home: &Path) -> Option<std::path::PathBuf> {
    run_dirs(home).pop()
}

/// The id of the newest run in `home` (its directory's name).
pub fn newest_run_id(home: &Path) -> Option<String> {
    newest_run(home).map(|d| {
        d.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    })
}

/// What a command printed: its stdout, then its stderr.
pub fn said(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
