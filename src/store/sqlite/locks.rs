//! The SQLite store's locks, queue and freezes (see `store::locks`). Every
//! method is one `IMMEDIATE` transaction: SQLite lets one writer in at a
//! time across processes, so checking what is in the way and taking the
//! lock cannot interleave with another run doing the same.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, from_micros};
use crate::store::StoreError;
use crate::store::locks::Lock;
use crate::store::locks::{ANY_RELEASE, Acquired, Freeze, LockAsk, LockKind, Locks, Waiter};

const LOCK_COLS: &str = "release, env, kind, run_id, holder, pid, reason, since";

fn lock(row: &Row) -> rusqlite::Result<Lock> {
    let kind: String = row.get(2)?;
    Ok(Lock {
        release: row.get(0)?,
        env: row.get(1)?,
        kind: if kind == "manual" {
            LockKind::Manual
        } else {
            LockKind::Run
        },
        run_id: row.get(3)?,
        holder: row.get(4)?,
        pid: row
            .get::<_, Option<i64>>(5)?
            .and_then(|p| u32::try_from(p).ok()),
        reason: row.get(6)?,
        since: from_micros(row.get(7)?).unwrap_or(Timestamp::UNIX_EPOCH),
        origin: None,
    })
}

const FREEZE_COLS: &str = "id, env, reason, starts, ends, tz, by, at";

fn freeze(row: &Row) -> rusqlite::Result<Freeze> {
    Ok(Freeze {
        id: row.get(0)?,
        env: row.get(1)?,
        reason: row.get(2)?,
        starts: from_micros(row.get(3)?).unwrap_or(Timestamp::UNIX_EPOCH),
        ends: from_micros(row.get(4)?).unwrap_or(Timestamp::UNIX_EPOCH),
        tz: row.get(5)?,
        by: row.get(6)?,
        at: from_micros(row.get(7)?).unwrap_or(Timestamp::UNIX_EPOCH),
    })
}

fn now() -> i64 {
    Timestamp::now().as_microsecond()
}

/// What stops `run_id` of `release` promoting into `env`: manual holds
/// first, then another run's lock.
fn in_the_way(tx: &rusqlite::Transaction, ask: &LockAsk) -> rusqlite::Result<Vec<Lock>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT {LOCK_COLS} FROM locks WHERE env = ?1 AND (
            (kind = 'manual' AND ?5 = 0 AND release IN (?2, ?3))
            OR (kind = 'run' AND release = ?2 AND run_id IS NOT ?4))
         ORDER BY kind, since"
    ))?;
    st.query_map(
        params![
            ask.env,
            ask.release,
            ANY_RELEASE,
            ask.run_id,
            ask.cross_holds
        ],
        lock,
    )?
    .collect()
}

/// The oldest run queued for `ask`'s place before `ask`'s run (before now,
/// if it is not queued), as a [`LockKind::Queued`] barrier.
fn queued_ahead(tx: &rusqlite::Transaction, ask: &LockAsk) -> rusqlite::Result<Option<Lock>> {
    let mut st = tx.prepare_cached(
        "SELECT release, env, run_id, holder, pid, since FROM lock_queue
         WHERE release = ?1 AND env = ?2 AND run_id <> ?3
           AND since < COALESCE(
                 (SELECT since FROM lock_queue WHERE release = ?1 AND env = ?2 AND run_id = ?3),
                 ?4)
         ORDER BY since, run_id LIMIT 1",
    )?;
    let mut rows = st.query_map(params![ask.release, ask.env, ask.run_id, now()], |row| {
        Ok(Lock {
            release: row.get(0)?,
            env: row.get(1)?,
            kind: LockKind::Queued,
            run_id: Some(row.get(2)?),
            holder: row.get(3)?,
            pid: row
                .get::<_, Option<i64>>(4)?
                .and_then(|p| u32::try_from(p).ok()),
            reason: String::new(),
            since: from_micros(row.get(5)?).unwrap_or(Timestamp::UNIX_EPOCH),
            origin: None,
        })
    })?;
    rows.next().transpose()
}

