//! Freeze and allow windows: what they are (`[[freezes]]` and `[[allow]]`
//! in a plan or in the user's `config.toml`), how they are read (every
//! problem as `FILE:LINE:COL`, like the rest of a plan), and what they say
//! about one environment at one instant. Deny beats allow: a freeze blocks
//! even inside an allow window; where an environment has allow windows it
//! is promoted into only while one is open.

use jiff::Timestamp;

use super::calendar::{self, Calendar, When};
use crate::engine::admission::{Barrier, BarrierKind};
use crate::plan::reader::{Ctx, Table};

/// What a freeze does to a run already inside the environment when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// Finish the step, then wait at the next safe point (the default).
    Stop,
    /// Let the run finish the environment.
    Finish,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub name: String,
    /// Environment names, or `*`.
    pub envs: Vec<String>,
    pub reason: String,
    pub calendar: Calendar,
    pub in_flight: InFlight,
}

impl Window {
    pub fn applies(&self, env: &str) -> bool {
        self.envs.iter().any(|e| e == "*" || e == env)
    }
}

/// The freezes and allow windows that apply to a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows {
    pub freezes: Vec<Window>,
    pub allow: Vec<Window>,
}

impl Windows {
    pub fn extend(&mut self, other: Windows) {
        self.freezes.extend(other.freezes);
        self.allow.extend(other.allow);
    }

    /// What keeps a run out of `env` at `now` (`in_flight`: a run already
    /// inside, which only freezes without `in_flight = "finish"` stop).
    pub fn check(&self, env: &str, now: Timestamp, in_flight: bool) -> Option<Barrier> {
        for f in self.freezes.iter().filter(|f| f.applies(env)) {
            if in_flight && f.in_flight == InFlight::Finish {
                continue;
            }
            if let Some(end) = f.calendar.open_at(now) {
                let why = if f.reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", f.reason)
                };
                return Some(Barrier {
                    kind: BarrierKind::Freeze,
                    message: format!(
                        "{env} is frozen: {}{why} until {}",
                        f.name,
                        f.calendar.shown(end)
                    ),
                    holder: None,
                    run_id: None,
                    since: None,
                    until: Some(end),
                    reason: f.reason.clone(),
                    stale: false,
                });
            }
        }
        if in_flight {
            return None;
        }
        let allow: Vec<&Window> = self.allow.iter().filter(|a| a.applies(env)).collect();
        if allow.is_empty() || allow.iter().any(|a| a.calendar.open_at(now).is_some()) {
            return None;
        }
        let next = allow
            .iter()
            .filter_map(|a| a.calendar.next_open(now).map(|t| (t, *a)))
            .min_by_key(|(t, _)| *t);
        let names: Vec<&str> = allow.iter().map(|a| a.name.as_str()).collect();
        let opens = match next {
            Some((t, a)) => format!("; {} opens {}", a.name, a.calendar.shown(t)),
            None => String::new(),
        };
        Some(Barrier {
            kind: BarrierKind::Freeze,
            message: format!(
                "{env} is outside its allowed windows ({}){opens}",
                names.join(", ")
            ),
            holder: None,
            run_id: None,
            since: None,
            until: next.map(|(t, _)| t),
            reason: String::new(),
            stale: false,
        })
    }
}

pub const KEYS: &[&str] = &[
    "name",
    "environments",
    "reason",
    "timezone",
    "from",
    "until",
    "days",
    "start",
    "end",
    "dates",
    "in_flight",
];

