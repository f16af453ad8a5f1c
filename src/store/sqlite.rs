//! The embedded store: one SQLite file (`<state>/store.db`) through
//! `rusqlite` with SQLite compiled in (`bundled`), so the default needs no
//! server and no system library. Many processes write it at once (every
//! run's recorder), so it runs in WAL mode (readers never wait for the
//! writer) with a busy handler (writers queue), and every write is one
//! short `IMMEDIATE` transaction.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior};

use super::ledger::{Deployment, Reach};
use super::pins::{Pin, PinKind};
use super::schema::{MIGRATIONS, latest};
use super::sql::{self, from_micros, micros, outcome_from, outcome_key};
use super::{Delivery, DeliveryQuery, Page, Place, RunQuery, RunRecord, Store, StoreError};
use crate::runs::RunSummary;

mod busy;
mod create;
mod locks;

/// How long a writer waits for another before giving up: far longer than
/// any transaction here takes, short enough that a wedged writer is told.
const BUSY: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating and migrating) the store at `path`; says whether it
    /// was created just now (so the caller fills it from the journals).
    pub fn open(path: &Path) -> Result<(SqliteStore, bool), StoreError> {
        let shown = path.display().to_string();
        let mut published = false;
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(StoreError::Other(format!(
                    "the store {shown} is not a regular file; move it away and Slate rebuilds the store from the journals"
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    crate::paths::ensure_private_dir(dir).map_err(|e| {
                        StoreError::Other(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                published = create::publish_new(path)?;
            }
            Err(e) => {
                return Err(StoreError::Other(format!(
                    "cannot read the store {shown}: {e}"
                )));
            }
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&shown, e))?;
        let store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .busy_handler(Some(busy::wait))
            .map_err(|e| classify(&shown, e))?;
        // A newer Slate's store is not touched at all, not even its mode.
        let version = store.user_version()?;
        if version > latest() {
            return Err(store.newer(version));
        }
        store.wal()?;
        // Derived data: losing the last transaction to a power cut costs a
        // rebuild at worst, never a journal.
        store
            .conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| classify(&shown, e))?;
        // A store this call published is new and migrated already; a file
        // an older Slate left empty is migrated here.
        let created = store.migrate()? || published;
        Ok((store, created))
    }

    /// Puts the file in WAL mode, once for its life (the mode is kept in
    /// the file). Converting needs the file to itself, and SQLite answers a
    /// conversion that meets another connection's read with "locked" at once,
    /// without its busy handler (waiting could deadlock two converters): two
    /// processes opening a new store together (two runs started at the same
    /// instant) had one of them fail. So the conversion is tried again, a
    /// little later each time, until one of them has done it or [`BUSY`] has
    /// passed.
    fn wal(&self) -> Result<(), StoreError> {
        let deadline = std::time::Instant::now() + BUSY;
        let mut pause = Duration::from_millis(1);
        loop {
            let tried = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0));
            let busy = match tried {
                // WAL, or a file system without the shared memory WAL needs,
                // where SQLite keeps the old mode and the store works as before.
                Ok(_) => return Ok(()),
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) =>
                {
                    self.err(e)
                }
                Err(e) => return Err(self.err(e)),
            };
            if std::time::Instant::now() + pause > deadline {
                return Err(busy);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.shown(), e)
    }

    /// Applies the migrations this store lacks, in one transaction (another
    /// process may be doing the same: the second finds nothing to do).
    fn migrate(&self) -> Result<bool, StoreError> {
        let version = self.user_version()?;
        if version > latest() {
            return Err(self.newer(version));
        }
        if version == latest() {
            return Ok(false);
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > latest() {
            return Err(self.newer(version));
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
            tx.pragma_update(None, "user_version", n as i64 + 1)
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(version == 0)
    }

    fn user_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn newer(&self, found: i64) -> StoreError {
        StoreError::Newer {
            path: self.shown(),
            found,
            known: latest(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let out = f(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }
}

/// SQLite's "not a database" and "corrupt" are the store's fault, and a
/// rebuild fixes them; everything else is said as it is.
fn classify(path: &str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_string(),
            cause: e.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Other(format!(
            "the store {path} stayed locked by another Slate process for {}s ({e})",
            BUSY.as_secs()
        )),
        _ => StoreError::Other(format!("the store {path}: {e}")),
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A column that should hold JSON; unreadable JSON is the store's
/// corruption, said as such rather than shown as nothing.
fn parse<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

const RUN_COLUMNS: &str = "run_id, release, version, previous_version, owner, started_by, started, finished, duration_ms, reached, outcome, approvers, message, memory, pid";

fn summary(row: &Row) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        run_id: row.get(0)?,
        release: row.get(1)?,
        version: row.get(2)?,
        previous_version: row.get(3)?,
        owner: row.get(4)?,
        started_by: row.get(5)?,
        started: from_micros(row.get(6)?),
        finished: from_micros(row.get(7)?),
        duration_ms: row.get::<_, Option<i64>>(8)?.map(|v| v.max(0) as u64),
        reached: row.get(9)?,
        outcome: outcome_from(&row.get::<_, String>(10)?),
        approvers: parse(row, 11)?,
        message: row.get(12)?,
        memory: row.get(13)?,
        pid: row.get::<_, i64>(14)?.clamp(0, u32::MAX as i64) as u32,
    })
}

const DEPLOYMENT_COLUMNS: &str = "release, env, run_id, env_index, version, reach, started, live_at, ended, artifacts, config_digest, approvals, verdicts, message";

fn deployment(row: &Row) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        release: row.get(0)?,
        env: row.get(1)?,
        run_id: row.get(2)?,
        env_index: row.get::<_, i64>(3)?.clamp(0, u32::MAX as i64) as u32,
        version: row.get(4)?,
        reach: Reach::from_key(&row.get::<_, String>(5)?).unwrap_or(Reach::Interrupted),
        started: from_micros(row.get(6)?),
        live_at: from_micros(row.get(7)?),
        ended: from_micros(row.get(8)?),
        artifacts: parse(row, 9)?,
        config_digest: row.get(10)?,
        approvals: parse(row, 11)?,
        verdicts: parse(row, 12)?,
        message: row.get(13)?,
    })
}