impl Locks for SqliteStore {
    fn acquire(&self, ask: &LockAsk, queue: bool) -> Result<Acquired, StoreError> {
        self.write(|tx| {
            // A run that will wait takes its place in the queue when it
            // first asks, free or not: its place is its arrival.
            if queue {
                tx.execute(
                    "INSERT OR IGNORE INTO lock_queue (release, env, run_id, holder, pid, since)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![ask.release, ask.env, ask.run_id, ask.holder, ask.pid, now()],
                )?;
            }
            let blocking = in_the_way(tx, ask)?;
            if !blocking.is_empty() {
                return Ok(Acquired::Blocked(blocking));
            }
            // First come, first served: a run queued before this one asked
            // goes first (whether its engine still lives is the caller's
            // question: `stopline` drops a dead one from the queue).
            if let Some(first) = queued_ahead(tx, ask)? {
                return Ok(Acquired::Blocked(vec![first]));
            }
            // Ours already (asked again): keep its `since`, refresh the pid.
            tx.execute(
                "INSERT INTO locks (release, env, kind, run_id, holder, pid, reason, since)
                 VALUES (?1, ?2, 'run', ?3, ?4, ?5, '', ?6)
                 ON CONFLICT (release, env, kind) DO UPDATE SET pid = excluded.pid",
                params![ask.release, ask.env, ask.run_id, ask.holder, ask.pid, now()],
            )?;
            tx.execute(
                "DELETE FROM lock_queue WHERE release = ?1 AND env = ?2 AND run_id = ?3",
                params![ask.release, ask.env, ask.run_id],
            )?;
            Ok(Acquired::Granted)
        })
    }

    fn reclaim(&self, ask: &LockAsk) -> Result<Vec<Lock>, StoreError> {
        self.write(|tx| {
            let others = in_the_way(tx, ask)?;
            // Another run's lock here would be a second run inside: keep it, say so.
            if others.iter().any(|l| l.kind == LockKind::Run) {
                return Ok(others);
            }
            tx.execute(
                "INSERT INTO locks (release, env, kind, run_id, holder, pid, reason, since)
                 VALUES (?1, ?2, 'run', ?3, ?4, ?5, '', ?6)
                 ON CONFLICT (release, env, kind) DO UPDATE SET pid = excluded.pid",
                params![ask.release, ask.env, ask.run_id, ask.holder, ask.pid, now()],
            )?;
            Ok(others)
        })
    }

    fn release_run(&self, run_id: &str, env: Option<&str>) -> Result<Vec<Lock>, StoreError> {
        self.write(|tx| {
            let released: Vec<Lock> = {
                let mut st = tx.prepare_cached(&format!(
                    "SELECT {LOCK_COLS} FROM locks WHERE kind = 'run' AND run_id = ?1
                     AND (?2 IS NULL OR env = ?2)"
                ))?;
                st.query_map(params![run_id, env], lock)?
                    .collect::<rusqlite::Result<_>>()?
            };
            tx.execute(
                "DELETE FROM locks WHERE kind = 'run' AND run_id = ?1 AND (?2 IS NULL OR env = ?2)",
                params![run_id, env],
            )?;
            tx.execute(
                "DELETE FROM lock_queue WHERE run_id = ?1 AND (?2 IS NULL OR env = ?2)",
                params![run_id, env],
            )?;
            Ok(released)
        })
    }

    fn hold(&self, l: &Lock) -> Result<Option<Lock>, StoreError> {
        self.write(|tx| {
            let existing = tx
                .query_row(
                    &format!(
                        "SELECT {LOCK_COLS} FROM locks WHERE release = ?1 AND env = ?2 AND kind = 'manual'"
                    ),
                    params![l.release, l.env],
                    lock,
                )
                .optional()?;
            if existing.is_some() {
                return Ok(existing);
            }
            tx.execute(
                "INSERT INTO locks (release, env, kind, run_id, holder, pid, reason, since)
                 VALUES (?1, ?2, 'manual', NULL, ?3, NULL, ?4, ?5)",
                params![l.release, l.env, l.holder, l.reason, l.since.as_microsecond()],
            )?;
            Ok(None)
        })
    }

