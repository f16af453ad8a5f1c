//! JSON for a terminal or a log: `serde_json` escapes C0 controls in strings
//! but writes DEL, C1 controls, bidi controls and U+2028/U+2029 as they are.
//! Those can only occur inside strings (JSON's own syntax is ASCII), where
//! `\uXXXX` is their standard escape, so escaping them afterwards keeps the
//! document the same value.

use serde::Serialize;

fn needs_escape(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}') || super::neutral::is_bidi(c)
}

fn escape(json: String) -> String {
    if !json.chars().any(needs_escape) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// One line of JSON (NDJSON records).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(value).map(escape)
}

/// Indented JSON for people and scripts alike.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(escape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_is_escaped_and_the_value_is_unchanged() {
        let v = serde_json::json!({
            "note": "\u{1b}]52;c;eA==\u{7}\u{9b}2J\u{202e}x\u{7f}\u{2028}\nend",
        });
        for text in [to_string(&v).unwrap(), to_string_pretty(&v).unwrap()] {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' || needs_escape(c)),
                "{text:?}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v);
        }
        assert_eq!(to_string("\u{9b}").unwrap(), "\"\\u009b\"");
    }
}
