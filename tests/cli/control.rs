//! The control socket, black-box: a real `slate run --headless` waits at a
//! manual gate, and other processes list it, steer it and follow it through
//! `runs/<run-id>/control.sock`.

use crate::common;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use common::sandbox::{Sandbox, wait_output};
use common::{events, only, outcome, read_journal};
use serde_json::{Value, json};

/// Longest any single slate invocation may take.
const LIMIT: Duration = Duration::from_secs(30);
/// Longest wait for a running slate to reach a point.
const WAIT: Duration = Duration::from_secs(15);

const PLAN: &str = common::release_plan!(
    r#"
[[environments]]
name = "dev"

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
rollback = 'echo "undo a" >> "$LEDGER"'
gates_after = ["signoff"]

[[stages]]
name = "b"
command = 'echo "do b" >> "$LEDGER"'
rollback = 'echo "undo b" >> "$LEDGER"'

[[gates]]
name = "signoff"
kind = "manual"
require_comment = true
timeout = "60s"
"#
);

/// A headless run in the background, its stdout going to a file.
struct Run {
    child: Option<Child>,
    stdout: PathBuf,
}

impl Run {
    fn start(sb: &Sandbox, extra: &[&str]) -> Run {
        let plan = sb.plan("plan.toml", PLAN);
        let stdout = sb.path("run.out");
        let mut cmd = sb.slate();
        cmd.args(["run", plan.to_str().unwrap(), "--headless"])
            .args(extra)
            .stdout(Stdio::from(File::create(&stdout).unwrap()))
            .stderr(Stdio::piped());
        Run {
            child: Some(cmd.spawn().expect("start slate")),
            stdout,
        }
    }

