//! The store at scale: 100,000 runs of 7 releases through staging and
//! prod, and what `slate status`, `slate history` (its first frame) and
//! `slate ledger --json` cost over it; and rebuilding the store from
//! 10,000 journals. Memory is measured on the real binary against the same
//! fixture (`SLATE_BENCH_KEEP=1` keeps it; see docs/PERFORMANCE.md).
//!
//! `cargo bench --bench store` — medians are what to report. CI's smoke
//! run sets `SLATE_BENCH_RUNS` and `SLATE_BENCH_JOURNALS` small.
//! The same runs and questions on the team store (PostgreSQL):
//! `benches/team_store.rs`; the fixture is `benches/fixture`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::Timestamp;

mod fixture;
use fixture::{ask, count, id, journal, runs};

fn journals() -> usize {
    count("SLATE_BENCH_JOURNALS", 10_000)
}

static STORE_HOME: OnceLock<PathBuf> = OnceLock::new();
static JOURNAL_HOME: OnceLock<PathBuf> = OnceLock::new();

fn main() {
    divan::main();
    if std::env::var_os("SLATE_BENCH_KEEP").is_none() {
        for home in [STORE_HOME.get(), JOURNAL_HOME.get()].into_iter().flatten() {
            let _ = std::fs::remove_dir_all(home);
        }
    } else if let Some(home) = STORE_HOME.get() {
        eprintln!("kept the fixture in {}", home.display());
    }
}

/// A state directory whose store holds `runs()` runs (written in one go,
/// as a rebuild would), with no journals: what is measured is the store.
fn store_home() -> &'static Path {
    STORE_HOME.get_or_init(|| {
        let home = std::env::temp_dir().join(format!("slate-bench-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(slate::runs::runs_dir(&home)).unwrap();
        let records = fixture::records();
        let opened = slate::store::open(&home).unwrap();
        opened
            .store
            .replace_all(&records, Timestamp::now())
            .unwrap();
        // In step with the (empty) runs directory, as after a rebuild.
        slate::store::sync::mark_synced(
            opened.store.as_ref(),
            slate::store::sync::runs_dir_stamp(&home).as_deref(),
        )
        .unwrap();
        home
    })
}

/// `journals()` run directories with journals and no store.
fn journal_home() -> &'static Path {
    JOURNAL_HOME.get_or_init(|| {
        let home =
            std::env::temp_dir().join(format!("slate-bench-journals-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        for i in 0..journals() {
            let (id, _) = id(i);
            let dir = slate::runs::runs_dir(&home).join(&id);
            std::fs::create_dir_all(&dir).unwrap();
            let text: String = journal(i)
                .iter()
                .map(|r| serde_json::to_string(r).unwrap() + "\n")
                .collect();
            std::fs::write(dir.join(slate::journal::JOURNAL_FILE), text).unwrap();
        }
        home
    })
}

/// What `slate status` reads: the active runs and what is live where.
#[divan::bench(sample_count = 20)]
fn status_100k(b: divan::Bencher) {
    let home = store_home();
    b.bench(|| {
        (
            slate::runs::active_runs(home).unwrap(),
            ask::ledger(home, 1),
        )
    });
}

/// `slate ledger --json`: every place, its live version and ten before it.
#[divan::bench(sample_count = 20)]
fn ledger_json_100k(b: divan::Bencher) {
    let home = store_home();
    b.bench(|| slate::text::json::to_string_pretty(&ask::ledger(home, 10)).unwrap());
}

/// `slate history`'s first frame (`ask::history_first_frame`).
#[divan::bench(sample_count = 20)]
fn history_first_frame_100k(b: divan::Bencher) {
    let home = store_home();
    b.bench(|| ask::history_first_frame(home));
}

/// `slate board`'s first frame, minus the terminal: what its watcher does
/// for the first read (the store opened and brought up to date, the ledger's
/// places and live versions, the active runs and the inbox), then the board
/// drawn at 120×40.
#[divan::bench(sample_count = 20)]
fn board_first_frame_100k(b: divan::Bencher) {
    let home = store_home();
    b.bench(|| {
        let opened = slate::store::open(home).unwrap();
        slate::store::sync::sync(opened.store.as_ref(), home).unwrap();
        ask::board_frame(slate::board::snapshot::read(
            opened.store.as_ref(),
            home,
            "bench",
        ))
    });
}

/// The same frame the way it was drawn before paging (the baseline): every
/// run's summary loaded from the store first.
#[divan::bench(sample_count = 5)]
fn history_first_frame_all_loaded_100k(b: divan::Bencher) {
    let home = store_home();
    let theme = slate::tui::theme::Theme::builtin("default")
        .expect("a built-in theme")
        .expect("it parses");
    b.bench(|| {
        let h = slate::runs::load(home);
        assert_eq!(h.runs.len(), runs());
        let mut app = slate::history::app::App::new(h.runs, theme.clone(), jiff::tz::TimeZone::UTC);
        app.resize(120, 40);
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
        term.draw(|f| slate::history::ui::draw(f, &app)).unwrap();
        term
    });
}

/// A filter typed in the browser at 100,000 runs (`ask::filter_key`).
#[divan::bench(sample_count = 10)]
fn history_filter_100k(b: divan::Bencher) {
    let mut app = ask::filtering(store_home());
    b.bench_local(|| ask::filter_key(&mut app));
}

/// `slate memory -n 10 --release R`: the newest entries of one release.
#[divan::bench(sample_count = 20)]
fn memory_100k(b: divan::Bencher) {
    let home = store_home();
    b.bench(|| ask::memory(home));
}

/// `slate store rebuild` over 10,000 journals.
#[divan::bench(sample_count = 3)]
fn rebuild_10k_journals(b: divan::Bencher) {
    let home = journal_home();
    b.bench(|| {
        let r = slate::store::rebuild(home).unwrap();
        assert_eq!(r.runs, journals());
        r
    });
}
