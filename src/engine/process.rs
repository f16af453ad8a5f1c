//! Stage commands as real child processes, each in its own process group.
//!
//! A stage's shell may fork helpers; killing only the shell would leave them
//! running, so timeouts and aborts signal the whole group. Output is read in
//! lines with a cap on line length so a stage that never prints a newline
//! cannot exhaust memory, and handed on in batches (every complete line of
//! one read) so a flood costs one message per read rather than per line.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::event::Stream;

/// Longest line kept as one event; longer output is split with a marker.
pub const MAX_LINE: usize = 16 * 1024;
/// Time between SIGTERM and SIGKILL when stopping a group.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct ProcSpec {
    pub command: String,
    pub cwd: PathBuf,
    /// Variables added to the inherited environment. Values reach the command
    /// only as variables, never spliced into its text, so they cannot become shell syntax.
    pub env: Vec<(String, String)>,
    /// Inherited variables the command must not see (where `env:` secrets are
    /// read from); `env` may still give one back under a secret's name.
    pub unset: Vec<String>,
}

pub struct Running {
    pub pid: u32,
    pub pgid: i32,
    child: Child,
    readers: Vec<AbortHandle>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

/// Lines from one read of one stream, in order.
pub type Lines = (Stream, Vec<String>);

/// Starts `sh -c command` in a new process group; its lines go to `lines`.
pub fn spawn(spec: &ProcSpec, lines: mpsc::Sender<Lines>) -> std::io::Result<Running> {
    let mut cmd = Command::new("/bin/sh");
    for var in &spec.unset {
        cmd.env_remove(var);
    }
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(read_lines(out, Stream::Stdout, lines.clone())).abort_handle());
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(read_lines(err, Stream::Stderr, lines)).abort_handle());
    }
    Ok(Running {
        pid,
        pgid: pid as i32,
        child,
        readers,
    })
}

async fn read_lines(reader: impl AsyncRead + Unpin, stream: Stream, tx: mpsc::Sender<Lines>) {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut acc: Vec<u8> = Vec::new();
    while let Ok(buf) = reader.fill_buf().await {
        if buf.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(memchr::memchr_iter(b'\n', buf).count() + 1);
        let mut rest = buf;
        while !rest.is_empty() {
            // A whole line inside the read, nothing held from the last one:
            // straight into its string (the common case of a flood).
            if acc.is_empty()
                && let Some(i) = memchr::memchr(b'\n', rest)
                && i < MAX_LINE
            {
                batch.push(line_of(&rest[..i], false));
                rest = &rest[i + 1..];
                continue;
            }
            let room = MAX_LINE - acc.len();
            let (take, complete) = match memchr::memchr(b'\n', rest) {
                Some(i) if i < room => (i + 1, true),
                _ => (rest.len().min(room), false),
            };
            acc.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if complete || acc.len() >= MAX_LINE {
                batch.push(finish_line(&mut acc, !complete));
            }
        }
        let read = buf.len();
        reader.consume(read);
        if !batch.is_empty() && tx.send((stream, batch)).await.is_err() {
            return;
        }
    }
    if !acc.is_empty() {
        let line = finish_line(&mut acc, false);
        let _ = tx.send((stream, vec![line])).await;
    }
}

fn finish_line(acc: &mut Vec<u8>, split: bool) -> String {
    let s = line_of(acc, split);
    acc.clear();
    s
}

/// One line's text without its line end; bytes that are not UTF-8 become
/// U+FFFD. Valid text (nearly all) is checked by the fast validator and
/// copied once.
fn line_of(mut bytes: &[u8], split: bool) -> String {
    while let [rest @ .., b'\n' | b'\r'] = bytes {
        bytes = rest;
    }
    let mut s = match std::str::from_utf8(bytes) {
        Ok(text) => String::with_capacity(text.len() + if split { SPLIT.len() } else { 0 }) + text,
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    if split {
        s.push_str(SPLIT);
    }
    s
}

/// Ends the first part of a line longer than [`MAX_LINE`].
const SPLIT: &str = " ⏎…";

impl Running {
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    pub fn signal_group(&self, sig: Signal) {
        if self.pgid > 0 {
            let _ = killpg(Pid::from_raw(self.pgid), sig);
        }
    }

    /// SIGTERM to the group, SIGKILL after the grace period, and SIGKILL again
    /// once the shell is gone so no grandchild outlives the step.
    pub async fn stop(&mut self) -> Option<ExitStatus> {
        self.signal_group(Signal::SIGTERM);
        let status = match tokio::time::timeout(KILL_GRACE, self.child.wait()).await {
            Ok(s) => s.ok(),
            Err(_) => {
                self.signal_group(Signal::SIGKILL);
                self.child.wait().await.ok()
            }
        };
        self.signal_group(Signal::SIGKILL);
        status
    }
}

/// Exit code, or 128 + signal the way shells report it.
pub fn exit_code(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_both_streams_and_splits_long_lines() {
        let (tx, mut rx) = mpsc::channel(64);
        let spec = ProcSpec {
            command: format!(
                "echo out; echo err >&2; head -c {} /dev/zero | tr '\\0' x; echo",
                MAX_LINE + 10
            ),
            cwd: ".".into(),
            env: vec![],
            unset: vec![],
        };
        let mut p = spawn(&spec, tx).unwrap();
        let status = p.wait().await.unwrap();
        assert!(status.success());
        // Readers end when the pipes close; dropping `p` first would abort them.
        let mut got = Vec::new();
        while let Ok(Some((stream, lines))) =
            tokio::time::timeout(Duration::from_secs(2), rx.recv()).await
        {
            got.extend(lines.into_iter().map(|l| (stream, l)));
        }
        drop(p);
        assert!(got.contains(&(Stream::Stdout, "out".into())));
        assert!(got.contains(&(Stream::Stderr, "err".into())));
        let long: Vec<_> = got.iter().filter(|(_, l)| l.starts_with("xxx")).collect();
        assert_eq!(
            long.len(),
            2,
            "a long line is split in two: {:?}",
            long.iter().map(|l| l.1.len()).collect::<Vec<_>>()
        );
        assert!(long[0].1.ends_with(" ⏎…"));
    }

    #[tokio::test]
    async fn line_ends_go_and_bytes_that_are_not_utf8_become_replacement_characters() {
        let (tx, mut rx) = mpsc::channel(64);
        let spec = ProcSpec {
            command: r"printf 'crlf\r\nbad \377\376 end\n\n\r\nno newline'".into(),
            cwd: ".".into(),
            env: vec![],
            unset: vec![],
        };
        let mut p = spawn(&spec, tx).unwrap();
        assert!(p.wait().await.unwrap().success());
        let mut got = Vec::new();
        while let Ok(Some((_, lines))) =
            tokio::time::timeout(Duration::from_secs(2), rx.recv()).await
        {
            got.extend(lines);
        }
        assert_eq!(
            got,
            ["crlf", "bad \u{fffd}\u{fffd} end", "", "", "no newline"]
        );
    }
}
