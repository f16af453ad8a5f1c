//! The history browser's state, driven by keys like a person would, with
//! no terminal: filters, selection, the dossier viewer and its search,
//! exports and help. The loop's I/O is stood in for by calling
//! `dossier_loaded` / `exported` with what it would have read or written.

use jiff::tz::TimeZone;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use slate::history::app::{App, Dossier, Effect, Typing};
use slate::runs::{Outcome, RunSummary};
use slate::tui::theme::Theme;

fn run(id: &str, release: &str, version: &str, outcome: Outcome, approvers: &[&str]) -> RunSummary {
    RunSummary {
        run_id: id.to_string(),
        release: release.to_string(),
        version: version.to_string(),
        previous_version: "0.0.1".to_string(),
        owner: "release-manager".to_string(),
        started_by: "erin".to_string(),
        started: Some("2026-11-22T14:03:00Z".parse().unwrap()),
        finished: Some("2026-11-22T14:10:00Z".parse().unwrap()),
        duration_ms: Some(420_000),
        reached: Some("prod".to_string()),
        outcome,
        approvers: approvers.iter().map(|s| s.to_string()).collect(),
        message: format!("{release} {version} {}", outcome.word()),
        memory: String::new(),
        pid: 0,
    }
}

/// Five runs, newest first, with different releases and outcomes.
fn runs() -> Vec<RunSummary> {
    vec![
        run(
            "r5",
            "checkout",
            "2.4.0",
            Outcome::Released,
            &["alice", "bob"],
        ),
        run("r4", "payments", "7.1.0", Outcome::RolledBack, &["carol"]),
        run("r3", "checkout", "2.3.9", Outcome::Failed, &[]),
        run("r2", "search", "1.0.0", Outcome::Released, &["alice"]),
        run("r1", "payments", "7.0.0", Outcome::Rejected, &[]),
    ]
}

fn app_with(runs: Vec<RunSummary>) -> App {
    let mut app = App::new(
        runs,
        Theme::builtin("default").unwrap().unwrap(),
        TimeZone::UTC,
    );
    app.resize(100, 30);
    app.now = "2026-11-23T09:00:00Z".parse().unwrap();
    app
}

fn app() -> App {
    app_with(runs())
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut App, c: char) -> Vec<Effect> {
    app.on_key(key(KeyCode::Char(c)))
}

fn press_code(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.on_key(key(code))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        assert_eq!(press(app, c), [], "typing {c:?} asks for nothing");
    }
}

fn shown_ids(app: &App) -> Vec<&str> {
    assert_eq!(app.loaded().len(), app.matched, "a few runs are all loaded");
    app.loaded().iter().map(|r| r.run_id.as_str()).collect()
}

fn selected(app: &App) -> &str {
    app.selected_run().map_or("", |r| r.run_id.as_str())
}

const DOSSIER: &str = "# Deployment dossier: checkout 2.4.0

## Release Summary

checkout 2.4.0 went to dev, staging and prod.

## Environment Matrix

| env | status | approvers |
|-----|--------|-----------|
| dev | healthy | — |
| staging | healthy | alice |
| prod | healthy | alice, bob |

## Deployment Plan

1. build
2. deploy to prod with a canary
3. smoke

## Memory Entry

checkout 2.4.0 released to prod.
";

/// Opens the selected run's dossier and hands the viewer `markdown`, as the loop would.
fn open(app: &mut App, markdown: &str) -> String {
    let effects = press_code(app, KeyCode::Enter);
    let [Effect::OpenDossier(id)] = effects.as_slice() else {
        panic!("Enter should ask for the dossier, got {effects:?}");
    };
    assert_eq!(app.viewer.as_ref().unwrap().dossier, Dossier::Loading);
    app.dossier_loaded(id, Ok((markdown.to_string(), None)));
    id.clone()
}

fn viewer_line(app: &App, i: usize) -> String {
    slate::markdown::plain(&app.viewer.as_ref().unwrap().lines[i])
}

// ---------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------