    fn printed(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Waits for the gate's hint and returns the run id it names.
    fn wait_at_gate(&self, sb: &Sandbox) -> String {
        sb.wait_for("the approve hint", WAIT, || {
            self.printed().contains("slate approve ")
        });
        let out = self.printed();
        let line = out
            .lines()
            .find(|l| l.contains("slate approve "))
            .unwrap()
            .trim()
            .to_string();
        let id = line.split_whitespace().nth(2).unwrap().to_string();
        assert_eq!(
            line,
            format!("slate approve {id} signoff --comment \"…\""),
            "{out}"
        );
        assert!(
            out.contains(&format!("slate reject {id} signoff --reason \"…\"")),
            "{out}"
        );
        id
    }

    fn finish(&mut self) -> Output {
        wait_output(self.child.take().unwrap(), LIMIT, &["run"])
    }
}

fn run_dir(sb: &Sandbox, id: &str) -> PathBuf {
    sb.home().join("runs").join(id)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn slate(sb: &Sandbox, args: &[&str]) -> Output {
    sb.run(args, LIMIT)
}

fn status_json(sb: &Sandbox) -> Vec<Value> {
    let out = slate(sb, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("status --json")
}

fn connect(dir: &Path) -> UnixStream {
    let s = UnixStream::connect(dir.join("control.sock")).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

/// Sends raw bytes and reads the one reply line.
fn raw(dir: &Path, bytes: &[u8]) -> Value {
    let mut s = connect(dir);
    s.write_all(bytes).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid{}", nix::unistd::getuid()))
}

#[test]
fn a_waiting_headless_run_is_approved_from_another_process() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    let dir = run_dir(&sb, &id);

    // Listed as active and waiting.
    let active = status_json(&sb);
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["run_id"], id.as_str());
    assert_eq!(active[0]["status"], "waiting for approval");
    assert_eq!(active[0]["environment"], "dev");
    assert_eq!(active[0]["waiting"]["gate"], "signoff");
    assert!(active[0]["pid"].as_u64().unwrap() > 0);
    let plain = slate(&sb, &["status"]);
    assert!(text(&plain.stdout).contains(&id), "{plain:?}");
    assert!(text(&plain.stdout).contains("gate signoff"), "{plain:?}");

    // One engine per run: the live engine's lock cannot be taken.
    let second = slate::runs::EngineLock::acquire(&dir).expect_err("lock is held");
    assert!(
        second.contains("already driven by a live engine"),
        "{second}"
    );
    assert!(slate::runs::engine_running(&dir, 0));

    // Bad requests close their own connection; the run carries on.
    let bad = raw(&dir, b"this is not json\n");
    assert!(
        bad["error"].as_str().unwrap().contains("malformed"),
        "{bad}"
    );
    let mut huge = vec![b'x'; 70 * 1024];
    huge.push(b'\n');
    let big = raw(&dir, &huge);
    assert!(
        big["error"].as_str().unwrap().contains("longer than"),
        "{big}"
    );
    let unknown = raw(
        &dir,
        b"{\"op\":\"command\",\"command\":{\"action\":\"shutdown\"}}\n",
    );
    assert!(unknown["error"].is_string(), "{unknown}");
    let st = raw(&dir, b"{\"op\":\"status\"}\n");
    assert_eq!(st["status"]["status"], "waiting_approval", "{st}");

    // A follower from seq 1, mid-run: it must end up with the whole journal.
    let follower = {
        let mut s = connect(&dir);
        s.write_all(b"{\"op\":\"subscribe\",\"from_seq\":1}\n")
            .unwrap();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            for line in BufReader::new(s).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).unwrap();
                got.push(v["record"].clone());
            }
            got
        })
    };

    // Refusals exit 1 with the engine's reason.
    let wrong = slate(&sb, &["approve", &id, "other", "--comment", "x"]);
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
    assert!(
        text(&wrong.stderr).contains("gate other is not waiting"),
        "{wrong:?}"
    );
    let bare = slate(&sb, &["approve", &id, "signoff"]);
    assert_eq!(bare.status.code(), Some(1), "{bare:?}");
    assert!(
        text(&bare.stderr).contains("approval needs a comment"),
        "{bare:?}"
    );

    // The approval, by a unique prefix of the id.
    let prefix = &id[..id.len() - 2];
    let ok = slate(&sb, &["approve", prefix, "signoff", "--comment", "ok"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert!(text(&ok.stdout).contains("approved signoff"), "{ok:?}");

    let out = run.finish();
    assert_eq!(out.status.code(), Some(0), "{}", run.printed());
    assert_eq!(sb.ledger(), ["do a", "do b"]);
    let recs = read_journal(&dir.join("journal.ndjson"));
    assert_eq!(outcome(&recs), "released");
    let approved = only(&recs, "approved");
    assert_eq!(approved["actor"]["user"], current_user().as_str());
    assert_eq!(
        approved["actor"]["uid"],
        json!(nix::unistd::getuid().as_raw())
    );
    assert_eq!(approved["actor"]["via"], "cli");
    assert_eq!(approved["comment"], "ok");
    assert_eq!(approved["source"], "operator");
    let refused = common::events(&recs, "command_refused");
    // The wrong gate and the missing comment; `shutdown` never reached the engine.
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|r| r["actor"]["via"] == "cli"));

    // The follower saw every record once, in order, the same as the journal.
    let got = follower.join().unwrap();
    assert_eq!(got, recs);

    // Finished: the socket is gone and the verbs say so.
    assert!(!dir.join("control.sock").exists());
    assert!(!slate::runs::engine_running(&dir, 0));
    let late = slate(&sb, &["pause", &id]);
    assert_eq!(late.status.code(), Some(2), "{late:?}");
    assert!(text(&late.stderr).contains("is not active"), "{late:?}");
    assert_eq!(status_json(&sb), Vec::<Value>::new());
}

