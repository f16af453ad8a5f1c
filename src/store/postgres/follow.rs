//! Following a team run from another machine: the records of the team
//! journal in order, as the control socket's follower gets them
//! (`control::client::Followed`), so the cockpit shows a run whose engine
//! is elsewhere. The follower `LISTEN`s on `slate_run` and, woken, reads
//! what it has not seen (`seq > last`); it also looks every
//! [`POLL`] without being woken, so a missed notification costs latency,
//! never data. Commands from another machine travel through the team
//! store too (`commands.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio_postgres::{AsyncMessage, Client, Connection};

use super::config::Tls;
use super::{TeamConfig, describe, rustls_config, text};
use crate::control::client::Followed;
use crate::engine::event::{Event, Record};

/// How often the follower looks even when nobody woke it.
pub const POLL: Duration = Duration::from_secs(2);
/// Records read at once.
const PAGE: i64 = 1000;

/// Drives a connection, waking `woken` on every notification.
async fn drive<S, T>(mut connection: Connection<S, T>, woken: Arc<Notify>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(_))) => woken.notify_one(),
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::debug!(error = %e, "team journal follower's connection ended");
                woken.notify_one();
                return;
            }
            None => {
                woken.notify_one();
                return;
            }
        }
    }
}

/// A connection that hears `channel`'s notifications.
pub(super) async fn listening(
    team: &TeamConfig,
    woken: Arc<Notify>,
    channel: &str,
) -> Result<Client, String> {
    let c = team.connect()?;
    let shown = team.shown();
    let client = match c.tls {
        Tls::Disable => {
            let (client, conn) =
                c.config.connect(tokio_postgres::NoTls).await.map_err(|e| {
                    format!("cannot reach the team store {shown}: {}", describe(&e))
                })?;
            tokio::spawn(drive(conn, woken));
            client
        }
        Tls::VerifyFull { root_cert } => {
            let tls = rustls_config(root_cert.as_deref())?;
            let (client, conn) = c
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                .await
                .map_err(|e| format!("cannot reach the team store {shown}: {}", describe(&e)))?;
            tokio::spawn(drive(conn, woken));
            client
        }
    };
    client
        .batch_execute(&format!("LISTEN {channel}"))
        .await
        .map_err(|e| describe(&e))?;
    Ok(client)
}

/// Starts following `run_id` from its first record; records (and, when the
/// run's engine is gone after its end, `Ended`) arrive on the receiver. A
/// server that stops answering is said once (`Notice`), tried again with
/// backoff, and said again when it answers; the follower then reads on
/// from the last record it had, so nothing is missed. The follower stops
/// when the receiver is dropped.
pub async fn follow(team: TeamConfig, run_id: String) -> Result<mpsc::Receiver<Followed>, String> {
    let woken = Arc::new(Notify::new());
    let client = tokio::time::timeout(
        super::CALL_TIMEOUT,
        listening(&team, woken.clone(), "slate_run"),
    )
    .await
    .map_err(|_| "the team store did not answer".to_string())??;
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(async move {
        let (mut client, mut woken) = (client, woken);
        let mut last = 0i64;
        let mut finished = false;
        let mut away = false;
        let mut backoff = Duration::from_millis(200);
        let id = text(&run_id);
        loop {
            let rows = match page(&client, &id, last).await {
                Ok(rows) => rows,
                Err(why) => {
                    if !away {
                        away = true;
                        let said = format!(
                            "the team store is unreachable ({why}); following again when it answers"
                        );
                        if tx.send(Followed::Notice(said, true)).await.is_err() {
                            return;
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    if tx.is_closed() {
                        return;
                    }
                    let fresh = Arc::new(Notify::new());
                    let again = tokio::time::timeout(
                        super::CALL_TIMEOUT,
                        listening(&team, fresh.clone(), "slate_run"),
                    )
                    .await;
                    if let Ok(Ok(c)) = again {
                        (client, woken) = (c, fresh);
                    }
                    continue;
                }
            };
            if away {
                away = false;
                backoff = Duration::from_millis(200);
                let said = "the team store answers again; caught up".to_string();
                if tx.send(Followed::Notice(said, false)).await.is_err() {
                    return;
                }
            }
            let full = rows.len() as i64 == PAGE;
            for row in rows {
                last = row.get(0);
                let line: String = row.get(1);
                let Ok(rec) = serde_json::from_str::<Record>(&line) else {
                    tracing::warn!(run = %run_id, seq = last, "an unreadable record in the team journal");
                    continue;
                };
                finished |= matches!(rec.event, Event::RunFinished { .. });
                if tx.send(Followed::Record(Box::new(rec))).await.is_err() {
                    return;
                }
            }
            if full {
                continue;
            }
            // Ended and its engine gone: the lease let go at the very end,
            // or lapsed (an engine that could not let it go).
            if finished {
                let held = tokio::time::timeout(
                    super::CALL_TIMEOUT,
                    client.query_opt(
                        &format!(
                            "SELECT 1 FROM slate.leases WHERE run_id = $1
                             AND heartbeat >= {} - $2",
                            super::journal::NOW_US
                        ),
                        &[&id, &(super::journal::LEASE_TTL.as_micros() as i64)],
                    ),
                )
                .await;
                if matches!(held, Ok(Ok(None))) {
                    let _ = tx
                        .send(Followed::Ended("the run's engine has exited".into()))
                        .await;
                    return;
                }
            }
            let _ = tokio::time::timeout(POLL, woken.notified()).await;
            if tx.is_closed() {
                return;
            }
        }
    });
    Ok(rx)
}

/// The records after `last`, a page of them; why not, in a line.
async fn page(client: &Client, id: &str, last: i64) -> Result<Vec<tokio_postgres::Row>, String> {
    if client.is_closed() {
        return Err("the connection closed".into());
    }
    let page = tokio::time::timeout(
        super::CALL_TIMEOUT,
        client.query(
            "SELECT seq, record FROM slate.events WHERE run_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3",
            &[&id, &last, &PAGE],
        ),
    )
    .await;
    match page {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err("no answer".into()),
    }
}