#[test]
fn the_list_starts_at_the_newest_run_and_moves_within_bounds() {
    let mut a = app();
    assert_eq!(shown_ids(&a), ["r5", "r4", "r3", "r2", "r1"]);
    assert_eq!(selected(&a), "r5");
    press_code(&mut a, KeyCode::Up);
    assert_eq!(selected(&a), "r5", "up at the top stays");
    press(&mut a, 'j');
    press_code(&mut a, KeyCode::Down);
    assert_eq!(selected(&a), "r3");
    press(&mut a, 'k');
    assert_eq!(selected(&a), "r4");
    press(&mut a, 'G');
    assert_eq!(selected(&a), "r1");
    press(&mut a, 'j');
    assert_eq!(selected(&a), "r1", "down at the bottom stays");
    press_code(&mut a, KeyCode::Home);
    assert_eq!(selected(&a), "r5");
    press_code(&mut a, KeyCode::End);
    assert_eq!(selected(&a), "r1");
    press(&mut a, 'g');
    assert_eq!(selected(&a), "r5");
}

#[test]
fn pages_move_by_a_screen_and_the_view_follows_the_selection() {
    let many: Vec<RunSummary> = (0..100)
        .map(|i| {
            run(
                &format!("r{:03}", 999 - i),
                "svc",
                "1.0.0",
                Outcome::Released,
                &[],
            )
        })
        .collect();
    let mut a = app_with(many);
    a.resize(100, 13); // 10 rows of runs
    let rows = a.list_rows();
    assert_eq!(rows, 10);
    press_code(&mut a, KeyCode::PageDown);
    assert_eq!(a.selected, rows - 1);
    assert_eq!(a.offset, 0, "the selection is still on the first screen");
    press_code(&mut a, KeyCode::PageDown);
    assert_eq!(a.selected, 2 * (rows - 1));
    assert!(a.selected >= a.offset && a.selected < a.offset + rows);
    press(&mut a, 'G');
    assert_eq!(a.selected, 99);
    assert_eq!(a.offset, 90, "the last screen is full");
    press_code(&mut a, KeyCode::PageUp);
    assert_eq!(a.selected, 99 - (rows - 1));
    press_code(&mut a, KeyCode::PageUp);
    press_code(&mut a, KeyCode::PageUp);
    press(&mut a, 'g');
    assert_eq!((a.selected, a.offset), (0, 0));
    // A taller terminal shows more and never leaves the view past the end.
    press(&mut a, 'G');
    a.resize(100, 60);
    assert_eq!(a.offset, 100 - a.list_rows());
}

#[test]
fn a_text_filter_is_typed_after_slash_and_kept_with_enter() {
    let mut a = app();
    press(&mut a, '/');
    assert_eq!(a.typing, Some(Typing::Filter));
    type_text(&mut a, "check");
    assert_eq!(shown_ids(&a), ["r5", "r3"], "filters as you type");
    press_code(&mut a, KeyCode::Backspace);
    assert_eq!(a.filter, "chec");
    press_code(&mut a, KeyCode::Enter);
    assert_eq!(a.typing, None);
    assert_eq!(a.filter, "chec", "Enter keeps the filter");
    // Keys are keys again: j moves instead of typing.
    press(&mut a, 'j');
    assert_eq!(selected(&a), "r3");
    assert_eq!(a.filter, "chec");
    // The filter matches approvers and outcomes too.
    press(&mut a, '/');
    ctrl(&mut a, 'u');
    type_text(&mut a, "ALICE");
    assert_eq!(shown_ids(&a), ["r5", "r2"], "case does not matter");
    // Esc while typing drops the filter.
    press_code(&mut a, KeyCode::Esc);
    assert_eq!((a.typing, a.filter.as_str()), (None, ""));
    assert_eq!(shown_ids(&a).len(), 5);
}

#[test]
fn the_selected_run_stays_selected_while_it_still_shows() {
    let mut a = app();
    press(&mut a, 'j');
    press(&mut a, 'j'); // r3 checkout failed
    press(&mut a, '/');
    type_text(&mut a, "checkout");
    assert_eq!(selected(&a), "r3");
    type_text(&mut a, " nothing");
    assert_eq!(a.matched, 0);
    assert_eq!(a.selected_run(), None);
    assert_eq!(press_code(&mut a, KeyCode::Enter), []);
    press(&mut a, 'j');
    assert_eq!(
        press(&mut a, 'e'),
        [],
        "nothing to export from an empty list"
    );
}

