//! The walk over pulldown-cmark's events: blocks become lines, inline text
//! is collected as styled fragments and wrapped when its block ends.
//!
//! Nesting (list items, block quotes) is a stack of containers, each giving
//! a prefix for its first line ("• ", "1. ", "│ ") and one for the lines
//! after it ("  ", "   ", "│ "), which is how wrapped list items keep their
//! hanging indent.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::Styles;
use super::table::{self, Table};
use super::wrap::{Frag, char_width, push, wrap};

const BULLETS: [&str; 3] = ["• ", "◦ ", "▪ "];

struct Container {
    first: Vec<Span<'static>>,
    rest: Vec<Span<'static>>,
    /// Its first line has been written.
    used: bool,
}

struct TableState {
    table: Table,
    in_head: bool,
    row: Vec<Vec<Frag>>,
}

struct Renderer<'s> {
    width: usize,
    st: &'s Styles,
    out: Vec<Line<'static>>,
    containers: Vec<Container>,
    /// Open lists: the next number of an ordered one, `None` for bullets.
    lists: Vec<Option<u64>>,
    quotes: usize,
    heading: Option<usize>,
    /// Inline text of the block being read.
    inline: Vec<Frag>,
    /// Emphasis, strong, link…: patched over the block's base style, in order.
    marks: Vec<Style>,
    /// Open links: their destination and where their text starts in `inline`.
    links: Vec<(String, usize)>,
    code: Option<String>,
    table: Option<TableState>,
    /// The last line written is a separator.
    blank: bool,
}

pub fn render(markdown: &str, width: usize, st: &Styles) -> Vec<Line<'static>> {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut r = Renderer {
        width,
        st,
        out: Vec::new(),
        containers: Vec::new(),
        lists: Vec::new(),
        quotes: 0,
        heading: None,
        inline: Vec::new(),
        marks: Vec::new(),
        links: Vec::new(),
        code: None,
        table: None,
        blank: false,
    };
    for ev in Parser::new_ext(markdown, opts) {
        r.event(ev);
    }
    r.flush();
    r.out
}

