//! `[[freezes]]` and `[[allow]]` in the user's `config.toml`: policy that
//! holds for every plan this user runs (a plan adds its own). Problems are
//! `FILE:LINE:COL` like a plan's, and a run does not start with any: a
//! freeze that could not be read must not let a release through.

use std::path::Path;

use toml::de::DeTable;

use super::window::{self, Windows};
use crate::plan::diagnostic::{Diagnostic, PlanErrors};
use crate::plan::reader::{Ctx, Table};

/// The team's policy in config.toml.
#[derive(Debug, Default)]
pub struct Team {
    pub windows: Windows,
    /// `break_glass = ["@sre"]`: who may cross a freeze or a hold (overrides a plan's list).
    pub break_glass: Option<Vec<String>>,
    /// `break_glass_second = true`: every break-glass needs a second
    /// person's approval (either this or the plan's asking is enough).
    pub break_glass_second: bool,
}

/// Reads the policy of `<config_dir>/config.toml` (none without the file).
pub fn load(config_dir: &Path) -> Result<Team, PlanErrors> {
    let path = config_dir.join("config.toml");
    if !path.exists() {
        return Ok(Team::default());
    }
    let file = path.display().to_string();
    match crate::userfile::read_text(&path, crate::userfile::CONFIG_CAP) {
        Ok(text) => parse(&text, &file),
        Err(e) => Err(PlanErrors {
            file,
            source: String::new(),
            diagnostics: vec![Diagnostic::new(0..0, format!("cannot read config: {e}"))],
        }),
    }
}

pub fn parse(text: &str, file: &str) -> Result<Team, PlanErrors> {
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
    let mut out = Windows::default();
    for (key, deny) in [("freezes", true), ("allow", false)] {
        for (i, (t, sp)) in top.array_of_tables(&mut cx, key).into_iter().enumerate() {
            let t = Table::new(t, sp, format!("[[{key}]] #{} of config.toml", i + 1));
            if let Some(w) = window::read(&mut cx, &t, deny) {
                if deny {
                    out.freezes.push(w);
                } else {
                    out.allow.push(w);
                }
            }
        }
    }
    let break_glass = top
        .string_list(&mut cx, "break_glass")
        .map(|l| l.into_iter().map(|s| s.into_inner()).collect());
    let break_glass_second = top.boolean(&mut cx, "break_glass_second").unwrap_or(false);
    if cx.diags.is_empty() {
        Ok(Team {
            windows: out,
            break_glass,
            break_glass_second,
        })
    } else {
        Err(fail(cx.diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_windows_are_located() {
        let text = "theme = \"light\"\n\
            [[freezes]]\nname = \"x\"\ntimezone = \"Mars/Olympus\"\nfrom = \"2026-01-02\"\nuntil = \"2026-01-01\"\n\
            [[allow]]\nname = \"y\"\ntimezone = \"UTC\"\ndays = [\"someday\"]\nstart = \"9\"\nend = \"17:00\"\n";
        let e = parse(text, "config.toml").unwrap_err();
        let lines = e.lines().join("\n");
        assert!(lines.contains("config.toml:4:12"), "{lines}");
        assert!(
            lines.contains("unknown time zone `Mars/Olympus`"),
            "{lines}"
        );
        assert!(lines.contains("\"someday\" is not a weekday"), "{lines}");
        assert!(lines.contains("\"9\" is not a time of day"), "{lines}");
        let ok = parse(
            "[[freezes]]\nname = \"weekend\"\nenvironments = [\"prod\"]\ntimezone = \"Europe/Berlin\"\ndays = [\"sat\", \"sun\"]\nstart = \"00:00\"\nend = \"00:00\"\n",
            "config.toml",
        )
        .unwrap();
        assert_eq!(ok.windows.freezes.len(), 1);
    }

    #[test]
    fn a_second_person_for_break_glass_is_read_and_a_wrong_type_located() {
        let team = parse(
            "break_glass = [\"@sre\"]\nbreak_glass_second = true\n",
            "config.toml",
        )
        .unwrap();
        assert_eq!(team.break_glass, Some(vec!["@sre".to_string()]));
        assert!(team.break_glass_second);
        assert!(!parse("", "config.toml").unwrap().break_glass_second);
        let e = parse("break_glass_second = \"yes\"\n", "config.toml").unwrap_err();
        let lines = e.lines().join("\n");
        assert!(lines.contains("config.toml:1:22"), "{lines}");
        assert!(lines.contains("true or false"), "{lines}");
    }
}
