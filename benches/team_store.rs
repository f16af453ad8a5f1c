//! The team store at scale (issue 22): the same 100,000 runs as
//! `benches/store.rs` (one fixture, `benches/fixture`), written into a
//! fresh PostgreSQL database, and the same questions asked the way the
//! commands ask them in team mode: `slate status`, `slate ledger --json`,
//! the first frames of `slate history` and `slate board`, a filter key in
//! the browser, `slate memory -n 10 --release R`.
//!
//! The process is in team mode as the binary would be: `main` points
//! `SLATE_HOME` at the fixture, whose `config/config.toml` names the
//! database (`[store] url`), so `store::open` and everything above it pick
//! the team store themselves; nothing here calls `PgStore` directly. Run
//! it beside the embedded store's bench for a baseline from the same
//! session:
//!
//! `cargo bench --bench store --bench team_store` — medians are what to
//! report. `SLATE_BENCH_RUNS` sets the size (CI's smoke run: 200).
//!
//! The database is `slate_bench_<pid>` on the server of the store tests
//! (`$SLATE_TEST_POSTGRES`, else postgres@127.0.0.1:5432), dropped at the
//! end with the fixture's directory unless `SLATE_BENCH_KEEP=1`: then
//! `SLATE_HOME=<dir> slate status` and the rest run against it as is.
//! Without a server the benches are skipped, saying so, unless
//! `SLATE_REQUIRE_POSTGRES=1` (CI), where that is a failure.
//!
//! What the bench cannot show: every iteration reuses the process's one
//! connection (`store::open` keeps it, as a long-lived board does), while
//! each command run from a shell connects afresh; the calls that make a
//! connection of their own (the runs on other machines, who the viewer is)
//! do connect every time. The binary's wall time covers the rest.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use jiff::Timestamp;
use slate_testkit::postgres::{admin_url, sql_on};

mod fixture;
use fixture::ask;

/// The fixture's state directory (also `SLATE_HOME`).
static HOME: OnceLock<PathBuf> = OnceLock::new();
/// Its database, as an admin URL.
static DB_URL: OnceLock<String> = OnceLock::new();
/// Set once the database holds the runs (filled on first use, so that a
/// filter that picks no bench costs no fill).
static FILLED: OnceLock<()> = OnceLock::new();

/// Drops the database and the directory at the end, or on a panic.
struct Fixture {
    admin: String,
    db: String,
    home: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::env::var_os("SLATE_BENCH_KEEP").is_some() {
            eprintln!(
                "kept the fixture in {} (database {}): SLATE_HOME={} slate status",
                self.home.display(),
                self.db,
                self.home.display()
            );
            return;
        }
        // FORCE: this process's own connection to it is still open.
        if let Err(e) = sql_on(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db),
        ) {
            eprintln!("could not drop the database {}: {e}", self.db);
        }
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn main() {
    let pid = std::process::id();
    let admin = admin_url();
    let db = format!("slate_bench_{pid}");
    if let Err(e) = sql_on(&admin, &format!("CREATE DATABASE {db}")) {
        if std::env::var("SLATE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("no PostgreSQL at {admin} ({e}), and SLATE_REQUIRE_POSTGRES=1");
        }
        eprintln!(
            "\n*** SKIPPED the team store benches: no PostgreSQL answers at {admin} ({e}); \
             set SLATE_TEST_POSTGRES to an admin URL ***\n"
        );
        return;
    }
    let home = std::env::temp_dir().join(format!("slate-bench-team-{pid}"));
    let fixture = Fixture {
        admin: admin.clone(),
        db: db.clone(),
        home: home.clone(),
    };
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(slate::runs::runs_dir(&home)).unwrap();
    std::fs::create_dir_all(home.join("config")).unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{db}");
    // How a team member configures it.
    std::fs::write(
        home.join("config/config.toml"),
        format!("[store]\nurl = {url:?}\n"),
    )
    .unwrap();
    // SAFETY: nothing else runs yet (divan starts below, no thread was
    // spawned), so no other thread can be reading the environment.
    unsafe {
        std::env::set_var("SLATE_HOME", &home);
        // `SLATE_STORE` would win over the config file.
        std::env::remove_var(slate::store::postgres::config::ENV);
    }
    HOME.set(home).unwrap();
    DB_URL.set(url).unwrap();
    divan::main();
    drop(fixture);
}

