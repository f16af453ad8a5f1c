//! Themes name semantic roles (ok, fail, running…), never widgets. The
//! built-in themes are the TOML files in `themes/`, compiled in; users add or
//! override them in `<config>/themes/NAME.toml`. Colour never carries meaning
//! alone: every state also has a glyph or a word.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};

pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("sixteen", include_str!("../../themes/sixteen.toml")),
];

pub const ROLES: &[&str] = &[
    "text",
    "muted",
    "accent",
    "ok",
    "warn",
    "fail",
    "running",
    "paused",
    "border",
    "border_focus",
    "selection",
    "title",
    "search",
    "gauge",
    "status_bar",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub fail: Style,
    pub running: Style,
    pub paused: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selection: Style,
    pub title: Style,
    pub search: Style,
    pub gauge: Style,
    pub status_bar: Style,
}

impl Theme {
    /// No colours at all (`NO_COLOR`): modifiers still mark focus, selection and matches.
    pub fn monochrome() -> Theme {
        let plain = Style::default();
        Theme {
            name: "no-color".into(),
            text: plain,
            muted: plain.add_modifier(Modifier::DIM),
            accent: plain.add_modifier(Modifier::BOLD),
            ok: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            fail: plain.add_modifier(Modifier::BOLD),
            running: plain.add_modifier(Modifier::BOLD),
            paused: plain.add_modifier(Modifier::BOLD),
            border: plain,
            border_focus: plain.add_modifier(Modifier::BOLD),
            selection: plain.add_modifier(Modifier::REVERSED),
            title: plain.add_modifier(Modifier::BOLD),
            search: plain.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
            gauge: plain,
            status_bar: plain.add_modifier(Modifier::REVERSED),
        }
    }

    fn role_mut(&mut self, role: &str) -> Option<&mut Style> {
        Some(match role {
            "text" => &mut self.text,
            "muted" => &mut self.muted,
            "accent" => &mut self.accent,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "fail" => &mut self.fail,
            "running" => &mut self.running,
            "paused" => &mut self.paused,
            "border" => &mut self.border,
            "border_focus" => &mut self.border_focus,
            "selection" => &mut self.selection,
            "title" => &mut self.title,
            "search" => &mut self.search,
            "gauge" => &mut self.gauge,
            "status_bar" => &mut self.status_bar,
            _ => return None,
        })
    }

    /// Parses a theme file; roles it leaves out keep their `base` style (so a
    /// user theme can override a few roles of a built-in one via `extends`).
    pub fn parse(name: &str, text: &str, base: Option<&Theme>) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            match e.span() {
                Some(s) => {
                    let (line, col) = crate::plan::diagnostic::line_col(text, s.start);
                    format!("{name}.toml:{line}:{col}: {msg}")
                }
                None => format!("{name}.toml: {msg}"),
            }
        })?;
        let mut theme = base.cloned().unwrap_or_else(Theme::monochrome);
        theme.name = name.to_string();
        for (role, spec) in &file.roles {
            let style = spec
                .style()
                .map_err(|e| format!("{name}.toml: role `{role}`: {e}"))?;
            match theme.role_mut(role) {
                Some(slot) => *slot = style,
                None => {
                    return Err(format!(
                        "{name}.toml: unknown role `{role}`{} (roles: {})",
                        crate::plan::diagnostic::suggestion(role, ROLES.iter().copied()),
                        ROLES.join(", ")
                    ));
                }
            }
        }
        Ok(theme)
    }

    /// The theme a command was asked for: `--theme`, else the config's
    /// `theme`, else the default.
    pub fn pick(
        arg: Option<String>,
        configured: Option<String>,
        config_dir: &Path,
    ) -> Result<Theme, String> {
        let name = arg.or(configured).unwrap_or_else(|| "default".into());
        Theme::load(&name, config_dir)
    }

    /// A theme by name: the user's config dir first, then the built-ins.
    /// `NO_COLOR` (set and non-empty) wins over any theme.
    pub fn load(name: &str, config_dir: &Path) -> Result<Theme, String> {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Ok(Theme::monochrome());
        }
        let user = config_dir.join("themes").join(format!("{name}.toml"));
        if user.exists() {
            let text = crate::userfile::read_text(&user, crate::userfile::CONFIG_CAP)
                .map_err(|why| format!("cannot read {}: {why}", user.display()))?;
            let extends: Option<String> = toml::from_str::<ThemeFile>(&text)
                .ok()
                .and_then(|f| f.extends);
            let base =
                match extends {
                    Some(b) if b != name => Some(Self::builtin(&b).ok_or_else(|| {
                        format!("{}: extends unknown theme `{b}`", user.display())
                    })??),
                    _ => None,
                };
            return Theme::parse(
                name,
                &text,
                base.as_ref()
                    .or(Self::builtin("default").and_then(|t| t.ok()).as_ref()),
            );
        }
        match Self::builtin(name) {
            Some(t) => t,
            None => Err(format!(
                "unknown theme `{name}`{} (built in: {}; or add {})",
                crate::plan::diagnostic::suggestion(name, BUILTIN.iter().map(|(n, _)| *n)),
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
                user.display()
            )),
        }
    }

    pub fn builtin(name: &str) -> Option<Result<Theme, String>> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Theme::parse(n, text, None))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reverse: bool,
}