/// Writes one run and its ledger rows, unless a later derivation is there.
fn put(tx: &rusqlite::Transaction, run: &RunRecord, now: i64) -> rusqlite::Result<bool> {
    let s = &run.summary;
    let gone = !run.engine_alive;
    let changed = tx.execute(
        "INSERT INTO runs (run_id, release, version, previous_version, owner, started_by, started, finished,
             duration_ms, reached, outcome, approvers, message, memory, pid, last_seq, engine_gone, written)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT (run_id) DO UPDATE SET
             release = excluded.release, version = excluded.version,
             previous_version = excluded.previous_version, owner = excluded.owner,
             started_by = excluded.started_by, started = excluded.started, finished = excluded.finished,
             duration_ms = excluded.duration_ms, reached = excluded.reached, outcome = excluded.outcome,
             approvers = excluded.approvers, message = excluded.message, memory = excluded.memory,
             pid = excluded.pid, last_seq = excluded.last_seq, written = excluded.written,
             engine_gone = excluded.engine_gone
         WHERE excluded.last_seq >= runs.last_seq",
        rusqlite::params![
            s.run_id,
            s.release,
            s.version,
            s.previous_version,
            s.owner,
            s.started_by,
            micros(s.started),
            micros(s.finished),
            s.duration_ms.map(|d| d.min(i64::MAX as u64) as i64),
            s.reached,
            outcome_key(s.outcome),
            json(&s.approvers),
            s.message,
            s.memory,
            s.pid as i64,
            run.last_seq.min(i64::MAX as u64) as i64,
            gone as i64,
            now,
        ],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute("DELETE FROM deployments WHERE run_id = ?1", [&s.run_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO deployments (release, env, run_id, env_index, version, reach, started, live_at,
             ended, artifacts, config_digest, approvals, verdicts, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    let mut place = tx.prepare_cached(
        "INSERT INTO places (release, env, env_index) VALUES (?1, ?2, ?3)
         ON CONFLICT (release, env) DO UPDATE SET env_index = excluded.env_index",
    )?;
    for d in &run.deployments {
        insert.execute(rusqlite::params![
            d.release,
            d.env,
            d.run_id,
            d.env_index as i64,
            d.version,
            d.reach.key(),
            micros(d.started),
            micros(d.live_at),
            micros(d.ended),
            json(&d.artifacts),
            d.config_digest,
            json(&d.approvals),
            json(&d.verdicts),
            d.message,
        ])?;
        place.execute(rusqlite::params![d.release, d.env, d.env_index as i64])?;
    }
    put_pins(tx, run)?;
    Ok(true)
}

/// Replaces a run's pin events with `run.pins`.
pub(super) fn put_pins(tx: &rusqlite::Transaction, run: &RunRecord) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM pins WHERE run_id = ?1", [&run.summary.run_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO pins (release, env, run_id, kind, version, by_user, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for p in &run.pins {
        insert.execute(rusqlite::params![
            p.release,
            p.env,
            p.run_id,
            p.kind.key(),
            p.version,
            p.by,
            p.reason,
            p.at.as_microsecond(),
        ])?;
    }
    Ok(())
}

fn forget(tx: &rusqlite::Transaction, run_id: &str) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM runs WHERE run_id = ?1", [run_id])?;
    tx.execute("DELETE FROM deployments WHERE run_id = ?1", [run_id])?;
    tx.execute("DELETE FROM pins WHERE run_id = ?1", [run_id])?;
    Ok(())
}

