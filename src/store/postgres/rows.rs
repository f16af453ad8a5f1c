//! The team store's rows: values as PostgreSQL keeps them (text without
//! NUL, JSON columns), the decoders of its rows into the store's types, and
//! the writes of a run and its ledger rows, which `mod.rs`'s `Store`
//! methods call inside their transactions.

use tokio_postgres::Row;
use tokio_postgres::error::Error as PgError;

use super::super::ledger::{Deployment, Reach};
use super::super::sql::{from_micros, micros, outcome_from, outcome_key};
use super::super::{Delivery, Place, RunRecord};
use crate::runs::RunSummary;

/// PostgreSQL text cannot hold NUL; it is stored as U+FFFD (every output
/// shows control characters as symbols anyway).
pub(super) fn text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

pub(super) fn opt_text(s: &Option<String>) -> Option<String> {
    s.as_deref().map(text)
}

fn json<T: serde::Serialize>(v: &T) -> String {
    // serde_json writes NUL as \u0000: the JSON text holds no NUL byte.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(super) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
) -> Result<T, String> {
    row.try_get(i).map_err(|e| format!("column {i}: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> Result<T, String> {
    let t: String = get(row, i)?;
    serde_json::from_str(&t).map_err(|e| format!("column {i}: {e}"))
}

pub(super) const RUN_COLUMNS: &str = "run_id, release, version, previous_version, owner, started_by, started, finished, duration_ms, reached, outcome, approvers, message, memory, pid";

pub(super) fn summary(row: &Row) -> Result<RunSummary, String> {
    Ok(RunSummary {
        run_id: get(row, 0)?,
        release: get(row, 1)?,
        version: get(row, 2)?,
        previous_version: get(row, 3)?,
        owner: get(row, 4)?,
        started_by: get(row, 5)?,
        started: from_micros(get(row, 6)?),
        finished: from_micros(get(row, 7)?),
        duration_ms: get::<Option<i64>>(row, 8)?.map(|v| v.max(0) as u64),
        reached: get(row, 9)?,
        outcome: outcome_from(&get::<String>(row, 10)?),
        approvers: parse(row, 11)?,
        message: get(row, 12)?,
        memory: get(row, 13)?,
        pid: get::<i64>(row, 14)?.clamp(0, u32::MAX as i64) as u32,
    })
}

pub(super) const DEPLOYMENT_COLUMNS: &str = "release, env, run_id, env_index, version, reach, started, live_at, ended, artifacts, config_digest, approvals, verdicts, message";

pub(super) fn deployment(row: &Row) -> Result<Deployment, String> {
    Ok(Deployment {
        release: get(row, 0)?,
        env: get(row, 1)?,
        run_id: get(row, 2)?,
        env_index: get::<i64>(row, 3)?.clamp(0, u32::MAX as i64) as u32,
        version: get(row, 4)?,
        reach: Reach::from_key(&get::<String>(row, 5)?).unwrap_or(Reach::Interrupted),
        started: from_micros(get(row, 6)?),
        live_at: from_micros(get(row, 7)?),
        ended: from_micros(get(row, 8)?),
        artifacts: parse(row, 9)?,
        config_digest: get(row, 10)?,
        approvals: parse(row, 11)?,
        verdicts: parse(row, 12)?,
        message: get(row, 13)?,
    })
}

pub(super) fn delivery(row: &Row) -> Result<Delivery, String> {
    Ok(Delivery {
        deployment: deployment(row)?,
        run_started: from_micros(get(row, 14)?),
    })
}

pub(super) fn place(row: &Row) -> Result<Place, String> {
    Ok(Place {
        release: get(row, 0)?,
        env: get(row, 1)?,
        env_index: get::<i64>(row, 2)?.clamp(0, u32::MAX as i64) as u32,
    })
}

/// Writes one run and its ledger rows, unless a later derivation is there.
pub(super) async fn put(
    tx: &tokio_postgres::Transaction<'_>,
    run: &RunRecord,
    origin: &str,
    now: i64,
) -> Result<bool, PgError> {
    let s = &run.summary;
    let gone = !run.engine_alive;
    let run_id = text(&s.run_id);
    let changed = tx
        .execute(
            "INSERT INTO slate.runs AS r (run_id, origin, release, version, previous_version, owner, started_by,
                 started, finished, duration_ms, reached, outcome, approvers, message, memory, pid, last_seq,
                 engine_gone, written)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT (run_id) DO UPDATE SET
                 origin = excluded.origin, release = excluded.release, version = excluded.version,
                 previous_version = excluded.previous_version, owner = excluded.owner,
                 started_by = excluded.started_by, started = excluded.started, finished = excluded.finished,
                 duration_ms = excluded.duration_ms, reached = excluded.reached, outcome = excluded.outcome,
                 approvers = excluded.approvers, message = excluded.message, memory = excluded.memory,
                 pid = excluded.pid, last_seq = excluded.last_seq, written = excluded.written,
                 engine_gone = excluded.engine_gone
             WHERE excluded.last_seq >= r.last_seq",
            &[
                &run_id,
                &text(origin),
                &text(&s.release),
                &text(&s.version),
                &text(&s.previous_version),
                &text(&s.owner),
                &text(&s.started_by),
                &micros(s.started),
                &micros(s.finished),
                &s.duration_ms.map(|d| d.min(i64::MAX as u64) as i64),
                &opt_text(&s.reached),
                &outcome_key(s.outcome),
                &json(&s.approvers),
                &text(&s.message),
                &text(&s.memory),
                &(s.pid as i64),
                &(run.last_seq.min(i64::MAX as u64) as i64),
                &gone,
                &now,
            ],
        )
        .await?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM slate.deployments WHERE run_id = $1",
        &[&run_id],
    )
    .await?;
    let insert = tx
        .prepare(
            "INSERT INTO slate.deployments (release, env, run_id, env_index, version, reach, started, live_at,
                 ended, artifacts, config_digest, approvals, verdicts, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (run_id, env) DO UPDATE SET
                 release = excluded.release, env_index = excluded.env_index, version = excluded.version,
                 reach = excluded.reach, started = excluded.started, live_at = excluded.live_at,
                 ended = excluded.ended, artifacts = excluded.artifacts, config_digest = excluded.config_digest,
                 approvals = excluded.approvals, verdicts = excluded.verdicts, message = excluded.message",
        )
        .await?;
    let upsert_place = tx
        .prepare(
            "INSERT INTO slate.places (release, env, env_index) VALUES ($1, $2, $3)
             ON CONFLICT (release, env) DO UPDATE SET env_index = excluded.env_index",
        )
        .await?;
    for d in &run.deployments {
        tx.execute(
            &insert,
            &[
                &text(&d.release),
                &text(&d.env),
                &text(&d.run_id),
                &(d.env_index as i64),
                &text(&d.version),
                &d.reach.key(),
                &micros(d.started),
                &micros(d.live_at),
                &micros(d.ended),
                &json(&d.artifacts),
                &opt_text(&d.config_digest),
                &json(&d.approvals),
                &json(&d.verdicts),
                &text(&d.message),
            ],
        )
        .await?;
    }
    // Places in one order, so that two writers never wait on each other crosswise.
    let mut places: Vec<(String, String, i64)> = run
        .deployments
        .iter()
        .map(|d| (text(&d.release), text(&d.env), d.env_index as i64))
        .collect();
    places.sort();
    for (release, env, index) in &places {
        tx.execute(&upsert_place, &[release, env, index]).await?;
    }
    tx.execute("DELETE FROM slate.pins WHERE run_id = $1", &[&run_id])
        .await?;
    for p in &run.pins {
        tx.execute(
            "INSERT INTO slate.pins (release, env, run_id, kind, version, by_user, reason, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (run_id, env, kind) DO UPDATE SET
                 release = excluded.release, version = excluded.version,
                 by_user = excluded.by_user, reason = excluded.reason, at = excluded.at",
            &[
                &text(&p.release),
                &text(&p.env),
                &text(&p.run_id),
                &p.kind.key(),
                &text(&p.version),
                &text(&p.by),
                &text(&p.reason),
                &p.at.as_microsecond(),
            ],
        )
        .await?;
    }
    Ok(true)
}

