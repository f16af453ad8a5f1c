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

/// Rows top first. `samples` newest last; only the last `width` are drawn.
pub fn rows(
    samples: &[(Option<f64>, Judgement)],
    threshold: Option<f64>,
    width: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let shown = &samples[samples.len().saturating_sub(width)..];
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
}
