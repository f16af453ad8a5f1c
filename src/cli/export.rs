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
    let mut file = match create(path) {
        Ok(f) => f,
        Err(why) => return Said::fail(1, why),
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

/// A new owner-only file at `path`; an existing one is never overwritten.
fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, String> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => Ok(std::io::BufWriter::new(f)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(format!("{} exists; it was left as it is", path.display()))
        }
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
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
        out.write_all(json_safe(&String::from_utf8_lossy(&line)).as_bytes())?;
        n += 1;
    }
}

/// `slate export RUN` of a run this machine does not have: from the team
/// journal, when a team store is configured (else the local error stands).
fn from_team(run: &str, out: Option<&Path>, local: &str) -> i32 {
    use crate::store::postgres::{configured, reader};
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
    let id = match reader::resolve(&team, run) {
        Ok(id) => id,
        Err(e) => {
            crate::warn_user!("slate: {local}; {e}");
            return crate::exit::USAGE;
        }
    };
    let written = match out {
        Some(path) => {
            let mut file = match create(path) {
                Ok(f) => f,
                Err(why) => {
                    crate::warn_user!("slate: {why}");
                    return 1;
                }
            };
            reader::export(&team, &id, &mut file)
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
            reader::export(&team, &id, &mut lock).map(|_| ())
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

/// A journal line with every character a terminal (or a reader) could obey
/// written as a JSON `\uXXXX` escape: C0 controls, DEL, C1 controls, line
/// separators and bidi controls. Inside a JSON string that is the same
/// text; Slate's own lines never hold them raw (serde_json escapes C0
/// already), so only a hand-edited journal or a forged team row changes.
/// The line's own newline stays.
pub fn json_safe(line: &str) -> std::borrow::Cow<'_, str> {
    let hazard = |c: char| {
        (c != '\n' && c.is_control())
            || matches!(c, '\u{2028}' | '\u{2029}')
            || crate::text::neutral::is_bidi(c)
    };
    if !line.chars().any(hazard) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if hazard(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::json_safe;

    #[test]
    fn hazards_become_json_escapes_and_the_json_means_the_same() {
        let line = "{\"t\":\"a\u{1b}]0;x\u{7}\u{9b}2J\u{202e}b\u{7f}\"}\n";
        let safe = json_safe(line);
        assert_eq!(
            safe,
            "{\"t\":\"a\\u001b]0;x\\u0007\\u009b2J\\u202eb\\u007f\"}\n"
        );
        // Raw C0 is not JSON at all (a forged row); the escaped line is.
        assert!(serde_json::from_str::<serde_json::Value>(line.trim_end()).is_err());
        assert!(serde_json::from_str::<serde_json::Value>(safe.trim_end()).is_ok());
        // What JSON allows raw (DEL, C1, bidi) means the same escaped.
        let valid = "{\"t\":\"a\u{9b}2J\u{202e}b\u{7f}\"}";
        let a: serde_json::Value = serde_json::from_str(valid).unwrap();
        let b: serde_json::Value = serde_json::from_str(&json_safe(valid)).unwrap();
        assert_eq!(a, b);
        assert!(matches!(
            json_safe("{\"ok\":1}\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
