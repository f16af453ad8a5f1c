//! Locks, holds, the queue and ad-hoc freezes in the team store, so they
//! bind every machine that shares it: two runs on two machines racing for
//! prod, exactly one gets in. The semantics are the SQLite store's
//! (`store/sqlite/locks.rs`); what makes them atomic differs:
//!
//! - every transaction that reads what is in an environment's way and then
//!   writes takes a transaction-scoped advisory lock on the environment's
//!   name first, so two such transactions on one environment run one after
//!   the other (PostgreSQL's default isolation would let both read "free");
//! - the primary key (release, env, kind) is the backstop: a run lock
//!   never replaces another run's;
//! - times that order runs (a lock's `since`, a place in the queue) are the
//!   server's clock, not each machine's, so first come, first served holds
//!   across machines whose clocks differ;
//! - each lock and queued run says its `origin`: only that machine can tell
//!   whether the run's engine lives (`stopline::stale`).

use jiff::Timestamp;
use tokio_postgres::{Client, Row, Transaction};

use super::{ATTEMPTS, PgError, PgStore, get, retriable, text};
use crate::store::StoreError;
use crate::store::locks::{ANY_RELEASE, Acquired, Freeze, Lock, LockAsk, LockKind, Locks, Waiter};
use crate::store::sql::from_micros;

/// The server's clock, in the store's unit (microseconds since the epoch).
const NOW_US: &str = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

const LOCK_COLS: &str = "release, env, kind, run_id, holder, pid, reason, since, origin";

const FREEZE_COLS: &str = "id, env, reason, starts, ends, tz, by, at";

fn time(row: &Row, i: usize) -> Result<Timestamp, String> {
    Ok(from_micros(Some(get::<i64>(row, i)?)).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn pid(row: &Row, i: usize) -> Result<Option<u32>, String> {
    Ok(get::<Option<i64>>(row, i)?.and_then(|p| u32::try_from(p).ok()))
}

fn lock(row: &Row) -> Result<Lock, String> {
    Ok(Lock {
        release: get(row, 0)?,
        env: get(row, 1)?,
        kind: if get::<String>(row, 2)? == "manual" {
            LockKind::Manual
        } else {
            LockKind::Run
        },
        run_id: get(row, 3)?,
        holder: get(row, 4)?,
        pid: pid(row, 5)?,
        reason: get(row, 6)?,
        since: time(row, 7)?,
        origin: get(row, 8)?,
    })
}

/// A queue row (release, env, run_id, holder, pid, since, origin).
fn waiter(row: &Row) -> Result<Waiter, String> {
    Ok(Waiter {
        release: get(row, 0)?,
        env: get(row, 1)?,
        run_id: get(row, 2)?,
        holder: get(row, 3)?,
        pid: pid(row, 4)?,
        since: time(row, 5)?,
        origin: Some(get(row, 6)?),
    })
}

fn freeze(row: &Row) -> Result<Freeze, String> {
    Ok(Freeze {
        id: get(row, 0)?,
        env: get(row, 1)?,
        reason: get(row, 2)?,
        starts: time(row, 3)?,
        ends: time(row, 4)?,
        tz: get(row, 5)?,
        by: get(row, 6)?,
        at: time(row, 7)?,
    })
}

/// What a transaction body gives: rows it read (decoded after the commit,
/// so a row that cannot be read is said, not retried) or a plain value.
type Rows = Vec<Row>;

/// Serialises this transaction with every other one on `env`.
async fn serialise(tx: &Transaction<'_>, env: &str) -> Result<(), PgError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&format!("slate.locks {}", text(env))],
    )
    .await?;
    Ok(())
}

/// Manual holds first, then another run's lock: what stops `ask`.
async fn in_the_way(tx: &Transaction<'_>, ask: &LockAsk) -> Result<Rows, PgError> {
    tx.query(
        &format!(
            "SELECT {LOCK_COLS} FROM slate.locks WHERE env = $1 AND (
                (kind = 'manual' AND NOT $5 AND release IN ($2, $3))
                OR (kind = 'run' AND release = $2 AND run_id IS DISTINCT FROM $4))
             ORDER BY kind, since"
        ),
        &[
            &text(&ask.env),
            &text(&ask.release),
            &ANY_RELEASE,
            &text(&ask.run_id),
            &ask.cross_holds,
        ],
    )
    .await
}

/// The oldest run queued for `ask`'s place before `ask`'s run.
async fn queued_ahead(tx: &Transaction<'_>, ask: &LockAsk) -> Result<Rows, PgError> {
    tx.query(
        &format!(
            "SELECT release, env, run_id, holder, pid, since, origin FROM slate.lock_queue
             WHERE release = $1 AND env = $2 AND run_id <> $3
               AND since < COALESCE(
                     (SELECT since FROM slate.lock_queue WHERE release = $1 AND env = $2 AND run_id = $3),
                     {NOW_US})
             ORDER BY since, run_id LIMIT 1"
        ),
        &[&text(&ask.release), &text(&ask.env), &text(&ask.run_id)],
    )
    .await
}

