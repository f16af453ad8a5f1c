//! The team store's schema, as numbered migrations, in a PostgreSQL schema
//! of its own (`slate`) so it can share a database. `slate.migrations`
//! holds one row per applied migration; a database with a higher number
//! was written by a newer Slate and is refused. A migration is only ever
//! added, never edited.
//!
//! Only `slate store init` applies migrations: in a team, one person's
//! newer Slate silently upgrading the shared schema would lock everyone
//! else's out, so it is done on purpose, once.
//!
//! The tables mirror the SQLite store's (same columns, same meaning) plus
//! `origin`: which machine's state directory a run's journal lives in —
//! what that machine may forget when the journal is gone, and which runs
//! it can look at for a live engine. Text columns sort as bytes
//! (`COLLATE "C"`), as SQLite's do; times are microseconds since the epoch.

/// Migration `n` (1-based) brings a database from version `n - 1` to `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: run summaries, the ledger, and each machine's notes.
    r#"CREATE TABLE slate.runs (
        run_id TEXT COLLATE "C" PRIMARY KEY,
        origin TEXT NOT NULL,
        release TEXT COLLATE "C" NOT NULL,
        version TEXT NOT NULL,
        previous_version TEXT NOT NULL,
        owner TEXT NOT NULL,
        started_by TEXT NOT NULL,
        started BIGINT,
        finished BIGINT,
        duration_ms BIGINT,
        reached TEXT,
        outcome TEXT NOT NULL,
        approvers TEXT NOT NULL,
        message TEXT NOT NULL,
        memory TEXT NOT NULL,
        pid BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        engine_gone BOOLEAN NOT NULL DEFAULT FALSE,
        written BIGINT NOT NULL
    );
    CREATE INDEX runs_by_release ON slate.runs (release, run_id);
    CREATE INDEX runs_by_origin ON slate.runs (origin, run_id);
    CREATE INDEX runs_unsettled ON slate.runs (origin, run_id)
        WHERE outcome IN ('running', 'interrupted') OR NOT engine_gone;
    CREATE TABLE slate.deployments (
        release TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        run_id TEXT COLLATE "C" NOT NULL,
        env_index BIGINT NOT NULL,
        version TEXT NOT NULL,
        reach TEXT NOT NULL,
        started BIGINT,
        live_at BIGINT,
        ended BIGINT,
        artifacts TEXT NOT NULL,
        config_digest TEXT,
        approvals TEXT NOT NULL,
        verdicts TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (run_id, env)
    );
    CREATE INDEX deployments_history ON slate.deployments (release, env, started, run_id);
    CREATE INDEX deployments_live ON slate.deployments (release, env, live_at)
        WHERE reach = 'deployed';
    CREATE TABLE slate.places (
        release TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        env_index BIGINT NOT NULL,
        PRIMARY KEY (release, env)
    );
    CREATE TABLE slate.notes (
        origin TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (origin, key)
    );"#,
    // 2: deploy locks, the queue for them, ad-hoc freezes and the pins a
    // rollback leaves, shared by every machine (issue 18 on the team
    // store). Pins are derived from journals like the ledger (`put`). `origin` says which
    // machine's run holds or waits: only that machine can tell whether
    // the run's engine lives. One run lock per release × environment is
    // the primary key's to keep, whatever the transactions do.
    r#"CREATE TABLE slate.locks (
        release TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'manual')),
        run_id TEXT COLLATE "C",
        holder TEXT NOT NULL,
        pid BIGINT,
        reason TEXT NOT NULL,
        since BIGINT NOT NULL,
        origin TEXT,
        PRIMARY KEY (release, env, kind)
    );
    CREATE INDEX locks_by_run ON slate.locks (run_id) WHERE run_id IS NOT NULL;
    CREATE TABLE slate.lock_queue (
        release TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        run_id TEXT COLLATE "C" NOT NULL,
        holder TEXT NOT NULL,
        pid BIGINT,
        since BIGINT NOT NULL,
        origin TEXT NOT NULL,
        PRIMARY KEY (release, env, run_id)
    );
    CREATE TABLE slate.freezes (
        id BIGSERIAL PRIMARY KEY,
        env TEXT COLLATE "C" NOT NULL,
        reason TEXT NOT NULL,
        starts BIGINT NOT NULL,
        ends BIGINT NOT NULL,
        tz TEXT NOT NULL,
        by TEXT NOT NULL,
        at BIGINT NOT NULL,
        lifted_by TEXT,
        lifted_at BIGINT
    );
    CREATE INDEX freezes_open ON slate.freezes (env, ends) WHERE lifted_at IS NULL;
    CREATE TABLE slate.pins (
        release TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        run_id TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('pin', 'unpin')),
        version TEXT NOT NULL,
        by_user TEXT NOT NULL,
        reason TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (run_id, env, kind)
    );
    CREATE INDEX pins_by_place ON slate.pins (release, env, at);"#,
    // 3: the team journal (issue 19): every record of a team run, as the
    // journal file's line (`record`), fenced by the engine's lease. The
    // primary key is what keeps two engines from both writing seq n.
    r#"CREATE TABLE slate.events (
        run_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        ts BIGINT NOT NULL,
        state BOOLEAN NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE slate.leases (
        run_id TEXT COLLATE "C" PRIMARY KEY,
        origin TEXT NOT NULL,
        pid BIGINT NOT NULL,
        token BIGINT NOT NULL,
        heartbeat BIGINT NOT NULL
    );"#,
    // 4: who is in the team and commands from other machines (issue 19).
    // A member is a database role with a level (`watch` reads, `steer` also
    // asks, `run` also runs releases) and the person it is; only the
    // store's owner writes it (`slate store grant`). A command's `actor` is
    // the role that inserted it, set by the trigger whatever the insert
    // says, and never changed after: identity comes from the database's
    // authentication. The other trigger wakes the run's engine. Who holds a
    // lock, waits for one, freezes or lifts a freeze is stamped the same
    // way (the person the role is), not taken from the client. No trigger
    // is SECURITY DEFINER: they need no right the writer lacks.
    r#"CREATE TABLE slate.members (
        role TEXT COLLATE "C" PRIMARY KEY,
        level TEXT NOT NULL CHECK (level IN ('watch', 'steer', 'run')),
        person TEXT NOT NULL,
        granted_by TEXT NOT NULL DEFAULT session_user,
        granted_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE slate.commands (
        id BIGSERIAL PRIMARY KEY,
        run_id TEXT COLLATE "C" NOT NULL CHECK (octet_length(run_id) <= 200),
        idem TEXT NOT NULL CHECK (octet_length(idem) <= 200),
        actor TEXT NOT NULL DEFAULT session_user,
        action TEXT NOT NULL CHECK (octet_length(action) <= 65536),
        client TEXT CHECK (octet_length(client) <= 64),
        asked_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        taken_token BIGINT,
        taken_at TIMESTAMPTZ,
        answered_at TIMESTAMPTZ,
        ok BOOLEAN,
        answer TEXT,
        UNIQUE (actor, idem)
    );
    CREATE INDEX commands_open ON slate.commands (run_id, id) WHERE taken_at IS NULL;
    CREATE FUNCTION slate.command_asked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.actor := session_user;
        NEW.asked_at := clock_timestamp();
        NEW.taken_token := NULL;
        NEW.taken_at := NULL;
        NEW.answered_at := NULL;
        NEW.ok := NULL;
        NEW.answer := NULL;
        RETURN NEW;
    END $$;
    CREATE TRIGGER command_actor BEFORE INSERT ON slate.commands
        FOR EACH ROW EXECUTE FUNCTION slate.command_asked();
    CREATE FUNCTION slate.command_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.run_id IS DISTINCT FROM OLD.run_id OR NEW.idem IS DISTINCT FROM OLD.idem
           OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.action IS DISTINCT FROM OLD.action
           OR NEW.client IS DISTINCT FROM OLD.client OR NEW.asked_at IS DISTINCT FROM OLD.asked_at THEN
            RAISE EXCEPTION 'a command is never changed, only answered';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER command_kept BEFORE UPDATE ON slate.commands
        FOR EACH ROW EXECUTE FUNCTION slate.command_kept();
    CREATE FUNCTION slate.command_wake() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('slate_command', NEW.run_id);
        RETURN NULL;
    END $$;
    CREATE TRIGGER command_wake AFTER INSERT ON slate.commands
        FOR EACH ROW EXECUTE FUNCTION slate.command_wake();
    CREATE FUNCTION slate.person() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce((SELECT person FROM slate.members WHERE role = session_user),
                        session_user::text)
    $$;
    CREATE FUNCTION slate.stamp_holder() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.holder := slate.person();
        RETURN NEW;
    END $$;
    CREATE TRIGGER lock_holder BEFORE INSERT ON slate.locks
        FOR EACH ROW EXECUTE FUNCTION slate.stamp_holder();
    CREATE TRIGGER queue_holder BEFORE INSERT ON slate.lock_queue
        FOR EACH ROW EXECUTE FUNCTION slate.stamp_holder();
    CREATE FUNCTION slate.stamp_freeze() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            NEW.by := slate.person();
        ELSIF NEW.lifted_at IS DISTINCT FROM OLD.lifted_at THEN
            NEW.lifted_by := slate.person();
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER freeze_by BEFORE INSERT OR UPDATE ON slate.freezes
        FOR EACH ROW EXECUTE FUNCTION slate.stamp_freeze();
    REVOKE ALL ON SCHEMA slate FROM PUBLIC;
    REVOKE ALL ON ALL TABLES IN SCHEMA slate FROM PUBLIC;"#,
];

