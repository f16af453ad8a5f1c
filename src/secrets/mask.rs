//! Replacing secret values in text with `[secret NAME]`.

use aho_corasick::{AhoCorasick, MatchKind};

use super::Resolved;

/// Finds every secret value in a text in one pass (Aho-Corasick, longest
/// match first, so a value that contains another is masked whole).
#[derive(Clone, Default)]
pub struct Masker {
    finder: Option<AhoCorasick>,
    replacements: Vec<String>,
}

impl std::fmt::Debug for Masker {
    // Never print the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} secrets)", self.replacements.len())
    }
}

impl Masker {
    pub fn new(secrets: &Resolved) -> Masker {
        if secrets.is_empty() {
            return Masker::default();
        }
        let (values, replacements): (Vec<&str>, Vec<String>) = secrets
            .iter()
            .map(|(name, value)| (value.as_str(), format!("[secret {name}]")))
            .unzip();
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(values)
            .ok();
        Masker {
            finder,
            replacements,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.finder.is_none()
    }

    /// The text with every secret value replaced; `None` when it holds none.
    pub fn mask(&self, text: &str) -> Option<String> {
        let finder = self.finder.as_ref()?;
        if !finder.is_match(text) {
            return None;
        }
        Some(finder.replace_all(text, &self.replacements))
    }

    /// Masks every string inside a JSON value, keys included.
    pub fn mask_json(&self, v: &mut serde_json::Value) -> bool {
        use serde_json::Value;
        match v {
            Value::String(s) => match self.mask(s) {
                Some(m) => {
                    *s = m;
                    true
                }
                None => false,
            },
            Value::Array(items) => items.iter_mut().fold(false, |c, i| self.mask_json(i) | c),
            Value::Object(map) => {
                let mut changed = false;
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    let mut item = map.remove(&k).unwrap_or_default();
                    changed |= self.mask_json(&mut item);
                    let key = self.mask(&k).inspect(|_| changed = true).unwrap_or(k);
                    map.insert(key, item);
                }
                changed
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(pairs: &[(&str, &str)]) -> Masker {
        Masker::new(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn masks_every_occurrence_and_the_longest_value_first() {
        let m = masker(&[("SHORT", "hunter2x"), ("LONG", "hunter2xyz")]);
        assert_eq!(
            m.mask("a hunter2xyz b hunter2x c").as_deref(),
            Some("a [secret LONG] b [secret SHORT] c")
        );
        assert_eq!(m.mask("nothing here"), None);
        assert!(masker(&[]).is_empty());
    }

    #[test]
    fn masks_strings_anywhere_in_json() {
        let m = masker(&[("TOKEN", "s3cr3t-token")]);
        let mut v = serde_json::json!({"a": ["x s3cr3t-token y", 1], "s3cr3t-token": {"b": "s3cr3t-token"}});
        assert!(m.mask_json(&mut v));
        let text = v.to_string();
        assert!(!text.contains("s3cr3t-token"), "{text}");
        assert!(text.contains("[secret TOKEN]"));
    }

    #[test]
    fn debug_never_shows_a_value() {
        let m = masker(&[("TOKEN", "s3cr3t-token")]);
        assert_eq!(format!("{m:?}"), "Masker(1 secrets)");
    }
}
