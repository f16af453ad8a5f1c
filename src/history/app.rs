//! The history browser's state: the runs, the filters, the selection, the
//! dossier viewer and its search. Keys go in and [`Effect`]s come out; the
//! loop does the I/O (reading a dossier, writing an export) and reports back
//! through [`App::dossier_loaded`] and [`App::exported`]. Nothing here
//! touches a terminal or a file, so every behaviour is testable as data.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

use super::keymap::{self, Action, Scope};
use super::ui;
pub use super::viewer::{Dossier, Match, Viewer};
use crate::runs::{Outcome, RunSummary};
use crate::store::{Page, RunPages, RunQuery, StoreError};
use crate::tui::theme::Theme;

/// How long an informational toast stays; errors stay until replaced.
pub const TOAST_SECS: i64 = 8;

/// What the loop must do on the app's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read this run's dossier and hand it to [`App::dossier_loaded`].
    OpenDossier(String),
    /// Write this run's dossier to the current directory; report with [`App::exported`].
    Export(String),
    Quit,
}

/// Which line of text input has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    Filter,
    Search,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

/// The natural widths of the list's variable columns, measured once when
/// the runs are loaded so drawing a frame never walks every run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Widths {
    pub release: usize,
    pub version: usize,
    pub reached: usize,
}

pub struct App {
    /// Where the runs come from, a page at a time (the store, or runs in memory).
    pub source: Box<dyn RunPages>,
    /// Runs in the store, and of those the ones that pass the filters.
    pub total: usize,
    pub matched: usize,
    /// The loaded stretch of the filtered runs, newest first: enough around
    /// the rows in view that scrolling seldom asks the store again.
    pub window: Vec<RunSummary>,
    /// Where `window[0]` is in the filtered list.
    pub window_at: usize,
    /// Index into the filtered list.
    pub selected: usize,
    /// Index into the filtered list of the top visible row.
    pub offset: usize,
    pub filter: String,
    pub outcome: Option<Outcome>,
    pub typing: Option<Typing>,
    pub viewer: Option<Viewer>,
    /// The help overlay is open, scrolled this far.
    pub help: Option<usize>,
    pub toast: Option<Toast>,
    pub theme: Theme,
    pub tz: TimeZone,
    pub size: Rect,
    pub now: Timestamp,
    pub dirty: bool,
    pub widths: Widths,
}

/// Rows loaded beyond the view on either side, and the most the window
/// holds: memory stays the same at 100 runs or 100,000.
const MARGIN: usize = 100;
const MOST: usize = 600;

impl App {
    /// A browser over runs in memory, newest first.
    pub fn new(runs: Vec<RunSummary>, theme: Theme, tz: TimeZone) -> App {
        App::paged(Box::new(runs), theme, tz)
    }

    /// A browser paging runs from `source` (the store).
    pub fn paged(source: Box<dyn RunPages>, theme: Theme, tz: TimeZone) -> App {
        let mut app = App {
            source,
            total: 0,
            matched: 0,
            window: Vec::new(),
            window_at: 0,
            selected: 0,
            offset: 0,
            filter: String::new(),
            outcome: None,
            typing: None,
            viewer: None,
            help: None,
            toast: None,
            theme,
            tz,
            size: Rect::new(0, 0, 80, 24),
            now: Timestamp::UNIX_EPOCH,
            dirty: true,
            widths: Widths::default(),
        };
        match app.source.count(&RunQuery::default()) {
            Ok(n) => app.total = n,
            Err(e) => app.store_failed(e),
        }
        app.refilter();
        app
    }

    /// The runs in view with their places in the filtered list.
    pub fn visible(&self) -> impl Iterator<Item = (usize, &RunSummary)> {
        let rows = self.list_rows();
        (self.offset..(self.offset + rows).min(self.matched))
            .filter_map(|i| self.run_at(i).map(|r| (i, r)))
    }

    /// The loaded runs that pass the filters, from the top of the window.
    pub fn loaded(&self) -> &[RunSummary] {
        &self.window
    }

