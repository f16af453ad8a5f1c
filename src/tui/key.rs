//! A key as written in `config.toml` and shown in help and hints: `a`, `R`,
//! `ctrl-r`, `tab`, `pgdn`… Every full-screen command names keys this way.

use std::hash::{Hash, Hasher};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key and whether Ctrl is held. Shift is in the character (`R`), never a flag.
///
/// A terminal sends the same byte for Ctrl-R and Ctrl-r, so with Ctrl a
/// letter matches in either case; it keeps the case it was written in, which
/// is how it is shown (`ctrl-R` shows as `Ctrl-R`).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    /// What matching compares: the code, with a Ctrl letter in lower case.
    fn canonical(&self) -> (KeyCode, bool) {
        match self.code {
            KeyCode::Char(c) if self.ctrl => (KeyCode::Char(c.to_ascii_lowercase()), true),
            code => (code, self.ctrl),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical().hash(state);
    }
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Self {
        Key {
            code: ev.code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let (ctrl, rest) = match s.strip_prefix("ctrl-") {
            Some(r) => (true, r),
            None => (false, s),
        };
        let code = match rest {
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().expect("checked"))
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().expect("one char")),
            _ => {
                return Err(format!(
                    "unknown key `{s}` (write a single character like `a` or `R`, ctrl-x, tab, shift-tab, enter, esc, space, up, down, left, right, pgup, pgdn, home, end, f1–f12)"
                ));
            }
        };
        Ok(Key { code, ctrl })
    }

    /// Whether the key types a character into a text field (so it cannot
    /// also be a command while one has the keyboard).
    pub fn types_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.ctrl
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "S-Tab".to_string(),
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(c) => c.to_string(),
            _ => "?".to_string(),
        };
        if self.ctrl {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_key_names_are_explained() {
        let e = Key::parse("ctl-a").unwrap_err();
        assert!(e.starts_with("unknown key `ctl-a`"), "{e}");
        assert_eq!(Key::parse("ctrl-r").unwrap().label(), "Ctrl-r");
        assert_eq!(Key::parse("f5").unwrap().label(), "F5");
    }

    #[test]
    fn a_ctrl_letter_matches_in_either_case_and_shows_as_written() {
        let pressed = Key::from_event(&KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
        let written = Key::parse("ctrl-R").unwrap();
        assert_eq!(pressed, written, "a terminal cannot tell them apart");
        assert_eq!(written.label(), "Ctrl-R");
        // Without Ctrl, case is a different key.
        assert_ne!(Key::parse("r").unwrap(), Key::parse("R").unwrap());
    }
}
