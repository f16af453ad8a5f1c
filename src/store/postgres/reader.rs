//! Reading the team journal from any machine: which run an id names, its
//! records as NDJSON (`slate export`), who holds a run's lease, and the runs
//! other machines' engines drive (`slate status`). Each is one call on a
//! connection of its own, bounded in time.

use super::connect::{Conn, connect, describe, drive, once};
use super::journal::NOW_US;
use super::{TeamConfig, text};

const CALL: std::time::Duration = super::journal::CALL;

/// The run ids in the team journal that `prefix` names: exactly one, or
/// why not.
pub fn resolve(team: &TeamConfig, prefix: &str) -> Result<String, String> {
    let p = text(prefix);
    let rows = once(team, CALL, async |client| {
        client
            .query(
                "SELECT run_id FROM slate.leases WHERE left(run_id, length($1)) = $1
                 UNION SELECT DISTINCT run_id FROM slate.events WHERE seq = 1 AND left(run_id, length($1)) = $1
                 ORDER BY 1 LIMIT 2",
                &[&p],
            )
            .await
            .map_err(|e| describe(&e))
    })?;
    match rows.len() {
        0 => Err(format!("no run {prefix} in the team journal either")),
        1 => Ok(rows[0].get(0)),
        _ => Err(format!(
            "{prefix} names more than one run in the team journal"
        )),
    }
}

/// Writes the team journal of `run_id` to `out`, in order, a page at a
/// time (a flooded run costs a page); how many records.
pub fn export(
    team: &TeamConfig,
    run_id: &str,
    out: &mut dyn std::io::Write,
) -> Result<u64, String> {
    const PAGE: i64 = 10_000;
    let conn = connect(team).map_err(|e| e.to_string())?;
    let Conn { rt, client } = &conn;
    let mut after = 0i64;
    let mut n = 0u64;
    loop {
        let run = &run_id;
        let page = drive(rt, CALL, async move || {
            client
                .query(
                    "SELECT seq, record FROM slate.events WHERE run_id = $1 AND seq > $2
                     ORDER BY seq LIMIT $3",
                    &[run, &after, &PAGE],
                )
                .await
        });
        let rows = match page {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(describe(&e)),
            None => return Err("the team store did not answer".into()),
        };
        if rows.is_empty() {
            return Ok(n);
        }
        for r in &rows {
            after = r.get(0);
            let line: String = r.get(1);
            // A row anyone with write access could have forged: nothing in
            // it reaches a terminal raw.
            out.write_all(crate::cli::export::json_safe(&line).as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| e.to_string())?;
            n += 1;
        }
    }
}

/// A team run driven from another machine (its lease is held elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    pub run_id: String,
    pub origin: String,
    pub release: Option<String>,
    pub version: Option<String>,
    /// Seconds since its engine last renewed its lease.
    pub renewed: i64,
}

/// The runs whose engines hold a lease from a machine other than `origin`.
pub fn elsewhere(team: &TeamConfig, origin: &str) -> Result<Vec<Elsewhere>, String> {
    let o = text(origin);
    let rows = once(team, CALL, async |client| {
        client
            .query(
                &format!(
                    "SELECT l.run_id, l.origin, r.release, r.version, ({NOW_US} - l.heartbeat) / 1000000
                     FROM slate.leases l LEFT JOIN slate.runs r ON r.run_id = l.run_id
                     WHERE l.origin <> $1 ORDER BY l.run_id LIMIT 200"
                ),
                &[&o],
            )
            .await
            .map_err(|e| describe(&e))
    })?;
    Ok(rows
        .iter()
        .map(|r| Elsewhere {
            run_id: r.get(0),
            origin: r.get(1),
            release: r.get(2),
            version: r.get(3),
            renewed: r.get::<_, i64>(4).max(0),
        })
        .collect())
}

/// Who holds the lease of `run_id` and how many seconds ago it was renewed.
pub fn lease(team: &TeamConfig, run_id: &str) -> Result<Option<(String, i64)>, String> {
    let id = text(run_id);
    let row = once(team, CALL, async |client| {
        client
            .query_opt(
                &format!(
                    "SELECT origin, ({NOW_US} - heartbeat) / 1000000 FROM slate.leases WHERE run_id = $1"
                ),
                &[&id],
            )
            .await
            .map_err(|e| describe(&e))
    })?;
    Ok(row.map(|r| (r.get(0), r.get::<_, i64>(1).max(0))))
}

/// The state records of `run_id` in the team journal, in order (output
/// left out: what a board or an approval dialog needs of a run that is on
/// another machine). A row that does not parse is skipped and logged.
pub fn states(team: &TeamConfig, run_id: &str) -> Result<Vec<crate::engine::Record>, String> {
    let id = text(run_id);
    let rows = once(team, CALL, async |client| {
        client
            .query(
                "SELECT seq, record FROM slate.events WHERE run_id = $1 AND state ORDER BY seq",
                &[&id],
            )
            .await
            .map_err(|e| describe(&e))
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let line: String = r.get(1);
        match serde_json::from_str(&line) {
            Ok(rec) => out.push(rec),
            Err(_) => {
                tracing::warn!(run = %run_id, seq = r.get::<_, i64>(0), "an unreadable record in the team journal")
            }
        }
    }
    Ok(out)
}

/// The team journal of `run_id` written into `file` and synced: a journal
/// file a run directory here can hold.
pub fn export_to(team: &TeamConfig, run_id: &str, file: std::fs::File) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(file);
    export(team, run_id, &mut out)?;
    out.flush().map_err(|e| e.to_string())?;
    out.get_ref().sync_all().map_err(|e| e.to_string())
}

/// Where copies of team runs read from this machine go (never `runs/`:
/// they are not this machine's runs).
pub const COPIES_DIR: &str = "team-copies";

/// A run this machine does not have, copied from the team journal into
/// `<state>/team-copies/<run-id>/` (made again at every call: the run may
/// still be going), so that every reader of run directories (show,
/// dossier, analysis, replay) reads it. `Ok(None)`: no team store is
/// configured.
pub fn copy_here(
    state_dir: &std::path::Path,
    run: &str,
) -> Result<Option<std::path::PathBuf>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(team) = super::configured(&crate::paths::config_dir())? else {
        return Ok(None);
    };
    let id = resolve(&team, run)?;
    let copies = state_dir.join(COPIES_DIR);
    let dir = copies.join(&id);
    crate::paths::ensure_private_dir(&copies)
        .and_then(|()| crate::paths::ensure_private_dir(&dir))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(crate::journal::JOURNAL_FILE);
    let part = dir.join(format!(".{}.part", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&part)
        .map_err(|e| format!("{}: {e}", part.display()))?;
    let written = export_to(&team, &id, file)
        .and_then(|()| std::fs::rename(&part, &path).map_err(|e| e.to_string()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&part);
        return Err(format!("cannot read run {id} from the team journal: {e}"));
    }
    Ok(Some(dir))
}