#[test]
fn o_cycles_the_outcome_filter_through_every_outcome_and_back() {
    let mut a = app();
    let mut seen = Vec::new();
    for _ in 0..Outcome::ALL.len() {
        press(&mut a, 'o');
        seen.push(a.outcome.expect("a filter is set"));
        assert!(a.loaded().iter().all(|r| Some(r.outcome) == a.outcome));
    }
    assert_eq!(seen, Outcome::ALL);
    press(&mut a, 'o');
    assert_eq!(a.outcome, None, "after the last outcome, all runs again");
    assert_eq!(shown_ids(&a).len(), 5);

    press(&mut a, 'o'); // released
    assert_eq!(shown_ids(&a), ["r5", "r2"]);
    press(&mut a, '/');
    type_text(&mut a, "search");
    press_code(&mut a, KeyCode::Enter);
    assert_eq!(shown_ids(&a), ["r2"], "both filters apply");
    // Esc on the list clears both.
    press_code(&mut a, KeyCode::Esc);
    assert_eq!((a.outcome, a.filter.as_str()), (None, ""));
    assert_eq!(shown_ids(&a).len(), 5);
}

#[test]
fn an_outcome_given_on_the_command_line_is_the_starting_filter() {
    let mut a = app();
    a.set_outcome(Some(Outcome::RolledBack));
    assert_eq!(shown_ids(&a), ["r4"]);
    press(&mut a, 'o');
    assert_eq!(
        a.outcome,
        Some(Outcome::Rejected),
        "cycling goes on from there"
    );
}

// ---------------------------------------------------------------------------
// Effects: open, export, quit
// ---------------------------------------------------------------------------

#[test]
fn enter_opens_the_selected_runs_dossier() {
    let mut a = app();
    press(&mut a, 'j');
    assert_eq!(
        press_code(&mut a, KeyCode::Enter),
        [Effect::OpenDossier("r4".into())]
    );
    let v = a.viewer.as_ref().unwrap();
    assert_eq!(v.run_id, "r4");
    assert!(v.title.contains("payments 7.1.0"), "{}", v.title);
    assert!(v.title.contains("rolled back"), "{}", v.title);
    // A dossier for another run (the viewer moved on) is ignored.
    a.dossier_loaded("r5", Ok(("# nope".into(), None)));
    assert_eq!(a.viewer.as_ref().unwrap().dossier, Dossier::Loading);
    a.dossier_loaded(
        "r4",
        Ok((DOSSIER.into(), Some("skipped a torn line".into()))),
    );
    let v = a.viewer.as_ref().unwrap();
    assert_eq!(
        v.dossier,
        Dossier::Ready {
            warning: Some("skipped a torn line".into())
        }
    );
    assert_eq!(viewer_line(&a, 0), "Deployment dossier: checkout 2.4.0");
}

#[test]
fn a_dossier_that_cannot_be_read_says_why() {
    let mut a = app();
    press_code(&mut a, KeyCode::Enter);
    a.dossier_loaded("r5", Err("no journal".into()));
    assert_eq!(
        a.viewer.as_ref().unwrap().dossier,
        Dossier::Failed("no journal".into())
    );
    let toast = a.fresh_toast().unwrap();
    assert!(
        toast.error && toast.text.contains("no journal"),
        "{toast:?}"
    );
}

#[test]
fn e_exports_the_selected_run_from_the_list_and_the_viewer() {
    let mut a = app();
    press(&mut a, 'j');
    assert_eq!(press(&mut a, 'e'), [Effect::Export("r4".into())]);
    a.exported(Ok("./dossier-r4.md".into()));
    let toast = a.fresh_toast().unwrap();
    assert!(!toast.error);
    assert!(toast.text.contains("./dossier-r4.md"), "{toast:?}");

    press(&mut a, 'j');
    open(&mut a, DOSSIER);
    assert_eq!(press(&mut a, 'e'), [Effect::Export("r3".into())]);
    a.exported(Err("read-only file system".into()));
    let toast = a.fresh_toast().unwrap();
    assert!(toast.error && toast.text.contains("read-only"), "{toast:?}");
}