    fn run_at(&self, i: usize) -> Option<&RunSummary> {
        i.checked_sub(self.window_at)
            .and_then(|j| self.window.get(j))
    }

    pub fn selected_run(&self) -> Option<&RunSummary> {
        self.run_at(self.selected)
    }

    /// The screen keys are looked up for.
    pub fn screen(&self) -> Scope {
        if self.viewer.is_some() {
            Scope::Viewer
        } else {
            Scope::List
        }
    }

    pub fn set_outcome(&mut self, outcome: Option<Outcome>) {
        self.outcome = outcome;
        self.refilter();
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = Rect::new(0, 0, width, height);
        self.follow_selection();
        self.layout_viewer();
        self.dirty = true;
    }

    /// The toast still worth showing.
    pub fn fresh_toast(&self) -> Option<&Toast> {
        self.toast
            .as_ref()
            .filter(|t| t.error || self.now.duration_since(t.at).as_secs() < TOAST_SECS)
    }

    /// The clock moved: a toast that just expired needs a redraw, nothing else does.
    pub fn tick(&mut self, now: Timestamp) {
        let before = self.fresh_toast().is_some();
        self.now = now;
        if before && self.fresh_toast().is_none() {
            self.toast = None;
            self.dirty = true;
        }
    }

    pub fn toast(&mut self, text: impl Into<String>, error: bool) {
        self.toast = Some(Toast {
            text: text.into(),
            error,
            at: self.now,
        });
        self.dirty = true;
    }

    /// The dossier the loop read for `run_id` (markdown and its warning), or why it could not.
    pub fn dossier_loaded(
        &mut self,
        run_id: &str,
        result: Result<(String, Option<String>), String>,
    ) {
        let Some(v) = self.viewer.as_mut().filter(|v| v.run_id == run_id) else {
            // The viewer was closed (or moved on) before the read finished.
            return;
        };
        match result {
            Ok((markdown, warning)) => {
                v.loaded(markdown, warning);
                self.layout_viewer();
            }
            Err(e) => {
                v.dossier = Dossier::Failed(e.clone());
                self.toast(format!("cannot read the dossier: {e}"), true);
            }
        }
        self.dirty = true;
    }

    /// An export finished: where it went (as a person would type the path), or why not.
    pub fn exported(&mut self, result: Result<String, String>) {
        match result {
            Ok(path) => self.toast(format!("exported the dossier to {path}"), false),
            Err(e) => self.toast(format!("cannot export the dossier: {e}"), true),
        }
    }

    /// The mouse wheel: three rows or lines at a time.
    pub fn on_scroll(&mut self, down: bool) {
        let action = if down { Action::Down } else { Action::Up };
        for _ in 0..3 {
            if let Some(h) = self.help.as_mut() {
                *h = if down { *h + 1 } else { h.saturating_sub(1) };
                self.clamp_help();
            } else {
                self.act(action);
            }
        }
        self.dirty = true;
    }