impl Renderer<'_> {
    fn base(&self) -> Style {
        if let Some(level) = self.heading {
            self.st.heading(level)
        } else if self.table.as_ref().is_some_and(|t| t.in_head) {
            self.st.table_header
        } else if self.quotes > 0 {
            self.st.quote
        } else {
            self.st.text
        }
    }

    fn style(&self) -> Style {
        self.marks.iter().fold(self.base(), |acc, m| acc.patch(*m))
    }

    fn text(&mut self, text: &str, style: Style) {
        match self.inline.last_mut() {
            Some((t, s)) if *s == style => t.push_str(text),
            _ => self.inline.push((text.to_string(), style)),
        }
    }

    fn prefix_width(&self) -> usize {
        self.containers
            .iter()
            .map(|c| {
                let spans = if c.used { &c.rest } else { &c.first };
                spans.iter().map(|s| s.content.width()).sum::<usize>()
            })
            .sum()
    }

    /// Room for content after the prefixes (at least one column).
    fn room(&self) -> usize {
        self.width.saturating_sub(self.prefix_width()).max(1)
    }

    /// Writes one line behind the containers' prefixes.
    fn emit(&mut self, content: Vec<Span<'static>>) {
        let mut spans: Vec<Span<'static>> = Vec::new();
        for c in &mut self.containers {
            let p = if c.used { &c.rest } else { &c.first };
            for s in p {
                push(&mut spans, &s.content, s.style);
            }
            c.used = true;
        }
        for s in content {
            push(&mut spans, &s.content, s.style);
        }
        self.out.push(Line::from(spans));
        self.blank = false;
    }

    /// Wraps and writes the inline text collected so far.
    fn flush(&mut self) {
        if self.inline.iter().all(|(t, _)| t.trim().is_empty()) {
            self.inline.clear();
            return;
        }
        let frags = std::mem::take(&mut self.inline);
        for line in wrap(&frags, self.room()) {
            self.emit(line);
        }
    }

    /// A blank line between blocks; list items stay compact, as in a terminal they read better so.
    fn separate(&mut self) {
        self.flush();
        if !self.lists.is_empty() || self.out.is_empty() || self.blank {
            return;
        }
        self.emit(Vec::new());
        self.blank = true;
    }

    fn event(&mut self, ev: Event) {
        if let Some(code) = self.code.as_mut() {
            match ev {
                Event::Text(t) => code.push_str(&t),
                Event::End(TagEnd::CodeBlock) => self.end_code(),
                _ => {}
            }
            return;
        }
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t, self.style()),
            Event::Code(t) => self.text(&t, self.style().patch(self.st.code)),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, self.style()),
            Event::SoftBreak => self.text(" ", self.style()),
            Event::HardBreak => self.text("\n", self.style()),
            Event::Rule => {
                self.separate();
                let line = "─".repeat(self.room());
                self.emit(vec![Span::styled(line, self.st.border)]);
            }
            Event::TaskListMarker(done) => {
                let mark = if done { "[x] " } else { "[ ] " };
                self.text(mark, self.st.marker);
            }
            Event::FootnoteReference(label) => {
                self.text(&format!("[^{label}]"), self.st.muted);
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                // Comments are notes to whoever edits the file, not to the reader.
                if !h.trim_start().starts_with("<!--") {
                    self.text(h.trim_end_matches('\n'), self.st.muted);
                }
            }
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Paragraph => self.separate(),
            Tag::Heading { level, .. } => {
                self.separate();
                self.heading = Some(heading_level(level));
            }
            Tag::BlockQuote(_) => {
                self.separate();
                self.quotes += 1;
                let bar = vec![Span::styled("│ ", self.st.quote_bar)];
                self.containers.push(Container {
                    first: bar.clone(),
                    rest: bar,
                    used: false,
                });
            }
            Tag::CodeBlock(kind) => {
                self.separate();
                if let CodeBlockKind::Fenced(lang) = kind
                    && !lang.trim().is_empty()
                {
                    let label = lang.split_whitespace().next().unwrap_or("").to_string();
                    self.emit(vec![Span::styled(label, self.st.muted)]);
                }
                self.code = Some(String::new());
            }
            Tag::List(start) => {
                // Text of the item this list is nested in comes first.
                self.separate();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => BULLETS[depth.min(BULLETS.len() - 1)].to_string(),
                };
                let indent = " ".repeat(marker.width());
                self.containers.push(Container {
                    first: vec![Span::styled(marker, self.st.marker)],
                    rest: vec![Span::raw(indent)],
                    used: false,
                });
            }
            Tag::Table(aligns) => {
                self.separate();
                self.table = Some(TableState {
                    table: Table {
                        aligns,
                        ..Table::default()
                    },
                    in_head: false,
                    row: Vec::new(),
                });
            }
            Tag::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.in_head = true;
                    t.row.clear();
                }
            }
            Tag::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    t.row.clear();
                }
            }
            Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.marks.push(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.marks.push(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self
                .marks
                .push(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.marks.push(self.st.link);
                self.links.push((dest_url.to_string(), self.inline.len()));
            }
            Tag::Image { dest_url, .. } => {
                self.text("[image: ", self.st.muted);
                self.marks.push(self.st.muted);
                self.links.push((dest_url.to_string(), self.inline.len()));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.flush(),
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quotes = self.quotes.saturating_sub(1);
                self.containers.pop();
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::Item => {
                self.flush();
                // An empty item still shows its marker.
                if self.containers.last().is_some_and(|c| !c.used) {
                    self.emit(Vec::new());
                }
                self.containers.pop();
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline);
                if let Some(t) = self.table.as_mut() {
                    t.row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.table.head = std::mem::take(&mut t.row);
                    t.in_head = false;
                }
            }
            TagEnd::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    let row = std::mem::take(&mut t.row);
                    t.table.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    for line in table::render(&t.table, self.room(), self.st) {
                        self.emit(line);
                    }
                }
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.marks.pop();
            }
            TagEnd::Link => {
                self.marks.pop();
                if let Some((dest, from)) = self.links.pop() {
                    let label: String = self.inline[from.min(self.inline.len())..]
                        .iter()
                        .map(|(t, _)| t.as_str())
                        .collect();
                    // An autolink already shows its address; an anchor has none worth showing.
                    let same =
                        label == dest || Some(label.as_str()) == dest.strip_prefix("mailto:");
                    if !same && !dest.is_empty() && !dest.starts_with('#') {
                        self.text(" ", self.style());
                        self.text(&format!("<{dest}>"), self.st.url);
                    }
                }
            }
            TagEnd::Image => {
                self.marks.pop();
                if let Some((dest, _)) = self.links.pop() {
                    self.text("]", self.st.muted);
                    if !dest.is_empty() {
                        self.text(&format!(" <{dest}>"), self.st.url);
                    }
                }
            }
            _ => {}
        }
    }

    /// A fenced or indented code block: verbatim, one line per line,
    /// broken (never wrapped at words) when wider than the room, and shaded
    /// to the full width so it reads as one block.
    fn end_code(&mut self) {
        let code = self.code.take().unwrap_or_default();
        let room = self.room();
        let inner = room.saturating_sub(2).max(1);
        let style = self.st.code;
        for src in code.trim_end_matches('\n').split('\n') {
            let src = src.replace('\t', "    ");
            let mut pieces: Vec<String> = vec![String::new()];
            let mut col = 0;
            for c in src.chars() {
                let cw = char_width(c);
                if col + cw > inner && col > 0 {
                    pieces.push(String::new());
                    col = 0;
                }
                pieces.last_mut().expect("never empty").push(c);
                col += cw;
            }
            for p in pieces {
                let pad = inner.saturating_sub(p.width());
                let text = format!(" {p}{} ", " ".repeat(pad));
                self.emit(vec![Span::styled(text, style)]);
            }
        }
    }
}

fn heading_level(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
