//! Stopping the line: the admission the composition root gives every run
//! (`host::assemble`). It answers the engine's questions from the store —
//! deploy locks (one run per release × environment), people's holds
//! (`slate lock`) and freezes — and says what blocks in one line that names
//! who holds it, since when, and which run. The engine journals the answer
//! before it acts on it.

pub mod calendar;
pub mod config;
pub mod timing;
pub mod upcoming;
pub mod window;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::change::Baseline;
use crate::engine::admission::{Admission, Admit, Ask, Barrier, BarrierKind};
use crate::store::locks::Freeze;
use crate::store::locks::{ANY_RELEASE, Acquired, Lock, LockAsk, LockKind};
use crate::store::{Place, Store};
use window::{InFlight, Window, Windows};

/// The admission over a store.
pub struct StoreAdmission {
    store: Mutex<Box<dyn Store>>,
    state_dir: PathBuf,
    /// The plan's freezes and allow windows, and the user's config's.
    windows: Windows,
}

impl StoreAdmission {
    pub fn new(store: Box<dyn Store>, state_dir: &Path, windows: Windows) -> StoreAdmission {
        StoreAdmission {
            store: Mutex::new(store),
            state_dir: state_dir.to_path_buf(),
            windows,
        }
    }

    /// The freezes that hold now: the plan's and config's, and the ad-hoc
    /// ones in the store (`slate freeze`).
    fn frozen(&self, env: &str, in_flight: bool) -> Option<Barrier> {
        let now = Timestamp::now();
        let mut all = self.windows.clone();
        match self.with(|s| s.freezes(now)) {
            Ok(adhoc) => all.freezes.extend(adhoc.iter().map(adhoc_window)),
            Err(e) => return Some(Barrier::unknown(env, &e.to_string())),
        }
        all.check(env, now, in_flight)
    }

    fn with<T>(&self, f: impl FnOnce(&dyn Store) -> T) -> T {
        let guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(guard.as_ref())
    }

    fn lock_ask(ask: &Ask) -> LockAsk {
        LockAsk {
            release: ask.release.clone(),
            env: ask.env.clone(),
            run_id: ask.run_id.clone(),
            holder: ask.user.clone(),
            pid: ask.pid,
            cross_holds: ask.break_glass,
        }
    }
}

/// The environment as the plan of the run live there had it, read from
/// that run's journal (its state records only: a flooded run costs no more).
fn live_shape(state_dir: &Path, run_id: &str, env: &str) -> Result<crate::change::Shape, String> {
    let dir = crate::runs::find_run(state_dir, run_id)
        .map_err(|_| format!("the journal of run {run_id} is not in this state directory"))?;
    let journal = dir.join(crate::journal::JOURNAL_FILE);
    let read = crate::journal::read_journal_states(&journal)
        .map_err(|e| format!("cannot read the journal of run {run_id}: {e}"))?;
    let plan = match crate::runs::recorded_plan(&read.records) {
        Some(Ok(p)) => p,
        Some(Err(_)) => return Err(format!("the plan of run {run_id} no longer loads")),
        None => return Err(format!("the journal of run {run_id} has no plan")),
    };
    let i = plan
        .env_index(env)
        .ok_or_else(|| format!("the plan of run {run_id} has no environment {env}"))?;
    Ok(crate::change::shape(&plan, i))
}

/// A time as people read it here: local, with its zone.
pub fn shown_time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::system())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Dead waiters dropped from an environment's queue in one ask, at most.
const MAX_DEAD_WAITERS: usize = 16;

/// Where a lock's run is, when that is another machine sharing the team
/// store (its host, or its whole origin when it is this host's other
/// state directory); None for this state directory's own runs.
pub fn elsewhere(state_dir: &Path, lock: &Lock) -> Option<String> {
    let theirs = lock.origin.as_deref()?;
    let ours = crate::store::postgres::origin(state_dir);
    if theirs == ours {
        return None;
    }
    let host = |o: &str| o.split_once(':').map_or(o, |(h, _)| h).to_string();
    Some(if host(theirs) == host(&ours) {
        theirs.to_string()
    } else {
        host(theirs)
    })
}