/// The text filter's trigram index over `sql::HAYSTACK`, made where the
/// server has `pg_trgm` and whoever initialises may create it (idempotent).
/// Not a migration: it changes no table's shape, so members still on a
/// Slate that does not ask for it are not locked out, and a server without
/// it still answers every filter, by reading every run.
pub fn text_index() -> String {
    format!(
        r#"DO $slate$
DECLARE
    ext name;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    SELECT n.nspname INTO ext FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF ext IS NOT NULL THEN
        EXECUTE format($index$CREATE INDEX IF NOT EXISTS runs_text ON slate.runs
            USING gin ({haystack} %I.gin_trgm_ops)$index$, ext);
    END IF;
END $slate$;"#,
        haystack = crate::store::sql::HAYSTACK
    )
}

/// Whether the text filter's index is there.
pub const HAS_TEXT_INDEX: &str = "SELECT EXISTS (SELECT 1 FROM pg_indexes
    WHERE schemaname = 'slate' AND indexname = 'runs_text')";

/// Creates what holds the version itself (idempotent).
pub const BOOTSTRAP: &str = "CREATE SCHEMA IF NOT EXISTS slate;
    CREATE TABLE IF NOT EXISTS slate.migrations (
        version BIGINT PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        applied_by TEXT NOT NULL DEFAULT session_user
    );";

/// The schema version this Slate writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
