//! Who is in the team (issue 19): database roles with a level, granted by
//! the store's owner. Access is by separate grants, not row-level security:
//! the team's runs are the team's, so a member reads all of them and a role
//! outside the team reads none (the schema and its tables are revoked from
//! PUBLIC). Levels add up:
//!
//! - `watch`: read everything (attach, status, export, history);
//! - `steer`: also have a run's engine do what it asks;
//! - `run`: also run releases (the journal, the lease, locks, the ledger)
//!   and answer commands.
//!
//! Every member may insert a command (through only the columns that say
//! what is asked; who asks is stamped by the database), and the engine
//! reads the asker's level again for every one: a `watch` member's command
//! is refused *and journaled* (who tried what is on the record, as a
//! refused socket command is), and a revoked role's commands are refused
//! from then on. A role outside the team cannot even insert. The person a role is (the name
//! approver lists and four-eyes compare) is kept here too, by the owner,
//! rather than in each machine's config, where whoever runs an engine
//! could say that anyone is anyone.

use tokio_postgres::Client;

use super::connect::{describe, once};
use super::{CALL_TIMEOUT, StoreError, TeamConfig, text};

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Watch,
    Steer,
    Run,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Watch => "watch",
            Level::Steer => "steer",
            Level::Run => "run",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "watch" => Some(Level::Watch),
            "steer" => Some(Level::Steer),
            "run" => Some(Level::Run),
            _ => None,
        }
    }
}

/// The tables a `run` member writes, as an engine and its recorder do.
const WRITTEN: &str = "slate.runs, slate.deployments, slate.places, slate.notes, slate.locks, \
     slate.lock_queue, slate.freezes, slate.pins, slate.events, slate.leases";

/// A role name as an SQL identifier.
fn ident(role: &str) -> String {
    format!("\"{}\"", role.replace('"', "\"\""))
}

/// The statements that give `role` exactly `level` (after taking back all).
fn grants(role: &str, level: Level) -> String {
    let r = ident(role);
    let mut sql = revokes(role);
    sql.push_str(&format!(
        "GRANT USAGE ON SCHEMA slate TO {r};
         GRANT SELECT ON ALL TABLES IN SCHEMA slate TO {r};
         GRANT INSERT (run_id, idem, action, client) ON slate.commands TO {r};
         GRANT USAGE ON SEQUENCE slate.commands_id_seq TO {r};"
    ));
    if level >= Level::Run {
        sql.push_str(&format!(
            "GRANT INSERT, UPDATE, DELETE ON {WRITTEN} TO {r};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA slate TO {r};
             GRANT UPDATE (taken_token, taken_at, answered_at, ok, answer) ON slate.commands TO {r};"
        ));
    }
    sql
}

fn revokes(role: &str) -> String {
    let r = ident(role);
    format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA slate FROM {r};
         REVOKE ALL ON ALL SEQUENCES IN SCHEMA slate FROM {r};
         REVOKE ALL ON SCHEMA slate FROM {r};"
    )
}

/// Whether the server has a role of that name.
async fn role_exists(
    tx: &tokio_postgres::Transaction<'_>,
    role: &str,
) -> Result<bool, super::PgError> {
    Ok(tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
        .await?
        .is_some())
}

/// `slate store grant ROLE LEVEL [--as PERSON]`: one transaction.
pub fn grant(team: &TeamConfig, role: &str, level: Level, person: &str) -> Result<(), String> {
    let (role, person) = (text(role), text(person));
    once(team, CALL_TIMEOUT, async |c: &mut Client| {
        let tx = c.transaction().await.map_err(|e| describe(&e))?;
        if !role_exists(&tx, &role).await.map_err(|e| describe(&e))? {
            return Err(format!(
                "no database role {}: create it first (CREATE ROLE … LOGIN)",
                crate::text::neutral::line(&role)
            ));
        }
        tx.batch_execute(&grants(&role, level))
            .await
            .map_err(|e| describe(&e))?;
        tx.execute(
            "INSERT INTO slate.members (role, level, person) VALUES ($1, $2, $3)
             ON CONFLICT (role) DO UPDATE SET level = $2, person = $3,
                 granted_by = session_user, granted_at = now()",
            &[&role, &level.word(), &person],
        )
        .await
        .map_err(|e| describe(&e))?;
        tx.commit().await.map_err(|e| describe(&e))
    })
}

