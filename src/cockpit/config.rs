//! The user's `config.toml`: theme and key overrides (`[keys]` for the
//! cockpit's screen and the replay player, `[keys.dialog]` for its dialogs).
//! Problems are reported as `FILE:LINE:COL: message`, like plan problems.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use serde::Deserialize;
use serde::de::value::StrDeserializer;
use strum::VariantArray;

use super::keymap::{Keymap, UiAction};
use crate::plan::diagnostic::{Diagnostic, PlanErrors, suggestion};
use crate::plan::reader::{Ctx, Table, type_name};
use crate::tui::key::Key;

#[derive(Debug, Default)]
pub struct UserConfig {
    pub theme: Option<String>,
    pub keymap: Keymap,
}

/// Reads `<config_dir>/config.toml`; a missing file means defaults.
pub fn load(config_dir: &Path) -> Result<UserConfig, PlanErrors> {
    let path = config_dir.join("config.toml");
    if !path.exists() {
        return Ok(UserConfig::default());
    }
    match crate::userfile::read_text(&path, crate::userfile::CONFIG_CAP) {
        Ok(text) => parse(&text, &path.display().to_string()),
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
    // `[store]` is read by `store::postgres::config`; `freezes`, `allow` and
    // `break_glass(_second)` are team policy, read by `stopline::config`.
    top.check_keys(
        &mut cx,
        &[
            "theme",
            "keys",
            "store",
            "freezes",
            "allow",
            "break_glass",
            "break_glass_second",
        ],
    );
    let theme = top.string(&mut cx, "theme").map(|t| t.into_inner());
    let mut keymap = Keymap::default();
    if let Some(keys) = top.table(&mut cx, "keys", "[keys]") {
        for (k, v) in keys.table.iter() {
            if k.get_ref() == DIALOG {
                match v.get_ref() {
                    DeValue::Table(t) => {
                        for (k, v) in t.iter() {
                            set_keys(&mut cx, &mut keymap, Section::Dialog, k, v);
                        }
                    }
                    other => cx.error(
                        v.span(),
                        format!(
                            "`{DIALOG}` must be a table of dialog keys ([keys.{DIALOG}]), found {}",
                            type_name(other)
                        ),
                    ),
                }
                continue;
            }
            set_keys(&mut cx, &mut keymap, Section::Main, k, v);
        }
    }
    if cx.diags.is_empty() {
        Ok(UserConfig { theme, keymap })
    } else {
        Err(fail(cx.diags))
    }
}

/// The table inside `[keys]` that holds the keys of dialogs.
const DIALOG: &str = "dialog";

/// Which part of `[keys]` an entry is in: the screen's (and the replay
/// player's) keys, or the dialogs' (`[keys.dialog]`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Main,
    Dialog,
}

impl Section {
    fn of(a: UiAction) -> Section {
        if a.scope().is_dialog() {
            Section::Dialog
        } else {
            Section::Main
        }
    }

    fn title(self) -> String {
        match self {
            Section::Main => "[keys]".into(),
            Section::Dialog => format!("[keys.{DIALOG}]"),
        }
    }
}

