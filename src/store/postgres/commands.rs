//! Steering a team run from another machine (issue 19): a command is a row
//! in `slate.commands`, answered by the run's engine with the control
//! socket's accept/refuse semantics.
//!
//! - **Who asks** is the role the client authenticated as, stamped by the
//!   database (`schema.rs`, migration 4); the engine maps it to a person and
//!   the roles it is in (`members.rs`) and checks its level every time.
//!   A role that may only watch is refused, and the refusal journaled.
//! - **At most once.** The client names each command with a random key and
//!   inserts it again after a network blip; `UNIQUE (actor, key)` keeps one
//!   row. The engine takes a row (fenced by its lease token) before it acts
//!   and answers it after, so an engine that dies in between leaves the row
//!   taken and unanswered, never done twice.
//! - **Never late.** The engine takes only commands asked within
//!   [`TAKE_WITHIN`]; the client waits a little longer and then says that
//!   nobody took it. A recovered engine hours later does not act on a
//!   stale abort.
//! - **Woken, and looking anyway.** An insert notifies `slate_command`
//!   (a trigger, so a raw SQL insert wakes the engine too); the engine also
//!   looks every [`POLL`], so a missed notification costs latency only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_postgres::Client;

use super::connect::{Conn, connect, describe, drive};
use super::members::{Level, roles_of};
use super::{TeamConfig, text};
use crate::engine::{Action, Actor, Instruction, Reply, WeakHandle};

/// The engine takes commands no older than this.
pub const TAKE_WITHIN: Duration = Duration::from_secs(20);
/// How long the client waits for its command to be taken.
const WAIT_TAKEN: Duration = Duration::from_secs(25);
/// And then for the answer.
const WAIT_ANSWER: Duration = Duration::from_secs(60);
/// How often the engine looks without being woken.
pub const POLL: Duration = Duration::from_secs(2);
/// Inserting the command: tries after a lost connection.
const ATTEMPTS: usize = 3;
/// The `via` of commands that came through the team store.
pub const VIA: &str = "team";

