//! Reading `[[freezes]]` and `[[allow]]` (see `stopline::window`).

use super::*;
use crate::stopline::window::{self, Windows};

impl Loader<'_> {
    pub(super) fn windows(&mut self, top: &Table<'_, '_>) -> Windows {
        let mut out = Windows::default();
        for (key, deny) in [("freezes", true), ("allow", false)] {
            for (i, (t, sp)) in top.array_of_tables(self.cx, key).into_iter().enumerate() {
                let t = Table::new(t, sp, format!("[[{key}]] #{}", i + 1));
                if let Some(w) = window::read(self.cx, &t, deny) {
                    if deny {
                        out.freezes.push(w);
                    } else {
                        out.allow.push(w);
                    }
                }
            }
        }
        out
    }
}