    fn lift(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError> {
        self.take(release, env, "manual")
    }

    fn break_run_lock(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError> {
        self.take(release, env, "run")
    }

    fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {LOCK_COLS} FROM locks ORDER BY env, release, kind"
            ))
            .map_err(|e| self.err(e))?;
        st.query_map([], lock)
            .and_then(|r| r.collect())
            .map_err(|e| self.err(e))
    }

    fn lock_queue(&self) -> Result<Vec<Waiter>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT release, env, run_id, holder, pid, since FROM lock_queue ORDER BY since, run_id",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([], |row| {
            Ok(Waiter {
                release: row.get(0)?,
                env: row.get(1)?,
                run_id: row.get(2)?,
                holder: row.get(3)?,
                pid: row
                    .get::<_, Option<i64>>(4)?
                    .and_then(|p| u32::try_from(p).ok()),
                since: from_micros(row.get(5)?).unwrap_or(Timestamp::UNIX_EPOCH),
                origin: None,
            })
        })
        .and_then(|r| r.collect())
        .map_err(|e| self.err(e))
    }

    fn holds_on(&self, release: &str, env: &str) -> Result<Vec<Lock>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {LOCK_COLS} FROM locks WHERE env = ?1 AND kind = 'manual'
                 AND release IN (?2, ?3) ORDER BY since"
            ))
            .map_err(|e| self.err(e))?;
        st.query_map(params![env, release, ANY_RELEASE], lock)
            .and_then(|r| r.collect())
            .map_err(|e| self.err(e))
    }

    fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO freezes (env, reason, starts, ends, tz, by, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    f.env,
                    f.reason,
                    f.starts.as_microsecond(),
                    f.ends.as_microsecond(),
                    f.tz,
                    f.by,
                    f.at.as_microsecond()
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn lift_freezes(&self, env: &str, by: &str, at: Timestamp) -> Result<Vec<Freeze>, StoreError> {
        let at = at.as_microsecond();
        self.write(|tx| {
            let lifted: Vec<Freeze> = {
                let mut st = tx.prepare_cached(&format!(
                    "SELECT {FREEZE_COLS} FROM freezes WHERE env = ?1 AND lifted_at IS NULL AND ends > ?2
                     ORDER BY id"
                ))?;
                st.query_map(params![env, at], freeze)?
                    .collect::<rusqlite::Result<_>>()?
            };
            tx.execute(
                "UPDATE freezes SET lifted_by = ?3, lifted_at = ?2
                 WHERE env = ?1 AND lifted_at IS NULL AND ends > ?2",
                params![env, at, by],
            )?;
            Ok(lifted)
        })
    }

    fn freezes(&self, now: Timestamp) -> Result<Vec<Freeze>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FREEZE_COLS} FROM freezes WHERE lifted_at IS NULL AND ends > ?1
                 ORDER BY starts, id"
            ))
            .map_err(|e| self.err(e))?;
        st.query_map(params![now.as_microsecond()], freeze)
            .and_then(|r| r.collect())
            .map_err(|e| self.err(e))
    }
}

