//! The SQLite store's schema, as numbered migrations. `PRAGMA user_version`
//! says how many have been applied; a store with a larger number was
//! written by a newer Slate and is refused rather than touched. A migration
//! is only ever added, never edited: a store that has applied it must read
//! the same afterwards. Times are microseconds since the Unix epoch (they
//! sort as numbers; RFC 3339 text with optional fractions does not).

/// Migration `n` (1-based) brings a store from version `n - 1` to `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: run summaries, the ledger, and the store's own notes.
    "CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        release TEXT NOT NULL,
        version TEXT NOT NULL,
        previous_version TEXT NOT NULL,
        owner TEXT NOT NULL,
        started_by TEXT NOT NULL,
        started INTEGER,
        finished INTEGER,
        duration_ms INTEGER,
        reached TEXT,
        outcome TEXT NOT NULL,
        approvers TEXT NOT NULL,
        message TEXT NOT NULL,
        memory TEXT NOT NULL,
        pid INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        engine_gone INTEGER NOT NULL DEFAULT 0,
        written INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX runs_by_release ON runs (release, run_id);
    CREATE INDEX runs_unsettled ON runs (run_id)
        WHERE outcome IN ('running', 'interrupted') OR engine_gone = 0;
    CREATE TABLE deployments (
        release TEXT NOT NULL,
        env TEXT NOT NULL,
        run_id TEXT NOT NULL,
        env_index INTEGER NOT NULL,
        version TEXT NOT NULL,
        reach TEXT NOT NULL,
        started INTEGER,
        live_at INTEGER,
        ended INTEGER,
        artifacts TEXT NOT NULL,
        config_digest TEXT,
        approvals TEXT NOT NULL,
        verdicts TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (run_id, env)
    ) WITHOUT ROWID;
    CREATE INDEX deployments_history ON deployments (release, env, started, run_id);
    CREATE INDEX deployments_live ON deployments (release, env, live_at)
        WHERE reach = 'deployed';
    CREATE TABLE places (
        release TEXT NOT NULL,
        env TEXT NOT NULL,
        env_index INTEGER NOT NULL,
        PRIMARY KEY (release, env)
    ) WITHOUT ROWID;
    CREATE TABLE notes (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 2: stopping the line: deploy locks (a run's, or a person's manual
    // hold), the queue of runs waiting for one, and ad-hoc freezes. The
    // primary key is what makes acquiring atomic: one run lock per
    // release × environment, one manual hold per release (or `*`) × env.
    "CREATE TABLE locks (
        release TEXT NOT NULL,
        env TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'manual')),
        run_id TEXT,
        holder TEXT NOT NULL,
        pid INTEGER,
        reason TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (release, env, kind)
    ) WITHOUT ROWID;
    CREATE INDEX locks_by_run ON locks (run_id) WHERE run_id IS NOT NULL;
    CREATE TABLE lock_queue (
        release TEXT NOT NULL,
        env TEXT NOT NULL,
        run_id TEXT NOT NULL,
        holder TEXT NOT NULL,
        pid INTEGER,
        since INTEGER NOT NULL,
        PRIMARY KEY (release, env, run_id)
    ) WITHOUT ROWID;
    CREATE TABLE freezes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        env TEXT NOT NULL,
        reason TEXT NOT NULL,
        starts INTEGER NOT NULL,
        ends INTEGER NOT NULL,
        tz TEXT NOT NULL,
        by TEXT NOT NULL,
        at INTEGER NOT NULL,
        lifted_by TEXT,
        lifted_at INTEGER
    );
    CREATE INDEX freezes_open ON freezes (env, ends) WHERE lifted_at IS NULL;",
    // 3: the history browser pages runs of one outcome (`o`) from the
    // store: without this, a page of a rare outcome walks every run.
    "CREATE INDEX runs_by_outcome ON runs (outcome, run_id);",
    // 4: pins (`store::pins`): a rollback to a known-good version pins its
    // release × environment, `--unpin` lifts it. Derived from journals like
    // the ledger: one row per run × environment × kind; a place is pinned
    // when its newest row is a pin.
    "CREATE TABLE pins (
        release TEXT NOT NULL,
        env TEXT NOT NULL,
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('pin', 'unpin')),
        version TEXT NOT NULL,
        by_user TEXT NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (run_id, env, kind)
    ) WITHOUT ROWID;
    CREATE INDEX pins_by_place ON pins (release, env, at);",
];

/// The schema version this Slate writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
