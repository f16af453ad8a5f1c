//! The team journal: a run's records in `slate.events`, so that every
//! machine sharing the store can read a run (`slate export RUN` from any of
//! them), under the journal's rule — a state record is committed there, as
//! it is synced on disk, before the engine acts on it (`journal::Mirror`).
//!
//! - **One engine per run.** The engine holds a lease (`slate.leases`: a
//!   token and a heartbeat renewed every [`HEARTBEAT`]). Every insert is
//!   fenced by the token, and the primary key (run_id, seq) makes two
//!   engines writing one run collide: an engine whose lease was taken (it
//!   lapsed for [`LEASE_TTL`]) cannot write, and stops before acting.
//! - **Output never blocks the engine.** Output lines go to a writer thread
//!   through a bounded queue ([`QUEUE`]); past it, lines are elided from
//!   the team's copy (counted and logged) — the file keeps every line.
//!   A state record waits for its commit, and for the lines before it.
//! - **A server that goes away** pauses the run at its next state record
//!   (a safe point: nothing has been acted on that is not journaled), which
//!   is retried with backoff for up to [`STATE_PATIENCE`]; the run goes on
//!   where it was when the server answers within [`LEASE_TTL`]. Past it,
//!   the lease has lapsed and another machine may be taking the run over:
//!   the fence (token and a fresh heartbeat) refuses the insert and this
//!   engine stops without acting, saying so (`Writer::lost`). Past the
//!   patience the record fails the same way.
//! - **Followers** are woken by `NOTIFY slate_run` carrying only the run
//!   id and a sequence number; they read what they have not seen.
//!
//! Its own connection and runtime, on its own thread: the engine's task
//! never waits on the team store's other users (the recorder, admission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::{Conn, PgError, TeamConfig, connect, describe, drive, text};
use crate::engine::event::Record;

/// A lease not renewed for this long may be taken by another engine.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often the engine renews its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Output lines waiting for the team store, at most.
pub const QUEUE: usize = 8192;
/// Output lines per insert, at most.
const BATCH: usize = 1000;
/// How long a state record may wait for a server that went away: long
/// enough for a restart or a failover, bounded so a run whose store is
/// gone for good ends (failed, the file saying why) instead of hanging.
pub const STATE_PATIENCE: Duration = Duration::from_secs(10 * 60);
/// One statement's bound.
pub(super) const CALL: Duration = Duration::from_secs(10);

/// The server's clock in microseconds.
pub(super) const NOW_US: &str = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

enum Item {
    Output(i64, i64, String),
    State(i64, i64, String, SyncSender<Result<(), String>>),
}

