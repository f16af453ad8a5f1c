//! Build once, promote the same bits: before every environment starts, each
//! artifact's sha256 is computed again and compared with the one it must
//! have (the plan's, or the first one this run saw). One `ArtifactVerified`
//! per artifact; any mismatch and the environment never starts.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::event::{Event, Stream};
use super::process::{self, ProcSpec};
use super::{Engine, Fatal};
use crate::plan::{Artifact, ArtifactSource};

/// Lines of a digest command's output kept, to find the digest and explain a failure.
const KEEP_LINES: usize = 20;
/// How long output may keep arriving after the command exits.
const DRAIN: Duration = Duration::from_millis(300);

impl Engine {
    /// Computes and journals every artifact's digest before environment
    /// `env` starts. Returns why it must not start (naming each artifact
    /// that failed and what was found), or `None` when every one matched.
    pub(super) async fn verify_artifacts(&mut self, env: usize) -> Result<Option<String>, Fatal> {
        let mut refused = Vec::new();
        for a in self.plan.artifacts.clone() {
            let expected = a.sha256.clone().or_else(|| {
                self.state
                    .artifacts
                    .iter()
                    .find(|v| v.name == a.name)
                    .and_then(|v| v.expected.clone())
            });
            let (found, ok, message) = match self.digest(&a, env).await {
                Err(why) => (None, false, why),
                Ok(d) => match &expected {
                    Some(e) if *e == d => (Some(d), true, "sha256 matches".to_string()),
                    Some(e) => (
                        Some(d.clone()),
                        false,
                        format!("digest changed: expected sha256:{e}, found sha256:{d}"),
                    ),
                    None => (
                        Some(d),
                        true,
                        "first digest seen; every later environment must match it".to_string(),
                    ),
                },
            };
            if !ok {
                refused.push(format!("artifact {}: {message}", a.name));
            }
            self.emit(Event::ArtifactVerified {
                env,
                name: a.name.clone(),
                expected,
                found,
                ok,
                message,
            })?;
        }
        Ok((!refused.is_empty()).then(|| {
            format!(
                "{} not started: {}",
                self.plan.environments[env].name,
                refused.join("; ")
            )
        }))
    }

    /// The artifact's sha256 as 64 lowercase hex digits, or why there is none.
    async fn digest(&self, a: &Artifact, env: usize) -> Result<String, String> {
        match &a.source {
            ArtifactSource::File(p) => {
                let path = resolve(&self.plan.base_dir, p);
                // Off the engine's task: a large file takes a while to read.
                tokio::task::spawn_blocking(move || hash_file(&path))
                    .await
                    .map_err(|e| format!("hashing stopped: {e}"))?
            }
            ArtifactSource::Command { command, timeout } => {
                let vars = vec![
                    ("SLATE_RUN_ID".to_string(), self.run_id.clone()),
                    ("SLATE_RELEASE".to_string(), self.plan.release.name.clone()),
                    (
                        "SLATE_VERSION".to_string(),
                        self.plan.release.version.clone(),
                    ),
                    (
                        "SLATE_PREVIOUS_VERSION".to_string(),
                        self.plan.release.previous_version.clone(),
                    ),
                    (
                        "SLATE_ENV".to_string(),
                        self.plan.environments[env].name.clone(),
                    ),
                    ("SLATE_ARTIFACT".to_string(), a.name.clone()),
                ];
                let spec = ProcSpec {
                    command: command.clone(),
                    cwd: self.plan.base_dir.clone(),
                    env: vars,
                    unset: crate::secrets::source_variables(&self.plan),
                };
                run_digest_command(&spec, *timeout).await
            }
        }
    }
}

fn hash_file(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    // Never a FIFO or a device: hashing one would block or never end.
    let (mut file, _) = crate::userfile::open_regular(path)
        .map_err(|why| format!("cannot read {}: {why}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(cannot)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Runs a digest command in its own process group, within `timeout`, and
/// reads the digest from the last line it printed.
async fn run_digest_command(spec: &ProcSpec, timeout: Duration) -> Result<String, String> {
    let (tx, mut rx) = mpsc::channel(64);
    let mut proc =
        process::spawn(spec, tx).map_err(|e| format!("cannot start the digest command: {e}"))?;
    let mut stdout: VecDeque<String> = VecDeque::new();
    let mut stderr: VecDeque<String> = VecDeque::new();
    let mut keep = |(stream, lines): process::Lines| {
        let q = match stream {
            Stream::Stdout => &mut stdout,
            Stream::Stderr => &mut stderr,
        };
        for line in lines {
            if !line.trim().is_empty() {
                if q.len() == KEEP_LINES {
                    q.pop_front();
                }
                q.push_back(line);
            }
        }
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let status = loop {
        tokio::select! {
            Some(l) = rx.recv() => keep(l),
            s = proc.wait() => break s,
            () = tokio::time::sleep_until(deadline) => {
                proc.stop().await;
                return Err(format!(
                    "the digest command did not finish within {}",
                    humantime::format_duration(timeout)
                ));
            }
        }
    };
    let drain_until = tokio::time::Instant::now() + DRAIN;
    while let Ok(Some(l)) = tokio::time::timeout_at(drain_until, rx.recv()).await {
        keep(l);
    }
    drop(proc);
    let status = status.map_err(|e| format!("the digest command failed: {e}"))?;
    if !status.success() {
        let code = process::exit_code(&status)
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into());
        let said = stderr
            .back()
            .or(stdout.back())
            .map(|l| format!(": {}", shorten(l.trim())))
            .unwrap_or_default();
        return Err(format!("the digest command exited with {code}{said}"));
    }
    let Some(last) = stdout.back() else {
        return Err("the digest command printed nothing".into());
    };
    digest_in(last).ok_or_else(|| {
        format!(
            "the digest command printed `{}`, not a sha256 digest (sha256:<64 hex> or <64 hex>)",
            shorten(last.trim())
        )
    })
}

/// The digest in a line such as `sha256:ab…`, `ab…  file` (as `sha256sum`
/// prints it) or `registry/app@sha256:ab…`.
fn digest_in(line: &str) -> Option<String> {
    let line = line.trim();
    let token = match line.rfind("sha256:") {
        Some(i) => line[i..].split_whitespace().next()?,
        None => line.split_whitespace().next()?,
    };
    crate::plan::parse_sha256(token).ok()
}

fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

/// Where an artifact's file is read from: relative paths start at the plan's directory.
fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_found_in_the_usual_shapes() {
        let hex = "a".repeat(64);
        assert_eq!(digest_in(&hex), Some(hex.clone()));
        assert_eq!(digest_in(&format!("sha256:{hex}")), Some(hex.clone()));
        assert_eq!(
            digest_in(&format!("{hex}  dist/app.tar.gz")),
            Some(hex.clone())
        );
        assert_eq!(
            digest_in(&format!("registry.example/app@sha256:{}", "B".repeat(64))),
            Some("b".repeat(64))
        );
        assert_eq!(digest_in("latest"), None);
        assert_eq!(digest_in(&"a".repeat(63)), None);
    }

    #[test]
    fn a_file_hashes_to_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            hash_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(
            hash_file(&dir.path().join("missing"))
                .unwrap_err()
                .starts_with("cannot read ")
        );
    }
}