#[test]
fn pause_resume_and_reject_through_the_socket() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);

    let paused = slate(&sb, &["pause", &id]);
    assert_eq!(paused.status.code(), Some(0), "{paused:?}");
    assert_eq!(status_json(&sb)[0]["status"], "paused");
    let again = slate(&sb, &["resume", "latest"]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert!(text(&again.stdout).contains("resumed"), "{again:?}");
    let twice = slate(&sb, &["resume", &id]);
    assert_eq!(twice.status.code(), Some(1), "{twice:?}");
    assert!(text(&twice.stderr).contains("not paused"), "{twice:?}");

    let noted = slate(&sb, &["note", &id, "waiting on the DBA"]);
    assert_eq!(noted.status.code(), Some(0), "{noted:?}");
    // Nothing is blocked: a decision is refused, with why.
    let decide = slate(&sb, &["decide", &id, "hold"]);
    assert_eq!(decide.status.code(), Some(1), "{decide:?}");
    assert!(
        text(&decide.stderr).contains("nothing is waiting for a decision"),
        "{decide:?}"
    );
    let retry = slate(&sb, &["retry", &id]);
    assert_eq!(retry.status.code(), Some(1), "{retry:?}");
    let bad = slate(&sb, &["decide", &id, "maybe"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown choice is a usage error: {bad:?}"
    );

    // A missing --reason is refused by the engine, in its words, like a
    // missing --comment (issue 15: the two used to differ).
    let bare = slate(&sb, &["reject", &id, "signoff"]);
    assert_eq!(bare.status.code(), Some(1), "{bare:?}");
    assert!(
        text(&bare.stderr).contains("a rejection needs a reason"),
        "{bare:?}"
    );

    let rejected = slate(&sb, &["reject", &id, "signoff", "--reason", "not today"]);
    assert_eq!(rejected.status.code(), Some(0), "{rejected:?}");
    let out = run.finish();
    assert_eq!(out.status.code(), Some(1), "{}", run.printed());
    assert_eq!(sb.ledger(), ["do a", "undo a"]);
    let recs = read_journal(&run_dir(&sb, &id).join("journal.ndjson"));
    let rej = only(&recs, "rejected");
    assert_eq!(rej["reason"], "not today");
    assert_eq!(rej["actor"]["via"], "cli");
    assert_eq!(only(&recs, "pause_requested")["actor"]["via"], "cli");
    let note = only(&recs, "note_added");
    assert_eq!(
        (note["text"].as_str(), note["actor"]["via"].as_str()),
        (Some("waiting on the DBA"), Some("cli"))
    );
    assert_eq!(
        events(&recs, "command_refused").len(),
        4,
        "resume twice, decide, retry, a rejection without a reason"
    );
    assert_eq!(only(&recs, "env_finished")["outcome"], "rolled_back");

    let late = slate(&sb, &["approve", &id, "--comment", "too late"]);
    assert_eq!(late.status.code(), Some(2), "{late:?}");
    assert!(text(&late.stderr).contains("not active"), "{late:?}");
}

#[test]
fn abort_through_the_socket_rolls_back() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &["--json"]);
    // In JSON mode stdout is records only; wait for the gate in the journal.
    let id = {
        sb.wait_for("a waiting gate", WAIT, || {
            common::newest_run(sb.home()).is_some_and(|d| {
                common::has(&read_journal(&d.join("journal.ndjson")), "gate_waiting")
            })
        });
        let dir = common::newest_run(sb.home()).unwrap();
        dir.file_name().unwrap().to_string_lossy().into_owned()
    };
    let aborted = slate(&sb, &["abort", &id, "--reason", "wrong build"]);
    assert_eq!(aborted.status.code(), Some(0), "{aborted:?}");
    let out = run.finish();
    assert_eq!(out.status.code(), Some(1), "{}", run.printed());
    // The hint went to stderr: stdout stays NDJSON.
    assert!(
        text(&out.stderr).contains(&format!("slate approve {id} signoff")),
        "{out:?}"
    );
    let printed = run.printed();
    assert!(
        printed
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{printed}"
    );
    let recs = read_journal(&run_dir(&sb, &id).join("journal.ndjson"));
    assert_eq!(only(&recs, "abort_requested")["reason"], "wrong build");
    assert_eq!(sb.ledger(), ["do a", "undo a"]);
}