/// Reads one window; every problem is reported with its place.
pub fn read(cx: &mut Ctx, t: &Table<'_, '_>, deny: bool) -> Option<Window> {
    let keys: Vec<&str> = KEYS
        .iter()
        .copied()
        .filter(|k| deny || *k != "in_flight")
        .collect();
    t.check_keys(cx, &keys);
    let name = t.req_name(cx, "name");
    let reason = t.string(cx, "reason");
    let envs = match t.string_list(cx, "environments") {
        Some(list) if list.is_empty() => {
            cx.error(
                t.key_span("environments").unwrap_or(t.span.clone()),
                format!(
                    "`environments` in {} is empty: name environments, or \"*\" for all",
                    t.what
                ),
            );
            None
        }
        Some(list) => Some(list.into_iter().map(|e| e.into_inner()).collect()),
        None => Some(vec!["*".to_string()]),
    };
    let tz_name = t.req_string(cx, "timezone");
    let tz = tz_name
        .as_ref()
        .and_then(|n| match calendar::zone(n.get_ref()) {
            Ok(z) => Some(z),
            Err(e) => {
                cx.error(n.span(), e);
                None
            }
        });
    let in_flight = if deny {
        match t.choice(cx, "in_flight", &["stop", "finish"]) {
            Some(c) if c.get_ref() == "finish" => InFlight::Finish,
            _ => InFlight::Stop,
        }
    } else {
        InFlight::Stop
    };
    let has = |k: &str| t.get(k).is_some();
    let shapes = [
        has("from") || has("until"),
        has("days") || has("start") || has("end"),
        has("dates"),
    ];
    if shapes.iter().filter(|s| **s).count() != 1 {
        cx.error(
            t.span.clone(),
            format!(
                "{} needs exactly one of: a range (`from` and `until`), a weekly calendar (`start` and `end`, optional `days`), or `dates`",
                t.what
            ),
        );
        return None;
    }
    let when = if shapes[0] {
        range(cx, t, tz.as_ref()?)?
    } else if shapes[1] {
        weekly(cx, t)?
    } else {
        dates(cx, t)?
    };
    Some(Window {
        name: name?.into_inner(),
        envs: envs?,
        reason: reason.map(|r| r.into_inner()).unwrap_or_default(),
        calendar: Calendar {
            when,
            tz: tz?,
            tz_name: tz_name?.into_inner(),
        },
        in_flight,
    })
}

fn range(cx: &mut Ctx, t: &Table<'_, '_>, tz: &jiff::tz::TimeZone) -> Option<When> {
    let mut at = |key: &str| {
        let s = t.req_string(cx, key)?;
        match calendar::civil(s.get_ref()).and_then(|dt| dt.to_zoned(tz.clone()).ok()) {
            Some(z) => Some((z.timestamp(), s)),
            None => {
                cx.error(
                    s.span(),
                    format!(
                        "`{key}` in {}: \"{}\" is not a date and time; write it like \"2026-12-24 18:00\" (in the window's `timezone`)",
                        t.what,
                        s.get_ref()
                    ),
                );
                None
            }
        }
    };
    let from = at("from");
    let until = at("until");
    let ((from, _), (until, until_s)) = (from?, until?);
    if until <= from {
        cx.error(
            until_s.span(),
            format!(
                "`until` in {} is not after `from`: the range is inverted or empty",
                t.what
            ),
        );
        return None;
    }
    Some(When::Range { from, until })
}

fn weekly(cx: &mut Ctx, t: &Table<'_, '_>) -> Option<When> {
    let mut days = Vec::new();
    let mut ok = true;
    for d in t.string_list(cx, "days").unwrap_or_default() {
        match calendar::weekday(d.get_ref()) {
            Some(w) => days.push(w),
            None => {
                ok = false;
                cx.error(
                    d.span(),
                    format!(
                        "`days` in {}: \"{}\" is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
                        t.what,
                        d.get_ref()
                    ),
                );
            }
        }
    }
    let mut time = |key: &str| {
        let s = t.req_string(cx, key)?;
        match calendar::time_of_day(s.get_ref()) {
            Some(v) => Some(v),
            None => {
                cx.error(
                    s.span(),
                    format!(
                        "`{key}` in {}: \"{}\" is not a time of day; write it like \"18:00\"",
                        t.what,
                        s.get_ref()
                    ),
                );
                None
            }
        }
    };
    let start = time("start");
    let end = time("end");
    if !ok {
        return None;
    }
    Some(When::Weekly {
        days,
        start: start?,
        end: end?,
    })
}

