//! `slate export RUN [-o FILE]`: a run's journal as NDJSON, one record per
//! line, for tools and for another machine (`slate replay FILE` and every
//! other reader take it). Only whole lines are written: a torn last line
//! (an engine killed mid-write) is left out, as recovery leaves it. The
//! journal is streamed, never held in memory, so a run with a million
//! output lines costs a buffer.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::said::Said;

pub fn run(state_dir: &Path, run: &str, out: Option<&Path>) -> i32 {
    let dir = match crate::runs::find_run(state_dir, run) {
        Ok(d) => d,
        // Not on this machine: a team run is in the team journal.
        Err(e) => return from_team(run, out, &e.to_string()),
    };
    match out {
        Some(path) => to_file(&dir, path).print(),
        None => {
            let stdout = std::io::stdout();
            match copy(&dir, &mut stdout.lock()) {
                Ok(_) => 0,
                // A reader that went away (`| head`) is not a failure of ours.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    crate::warn_user!("slate: {e}");
                    1
                }
            }
        }
    }
}

/// Writes the journal of the run in `run_dir` to a new file `path`
/// (owner-only; an existing file is never overwritten).
pub fn to_file(run_dir: &Path, path: &Path) -> Said {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let mut file = match file {
        Ok(f) => std::io::BufWriter::new(f),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Said::fail(
                1,
                format!("{} exists; it was left as it is", path.display()),
            );
        }
        Err(e) => return Said::fail(1, format!("cannot create {}: {e}", path.display())),
    };
    match copy(run_dir, &mut file).and_then(|n| file.flush().map(|()| n)) {
        Ok(n) => Said::ok(vec![format!(
            "exported {n} record{} to {}",
            if n == 1 { "" } else { "s" },
            path.display()
        )]),
        Err(e) => Said::fail(1, format!("cannot write {}: {e}", path.display())),
    }
}

/// Copies the journal's whole lines to `out`; how many.
fn copy(run_dir: &Path, out: &mut impl Write) -> std::io::Result<u64> {
    let path = run_dir.join(crate::journal::JOURNAL_FILE);
    let mut file = BufReader::with_capacity(
        256 * 1024,
        std::fs::File::open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
    );
    let mut line = Vec::with_capacity(4096);
    let mut n = 0u64;
    loop {
        line.clear();
        if file.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
            return Ok(n);
        }
        out.write_all(&line)?;
        n += 1;
    }
}

/// `slate export RUN` of a run this machine does not have: from the team
/// journal, when a team store is configured (else the local error stands).
fn from_team(run: &str, out: Option<&Path>, local: &str) -> i32 {
    use crate::store::postgres::{configured, journal};
    let team = match configured(&crate::paths::config_dir()) {
        Ok(Some(t)) => t,
        Ok(None) => {
            crate::warn_user!("slate: {local}");
            return crate::exit::USAGE;
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    let id = match journal::resolve(&team, run) {
        Ok(id) => id,
        Err(e) => {
            crate::warn_user!("slate: {local}; {e}");
            return crate::exit::USAGE;
        }
    };
    let written = match out {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            let mut file = match file {
                Ok(f) => std::io::BufWriter::new(f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    crate::warn_user!("slate: {} exists; it was left as it is", path.display());
                    return 1;
                }
                Err(e) => {
                    crate::warn_user!("slate: cannot create {}: {e}", path.display());
                    return 1;
                }
            };
            journal::export(&team, &id, &mut file)
                .and_then(|n| file.flush().map(|()| n).map_err(|e| e.to_string()))
                .map(|n| {
                    crate::say!(
                        "exported {n} record{} of run {id} from the team journal to {}",
                        if n == 1 { "" } else { "s" },
                        path.display()
                    );
                })
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            journal::export(&team, &id, &mut lock).map(|_| ())
        }
    };
    match written {
        Ok(()) => 0,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            1
        }
    }
}
