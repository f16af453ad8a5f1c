//! How a run's fields read in the list and in the plain-text table: one
//! place, so the browser and `slate history | less` agree.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::style::Style;

use crate::runs::Outcome;
use crate::tui::theme::Theme;

/// Where a field has no value (a run that has not finished has no duration).
pub const NONE: &str = "—";

/// Local time to the minute: "2026-11-22 14:03".
pub fn started(ts: Option<Timestamp>, tz: &TimeZone) -> String {
    match ts {
        Some(ts) => ts
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        None => NONE.to_string(),
    }
}

/// "45s", "3m 12s", "1h 04m", "2d 3h": as everywhere (`crate::duration::human`).
pub fn duration(ms: Option<u64>) -> String {
    match ms {
        Some(ms) => crate::duration::human(ms),
        None => NONE.to_string(),
    }
}

/// A glyph per outcome, so the state never rests on colour alone.
pub fn glyph(o: Outcome) -> &'static str {
    match o {
        Outcome::Released => "✔",
        Outcome::RolledBack => "↩",
        Outcome::Rejected => "✘",
        Outcome::Aborted => "■",
        Outcome::Held => "‖",
        Outcome::Failed => "✘",
        Outcome::Running => "▶",
        Outcome::Interrupted => "!",
    }
}

/// Good, bad, or needs a look: the theme's roles for an outcome.
pub fn style(o: Outcome, t: &Theme) -> Style {
    match o {
        Outcome::Released => t.ok,
        Outcome::Failed | Outcome::Rejected => t.fail,
        Outcome::RolledBack | Outcome::Aborted | Outcome::Held | Outcome::Interrupted => t.warn,
        Outcome::Running => t.running,
    }
}

pub fn approvers(list: &[String]) -> String {
    if list.is_empty() {
        NONE.to_string()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(999)), "1.0s");
        assert_eq!(duration(Some(45_000)), "45s");
        assert_eq!(duration(Some(192_000)), "3m 12s");
        assert_eq!(duration(Some(3_840_000)), "1h 04m");
        assert_eq!(duration(Some(183_600_000)), "2d 3h");
    }

    #[test]
    fn start_times_are_local_to_the_minute() {
        let ts: Timestamp = "2026-11-22T14:03:59Z".parse().unwrap();
        assert_eq!(started(Some(ts), &TimeZone::UTC), "2026-11-22 14:03");
        let east = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(started(Some(ts), &east), "2026-11-22 15:03");
    }
}
