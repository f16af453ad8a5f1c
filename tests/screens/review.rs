//! Snapshots of the review editor (`slate review`), drawn into ratatui's
//! `TestBackend` from a form in a known state, so they are the same on
//! every machine: the six fields laid out wide and narrow, the focused
//! field, the generated memory entry shown while the field is empty, the
//! word count, and what people typed, escape sequences included, drawn as
//! text and never passed to the terminal.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test screens review::`
//! and review every changed `.snap` as a screen.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use slate::engine::event::Review;
use slate::review::form::{Form, MEMORY, Outcome};
use slate::review::ui::{Heading, draw as draw_review};

use crate::common;
use common::render::{draw, text, theme};

fn heading() -> Heading {
    Heading {
        run_id: "20261122-113005.554-c3d4".into(),
        title: "payments-gateway 7.1.0-rc.2".into(),
        outcome: "rolled back".into(),
    }
}

fn type_text(form: &mut Form, s: &str) {
    for c in s.chars() {
        let code = if c == '\n' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        assert_eq!(
            form.on_key(KeyEvent::new(code, KeyModifiers::NONE)),
            Outcome::Nothing
        );
    }
}

fn tab(form: &mut Form) {
    form.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
}

/// A review half written: two fields typed, the cursor in the third.
fn half_written() -> Form {
    let mut f = Form::new(
        None,
        "payments-gateway 7.1.0-rc.2 did not ship: prod rolled back (analysis canary failed)."
            .into(),
    );
    type_text(
        &mut f,
        "The canary analysis caught the error ratio\nwithin three samples.",
    );
    tab(&mut f);
    type_text(&mut f, "Staging never ran the migration under load.");
    tab(&mut f);
    f
}

#[test]
fn the_editor_wide_and_narrow() {
    let f = half_written();
    let t = theme("default");
    let wide = draw(120, 32, |frame| draw_review(frame, &f, &heading(), &t));
    insta::assert_snapshot!("review_120x32", wide.backend());
    let narrow = draw(80, 24, |frame| draw_review(frame, &f, &heading(), &t));
    insta::assert_snapshot!("review_80x24", narrow.backend());
}

#[test]
fn the_memory_entry_counts_its_words_and_says_when_it_is_too_long() {
    let mut f = half_written();
    while f.focus != MEMORY {
        tab(&mut f);
    }
    type_text(&mut f, &"word ".repeat(121));
    f.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    let t = theme("default");
    let term = draw(100, 30, |frame| draw_review(frame, &f, &heading(), &t));
    let screen = text(term.backend().buffer());
    assert!(screen.contains("121/120 words"), "{screen}");
    assert!(
        screen.contains("the memory entry has 121 words; at most 120 are kept"),
        "{screen}"
    );
    insta::assert_snapshot!("review_memory_too_long_100x30", term.backend());
}

/// Text from a review saved earlier (or pasted) may hold terminal escapes
/// and control characters: they reach the screen as plain text.
#[test]
fn hostile_text_is_drawn_as_text() {
    let existing = Review {
        went_well: "ok\u{1b}]52;c;SGVsbG8=\u{7}\u{1b}[2Jstill here".into(),
        incidents: "INC-1\rINC-2".into(),
        ..Default::default()
    };
    let mut f = Form::new(Some(&existing), "generated".into());
    f.paste("pasted\u{1b}[31m red\tand\r\nmore");
    let t = theme("default");
    let term = draw(120, 32, |frame| draw_review(frame, &f, &heading(), &t));
    let screen = text(term.backend().buffer());
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "{screen:?}"
    );
    assert!(screen.contains("still here"), "{screen}");
    insta::assert_snapshot!("review_hostile_text_120x32", term.backend());
}