/// One `name = "key"` or `name = ["key", …]` entry of a section.
fn set_keys(
    cx: &mut Ctx,
    keymap: &mut Keymap,
    section: Section,
    k: &toml::Spanned<std::borrow::Cow<'_, str>>,
    v: &toml::Spanned<DeValue<'_>>,
) {
    let name: &str = k.get_ref();
    // The name is the action's serde name, so a renamed action can keep an alias.
    let found = UiAction::deserialize(StrDeserializer::<serde::de::value::Error>::new(name)).ok();
    let action = match found {
        Some(a) if Section::of(a) == section => a,
        Some(a) => {
            cx.error(
                k.span(),
                format!(
                    "`{name}` belongs in {}, not in {}",
                    Section::of(a).title(),
                    section.title()
                ),
            );
            return;
        }
        None => {
            let names: Vec<&str> = UiAction::VARIANTS
                .iter()
                .filter(|a| Section::of(**a) == section)
                .map(|a| a.name())
                .collect();
            cx.error(
                k.span(),
                format!(
                    "unknown action `{name}` in {}{} (actions: {})",
                    section.title(),
                    suggestion(name, names.iter().copied()),
                    names.join(", ")
                ),
            );
            return;
        }
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
            return;
        }
    };
    let mut parsed = Vec::new();
    for (spec, span) in specs {
        match Key::parse(&spec) {
            // A key that types would be typed into the field, never reach the action.
            Ok(key) if action.while_typing() && key.types_text() => cx.error(
                span,
                format!(
                    "`{name}` works while a dialog's text field has the keyboard, where `{spec}` types itself; use a key that types nothing (enter, esc, tab, ctrl-x, f1–f12…)"
                ),
            ),
            Ok(key) => parsed.push(key),
            Err(e) => cx.error(span, e),
        }
    }
    if !parsed.is_empty() {
        keymap.set(action, parsed);
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
                "config.toml:2:1: unknown action `aprove` in [keys]; did you mean `approve`? (actions: approve, reject, pause, rollback, retry, decide, note, promote, skip, weight, break_glass, palette, focus_next, focus_prev, up, down, left, right, page_up, page_down, top, bottom, expand, search, search_next, search_prev, follow, clear_search, stage_filter, stderr_only, wrap, ansi, zoom, copy, help, quit, replay_pause, replay_step, replay_faster, replay_slower, replay_next, replay_prev, replay_start, replay_end)",
                "config.toml:3:8: unknown key `ctl-q` (write a single character like `a` or `R`, ctrl-x, tab, shift-tab, enter, esc, space, up, down, left, right, pgup, pgdn, home, end, f1–f12)",
                "config.toml:4:8: `help` must be a key or a list of keys, found an integer",
            ]
        );
    }

    #[test]
    fn dialog_keys_live_in_their_own_table() {
        let c = parse(
            "[keys]\nquit = \"Q\"\n[keys.dialog]\ndetach = [\"D\", \"ctrl-d\"]\nconfirm = \"ctrl-s\"\n",
            "config.toml",
        )
        .unwrap();
        assert_eq!(c.keymap.label(UiAction::Detach), "D/Ctrl-d");
        assert_eq!(c.keymap.label(UiAction::Confirm), "Ctrl-s");
        assert_eq!(
            c.keymap.label(UiAction::Decide),
            "d",
            "the screen's d is another key than the dialog's"
        );
    }

    #[test]
    fn dialog_keys_in_the_wrong_table_or_that_would_type_are_refused() {
        let e = parse(
            "[keys]\ndetach = \"D\"\n[keys.dialog]\napprove = \"A\"\nconfirm = \"y\"\nstay = \"x\"\ndetatch = \"D\"\n",
            "config.toml",
        )
        .unwrap_err();
        let lines = e.lines();
        assert_eq!(
            lines[..3],
            [
                "config.toml:2:1: `detach` belongs in [keys.dialog], not in [keys]",
                "config.toml:4:1: `approve` belongs in [keys], not in [keys.dialog]",
                "config.toml:5:11: `confirm` works while a dialog's text field has the keyboard, where `y` types itself; use a key that types nothing (enter, esc, tab, ctrl-x, f1–f12…)",
            ]
        );
        assert!(
            lines[3].starts_with("config.toml:7:1: unknown action `detatch` in [keys.dialog]; did you mean `detach`? (actions: confirm, cancel, reject_gate, detach, abort, stay, hold"),
            "{}",
            lines[3]
        );
        assert_eq!(lines.len(), 4, "stay may be a letter: {lines:?}");
        let e = parse("[keys]\ndialog = \"x\"\n", "config.toml").unwrap_err();
        assert!(
            e.lines()[0].contains("`dialog` must be a table of dialog keys"),
            "{:?}",
            e.lines()
        );
    }
}