/// Places with no deployment left (their runs were forgotten) go too.
pub(super) async fn prune_places(tx: &tokio_postgres::Transaction<'_>) -> Result<(), PgError> {
    tx.execute(
        "DELETE FROM slate.places p WHERE NOT EXISTS
             (SELECT 1 FROM slate.deployments d WHERE d.release = p.release AND d.env = p.env)",
        &[],
    )
    .await?;
    Ok(())
}

/// Forgets this origin's runs among `ids`.
pub(super) async fn forget(
    tx: &tokio_postgres::Transaction<'_>,
    origin: &str,
    ids: &[String],
) -> Result<(), PgError> {
    tx.execute(
        "DELETE FROM slate.deployments WHERE run_id IN
             (SELECT run_id FROM slate.runs WHERE origin = $1 AND run_id = ANY($2))",
        &[&origin, &ids],
    )
    .await?;
    tx.execute(
        "DELETE FROM slate.pins WHERE run_id IN
             (SELECT run_id FROM slate.runs WHERE origin = $1 AND run_id = ANY($2))",
        &[&origin, &ids],
    )
    .await?;
    tx.execute(
        "DELETE FROM slate.runs WHERE origin = $1 AND run_id = ANY($2)",
        &[&origin, &ids],
    )
    .await?;
    Ok(())
}