/// Places with no deployment left (their runs were forgotten) go too.
fn prune_places(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM places WHERE NOT EXISTS
             (SELECT 1 FROM deployments d WHERE d.release = places.release AND d.env = places.env)",
        [],
    )?;
    Ok(())
}

impl Store for SqliteStore {
    fn put_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        let now = Timestamp::now().as_microsecond();
        self.write(|tx| put(tx, run, now))
    }

    fn forget_runs(&self, run_ids: &[String]) -> Result<(), StoreError> {
        if run_ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for id in run_ids {
                forget(tx, id)?;
            }
            prune_places(tx)
        })
    }

    fn runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError> {
        let (filter, params) = sql::run_filter(query, &DIALECT, false);
        let oldest_first = matches!(query.page, Page::Oldest | Page::NewerThan(_));
        let limit = query
            .limit
            .map(|l| l.min(i64::MAX as usize) as i64)
            .unwrap_or(-1);
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs{filter} ORDER BY run_id {} LIMIT {limit}",
            if oldest_first { "ASC" } else { "DESC" }
        );
        let run = || -> rusqlite::Result<Vec<RunSummary>> {
            let mut st = self.conn.prepare_cached(&sql)?;
            st.query_map(rusqlite::params_from_iter(params.iter()), summary)?
                .collect()
        };
        let mut page = run().map_err(|e| self.err(e))?;
        if oldest_first {
            page.reverse();
        }
        Ok(page)
    }

    fn count_runs(&self, query: &RunQuery) -> Result<usize, StoreError> {
        let (filter, params) = sql::run_filter(query, &DIALECT, true);
        let sql = format!("SELECT count(*) FROM runs{filter}");
        let run = || -> rusqlite::Result<i64> {
            let mut st = self.conn.prepare_cached(&sql)?;
            st.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))
        };
        run().map(|n| n.max(0) as usize).map_err(|e| self.err(e))
    }

    fn generation(&self) -> Result<String, StoreError> {
        // Other processes' commits move `data_version`; this connection's
        // own writes move `total_changes`. Both are free to read.
        let theirs: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(format!("{theirs}.{}", self.conn.total_changes()))
    }

    fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        let run = || -> rusqlite::Result<Vec<String>> {
            let mut st = self.conn.prepare_cached("SELECT run_id FROM runs")?;
            st.query_map([], |r| r.get(0))?.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn unsettled(&self) -> Result<Vec<RunSummary>, StoreError> {
        let run = || -> rusqlite::Result<Vec<RunSummary>> {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs INDEXED BY runs_unsettled
                 WHERE outcome IN ('running', 'interrupted') OR engine_gone = 0
                 ORDER BY run_id DESC"
            ))?;
            st.query_map([], summary)?.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn engine_gone(&self, run_id: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET engine_gone = 1 WHERE run_id = ?1 AND engine_gone = 0",
                [run_id],
            )
        })
        .map(|_| ())
    }

    fn places(&self, release: Option<&str>) -> Result<Vec<Place>, StoreError> {
        let run = || -> rusqlite::Result<Vec<Place>> {
            let mut st = self.conn.prepare_cached(
                "SELECT release, env, env_index FROM places
                 WHERE ?1 IS NULL OR release = ?1 ORDER BY release, env_index, env",
            )?;
            st.query_map([release], |r| {
                Ok(Place {
                    release: r.get(0)?,
                    env: r.get(1)?,
                    env_index: r.get::<_, i64>(2)?.clamp(0, u32::MAX as i64) as u32,
                })
            })?
            .collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn live(&self, place: &Place) -> Result<Option<Deployment>, StoreError> {
        let run = || -> rusqlite::Result<Option<Deployment>> {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments INDEXED BY deployments_live
                 WHERE release = ?1 AND env = ?2 AND reach = 'deployed'
                 ORDER BY live_at DESC LIMIT 1"
            ))?;
            st.query_row([&place.release, &place.env], deployment)
                .optional()
        };
        run().map_err(|e| self.err(e))
    }

    fn history(&self, place: &Place, limit: Option<usize>) -> Result<Vec<Deployment>, StoreError> {
        let limit = limit.map(|l| l.min(i64::MAX as usize) as i64).unwrap_or(-1);
        let run = || -> rusqlite::Result<Vec<Deployment>> {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments INDEXED BY deployments_history
                 WHERE release = ?1 AND env = ?2
                 ORDER BY started DESC, run_id DESC LIMIT ?3"
            ))?;
            st.query_map(
                rusqlite::params![place.release, place.env, limit],
                deployment,
            )?
            .collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn pin(&self, release: &str, env: &str) -> Result<Option<Pin>, StoreError> {
        let newest = self
            .conn
            .query_row(
                "SELECT kind, version, run_id, by_user, reason, at FROM pins
                 WHERE release = ?1 AND env = ?2 ORDER BY at DESC, kind DESC LIMIT 1",
                [release, env],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        Pin {
                            version: r.get(1)?,
                            run_id: r.get(2)?,
                            by: r.get(3)?,
                            reason: r.get(4)?,
                            at: from_micros(Some(r.get(5)?)).unwrap_or_default(),
                        },
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(newest.and_then(|(kind, pin)| (kind == PinKind::Pin.key()).then_some(pin)))
    }

    fn replace_all(&self, runs: &[RunRecord], since: Timestamp) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let since = since.as_microsecond();
        self.write(|tx| {
            let keep: std::collections::HashSet<&str> =
                runs.iter().map(|r| r.summary.run_id.as_str()).collect();
            let known: Vec<(String, i64)> = {
                let mut st = tx.prepare("SELECT run_id, written FROM runs")?;
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for (id, written) in known {
                // Written by a live run since the rebuild began: it stays.
                if !keep.contains(id.as_str()) && written < since {
                    forget(tx, &id)?;
                }
            }
            for run in runs {
                put(tx, run, now)?;
            }
            prune_places(tx)
        })
    }

    fn note(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM notes WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    fn set_note(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO notes (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
        })
        .map(|_| ())
    }

    fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let since = query.since.as_microsecond();
        let run = || -> rusqlite::Result<Vec<Delivery>> {
            let cols = DEPLOYMENT_COLUMNS
                .split(", ")
                .map(|c| format!("d.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {cols}, r.started FROM deployments d LEFT JOIN runs r ON r.run_id = d.run_id
                 WHERE (?1 IS NULL OR d.release = ?1) AND (?2 IS NULL OR d.env = ?2)
                   AND (d.started >= ?3 OR d.live_at >= ?3 OR d.ended >= ?3)
                 ORDER BY d.release, d.env, d.started, d.run_id"
            ))?;
            st.query_map(rusqlite::params![query.release, query.env, since], |row| {
                Ok(Delivery {
                    deployment: deployment(row)?,
                    run_started: from_micros(row.get(14)?),
                })
            })?
            .collect()
        };
        run().map_err(|e| self.err(e))
    }
}

