//! Processes a dead engine left behind.
//!
//! Each stage runs in its own process group, and the journal records the
//! group's id with its leader's start time (`ProcessStarted`). After a crash
//! the group may still be running, unsupervised, with nobody reading its
//! output. Recovery finds it through `/proc` and stops it before anything
//! runs again, so a retried step never overlaps its own ghost.
//!
//! The journal can lag the process by a moment: a crash between starting a
//! command and journaling its group leaves no group on record. So every
//! command also carries `SLATE_STEP_ID` (run, environment, step, attempt,
//! direction) in its environment, and recovery looks for that too — which
//! also finds helpers that left the group. Only the step that was running is
//! looked for, never a completed one: a service a finished step started on
//! purpose is left alone.
//!
//! Telling our group from a stranger's: Linux never hands out a process id
//! that is still some group's id, so while any member of the group lives, the
//! id is ours. Only when the leader itself is found is its start time
//! compared, because the whole group may have ended and a new process taken
//! the number.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::event::Leftover;

/// The variable that marks a step's processes.
pub const STEP_VAR: &str = "SLATE_STEP_ID";

/// The value of [`STEP_VAR`] for one attempt of a step (or of its undo).
pub fn step_id(run_id: &str, env: usize, step: usize, attempt: u32, undo: bool) -> String {
    let way = if undo { "undo" } else { "run" };
    format!("{run_id}:{env}:{step}:{attempt}:{way}")
}

/// The value of [`STEP_VAR`] for an environment's rollback verification,
/// which belongs to no step.
pub fn verify_id(run_id: &str, env: usize) -> String {
    format!("{run_id}:{env}:verify")
}

/// Live processes whose environment holds `STEP_VAR=id`, with their groups.
pub fn marked(id: &str) -> Vec<(u32, i32)> {
    let needle = format!("{STEP_VAR}={id}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id())
        .filter_map(|pid| {
            let s = stat(pid).filter(|s| s.state != 'Z')?;
            let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            env.split(|&b| b == 0)
                .any(|kv| kv == needle.as_bytes())
                .then_some((pid, s.pgrp))
        })
        .collect()
}

/// SIGTERM, then SIGKILL after `grace`, to each process and its group; true
/// once none of them is left.
pub fn stop_marked(id: &str, grace: Duration) -> bool {
    let signal_all = |sig: Signal| {
        for (pid, pgrp) in marked(id) {
            let _ = killpg(Pid::from_raw(pgrp), sig);
            let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), sig);
        }
    };
    terminate(signal_all, || marked(id).is_empty(), grace)
}

/// What was found for a recorded process group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Nothing of it is left.
    Gone,
    /// Still running: these members.
    Ours(Vec<u32>),
    /// The id now belongs to an unrelated process (started later): left alone.
    Reused,
}

/// The leader's start time in clock ticks since boot, from `/proc/PID/stat`.
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.start)
}

struct Stat {
    /// 'Z' for a zombie: dead, only waiting to be reaped.
    state: char,
    pgrp: i32,
    start: u64,
}

/// Fields 3 (state), 5 (pgrp) and 22 (starttime) of `/proc/PID/stat`. The command name
/// (field 2) is in parentheses and may hold spaces, so fields are counted
/// from the last `)`.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Looks for the group `pgid` whose leader started at `leader_start` (when known).
pub fn find(pgid: i32, leader_start: Option<u64>) -> Found {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Found::Gone;
    };
    let mut members = Vec::new();
    let mut leader = None;
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(s) = stat(pid) else { continue };
        // A zombie runs nothing (and its parent may never reap it).
        if s.pgrp != pgid || s.state == 'Z' {
            continue;
        }
        if pid as i32 == pgid {
            leader = Some(s.start);
        }
        members.push(pid);
    }
    match (members.is_empty(), leader, leader_start) {
        (true, _, _) => Found::Gone,
        (false, Some(now), Some(then)) if now != then => Found::Reused,
        _ => Found::Ours(members),
    }
}

/// SIGTERM to the group, SIGKILL after `grace`; true once nothing of it is left.
pub fn stop(pgid: i32, leader_start: Option<u64>, grace: Duration) -> bool {
    terminate(
        |sig| {
            let _ = killpg(Pid::from_raw(pgid), sig);
        },
        || !matches!(find(pgid, leader_start), Found::Ours(_)),
        grace,
    )
}

/// Sends SIGTERM, waits up to `grace` for `gone`, then SIGKILL and up to 2 s more.
fn terminate(send: impl Fn(Signal), gone: impl Fn() -> bool, grace: Duration) -> bool {
    for (sig, within) in [
        (Signal::SIGTERM, grace),
        (Signal::SIGKILL, Duration::from_secs(2)),
    ] {
        send(sig);
        let until = Instant::now() + within;
        while !gone() {
            if Instant::now() >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if gone() {
            return true;
        }
    }
    false
}

/// Stops what a dead engine left: each recorded group `(env, step, pgid,
/// leader start)`, then whatever still carries a running step's mark
/// `(env, step, SLATE_STEP_ID)`. What was found is the record's list.
/// `marks` are (environment, step, mark); a step of `None` is the
/// environment's rollback verification.
pub fn stop_all(
    groups: Vec<(usize, usize, i32, Option<u64>)>,
    marks: Vec<(usize, Option<usize>, String)>,
    grace: Duration,
) -> Vec<Leftover> {
    let mut found = Vec::new();
    for (env, step, pgid, start) in groups {
        let (stopped, message) = match find(pgid, start) {
            Found::Gone => continue,
            Found::Reused => (
                false,
                "its id now belongs to a later process; left alone".to_string(),
            ),
            Found::Ours(members) => {
                let n = members.len();
                if stop(pgid, start, grace) {
                    (true, format!("{n} process(es) still running; stopped"))
                } else {
                    (
                        false,
                        format!("{n} process(es) still running; could not stop them"),
                    )
                }
            }
        };
        found.push(Leftover {
            env,
            step,
            pgid,
            stopped,
            message,
            verify: false,
        });
    }
    for (env, step, id) in marks {
        let procs = marked(&id);
        let Some(&(_, pgid)) = procs.first() else {
            continue;
        };
        let stopped = stop_marked(&id, grace);
        let n = procs.len();
        let of = if step.is_some() {
            "the step"
        } else {
            "the rollback's verification"
        };
        let message = if stopped {
            format!("{n} process(es) of {of} still running, not on record; stopped")
        } else {
            format!("{n} process(es) of {of} still running, not on record; could not stop them")
        };
        found.push(Leftover {
            env,
            step: step.unwrap_or(0),
            pgid,
            stopped,
            message,
            verify: step.is_none(),
        });
    }
    for l in &found {
        tracing::warn!(pgid = l.pgid, stopped = l.stopped, message = %l.message, "left by the dead engine");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "4242 (a (weird) name) S 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.pgrp, 4240);
        assert_eq!(s.start, 987654);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn finds_a_live_group_and_stops_it() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("sleep 30 & sleep 30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        let start = start_ticks(child.id());
        // The shell forks its background sleep at once; wait (bounded) for both.
        let until = Instant::now() + Duration::from_secs(5);
        while !matches!(find(pgid, start), Found::Ours(m) if m.len() >= 2) && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(matches!(find(pgid, start), Found::Ours(_)));
        // A different recorded start time means the id was reused: not ours.
        assert_eq!(find(pgid, start.map(|s| s + 1)), Found::Reused);
        assert!(stop(pgid, start, Duration::from_secs(2)));
        let _ = child.wait();
        assert_eq!(find(pgid, start), Found::Gone);
    }
}
