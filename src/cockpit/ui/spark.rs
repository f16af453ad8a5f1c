//! A two-row sparkline with a threshold line, as pure text: each column is a
//! sample, coloured by how it was judged; the threshold is a dotted rule
//! wherever a bar does not reach it, so a breach reads at a glance.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::analysis::Judgement;
use crate::tui::theme::Theme;

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ROWS: usize = 2;
const LEVELS: f64 = (ROWS * 8) as f64;

/// Where the drawn samples start: `0` until `len` samples fill `width`
/// columns, then the window jumps on by half a width at a time instead of
/// sliding by one. Sliding moves every column with each sample, so an
/// analysis sampling once a second rewrote its whole sparkline every second
/// (over SSH, most of what watching one cost); paged, a sample writes its
/// own column, and the whole line moves once per half a width of samples.
/// The newest sample is always drawn.
pub fn window(len: usize, width: usize) -> usize {
    if len <= width || width == 0 {
        return 0;
    }
    let page = (width / 2).max(1);
    (len - width).div_ceil(page) * page
}

/// Rows top first. `samples` newest last; the newest that fit are drawn,
/// paged (see [`window`]).
pub fn rows(
    samples: &[(Option<f64>, Judgement)],
    threshold: Option<f64>,
    width: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let shown = &samples[window(samples.len(), width)..];
    let max = shown
        .iter()
        .filter_map(|(v, _)| *v)
        .chain(threshold.map(|x| x * 1.25))
        .fold(0.0_f64, f64::max);
    let level = |x: f64| -> usize {
        if max <= 0.0 || !x.is_finite() {
            0
        } else {
            ((x.max(0.0) / max) * LEVELS).round() as usize
        }
    };
    let thr_level = threshold.map(|x| level(x).max(1));
    let mut out = Vec::with_capacity(ROWS);
    for row in (0..ROWS).rev() {
        let base = row * 8;
        let mut spans: Vec<Span<'static>> = Vec::with_capacity(width);
        for (v, j) in shown {
            let style = style_for(*j, t);
            let (ch, st) = match v {
                None if row == 0 => (if *j == Judgement::Error { '!' } else { '·' }, style),
                None => (' ', style),
                Some(x) => {
                    let fill = level(*x).saturating_sub(base).min(8);
                    (BARS[fill], style)
                }
            };
            let bar_top = v.map(level).unwrap_or(0);
            let (ch, st) = match thr_level {
                // The rule sits in the row holding the threshold, above shorter bars.
                Some(tl) if (tl - 1) / 8 == row && bar_top < tl && ch == ' ' => ('┈', t.muted),
                _ => (ch, st),
            };
            spans.push(Span::styled(ch.to_string(), st));
        }
        // Unfilled width still shows where the threshold is.
        if let Some(tl) = thr_level
            && (tl - 1) / 8 == row
            && shown.len() < width
        {
            spans.push(Span::styled("┈".repeat(width - shown.len()), t.muted));
        }
        out.push(Line::from(merge(spans)));
    }
    out
}

fn style_for(j: Judgement, t: &Theme) -> Style {
    match j {
        Judgement::Pass => t.gauge,
        Judgement::Fail => t.fail,
        Judgement::Inconclusive | Judgement::Error => t.warn,
        Judgement::Waiting => t.muted,
    }
}

/// Joins neighbouring cells of one style, so a row is a handful of spans.
fn merge(spans: Vec<Span<'static>>) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if last.style == s.style => {
                let mut text = last.content.to_string();
                text.push_str(&s.content);
                last.content = text.into();
            }
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn bars_grow_and_the_threshold_rule_shows_where_bars_stay_below() {
        let t = Theme::monochrome();
        let s = [
            (Some(0.01), Judgement::Pass),
            (Some(0.02), Judgement::Pass),
            (Some(0.09), Judgement::Fail),
            (None, Judgement::Inconclusive),
            (None, Judgement::Error),
        ];
        let rows = text(&rows(&s, Some(0.05), 8, &t));
        assert_eq!(rows.len(), 2);
        // The threshold (0.05 of a 0.09 scale) is in the top row; the failing bar crosses it.
        assert_eq!(rows[0], "┈┈█┈┈┈┈┈");
        assert_eq!(rows[1], "▂▄█·!");
    }

    #[test]
    fn only_the_newest_samples_that_fit_are_drawn() {
        let t = Theme::monochrome();
        let s: Vec<_> = (0..20).map(|i| (Some(i as f64), Judgement::Pass)).collect();
        let rows = text(&rows(&s, None, 4, &t));
        assert_eq!(rows[1].chars().count(), 4);
        assert_eq!(rows[0], "▅▆▇█");
    }

    #[test]
    fn a_full_sparkline_pages_by_half_its_width_and_always_shows_the_newest() {
        // Filling up: everything from the first sample.
        assert_eq!(window(0, 10), 0);
        assert_eq!(window(10, 10), 0);
        // One past full: the window jumps half a width, not one sample.
        assert_eq!(window(11, 10), 5);
        // The next samples append to the right of the same window.
        for len in 11..=15 {
            assert_eq!(window(len, 10), 5, "len {len}");
        }
        assert_eq!(window(16, 10), 10);
        for (len, width) in [
            (11, 10),
            (1000, 7),
            (1000, 1),
            (3, 2),
            (101, 120),
            (500, 120),
        ] {
            let start = window(len, width);
            assert!(
                len - start <= width,
                "len {len} width {width}: {} drawn",
                len - start
            );
            assert!(start < len, "the newest sample is drawn");
        }
        assert_eq!(window(5, 0), 0);
    }

    #[test]
    fn a_new_sample_in_a_full_sparkline_changes_only_its_own_column() {
        let t = Theme::monochrome();
        // Values that differ column to column; the threshold fixes the scale.
        let s: Vec<_> = (0..25)
            .map(|i| (Some((i % 4) as f64 * 2.0 + 1.0), Judgement::Pass))
            .collect();
        let before = text(&rows(&s[..23], Some(8.0), 20, &t));
        let after = text(&rows(&s[..24], Some(8.0), 20, &t));
        let changed = |a: &str, b: &str| {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            (0..a.len().max(b.len()))
                .filter(|&i| a.get(i) != b.get(i))
                .count()
        };
        for r in 0..2 {
            assert!(
                changed(&before[r], &after[r]) <= 1,
                "row {r}: {:?} -> {:?}",
                before[r],
                after[r]
            );
        }
    }
}
