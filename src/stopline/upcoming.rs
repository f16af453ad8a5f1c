//! What freezes are coming, per environment: the ones in effect now and the
//! ones that start within a horizon (a week), and an environment kept
//! outside all its allow windows. The board and the cockpit show these so
//! that a release manager sees Friday's freeze on Thursday, not when a run
//! is already held back by it. Pure: the windows and the clock are
//! arguments; [`team_windows`] gathers what every run obeys (the user's
//! `config.toml` and the store's ad-hoc freezes), and a cockpit adds its
//! plan's.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use super::window::Windows;
use crate::store::Store;
use crate::text::neutral;

/// How far ahead a freeze is shown.
pub const HORIZON: SignedDuration = SignedDuration::from_hours(7 * 24);

/// One freeze as it stands for one or more environments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Upcoming {
    /// The environments it holds, in the order asked.
    pub envs: Vec<String>,
    pub name: String,
    pub reason: String,
    /// When it starts; None while it is in effect.
    pub from: Option<Timestamp>,
    /// When it ends (for an allow window: when one opens again).
    pub until: Option<Timestamp>,
    /// The window's own way of saying `from` and `until` (its time zone).
    pub from_shown: String,
    pub until_shown: String,
    /// Not a freeze: the environment is outside all its allow windows.
    pub closed: bool,
}

impl Upcoming {
    /// In effect now.
    pub fn now(&self) -> bool {
        self.from.is_none()
    }

    /// One line, every name and reason neutralised: "prod frozen now:
    /// holiday (code freeze) until Mon 2026-12-28 08:00 Europe/Berlin".
    pub fn line(&self) -> String {
        let envs = neutral::line(&self.envs.join(", ")).into_owned();
        let name = neutral::line(&self.name);
        let why = if self.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", neutral::line(&self.reason))
        };
        if self.closed {
            let opens = match self.until {
                Some(_) => format!(" until {}", self.until_shown),
                None => String::new(),
            };
            return format!("{envs} outside its allowed windows ({name}){opens}");
        }
        let until = match self.until {
            Some(_) => format!(" until {}", self.until_shown),
            None => String::new(),
        };
        match self.from {
            None => format!("{envs} frozen now: {name}{why}{until}"),
            Some(_) => format!("{envs} frozen from {}{until}: {name}{why}", self.from_shown),
        }
    }
}

/// What holds `env` now or will within `horizon` of `now`, soonest first.
pub fn upcoming(
    windows: &Windows,
    env: &str,
    now: Timestamp,
    horizon: SignedDuration,
) -> Vec<Upcoming> {
    let end = now.checked_add(horizon).unwrap_or(Timestamp::MAX);
    let mut out = Vec::new();
    for f in windows.freezes.iter().filter(|f| f.applies(env)) {
        let (from, until) = match f.calendar.open_at(now) {
            Some(until) => (None, until),
            None => match f.calendar.next_open(now).filter(|s| *s < end) {
                Some(s) => (Some(s), f.calendar.open_at(s).unwrap_or(s)),
                None => continue,
            },
        };
        out.push(Upcoming {
            envs: vec![env.to_string()],
            name: f.name.clone(),
            reason: f.reason.clone(),
            from,
            until: Some(until),
            from_shown: from.map(|s| f.calendar.shown(s)).unwrap_or_default(),
            until_shown: f.calendar.shown(until),
            closed: false,
        });
    }
    let allow: Vec<_> = windows.allow.iter().filter(|a| a.applies(env)).collect();
    if !allow.is_empty() && allow.iter().all(|a| a.calendar.open_at(now).is_none()) {
        let next = allow
            .iter()
            .filter_map(|a| a.calendar.next_open(now).map(|t| (t, *a)))
            .min_by_key(|(t, _)| *t);
        out.push(Upcoming {
            envs: vec![env.to_string()],
            name: allow
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            reason: String::new(),
            from: None,
            until: next.map(|(t, _)| t),
            from_shown: String::new(),
            until_shown: next.map(|(t, a)| a.calendar.shown(t)).unwrap_or_default(),
            closed: true,
        });
    }
    out.sort_by(|a, b| (a.from, &a.name).cmp(&(b.from, &b.name)));
    out
}

