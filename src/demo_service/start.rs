//! `start`: launch a named instance that outlives the command that started
//! it. Stage commands run in their own process group with their output
//! piped to Slate, so the instance gets its own session (no group kill or
//! terminal hang-up reaches it) and its own log file (Slate's reader sees
//! EOF as soon as `start` exits, not when the instance does).

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::args::{OWNER_ENV, OwnerSpec, RUN_ENV, StartArgs, validate_name};
use super::client;
use super::fleet::{self, Record};

/// How long a new instance gets to become healthy.
const READY_WITHIN: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);
/// How much of the log a failure report quotes.
const LOG_TAIL_LINES: usize = 8;

pub fn run(args: StartArgs) -> Result<(), String> {
    validate_name(&args.name)?;
    args.traffic.validate()?;
    let owner = args.traffic.owner()?;
    let dir = args.dir.as_path();
    crate::paths::ensure_private_dir(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Restart semantics: a running instance of this name makes way.
    fleet::stop(dir, &args.name)?;

    let log_path = fleet::log_path(dir, &args.name);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;

    let exe = std::env::current_exe().map_err(|e| format!("cannot find slate itself: {e}"))?;
    let mut cmd = Command::new(exe);
    // The owner goes on the command line (visible in `ps`); the variable is
    // dropped so the instance obeys exactly what this `start` resolved.
    cmd.args(serve_args(&args, owner))
        .env_remove(OWNER_ENV)
        .env_remove(RUN_ENV)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(Into::into));
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot launch {}: {e}", args.name))?;
    let pid = child.id() as i32;
    if let Err(e) = fleet::write_pid(dir, &args.name, pid) {
        abandon(&mut child, dir, &args.name);
        return Err(e);
    }

    let port = match wait_ready(&mut child, &log_path, log_start) {
        Ok(port) => port,
        Err(why) => {
            abandon(&mut child, dir, &args.name);
            return Err(format!(
                "{} did not start: {why}{}",
                args.name,
                log_tail(&log_path, log_start)
            ));
        }
    };
    let record = Record {
        name: args.name.clone(),
        version: args.version.clone(),
        port,
        pid,
        weight: args.traffic.weight,
        rate: args.traffic.rate,
        ramp_after: Some(args.traffic.ramp_after),
        ramp_for: Some(args.traffic.ramp_for),
    };
    fleet::write_record(dir, &record)?;
    crate::say!(
        "started {} {} on 127.0.0.1:{port} (pid {pid})",
        args.name,
        args.version
    );
    Ok(())
}

/// The `serve` command line for this instance; `--name` comes first so
/// `stop` can recognise the process as this instance.
fn serve_args(args: &StartArgs, owner: Option<OwnerSpec>) -> Vec<String> {
    let t = &args.traffic;
    let mut v: Vec<String> = vec![
        "demo-service".into(),
        "serve".into(),
        "--name".into(),
        args.name.clone(),
        "--version".into(),
        args.version.clone(),
        "--port".into(),
        args.port.to_string(),
        "--weight".into(),
        t.weight.to_string(),
        "--rate".into(),
        t.rate.to_string(),
        "--ramp-after".into(),
        humantime::format_duration(t.ramp_after).to_string(),
        "--ramp-for".into(),
        humantime::format_duration(t.ramp_for).to_string(),
    ];
    match owner {
        Some(OwnerSpec::Pid(pid)) => v.extend(["--owner-pid".into(), pid.to_string()]),
        Some(OwnerSpec::Run(dir)) => {
            v.extend(["--owner-run".into(), dir.display().to_string()]);
        }
        None => {}
    }
    v
}

/// Waits for the instance to announce its port in the log and then answer
/// `/healthz`. Reading the port from the log (rather than probing the
/// requested one) means another server already on that port can never pass
/// for ours, and `--port 0` works.
fn wait_ready(child: &mut Child, log: &Path, log_start: u64) -> Result<u16, String> {
    let rt = client::runtime()?;
    let http = client::http()?;
    let deadline = Instant::now() + READY_WITHIN;
    let mut port = None;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status})"));
        }
        if port.is_none() {
            port = announced_port(log, log_start);
        }
        if let Some(p) = port
            && rt.block_on(client::healthy(&http, p))
        {
            return Ok(p);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not healthy within {}",
                humantime::format_duration(READY_WITHIN)
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// The port from the `listening on 127.0.0.1:PORT` line written since `from`.
fn announced_port(log: &Path, from: u64) -> Option<u16> {
    let text = read_from(log, from)?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("listening on 127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
}

fn read_from(path: &Path, from: u64) -> Option<String> {
    let mut f = fs::File::open(path).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The last lines this attempt wrote to the log, indented, for the error.
fn log_tail(log: &Path, from: u64) -> String {
    let text = read_from(log, from).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return format!(" (nothing in {})", log.display());
    }
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
    let mut out = format!("; last lines of {}:", log.display());
    for l in tail {
        out.push_str("\n  ");
        out.push_str(l);
    }
    out
}

/// Kills a launch that failed and forgets it.
fn abandon(child: &mut Child, dir: &Path, name: &str) {
    let _ = child.kill();
    let _ = child.wait();
    fleet::forget(dir, name);
}