#[test]
fn no_wait_keeps_failing_closed() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &["--no-wait"]);
    let out = run.finish();
    assert_eq!(out.status.code(), Some(1), "{}", run.printed());
    assert!(
        !run.printed().contains("slate approve"),
        "{}",
        run.printed()
    );
    let dir = common::newest_run(sb.home()).unwrap();
    let recs = read_journal(&dir.join("journal.ndjson"));
    assert_eq!(only(&recs, "gate_failed")["gate"], "signoff");
}

/// Words typed into comments, notes and reasons are only ever text: they go
/// through the socket as JSON, into the journal and the dossier, and nothing
/// they spell runs.
#[test]
fn hostile_comments_and_notes_never_run() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    let dir = sb.dir.path().display().to_string();
    let note = format!("$(touch {dir}/pwned-note); rm -rf ~");
    let comment = format!("`touch {dir}/pwned-comment` && echo \"; touch {dir}/pwned-quote\"");
    assert_eq!(slate(&sb, &["note", &id, &note]).status.code(), Some(0));
    assert_eq!(
        slate(&sb, &["approve", &id, "signoff", "--comment", &comment])
            .status
            .code(),
        Some(0)
    );
    let out = run.finish();
    assert_eq!(out.status.code(), Some(0), "{}", run.printed());
    let pwned: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("pwned"))
        .collect();
    assert!(pwned.is_empty(), "text ran as shell code: {pwned:?}");
    let recs = read_journal(&run_dir(&sb, &id).join("journal.ndjson"));
    assert_eq!(only(&recs, "note_added")["text"], note.as_str());
    assert_eq!(only(&recs, "approved")["comment"], comment.as_str());
    let dossier = std::fs::read_to_string(run_dir(&sb, &id).join("dossier.md")).unwrap();
    assert!(
        dossier.contains("rm -rf ~"),
        "the note is in the dossier, as text"
    );
}