/// [`upcoming`] for several environments, one entry per freeze: a freeze
/// on `*` is said once with every environment it holds, not once per column.
pub fn for_envs<'a>(
    windows: &Windows,
    envs: impl IntoIterator<Item = &'a str>,
    now: Timestamp,
) -> Vec<Upcoming> {
    let mut out: Vec<Upcoming> = Vec::new();
    for env in envs {
        for u in upcoming(windows, env, now, HORIZON) {
            match out.iter_mut().find(|o| {
                (&o.name, &o.reason, o.from, o.until, o.closed)
                    == (&u.name, &u.reason, u.from, u.until, u.closed)
            }) {
                Some(o) => {
                    if !o.envs.iter().any(|e| e == env) {
                        o.envs.push(env.to_string());
                    }
                }
                None => out.push(u),
            }
        }
    }
    // In effect first, then by start.
    out.sort_by_key(|u| u.from);
    out
}

/// Each freeze of `windows` that holds now or starts within the horizon,
/// with its environments as written (`*` included): for listing policy
/// (`slate locks`), where no environment list is at hand.
pub fn each(windows: &Windows, now: Timestamp) -> Vec<Upcoming> {
    let mut out = Vec::new();
    for w in &windows.freezes {
        let Some(env) = w.envs.first() else { continue };
        let one = Windows {
            freezes: vec![w.clone()],
            allow: Vec::new(),
        };
        for mut u in upcoming(&one, env, now, HORIZON) {
            u.envs = w.envs.clone();
            out.push(u);
        }
    }
    out.sort_by_key(|u| u.from);
    out
}

