//! What Slate asks git (the dossier's release notes, the commits a promotion
//! brings, lead time's commit dates): `git log --oneline PREV..VERSION` when the plan
//! names a repository and both refs exist. Refs go to git as arguments, never
//! through a shell, and a ref that looks like an option is refused.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest one git command may take: a repository on a mount that
/// stopped answering must not hold a run at an environment's door, nor its
/// dossier, nor `slate stats`.
pub const GIT_WAIT: Duration = Duration::from_secs(10);

/// `git -C repo ARGS`, its stdout read as it comes (a long log cannot fill
/// the pipe and stall it), killed past [`GIT_WAIT`].
fn run(repo: &Path, args: &[&str]) -> Result<Output, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let mut pipe = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.read_to_end(&mut out);
        }
        out
    });
    let deadline = Instant::now() + GIT_WAIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("git took longer than {} s", GIT_WAIT.as_secs()));
            }
            Err(e) => return Err(format!("cannot wait for git: {e}")),
        }
    };
    // A grandchild holding the pipe open past git's exit is not waited for.
    let stdout = reader.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr: Vec::new(),
    })
}

/// Commits listed at most; a longer log says how many were left out.
const MAX_COMMITS: usize = 200;

/// The commits between two refs, or why there are none to show.
pub fn log(repo: &Path, prev: &str, version: &str) -> Result<Vec<String>, String> {
    for r in [prev, version] {
        if r.starts_with('-') || r.contains("..") {
            return Err(format!("`{r}` is not a usable git ref"));
        }
    }
    // A ref git does not know is None; git that cannot be run or does not
    // answer in time ends the whole question (one wait, not three).
    let resolve = |r: &str| -> Result<Option<String>, String> {
        let out = run(
            repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &format!("{r}^{{commit}}"),
            ],
        )?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    };
    let (Some(a), Some(b)) = (resolve(prev)?, resolve(version)?) else {
        return Err(format!(
            "`{prev}` or `{version}` is not a ref in {}",
            repo.display()
        ));
    };
    let out = run(
        repo,
        &[
            "log",
            "--oneline",
            "--no-decorate",
            "--no-color",
            &format!("{a}..{b}"),
        ],
    )?;
    if !out.status.success() {
        return Err(format!("git log failed in {}", repo.display()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let all: Vec<&str> = text.lines().collect();
    let mut lines: Vec<String> = all
        .iter()
        .take(MAX_COMMITS)
        .map(|l| l.to_string())
        .collect();
    if all.len() > MAX_COMMITS {
        lines.push(format!("… and {} more commits", all.len() - MAX_COMMITS));
    }
    Ok(lines)
}

/// When `rev`'s commit was made (the committer date), or None when the
/// plan's repository does not know `rev` (or git cannot be run).
pub fn commit_time(repo: &Path, rev: &str) -> Option<jiff::Timestamp> {
    if rev.is_empty() || rev.starts_with('-') || rev.contains("..") {
        return None;
    }
    let out = run(
        repo,
        &[
            "log",
            "-1",
            "--no-walk",
            "--format=%ct",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
            "--",
        ],
    )
    .ok()?;
    if !out.status.success() {
        return None;
    }
    let secs: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    jiff::Timestamp::from_second(secs).ok()
}