#[test]
fn q_quits_from_the_list_but_goes_back_from_the_viewer() {
    let mut a = app();
    open(&mut a, DOSSIER);
    assert_eq!(press(&mut a, 'q'), []);
    assert!(a.viewer.is_none(), "q went back to the list");
    open(&mut a, DOSSIER);
    assert_eq!(press_code(&mut a, KeyCode::Esc), []);
    assert!(a.viewer.is_none(), "Esc went back to the list");
    assert_eq!(press(&mut a, 'q'), [Effect::Quit]);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut a = app();
    press(&mut a, '/');
    assert_eq!(ctrl(&mut a, 'c'), [Effect::Quit], "while typing a filter");
    let mut a = app();
    open(&mut a, DOSSIER);
    press(&mut a, '?');
    assert_eq!(
        ctrl(&mut a, 'c'),
        [Effect::Quit],
        "with help open in the viewer"
    );
}

// ---------------------------------------------------------------------------
// The viewer
// ---------------------------------------------------------------------------

#[test]
fn the_viewer_scrolls_within_the_dossier() {
    let mut a = app();
    a.resize(100, 10); // 7 lines of dossier
    open(&mut a, DOSSIER);
    let total = a.viewer.as_ref().unwrap().lines.len();
    let rows = a.viewer_rows();
    assert!(
        total > 2 * rows,
        "the sample is longer than two screens: {total}"
    );
    let scroll = |a: &App| a.viewer.as_ref().unwrap().scroll;
    press(&mut a, 'k');
    assert_eq!(scroll(&a), 0);
    press(&mut a, 'j');
    press_code(&mut a, KeyCode::Down);
    assert_eq!(scroll(&a), 2);
    press_code(&mut a, KeyCode::PageDown);
    assert_eq!(scroll(&a), 2 + rows - 1);
    press(&mut a, 'G');
    assert_eq!(scroll(&a), total - rows, "the last line ends the screen");
    press(&mut a, 'j');
    assert_eq!(scroll(&a), total - rows, "no scrolling past the end");
    press_code(&mut a, KeyCode::PageUp);
    assert_eq!(scroll(&a), total - rows - (rows - 1));
    press(&mut a, 'g');
    assert_eq!(scroll(&a), 0);
}

#[test]
fn search_finds_every_match_and_n_and_shift_n_walk_them() {
    let mut a = app();
    a.resize(100, 10);
    open(&mut a, DOSSIER);
    press(&mut a, '/');
    assert_eq!(a.typing, Some(Typing::Search));
    type_text(&mut a, "PROD");
    let v = a.viewer.as_ref().unwrap();
    // "prod" in the summary, the table, the plan and the memory entry.
    assert_eq!(v.matches.len(), 4, "{:?}", v.matches);
    assert_eq!(v.current, Some(0));
    let first = v.matches[0].line;
    assert!(viewer_line(&a, first).to_lowercase().contains("prod"));
    assert!(
        (v.scroll..v.scroll + a.viewer_rows()).contains(&first),
        "the first match is in view"
    );
    press_code(&mut a, KeyCode::Enter);
    assert_eq!(a.typing, None);

    let current = |a: &App| a.viewer.as_ref().unwrap().current;
    let in_view = |a: &App| {
        let v = a.viewer.as_ref().unwrap();
        let line = v.current_line().unwrap();
        (v.scroll..v.scroll + a.viewer_rows()).contains(&line)
    };
    press(&mut a, 'n');
    assert_eq!(current(&a), Some(1));
    press(&mut a, 'n');
    press(&mut a, 'n');
    assert_eq!(current(&a), Some(3));
    assert!(in_view(&a), "n scrolls to the match");
    press(&mut a, 'n');
    assert_eq!(current(&a), Some(0), "n wraps to the first match");
    assert!(in_view(&a));
    press(&mut a, 'N');
    assert_eq!(current(&a), Some(3), "N wraps to the last match");
    press(&mut a, 'N');
    assert_eq!(current(&a), Some(2));
    assert!(in_view(&a));
}

