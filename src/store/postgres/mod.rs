//! The team store: the same [`Store`] on a PostgreSQL server that several
//! people's machines share (issue 19), chosen by `[store] url` or
//! `SLATE_STORE` (see [`config`]).
//!
//! The driver is `tokio-postgres` (maintained, pure Rust, TLS through
//! rustls on the ring provider like every other client here). The `Store`
//! trait is synchronous — its callers are the CLI verbs and the recorder's
//! `spawn_blocking` — so each process keeps one connection driven by a
//! private current-thread runtime, and every call is bounded in time: a
//! server that stops answering is an error after [`CALL_TIMEOUT`], never a
//! hang. Called from a thread that is itself inside a runtime (where
//! blocking on another one would panic), the call runs on a scoped thread.
//!
//! Semantics are the SQLite store's: every method is one transaction;
//! `put_run` never replaces a derivation from a later journal record (the
//! check and the write are one `INSERT … ON CONFLICT … WHERE` statement, so
//! concurrent writers from any number of processes agree); transactions
//! that lose a deadlock or serialization race are retried.
//!
//! What differs is what a machine can know. Journals still live on the
//! machine that ran the run, so each run row says its `origin` (host and
//! state directory), and the questions that need a journal or an engine's
//! pid — which runs exist on disk, which are unsettled, forgetting,
//! marking an engine gone, the store's notes — are asked per origin; the
//! history, memory and the ledger are the team's.

pub mod commands;
pub mod config;
mod connect;
pub mod follow;
pub mod journal;
mod locks;
pub mod members;
pub mod reader;
mod rows;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row};

use super::sql::{self, from_micros};
pub use config::{TeamConfig, configured};
use connect::{CACHE, Conn, cached, connect, describe, drive, rustls_config};
use rows::{
    DEPLOYMENT_COLUMNS, RUN_COLUMNS, delivery, deployment, forget, get, opt_text, place,
    prune_places, put, summary, text,
};
use schema::{BOOTSTRAP, MIGRATIONS, latest};

use super::ledger::Deployment;
use super::{Delivery, DeliveryQuery, Page, Place, RunQuery, RunRecord, Store, StoreError};
use crate::runs::RunSummary;

/// How long one call (a query, a transaction) may take before it is given
/// up as the server not answering.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// How often a transaction that lost a deadlock or serialization race is tried.
const ATTEMPTS: usize = 4;

/// Serialises migrations from any number of processes (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x5_1a7e_0019;

type PgError = tokio_postgres::Error;

pub struct PgStore {
    /// The connection in use; replaced when the server closed it.
    conn: Mutex<Arc<Mutex<Conn>>>,
    team: TeamConfig,
    key: String,
    shown: String,
    origin: String,
}

/// This machine's state directory, as runs are tagged with it.
pub fn origin(state_dir: &Path) -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown-host".into());
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    format!("{host}:{}", dir.display())
}

/// What `slate store init` did.
#[derive(Debug)]
pub struct Initialised {
    pub shown: String,
    pub from: i64,
    pub to: i64,
    /// The text filter's index (`schema::text_index`): `Ok(true)` when it
    /// is there, `Ok(false)` when the server has no `pg_trgm` for it, and
    /// why it could not be made.
    pub text_index: Result<bool, String>,
}

/// `slate store init`: creates or migrates the team store's schema, in one
/// transaction under an advisory lock (two inits at once: the second finds
/// nothing to do). A newer schema is refused untouched.
pub fn init(team: &TeamConfig) -> Result<Initialised, StoreError> {
    let store = PgStore::unchecked(team, String::new())?;
    let from = store.call(async |c: &mut Client| {
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(BOOTSTRAP).await?;
        let found: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM slate.migrations",
                &[],
            )
            .await?
            .get(0);
        if found >= latest() {
            tx.rollback().await?;
            return Ok(found);
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO slate.migrations (version) VALUES ($1)",
                &[&(n as i64 + 1)],
            )
            .await?;
        }
        // Tables a migration added are read by every member too.
        members::regrant(&tx).await?;
        tx.commit().await?;
        Ok(found)
    })?;
    if from > latest() {
        return Err(store.newer(from));
    }
    // Apart from the migrations: an index a server cannot make (no
    // `pg_trgm`, no right to create it, a big table slower than the call's
    // bound) leaves the schema as good as it was.
    let text_index = store
        .call(async |c: &mut Client| {
            c.batch_execute(&schema::text_index()).await?;
            Ok(c.query_one(schema::HAS_TEXT_INDEX, &[])
                .await?
                .get::<_, bool>(0))
        })
        .map_err(|e| e.to_string());
    Ok(Initialised {
        shown: store.shown.clone(),
        from,
        to: from.max(latest()),
        text_index,
    })
}

