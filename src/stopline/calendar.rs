//! Freeze and allow windows in time: a fixed range, a weekly calendar (on
//! these weekdays, from one wall-clock time to another, crossing midnight
//! when the end comes first), or a list of whole days. All of it is wall
//! clock in a named time zone, so a window follows the zone's daylight
//! saving changes; every conversion goes through `jiff` (a time a DST gap
//! skips is taken as the instant after the gap, a time a fold repeats as
//! the earlier one, jiff's "compatible" rule). Pure: the clock is an
//! argument.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// When a window is open.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// From one instant to another.
    Range { from: Timestamp, until: Timestamp },
    /// On `days` (empty: every day), from `start` to `end` wall-clock
    /// time; when `end` is not after `start` the window ends the next day.
    Weekly {
        days: Vec<Weekday>,
        start: Time,
        end: Time,
    },
    /// These whole days.
    Dates(Vec<Date>),
}

/// A window in time, in a zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub when: When,
    pub tz: TimeZone,
    /// The zone as written ("Europe/Berlin"), for messages.
    pub tz_name: String,
}

/// A wall-clock time on a date in `tz`, as an instant (gaps and folds by
/// jiff's compatible rule).
fn instant(tz: &TimeZone, date: Date, time: Time) -> Option<Timestamp> {
    DateTime::from_parts(date, time)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

impl Calendar {
    /// The occurrences that could contain `t` or start soon after it: each
    /// as (start, end). Weekly windows are looked at from the day before
    /// (one that began yesterday may still be open) to `days_ahead` days on.
    fn occurrences(&self, t: Timestamp, days_ahead: i64) -> Vec<(Timestamp, Timestamp)> {
        match &self.when {
            When::Range { from, until } => vec![(*from, *until)],
            When::Weekly { days, start, end } => {
                let today = t.to_zoned(self.tz.clone()).date();
                let mut out = Vec::new();
                for offset in -1..=days_ahead {
                    let Ok(d) = today.checked_add(jiff::Span::new().days(offset)) else {
                        continue;
                    };
                    if !days.is_empty() && !days.contains(&d.weekday()) {
                        continue;
                    }
                    let end_day = if end > start {
                        Some(d)
                    } else {
                        d.tomorrow().ok()
                    };
                    if let (Some(s), Some(e)) = (
                        instant(&self.tz, d, *start),
                        end_day.and_then(|ed| instant(&self.tz, ed, *end)),
                    ) && s < e
                    {
                        out.push((s, e));
                    }
                }
                out
            }
            When::Dates(dates) => dates
                .iter()
                .filter_map(|d| {
                    let s = instant(&self.tz, *d, Time::midnight())?;
                    let e = instant(&self.tz, d.tomorrow().ok()?, Time::midnight())?;
                    Some((s, e))
                })
                .collect(),
        }
    }

    /// If the window is open at `t`, when it closes. Occurrences that touch
    /// (Saturday's and Sunday's, back to back) count as one.
    pub fn open_at(&self, t: Timestamp) -> Option<Timestamp> {
        let mut occ = self.occurrences(t, 8);
        occ.sort();
        let mut end = occ.iter().find(|(s, e)| *s <= t && t < *e)?.1;
        for (s, e) in &occ {
            if *s <= end && *e > end {
                end = *e;
            }
        }
        Some(end)
    }

    /// The next time the window opens after `t` (within about a week for a
    /// calendar), if it is not open at `t`.
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        let mut starts: Vec<Timestamp> = self
            .occurrences(t, 8)
            .into_iter()
            .filter(|(s, _)| *s > t)
            .map(|(s, _)| s)
            .collect();
        starts.sort();
        starts.first().copied()
    }

    /// An instant as people here read it: "Mon 2026-12-28 08:00 Europe/Berlin".
    pub fn shown(&self, t: Timestamp) -> String {
        let z: Zoned = t.to_zoned(self.tz.clone());
        format!("{} {}", z.strftime("%a %Y-%m-%d %H:%M"), self.tz_name)
    }
}

/// A weekday as written in a calendar: "mon", "Monday", "tue"…
pub fn weekday(s: &str) -> Option<Weekday> {
    let l = s.trim().to_ascii_lowercase();
    let all = [
        ("mon", Weekday::Monday),
        ("tue", Weekday::Tuesday),
        ("wed", Weekday::Wednesday),
        ("thu", Weekday::Thursday),
        ("fri", Weekday::Friday),
        ("sat", Weekday::Saturday),
        ("sun", Weekday::Sunday),
    ];
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    all.iter()
        .zip(full)
        .find(|((short, _), long)| l == *short || l == *long)
        .map(|((_, d), _)| *d)
}

/// A wall-clock time "HH:MM".
pub fn time_of_day(s: &str) -> Option<Time> {
    Time::strptime("%H:%M", s.trim()).ok()
}

/// A date and time as written for a range: "2026-12-24 18:00",
/// "2026-12-24T18:00", or a date alone (its midnight).
pub fn civil(s: &str) -> Option<DateTime> {
    let s = s.trim();
    for f in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(dt) = DateTime::strptime(f, s) {
            return Some(dt);
        }
    }
    Date::strptime("%Y-%m-%d", s)
        .ok()
        .map(|d| DateTime::from_parts(d, Time::midnight()))
}