/// Another OS user cannot steer the run: the run directory (0700) keeps the
/// socket out of reach, and the server would refuse a foreign uid anyway.
/// Needs root to act as another user; says so loudly and skips otherwise.
#[test]
fn another_user_cannot_reach_the_socket() {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "SKIPPED another_user_cannot_reach_the_socket: needs root to run a command as another uid"
        );
        return;
    }
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    // `nobody` (65534) exists on every Linux; the binary itself must be reachable for it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slate"))
        .env("SLATE_HOME", sb.home())
        .args(["approve", &id, "signoff", "--comment", "not mine"])
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run slate as nobody");
    assert_ne!(out.status.code(), Some(0), "refused: {out:?}");
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("Permission denied"),
        "refused for lack of permission: {why}"
    );
    // Even with every door opened by hand, the server asks the kernel who
    // connects (SO_PEERCRED) and refuses a uid that is not the run's.
    use std::os::unix::fs::PermissionsExt;
    let dir = run_dir(&sb, &id);
    for (p, mode) in [
        (sb.home().to_path_buf(), 0o755),
        (sb.home().join("runs"), 0o755),
        (dir.clone(), 0o755),
        (dir.join("control.sock"), 0o666),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slate"))
        .env("SLATE_HOME", sb.home())
        .args(["approve", &id, "signoff", "--comment", "still not mine"])
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run slate as nobody");
    let why = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(why.contains("uid 65534 may not drive this run"), "{why}");
    // The refusal leaves a trace for the owner: who, when, which run.
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(65534))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "uid65534".into());
    let log = std::fs::read_to_string(sb.home().join("slate.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("connection refused"))
        .unwrap_or_else(|| panic!("no refusal in slate.log:\n{log}"));
    assert!(
        line.contains(" WARN ")
            && line.contains("uid=65534")
            && line.contains(&format!("user={user}"))
            && line.contains(&format!("run={id}")),
        "{line}"
    );
    // Still waiting, and the attempts changed nothing.
    let recs = read_journal(&run_dir(&sb, &id).join("journal.ndjson"));
    assert!(events(&recs, "approved").is_empty(), "{recs:?}");
    assert_eq!(
        slate(&sb, &["approve", &id, "signoff", "--comment", "mine"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(run.finish().status.code(), Some(0));
}

/// `[access] group = "…"` opens a run to one OS group: its members reach the
/// socket and steer the run as themselves (by the run's full id; the runs
/// above it stay unlistable), while a user outside the group is still kept
/// out. Needs root to act as other users; says so loudly and skips otherwise.
#[test]
fn a_run_shared_with_a_group_admits_its_members_only() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED a_run_shared_with_a_group_admits_its_members_only: needs root");
        return;
    }
    // The group of `nobody` (65534): "nogroup" on Debian, "nobody" elsewhere.
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(65534))
        .ok()
        .flatten()
        .expect("a group with gid 65534")
        .name;
    let sb = Sandbox::new();
    let plan = sb.plan(
        "plan.toml",
        &format!("{PLAN}\n[access]\ngroup = \"{group}\"\n"),
    );
    let stdout = sb.path("run.out");
    let mut run = Run {
        child: Some(
            sb.slate()
                .args(["run", plan.to_str().unwrap(), "--headless"])
                .stdout(Stdio::from(File::create(&stdout).unwrap()))
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ),
        stdout,
    };
    let id = run.wait_at_gate(&sb);
    let dir = run_dir(&sb, &id);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o750);
    assert_eq!(mode(&dir.join("journal.ndjson")), 0o640);
    assert_eq!(mode(&dir.join("control.sock")), 0o660);
    assert_eq!(
        mode(&sb.home().join("runs")) & 0o004,
        0,
        "other runs stay unlistable"
    );
    let as_user = |uid: u32, gid: u32, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_slate"))
            .env("SLATE_HOME", sb.home())
            .args(args)
            .uid(uid)
            .gid(gid)
            .output()
            .expect("run slate as another user")
    };
    // Outside the group: refused, nothing changes.
    let outsider = as_user(
        4242,
        4242,
        &["approve", &id, "signoff", "--comment", "not mine"],
    );
    assert_ne!(outsider.status.code(), Some(0), "{outsider:?}");
    // A member (nobody, primary group 65534): approved, as themselves.
    let member = as_user(
        65534,
        65534,
        &["approve", &id, "signoff", "--comment", "from the group"],
    );
    assert_eq!(member.status.code(), Some(0), "{member:?}");
    assert_eq!(run.finish().status.code(), Some(0), "{}", run.printed());
    let recs = read_journal(&dir.join("journal.ndjson"));
    let approved = only(&recs, "approved");
    assert_eq!(approved["comment"], "from the group");
    assert_eq!(approved["actor"]["uid"], 65534);
}