/// Takes (or refreshes) `ask`'s run lock unless another run holds it;
/// whether it did.
async fn take_run_lock(tx: &Transaction<'_>, ask: &LockAsk, origin: &str) -> Result<bool, PgError> {
    let n = tx
        .execute(
            &format!(
                "INSERT INTO slate.locks AS l (release, env, kind, run_id, holder, pid, reason, since, origin)
                 VALUES ($1, $2, 'run', $3, $4, $5, '', {NOW_US}, $6)
                 ON CONFLICT (release, env, kind) DO UPDATE
                 SET pid = excluded.pid, origin = excluded.origin
                 WHERE l.run_id = excluded.run_id"
            ),
            &[
                &text(&ask.release),
                &text(&ask.env),
                &text(&ask.run_id),
                &text(&ask.holder),
                &i64::from(ask.pid),
                &origin,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// What `acquire` found, before its rows are decoded.
enum Got {
    Granted,
    Blocked(Rows),
    Queued(Rows),
}

impl PgStore {
    /// One transaction, serialised per environment when `env` is given,
    /// run again when it loses a deadlock or serialization race.
    fn transact<T: Send>(
        &self,
        env: Option<&str>,
        body: impl AsyncFn(&Transaction<'_>) -> Result<T, PgError> + Sync,
    ) -> Result<T, StoreError> {
        self.call(async |c: &mut Client| {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let tx = c.transaction().await?;
                let done = match env {
                    Some(e) => match serialise(&tx, e).await {
                        Ok(()) => body(&tx).await,
                        Err(e) => Err(e),
                    },
                    None => body(&tx).await,
                };
                match done {
                    Ok(v) => match tx.commit().await {
                        Ok(()) => return Ok(v),
                        Err(e) if retriable(&e) && attempt < ATTEMPTS => continue,
                        Err(e) => return Err(e),
                    },
                    Err(e) if retriable(&e) && attempt < ATTEMPTS => continue,
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// A query outside a transaction, its rows decoded by `f`.
    fn select<T>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        f: fn(&Row) -> Result<T, String>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.call(async |c: &mut Client| c.query(sql, params).await)?;
        self.rows(rows, f)
    }

    /// Removes the lock of `kind` on `release` × `env`; returns it.
    fn take(&self, release: &str, env: &str, kind: &str) -> Result<Option<Lock>, StoreError> {
        let rows = self.transact(Some(env), async |tx| {
            tx.query(
                &format!(
                    "DELETE FROM slate.locks WHERE release = $1 AND env = $2 AND kind = $3
                     RETURNING {LOCK_COLS}"
                ),
                &[&text(release), &text(env), &kind],
            )
            .await
        })?;
        Ok(self.rows(rows, lock)?.into_iter().next())
    }
}

impl Locks for PgStore {
    fn acquire(&self, ask: &LockAsk, queue: bool) -> Result<Acquired, StoreError> {
        let origin = self.origin.as_str();
        let got = self.transact(Some(&ask.env), async |tx| {
            // A run that will wait takes its place when it first asks.
            if queue {
                tx.execute(
                    &format!(
                        "INSERT INTO slate.lock_queue (release, env, run_id, holder, pid, since, origin)
                         VALUES ($1, $2, $3, $4, $5, {NOW_US}, $6) ON CONFLICT DO NOTHING"
                    ),
                    &[
                        &text(&ask.release),
                        &text(&ask.env),
                        &text(&ask.run_id),
                        &text(&ask.holder),
                        &i64::from(ask.pid),
                        &origin,
                    ],
                )
                .await?;
            }
            let blocking = in_the_way(tx, ask).await?;
            if !blocking.is_empty() {
                return Ok(Got::Blocked(blocking));
            }
            let ahead = queued_ahead(tx, ask).await?;
            if !ahead.is_empty() {
                return Ok(Got::Queued(ahead));
            }
            if !take_run_lock(tx, ask, origin).await? {
                // Only another run's lock refuses the insert, and
                // `in_the_way` would have seen it; read it to say so.
                return Ok(Got::Blocked(in_the_way(tx, ask).await?));
            }
            tx.execute(
                "DELETE FROM slate.lock_queue WHERE release = $1 AND env = $2 AND run_id = $3",
                &[&text(&ask.release), &text(&ask.env), &text(&ask.run_id)],
            )
            .await?;
            Ok(Got::Granted)
        })?;
        match got {
            Got::Granted => Ok(Acquired::Granted),
            Got::Blocked(rows) => Ok(Acquired::Blocked(self.rows(rows, lock)?)),
            Got::Queued(rows) => Ok(Acquired::Blocked(
                self.rows(rows, waiter)?
                    .into_iter()
                    .map(|w| Lock {
                        release: w.release,
                        env: w.env,
                        kind: LockKind::Queued,
                        run_id: Some(w.run_id),
                        holder: w.holder,
                        pid: w.pid,
                        reason: String::new(),
                        since: w.since,
                        origin: w.origin,
                    })
                    .collect(),
            )),
        }
    }

    fn reclaim(&self, ask: &LockAsk) -> Result<Vec<Lock>, StoreError> {
        let origin = self.origin.as_str();
        let rows = self.transact(Some(&ask.env), async |tx| {
            let others = in_the_way(tx, ask).await?;
            // Another run's lock here would be a second run inside: keep it.
            let theirs = others
                .iter()
                .any(|r| r.try_get::<_, String>(2).is_ok_and(|k| k == "run"));
            if !theirs {
                take_run_lock(tx, ask, origin).await?;
            }
            Ok(others)
        })?;
        self.rows(rows, lock)
    }

    fn release_run(&self, run_id: &str, env: Option<&str>) -> Result<Vec<Lock>, StoreError> {
        let env = env.map(text);
        let rows = self.transact(env.as_deref(), async |tx| {
            let released = tx
                .query(
                    &format!(
                        "DELETE FROM slate.locks WHERE kind = 'run' AND run_id = $1
                         AND ($2::text IS NULL OR env = $2) RETURNING {LOCK_COLS}"
                    ),
                    &[&text(run_id), &env],
                )
                .await?;
            tx.execute(
                "DELETE FROM slate.lock_queue WHERE run_id = $1 AND ($2::text IS NULL OR env = $2)",
                &[&text(run_id), &env],
            )
            .await?;
            Ok(released)
        })?;
        self.rows(rows, lock)
    }

    fn hold(&self, l: &Lock) -> Result<Option<Lock>, StoreError> {
        let rows = self.transact(Some(&l.env), async |tx| {
            let existing = tx
                .query(
                    &format!(
                        "SELECT {LOCK_COLS} FROM slate.locks
                         WHERE release = $1 AND env = $2 AND kind = 'manual'"
                    ),
                    &[&text(&l.release), &text(&l.env)],
                )
                .await?;
            if !existing.is_empty() {
                return Ok(existing);
            }
            tx.execute(
                "INSERT INTO slate.locks (release, env, kind, run_id, holder, pid, reason, since, origin)
                 VALUES ($1, $2, 'manual', NULL, $3, NULL, $4, $5, NULL)",
                &[
                    &text(&l.release),
                    &text(&l.env),
                    &text(&l.holder),
                    &text(&l.reason),
                    &l.since.as_microsecond(),
                ],
            )
            .await?;
            Ok(Vec::new())
        })?;
        Ok(self.rows(rows, lock)?.into_iter().next())
    }

    fn lift(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError> {
        self.take(release, env, "manual")
    }

    fn break_run_lock(&self, release: &str, env: &str) -> Result<Option<Lock>, StoreError> {
        self.take(release, env, "run")
    }

    fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        self.select(
            &format!("SELECT {LOCK_COLS} FROM slate.locks ORDER BY env, release, kind"),
            &[],
            lock,
        )
    }

    fn lock_queue(&self) -> Result<Vec<Waiter>, StoreError> {
        self.select(
            "SELECT release, env, run_id, holder, pid, since, origin FROM slate.lock_queue
             ORDER BY since, run_id",
            &[],
            waiter,
        )
    }

    fn holds_on(&self, release: &str, env: &str) -> Result<Vec<Lock>, StoreError> {
        self.select(
            &format!(
                "SELECT {LOCK_COLS} FROM slate.locks WHERE env = $1 AND kind = 'manual'
                 AND release IN ($2, $3) ORDER BY since"
            ),
            &[&text(env), &text(release), &ANY_RELEASE],
            lock,
        )
    }

    fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        self.transact(None, async |tx| {
            let row = tx
                .query_one(
                    "INSERT INTO slate.freezes (env, reason, starts, ends, tz, by, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &text(&f.env),
                        &text(&f.reason),
                        &f.starts.as_microsecond(),
                        &f.ends.as_microsecond(),
                        &text(&f.tz),
                        &text(&f.by),
                        &f.at.as_microsecond(),
                    ],
                )
                .await?;
            Ok(row.get::<_, i64>(0))
        })
    }

    fn lift_freezes(&self, env: &str, by: &str, at: Timestamp) -> Result<Vec<Freeze>, StoreError> {
        let at = at.as_microsecond();
        let rows = self.transact(None, async |tx| {
            tx.query(
                &format!(
                    "UPDATE slate.freezes SET lifted_by = $3, lifted_at = $2
                     WHERE env = $1 AND lifted_at IS NULL AND ends > $2
                     RETURNING {FREEZE_COLS}"
                ),
                &[&text(env), &at, &text(by)],
            )
            .await
        })?;
        let mut lifted = self.rows(rows, freeze)?;
        lifted.sort_by_key(|f| f.id);
        Ok(lifted)
    }

    fn freezes(&self, now: Timestamp) -> Result<Vec<Freeze>, StoreError> {
        self.select(
            &format!(
                "SELECT {FREEZE_COLS} FROM slate.freezes WHERE lifted_at IS NULL AND ends > $1
                 ORDER BY starts, id"
            ),
            &[&now.as_microsecond()],
            freeze,
        )
    }
}