/// The engine's side of the team journal.
pub struct TeamJournal {
    /// `None` once dropped: the writer then flushes and lets the lease go.
    tx: Option<SyncSender<Item>>,
    elided: Arc<AtomicU64>,
    token: i64,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// How long the end of a run waits for the writer to flush and let the
/// lease go (followers end when it is gone).
const FINISH_WAIT: Duration = Duration::from_secs(5);

impl Drop for TeamJournal {
    fn drop(&mut self) {
        drop(self.tx.take());
        // The process may exit right after: the lease is let go first, so
        // followers elsewhere see the engine gone at once, not 30 s later.
        if let Some(w) = self.writer.take() {
            let deadline = Instant::now() + FINISH_WAIT;
            while !w.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl TeamJournal {
    /// The lease's fencing token: whatever acts for this engine in the
    /// team store (taking commands) is fenced by it too.
    pub fn token(&self) -> i64 {
        self.token
    }
}

/// Takes the lease of `run_id`, or says who holds it.
async fn take_lease(
    c: &Client,
    run_id: &str,
    origin: &str,
    here: bool,
) -> Result<Result<i64, String>, PgError> {
    let ttl = LEASE_TTL.as_micros() as i64;
    let row = c
        .query_opt(
            &format!(
                "INSERT INTO slate.leases AS l (run_id, origin, pid, token, heartbeat)
                 VALUES ($1, $2, $3, 1, {NOW_US})
                 ON CONFLICT (run_id) DO UPDATE SET origin = excluded.origin, pid = excluded.pid,
                     token = l.token + 1, heartbeat = excluded.heartbeat
                 WHERE l.heartbeat < {NOW_US} - $4 OR (l.origin = excluded.origin AND $5)
                 RETURNING token"
            ),
            &[
                &text(run_id),
                &text(origin),
                &i64::from(std::process::id()),
                &ttl,
                &here,
            ],
        )
        .await?;
    if let Some(r) = row {
        return Ok(Ok(r.get(0)));
    }
    let holder = c
        .query_opt(
            &format!(
                "SELECT origin, ({NOW_US} - heartbeat) / 1000000 FROM slate.leases WHERE run_id = $1"
            ),
            &[&text(run_id)],
        )
        .await?;
    Ok(Err(match holder {
        Some(r) => format!(
            "run {run_id} is driven by an engine on {} (its lease was renewed {}s ago; it lapses after {}s without one)",
            r.get::<_, String>(0),
            r.get::<_, i64>(1).max(0),
            LEASE_TTL.as_secs()
        ),
        None => format!("the lease of run {run_id} could not be taken"),
    }))
}

/// Writes `rows` (seq, ts, line) fenced by the lease; whether the lease is still ours.
async fn insert(
    c: &Client,
    run_id: &str,
    token: i64,
    state: bool,
    rows: &[(i64, i64, String)],
) -> Result<bool, PgError> {
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let ts: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let lines: Vec<String> = rows.iter().map(|r| text(&r.2)).collect();
    let ttl = LEASE_TTL.as_micros() as i64;
    // Fenced by the token *and* a lease that has not lapsed: once it has,
    // another machine may be taking the run over (`take_lease` wants a
    // lapsed one), so this engine must not write, and so not act, again.
    let row = c
        .query_one(
            &format!(
                "WITH fresh AS (SELECT 1 FROM slate.leases
                     WHERE run_id = $1 AND token = $6 AND heartbeat >= {NOW_US} - $7),
                 ins AS (
                     INSERT INTO slate.events (run_id, seq, ts, state, record)
                     SELECT $1, u.s, u.t, $5, u.r FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS u(s, t, r)
                     WHERE EXISTS (SELECT 1 FROM fresh)
                     ON CONFLICT DO NOTHING RETURNING seq)
                 SELECT EXISTS (SELECT 1 FROM fresh),
                        pg_notify('slate_run', $1 || ' ' || coalesce((SELECT max(seq) FROM ins), 0)::text) IS NULL"
            ),
            &[&text(run_id), &seqs, &ts, &lines, &state, &token, &ttl],
        )
        .await?;
    Ok(row.get(0))
}

/// 100 ms, doubling, at most 2 s: a restarting server is found soon, a
/// gone one is not hammered.
fn backoff(tries: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << tries.min(5)).min(2000))
}

fn micros(rec: &Record) -> i64 {
    rec.ts.as_microsecond()
}

impl TeamJournal {
    /// Takes the run's lease and starts the writer, after copying in what
    /// the journal file already holds (`before`: a recovered run, some of
    /// whose records may not have reached the team store). `here`: the
    /// previous engine ran on this machine and is known gone (its engine
    /// lock is ours now), so its lease is taken without waiting it out.
    pub fn start(
        team: &TeamConfig,
        run_id: &str,
        origin: &str,
        here: bool,
        before: &[Record],
    ) -> Result<TeamJournal, String> {
        let conn = connect(team).map_err(|e| e.to_string())?;
        let run = run_id.to_string();
        let token = {
            let Conn { rt, client } = &conn;
            let (run, origin) = (&run, origin);
            match drive(rt, CALL, async move || {
                take_lease(client, run, origin, here).await
            }) {
                Some(Ok(Ok(t))) => t,
                Some(Ok(Err(held))) => return Err(held),
                Some(Err(e)) => return Err(format!("the team journal: {}", describe(&e))),
                None => return Err("the team journal: no answer".into()),
            }
        };
        // What the file holds: copied in, fenced, in batches.
        for chunk in before.chunks(BATCH) {
            let rows: Vec<(i64, i64, String)> = chunk
                .iter()
                .map(|r| {
                    (
                        r.seq as i64,
                        micros(r),
                        serde_json::to_string(r).unwrap_or_default(),
                    )
                })
                .collect();
            let Conn { rt, client } = &conn;
            let run = &run;
            let rows = &rows;
            match drive(rt, CALL, async move || {
                insert(client, run, token, false, rows).await
            }) {
                Some(Ok(true)) => {}
                Some(Ok(false)) => return Err(format!("lost the lease of run {run}")),
                Some(Err(e)) => return Err(format!("the team journal: {}", describe(&e))),
                None => return Err("the team journal: no answer".into()),
            }
        }
        let (tx, rx) = sync_channel(QUEUE);
        let elided = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            team: team.clone(),
            conn: Some(conn),
            run_id: run,
            token,
            batch: Vec::new(),
            beat: Instant::now(),
            elided: elided.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("team-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| format!("cannot start the team journal's writer: {e}"))?;
        Ok(TeamJournal {
            tx: Some(tx),
            elided,
            token,
            writer: Some(writer),
        })
    }
}

impl crate::journal::Mirror for TeamJournal {
    fn state(&mut self, rec: &Record, line: &str) -> Result<(), String> {
        let (ack, done) = sync_channel(1);
        let Some(tx) = self.tx.as_ref() else {
            return Err("the team journal's writer stopped".into());
        };
        tx.send(Item::State(
            rec.seq as i64,
            micros(rec),
            line.to_string(),
            ack,
        ))
        .map_err(|_| "the team journal's writer stopped".to_string())?;
        done.recv()
            .unwrap_or_else(|_| Err("the team journal's writer stopped".into()))
    }

