//! One way to write a duration, everywhere a person reads one: the
//! cockpit's header and pipeline, `slate history`, headless output and the
//! dossier. Tenths of a second while they matter (a step of 0.4s), whole
//! seconds up to a minute, then two units at most: "0.4s", "45s",
//! "3m 12s", "1h 04m", "2d 3h".
//!
//! A clock still counting (a gate's wait, a pause, a running step or run)
//! is [`wait`]: whole seconds for the first ten minutes, so it can be
//! quoted ("waiting 42s") and moves once a second, then minutes, so a
//! release parked for an hour redraws once a minute.

/// A duration in milliseconds, as people read it.
pub fn human(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..10 => format!("{:.1}s", ms as f64 / 1000.0),
        10..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// Until a wait's clock shows minutes only.
pub const SECONDS_FOR_MS: u64 = 10 * 60 * 1000;

/// A wait so far: "42s", "9m 59s", then "10m", "1h 04m".
pub fn wait(ms: u64) -> String {
    let s = ms / 1000;
    if ms < SECONDS_FOR_MS {
        return match s {
            0..60 => format!("{s}s"),
            _ => format!("{}m {:02}s", s / 60, s % 60),
        };
    }
    let m = s / 60;
    match m {
        0..60 => format!("{m}m"),
        _ => format!("{}h {:02}m", m / 60, m % 60),
    }
}

/// A clock that need not tick: minutes only ("<1m", "4m", "1h 04m"). Beside
/// a waiting gate's own clock, the run's and the step's elapsed times use
/// it, so only one counter on screen changes every second.
pub fn coarse(ms: u64) -> String {
    let m = ms / 60_000;
    match m {
        0 => "<1m".into(),
        1..60 => format!("{m}m"),
        _ => format!("{}h {:02}m", m / 60, m % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_the_same_everywhere() {
        assert_eq!(human(0), "0.0s");
        assert_eq!(human(450), "0.5s");
        assert_eq!(human(9_949), "9.9s");
        assert_eq!(human(12_300), "12s");
        assert_eq!(human(45_000), "45s");
        assert_eq!(human(125_000), "2m 05s");
        assert_eq!(human(3_840_000), "1h 04m");
        assert_eq!(human(183_600_000), "2d 3h");
    }

    #[test]
    fn a_wait_counts_seconds_for_ten_minutes_then_minutes() {
        assert_eq!(wait(0), "0s");
        assert_eq!(wait(42_500), "42s");
        assert_eq!(wait(245_000), "4m 05s");
        assert_eq!(wait(SECONDS_FOR_MS - 1), "9m 59s");
        assert_eq!(wait(SECONDS_FOR_MS), "10m");
        assert_eq!(wait(59 * 60_000 + 59_999), "59m");
        assert_eq!(wait(3_840_000), "1h 04m");
        assert_eq!(coarse(59_999), "<1m");
        assert_eq!(coarse(245_000), "4m");
        assert_eq!(coarse(3_840_000), "1h 04m");
    }
}
