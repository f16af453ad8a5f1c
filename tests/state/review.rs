//! The review form without a terminal: keys in, outcomes out. The memory
//! entry's 120-word limit is enforced by the form, and leaving with unsaved
//! work asks first.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use slate::engine::event::Review;
use slate::review::form::{Form, MEMORY, Outcome};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn type_text(form: &mut Form, text: &str) {
    for c in text.chars() {
        let code = if c == '\n' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        assert_eq!(form.on_key(key(code)), Outcome::Nothing);
    }
}

#[test]
fn typing_fills_the_focused_field_and_tab_moves_on() {
    let mut f = Form::new(None, "generated entry".into());
    type_text(&mut f, "fast rollback");
    f.on_key(key(KeyCode::Tab));
    type_text(&mut f, "slow migration\nlock timeout");
    f.on_key(key(KeyCode::BackTab));
    f.on_key(key(KeyCode::BackTab));
    assert_eq!(f.focus, MEMORY, "shift-tab wraps around");
    let Outcome::Save(r) = f.on_key(ctrl('s')) else {
        panic!("ctrl-s saves")
    };
    assert_eq!(r.went_well, "fast rollback");
    assert_eq!(r.went_wrong, "slow migration\nlock timeout");
    assert_eq!(
        r.memory, None,
        "an empty memory field keeps the generated entry"
    );
}

#[test]
fn the_memory_entry_cannot_be_saved_over_120_words() {
    let mut f = Form::new(None, String::new());
    for _ in 0..MEMORY {
        f.on_key(key(KeyCode::Tab));
    }
    type_text(&mut f, &"word ".repeat(121));
    assert_eq!(f.memory_words(), 121);
    assert_eq!(f.on_key(ctrl('s')), Outcome::Nothing, "refused");
    let (msg, error) = f.message.clone().expect("says why");
    assert!(error && msg.contains("121 words"), "{msg}");
    f.on_key(key(KeyCode::Backspace));
    f.on_key(key(KeyCode::Backspace));
    f.on_key(key(KeyCode::Backspace));
    f.on_key(key(KeyCode::Backspace));
    f.on_key(key(KeyCode::Backspace));
    assert_eq!(f.memory_words(), 120);
    let Outcome::Save(r) = f.on_key(ctrl('s')) else {
        panic!("120 words are allowed")
    };
    assert_eq!(r.memory.map(|m| m.split_whitespace().count()), Some(120));
}

#[test]
fn leaving_with_changes_asks_and_an_existing_review_is_edited_in_place() {
    let existing = Review {
        went_well: "canary caught it".into(),
        memory: Some("keep canaries".into()),
        ..Default::default()
    };
    let mut f = Form::new(Some(&existing), String::new());
    assert_eq!(f.text(0), "canary caught it");
    assert_eq!(
        f.on_key(key(KeyCode::Esc)),
        Outcome::Quit,
        "nothing changed"
    );

    let mut f = Form::new(Some(&existing), String::new());
    type_text(&mut f, "!");
    assert_eq!(f.on_key(key(KeyCode::Esc)), Outcome::Nothing);
    assert!(f.confirm_discard);
    assert_eq!(f.on_key(key(KeyCode::Char('n'))), Outcome::Nothing, "stays");
    assert_eq!(f.on_key(key(KeyCode::Esc)), Outcome::Nothing);
    assert_eq!(f.on_key(key(KeyCode::Char('y'))), Outcome::Quit);
}
