//! Reading `[[stages]]`: the commands, their limits, rollbacks and where they run.

use super::*;

pub(super) const STAGE_KEYS: &[&str] = &[
    "name",
    "kind",
    "owner",
    "command",
    "cwd",
    "env",
    "timeout",
    "retries",
    "backoff",
    "rollback",
    "irreversible",
    "idempotent",
    "rollout",
    "environments",
    "gates_after",
    "smoke",
    "secrets",
];
const DEFAULT_STAGE_TIMEOUT: Duration = Duration::from_secs(600);

impl Loader<'_> {
    pub(super) fn stage(
        &mut self,
        t: &DeTable<'_>,
        span: Span,
        owner_default: &str,
        refs: &mut Vec<Ref>,
    ) -> Option<(Stage, Spanned<String>)> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("stage `{s}`"),
            _ => "a stage".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, STAGE_KEYS);
        let name = t.req_name(self.cx, "name");
        let kind = t.choice(self.cx, "kind", &StageKind::NAMES);
        let kind_ok = t.get("kind").is_none() || kind.is_some();
        let owner = t.string(self.cx, "owner");
        let command = t.req_string(self.cx, "command");
        if let Some(c) = &command
            && c.get_ref().trim().is_empty()
        {
            self.cx
                .error(c.span(), format!("`command` of {label} is empty"));
        }
        let cwd = t.string(self.cx, "cwd");
        let env = t.scalar_map(self.cx, "env");
        let mut env_ok = true;
        for (k, _) in &env {
            let key = k.get_ref();
            if !super::secret::is_env_name(key) {
                self.cx.error(
                    k.span(),
                    format!(
                        "`{key}` in {label} is not a valid environment variable name \
                         (use ASCII letters, digits and `_`, not starting with a digit)"
                    ),
                );
                env_ok = false;
            } else if key.starts_with("SLATE_") {
                self.cx.error(
                    k.span(),
                    format!(
                        "`{key}` in {label}: names starting with SLATE_ are set by Slate itself"
                    ),
                );
                env_ok = false;
            }
        }
        let timeout = self.positive(&t, "timeout");
        let retries = t.int(self.cx, "retries", 0, 100);
        let backoff = t.duration(self.cx, "backoff");
        let rollback = t.string(self.cx, "rollback");
        let irreversible = t.boolean(self.cx, "irreversible").unwrap_or(false);
        let idempotent = t.boolean(self.cx, "idempotent").unwrap_or(false);
        let rollout = t.boolean(self.cx, "rollout").unwrap_or(false);
        let environments = t.string_list(self.cx, "environments");
        if let Some(envs) = &environments {
            for e in envs {
                refs.push(Ref {
                    kind: "environment",
                    name: e.clone(),
                    from: format!("`environments` of {label}"),
                });
            }
        }
        let smoke = t.string_list(self.cx, "smoke").unwrap_or_default();
        for c in &smoke {
            refs.push(Ref {
                kind: "check",
                name: c.clone(),
                from: format!("`smoke` of {label}"),
            });
        }
        let secrets = t.string_list(self.cx, "secrets").unwrap_or_default();
        for s in &secrets {
            refs.push(Ref {
                kind: "secret",
                name: s.clone(),
                from: format!("`secrets` of {label}"),
            });
            if env.iter().any(|(k, _)| k.get_ref() == s.get_ref()) {
                self.cx.error(
                    s.span(),
                    format!(
                        "{label} sets `{}` in `env` and names it as a secret; give the secret another name",
                        s.get_ref()
                    ),
                );
            }
        }
        let gates_after = t.string_list(self.cx, "gates_after").unwrap_or_default();
        for g in &gates_after {
            refs.push(Ref {
                kind: "gate",
                name: g.clone(),
                from: format!("`gates_after` of {label}"),
            });
        }
        let name = name?;
        if !kind_ok || !env_ok || (t.get("timeout").is_some() && timeout.is_none()) {
            return None;
        }
        Some((
            Stage {
                name: name.get_ref().clone(),
                kind: kind
                    .and_then(|k| StageKind::from_name(k.get_ref()))
                    .unwrap_or(StageKind::Custom),
                owner: owner
                    .map(|o| o.into_inner())
                    .unwrap_or_else(|| owner_default.to_string()),
                command: command?.into_inner(),
                cwd: cwd.map(|c| PathBuf::from(c.into_inner())),
                env: env.into_iter().map(|(k, v)| (k.into_inner(), v)).collect(),
                timeout: timeout.unwrap_or(DEFAULT_STAGE_TIMEOUT),
                retries: retries.map(|r| *r.get_ref() as u32).unwrap_or(0),
                backoff: backoff
                    .map(|b| b.into_inner())
                    .unwrap_or(Duration::from_secs(1)),
                rollback: rollback
                    .map(|r| r.into_inner())
                    .filter(|r| !r.trim().is_empty()),
                irreversible,
                idempotent,
                rollout,
                environments: environments.map(|e| e.into_iter().map(|e| e.into_inner()).collect()),
                gates_after: gates_after.into_iter().map(|g| g.into_inner()).collect(),
                smoke: smoke.into_iter().map(|c| c.into_inner()).collect(),
                secrets: secrets.into_iter().map(|s| s.into_inner()).collect(),
            },
            name,
        ))
    }
}