/// The team store as this process is configured for it (the config file
/// `main` wrote), as the commands find it.
fn team() -> slate::store::postgres::TeamConfig {
    slate::store::postgres::configured(&slate::paths::config_dir())
        .unwrap()
        .expect("main configured a team store")
}

/// Runs written by one `replace_all`: it is one call, and a call is given
/// up after `postgres::CALL_TIMEOUT` (15 s); at about a millisecond a run
/// on loopback, 100,000 runs in one call would be.
const FILL_CHUNK: usize = 2_500;

/// The state directory, its team store holding `runs()` runs (written by
/// `replace_all` as a rebuild would, a chunk at a time; the time it took is
/// printed), with no journals: what is measured is the store.
fn team_home() -> &'static Path {
    let home = HOME.get().expect("main set the fixture's directory");
    FILLED.get_or_init(|| {
        // `slate store init`.
        slate::store::postgres::init(&team()).unwrap();
        let records = fixture::records();
        let opened = slate::store::open(home).unwrap();
        // Every chunk keeps what the ones before it wrote: written after `since`.
        let since = Timestamp::now();
        let started = Instant::now();
        for chunk in records.chunks(FILL_CHUNK) {
            opened.store.replace_all(chunk, since).unwrap();
        }
        eprintln!(
            "\nfilled the team store with {} runs in {:.1?} (replace_all × {})",
            records.len(),
            started.elapsed(),
            records.len().div_ceil(FILL_CHUNK)
        );
        // In step with the (empty) runs directory, as after a rebuild.
        slate::store::sync::mark_synced(
            opened.store.as_ref(),
            slate::store::sync::runs_dir_stamp(home).as_deref(),
        )
        .unwrap();
        // A store that grew to 100,000 runs has been vacuumed and analysed
        // by autovacuum long since; one filled a second ago may not be yet,
        // and its plans and counts would measure that instead.
        sql_on(DB_URL.get().unwrap(), "VACUUM ANALYZE").unwrap();
    });
    home
}

/// What `slate status` reads: the active runs, what is live where and,
/// with a team store, the runs other machines' engines drive (a
/// connection of its own, as in the command).
#[divan::bench(sample_count = 20)]
fn status_100k_team(b: divan::Bencher) {
    let home = team_home();
    b.bench(|| {
        let elsewhere = slate::store::postgres::reader::elsewhere(
            &team(),
            &slate::store::postgres::origin(home),
        )
        .unwrap();
        (
            slate::runs::active_runs(home).unwrap(),
            ask::ledger(home, 1),
            elsewhere,
        )
    });
}

/// `slate ledger --json`: every place, its live version and ten before it.
#[divan::bench(sample_count = 20)]
fn ledger_json_100k_team(b: divan::Bencher) {
    let home = team_home();
    b.bench(|| slate::text::json::to_string_pretty(&ask::ledger(home, 10)).unwrap());
}

/// `slate history`'s first frame (`ask::history_first_frame`).
#[divan::bench(sample_count = 20)]
fn history_first_frame_100k_team(b: divan::Bencher) {
    let home = team_home();
    b.bench(|| ask::history_first_frame(home));
}

/// `slate board`'s first frame, minus the terminal: who the viewer is (the
/// board asks the team store before its first read), then what its watcher
/// does for the first read (the store opened and brought up to date, the
/// ledger's places and live versions, the active runs here and on other
/// machines, the inbox), then the board drawn at 120×40.
#[divan::bench(sample_count = 20)]
fn board_first_frame_100k_team(b: divan::Bencher) {
    let home = team_home();
    b.bench(|| {
        let team = team();
        let viewer = slate::board::viewer(Some(&team));
        let opened = slate::store::open(home).unwrap();
        slate::store::sync::sync(opened.store.as_ref(), home).unwrap();
        let snap =
            slate::board::snapshot::read_as(opened.store.as_ref(), home, &viewer, Some(&team));
        assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
        ask::board_frame(snap)
    });
}

/// A filter typed in the browser (`ask::filter_key`).
#[divan::bench(sample_count = 10)]
fn history_filter_100k_team(b: divan::Bencher) {
    let mut app = ask::filtering(team_home());
    b.bench_local(|| ask::filter_key(&mut app));
}

/// `slate memory -n 10 --release R`: the newest entries of one release.
#[divan::bench(sample_count = 20)]
fn memory_100k_team(b: divan::Bencher) {
    let home = team_home();
    b.bench(|| ask::memory(home));
}
