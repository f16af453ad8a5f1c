//! Reading `[[artifacts]]`: what the release promotes, and the sha256 each
//! must keep from the first environment to the last.

use super::*;

pub(super) const ARTIFACT_KEYS: &[&str] = &["name", "path", "digest_command", "sha256", "timeout"];
const DEFAULT_DIGEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The engine answers no command while a digest is computed, so it stays short.
const MAX_DIGEST_TIMEOUT: Duration = Duration::from_secs(600);

impl Loader<'_> {
    pub(super) fn artifact(&mut self, t: &DeTable<'_>, span: Span) -> Option<Artifact> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("artifact `{s}`"),
            _ => "an artifact".to_string(),
        };
        let t = Table::new(t, span, label);
        t.check_keys(self.cx, ARTIFACT_KEYS);
        let name = t.req_name(self.cx, "name");
        let path = self.non_empty(&t, "path");
        let command = self.non_empty(&t, "digest_command");
        let sha256 = t
            .string(self.cx, "sha256")
            .and_then(|s| match parse_sha256(s.get_ref()) {
                Ok(hex) => Some(hex),
                Err(why) => {
                    self.cx
                        .error(s.span(), format!("`sha256` of {} {why}", t.what));
                    None
                }
            });
        let timeout = self.positive(&t, "timeout");
        if let Some(d) = timeout
            && d > MAX_DIGEST_TIMEOUT
        {
            self.cx.error(
                t.get("timeout").map(|v| v.span()).unwrap_or(t.span.clone()),
                format!(
                    "`timeout` in {} must be at most {}: Slate answers no command while a digest is computed",
                    t.what,
                    humantime::format_duration(MAX_DIGEST_TIMEOUT)
                ),
            );
        }
        let has = |k: &str| t.get(k).is_some();
        let source = match (has("path"), has("digest_command")) {
            (true, true) => {
                self.cx.error(
                    t.key_span("digest_command").unwrap_or(t.span.clone()),
                    format!(
                        "{} has both `path` and `digest_command`: give one (a file Slate hashes, or a command that prints the digest)",
                        t.what
                    ),
                );
                None
            }
            (false, false) => {
                self.cx.error(
                    t.span.clone(),
                    format!(
                        "{} needs `path` (a file Slate hashes) or `digest_command` (a command that prints its sha256)",
                        t.what
                    ),
                );
                None
            }
            (true, false) => {
                if let Some(ks) = t.key_span("timeout") {
                    self.cx.error(
                        ks,
                        format!("`timeout` in {} applies only to `digest_command`", t.what),
                    );
                }
                if !has("sha256") {
                    self.cx.error(
                        t.key_span("path").unwrap_or(t.span.clone()),
                        format!(
                            "{} has a `path` but no `sha256`: write the digest the file must have (as `sha256sum` prints it)",
                            t.what
                        ),
                    );
                }
                path.map(|p| ArtifactSource::File(PathBuf::from(p)))
            }
            (false, true) => command.map(|command| ArtifactSource::Command {
                command,
                timeout: timeout.unwrap_or(DEFAULT_DIGEST_TIMEOUT),
            }),
        };
        if has("sha256") && sha256.is_none() {
            return None;
        }
        Some(Artifact {
            name: name?.into_inner(),
            source: source?,
            sha256,
        })
    }

    /// A string that must not be blank.
    fn non_empty(&mut self, t: &Table<'_, '_>, key: &str) -> Option<String> {
        let s = t.string(self.cx, key)?;
        if s.get_ref().trim().is_empty() {
            self.cx
                .error(s.span(), format!("`{key}` in {} is empty", t.what));
            return None;
        }
        Some(s.into_inner())
    }
}

/// A sha256 digest written `<hex>` or `sha256:<hex>`, as 64 lowercase hex
/// digits; `Err` completes "`sha256` of artifact `x` …".
pub fn parse_sha256(text: &str) -> Result<String, String> {
    let hex = text.trim();
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "must be 64 hexadecimal digits, found the character {c:?}"
        ));
    }
    if hex.len() != 64 {
        return Err(format!(
            "must be 64 hexadecimal digits, found {} digits",
            hex.len()
        ));
    }
    Ok(hex.to_ascii_lowercase())
}
