//! `slate lock`, `slate unlock`, `slate locks`: stopping the line by hand,
//! and seeing who holds what. Holds live in the store, so every run on the
//! machine (and, with a team store, every machine) honours them.

use std::path::Path;

use serde::Serialize;

use super::said::Said;
use crate::engine::Actor;
use crate::stopline::{describe, shown_time, stale};
use crate::store::Store;
use crate::store::locks::{ANY_RELEASE, Freeze, Lock, LockKind, Waiter};

fn open(state_dir: &Path) -> Result<Box<dyn Store>, i32> {
    match crate::store::open(state_dir) {
        Ok(o) => {
            for n in &o.notices {
                crate::warn_user!("slate: {n}");
            }
            Ok(o.store)
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            Err(1)
        }
    }
}

/// An environment or release name as typed: something, on one line.
fn name_problem(what: &str, name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some(format!("{what} is empty"));
    }
    if name.chars().any(char::is_control) || name == ANY_RELEASE {
        return Some(format!("{what} `{name}` is not a name"));
    }
    None
}

fn opened(state_dir: &Path) -> Result<Box<dyn Store>, Said> {
    match crate::store::open(state_dir) {
        Ok(o) => {
            for n in &o.notices {
                tracing::info!(notice = %n, "store");
            }
            Ok(o.store)
        }
        Err(e) => Err(Said::fail(1, e.to_string())),
    }
}

pub fn lock(state_dir: &Path, env: &str, release: Option<&str>, reason: &str) -> i32 {
    hold(state_dir, env, release, reason, "cli").print()
}

