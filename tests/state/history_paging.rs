//! The history browser paging from a real store (SQLite in a temporary
//! directory) of a few thousand runs, driven by keys: the selection moving
//! across page boundaries, jumps to either end, filters as store queries.
//! The reference is the same browser over the same runs held in memory
//! (which the earlier tests pin down): both must show the same thing after
//! every key, while the store-backed one holds only a window of runs.

use jiff::tz::TimeZone;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use slate::history::app::App;
use slate::runs::{Outcome, RunSummary};
use slate::store::sqlite::SqliteStore;
use slate::store::{RunRecord, Store};
use slate::tui::theme::Theme;

const RUNS: usize = 2_500;

fn run(i: usize) -> RunSummary {
    let outcomes = [Outcome::Released, Outcome::RolledBack, Outcome::Failed];
    RunSummary {
        run_id: format!("20260101-{:06}.000-{i:04x}", i),
        release: format!("service-{}", i % 7),
        version: format!("1.{i}.0"),
        previous_version: "1.0.0".into(),
        owner: "payments".into(),
        started_by: "erin".into(),
        started: Some("2026-11-22T14:03:00Z".parse().unwrap()),
        finished: None,
        duration_ms: Some(1000),
        reached: Some("prod".into()),
        outcome: outcomes[i % 3],
        approvers: vec!["alice".into()],
        // Every 50th has a wildcard in its message, to be found as typed.
        message: if i.is_multiple_of(50) {
            "100% done_ok".into()
        } else {
            "released".into()
        },
        memory: String::new(),
        pid: 0,
    }
}

/// The runs newest first, and a store holding them.
fn fixture() -> (Vec<RunSummary>, Box<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().unwrap();
    let (store, _) = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    let mut runs: Vec<RunSummary> = (0..RUNS).map(run).collect();
    let records: Vec<RunRecord> = runs
        .iter()
        .map(|s| RunRecord {
            summary: s.clone(),
            last_seq: 1,
            deployments: Vec::new(),
            pins: Vec::new(),
            engine_alive: false,
        })
        .collect();
    store.replace_all(&records, jiff::Timestamp::now()).unwrap();
    runs.reverse();
    (runs, Box::new(store), dir)
}

fn app(source: Box<dyn slate::store::RunPages>) -> App {
    let mut a = App::paged(
        source,
        Theme::builtin("default").unwrap().unwrap(),
        TimeZone::UTC,
    );
    a.resize(100, 30);
    a
}

/// The two browsers, fed the same keys.
struct Pair {
    paged: App,
    memory: App,
    _dir: tempfile::TempDir,
}

impl Pair {
    fn new() -> Pair {
        let (runs, store, dir) = fixture();
        Pair {
            paged: app(Box::new(store)),
            memory: app(Box::new(runs)),
            _dir: dir,
        }
    }

    fn key(&mut self, code: KeyCode, times: usize) {
        for n in 0..times {
            let ev = KeyEvent::new(code, KeyModifiers::NONE);
            self.paged.on_key(ev);
            self.memory.on_key(ev);
            self.same(&format!("after {code:?} × {}", n + 1));
        }
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c), 1);
        }
    }

    /// Same selection, same rows in view, same counts; a bounded window.
    fn same(&self, when: &str) {
        let (p, m) = (&self.paged, &self.memory);
        assert_eq!(
            (p.matched, p.total, p.selected, p.offset),
            (m.matched, m.total, m.selected, m.offset),
            "{when}"
        );
        assert_eq!(
            p.selected_run().map(|r| &r.run_id),
            m.selected_run().map(|r| &r.run_id),
            "{when}"
        );
        let rows =
            |a: &App| -> Vec<String> { a.visible().map(|(_, r)| r.run_id.clone()).collect() };
        assert_eq!(rows(p), rows(m), "{when}");
        assert_eq!(
            rows(p).len(),
            p.list_rows().min(p.matched),
            "{when}: rows missing"
        );
        assert!(
            p.loaded().len() <= 1_000,
            "{when}: {} runs held",
            p.loaded().len()
        );
        assert!(p.toast.is_none(), "{when}: {:?}", p.toast);
    }
}

#[test]
fn the_selection_moves_across_page_boundaries_as_in_memory() {
    let mut t = Pair::new();
    assert_eq!(t.paged.total, RUNS);
    t.key(KeyCode::Char('j'), 260);
    t.key(KeyCode::PageDown, 40);
    t.key(KeyCode::Char('k'), 130);
    t.key(KeyCode::PageUp, 45);
    assert_eq!(t.paged.selected, 0, "back at the top");
    // The mouse wheel, three at a time, past the first window.
    for _ in 0..120 {
        t.paged.on_scroll(true);
        t.memory.on_scroll(true);
    }
    t.same("after the wheel");
    assert_eq!(t.paged.selected, 360);
}

#[test]
fn the_ends_of_the_list_are_one_key_away() {
    let mut t = Pair::new();
    t.key(KeyCode::Char('G'), 1);
    assert_eq!(t.paged.selected, RUNS - 1);
    assert_eq!(
        t.paged.selected_run().unwrap().run_id,
        run(0).run_id,
        "the end is the oldest run"
    );
    t.key(KeyCode::Char('k'), 150);
    t.key(KeyCode::PageDown, 10);
    t.key(KeyCode::Char('g'), 1);
    assert_eq!(t.paged.selected_run().unwrap().run_id, run(RUNS - 1).run_id);
    t.key(KeyCode::End, 1);
    t.key(KeyCode::Home, 1);
}

#[test]
fn filters_are_store_queries_and_keep_the_selection() {
    let mut t = Pair::new();
    t.key(KeyCode::Char('j'), 3);
    let kept = t.paged.selected_run().unwrap().run_id.clone();
    let release = t.paged.selected_run().unwrap().release.clone();
    t.key(KeyCode::Char('/'), 1);
    t.typed(&release);
    assert_eq!(
        t.paged.selected_run().unwrap().run_id,
        kept,
        "still selected"
    );
    assert!(t.paged.matched < RUNS && t.paged.matched > 300);
    t.key(KeyCode::Enter, 1);
    t.key(KeyCode::Char('G'), 1);
    t.key(KeyCode::PageUp, 30);
    // The outcome filter on top, then clearing both.
    t.key(KeyCode::Char('o'), 2);
    assert_eq!(t.paged.outcome, Some(Outcome::RolledBack));
    t.key(KeyCode::Char('j'), 120);
    t.key(KeyCode::Esc, 1);
    assert_eq!(t.paged.matched, RUNS);
}

#[test]
fn wildcards_in_the_filter_are_text() {
    let mut t = Pair::new();
    t.key(KeyCode::Char('/'), 1);
    t.typed("0% done_");
    assert_eq!(t.paged.matched, RUNS / 50);
    t.key(KeyCode::Char('G'), 1);
    // `_` and `%` alone match only runs that hold them.
    t.key(KeyCode::Esc, 1);
    t.key(KeyCode::Char('/'), 1);
    t.typed("_");
    assert_eq!(t.paged.matched, RUNS / 50);
    t.key(KeyCode::Backspace, 1);
    t.typed("nothing like this");
    assert_eq!(t.paged.matched, 0);
    assert_eq!(t.paged.selected_run(), None);
}
