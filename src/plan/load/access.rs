//! Reading `[access]`: which OS group, besides the owner, may enter a run.

use super::*;

pub(super) const ACCESS_KEYS: &[&str] = &["group"];

impl Loader<'_> {
    pub(super) fn access(&mut self, top: &Table<'_, '_>) -> Option<String> {
        let t = top.table(self.cx, "access", "[access]")?;
        t.check_keys(self.cx, ACCESS_KEYS);
        let group = t.string(self.cx, "group")?;
        let name = group.get_ref();
        let valid = !name.is_empty()
            && !name.starts_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            self.cx.error(
                group.span(),
                format!("`group` in [access] must be an OS group name, not `{name}`"),
            );
            return None;
        }
        Some(group.into_inner())
    }
}