/// The windows every run obeys besides its plan's: the user's
/// `config.toml` and the store's ad-hoc freezes. What could not be read
/// is said, never taken to mean "no freeze".
pub fn team_windows(
    config_dir: &Path,
    store: Option<&dyn Store>,
    now: Timestamp,
) -> (Windows, Vec<String>) {
    let mut warnings = Vec::new();
    let mut windows = match super::config::load(config_dir) {
        Ok(team) => team.windows,
        Err(e) => {
            warnings.push(format!(
                "freezes in config.toml cannot be read: {}",
                e.lines().first().map(String::as_str).unwrap_or("")
            ));
            Windows::default()
        }
    };
    if let Some(s) = store {
        match s.freezes(now) {
            Ok(adhoc) => windows
                .freezes
                .extend(adhoc.iter().map(super::adhoc_window)),
            Err(e) => warnings.push(format!("ad-hoc freezes cannot be read: {e}")),
        }
    }
    (windows, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stopline::calendar::{Calendar, When};
    use crate::stopline::window::{InFlight, Window};
    use jiff::tz::TimeZone;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window(name: &str, envs: &[&str], when: When, tz: &str) -> Window {
        Window {
            name: name.into(),
            envs: envs.iter().map(|e| e.to_string()).collect(),
            reason: format!("{name} reason"),
            calendar: Calendar {
                when,
                tz: TimeZone::get(tz).unwrap(),
                tz_name: tz.into(),
            },
            in_flight: InFlight::Stop,
        }
    }

    fn weekend() -> When {
        When::Weekly {
            days: vec![jiff::civil::Weekday::Saturday, jiff::civil::Weekday::Sunday],
            start: jiff::civil::time(0, 0, 0, 0),
            end: jiff::civil::time(0, 0, 0, 0),
        }
    }

    #[test]
    fn a_freeze_in_effect_and_one_to_come_are_told_apart_soonest_first() {
        let mut w = Windows::default();
        w.freezes
            .push(window("weekend", &["prod"], weekend(), "Europe/Berlin"));
        w.freezes.push(window(
            "holiday",
            &["*"],
            When::Range {
                from: at("2026-12-03T10:00:00Z"),
                until: at("2026-12-03T14:00:00Z"),
            },
            "UTC",
        ));
        // Thursday 12:00 UTC: the holiday holds now, the weekend starts Saturday.
        let now = at("2026-12-03T12:00:00Z");
        let u = upcoming(&w, "prod", now, HORIZON);
        assert_eq!(u.len(), 2, "{u:?}");
        assert_eq!(
            u[0].line(),
            "prod frozen now: holiday (holiday reason) until Thu 2026-12-03 14:00 UTC"
        );
        assert!(u[0].now());
        assert_eq!(
            u[1].line(),
            "prod frozen from Sat 2026-12-05 00:00 Europe/Berlin until Mon 2026-12-07 00:00 Europe/Berlin: weekend (weekend reason)"
        );
        // Staging has only the holiday.
        assert_eq!(upcoming(&w, "staging", now, HORIZON).len(), 1);
        // Beyond the horizon nothing is said.
        assert!(upcoming(&w, "staging", now, SignedDuration::from_hours(1)).len() == 1);
        assert!(upcoming(&w, "prod", now, SignedDuration::from_hours(1)).len() == 1);
        // After both, the next weekend is the only one.
        let later = upcoming(&w, "prod", at("2026-12-08T09:00:00Z"), HORIZON);
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].from, Some(at("2026-12-11T23:00:00Z")));
    }

    #[test]
    fn a_freeze_on_every_environment_is_said_once() {
        let mut w = Windows::default();
        w.freezes.push(window("weekend", &["*"], weekend(), "UTC"));
        w.freezes
            .push(window("prod-only", &["prod"], weekend(), "UTC"));
        let u = for_envs(&w, ["dev", "staging", "prod"], at("2026-12-03T12:00:00Z"));
        assert_eq!(u.len(), 2, "{u:?}");
        let all = u.iter().find(|x| x.name == "weekend").unwrap();
        assert_eq!(all.envs, ["dev", "staging", "prod"]);
        assert_eq!(
            u.iter().find(|x| x.name == "prod-only").unwrap().envs,
            ["prod"]
        );
    }

    #[test]
    fn outside_every_allow_window_is_said_with_when_one_opens() {
        let mut w = Windows::default();
        w.allow.push(window(
            "business-hours",
            &["prod"],
            When::Weekly {
                days: vec![],
                start: jiff::civil::time(8, 0, 0, 0),
                end: jiff::civil::time(18, 0, 0, 0),
            },
            "UTC",
        ));
        let u = upcoming(&w, "prod", at("2026-12-03T20:00:00Z"), HORIZON);
        assert_eq!(u.len(), 1);
        assert!(u[0].closed && u[0].now());
        assert_eq!(
            u[0].line(),
            "prod outside its allowed windows (business-hours) until Fri 2026-12-04 08:00 UTC"
        );
        // Inside the window nothing holds prod.
        assert!(upcoming(&w, "prod", at("2026-12-03T09:00:00Z"), HORIZON).is_empty());
        assert!(upcoming(&w, "dev", at("2026-12-03T20:00:00Z"), HORIZON).is_empty());
    }

    #[test]
    fn hostile_names_and_reasons_are_one_safe_line() {
        let mut w = Windows::default();
        let mut f = window(
            "evil\x1b]0;pwn\x07\nname",
            &["prod\u{202e}x"],
            When::Range {
                from: at("2026-12-03T10:00:00Z"),
                until: at("2026-12-03T14:00:00Z"),
            },
            "UTC",
        );
        f.reason = "line\r\nbreak\x1b[2J".into();
        w.freezes.push(f);
        let u = upcoming(&w, "prod\u{202e}x", at("2026-12-03T12:00:00Z"), HORIZON);
        let line = u[0].line();
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{line:?}"
        );
        assert!(line.contains("frozen now"), "{line}");
    }

    #[test]
    fn a_freeze_across_a_dst_change_ends_at_wall_clock_time() {
        // Europe/Berlin leaves summer time on Sun 2026-10-25: the weekend
        // ends at Monday 00:00 CET, 23:00 UTC, an hour later than the week before.
        let mut w = Windows::default();
        w.freezes
            .push(window("weekend", &["prod"], weekend(), "Europe/Berlin"));
        let u = upcoming(&w, "prod", at("2026-10-24T12:00:00Z"), HORIZON);
        assert_eq!(u[0].until, Some(at("2026-10-25T23:00:00Z")));
        assert!(u[0].now());
    }
}
