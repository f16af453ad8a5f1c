//! What Slate asks git (the dossier's release notes, the commits a promotion
//! brings, lead time's commit dates): `git log --oneline PREV..VERSION` when the plan
//! names a repository and both refs exist. Refs go to git as arguments, never
//! through a shell, and a ref that looks like an option is refused.

use std::path::Path;
use std::process::{Command, Stdio};

/// Commits listed at most; a longer log says how many were left out.
const MAX_COMMITS: usize = 200;

/// The commits between two refs, or why there are none to show.
pub fn log(repo: &Path, prev: &str, version: &str) -> Result<Vec<String>, String> {
    for r in [prev, version] {
        if r.starts_with('-') || r.contains("..") {
            return Err(format!("`{r}` is not a usable git ref"));
        }
    }
    let resolve = |r: &str| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{r}^{{commit}}"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let (Some(a), Some(b)) = (resolve(prev), resolve(version)) else {
        return Err(format!(
            "`{prev}` or `{version}` is not a ref in {}",
            repo.display()
        ));
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["log", "--oneline", "--no-decorate", "--no-color"])
        .arg(format!("{a}..{b}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
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
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["log", "-1", "--no-walk", "--format=%ct", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .arg("--")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let secs: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    jiff::Timestamp::from_second(secs).ok()
}
