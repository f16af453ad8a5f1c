//! The user's `config.toml`: theme and key overrides. Problems are reported
//! as `FILE:LINE:COL: message`, like plan problems.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::keymap::{ACTIONS, Key, Keymap};
use crate::plan::diagnostic::{Diagnostic, PlanErrors, suggestion};
use crate::plan::reader::{Ctx, Table, type_name};

#[derive(Debug, Default)]
pub struct UserConfig {
    pub theme: Option<String>,
    pub keymap: Keymap,
}

/// Reads `<config_dir>/config.toml`; a missing file means defaults.
pub fn load(config_dir: &Path) -> Result<UserConfig, PlanErrors> {
    let path = config_dir.join("config.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UserConfig::default()),
        Err(e) => Err(PlanErrors {
            file: path.display().to_string(),
            source: String::new(),
            diagnostics: vec![Diagnostic::new(0..0, format!("cannot read config: {e}"))],
        }),
    }
}

pub fn parse(text: &str, file: &str) -> Result<UserConfig, PlanErrors> {
    let fail = |diagnostics| PlanErrors {
        file: file.to_string(),
        source: text.to_string(),
        diagnostics,
    };
    let doc = DeTable::parse(text).map_err(|e| {
        fail(vec![Diagnostic::new(
            e.span().unwrap_or(0..0),
            format!("TOML syntax error: {}", e.message().trim()),
        )])
    })?;
    let mut cx = Ctx::default();
    let top = Table::new(doc.get_ref(), doc.span(), "config.toml");
    top.check_keys(&mut cx, &["theme", "keys"]);
    let theme = top.string(&mut cx, "theme").map(|t| t.into_inner());
    let mut keymap = Keymap::default();
    if let Some(keys) = top.table(&mut cx, "keys", "[keys]") {
        let names: Vec<&str> = ACTIONS.iter().map(|(_, n, ..)| *n).collect();
        for (k, v) in keys.table.iter() {
            let name: &str = k.get_ref();
            let Some((action, ..)) = ACTIONS.iter().find(|(_, n, ..)| *n == name) else {
                cx.error(
                    k.span(),
                    format!(
                        "unknown action `{name}` in [keys]{} (actions: {})",
                        suggestion(name, names.iter().copied()),
                        names.join(", ")
                    ),
                );
                continue;
            };
            let specs: Vec<(String, std::ops::Range<usize>)> = match v.get_ref() {
                DeValue::String(s) => vec![(s.to_string(), v.span())],
                DeValue::Array(items) => items
                    .iter()
                    .filter_map(|i| match i.get_ref() {
                        DeValue::String(s) => Some((s.to_string(), i.span())),
                        other => {
                            cx.error(
                                i.span(),
                                format!(
                                    "keys for `{name}` must be strings, found {}",
                                    type_name(other)
                                ),
                            );
                            None
                        }
                    })
                    .collect(),
                other => {
                    cx.error(
                        v.span(),
                        format!(
                            "`{name}` must be a key or a list of keys, found {}",
                            type_name(other)
                        ),
                    );
                    continue;
                }
            };
            let mut parsed = Vec::new();
            for (spec, span) in specs {
                match Key::parse(&spec) {
                    Ok(key) => parsed.push(key),
                    Err(e) => cx.error(span, e),
                }
            }
            if !parsed.is_empty() {
                keymap.set(*action, parsed);
            }
        }
    }
    if cx.diags.is_empty() {
        Ok(UserConfig { theme, keymap })
    } else {
        Err(fail(cx.diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cockpit::keymap::UiAction;

    #[test]
    fn overrides_merge_over_defaults() {
        let c = parse(
            "theme = \"light\"\n[keys]\napprove = [\"A\", \"ctrl-a\"]\nquit = \"Q\"\n",
            "config.toml",
        )
        .unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.keymap.label(UiAction::Approve), "A/Ctrl-a");
        assert_eq!(c.keymap.label(UiAction::Quit), "Q");
        assert_eq!(
            c.keymap.label(UiAction::Reject),
            "x",
            "untouched actions keep their keys"
        );
    }

    #[test]
    fn bad_overrides_are_located_and_explained() {
        let e = parse(
            "[keys]\naprove = \"a\"\nquit = \"ctl-q\"\nhelp = 3\n",
            "config.toml",
        )
        .unwrap_err();
        assert_eq!(
            e.lines(),
            [
                "config.toml:2:1: unknown action `aprove` in [keys]; did you mean `approve`? (actions: approve, reject, pause, rollback, retry, decide, note, focus_next, focus_prev, up, down, left, right, page_up, page_down, top, bottom, expand, search, search_next, search_prev, follow, stage_filter, stderr_only, wrap, ansi, help, quit, replay_pause, replay_step, replay_faster, replay_slower, replay_next, replay_prev, replay_start, replay_end)",
                "config.toml:3:8: unknown key `ctl-q` (write a single character like `a` or `R`, ctrl-x, tab, shift-tab, enter, esc, space, up, down, left, right, pgup, pgdn, home, end, f1–f12)",
                "config.toml:4:8: `help` must be a key or a list of keys, found an integer",
            ]
        );
    }
}