/// Asks the engine of `run_id` (on whichever machine) to carry out
/// `action`, as the role this process authenticates as; its answer, or
/// why there was none.
pub fn ask(
    team: &TeamConfig,
    run_id: &str,
    action: &Action,
    client: &str,
) -> Result<Reply, String> {
    let idem = format!("{:032x}", fastrand::u128(..));
    let body = serde_json::to_string(action).map_err(|e| e.to_string())?;
    let run = text(run_id);
    let started = Instant::now();
    let mut conn = connect(team).map_err(|e| e.to_string())?;
    // Nobody drives a run without a lease: say so rather than wait.
    {
        let Conn { rt, client } = &conn;
        let run = &run;
        let held = drive(rt, super::CALL_TIMEOUT, async move || {
            client
                .query_opt("SELECT 1 FROM slate.leases WHERE run_id = $1", &[run])
                .await
        });
        match held {
            Some(Ok(Some(_))) => {}
            Some(Ok(None)) => {
                return Err(format!(
                    "no engine drives run {run_id} (it has ended, or its engine died: \
                     `slate recover {run_id}` once its lease lapses)"
                ));
            }
            Some(Err(e)) => return Err(describe(&e)),
            None => return Err("the team store did not answer".into()),
        }
    }
    // The insert, again after a lost connection: the key keeps it one row.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Conn { rt, client: c } = &conn;
        let (run, idem, body) = (&run, &idem, &body);
        let inserted = drive(rt, super::CALL_TIMEOUT, async move || {
            c.execute(
                "INSERT INTO slate.commands (run_id, idem, action, client)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (actor, idem) DO NOTHING",
                &[run, idem, body, &client],
            )
            .await
        });
        match inserted {
            Some(Ok(_)) => break,
            // The server said no (no right to steer, say): not a blip.
            Some(Err(e)) if e.as_db_error().is_some() => return Err(describe(&e)),
            other if attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = ?other.map(|r| r.err().map(|e| describe(&e))), "asking the team store again");
                std::thread::sleep(Duration::from_millis(300 * attempt as u64));
                conn = connect(team).map_err(|e| e.to_string())?;
            }
            Some(Err(e)) => return Err(describe(&e)),
            None => return Err("the team store did not answer".into()),
        }
    }
    // The answer, looked for with a growing pause (bounded in count by the
    // deadlines): an engine that is there answers within a few
    // milliseconds (bench/team.py), so the first looks come soon.
    let mut pause = Duration::from_millis(2);
    let mut taken_at: Option<Instant> = None;
    loop {
        let Conn { rt, client: c } = &conn;
        let idem = &idem;
        let row = drive(rt, super::CALL_TIMEOUT, async move || {
            c.query_opt(
                "SELECT taken_at IS NOT NULL, answered_at IS NOT NULL, ok, answer
                 FROM slate.commands WHERE actor = session_user AND idem = $1",
                &[idem],
            )
            .await
        });
        match row {
            Some(Ok(Some(r))) => {
                let (taken, answered): (bool, bool) = (r.get(0), r.get(1));
                if answered {
                    let ok: Option<bool> = r.get(2);
                    let answer: Option<String> = r.get(3);
                    let answer = answer.unwrap_or_default();
                    return Ok(if ok == Some(true) {
                        Ok(answer)
                    } else {
                        Err(answer)
                    });
                }
                if taken && taken_at.is_none() {
                    taken_at = Some(Instant::now());
                }
            }
            Some(Ok(None)) => return Err("the command is not in the team store".into()),
            Some(Err(e)) if e.as_db_error().is_some() => return Err(describe(&e)),
            // A blip while waiting: reading again is harmless.
            _ => {
                if let Ok(c) = connect(team) {
                    conn = c;
                }
            }
        }
        match taken_at {
            None if started.elapsed() > WAIT_TAKEN => {
                return Err(format!(
                    "no engine took the command within {}s; it expires unanswered \
                     (the run's engine may have stopped taking commands: `slate status`)",
                    WAIT_TAKEN.as_secs()
                ));
            }
            Some(t) if t.elapsed() > WAIT_ANSWER => {
                return Err(format!(
                    "the run's engine took the command but has not answered within {}s: \
                     look at the run before asking again",
                    WAIT_ANSWER.as_secs()
                ));
            }
            _ => {}
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Carries a cockpit's commands for a run on another machine through the
/// team store, one at a time, each answered as [`ask`] answers it.
pub fn forward(
    team: TeamConfig,
    run_id: String,
    client: &'static str,
) -> crate::control::client::Commands {
    let (commands, mut asked) = crate::control::client::Commands::channel();
    tokio::spawn(async move {
        while let Some((action, reply)) = asked.recv().await {
            let (team, run) = (team.clone(), run_id.clone());
            let answer = tokio::task::spawn_blocking(move || ask(&team, &run, &action, client))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .unwrap_or_else(Err);
            let _ = reply.send(answer);
        }
    });
    commands
}

/// One command taken by the engine.
struct Taken {
    id: i64,
    role: String,
    action: String,
    client: Option<String>,
    level: Option<String>,
    person: Option<String>,
    roles: Vec<String>,
}

/// What looking for a command found.
enum Look {
    Took(Taken),
    Nothing,
    /// Another engine holds the run's lease now: this one stops taking.
    Lost,
}

async fn take(client: &Client, run: &str, token: i64) -> Result<Look, tokio_postgres::Error> {
    let within = TAKE_WITHIN.as_secs_f64();
    let row = client
        .query_opt(
            &format!(
                "WITH next AS (
                    SELECT id FROM slate.commands
                    WHERE run_id = $1 AND taken_at IS NULL
                      AND asked_at > clock_timestamp() - make_interval(secs => $3)
                    ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 UPDATE slate.commands c SET taken_token = $2, taken_at = clock_timestamp()
                 FROM next WHERE c.id = next.id
                   AND EXISTS (SELECT 1 FROM slate.leases l WHERE l.run_id = $1 AND l.token = $2)
                 RETURNING c.id, c.actor, c.action, c.client,
                   (SELECT level FROM slate.members m WHERE m.role = c.actor),
                   (SELECT person FROM slate.members m WHERE m.role = c.actor),
                   CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname::text = c.actor)
                        THEN {} ELSE '{{}}'::text[] END",
                roles_of("c.actor")
            ),
            &[&run, &token, &within],
        )
        .await?;
    if let Some(r) = row {
        return Ok(Look::Took(Taken {
            id: r.get(0),
            role: r.get(1),
            action: r.get(2),
            client: r.get(3),
            level: r.get(4),
            person: r.get(5),
            roles: r.get(6),
        }));
    }
    let lease = client
        .query_opt("SELECT token FROM slate.leases WHERE run_id = $1", &[&run])
        .await?;
    Ok(match lease {
        Some(r) if r.get::<_, i64>(0) == token => Look::Nothing,
        _ => Look::Lost,
    })
}

/// What the engine makes of a taken command: the actor and what to send.
fn instruction(t: &Taken) -> Result<(Actor, Instruction), String> {
    let action: Action = serde_json::from_str(&t.action).map_err(|e| {
        format!(
            "malformed command: {}",
            crate::text::neutral::line(&e.to_string())
        )
    })?;
    let actor = Actor {
        user: crate::text::neutral::line(t.person.as_deref().unwrap_or(&t.role)).into_owned(),
        // No uid on this host: the OS's "no one".
        uid: u32::MAX,
        via: match t.client.as_deref() {
            Some("cockpit") => "cockpit",
            Some("board") => "board",
            _ => VIA,
        }
        .to_string(),
        roles: Some(t.roles.clone()),
    };
    let level = t.level.as_deref().and_then(Level::parse);
    let role = crate::text::neutral::line(&t.role).into_owned();
    Ok(match level {
        Some(Level::Steer | Level::Run) => (actor, Instruction::Client(action)),
        Some(Level::Watch) => (
            actor,
            Instruction::Refuse {
                action,
                reason: format!(
                    "role {role} may watch the team's runs but not steer them (slate store grant {role} steer)"
                ),
            },
        ),
        None => (
            actor,
            Instruction::Refuse {
                action,
                reason: format!("role {role} is not a member of the team (slate store grant)"),
            },
        ),
    })
}

/// Starts taking `run_id`'s commands from the team store for its engine,
/// while the engine lives and this process holds the run's lease (`token`).
/// Runs on the current tokio runtime.
pub fn spawn(team: TeamConfig, engine: WeakHandle, run_id: String, token: i64) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            let woken = Arc::new(Notify::new());
            let listening = tokio::time::timeout(
                super::CALL_TIMEOUT,
                super::follow::listening(&team, woken.clone(), "slate_command"),
            )
            .await;
            let client = match listening {
                Ok(Ok(c)) => c,
                other => {
                    tracing::warn!(error = ?other.ok().and_then(|r| r.err()), "the team store's commands: cannot listen; trying again");
                    if engine.upgrade().is_none() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(200);
            if !serve(&client, &woken, &engine, &run_id, token).await {
                return;
            }
        }
    });
}