/// A person's hold on `env` (for `release`, or every release), by the OS
/// user this process runs as (`via`: how they asked).
pub fn hold(state_dir: &Path, env: &str, release: Option<&str>, reason: &str, via: &str) -> Said {
    let problems: Vec<String> = [
        name_problem("the environment", env),
        release.and_then(|r| name_problem("--release", r)),
        reason
            .trim()
            .is_empty()
            .then(|| "--reason is empty: say why the line stops".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !problems.is_empty() {
        return Said {
            code: crate::exit::USAGE,
            out: Vec::new(),
            err: problems,
        };
    }
    let store = match opened(state_dir) {
        Ok(s) => s,
        Err(said) => return said,
    };
    let hold = Lock {
        release: release.unwrap_or(ANY_RELEASE).to_string(),
        env: env.to_string(),
        kind: LockKind::Manual,
        run_id: None,
        holder: Actor::current(via).user,
        pid: None,
        reason: reason.to_string(),
        since: jiff::Timestamp::now(),
        origin: None,
    };
    match store.hold(&hold) {
        Ok(None) => {
            let scope = release.map(|r| format!(" for {r}")).unwrap_or_default();
            let mut out = vec![format!(
                "{env}{scope} is held: no run starts promoting into it, and runs inside stop at their next safe point, until `slate unlock {env}{}`",
                release
                    .map(|r| format!(" --release {r}"))
                    .unwrap_or_default()
            )];
            for l in store.locks().unwrap_or_default().iter().filter(|l| {
                l.kind == LockKind::Run && l.env == env && release.is_none_or(|r| r == l.release)
            }) {
                out.push(format!(
                    "run {} ({}) is inside {env} for {}: it stops at its next safe point",
                    l.run_id.as_deref().unwrap_or("?"),
                    l.holder,
                    l.release
                ));
            }
            Said::ok(out)
        }
        Ok(Some(existing)) => Said::fail(
            1,
            format!("already held: {}", describe(state_dir, &existing).message),
        ),
        Err(e) => Said::fail(1, e.to_string()),
    }
}

pub fn unlock(state_dir: &Path, env: &str, release: Option<&str>) -> i32 {
    if let Some(p) = name_problem("the environment", env)
        .or_else(|| release.and_then(|r| name_problem("--release", r)))
    {
        crate::warn_user!("slate: {p}");
        return crate::exit::USAGE;
    }
    let Ok(store) = open(state_dir) else { return 1 };
    let key = release.unwrap_or(ANY_RELEASE);
    match store.lift(key, env) {
        Ok(Some(l)) => {
            crate::say!(
                "lifted {}'s hold on {env}{} (since {}: {})",
                l.holder,
                release.map(|r| format!(" for {r}")).unwrap_or_default(),
                shown_time(l.since),
                l.reason
            );
            return 0;
        }
        Ok(None) => {}
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    }
    // No hold: a run's lock, which only goes if its engine is gone.
    let locks = match store.locks() {
        Ok(l) => l,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    let here: Vec<&Lock> = locks.iter().filter(|l| l.env == env).collect();
    if let Some(r) = release
        && let Some(l) = here
            .iter()
            .find(|l| l.kind == LockKind::Run && l.release == r)
    {
        if let Some(there) = crate::stopline::elsewhere(state_dir, l) {
            crate::warn_user!(
                "slate: {}; this machine cannot tell whether its engine lives: `slate status` on {there} says, and `slate unlock` there releases it once it is gone",
                describe(state_dir, l).message
            );
            return 1;
        }
        if !stale(state_dir, l) {
            crate::warn_user!(
                "slate: {}; it is released when that run ends (`slate abort {}` ends it)",
                describe(state_dir, l).message,
                l.run_id.as_deref().unwrap_or("?")
            );
            return 1;
        }
        return match store.break_run_lock(r, env) {
            Ok(_) => {
                crate::say!(
                    "released the lock of run {} on {env} for {r}: its engine was gone",
                    l.run_id.as_deref().unwrap_or("?")
                );
                0
            }
            Err(e) => {
                crate::warn_user!("slate: {e}");
                1
            }
        };
    }
    let others: Vec<String> = here
        .iter()
        .map(|l| match l.kind {
            LockKind::Manual => format!("`slate unlock {env} --release {}`", l.release),
            LockKind::Run => format!(
                "run {} holds it for {} (`slate unlock {env} --release {}` if its engine is gone)",
                l.run_id.as_deref().unwrap_or("?"),
                l.release,
                l.release
            ),
            // Never stored as a lock; listed for completeness.
            LockKind::Queued => format!(
                "run {} is queued for it",
                l.run_id.as_deref().unwrap_or("?")
            ),
        })
        .collect();
    if others.is_empty() {
        crate::warn_user!("slate: nothing holds {env}");
    } else {
        crate::warn_user!(
            "slate: no hold on {env}{}; {}",
            release
                .map(|r| format!(" for {r}"))
                .unwrap_or_else(|| " for every release".into()),
            others.join("; ")
        );
    }
    1
}

#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    lock: Lock,
    stale: bool,
}

#[derive(Serialize)]
struct Listing {
    locks: Vec<Listed>,
    queue: Vec<Waiter>,
    freezes: Vec<Freeze>,
    /// The freezes of config.toml that hold now or start within a week.
    policy: Vec<crate::stopline::upcoming::Upcoming>,
}

pub fn list(state_dir: &Path, json: bool) -> i32 {
    let Ok(store) = open(state_dir) else { return 1 };
    let now = jiff::Timestamp::now();
    let (locks, queue, freezes) = match (store.locks(), store.lock_queue(), store.freezes(now)) {
        (Ok(l), Ok(q), Ok(f)) => (l, q, f),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    let policy = match crate::stopline::config::load(&crate::paths::config_dir()) {
        Ok(team) => crate::stopline::upcoming::each(&team.windows, now),
        Err(e) => {
            for l in e.lines() {
                crate::warn_user!("{l}");
            }
            return 1;
        }
    };
    let listing = Listing {
        locks: locks
            .into_iter()
            .map(|l| Listed {
                stale: stale(state_dir, &l),
                lock: l,
            })
            .collect(),
        queue,
        freezes,
        policy,
    };
    if json {
        return match crate::text::json::to_string_pretty(&listing) {
            Ok(t) => {
                crate::output::out_text(&t);
                0
            }
            Err(e) => {
                crate::warn_user!("slate: {e}");
                1
            }
        };
    }
    if listing.locks.is_empty()
        && listing.queue.is_empty()
        && listing.freezes.is_empty()
        && listing.policy.is_empty()
    {
        crate::say!("no locks");
        return 0;
    }
    for l in &listing.locks {
        crate::say!("{}", describe(state_dir, &l.lock).message);
    }
    for w in &listing.queue {
        crate::say!(
            "waiting for {} of {}: run {} ({}, since {})",
            w.env,
            w.release,
            w.run_id,
            w.holder,
            shown_time(w.since)
        );
    }
    for f in &listing.freezes {
        let w = crate::stopline::adhoc_window(f);
        let state = if f.starts > now {
            format!("from {} ", w.calendar.shown(f.starts))
        } else {
            String::new()
        };
        crate::say!(
            "{} frozen {state}until {} by {}: {}",
            f.env,
            w.calendar.shown(f.ends),
            f.by,
            f.reason
        );
    }
    for u in &listing.policy {
        crate::say!("{} (config.toml)", u.line());
    }
    0
}

/// A time as typed for `slate freeze`: a date and time in `tz`, or a
/// duration from `now`.
fn when(s: &str, tz: &jiff::tz::TimeZone, now: jiff::Timestamp) -> Result<jiff::Timestamp, String> {
    if let Some(dt) = crate::stopline::calendar::civil(s) {
        return dt
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| format!("`{s}`: {e}"));
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return jiff::SignedDuration::try_from(d)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .ok_or_else(|| format!("`{s}` is too far away"));
    }
    Err(format!(
        "`{s}` is not a time: write \"2026-12-28 08:00\" (in --tz) or a duration such as \"2h\""
    ))
}

pub fn freeze(
    state_dir: &Path,
    env: &str,
    until: &str,
    from: Option<&str>,
    tz: Option<&str>,
    reason: &str,
) -> i32 {
    add_freeze(state_dir, env, until, from, tz, reason, "cli").print()
}

/// An ad-hoc freeze of `env` until `until` (from `from`, or now), by the
/// OS user this process runs as.
pub fn add_freeze(
    state_dir: &Path,
    env: &str,
    until: &str,
    from: Option<&str>,
    tz: Option<&str>,
    reason: &str,
    via: &str,
) -> Said {
    let usage = |m: String| Said::fail(crate::exit::USAGE, m);
    if env != "*"
        && let Some(p) = name_problem("the environment", env)
    {
        return usage(p);
    }
    if reason.trim().is_empty() {
        return usage("--reason is empty: say why the environment is frozen".into());
    }
    let system = jiff::tz::TimeZone::system();
    let (zone, tz_name) = match tz {
        Some(name) => match crate::stopline::calendar::zone(name) {
            Ok(z) => (z, name.to_string()),
            Err(e) => return usage(e),
        },
        None => {
            let name = system.iana_name().unwrap_or("UTC").to_string();
            (system, name)
        }
    };
    let now = jiff::Timestamp::now();
    let starts = match from.map(|f| when(f, &zone, now)).transpose() {
        Ok(s) => s.unwrap_or(now),
        Err(e) => return usage(format!("--from {e}")),
    };
    let ends = match when(until, &zone, now) {
        Ok(e) => e,
        Err(e) => return usage(format!("--until {e}")),
    };
    if ends <= starts {
        return usage(
            "--until is not after the freeze starts: the range is inverted or empty".into(),
        );
    }
    if ends <= now {
        return usage("--until is in the past".into());
    }
    let store = match opened(state_dir) {
        Ok(s) => s,
        Err(said) => return said,
    };
    let f = Freeze {
        id: 0,
        env: env.to_string(),
        reason: reason.to_string(),
        starts,
        ends,
        tz: tz_name,
        by: Actor::current(via).user,
        at: now,
    };
    match store.add_freeze(&f) {
        Ok(_) => {
            let w = crate::stopline::adhoc_window(&f);
            let which = if env == "*" { "every environment" } else { env };
            let from = if starts > now {
                format!(" from {}", w.calendar.shown(starts))
            } else {
                String::new()
            };
            Said::ok(vec![format!(
                "{which} is frozen{from} until {}: no run starts promoting into it, and runs inside stop at their next safe point (`slate unfreeze {env}` lifts it)",
                w.calendar.shown(ends)
            )])
        }
        Err(e) => Said::fail(1, e.to_string()),
    }
}

pub fn unfreeze(state_dir: &Path, env: &str) -> i32 {
    if env != "*"
        && let Some(p) = name_problem("the environment", env)
    {
        crate::warn_user!("slate: {p}");
        return crate::exit::USAGE;
    }
    let Ok(store) = open(state_dir) else { return 1 };
    match store.lift_freezes(env, &Actor::current("cli").user, jiff::Timestamp::now()) {
        Ok(lifted) if lifted.is_empty() => {
            crate::warn_user!(
                "slate: no ad-hoc freeze on {env} (freezes in a plan or config.toml are lifted by editing them)"
            );
            1
        }
        Ok(lifted) => {
            for f in lifted {
                crate::say!("lifted the freeze on {} by {} ({})", f.env, f.by, f.reason);
            }
            0
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            1
        }
    }
}