impl RoleSpec {
    fn style(&self) -> Result<Style, String> {
        let mut s = Style::default();
        if let Some(fg) = &self.fg {
            s = s.fg(parse_color(fg)?);
        }
        if let Some(bg) = &self.bg {
            s = s.bg(parse_color(bg)?);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reverse, Modifier::REVERSED),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        Ok(s)
    }
}

/// Named ANSI colours, `#rrggbb`, or a 256-colour index.
fn parse_color(s: &str) -> Result<Color, String> {
    if let Ok(i) = s.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    s.parse::<Color>().map_err(|_| {
        format!(
            "unknown colour `{s}` (use a name such as `green` or `lightred`, `#rrggbb`, or 0–255)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_and_sets_every_role() {
        for (name, text) in BUILTIN {
            let file: ThemeFile = toml::from_str(text).unwrap();
            for role in ROLES {
                assert!(
                    file.roles.contains_key(*role),
                    "{name} does not set `{role}`"
                );
            }
            Theme::parse(name, text, None).unwrap();
        }
    }

    #[test]
    fn the_sixteen_colour_theme_uses_only_the_basic_palette() {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == "sixteen").unwrap();
        let t = Theme::parse("sixteen", text, None).unwrap();
        for s in [
            t.ok,
            t.fail,
            t.warn,
            t.running,
            t.paused,
            t.accent,
            t.muted,
            t.selection,
        ] {
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
            }
        }
    }

    #[test]
    fn the_sixteen_colour_theme_never_uses_bright_black() {
        // Solarized, Tango and the Linux console draw colour 8 as (nearly)
        // the background: muted text there must be dim, not DarkGray.
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == "sixteen").unwrap();
        let t = Theme::parse("sixteen", text, None).unwrap();
        for s in [
            t.text,
            t.muted,
            t.accent,
            t.ok,
            t.warn,
            t.fail,
            t.running,
            t.paused,
            t.border,
            t.border_focus,
            t.selection,
            t.title,
            t.search,
            t.gauge,
            t.status_bar,
        ] {
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert_ne!(c, Color::DarkGray, "{s:?}");
            }
        }
        assert!(t.muted.add_modifier.contains(Modifier::DIM));
    }

    #[test]
    fn bad_themes_get_clear_errors() {
        let e = Theme::parse("mine", "[roles]\nokk = { fg = \"green\" }\n", None).unwrap_err();
        assert!(e.contains("unknown role `okk`; did you mean `ok`?"), "{e}");
        let e = Theme::parse("mine", "[roles]\nok = { fg = \"grene\" }\n", None).unwrap_err();
        assert!(e.contains("unknown colour `grene`"), "{e}");
        let e = Theme::parse("mine", "[roles\n", None).unwrap_err();
        assert!(e.starts_with("mine.toml:1:"), "{e}");
    }

    #[test]
    fn user_themes_can_extend_a_builtin() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "extends = \"light\"\n[roles]\nok = { fg = \"#00ff00\" }\n",
        )
        .unwrap();
        let t = Theme::load("mine", dir.path()).unwrap();
        let light = Theme::builtin("light").unwrap().unwrap();
        assert_eq!(t.ok.fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(t.fail, light.fail);
        assert!(
            Theme::load("nope", dir.path())
                .unwrap_err()
                .contains("unknown theme `nope`")
        );
    }
}