/// A cockpit asks to be spared output it is too far behind to show: a flood
/// reaches it as counts plus the newest lines, while every state change
/// still arrives, in order, exactly as journaled.
#[test]
fn an_eliding_follower_gets_every_state_change_and_counts_for_a_flood() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "flood.toml",
        common::release_plan!(r#"
[[environments]]
name = "dev"

[[stages]]
name = "flood"
command = '''awk 'BEGIN { for (i = 0; i < 300000; i++) printf "%08d a row of a migration that prints a great deal\n", i }'; echo done >&2'''
gates_after = ["signoff"]

[[gates]]
name = "signoff"
kind = "manual"
"#),
    );
    let stdout = sb.path("run.out");
    let mut cmd = sb.slate();
    cmd.args(["run", plan.to_str().unwrap(), "--headless"])
        .stdout(Stdio::from(File::create(&stdout).unwrap()))
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start slate");
    let printed = || std::fs::read_to_string(&stdout).unwrap_or_default();
    sb.wait_for("the approve hint", Duration::from_secs(60), || {
        printed().contains("slate approve ")
    });
    let id = printed()
        .lines()
        .find(|l| l.contains("slate approve "))
        .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        .unwrap();
    let dir = run_dir(&sb, &id);

    let mut s = connect(&dir);
    s.write_all(b"{\"op\":\"subscribe\",\"from_seq\":1,\"elide\":true}\n")
        .unwrap();
    let follower = std::thread::spawn(move || {
        let mut got = Vec::new();
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { break };
            got.push(serde_json::from_str::<Value>(&line).unwrap());
        }
        got
    });
    let ok = slate(&sb, &["approve", &id, "signoff"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let out = wait_output(child, LIMIT, &["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed());

    let recs = read_journal(&dir.join("journal.ndjson"));
    let got = follower.join().unwrap();
    let is_output = |r: &Value| r["event"]["type"] == "output";
    let received: Vec<&Value> = got.iter().filter_map(|v| v.get("record")).collect();
    let elided: Vec<&Value> = got.iter().filter_map(|v| v.get("elided")).collect();
    assert!(
        got.iter()
            .all(|v| v.get("record").is_some() || v.get("elided").is_some()),
        "only records and markers"
    );
    // State changes: all of them, in order, as journaled.
    let states: Vec<&Value> = recs.iter().filter(|r| !is_output(r)).collect();
    let got_states: Vec<&Value> = received.iter().copied().filter(|r| !is_output(r)).collect();
    assert_eq!(got_states, states);
    // Output: each line sent is the journal's, none twice, and the rest is counted.
    let total = recs.iter().filter(|r| is_output(r)).count() as u64;
    assert_eq!(total, 300_001);
    let sent: Vec<&Value> = received.iter().copied().filter(|r| is_output(r)).collect();
    for r in &sent {
        let seq = r["seq"].as_u64().unwrap();
        assert_eq!(*r, &recs[seq as usize - 1]);
    }
    let seqs: Vec<u64> = received
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
    let counted: u64 = elided.iter().map(|e| e["lines"].as_u64().unwrap()).sum();
    assert_eq!(sent.len() as u64 + counted, total);
    for e in &elided {
        let per_step: u64 = e["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["lines"].as_u64().unwrap())
            .sum();
        assert_eq!(per_step, e["lines"].as_u64().unwrap(), "{e}");
    }
    // A flood costs the follower a bounded number of lines, the newest among them.
    assert!(
        sent.len() <= 2 * slate::control::follow::KEEP,
        "{} lines sent",
        sent.len()
    );
    let last_output = recs.iter().rev().find(|r| is_output(r)).unwrap();
    assert_eq!(sent.last().copied(), Some(last_output));
}

/// The cockpit's one connection: a subscriber sends commands on the same
/// connection its records come in on; each is answered between records, in
/// order, and a refusal is an answer, not the end of the stream. A request
/// that is not a command ends it.
#[test]
fn a_subscriber_steers_the_run_on_its_own_connection() {
    use slate::control::client::{Followed, Session};
    use slate::engine::Action;
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    let dir = run_dir(&sb, &id);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let session = Session::open(
            &dir,
            slate::control::client::Following {
                from_seq: 1,
                ..Default::default()
            },
        )
        .await
        .expect("subscribe");
        let (mut followed, commands) = session.into_parts();
        async fn next(
            followed: &mut tokio::sync::mpsc::Receiver<Followed>,
        ) -> Option<slate::engine::Record> {
            match tokio::time::timeout(WAIT, followed.recv()).await {
                Ok(Some(Followed::Record(r))) => Some(*r),
                Ok(Some(other)) => panic!("not a record: {other:?}"),
                Ok(None) => None,
                Err(_) => panic!("no record within {WAIT:?}"),
            }
        }
        // Replayed from the start up to the waiting gate.
        loop {
            let r = next(&mut followed).await.expect("a record");
            if r.event.type_name() == "gate_waiting" {
                break;
            }
        }
        let bare = commands
            .send(Action::Approve {
                gate: None,
                comment: " ".into(),
            })
            .await;
        assert_eq!(bare, Err("approval needs a comment".into()));
        let ok = commands
            .send(Action::Approve {
                gate: Some("signoff".into()),
                comment: "on one connection".into(),
            })
            .await;
        assert_eq!(ok, Ok("approved signoff".into()));
        let mut seen = Vec::new();
        while let Some(r) = next(&mut followed).await {
            seen.push(r.event.type_name());
            if seen.last() == Some(&"run_finished") {
                break;
            }
        }
        assert!(seen.contains(&"command_refused"), "{seen:?}");
        assert!(seen.contains(&"approved"), "{seen:?}");
        assert_eq!(seen.last(), Some(&"run_finished"), "{seen:?}");
    });
    let out = run.finish();
    assert_eq!(out.status.code(), Some(0), "{}", run.printed());
    let recs = read_journal(&run_dir(&sb, &id).join("journal.ndjson"));
    let approved = only(&recs, "approved");
    assert_eq!(approved["comment"], "on one connection");
    assert_eq!(approved["actor"]["via"], "cockpit");
}

/// Anything but a command on a subscribed connection is refused and ends
/// the stream; the run is not affected.
#[test]
fn a_subscription_takes_only_commands() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    let dir = run_dir(&sb, &id);
    let mut s = connect(&dir);
    s.write_all(b"{\"op\":\"subscribe\",\"from_seq\":1}\n{\"op\":\"status\"}\n")
        .unwrap();
    let lines: Vec<Value> = BufReader::new(s)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let last = lines.last().expect("an answer");
    assert_eq!(
        last["error"], "a subscription takes only commands",
        "{last}"
    );
    assert!(lines.iter().any(|l| l.get("record").is_some()));
    let ok = slate(&sb, &["approve", &id, "--comment", "still fine"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert_eq!(run.finish().status.code(), Some(0), "{}", run.printed());
}

/// A run whose engine died at a gate is not hidden: `slate status` lists it
/// as interrupted with the command that takes it over, and a verb says the
/// same instead of a bare "not active" (issue 15, item 19).
#[test]
fn status_lists_an_interrupted_run_with_its_recover_command() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    let mut child = run.child.take().unwrap();
    child.kill().unwrap();
    let _ = child.wait();

    let status = slate(&sb, &["status"]);
    let said = text(&status.stdout);
    assert!(said.contains(&id), "{said}");
    assert!(said.contains("interrupted"), "{said}");
    assert!(said.contains(&format!("slate recover {id}")), "{said}");
    let listed = status_json(&sb);
    let me = listed
        .iter()
        .find(|r| r["run_id"] == id.as_str())
        .expect("listed");
    assert_eq!(me["engine"], "interrupted");
    assert_eq!(me["recover"], format!("slate recover {id}"));

    let approve = slate(&sb, &["approve", &id, "--comment", "too late?"]);
    assert_eq!(approve.status.code(), Some(2), "{approve:?}");
    assert!(
        text(&approve.stderr).contains(&format!(
            "interrupted: its engine stopped before the run ended; `slate recover {id}`"
        )),
        "{approve:?}"
    );
}

/// A finished run whose engine host still lingers (someone follows it) is
/// listed, since a late rollback still works on it (issue 15, item 19).
#[test]
fn status_lists_a_finished_run_whose_engine_lingers() {
    use std::io::Read;
    let sb = Sandbox::new();
    let plan = sb.plan(
        "quick.toml",
        common::release_plan!("svc" "2" from "1" by "t"; "\n[[environments]]\nname = \"dev\"\n\n[[stages]]\nname = \"a\"\ncommand = 'echo \"do a\" >> \"$LEDGER\"'\nrollback = 'echo \"undo a\" >> \"$LEDGER\"'\n"),
    );
    let mut host = sb
        .slate()
        .args(["run", plan.to_str().unwrap(), "--serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut said = [0u8; 512];
    let n = host.stdout.as_mut().unwrap().read(&mut said).unwrap();
    let line = String::from_utf8_lossy(&said[..n]).to_string();
    let dir = PathBuf::from(line.trim().strip_prefix("ready ").expect("ready"));
    let id = dir.file_name().unwrap().to_string_lossy().to_string();
    // A follower keeps the engine host up after the run.
    let mut follower = connect(&dir);
    follower
        .write_all(b"{\"op\":\"subscribe\",\"from_seq\":1}\n")
        .unwrap();
    let mut lines = BufReader::new(follower.try_clone().unwrap()).lines();
    loop {
        let l = lines.next().expect("a record").unwrap();
        if l.contains("\"type\":\"run_finished\"") {
            break;
        }
    }
    // The history index, which `status` reads a run's outcome from, is a
    // client of the engine: it marks the run finished just after the
    // journal does, so it may still say running for a moment.
    let me = || {
        status_json(&sb)
            .into_iter()
            .find(|r| r["run_id"] == id.as_str())
            .expect("listed")
    };
    sb.wait_for("status to see the run finished", WAIT, || {
        me()["engine"] != "running"
    });
    let me = me();
    assert_eq!(me["engine"], "lingering", "{me}");
    let said = text(&slate(&sb, &["status"]).stdout);
    assert!(said.contains("its engine still answers"), "{said}");
    let back = slate(&sb, &["rollback", &id, "--reason", "late"]);
    assert_eq!(back.status.code(), Some(0), "{back:?}");
    drop(lines);
    drop(follower);
    let out = wait_output(host, LIMIT, &["engine host"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "rolled back after release: {out:?}"
    );
    assert_eq!(sb.ledger(), ["do a", "undo a"]);
}

/// A read-only subscription only watches: the server refuses its commands
/// (the run goes on untouched), and a subscriber that asks is told who
/// follows the run, itself included, and each change.
#[test]
fn a_read_only_subscription_is_refused_commands_and_told_who_is_here() {
    let sb = Sandbox::new();
    let mut run = Run::start(&sb, &[]);
    let id = run.wait_at_gate(&sb);
    let dir = run_dir(&sb, &id);
    let s = connect(&dir);
    let mut w = s.try_clone().unwrap();
    w.write_all(b"{\"op\":\"subscribe\",\"read_only\":true,\"watchers\":true}\n")
        .unwrap();
    let mut lines = BufReader::new(s).lines();
    let mut next_until = |what: &str, cond: &dyn Fn(&Value) -> bool| -> Value {
        loop {
            let l = lines
                .next()
                .unwrap_or_else(|| panic!("the stream ended before {what}"))
                .unwrap_or_else(|e| panic!("no {what}: {e}"));
            let v: Value = serde_json::from_str(&l).unwrap();
            if cond(&v) {
                return v;
            }
        }
    };
    let first = next_until("the watchers line", &|v| v.get("watchers").is_some());
    let list = first["watchers"]["list"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{first}");
    assert_eq!(list[0]["read_only"], true);
    assert_eq!(list[0]["id"], first["watchers"]["you"]);
    // A second follower shows up.
    let mut other = connect(&dir);
    other
        .write_all(b"{\"op\":\"subscribe\",\"from_seq\":1}\n")
        .unwrap();
    let two = next_until("two watchers", &|v| {
        v["watchers"]["list"]
            .as_array()
            .is_some_and(|l| l.len() == 2)
    });
    assert_eq!(two["watchers"]["list"][1]["read_only"], false, "{two}");
    drop(other);
    next_until("the second leaving", &|v| {
        v["watchers"]["list"]
            .as_array()
            .is_some_and(|l| l.len() == 1)
    });
    w.write_all(
        b"{\"op\":\"command\",\"command\":{\"action\":\"approve\",\"comment\":\"sneaky\"}}\n",
    )
    .unwrap();
    let refused = next_until("the refusal", &|v| v.get("error").is_some());
    assert_eq!(refused["error"], "this connection only watches (read-only)");
    let ok = slate(&sb, &["approve", &id, "--comment", "from the shell"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert_eq!(run.finish().status.code(), Some(0), "{}", run.printed());
    let recs = read_journal(&run_dir(&sb, &id).join("journal.ndjson"));
    assert_eq!(only(&recs, "approved")["comment"], "from the shell");
}
