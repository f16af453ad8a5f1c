//! Making a new store: built beside its name and published whole (see
//! `publish_new`).

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::SqliteStore;
use crate::store::StoreError;

/// Makes a new store for `path` in a file of its own, beside it, and
/// publishes it under `path` unless another process published one first.
/// Whether this call published it.
///
/// Made in place, a new store cost six fsyncs (turning the new file to WAL
/// goes through a rollback journal: four; the migrations' first write to
/// the new write-ahead log: two), each a wait for a core on a busy machine
/// (24 ms before a run's engine was ready, see `docs/PERFORMANCE.md`).
/// Unpublished, the file needs none: it is built without syncs, made
/// durable with one, and appears under its name whole, by a link that
/// refuses to replace (so two processes making the store at once end with
/// one store, and the other's file is removed), then the directory's fsync.
pub(super) fn publish_new(path: &Path) -> Result<bool, StoreError> {
    let shown = path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.new-");
    remove_orphans(dir, &prefix);
    let tmp = dir.join(format!(
        "{prefix}{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let made = build(&tmp).and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| format!("cannot make {} durable: {e}", dir.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links: an empty file in place, which
        // the caller migrates as an older Slate's would be.
        Err(_) => match create_private(path) {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e.to_string()),
        },
    });
    remove_with_sidecars(&tmp);
    made.map_err(|e| StoreError::Other(format!("cannot create the store {shown}: {e}")))
}

/// Builds a migrated store in WAL mode at `tmp` (a new file, private from
/// its first byte), durable when this returns. Nobody else knows the
/// file, so nothing in it needs a sync until the one at the end.
fn build(tmp: &Path) -> Result<(), String> {
    create_private(tmp).map_err(|e| e.to_string())?;
    let conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let sql = |e: rusqlite::Error| e.to_string();
    conn.pragma_update(None, "journal_mode", "MEMORY")
        .map_err(sql)?;
    conn.pragma_update(None, "synchronous", "OFF")
        .map_err(sql)?;
    let store = SqliteStore {
        conn,
        path: tmp.to_path_buf(),
    };
    store.migrate().map_err(|e| e.to_string())?;
    let mode: String = store
        .conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::info!(%mode, "the new store is not in WAL mode (no shared memory here?)");
    }
    store.conn.close().map_err(|(_, e)| e.to_string())?;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())
}

/// Creates `path` owner-only, refusing a link planted there and any file
/// already there.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
}

/// Removes `path` and what SQLite may have left beside it.
fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Removes the files of stores being made (`<prefix><pid>-<n>`, and their
/// `-wal`, `-shm`, `-journal`) whose process is gone: a crash while making
/// one leaves them behind.
fn remove_orphans(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let pid = rest
            .split(['-', '.'])
            .next()
            .and_then(|p| p.parse::<i32>().ok());
        let gone = pid.is_some_and(|pid| {
            pid > 0
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                    == Err(nix::errno::Errno::ESRCH)
        });
        // Each file on its own: a store being made and what SQLite left beside it.
        if gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