impl PgStore {
    /// Opens the team store for this machine's state directory; a schema
    /// that is missing, older or newer than this Slate's is refused with
    /// what to do.
    pub fn open(team: &TeamConfig, state_dir: &Path) -> Result<PgStore, StoreError> {
        let store = PgStore::unchecked(team, origin(state_dir))?;
        let version = store.call(async |c: &mut Client| {
            // Two statements: a query naming a missing table fails to plan.
            let exists: bool = c
                .query_one("SELECT to_regclass('slate.migrations') IS NOT NULL", &[])
                .await?
                .get(0);
            if !exists {
                return Ok(0);
            }
            let row = c
                .query_one(
                    "SELECT coalesce(max(version), 0)::bigint FROM slate.migrations",
                    &[],
                )
                .await?;
            Ok(row.get::<_, i64>(0))
        })?;
        let shown = &store.shown;
        match version {
            0 => Err(StoreError::Other(format!(
                "the team store {shown} has no Slate schema yet: `slate store init` creates it"
            ))),
            v if v > latest() => Err(store.newer(v)),
            v if v < latest() => Err(StoreError::Other(format!(
                "the team store {shown} is at schema {v} and this Slate needs {}: `slate store init` migrates it \
                 (everyone sharing it then needs this Slate or a newer one)",
                latest()
            ))),
            _ => Ok(store),
        }
    }

    fn unchecked(team: &TeamConfig, origin: String) -> Result<PgStore, StoreError> {
        Ok(PgStore {
            conn: Mutex::new(cached(team)?),
            team: team.clone(),
            key: team.key(),
            shown: team.shown(),
            origin,
        })
    }

    fn newer(&self, found: i64) -> StoreError {
        StoreError::Other(format!(
            "the team store {} was written by a newer Slate (schema {found}; this one knows up to {}); \
             it was left as it is: use the newer Slate",
            self.shown,
            latest()
        ))
    }

    /// One call on the connection, bounded by [`CALL_TIMEOUT`]. A call that
    /// timed out leaves the connection in an unknown state: it is dropped,
    /// and the next open connects again. A connection the server closed
    /// (it restarted, or ended idle sessions) is made again and the call
    /// tried once more: every call here is idempotent (a `put_run` of the
    /// same record writes the same rows; migrations check their version).
    fn call<T: Send>(
        &self,
        f: impl AsyncFn(&mut Client) -> Result<T, PgError> + Sync,
    ) -> Result<T, StoreError> {
        let mut again = true;
        loop {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone();
            // The connection's lock is let go before the cache's is taken
            // (`cached` takes them the other way round).
            let done = {
                let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
                let Conn { rt, client } = &mut *guard;
                let f = &f;
                drive(rt, CALL_TIMEOUT, async move || f(client).await)
            };
            match done {
                Some(Ok(v)) => return Ok(v),
                Some(Err(e)) => {
                    let closed = e.is_closed()
                        || e.code() == Some(&SqlState::ADMIN_SHUTDOWN)
                        || conn
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .client
                            .is_closed();
                    if closed {
                        self.forget_connection(&conn);
                        if again && let Ok(fresh) = cached(&self.team) {
                            again = false;
                            *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
                            continue;
                        }
                    }
                    return Err(StoreError::Other(format!(
                        "the team store {}: {}",
                        self.shown,
                        describe(&e)
                    )));
                }
                None => {
                    self.forget_connection(&conn);
                    return Err(StoreError::Other(format!(
                        "the team store {} did not answer within {}s",
                        self.shown,
                        CALL_TIMEOUT.as_secs()
                    )));
                }
            }
        }
    }

