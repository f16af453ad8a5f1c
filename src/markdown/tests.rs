//! The renderer end to end: realistic dossier-like markdown in, lines out.

use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use unicode_width::UnicodeWidthStr;

use super::{Styles, plain, render};
use crate::tui::theme::Theme;

const DOSSIER: &str = r#"# Deployment dossier: checkout 2.4.0

## Release Summary

Released **checkout 2.4.0** (from `2.3.1`) to dev, staging and prod in 14m 02s.
Owner *release-manager*; see the [runbook](https://wiki.example.com/runbooks/checkout) for the on-call rota.

## Environment Matrix

| Environment | Status | Version | Started | Duration | Approvers | Notes |
|:------------|:------:|--------:|---------|---------:|-----------|-------|
| dev | ✔ healthy | 2.4.0 | 14:03:12 | 1m 10s | — | smoke passed on the first attempt |
| staging | ✔ healthy | 2.4.0 | 14:04:22 | 2m 41s | alice | warm-up took longer than usual because the cache was cold |
| prod | ✔ healthy | 2.4.0 | 14:07:03 | 10m 11s | alice, bob | canary 10 → 50 → 100 % with `error_ratio` under 0.05 |

## Deployment Plan

1. Build the artifact `checkout-2.4.0.tar.gz`
2. For each environment:
   - write the config
   - apply migration `0042_drop_legacy_cart` (irreversible)
   - deploy with the canary strategy, pausing 5m between weights so the analysis has enough samples to decide
3. Run the smoke checks

## Rollback Strategy

> Rollback runs the undo commands in reverse order. The migration has no down
> step: a rollback past it needs a decision.

```sh
slate rollback --env prod --reason "error rate"
kubectl -n checkout rollout undo deployment/checkout
```

---

- [x] announce in #releases
- [ ] close the change ticket
"#;

fn theme() -> Theme {
    Theme::builtin("default").unwrap().unwrap()
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines.iter().map(plain).collect()
}

fn assert_fits(lines: &[Line], width: u16) {
    for (i, l) in lines.iter().enumerate() {
        let w = plain(l).width();
        assert!(
            w <= usize::from(width),
            "line {i} is {w} columns wide, more than {width}: {:?}",
            plain(l)
        );
    }
}

fn line_with<'a>(lines: &'a [Line<'static>], needle: &str) -> &'a Line<'static> {
    lines
        .iter()
        .find(|l| plain(l).contains(needle))
        .unwrap_or_else(|| panic!("no line holds {needle:?}: {:#?}", texts(lines)))
}

fn style_of(line: &Line, needle: &str) -> Style {
    line.spans
        .iter()
        .find(|s| s.content.contains(needle))
        .unwrap_or_else(|| panic!("no span holds {needle:?} in {:?}", plain(line)))
        .style
}

#[test]
fn every_line_fits_at_every_width() {
    let t = theme();
    for width in 8..=140 {
        let lines = render(DOSSIER, width, &t);
        assert_fits(&lines, width);
        assert!(lines.len() > 20, "width {width}: {:#?}", texts(&lines));
    }
}

#[test]
fn a_table_that_fits_keeps_its_natural_widths() {
    let md = "| env | status |\n|-----|-------:|\n| dev | ok |\n| prod | rolled back |\n";
    let lines = texts(&render(md, 80, &theme()));
    assert_eq!(
        lines,
        [
            "┌──────┬─────────────┐",
            "│ env  │      status │",
            "├──────┼─────────────┤",
            "│ dev  │          ok │",
            "│ prod │ rolled back │",
            "└──────┴─────────────┘",
        ]
    );
}

#[test]
fn a_wide_table_shrinks_its_widest_columns_and_marks_cut_cells() {
    let t = theme();
    let lines = render(DOSSIER, 80, &t);
    let text = texts(&lines);
    assert_fits(&lines, 80);
    let top = text.iter().find(|l| l.starts_with('┌')).unwrap();
    assert_eq!(top.width(), 80, "the table uses the whole width: {top}");
    // The short columns keep their text; the long notes are cut with an ellipsis.
    let staging = text.iter().find(|l| l.starts_with("│ staging")).unwrap();
    assert!(staging.contains("14:04:22"), "{staging}");
    assert!(staging.contains('…'), "{staging}");
    let header = text.iter().find(|l| l.starts_with("│ Environ")).unwrap();
    assert!(header.contains("Status"), "{header}");
    // Every row has the same borders in the same columns.
    let rows: Vec<&String> = text
        .iter()
        .filter(|l| l.starts_with('│') && l.ends_with('│'))
        .collect();
    assert_eq!(rows.len(), 4, "{text:#?}");
    let bars = |l: &str| -> Vec<usize> {
        let mut col = 0;
        let mut at = Vec::new();
        for c in l.chars() {
            if c == '│' {
                at.push(col);
            }
            col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        }
        at
    };
    for r in &rows {
        assert_eq!(bars(r), bars(rows[0]), "misaligned row: {r}");
    }
    // Header cells use the table header style, borders the border role.
    let head = line_with(&lines, "│ Environ");
    assert_eq!(style_of(head, "Environ"), t.title);
    assert_eq!(style_of(head, "│"), t.border);
}

#[test]
fn alignment_is_honoured() {
    let md = "| l | c | r |\n|:--|:-:|--:|\n| a | b | c |\n| long | long | long |\n";
    let lines = texts(&render(md, 80, &theme()));
    assert_eq!(lines[3], "│ a    │  b   │    c │");
}

#[test]
fn paragraphs_wrap_at_words_within_the_width() {
    let t = theme();
    let lines = render(DOSSIER, 40, &t);
    let text = texts(&lines);
    assert_fits(&lines, 40);
    let para: Vec<&String> = text
        .iter()
        .skip_while(|l| !l.starts_with("Released"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(para.len() >= 3, "{para:#?}");
    let joined = para
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        joined.starts_with(
            "Released checkout 2.4.0 (from 2.3.1) to dev, staging and prod in 14m 02s."
        ),
        "no word lost or split: {joined}"
    );
}

#[test]
fn lists_nest_and_wrapped_items_keep_their_indent() {
    let lines = texts(&render(DOSSIER, 60, &theme()));
    let start = lines
        .iter()
        .position(|l| l.starts_with("1. Build"))
        .unwrap();
    assert_eq!(lines[start], "1. Build the artifact checkout-2.4.0.tar.gz");
    assert_eq!(lines[start + 1], "2. For each environment:");
    assert_eq!(lines[start + 2], "   ◦ write the config");
    assert!(
        lines[start + 3].starts_with("   ◦ apply migration"),
        "{lines:#?}"
    );
    assert!(
        lines[start + 4].starts_with("   ◦ deploy with the canary"),
        "{lines:#?}"
    );
    // The long item wraps under its own text, not under the bullet.
    assert!(lines[start + 5].starts_with("     "), "{lines:#?}");
    assert!(!lines[start + 5].trim_start().starts_with('◦'));
    assert_eq!(lines[start + 6], "3. Run the smoke checks");
    assert!(
        lines.iter().any(|l| l == "• [x] announce in #releases"),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l == "• [ ] close the change ticket"));
}

#[test]
fn deeper_lists_use_other_bullets() {
    let md = "- one\n  - two\n    - three\n";
    assert_eq!(
        texts(&render(md, 40, &theme())),
        ["• one", "  ◦ two", "    ▪ three"]
    );
}

#[test]
fn code_is_verbatim_and_styled_as_code() {
    let t = theme();
    let st = Styles::from_theme(&t);
    let lines = render(DOSSIER, 60, &t);
    let cmd = line_with(&lines, "kubectl -n checkout");
    assert_eq!(cmd.spans.len(), 1, "one shaded span: {cmd:?}");
    assert_eq!(cmd.spans[0].style, st.code);
    assert_eq!(plain(cmd).width(), 60, "shaded to the full width");
    assert!(
        plain(line_with(&lines, "slate rollback"))
            .starts_with(" slate rollback --env prod --reason \"error rate\"")
    );
    // The fence's language is a label above the block.
    let text = texts(&lines);
    let at = text
        .iter()
        .position(|l| l.contains("slate rollback"))
        .unwrap();
    assert_eq!(text[at - 1], "sh");
    // Inline code keeps its text and gets the code style over the paragraph's.
    let para = line_with(&lines, "Released");
    assert_eq!(style_of(para, "2.3.1"), t.text.patch(st.code));
}

#[test]
fn long_code_lines_are_broken_not_lost() {
    let md = "```\nabcdefghijklmnopqrstuvwxyz\n```\n";
    let lines = texts(&render(md, 12, &theme()));
    assert_eq!(lines, [" abcdefghij ", " klmnopqrst ", " uvwxyz     "]);
}

#[test]
fn headings_get_distinct_styles_per_level() {
    let t = theme();
    let lines = render("# One\n\n## Two\n\n### Three\n\n#### Four\n", 40, &t);
    let styles: Vec<Style> = ["One", "Two", "Three", "Four"]
        .iter()
        .map(|h| style_of(line_with(&lines, h), h))
        .collect();
    for i in 0..styles.len() {
        for j in i + 1..styles.len() {
            assert_ne!(
                styles[i],
                styles[j],
                "levels {} and {} look alike",
                i + 1,
                j + 1
            );
        }
    }
    assert!(styles[0].add_modifier.contains(Modifier::UNDERLINED));
    assert_eq!(texts(&lines), ["One", "", "Two", "", "Three", "", "Four"]);
}

#[test]
fn emphasis_and_links() {
    let t = theme();
    let st = Styles::from_theme(&t);
    let lines = render(DOSSIER, 200, &t);
    let summary = line_with(&lines, "Released");
    assert!(
        style_of(summary, "checkout 2.4.0")
            .add_modifier
            .contains(Modifier::BOLD)
    );
    let owner = line_with(&lines, "release-manager");
    assert!(
        style_of(owner, "release-manager")
            .add_modifier
            .contains(Modifier::ITALIC)
    );
    // The link's text, then its address, dimmed.
    assert!(
        plain(owner).contains("see the runbook <https://wiki.example.com/runbooks/checkout> for"),
        "{}",
        plain(owner)
    );
    assert_eq!(style_of(owner, "runbook"), t.text.patch(st.link));
    assert_eq!(style_of(owner, "https://"), st.url);
    // An autolink is not repeated.
    let auto = texts(&render("<https://example.com>", 80, &t));
    assert_eq!(auto, ["https://example.com"]);
}

#[test]
fn block_quotes_and_rules() {
    let t = theme();
    let lines = render(DOSSIER, 60, &t);
    let text = texts(&lines);
    let q = text
        .iter()
        .position(|l| l.starts_with("│ Rollback runs"))
        .unwrap();
    assert!(text[q + 1].starts_with("│ "), "{text:#?}");
    assert_eq!(style_of(&lines[q], "│"), t.muted);
    assert!(text.iter().any(|l| l == &"─".repeat(60)), "{text:#?}");
}

#[test]
fn the_dossier_headings_of_today_render() {
    let md = "# Deployment dossier: svc 2.0.0\n\n## Release Summary\n\n## Environment Matrix\n\n## Memory Entry\n\nsvc 2.0.0 released\n";
    assert_eq!(
        texts(&render(md, 40, &theme())),
        [
            "Deployment dossier: svc 2.0.0",
            "",
            "Release Summary",
            "",
            "Environment Matrix",
            "",
            "Memory Entry",
            "",
            "svc 2.0.0 released",
        ]
    );
}

#[test]
fn no_colour_still_marks_code_and_headings() {
    let t = Theme::monochrome();
    let lines = render(DOSSIER, 80, &t);
    let cmd = line_with(&lines, "kubectl");
    assert!(cmd.spans[0].style.add_modifier.contains(Modifier::REVERSED));
    let h = line_with(&lines, "Release Summary");
    assert!(style_of(h, "Release").add_modifier.contains(Modifier::BOLD));
}