fn dates(cx: &mut Ctx, t: &Table<'_, '_>) -> Option<When> {
    let mut out = Vec::new();
    let mut ok = true;
    for d in t.string_list(cx, "dates").unwrap_or_default() {
        match jiff::civil::Date::strptime("%Y-%m-%d", d.get_ref().trim()) {
            Ok(v) => out.push(v),
            Err(_) => {
                ok = false;
                cx.error(
                    d.span(),
                    format!(
                        "`dates` in {}: \"{}\" is not a date; write it like \"2026-12-25\"",
                        t.what,
                        d.get_ref()
                    ),
                );
            }
        }
    }
    if out.is_empty() && ok {
        cx.error(
            t.key_span("dates").unwrap_or(t.span.clone()),
            format!("`dates` in {} is empty", t.what),
        );
        return None;
    }
    ok.then_some(When::Dates(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calendar::civil;

    fn window(name: &str, when: When, in_flight: InFlight) -> Window {
        Window {
            name: name.into(),
            envs: vec!["prod".into()],
            reason: "r".into(),
            calendar: Calendar {
                when,
                tz: calendar::zone("Europe/Berlin").unwrap(),
                tz_name: "Europe/Berlin".into(),
            },
            in_flight,
        }
    }

    fn at(s: &str) -> Timestamp {
        civil(s)
            .unwrap()
            .to_zoned(calendar::zone("Europe/Berlin").unwrap())
            .unwrap()
            .timestamp()
    }

    fn business() -> Window {
        use jiff::civil::Weekday::*;
        window(
            "business hours",
            When::Weekly {
                days: vec![Monday, Tuesday, Wednesday, Thursday, Friday],
                start: calendar::time_of_day("09:00").unwrap(),
                end: calendar::time_of_day("17:00").unwrap(),
            },
            InFlight::Stop,
        )
    }

    #[test]
    fn a_freeze_inside_an_allow_window_wins() {
        let w = Windows {
            freezes: vec![window(
                "holiday freeze",
                When::Range {
                    from: at("2026-12-24 12:00"),
                    until: at("2026-12-28 08:00"),
                },
                InFlight::Stop,
            )],
            allow: vec![business()],
        };
        // Thursday 2026-12-24 10:00: business hours, not yet frozen.
        assert!(w.check("prod", at("2026-12-24 10:00"), false).is_none());
        // 13:00 the same day: inside business hours, but frozen: deny beats allow.
        let b = w.check("prod", at("2026-12-24 13:00"), false).unwrap();
        assert_eq!(
            b.message,
            "prod is frozen: holiday freeze (r) until Mon 2026-12-28 08:00 Europe/Berlin"
        );
        // Monday 2026-12-28 08:30: the freeze is over, business hours not yet open.
        let b = w.check("prod", at("2026-12-28 08:30"), false).unwrap();
        assert!(
            b.message
                .ends_with("business hours opens Mon 2026-12-28 09:00 Europe/Berlin"),
            "{}",
            b.message
        );
        assert_eq!(b.until, Some(at("2026-12-28 09:00")));
        // Another environment has neither.
        assert!(w.check("staging", at("2026-12-24 13:00"), false).is_none());
        // A run inside is stopped by the freeze, never by an allow window closing.
        assert!(w.check("prod", at("2026-12-24 13:00"), true).is_some());
        assert!(w.check("prod", at("2026-12-28 08:30"), true).is_none());
    }

    #[test]
    fn in_flight_finish_lets_a_run_inside_go_on() {
        let w = Windows {
            freezes: vec![window(
                "nights",
                When::Range {
                    from: at("2026-12-01 18:00"),
                    until: at("2026-12-02 08:00"),
                },
                InFlight::Finish,
            )],
            allow: vec![],
        };
        assert!(w.check("prod", at("2026-12-01 19:00"), false).is_some());
        assert!(w.check("prod", at("2026-12-01 19:00"), true).is_none());
    }
}