    pub fn on_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && ev.code == KeyCode::Char('c') {
            return vec![Effect::Quit];
        }
        let was_dirty = self.dirty;
        self.dirty = true;
        if self.help.is_some() {
            self.help_key(ev);
            return Vec::new();
        }
        if let Some(typing) = self.typing {
            self.type_key(typing, ev);
            return Vec::new();
        }
        match keymap::lookup(self.screen(), &ev) {
            Some(action) => self.act(action),
            // A key that means nothing here changes nothing to redraw.
            None => {
                self.dirty = was_dirty;
                Vec::new()
            }
        }
    }

    /// Pasted text goes into the line being typed (filter or search), if any;
    /// elsewhere a paste is not keys and does nothing.
    pub fn on_paste(&mut self, text: &str) {
        let Some(typing) = self.typing else {
            return;
        };
        let text = crate::tui::widgets::pasted(text, false);
        match typing {
            Typing::Filter => {
                self.filter.push_str(&text);
                self.refilter();
            }
            Typing::Search => {
                if let Some(v) = self.viewer.as_mut() {
                    v.query.push_str(&text);
                }
                self.research();
            }
        }
        self.dirty = true;
    }

    fn help_key(&mut self, ev: KeyEvent) {
        let h = self.help.get_or_insert(0);
        match ev.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') => self.help = None,
            KeyCode::Down | KeyCode::Char('j') => *h += 1,
            KeyCode::Up | KeyCode::Char('k') => *h = h.saturating_sub(1),
            KeyCode::PageDown => *h += 10,
            KeyCode::PageUp => *h = h.saturating_sub(10),
            _ => {}
        }
        self.clamp_help();
    }

    fn clamp_help(&mut self) {
        let most = ui::help_lines(self)
            .len()
            .saturating_sub(ui::help_rows(self.size));
        if let Some(h) = self.help.as_mut() {
            *h = (*h).min(most);
        }
    }

    fn type_key(&mut self, typing: Typing, ev: KeyEvent) {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let text = match typing {
            Typing::Filter => &mut self.filter,
            Typing::Search => match self.viewer.as_mut() {
                Some(v) => &mut v.query,
                None => {
                    self.typing = None;
                    return;
                }
            },
        };
        match ev.code {
            KeyCode::Enter => {
                self.typing = None;
                if typing == Typing::Search {
                    self.report_no_match();
                }
                return;
            }
            KeyCode::Esc => {
                self.typing = None;
                text.clear();
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char('u') if ctrl => text.clear(),
            KeyCode::Char(c) if !ctrl => text.push(c),
            _ => return,
        }
        match typing {
            Typing::Filter => self.refilter(),
            Typing::Search => self.research(),
        }
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if self.viewer.is_some() {
            return self.act_viewer(action);
        }
        let page = self.list_rows().saturating_sub(1).max(1);
        let last = self.matched.saturating_sub(1);
        match action {
            Action::Up => self.select(self.selected.saturating_sub(1)),
            Action::Down => self.select((self.selected + 1).min(last)),
            Action::PageUp => self.select(self.selected.saturating_sub(page)),
            Action::PageDown => self.select((self.selected + page).min(last)),
            Action::Top => self.select(0),
            Action::Bottom => self.select(last),
            Action::Open => {
                let Some(run) = self.selected_run() else {
                    return Vec::new();
                };
                let id = run.run_id.clone();
                self.viewer = Some(Viewer::new(run));
                return vec![Effect::OpenDossier(id)];
            }
            Action::Export => {
                if let Some(run) = self.selected_run() {
                    return vec![Effect::Export(run.run_id.clone())];
                }
            }
            Action::Filter => self.typing = Some(Typing::Filter),
            Action::CycleOutcome => {
                let all = Outcome::ALL;
                let next = match self.outcome {
                    None => Some(all[0]),
                    Some(o) => all
                        .iter()
                        .position(|x| *x == o)
                        .and_then(|i| all.get(i + 1))
                        .copied(),
                };
                self.set_outcome(next);
            }
            Action::ClearFilters => {
                self.filter.clear();
                self.outcome = None;
                self.refilter();
            }
            Action::Help => self.help = Some(0),
            Action::Quit => return vec![Effect::Quit],
            Action::Search | Action::SearchNext | Action::SearchPrev | Action::Back => {}
        }
        Vec::new()
    }

    fn act_viewer(&mut self, action: Action) -> Vec<Effect> {
        let rows = self.viewer_rows();
        let page = rows.saturating_sub(1).max(1);
        let Some(v) = self.viewer.as_mut() else {
            return Vec::new();
        };
        let most = v.lines.len().saturating_sub(rows);
        match action {
            Action::Up => v.scroll = v.scroll.saturating_sub(1),
            Action::Down => v.scroll = (v.scroll + 1).min(most),
            Action::PageUp => v.scroll = v.scroll.saturating_sub(page),
            Action::PageDown => v.scroll = (v.scroll + page).min(most),
            Action::Top => v.scroll = 0,
            Action::Bottom => v.scroll = most,
            Action::Search => {
                self.typing = Some(Typing::Search);
                v.query.clear();
                v.matches.clear();
                v.current = None;
            }
            Action::SearchNext | Action::SearchPrev => {
                if v.matches.is_empty() {
                    if v.query.is_empty() {
                        let key = keymap::hints(Scope::Viewer)
                            .into_iter()
                            .find(|(_, h)| *h == "search")
                            .map_or_else(|| "/".to_string(), |(k, _)| k);
                        self.toast(format!("press {key} to search the dossier"), false);
                    } else {
                        self.report_no_match();
                    }
                    return Vec::new();
                }
                let n = v.matches.len();
                let at = v.current.unwrap_or(0);
                v.current = Some(match action {
                    Action::SearchNext if v.current.is_some() => (at + 1) % n,
                    Action::SearchNext => 0,
                    _ => (at + n - 1) % n,
                });
                v.reveal_current(rows);
            }
            Action::Back => {
                self.viewer = None;
                self.typing = None;
            }
            Action::Export => return vec![Effect::Export(v.run_id.clone())],
            Action::Help => self.help = Some(0),
            Action::Quit => return vec![Effect::Quit],
            Action::Open | Action::Filter | Action::CycleOutcome | Action::ClearFilters => {}
        }
        Vec::new()
    }

    fn report_no_match(&mut self) {
        if let Some(v) = &self.viewer
            && !v.query.is_empty()
            && v.matches.is_empty()
        {
            let q = v.query.clone();
            self.toast(format!("no match for “{q}”"), false);
        }
    }

    fn select(&mut self, i: usize) {
        self.selected = i.min(self.matched.saturating_sub(1));
        self.follow_selection();
    }

    /// Rows of runs the list shows at the current size.
    pub fn list_rows(&self) -> usize {
        usize::from(ui::areas(self.size).body.height)
    }

    /// Lines of dossier the viewer shows at the current size.
    pub fn viewer_rows(&self) -> usize {
        usize::from(ui::areas(self.size).body.height)
    }

    /// Scrolls the list just enough to keep the selection in view, and
    /// loads what comes into view.
    fn follow_selection(&mut self) {
        let rows = self.list_rows().max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
        self.offset = self.offset.min(self.matched.saturating_sub(rows));
        self.load_view();
    }

    /// The query for the filters as they are, from `page`.
    fn query(&self, page: Page, limit: usize) -> RunQuery {
        RunQuery {
            release: None,
            outcome: self.outcome,
            text: self.filter.clone(),
            page,
            limit: Some(limit),
        }
    }

    /// Makes sure the rows in view (and the selection) are loaded: the
    /// window grows from its ends by keyset pages, or, after a jump, is
    /// read again from the nearer end of the list.
    fn load_view(&mut self) {
        let rows = self.list_rows().max(1);
        let lo = self.offset.min(self.selected);
        let hi = (self.offset + rows)
            .max(self.selected + 1)
            .min(self.matched);
        let end = self.window_at + self.window.len();
        if lo >= hi || (lo >= self.window_at && hi <= end) {
            return;
        }
        let want_lo = lo.saturating_sub(MARGIN);
        let want_hi = (hi + MARGIN).min(self.matched);
        let joined = !self.window.is_empty() && want_lo <= end && want_hi >= self.window_at;
        let got = if joined {
            self.extend(want_lo, want_hi)
        } else {
            self.reload(want_lo, want_hi)
        };
        if let Err(e) = got {
            self.store_failed(e);
        }
        self.trim(want_lo, want_hi);
    }

    /// Reads `lo..hi` afresh: from the newest end, or the oldest when nearer.
    fn reload(&mut self, lo: usize, hi: usize) -> Result<(), StoreError> {
        if lo > self.matched - hi {
            let mut page = self
                .source
                .page(&self.query(Page::Oldest, self.matched - lo))?;
            // The store may hold fewer than counted (runs forgotten meanwhile).
            self.window_at = self.matched.saturating_sub(page.len());
            page.truncate(hi - lo);
            self.window = page;
        } else {
            let mut page = self.source.page(&self.query(Page::Newest, hi))?;
            let skip = lo.min(page.len());
            page.drain(..skip);
            self.window_at = skip;
            self.window = page;
        }
        self.measure(0..self.window.len());
        Ok(())
    }

    /// Grows the window from its ends to cover `lo..hi`.
    fn extend(&mut self, lo: usize, hi: usize) -> Result<(), StoreError> {
        let end = self.window_at + self.window.len();
        if hi > end
            && let Some(last) = self.window.last()
        {
            let page = self
                .source
                .page(&self.query(Page::OlderThan(last.run_id.clone()), hi - end))?;
            let from = self.window.len();
            self.window.extend(page);
            self.measure(from..self.window.len());
        }
        if lo < self.window_at
            && let Some(first) = self.window.first()
        {
            let page = self
                .source
                .page(&self.query(Page::NewerThan(first.run_id.clone()), self.window_at - lo))?;
            let n = page.len();
            self.window.splice(0..0, page);
            self.window_at = self.window_at.saturating_sub(n);
            self.measure(0..n);
        }
        Ok(())
    }

    /// Drops loaded rows far from `lo..hi`, so the window stays small.
    fn trim(&mut self, lo: usize, hi: usize) {
        if self.window.len() <= MOST {
            return;
        }
        let end = self.window_at + self.window.len();
        let keep_lo = lo.clamp(self.window_at, end);
        let keep_hi = hi.clamp(keep_lo, end);
        self.window.truncate(keep_hi - self.window_at);
        self.window.drain(..keep_lo - self.window_at);
        self.window_at = keep_lo;
    }

    /// The list's column widths grow to fit the runs loaded: measured as
    /// they arrive, so drawing a frame never walks every run.
    fn measure(&mut self, range: std::ops::Range<usize>) {
        for r in &self.window[range] {
            let w = &mut self.widths;
            w.release = w.release.max(r.release.width());
            w.version = w.version.max(r.version.width());
            w.reached = w
                .reached
                .max(r.reached.as_deref().map_or(1, UnicodeWidthStr::width));
        }
    }

    fn store_failed(&mut self, e: StoreError) {
        self.toast(format!("cannot read the runs: {e}"), true);
    }

    /// Applies the filters as a query, keeping the selected run selected
    /// when it still shows.
    fn refilter(&mut self) {
        let keep = self.selected_run().map(|r| r.run_id.clone());
        self.window.clear();
        self.window_at = 0;
        self.selected = 0;
        self.offset = 0;
        if let Err(e) = self.find(keep) {
            self.matched = 0;
            self.window.clear();
            self.store_failed(e);
        }
        self.follow_selection();
        self.dirty = true;
    }

    /// Counts the runs the filters pass and, if `keep` is one of them,
    /// loads the window from it and selects it.
    fn find(&mut self, keep: Option<String>) -> Result<(), StoreError> {
        self.matched = if self.filter.is_empty() && self.outcome.is_none() {
            // Every run: counted once, when the browser opened.
            self.total
        } else {
            self.source.count(&self.query(Page::Newest, 0))?
        };
        let Some(id) = keep else {
            return Ok(());
        };
        // The run still shows if it heads the page from it.
        let from = self
            .source
            .page(&self.query(Page::From(id.clone()), MARGIN))?;
        if from.first().is_none_or(|r| r.run_id != id) {
            return Ok(());
        }
        let at = self.source.count(&self.query(Page::NewerThan(id), 0))?;
        self.window_at = at;
        self.window = from;
        self.selected = at;
        self.measure(0..self.window.len());
        Ok(())
    }

    /// Lays the dossier out for the viewer's width, if that changed.
    fn layout_viewer(&mut self) {
        let width = ui::viewer_width(self.size);
        let rows = self.viewer_rows();
        if let Some(v) = self.viewer.as_mut() {
            v.layout(width, rows, &self.theme);
        }
    }

    /// The query changed: search again and go to the first match from the top of the view.
    fn research(&mut self) {
        let rows = self.viewer_rows();
        if let Some(v) = self.viewer.as_mut() {
            v.find(true, rows);
        }
    }
}