#[test]
fn a_search_starts_from_the_top_of_the_view() {
    let mut a = app();
    a.resize(100, 10);
    open(&mut a, DOSSIER);
    press(&mut a, 'G');
    press(&mut a, '/');
    type_text(&mut a, "checkout");
    let v = a.viewer.as_ref().unwrap();
    let cur = v.matches[v.current.unwrap()];
    assert!(
        cur.line > 0,
        "not the title's match, the one below the view's top"
    );
}

#[test]
fn esc_while_searching_clears_the_search_and_misses_are_reported() {
    let mut a = app();
    open(&mut a, DOSSIER);
    press(&mut a, 'n');
    assert!(
        a.fresh_toast().unwrap().text.contains("to search"),
        "n before any search says how to search"
    );
    press(&mut a, '/');
    type_text(&mut a, "zebra");
    assert!(a.viewer.as_ref().unwrap().matches.is_empty());
    press_code(&mut a, KeyCode::Enter);
    assert!(
        a.fresh_toast()
            .unwrap()
            .text
            .contains("no match for “zebra”")
    );
    press(&mut a, '/');
    type_text(&mut a, "alice");
    assert_eq!(a.viewer.as_ref().unwrap().matches.len(), 2);
    press_code(&mut a, KeyCode::Esc);
    let v = a.viewer.as_ref().unwrap();
    assert_eq!((v.query.as_str(), v.matches.len()), ("", 0));
    assert!(a.viewer.is_some(), "Esc while typing stays in the viewer");
}

#[test]
fn a_resize_lays_the_dossier_out_again_and_keeps_the_search() {
    let mut a = app();
    a.resize(120, 30);
    let long = format!("{}\n\nprod at the end\n", "word ".repeat(200));
    open(&mut a, &long);
    let wide = a.viewer.as_ref().unwrap().lines.len();
    press(&mut a, '/');
    type_text(&mut a, "prod");
    press_code(&mut a, KeyCode::Enter);
    a.resize(40, 30);
    let v = a.viewer.as_ref().unwrap();
    assert!(v.lines.len() > wide, "narrower means more lines");
    assert_eq!(v.matches.len(), 1);
    assert_eq!(
        slate::markdown::plain(&v.lines[v.matches[0].line]),
        "prod at the end"
    );
}

// ---------------------------------------------------------------------------
// Help, toasts, redraws
// ---------------------------------------------------------------------------

#[test]
fn help_opens_with_a_question_mark_and_holds_the_keys_until_closed() {
    let mut a = app();
    press(&mut a, '?');
    assert_eq!(a.help, Some(0));
    press(&mut a, 'o');
    assert_eq!(a.outcome, None, "keys do not act behind the help");
    assert_eq!(press(&mut a, 'q'), [], "q closes help instead of quitting");
    assert_eq!(a.help, None);
    press(&mut a, '?');
    press_code(&mut a, KeyCode::Esc);
    assert_eq!(a.help, None);
    open(&mut a, DOSSIER);
    press(&mut a, '?');
    press(&mut a, '?');
    assert_eq!(a.help, None, "? toggles");
    assert!(a.viewer.is_some(), "closing help leaves the viewer open");
}

#[test]
fn toasts_expire_and_ask_for_one_redraw() {
    let mut a = app();
    a.exported(Ok("./dossier-r5.md".into()));
    a.dirty = false;
    let at = a.now;
    a.tick(at.checked_add(jiff::SignedDuration::from_secs(3)).unwrap());
    assert!(a.fresh_toast().is_some());
    assert!(!a.dirty, "a tick that changes nothing does not redraw");
    a.tick(at.checked_add(jiff::SignedDuration::from_secs(30)).unwrap());
    assert!(a.fresh_toast().is_none());
    assert!(a.dirty, "the toast's expiry is redrawn");
    // Errors stay until replaced.
    a.exported(Err("disk full".into()));
    a.tick(
        at.checked_add(jiff::SignedDuration::from_secs(3600))
            .unwrap(),
    );
    assert!(a.fresh_toast().unwrap().error);
}

#[test]
fn keys_that_mean_nothing_do_not_redraw() {
    let mut a = app();
    a.dirty = false;
    press(&mut a, 'z');
    assert!(!a.dirty);
    press(&mut a, 'j');
    assert!(a.dirty);
}
