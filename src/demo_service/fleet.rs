//! The fleet directory: per instance `NAME.pid` (its process), `NAME.json`
//! (what it runs, for the `weight` verb and for people) and `NAME.log` (its
//! output). Stopping lives here because it only needs these files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use super::procs;

/// How long an instance gets to exit on SIGTERM before it is SIGKILLed.
const TERM_GRACE: Duration = Duration::from_secs(3);

/// What `NAME.json` holds: enough to start the same instance again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    pub version: String,
    pub port: u16,
    pub pid: i32,
    pub weight: u32,
    #[serde(default = "default_rate")]
    pub rate: u32,
    #[serde(default, with = "humantime_serde_opt")]
    pub ramp_after: Option<Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    pub ramp_for: Option<Duration>,
}

fn default_rate() -> u32 {
    super::args::DEFAULT_RATE
}

/// Durations as people write them ("8s"), absent when unknown.
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

pub fn pid_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.pid"))
}

pub fn record_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

/// The pid in `NAME.pid`, if the file exists and holds a plausible one.
pub fn read_pid(dir: &Path, name: &str) -> Option<i32> {
    let text = fs::read_to_string(pid_path(dir, name)).ok()?;
    text.trim().parse().ok().filter(|p| procs::plausible(*p))
}

pub fn write_pid(dir: &Path, name: &str, pid: i32) -> Result<(), String> {
    write_atomically(&pid_path(dir, name), format!("{pid}\n").as_bytes())
}

pub fn read_record(dir: &Path, name: &str) -> Result<Record, String> {
    let path = record_path(dir, name);
    let text = fs::read_to_string(&path)
        .map_err(|e| format!("no instance {name:?} in {}: {e}", dir.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))
}

pub fn write_record(dir: &Path, rec: &Record) -> Result<(), String> {
    let json =
        serde_json::to_string_pretty(rec).map_err(|e| format!("cannot encode record: {e}"))?;
    write_atomically(&record_path(dir, &rec.name), json.as_bytes())
}

pub fn forget(dir: &Path, name: &str) {
    let _ = fs::remove_file(pid_path(dir, name));
    let _ = fs::remove_file(record_path(dir, name));
}

/// Readers never see a half-written file: write aside, then rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// What stopping one instance found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was running and now is not.
    Ended(i32),
    /// Nothing was running under that name.
    NotRunning,
    /// The pidfile named a live process that is not this instance; it was
    /// left alone and the stale pidfile removed.
    Stranger(i32),
}

/// Stops instance `name` of the fleet in `dir` and forgets it.
pub fn stop(dir: &Path, name: &str) -> Result<Stopped, String> {
    let Some(pid) = read_pid(dir, name) else {
        forget(dir, name);
        return Ok(Stopped::NotRunning);
    };
    if !procs::is_alive(pid) {
        forget(dir, name);
        return Ok(Stopped::NotRunning);
    }
    if !procs::is_instance(pid, Some(name)) {
        forget(dir, name);
        return Ok(Stopped::Stranger(pid));
    }
    terminate(pid)?;
    forget(dir, name);
    Ok(Stopped::Ended(pid))
}

/// SIGTERM, a grace period, then SIGKILL.
pub fn terminate(pid: i32) -> Result<(), String> {
    procs::signal(pid, Signal::SIGTERM)?;
    if procs::wait_gone(pid, TERM_GRACE) {
        return Ok(());
    }
    procs::signal(pid, Signal::SIGKILL)?;
    if procs::wait_gone(pid, Duration::from_secs(1)) {
        Ok(())
    } else {
        Err(format!("pid {pid} survived SIGKILL"))
    }
}

/// The names of every instance with a pidfile in `dir` (none if no dir).
pub fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            file.strip_suffix(".pid").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Stops every instance in the fleet `dir`; returns how many were running.
/// Meant for `slate demo` itself, in process, when the demo ends: it prints
/// nothing (the terminal may belong to the cockpit) and never fails.
pub fn stop_all(dir: &Path) -> usize {
    names(dir)
        .iter()
        .filter(|name| matches!(stop(dir, name), Ok(Stopped::Ended(_))))
        .count()
}