    /// Drops `conn` from the cache (not a newer one that another thread
    /// made meanwhile): the next open connects again.
    fn forget_connection(&self, conn: &Arc<Mutex<Conn>>) {
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if cache
            .as_ref()
            .is_some_and(|(k, c)| *k == self.key && Arc::ptr_eq(c, conn))
        {
            *cache = None;
        }
    }

    /// Rows into values; an unreadable row is said, not skipped.
    fn rows<T>(
        &self,
        rows: Vec<Row>,
        f: fn(&Row) -> Result<T, String>,
    ) -> Result<Vec<T>, StoreError> {
        rows.iter()
            .map(|r| {
                f(r).map_err(|e| {
                    StoreError::Other(format!(
                        "the team store {} holds an unreadable row: {e}",
                        self.shown
                    ))
                })
            })
            .collect()
    }
}

/// Whether a transaction lost a race it may simply run again.
fn retriable(e: &PgError) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

impl Store for PgStore {
    fn put_run(&self, run: &RunRecord) -> Result<bool, StoreError> {
        let now = Timestamp::now().as_microsecond();
        let origin = self.origin.as_str();
        self.call(async |c: &mut Client| {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let tx = c.transaction().await?;
                match put(&tx, run, origin, now).await {
                    Ok(wrote) => match tx.commit().await {
                        Ok(()) => return Ok(wrote),
                        Err(e) if retriable(&e) && attempt < ATTEMPTS => continue,
                        Err(e) => return Err(e),
                    },
                    Err(e) if retriable(&e) && attempt < ATTEMPTS => {
                        drop(tx);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }

    fn pin(&self, release: &str, env: &str) -> Result<Option<crate::store::pins::Pin>, StoreError> {
        let (release, env) = (text(release), text(env));
        let rows = self.call(async |c: &mut Client| {
            c.query(
                "SELECT kind, version, run_id, by_user, reason, at FROM slate.pins
                 WHERE release = $1 AND env = $2 ORDER BY at DESC, kind DESC LIMIT 1",
                &[&release, &env],
            )
            .await
        })?;
        let newest = self.rows(rows, |r| {
            Ok((
                get::<String>(r, 0)?,
                crate::store::pins::Pin {
                    version: get(r, 1)?,
                    run_id: get(r, 2)?,
                    by: get(r, 3)?,
                    reason: get(r, 4)?,
                    at: from_micros(Some(get(r, 5)?)).unwrap_or_default(),
                },
            ))
        })?;
        Ok(newest.into_iter().next().and_then(|(kind, pin)| {
            (kind == crate::store::pins::PinKind::Pin.key()).then_some(pin)
        }))
    }

    fn forget_runs(&self, run_ids: &[String]) -> Result<(), StoreError> {
        if run_ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = run_ids.iter().map(|i| text(i)).collect();
        let origin = self.origin.as_str();
        self.call(async |c: &mut Client| {
            let tx = c.transaction().await?;
            forget(&tx, origin, &ids).await?;
            prune_places(&tx).await?;
            tx.commit().await
        })
    }

    fn runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError> {
        let (filter, params) = sql::run_filter(query, &DIALECT, false);
        let oldest_first = matches!(query.page, Page::Oldest | Page::NewerThan(_));
        let limit = match query.limit {
            Some(l) => format!(" LIMIT {}", l.min(i64::MAX as usize)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM slate.runs{filter} ORDER BY run_id {}{limit}",
            if oldest_first { "ASC" } else { "DESC" }
        );
        let rows = self.call(async |c: &mut Client| {
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            c.query(&sql, &refs).await
        })?;
        let mut page = self.rows(rows, summary)?;
        if oldest_first {
            page.reverse();
        }
        Ok(page)
    }

    fn count_runs(&self, query: &RunQuery) -> Result<usize, StoreError> {
        let (filter, params) = sql::run_filter(query, &DIALECT, true);
        let sql = format!("SELECT count(*)::bigint FROM slate.runs{filter}");
        let n: i64 = self.call(async |c: &mut Client| {
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            Ok(c.query_one(&sql, &refs).await?.get(0))
        })?;
        Ok(n.max(0) as usize)
    }

    fn generation(&self) -> Result<String, StoreError> {
        // `written` is stamped on every write; a forgotten run lowers the count.
        let (written, n): (i64, i64) = self.call(async |c: &mut Client| {
            let row = c
                .query_one(
                    "SELECT coalesce(max(written), 0)::bigint, count(*)::bigint FROM slate.runs",
                    &[],
                )
                .await?;
            Ok((row.get(0), row.get(1)))
        })?;
        Ok(format!("{written}.{n}"))
    }

    fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        let origin = self.origin.as_str();
        let rows = self.call(async |c: &mut Client| {
            c.query(
                "SELECT run_id FROM slate.runs WHERE origin = $1",
                &[&origin],
            )
            .await
        })?;
        self.rows(rows, |r| get(r, 0))
    }

    fn unsettled(&self) -> Result<Vec<RunSummary>, StoreError> {
        let origin = self.origin.as_str();
        let rows = self.call(async |c: &mut Client| {
            c.query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM slate.runs
                     WHERE origin = $1 AND (outcome IN ('running', 'interrupted') OR NOT engine_gone)
                     ORDER BY run_id DESC"
                ),
                &[&origin],
            )
            .await
        })?;
        self.rows(rows, summary)
    }

    fn engine_gone(&self, run_id: &str) -> Result<(), StoreError> {
        let origin = self.origin.as_str();
        let id = text(run_id);
        self.call(async |c: &mut Client| {
            c.execute(
                "UPDATE slate.runs SET engine_gone = TRUE
                 WHERE run_id = $1 AND origin = $2 AND NOT engine_gone",
                &[&id, &origin],
            )
            .await
        })
        .map(|_| ())
    }

    fn places(&self, release: Option<&str>) -> Result<Vec<Place>, StoreError> {
        let release = release.map(text);
        let rows = self.call(async |c: &mut Client| {
            c.query(
                "SELECT release, env, env_index FROM slate.places
                 WHERE $1::text IS NULL OR release = $1 ORDER BY release, env_index, env",
                &[&release],
            )
            .await
        })?;
        self.rows(rows, place)
    }

    fn live(&self, place: &Place) -> Result<Option<Deployment>, StoreError> {
        let (release, env) = (text(&place.release), text(&place.env));
        let rows = self.call(async |c: &mut Client| {
            // NULLS LAST: where SQLite puts them (NULL sorts lowest there).
            // An ascending index read backwards gives NULLS FIRST, so asked
            // for in one piece this sorted every deployed row of the place
            // (14,000 at 100,000 runs: ~15 ms a place); the rows with a
            // time and those without are taken apart, each from the index.
            c.query(
                &format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM (
                         (SELECT {DEPLOYMENT_COLUMNS} FROM slate.deployments
                          WHERE release = $1 AND env = $2 AND reach = 'deployed' AND live_at IS NOT NULL
                          ORDER BY live_at DESC LIMIT 1)
                         UNION ALL
                         (SELECT {DEPLOYMENT_COLUMNS} FROM slate.deployments
                          WHERE release = $1 AND env = $2 AND reach = 'deployed' AND live_at IS NULL
                          LIMIT 1)
                     ) d ORDER BY live_at DESC NULLS LAST LIMIT 1"
                ),
                &[&release, &env],
            )
            .await
        })?;
        Ok(self.rows(rows, deployment)?.into_iter().next())
    }

    fn history(&self, place: &Place, limit: Option<usize>) -> Result<Vec<Deployment>, StoreError> {
        let (release, env) = (text(&place.release), text(&place.env));
        let limit = limit.map(|l| l.min(i64::MAX as usize) as i64);
        let rows = self.call(async |c: &mut Client| {
            // NULLS LAST: where SQLite puts them (NULL sorts lowest there).
            // As in `live`, the two parts are each read from the index
            // (`deployments_history`) and only their first `limit` sorted.
            c.query(
                &format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM (
                         (SELECT {DEPLOYMENT_COLUMNS} FROM slate.deployments
                          WHERE release = $1 AND env = $2 AND started IS NOT NULL
                          ORDER BY started DESC, run_id DESC LIMIT $3)
                         UNION ALL
                         (SELECT {DEPLOYMENT_COLUMNS} FROM slate.deployments
                          WHERE release = $1 AND env = $2 AND started IS NULL
                          ORDER BY run_id DESC LIMIT $3)
                     ) d ORDER BY started DESC NULLS LAST, run_id DESC LIMIT $3"
                ),
                &[&release, &env, &limit],
            )
            .await
        })?;
        self.rows(rows, deployment)
    }

    fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let (release, env) = (opt_text(&query.release), opt_text(&query.env));
        let since = query.since.as_microsecond();
        let cols = DEPLOYMENT_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = self.call(async |c: &mut Client| {
            // NULLS FIRST: where SQLite puts them (NULL sorts lowest there).
            c.query(
                &format!(
                    "SELECT {cols}, r.started FROM slate.deployments d
                     LEFT JOIN slate.runs r ON r.run_id = d.run_id
                     WHERE ($1::text IS NULL OR d.release = $1) AND ($2::text IS NULL OR d.env = $2)
                       AND (d.started >= $3 OR d.live_at >= $3 OR d.ended >= $3)
                     ORDER BY d.release, d.env, d.started NULLS FIRST, d.run_id"
                ),
                &[&release, &env, &since],
            )
            .await
        })?;
        self.rows(rows, delivery)
    }

    fn replace_all(&self, runs: &[RunRecord], since: Timestamp) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let since = since.as_microsecond();
        let origin = self.origin.as_str();
        let keep: std::collections::HashSet<String> =
            runs.iter().map(|r| text(&r.summary.run_id)).collect();
        self.call(async |c: &mut Client| {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let tx = c.transaction().await?;
                let result = async {
                    let known = tx
                        .query(
                            "SELECT run_id, written FROM slate.runs WHERE origin = $1",
                            &[&origin],
                        )
                        .await?;
                    // Written by a live run since the rebuild began: it stays.
                    let gone: Vec<String> = known
                        .iter()
                        .filter(|r| {
                            !keep.contains(&r.get::<_, String>(0)) && r.get::<_, i64>(1) < since
                        })
                        .map(|r| r.get(0))
                        .collect();
                    forget(&tx, origin, &gone).await?;
                    for run in runs {
                        put(&tx, run, origin, now).await?;
                    }
                    prune_places(&tx).await
                }
                .await;
                match result {
                    Ok(()) => match tx.commit().await {
                        Ok(()) => return Ok(()),
                        Err(e) if retriable(&e) && attempt < ATTEMPTS => continue,
                        Err(e) => return Err(e),
                    },
                    Err(e) if retriable(&e) && attempt < ATTEMPTS => continue,
                    Err(e) => return Err(e),
                }
            }
        })
    }

    fn note(&self, key: &str) -> Result<Option<String>, StoreError> {
        let origin = self.origin.as_str();
        let key = text(key);
        let rows = self.call(async |c: &mut Client| {
            c.query(
                "SELECT value FROM slate.notes WHERE origin = $1 AND key = $2",
                &[&origin, &key],
            )
            .await
        })?;
        Ok(self.rows(rows, |r| get(r, 0))?.into_iter().next())
    }

    fn set_note(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let origin = self.origin.as_str();
        let (key, value) = (text(key), text(value));
        self.call(async |c: &mut Client| {
            c.execute(
                "INSERT INTO slate.notes (origin, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (origin, key) DO UPDATE SET value = excluded.value",
                &[&origin, &key, &value],
            )
            .await
        })
        .map(|_| ())
    }
}

/// The WHERE clause the team store counts runs through for a text filter,
/// with its parameter written in as a literal: for tests that ask the
/// server's planner whether the count can use its index.
#[doc(hidden)]
pub fn text_filter_where(text: &str) -> String {
    let q = super::RunQuery {
        text: text.into(),
        ..Default::default()
    };
    let (clause, params) = sql::run_filter(&q, &DIALECT, true);
    params.iter().enumerate().rev().fold(clause, |c, (i, p)| {
        c.replace(
            &format!("${}", i + 1),
            &format!("'{}'", p.replace('\'', "''")),
        )
    })
}

/// PostgreSQL's parameters are `$N`, `ILIKE` ignores case, and text holds no NUL.
const DIALECT: sql::Dialect = sql::Dialect {
    placeholder: |n| format!("${n}"),
    like: "ILIKE",
    text,
    haystack: Some(sql::HAYSTACK),
};
