//! Turning `env:` / `file:` / `cmd:` references into values.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use crate::plan::{Plan, SecretSource};

/// Shorter values cannot be masked without masking ordinary text too.
pub const MIN_LEN: usize = 4;
/// A secret manager's CLI gets this long to answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Larger values are not secrets but files; refused.
const MAX_LEN: usize = 64 * 1024;

/// Each secret's value by name.
pub type Resolved = BTreeMap<String, String>;

/// Resolves every secret the plan declares; the first problem stops it, with
/// a message that names the secret and its reference but never a value.
pub async fn resolve(plan: &Plan) -> Result<Resolved, String> {
    let mut out = Resolved::new();
    for s in &plan.secrets {
        let value = match &s.source {
            SecretSource::Env(var) => std::env::var(var).map_err(|_| {
                format!(
                    "secret {}: the variable {var} is not set (or not UTF-8)",
                    s.name
                )
            })?,
            SecretSource::File(path) => tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("secret {}: cannot read {}: {e}", s.name, path.display()))?,
            // The command is not quoted back: it may span lines, and naming
            // the secret says which one it is.
            SecretSource::Command(command) => run(command, &plan.base_dir, &source_variables(plan))
                .await
                .map_err(|e| format!("secret {}: its command {e}", s.name))?,
        };
        // A trailing newline is how files and CLIs end a value, not part of it.
        let value = value.trim_end_matches(['\n', '\r']).to_string();
        if value.chars().count() < MIN_LEN {
            return Err(format!(
                "secret {} is shorter than {MIN_LEN} characters; too short to mask reliably",
                s.name
            ));
        }
        if value.len() > MAX_LEN {
            return Err(format!("secret {} is longer than {MAX_LEN} bytes", s.name));
        }
        out.insert(s.name.clone(), value);
    }
    Ok(out)
}

/// The variables `env:` secrets are read from. No child process Slate starts
/// inherits them: a stage gets a secret's value only under the secret's own
/// name, and only if it names the secret.
pub fn source_variables(plan: &Plan) -> Vec<String> {
    plan.secrets
        .iter()
        .filter_map(|s| match &s.source {
            SecretSource::Env(var) => Some(var.clone()),
            _ => None,
        })
        .collect()
}

/// Runs a secret manager's command; its stdout is the value. Its stderr is
/// not quoted in messages (a failing CLI may echo what it was given).
async fn run(command: &str, cwd: &std::path::Path, unset: &[String]) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    for var in unset {
        cmd.env_remove(var);
    }
    let child = cmd
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let out = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("did not answer within {}s", COMMAND_TIMEOUT.as_secs()))?
        .map_err(|e| format!("failed: {e}"))?;
    if !out.status.success() {
        return Err(format!("exited with {}", out.status));
    }
    String::from_utf8(out.stdout).map_err(|_| "printed something that is not UTF-8".to_string())
}
