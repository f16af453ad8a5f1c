//! The review form's state: six text fields, which one has focus, and what a
//! key does. Pure: keys go in, an outcome comes out; saving is the caller's.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::dossier::memory::{MAX_WORDS, word_count};
use crate::engine::event::Review;

/// The fields in the order Tab visits them, with their titles and hints.
pub const FIELDS: [(&str, &str); 6] = [
    ("What went well", "what worked and should be kept"),
    ("What failed", "what broke, surprised or slowed the release"),
    (
        "What to improve",
        "changes to the plan, the tooling or the process",
    ),
    ("Follow-ups", "one per line: owner, action, due date"),
    ("Incident tickets", "one per line: INC-1234 …"),
    ("Memory entry", "leave empty to keep the generated entry"),
];
pub const MEMORY: usize = 5;

/// What the key asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Nothing,
    Save(Review),
    Quit,
}

pub struct Form {
    pub fields: Vec<TextArea<'static>>,
    pub focus: usize,
    /// The entry the dossier shows when nobody writes one.
    pub generated_memory: String,
    /// What the fields held when opened, to know whether leaving loses work.
    original: Vec<Vec<String>>,
    pub confirm_discard: bool,
    pub message: Option<(String, bool)>,
}

fn area(text: &str, hint: &str) -> TextArea<'static> {
    let lines: Vec<String> = if text.is_empty() {
        vec![String::new()]
    } else {
        text.lines().map(str::to_string).collect()
    };
    let mut t = TextArea::new(lines);
    t.set_placeholder_text(hint);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

impl Form {
    pub fn new(existing: Option<&Review>, generated_memory: String) -> Self {
        let r = existing.cloned().unwrap_or_default();
        let texts = [
            r.went_well,
            r.went_wrong,
            r.improve,
            r.follow_ups,
            r.incidents,
            r.memory.unwrap_or_default(),
        ];
        let fields: Vec<TextArea<'static>> = texts
            .iter()
            .zip(FIELDS)
            .map(|(t, (_, hint))| area(t, hint))
            .collect();
        let original = fields.iter().map(|f| f.lines().to_vec()).collect();
        Self {
            fields,
            focus: 0,
            generated_memory,
            original,
            confirm_discard: false,
            message: None,
        }
    }

    pub fn text(&self, i: usize) -> String {
        self.fields[i].lines().join("\n").trim().to_string()
    }

    pub fn memory_words(&self) -> usize {
        word_count(&self.text(MEMORY))
    }

    pub fn changed(&self) -> bool {
        self.fields
            .iter()
            .zip(&self.original)
            .any(|(f, o)| f.lines() != o.as_slice())
    }

    pub fn review(&self) -> Review {
        let memory = self.text(MEMORY);
        Review {
            went_well: self.text(0),
            went_wrong: self.text(1),
            improve: self.text(2),
            follow_ups: self.text(3),
            incidents: self.text(4),
            memory: (!memory.is_empty()).then_some(memory),
        }
    }

    /// Pasted text goes into the focused field, line breaks kept.
    pub fn paste(&mut self, text: &str) {
        self.confirm_discard = false;
        self.message = None;
        self.fields[self.focus].insert_str(crate::tui::widgets::pasted(text, true));
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.confirm_discard {
            self.confirm_discard = false;
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Outcome::Quit,
                _ => {
                    self.message = Some(("kept editing".into(), false));
                    Outcome::Nothing
                }
            };
        }
        match key.code {
            KeyCode::Char('s') if ctrl => {
                let words = self.memory_words();
                if words > MAX_WORDS {
                    self.focus = MEMORY;
                    self.message = Some((
                        format!("the memory entry has {words} words; at most {MAX_WORDS} are kept"),
                        true,
                    ));
                    return Outcome::Nothing;
                }
                Outcome::Save(self.review())
            }
            KeyCode::Esc | KeyCode::Char('q') if key.code == KeyCode::Esc || ctrl => {
                if self.changed() {
                    self.confirm_discard = true;
                    self.message = Some((
                        "discard your changes? y to leave, any other key to stay".into(),
                        true,
                    ));
                    Outcome::Nothing
                } else {
                    Outcome::Quit
                }
            }
            KeyCode::Tab => {
                self.focus = (self.focus + 1) % self.fields.len();
                Outcome::Nothing
            }
            KeyCode::BackTab => {
                self.focus = (self.focus + self.fields.len() - 1) % self.fields.len();
                Outcome::Nothing
            }
            _ => {
                self.message = None;
                self.fields[self.focus].input(key);
                Outcome::Nothing
            }
        }
    }
}