/// Whether a run lock's (or a queued run's) engine is gone. A run on
/// another machine is never taken for gone: only its machine can tell.
pub fn stale(state_dir: &Path, lock: &Lock) -> bool {
    if elsewhere(state_dir, lock).is_some() {
        return false;
    }
    match (&lock.kind, &lock.run_id) {
        (LockKind::Run | LockKind::Queued, Some(run)) => {
            let dir = crate::runs::runs_dir(state_dir).join(run);
            !crate::runs::engine_running(&dir, lock.pid.unwrap_or(0))
        }
        _ => false,
    }
}

/// The one line that says what a lock is and who holds it.
pub fn describe(state_dir: &Path, lock: &Lock) -> Barrier {
    let since = shown_time(lock.since);
    let scope = if lock.release == ANY_RELEASE {
        String::new()
    } else {
        format!(" for {}", lock.release)
    };
    let on = elsewhere(state_dir, lock)
        .map(|w| format!(" on {w}"))
        .unwrap_or_default();
    match lock.kind {
        LockKind::Run => {
            let run = lock.run_id.clone().unwrap_or_default();
            let stale = stale(state_dir, lock);
            let mut message = format!(
                "{}{scope} is locked by run {run} ({}{on}, since {since})",
                lock.env, lock.holder
            );
            if stale {
                message.push_str(&format!(
                    "; its engine is gone: `slate recover {run}` takes the run over, \
                     or `slate unlock {} --release {}` releases the lock",
                    lock.env, lock.release
                ));
            }
            Barrier {
                kind: BarrierKind::Lock,
                message,
                holder: Some(lock.holder.clone()),
                run_id: lock.run_id.clone(),
                since: Some(lock.since),
                until: None,
                reason: lock.reason.clone(),
                stale,
            }
        }
        LockKind::Queued => Barrier {
            kind: BarrierKind::Lock,
            message: format!(
                "{}{scope} goes next to run {} ({}{on}, queued since {since}): first come, first served",
                lock.env,
                lock.run_id.as_deref().unwrap_or("?"),
                lock.holder
            ),
            holder: Some(lock.holder.clone()),
            run_id: lock.run_id.clone(),
            since: Some(lock.since),
            until: None,
            reason: String::new(),
            stale: false,
        },
        LockKind::Manual => Barrier {
            kind: BarrierKind::Hold,
            message: format!(
                "{}{scope} is held by {} since {since}: {} (`slate unlock {}{}` lifts it)",
                lock.env,
                lock.holder,
                lock.reason,
                lock.env,
                if lock.release == ANY_RELEASE {
                    String::new()
                } else {
                    format!(" --release {}", lock.release)
                }
            ),
            holder: Some(lock.holder.clone()),
            run_id: None,
            since: Some(lock.since),
            until: None,
            reason: lock.reason.clone(),
            stale: false,
        },
    }
}

impl Admission for StoreAdmission {
    fn enter(&self, ask: &Ask) -> Admit {
        // Deny first: a frozen environment is not even locked.
        if !ask.break_glass
            && let Some(b) = self.frozen(&ask.env, false)
        {
            if ask.queue {
                let _ = self.with(|s| s.release_run(&ask.run_id, Some(&ask.env)));
            }
            return Admit::Blocked(b);
        }
        // A rollback to a known-good version pinned the place: only that
        // rollback, or a run that promotes over the pin (`--unpin`), goes in.
        if !ask.pin_free {
            match self.with(|s| s.pin(&ask.release, &ask.env)) {
                Ok(Some(pin)) => {
                    return Admit::Blocked(Barrier {
                        kind: BarrierKind::Pin,
                        message: format!(
                            "{}; `slate run --unpin REASON` promotes over it",
                            pin.describe(&ask.env)
                        ),
                        holder: Some(pin.by.clone()),
                        run_id: Some(pin.run_id.clone()),
                        since: Some(pin.at),
                        until: None,
                        reason: pin.reason.clone(),
                        stale: false,
                    });
                }
                Ok(None) => {}
                Err(e) => return Admit::Blocked(Barrier::unknown(&ask.env, &e.to_string())),
            }
        }
        // A run queued ahead whose engine died would keep the place
        // forever: it leaves the queue and the store is asked again.
        for _ in 0..MAX_DEAD_WAITERS {
            let got = self.with(|s| s.acquire(&Self::lock_ask(ask), ask.queue));
            match got {
                Ok(Acquired::Granted) => return Admit::Granted,
                Ok(Acquired::Blocked(locks)) => match locks.first() {
                    Some(l) if l.kind == LockKind::Queued && stale(&self.state_dir, l) => {
                        let dead = l.run_id.clone().unwrap_or_default();
                        if let Err(e) = self.with(|s| s.release_run(&dead, Some(&ask.env))) {
                            return Admit::Blocked(Barrier::unknown(&ask.env, &e.to_string()));
                        }
                    }
                    Some(l) => return Admit::Blocked(describe(&self.state_dir, l)),
                    None => {
                        return Admit::Blocked(Barrier::unknown(&ask.env, "the store said no"));
                    }
                },
                Err(e) => return Admit::Blocked(Barrier::unknown(&ask.env, &e.to_string())),
            }
        }
        Admit::Blocked(Barrier::unknown(
            &ask.env,
            "too many runs in its queue have no engine left",
        ))
    }