/// SQLite's parameters are `?N`; its LIKE ignores the case of ASCII letters.
const DIALECT: sql::Dialect = sql::Dialect {
    placeholder: |n| format!("?{n}"),
    like: "LIKE",
    text: str::to_string,
    haystack: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs started at the same instant both open a store that does
    /// not exist yet: each must get it, and only one fills it. (Converting
    /// the new file to WAL failed at once, busy timeout or not, for about
    /// one opener in a hundred meeting another.)
    #[test]
    fn openers_of_a_new_store_at_once_all_get_it() {
        const OPENERS: usize = 4;
        for round in 0..150 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("store.db");
            let start = std::sync::Barrier::new(OPENERS);
            let opened: Vec<Result<bool, String>> = std::thread::scope(|s| {
                let openers: Vec<_> = (0..OPENERS)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            SqliteStore::open(&path)
                                .map(|(_, created)| created)
                                .map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                openers.into_iter().map(|o| o.join().unwrap()).collect()
            });
            let created = opened.iter().filter(|o| o == &&Ok(true)).count();
            assert!(
                opened.iter().all(|o| o.is_ok()),
                "round {round}: {opened:?}"
            );
            assert_eq!(created, 1, "round {round}: {opened:?}");
        }
    }

    /// A new store is made beside its name and published whole: migrated,
    /// in WAL mode, private, and nothing of its making left in the
    /// directory; a file left by a process that died making one is removed,
    /// one of a live process is not.
    #[test]
    fn a_new_store_is_published_whole_and_leaves_nothing_beside_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        // pid 0x7ffffffe is no process; this test's own pid is a live one.
        let dead = dir.path().join(".store.db.new-2147483646-0000abcd");
        let live = dir
            .path()
            .join(format!(".store.db.new-{}-0000abcd", std::process::id()));
        for f in [&dead, &live] {
            std::fs::write(f, "half made").unwrap();
        }
        std::fs::write(dir.path().join(".store.db.new-2147483646-0000abcd-wal"), "").unwrap();
        let (store, created) = SqliteStore::open(&path).unwrap();
        assert!(created);
        assert_eq!(store.user_version().unwrap(), latest());
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let perms = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(perms, 0o600);
        drop(store);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                live.file_name().unwrap().to_string_lossy().into_owned(),
                "store.db".to_string()
            ],
            "{left:?}"
        );
        // Opened again: nothing to make.
        let (_, again) = SqliteStore::open(&path).unwrap();
        assert!(!again);
    }

    /// Two connections write at once: the second waits for the first's
    /// transaction (held open here) and gets in once it ends, instead of
    /// failing; what both wrote is there.
    #[test]
    fn a_writer_waits_for_another_and_then_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let (a, _) = SqliteStore::open(&path).unwrap();
        let (b, _) = SqliteStore::open(&path).unwrap();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let first = std::thread::spawn(move || {
            a.write(|tx| {
                tx.execute("CREATE TABLE held (n INTEGER)", [])?;
                held_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                Ok(())
            })
        });
        held_rx.recv().unwrap();
        let before = busy::LOOKS.load(std::sync::atomic::Ordering::Relaxed);
        let second = std::thread::spawn(move || {
            let wrote = b.write(|tx| tx.execute("CREATE TABLE after (n INTEGER)", []));
            (b, wrote)
        });
        // The second has met the held transaction: its handler looked.
        let deadline = std::time::Instant::now() + BUSY;
        while busy::LOOKS.load(std::sync::atomic::Ordering::Relaxed) == before
            && !second.is_finished()
            && std::time::Instant::now() < deadline
        {
            std::thread::yield_now();
        }
        assert!(!second.is_finished(), "the second writer did not wait");
        go_tx.send(()).unwrap();
        first.join().unwrap().unwrap();
        let (b, wrote) = second.join().unwrap();
        wrote.unwrap();
        let names: Vec<String> = b
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE name IN ('held', 'after') ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["after", "held"]);
    }
}
