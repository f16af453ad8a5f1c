//! GFM tables drawn with box characters. Columns take their natural width
//! when the table fits; otherwise the widest columns give up space first
//! (so a long "notes" column shrinks before a short "env" column does) and
//! cells that no longer fit end in `…`. A table row stays one line, so rows
//! line up with their neighbours and the table reads like a table.

use pulldown_cmark::Alignment;
use ratatui::text::Span;

use super::Styles;
use super::wrap::{Frag, clip, frags_width, push, truncate};

/// Below this a column is not shrunk any further (`ab…` still hints at the text).
const MIN_COL: usize = 3;

#[derive(Debug, Default)]
pub struct Table {
    pub aligns: Vec<Alignment>,
    pub head: Vec<Vec<Frag>>,
    pub rows: Vec<Vec<Vec<Frag>>>,
}

/// Column widths for cells of `natural` widths within `width` columns in all,
/// borders and padding included.
pub fn fit_columns(natural: &[usize], width: usize) -> Vec<usize> {
    let mut cols: Vec<usize> = natural.iter().map(|w| (*w).max(1)).collect();
    // "│ a │ b │": a border before each column and after the last, a space either side of each cell.
    let chrome = 3 * cols.len() + 1;
    let mut total: usize = cols.iter().sum::<usize>() + chrome;
    while total > width {
        let Some((i, w)) = cols
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(i, w)| (*w, std::cmp::Reverse(*i)))
        else {
            break;
        };
        if w <= MIN_COL {
            break;
        }
        // Shrink the widest down to the next widest in one step (by one
        // when tied, so equally wide columns share the cut), never past what is needed.
        let next = cols
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, x)| *x)
            .max()
            .unwrap_or(MIN_COL)
            .max(MIN_COL);
        let cut = w
            .saturating_sub(next)
            .max(1)
            .min(total - width)
            .min(w - MIN_COL);
        cols[i] -= cut;
        total -= cut;
    }
    cols
}

fn border(cols: &[usize], left: &str, mid: &str, right: &str, st: &Styles) -> Vec<Span<'static>> {
    let mut s = String::from(left);
    for (i, w) in cols.iter().enumerate() {
        if i > 0 {
            s.push_str(mid);
        }
        s.push_str(&"─".repeat(w + 2));
    }
    s.push_str(right);
    vec![Span::styled(s, st.border)]
}

fn row(
    cells: &[Vec<Frag>],
    cols: &[usize],
    aligns: &[Alignment],
    st: &Styles,
) -> Vec<Span<'static>> {
    let mut line = Vec::new();
    push(&mut line, "│", st.border);
    for (i, w) in cols.iter().enumerate() {
        let cell = cells.get(i).map(|c| truncate(c, *w)).unwrap_or_default();
        let room = w.saturating_sub(frags_width(&cell));
        let (before, after) = match aligns.get(i) {
            Some(Alignment::Right) => (room, 0),
            Some(Alignment::Center) => (room / 2, room - room / 2),
            _ => (0, room),
        };
        push(&mut line, &" ".repeat(1 + before), st.text);
        for (t, s) in &cell {
            push(&mut line, t, *s);
        }
        push(&mut line, &" ".repeat(after + 1), st.text);
        push(&mut line, "│", st.border);
    }
    line
}

/// The table's lines, each at most `width` columns wide.
pub fn render(t: &Table, width: usize, st: &Styles) -> Vec<Vec<Span<'static>>> {
    let ncols = t
        .rows
        .iter()
        .map(Vec::len)
        .chain([t.head.len(), t.aligns.len()])
        .max()
        .unwrap_or(0);
    if ncols == 0 {
        return Vec::new();
    }
    let mut natural = vec![0usize; ncols];
    for r in std::iter::once(&t.head).chain(&t.rows) {
        for (i, cell) in r.iter().enumerate() {
            natural[i] = natural[i].max(frags_width(cell));
        }
    }
    let cols = fit_columns(&natural, width);
    let mut out = vec![border(&cols, "┌", "┬", "┐", st)];
    if !t.head.is_empty() {
        out.push(row(&t.head, &cols, &t.aligns, st));
        out.push(border(&cols, "├", "┼", "┤", st));
    }
    for r in &t.rows {
        out.push(row(r, &cols, &t.aligns, st));
    }
    out.push(border(&cols, "└", "┴", "┘", st));
    out.into_iter().map(|l| clip(l, width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_widths_are_kept_when_they_fit() {
        assert_eq!(fit_columns(&[3, 10, 5], 40), [3, 10, 5]);
    }

    #[test]
    fn the_widest_column_shrinks_first() {
        // chrome = 10; 4 + 30 + 6 + 10 = 50 → needs 10 fewer.
        assert_eq!(fit_columns(&[4, 30, 6], 40), [4, 20, 6]);
        // Two wide columns share the cut.
        let cols = fit_columns(&[20, 20, 3], 30);
        assert_eq!(cols.iter().sum::<usize>() + 10, 30, "{cols:?}");
        assert!(cols[0].abs_diff(cols[1]) <= 1, "{cols:?}");
    }

    #[test]
    fn columns_never_go_below_the_minimum() {
        assert_eq!(fit_columns(&[10, 10], 5), [MIN_COL, MIN_COL]);
    }
}