    fn reenter(&self, ask: &Ask) {
        match self.with(|s| s.reclaim(&Self::lock_ask(ask))) {
            Ok(others) => {
                for l in others.iter().filter(|l| l.kind == LockKind::Run) {
                    tracing::warn!(env = %ask.env, other = ?l.run_id, "another run holds the lock of an environment a recovered run is inside");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot take a recovered run's lock back"),
        }
    }

    fn in_flight(&self, ask: &Ask) -> Option<Barrier> {
        if ask.break_glass {
            return None;
        }
        if let Some(b) = self.frozen(&ask.env, true) {
            return Some(b);
        }
        match self.with(|s| s.holds_on(&ask.release, &ask.env)) {
            Ok(holds) => holds.first().map(|l| describe(&self.state_dir, l)),
            Err(e) => Some(Barrier::unknown(&ask.env, &e.to_string())),
        }
    }

    fn leave(&self, run_id: &str, env: Option<&str>) {
        if let Err(e) = self.with(|s| s.release_run(run_id, env)) {
            tracing::warn!(error = %e, "cannot release a run's locks");
        }
    }

    fn baseline(&self, ask: &Ask) -> Baseline {
        let place = Place {
            release: ask.release.clone(),
            env: ask.env.clone(),
            env_index: 0,
        };
        let read = self.with(|s| {
            let live = s.live(&place)?;
            let newest = s.history(&place, Some(2))?;
            Ok::<_, crate::store::StoreError>((live, newest))
        });
        let (live, newest) = match read {
            Ok(v) => v,
            Err(e) => return Baseline::Unknown(e.to_string()),
        };
        // The newest run there other than this one, if it stopped part-way,
        // may have left a mix of versions behind.
        let drift = newest
            .iter()
            .find(|d| d.run_id != ask.run_id)
            .filter(|d| d.reach.part_way())
            .map(|d| {
                format!(
                    "the last run into {} ({}, version {}) was {} part-way; it may run a mix",
                    ask.env,
                    d.run_id,
                    d.version,
                    d.reach.word()
                )
            });
        let live = live.map(|d| crate::change::Live {
            shape: live_shape(&self.state_dir, &d.run_id, &ask.env),
            version: d.version,
            run_id: d.run_id,
            since: d.live_at,
            artifacts: d
                .artifacts
                .into_iter()
                .map(|a| (a.name, a.digest))
                .collect(),
        });
        Baseline::Known { live, drift }
    }
}

/// Run locks whose engine is gone, each in one line with what frees it
/// (`slate status` reports them). A store that cannot be read gives none:
/// `slate status` has said so already.
pub fn stale_locks(state_dir: &Path) -> Vec<String> {
    let Ok(opened) = crate::store::open(state_dir) else {
        return Vec::new();
    };
    opened
        .store
        .locks()
        .unwrap_or_default()
        .iter()
        .filter(|l| stale(state_dir, l))
        .map(|l| describe(state_dir, l).message)
        .collect()
}

/// An ad-hoc freeze as a window: a fixed range in the zone it was given in.
pub fn adhoc_window(f: &Freeze) -> Window {
    let tz = calendar::zone(&f.tz).unwrap_or(TimeZone::UTC);
    Window {
        name: format!("freeze by {}", f.by),
        envs: vec![f.env.clone()],
        reason: f.reason.clone(),
        calendar: calendar::Calendar {
            when: calendar::When::Range {
                from: f.starts,
                until: f.ends,
            },
            tz,
            tz_name: f.tz.clone(),
        },
        in_flight: InFlight::Stop,
    }
}