/// Takes and answers commands until the connection fails (true: connect
/// again) or there is nothing more to do (false).
async fn serve(
    client: &Client,
    woken: &Notify,
    engine: &WeakHandle,
    run: &str,
    token: i64,
) -> bool {
    loop {
        let Some(handle) = engine.upgrade() else {
            return false;
        };
        let looked = tokio::time::timeout(super::CALL_TIMEOUT, take(client, run, token)).await;
        match looked {
            Ok(Ok(Look::Took(t))) => {
                let reply: Reply = match instruction(&t) {
                    Ok((actor, what)) => {
                        tracing::info!(user = %actor.user, role = %t.role, action = %what.describe(), "team store command");
                        handle.send(actor, what).await
                    }
                    Err(why) => Err(why),
                };
                drop(handle);
                let (ok, answer) = match reply {
                    Ok(m) => (true, m),
                    Err(m) => (false, m),
                };
                let answered = tokio::time::timeout(
                    super::CALL_TIMEOUT,
                    client.execute(
                        "UPDATE slate.commands SET answered_at = clock_timestamp(), ok = $2, answer = $3
                         WHERE id = $1 AND taken_token = $4",
                        &[&t.id, &ok, &text(&answer), &token],
                    ),
                )
                .await;
                if !matches!(answered, Ok(Ok(_))) {
                    tracing::warn!(id = t.id, "a team command's answer was not written");
                    return true;
                }
                continue;
            }
            Ok(Ok(Look::Nothing)) => {}
            Ok(Ok(Look::Lost)) => {
                tracing::warn!(
                    run,
                    "the run's lease is held by another engine: no more team commands"
                );
                return false;
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %describe(&e), "the team store's commands");
                return true;
            }
            Err(_) => return true,
        }
        drop(handle);
        if client.is_closed() {
            return true;
        }
        let _ = tokio::time::timeout(POLL, woken.notified()).await;
    }
}