/// `slate store revoke ROLE`: takes every right back; whether it was a member.
pub fn revoke(team: &TeamConfig, role: &str) -> Result<bool, String> {
    let role = text(role);
    once(team, CALL_TIMEOUT, async |c: &mut Client| {
        let tx = c.transaction().await.map_err(|e| describe(&e))?;
        if role_exists(&tx, &role).await.map_err(|e| describe(&e))? {
            tx.batch_execute(&revokes(&role))
                .await
                .map_err(|e| describe(&e))?;
        }
        let n = tx
            .execute("DELETE FROM slate.members WHERE role = $1", &[&role])
            .await
            .map_err(|e| describe(&e))?;
        tx.commit().await.map_err(|e| describe(&e))?;
        Ok(n > 0)
    })
}

/// One member, as `slate store members` lists them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    pub role: String,
    pub level: String,
    pub person: String,
    pub granted_by: String,
    pub granted_at: String,
}

pub fn list(team: &TeamConfig) -> Result<Vec<Member>, String> {
    once(team, CALL_TIMEOUT, async |c: &mut Client| {
        let rows = c
            .query(
                "SELECT role, level, person, granted_by, to_char(granted_at AT TIME ZONE 'UTC',
                     'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM slate.members ORDER BY role",
                &[],
            )
            .await
            .map_err(|e| describe(&e))?;
        Ok(rows
            .iter()
            .map(|r| Member {
                role: r.get(0),
                level: r.get(1),
                person: r.get(2),
                granted_by: r.get(3),
                granted_at: r.get(4),
            })
            .collect())
    })
}

/// Gives every member its level again (after a migration added tables).
pub(super) async fn regrant(tx: &tokio_postgres::Transaction<'_>) -> Result<(), super::PgError> {
    let rows = tx
        .query("SELECT role, level FROM slate.members", &[])
        .await?;
    for r in rows {
        let (role, level): (String, String) = (r.get(0), r.get(1));
        if let (true, Some(level)) = (role_exists(tx, &role).await?, Level::parse(&level)) {
            tx.batch_execute(&grants(&role, level)).await?;
        }
    }
    Ok(())
}

/// Who this process is in the team store: its role, the person it is
/// (the role's name unless the owner said otherwise), its level (None: not
/// a member), and the other roles it is a member of (for `@groups`).
#[derive(Debug, Clone)]
pub struct Me {
    pub role: String,
    pub person: String,
    pub level: Option<Level>,
    pub roles: Vec<String>,
}

/// The roles `who` (an SQL text expression naming an existing role) is a
/// member of besides itself, without the server's predefined `pg_*` roles
/// (a superuser is in all of them).
pub(super) fn roles_of(who: &str) -> String {
    format!(
        "ARRAY(SELECT r.rolname::text FROM pg_roles r
         WHERE r.rolname::text <> {who} AND r.rolname !~ '^pg_'
           AND pg_has_role(({who})::name, r.oid, 'MEMBER')
         ORDER BY 1)"
    )
}

pub fn whoami(team: &TeamConfig) -> Result<Me, StoreError> {
    once(team, CALL_TIMEOUT, async |c: &mut Client| {
        let role: String = c
            .query_one("SELECT session_user::text", &[])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        let row = c
            .query_one(
                &format!(
                    "SELECT (SELECT level FROM slate.members WHERE role = $1::text),
                            (SELECT person FROM slate.members WHERE role = $1::text),
                            {}",
                    roles_of("$1::text")
                ),
                &[&role],
            )
            .await
            .map_err(|e| describe(&e))?;
        let level: Option<String> = row.get(0);
        let person: Option<String> = row.get(1);
        Ok(Me {
            person: person.unwrap_or_else(|| role.clone()),
            role,
            level: level.as_deref().and_then(Level::parse),
            roles: row.get(2),
        })
    })
    .map_err(StoreError::Other)
}
