//! Bringing a fleet back after its owner died: every instance with a record
//! in the fleet directory whose process is gone is started again as the
//! record says (version, port, weight, traffic), owned by the run that
//! takes the release over. Instances still running are left alone.

use std::path::Path;
use std::process::{Command, Stdio};

use super::fleet;
use super::procs;

/// Revives the fleet in `dir` for the run in `run_dir`, with the slate
/// binary `exe` (`demo-service start`, its output captured, so nothing is
/// printed); returns the names of the instances started again.
pub fn revive(dir: &Path, run_dir: &Path, exe: &Path) -> Result<Vec<String>, String> {
    let mut revived = Vec::new();
    for name in records(dir) {
        let running = fleet::read_pid(dir, &name)
            .is_some_and(|pid| procs::is_alive(pid) && procs::is_instance(pid, Some(&name)));
        if running {
            continue;
        }
        let rec = fleet::read_record(dir, &name)?;
        let mut cmd = Command::new(exe);
        cmd.args(["demo-service", "start", "--name", &name, "--version"])
            .arg(&rec.version)
            .args(["--port", &rec.port.to_string()])
            .args(["--weight", &rec.weight.to_string()])
            .args(["--rate", &rec.rate.to_string()]);
        for (flag, d) in [
            ("--ramp-after", rec.ramp_after),
            ("--ramp-for", rec.ramp_for),
        ] {
            if let Some(d) = d {
                cmd.arg(flag).arg(humantime::format_duration(d).to_string());
            }
        }
        let out = cmd
            .arg("--dir")
            .arg(dir)
            .arg("--owner-run")
            .arg(run_dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot bring the demo's {name} instance back: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot bring the demo's {name} instance back: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        revived.push(name);
    }
    Ok(revived)
}

/// The names of every instance with a record in `dir`.
fn records(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            file.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}