impl SqliteStore {
    fn take(&self, release: &str, env: &str, kind: &str) -> Result<Option<Lock>, StoreError> {
        self.write(|tx| {
            let found = tx
                .query_row(
                    &format!(
                        "SELECT {LOCK_COLS} FROM locks WHERE release = ?1 AND env = ?2 AND kind = ?3"
                    ),
                    params![release, env, kind],
                    lock,
                )
                .optional()?;
            tx.execute(
                "DELETE FROM locks WHERE release = ?1 AND env = ?2 AND kind = ?3",
                params![release, env, kind],
            )?;
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = SqliteStore::open(&dir.path().join("store.db")).unwrap();
        (dir, s)
    }

    fn ask(run: &str, env: &str) -> LockAsk {
        LockAsk {
            release: "pay".into(),
            env: env.into(),
            run_id: run.into(),
            holder: "alice".into(),
            pid: 42,
            cross_holds: false,
        }
    }

    #[test]
    fn one_run_per_place_and_released_for_the_next() {
        let (_d, s) = store();
        assert_eq!(
            s.acquire(&ask("r1", "prod"), true).unwrap(),
            Acquired::Granted
        );
        // Asking again keeps it.
        assert_eq!(
            s.acquire(&ask("r1", "prod"), true).unwrap(),
            Acquired::Granted
        );
        match s.acquire(&ask("r2", "prod"), true).unwrap() {
            Acquired::Blocked(l) => {
                assert_eq!(l.len(), 1);
                assert_eq!(l[0].run_id.as_deref(), Some("r1"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.lock_queue().unwrap().len(), 1);
        // Another environment, or another release, is free.
        assert_eq!(
            s.acquire(&ask("r2", "staging"), true).unwrap(),
            Acquired::Granted
        );
        let mut other = ask("r3", "prod");
        other.release = "ledger".into();
        assert_eq!(s.acquire(&other, false).unwrap(), Acquired::Granted);
        assert_eq!(s.release_run("r1", None).unwrap().len(), 1);
        assert_eq!(
            s.acquire(&ask("r2", "prod"), true).unwrap(),
            Acquired::Granted
        );
        assert!(s.lock_queue().unwrap().is_empty());
    }

    #[test]
    fn the_queue_is_first_come_first_served() {
        let (_d, s) = store();
        assert_eq!(
            s.acquire(&ask("r1", "prod"), true).unwrap(),
            Acquired::Granted
        );
        for r in ["r2", "r3"] {
            assert!(matches!(
                s.acquire(&ask(r, "prod"), true).unwrap(),
                Acquired::Blocked(_)
            ));
        }
        s.release_run("r1", None).unwrap();
        // r3 asks first once prod is free: r2 was there before it.
        match s.acquire(&ask("r3", "prod"), true).unwrap() {
            Acquired::Blocked(l) => {
                assert_eq!(l[0].kind, LockKind::Queued);
                assert_eq!(l[0].run_id.as_deref(), Some("r2"));
            }
            other => panic!("{other:?}"),
        }
        // So does a run that would not wait.
        assert!(matches!(
            s.acquire(&ask("r4", "prod"), false).unwrap(),
            Acquired::Blocked(_)
        ));
        assert_eq!(
            s.acquire(&ask("r2", "prod"), true).unwrap(),
            Acquired::Granted
        );
        s.release_run("r2", None).unwrap();
        assert_eq!(
            s.acquire(&ask("r3", "prod"), true).unwrap(),
            Acquired::Granted
        );
        assert!(s.lock_queue().unwrap().is_empty());
    }

    #[test]
    fn a_manual_hold_for_every_release_blocks_and_lifts() {
        let (_d, s) = store();
        let hold = Lock {
            release: ANY_RELEASE.into(),
            env: "prod".into(),
            kind: LockKind::Manual,
            run_id: None,
            holder: "sre\u{1b}[31m".into(),
            pid: None,
            reason: "incident\n42".into(),
            since: Timestamp::now(),
            origin: None,
        };
        assert_eq!(s.hold(&hold).unwrap(), None);
        assert!(
            s.hold(&hold).unwrap().is_some(),
            "a second hold reports the first"
        );
        match s.acquire(&ask("r1", "prod"), false).unwrap() {
            Acquired::Blocked(l) => assert_eq!(l[0].reason, "incident\n42"),
            other => panic!("{other:?}"),
        }
        assert!(
            s.lock_queue().unwrap().is_empty(),
            "not queued when not waiting"
        );
        assert_eq!(s.holds_on("pay", "prod").unwrap().len(), 1);
        assert!(s.lift(ANY_RELEASE, "prod").unwrap().is_some());
        assert_eq!(
            s.acquire(&ask("r1", "prod"), false).unwrap(),
            Acquired::Granted
        );
    }

    #[test]
    fn freezes_are_listed_until_over_or_lifted() {
        let (_d, s) = store();
        let now = Timestamp::now();
        let f = Freeze {
            id: 0,
            env: "prod".into(),
            reason: "holiday".into(),
            starts: now,
            ends: now + jiff::SignedDuration::from_hours(1),
            tz: "Europe/Berlin".into(),
            by: "alice".into(),
            at: now,
        };
        s.add_freeze(&f).unwrap();
        assert_eq!(s.freezes(now).unwrap().len(), 1);
        assert!(
            s.freezes(now + jiff::SignedDuration::from_hours(2))
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.lift_freezes("prod", "bob", now).unwrap().len(), 1);
        assert!(s.freezes(now).unwrap().is_empty());
    }
}