/// A time zone by its IANA name, with a hint when it is not one.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!("unknown time zone `{name}`: use an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        zone("Europe/Berlin").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        // A wall-clock time in Berlin, as an instant.
        civil(s).unwrap().to_zoned(berlin()).unwrap().timestamp()
    }

    fn nights() -> Calendar {
        Calendar {
            when: When::Weekly {
                days: vec![
                    Weekday::Monday,
                    Weekday::Tuesday,
                    Weekday::Wednesday,
                    Weekday::Thursday,
                    Weekday::Friday,
                ],
                start: time_of_day("18:00").unwrap(),
                end: time_of_day("08:00").unwrap(),
            },
            tz: berlin(),
            tz_name: "Europe/Berlin".into(),
        }
    }

    #[test]
    fn a_window_crossing_midnight_is_open_after_midnight_and_closes_next_morning() {
        let c = nights();
        // Tuesday 2026-12-01 23:30 and Wednesday 02:00 are inside Tuesday's night.
        assert_eq!(
            c.open_at(at("2026-12-01 23:30")),
            Some(at("2026-12-02 08:00"))
        );
        assert_eq!(
            c.open_at(at("2026-12-02 02:00")),
            Some(at("2026-12-02 08:00"))
        );
        assert_eq!(
            c.open_at(at("2026-12-02 08:00")),
            None,
            "the end is not inside"
        );
        assert_eq!(c.open_at(at("2026-12-02 12:00")), None);
        assert_eq!(
            c.next_open(at("2026-12-02 12:00")),
            Some(at("2026-12-02 18:00"))
        );
        // Friday night runs into Saturday morning; Saturday itself is not listed.
        assert_eq!(
            c.open_at(at("2026-12-05 07:59")),
            Some(at("2026-12-05 08:00"))
        );
        assert_eq!(c.open_at(at("2026-12-05 20:00")), None);
        // Sunday is not listed, so its night is open: Monday 01:00 is free.
        assert_eq!(c.open_at(at("2026-12-07 01:00")), None);
    }

    #[test]
    fn dst_change_days_keep_wall_clock_times() {
        let c = nights();
        // Europe/Berlin springs forward on Sunday 2027-03-28 (02:00 → 03:00)
        // and falls back on Sunday 2026-10-25 (03:00 → 02:00).
        // Friday 2027-03-26 18:00 to Saturday 08:00 is 14 hours, as any night.
        let fri = at("2027-03-26 20:00");
        let end = c.open_at(fri).unwrap();
        assert_eq!(end, at("2027-03-27 08:00"));
        // A Monday night after the change is still 18:00 → 08:00 local (CEST now).
        let mon = at("2027-03-29 18:30");
        assert_eq!(c.open_at(mon), Some(at("2027-03-30 08:00")));
        assert_eq!(
            at("2027-03-30 08:00").as_second() - at("2027-03-29 18:00").as_second(),
            14 * 3600
        );
        // A window over the spring gap: 01:00 → 04:00 on the change day is
        // two hours of real time, not three.
        let gap = Calendar {
            when: When::Weekly {
                days: vec![Weekday::Sunday],
                start: time_of_day("01:00").unwrap(),
                end: time_of_day("04:00").unwrap(),
            },
            ..nights()
        };
        let start = at("2027-03-28 01:00");
        let end = gap.open_at(start).unwrap();
        assert_eq!(end.as_second() - start.as_second(), 2 * 3600);
        // A start inside the gap (02:30 does not exist) begins after it, at 03:30 CEST.
        let in_gap = Calendar {
            when: When::Weekly {
                days: vec![Weekday::Sunday],
                start: time_of_day("02:30").unwrap(),
                end: time_of_day("05:00").unwrap(),
            },
            ..nights()
        };
        let opens = in_gap.next_open(at("2027-03-28 00:00")).unwrap();
        assert_eq!(
            opens.to_zoned(berlin()).strftime("%H:%M %Z").to_string(),
            "03:30 CEST"
        );
        // The autumn day is 25 hours: 00:00 → 00:00 of a whole-day freeze.
        let day = Calendar {
            when: When::Dates(vec![Date::constant(2026, 10, 25)]),
            ..nights()
        };
        let s = at("2026-10-25 00:00");
        assert_eq!(
            day.open_at(s).unwrap().as_second() - s.as_second(),
            25 * 3600
        );
    }

    #[test]
    fn back_to_back_days_read_as_one_window() {
        let weekend = Calendar {
            when: When::Weekly {
                days: vec![Weekday::Saturday, Weekday::Sunday],
                start: Time::midnight(),
                end: Time::midnight(),
            },
            ..nights()
        };
        // Saturday noon: frozen until Monday 00:00, not Sunday 00:00.
        assert_eq!(
            weekend.open_at(at("2026-12-05 12:00")),
            Some(at("2026-12-07 00:00"))
        );
        assert_eq!(weekend.open_at(at("2026-12-07 00:00")), None);
    }

    #[test]
    fn ranges_and_written_forms() {
        let r = Calendar {
            when: When::Range {
                from: at("2026-12-24"),
                until: at("2026-12-28 08:00"),
            },
            ..nights()
        };
        assert!(r.open_at(at("2026-12-23 23:59")).is_none());
        assert_eq!(
            r.open_at(at("2026-12-24 00:00")),
            Some(at("2026-12-28 08:00"))
        );
        assert_eq!(
            r.shown(at("2026-12-28 08:00")),
            "Mon 2026-12-28 08:00 Europe/Berlin"
        );
        assert_eq!(weekday("Sat"), Some(Weekday::Saturday));
        assert_eq!(weekday("someday"), None);
        assert!(time_of_day("25:00").is_none());
        assert!(civil("2026-13-01").is_none());
        assert!(zone("Mars/Olympus").is_err());
    }
}
