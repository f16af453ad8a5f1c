//! Reading `[secrets]`: names mapped to where their values live. The plan
//! never holds a value, only a reference: `env:NAME`, `file:PATH` or
//! `cmd:COMMAND` (a secret manager's CLI). Stages name the secrets they get.

use super::*;

impl Loader<'_> {
    pub(super) fn secrets(&mut self, top: &Table<'_, '_>) -> Vec<Secret> {
        let mut out = Vec::new();
        for (name, text) in top.scalar_map(self.cx, "secrets") {
            let key = name.get_ref();
            if !is_env_name(key) || key.starts_with("SLATE_") {
                self.cx.error(
                    name.span(),
                    format!(
                        "secret `{key}` must be named like an environment variable \
                         (ASCII letters, digits and `_`, not starting with a digit, not SLATE_…): \
                         stages get it under that name"
                    ),
                );
                continue;
            }
            let source = match text.split_once(':') {
                Some(("env", var)) if is_env_name(var) => Some(SecretSource::Env(var.to_string())),
                Some(("file", path)) if !path.trim().is_empty() => {
                    let p = PathBuf::from(path);
                    Some(SecretSource::File(if p.is_absolute() {
                        p
                    } else {
                        self.base_dir.join(p)
                    }))
                }
                Some(("cmd", command)) if !command.trim().is_empty() => {
                    Some(SecretSource::Command(command.to_string()))
                }
                _ => None,
            };
            match source {
                Some(source) => out.push(Secret {
                    name: key.clone(),
                    source,
                }),
                None => self.cx.error(
                    name.span(),
                    format!(
                        "secret `{key}` must say where its value lives — `env:VARIABLE`, \
                         `file:PATH` or `cmd:COMMAND` — never the value itself"
                    ),
                ),
            }
        }
        out
    }
}

pub(super) fn is_env_name(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