    fn output(&mut self, rec: &Record, line: &str) {
        let Some(tx) = self.tx.as_ref() else { return };
        match tx.try_send(Item::Output(rec.seq as i64, micros(rec), line.to_string())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let n = self.elided.fetch_add(1, Ordering::Relaxed);
                if n == 0 || (n + 1).is_multiple_of(10_000) {
                    tracing::warn!(
                        elided = n + 1,
                        "the team journal is behind: output lines left out of the team's copy (the journal file has them)"
                    );
                }
            }
        }
    }
}

struct Writer {
    team: TeamConfig,
    conn: Option<Conn>,
    run_id: String,
    token: i64,
    batch: Vec<(i64, i64, String)>,
    beat: Instant,
    elided: Arc<AtomicU64>,
}

/// What one write came to.
enum Wrote {
    Done,
    /// The lease is another engine's now.
    Lost,
    /// The server did not take it (gone, or an error): try again.
    Failed(String),
}

impl Writer {
    fn run(mut self, rx: Receiver<Item>) {
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Item::Output(s, t, l)) => {
                    self.batch.push((s, t, l));
                    if self.batch.len() >= BATCH {
                        self.flush_output();
                    }
                }
                Ok(Item::State(s, t, l, ack)) => {
                    let r = self.state(s, t, l);
                    let _ = ack.send(r);
                }
                Err(RecvTimeoutError::Timeout) => self.flush_output(),
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush_output();
                    self.release();
                    return;
                }
            }
            if self.beat.elapsed() >= HEARTBEAT {
                self.heartbeat();
            }
        }
    }

    fn write(&mut self, state: bool, rows: &[(i64, i64, String)]) -> Wrote {
        if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            match connect(&self.team) {
                Ok(c) => self.conn = Some(c),
                Err(e) => return Wrote::Failed(e.to_string()),
            }
        }
        let Some(Conn { rt, client }) = self.conn.as_ref() else {
            return Wrote::Failed("no connection".into());
        };
        let (run, token) = (&self.run_id, self.token);
        match drive(rt, CALL, async move || {
            insert(client, run, token, state, rows).await
        }) {
            Some(Ok(true)) => Wrote::Done,
            Some(Ok(false)) => Wrote::Lost,
            Some(Err(e)) => {
                let why = describe(&e);
                if e.is_closed() {
                    self.conn = None;
                }
                Wrote::Failed(why)
            }
            None => {
                self.conn = None;
                Wrote::Failed("no answer".into())
            }
        }
    }

    /// The buffered output lines, once: a server that does not take them
    /// now loses them from the team's copy (counted), so output never
    /// waits on it.
    fn flush_output(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.batch);
        match self.write(false, &rows) {
            Wrote::Done => {}
            Wrote::Lost => tracing::warn!(run = %self.run_id, "the team journal's lease is lost"),
            Wrote::Failed(why) => {
                self.elided.fetch_add(rows.len() as u64, Ordering::Relaxed);
                tracing::warn!(run = %self.run_id, %why, lines = rows.len(), "output lines left out of the team journal");
            }
        }
    }

    /// A state record, after the lines before it; retried with backoff for
    /// up to [`STATE_PATIENCE`] while the server is away.
    fn state(&mut self, seq: i64, ts: i64, line: String) -> Result<(), String> {
        let mut rows = std::mem::take(&mut self.batch);
        let mut tries = 0u32;
        let deadline = Instant::now() + STATE_PATIENCE;
        // The lines before it first, then the record itself.
        loop {
            if !rows.is_empty() {
                match self.write(false, &rows) {
                    Wrote::Done => rows.clear(),
                    Wrote::Lost => return Err(self.lost()),
                    Wrote::Failed(why) if Instant::now() >= deadline => {
                        return Err(format!("the team journal cannot be written: {why}"));
                    }
                    Wrote::Failed(_) => {
                        tries += 1;
                        std::thread::sleep(backoff(tries));
                        continue;
                    }
                }
            }
            match self.write(true, std::slice::from_ref(&(seq, ts, line.clone()))) {
                Wrote::Done => return Ok(()),
                Wrote::Lost => return Err(self.lost()),
                Wrote::Failed(why) if Instant::now() >= deadline => {
                    return Err(format!(
                        "the team journal cannot be written ({why}); the run stops rather than act on a record it did not journal"
                    ));
                }
                Wrote::Failed(why) => {
                    tries += 1;
                    tracing::warn!(run = %self.run_id, %why, tries, "the team journal is not answering; trying again");
                    std::thread::sleep(backoff(tries));
                }
            }
        }
    }

    /// Why this engine may not write: its lease lapsed while the store was
    /// away (it may be being taken over), or another engine has it.
    fn lost(&self) -> String {
        let mine = self.conn.as_ref().and_then(|Conn { rt, client }| {
            let (run, token) = (&self.run_id, self.token);
            drive(rt, CALL, async move || {
                client
                    .query_opt(
                        "SELECT 1 FROM slate.leases WHERE run_id = $1 AND token = $2",
                        &[run, &token],
                    )
                    .await
            })
            .and_then(Result::ok)
        });
        match mine {
            Some(Some(_)) => format!(
                "run {run}'s lease in the team store lapsed while the store was away (not renewed for {}s), \
                 so another machine may be taking it over: this engine stops without acting; \
                 `slate recover {run}` here takes it over at once",
                LEASE_TTL.as_secs(),
                run = self.run_id
            ),
            _ => format!(
                "run {} lost its lease in the team store: another engine drives it now, so this one stops",
                self.run_id
            ),
        }
    }

    fn heartbeat(&mut self) {
        self.beat = Instant::now();
        let Some(Conn { rt, client }) = self.conn.as_ref() else {
            return;
        };
        let (run, token) = (&self.run_id, self.token);
        let renewed = drive(rt, CALL, async move || {
            client
                .execute(
                    &format!(
                        "UPDATE slate.leases SET heartbeat = {NOW_US}
                         WHERE run_id = $1 AND token = $2 AND heartbeat >= {NOW_US} - $3"
                    ),
                    &[run, &token, &(LEASE_TTL.as_micros() as i64)],
                )
                .await
        });
        match renewed {
            Some(Ok(1)) => {}
            Some(Ok(_)) => tracing::warn!(run = %self.run_id, "the team journal's lease is lost"),
            Some(Err(e)) => {
                tracing::warn!(run = %self.run_id, error = %describe(&e), "cannot renew the team journal's lease")
            }
            None => {
                tracing::warn!(run = %self.run_id, "cannot renew the team journal's lease: no answer")
            }
        }
    }

    /// The engine is done with the run: its lease goes, so a recovery
    /// anywhere need not wait it out.
    fn release(&mut self) {
        if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.conn = connect(&self.team).ok();
        }
        let Some(Conn { rt, client }) = self.conn.as_ref() else {
            return;
        };
        let (run, token) = (&self.run_id, self.token);
        let _ = drive(rt, CALL, async move || {
            client
                .execute(
                    "DELETE FROM slate.leases WHERE run_id = $1 AND token = $2",
                    &[run, &token],
                )
                .await
        });
    }
}
